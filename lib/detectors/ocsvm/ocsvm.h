/* One-class SVM ("ocsvm"): the types shared by the files of this folder.
 *
 * Schölkopf et al. (2001), in the nu formulation libsvm solves (Chang and
 * Lin, "LIBSVM: a library for support vector machines", one-class SVM):
 *
 *   min 0.5 a'Qa  subject to  0 <= a_i <= C_i,  sum a_i = nu * sum C_i,
 *
 * Q_ij = K(x_i, x_j), C_i = 1 (or the row's sample weight). The decision
 * value of x is sum_i a_i K(x_i, x) - rho; the detector's score is its
 * negation, rho - sum_i a_i K(x_i, x): higher = more anomalous, > 0
 * outside the learned region. docs/detectors/ocsvm.md is the user's page
 * and documents the payload byte by byte.
 *
 *   kernel.c     kernel functions, gamma "scale"/"auto", training columns
 *   cache.c      the LRU cache of kernel columns bounded by cache_size
 *   solver.c     SMO with second-order working-set selection and shrinking
 *   fit.c        training: missing values, sample weights, support vectors
 *   score.c      kernel blocks by GEMM, single-row and parallel batch scoring
 *   serialize.c  the payload in a model file
 *   detector.c   parameters and the vtable
 *
 * The solver follows libsvm's arithmetic step by step (kernel columns kept
 * as float32, the same working-set rule, ties, shrinking and rho), so the
 * support vectors, dual coefficients and rho agree with libsvm's and
 * scikit-learn's. */
#ifndef AN_DETECTORS_OCSVM_OCSVM_H
#define AN_DETECTORS_OCSVM_OCSVM_H

#include "detectors/detector.h"

#include <math.h>
#include <stdint.h>

/* Kernels, in the order of the parameter's choices (and the payload's code). */
typedef enum an_ocsvm_kernel_type {
    AN_OCSVM_RBF = 0,     /* exp(-gamma |a - b|^2) */
    AN_OCSVM_LINEAR = 1,  /* a.b */
    AN_OCSVM_POLY = 2,    /* (gamma a.b + coef0)^degree */
    AN_OCSVM_SIGMOID = 3, /* tanh(gamma a.b + coef0) */
    AN_OCSVM_N_KERNELS
} an_ocsvm_kernel_type;

/* Largest polynomial degree accepted (libsvm's powi takes an int). */
#define AN_OCSVM_MAX_DEGREE 1000

typedef struct an_ocsvm_kernel {
    an_ocsvm_kernel_type type;
    int degree;
    double gamma; /* resolved: > 0 */
    double coef0;
} an_ocsvm_kernel;

/* ---- kernel.c ---- */

/* libsvm's powi: base^times by repeated squaring (times >= 0). */
static inline double an_ocsvm_powi(double base, int times)
{
    double tmp = base, ret = 1.0;
    for (int t = times; t > 0; t /= 2) {
        if (t % 2 == 1)
            ret *= tmp;
        tmp = tmp * tmp;
    }
    return ret;
}

/* The kernel's value from a dot product a.b and the squared norms |a|^2,
 * |b|^2 (used by rbf only), with libsvm's arithmetic:
 * exp(-gamma (|a|^2 + |b|^2 - 2 a.b)) for rbf. Inline: it is called once
 * per kernel entry, in training and scoring. */
static inline double an_ocsvm_kernel_of_dot(const an_ocsvm_kernel *k, double dot, double sq_a,
                                            double sq_b)
{
    switch (k->type) {
    case AN_OCSVM_RBF:
        return exp(-k->gamma * (sq_a + sq_b - 2 * dot));
    case AN_OCSVM_POLY:
        return an_ocsvm_powi(k->gamma * dot + k->coef0, k->degree);
    case AN_OCSVM_SIGMOID:
        return tanh(k->gamma * dot + k->coef0);
    default:
        return dot;
    }
}
/* Sum of a[k] * b[k] in index order, as libsvm's (and OpenBLAS's ddot
 * below 16 values) dot product adds them. */
double an_ocsvm_dot(const double *a, const double *b, size_t n);
/* v[i] = exp(v[i]) for n values, within 1 ulp of the C library's exp (0
 * below exp(-708)), vectorised: what training columns and scoring use for
 * rbf. Rounded to float32, a column entry differs from libsvm's only when
 * within 1 ulp of a float32 rounding boundary (about 1 in 10^8). */
void an_ocsvm_exp(double *v, size_t n);
/* scikit-learn's gamma="scale": 1 / (n_features * var(x)) over every value
 * of x (numpy's x.var(), to the last bit), 1 when that variance is 0. */
anoma_status an_ocsvm_gamma_scale(const double *x, size_t rows, size_t cols, double *gamma);

/* ---- cache.c ---- */

/* Kernel columns of the training rows, as float32 (libsvm's Qfloat), in a
 * least-recently-used cache of at most `bytes` bytes (and at least two
 * columns). The solver reorders rows while shrinking; the cache follows. */
typedef struct an_ocsvm_cache an_ocsvm_cache;

anoma_status an_ocsvm_cache_create(size_t l, double bytes, an_ocsvm_cache **out);
void an_ocsvm_cache_free(an_ocsvm_cache *c);
/* Column `index`, valid for its first `len` entries once the caller has
 * filled [*start, len) (nothing when *start >= len). The column stays
 * valid until the second next call (two columns are always held). */
float *an_ocsvm_cache_get(an_ocsvm_cache *c, size_t index, size_t len, size_t *start);
/* Slots for the whole columns 0..m-1 of an empty cache, in cols, for the
 * caller to fill at once; 0 (and nothing reserved) when the bound holds
 * fewer than m columns or the memory is refused. */
int an_ocsvm_cache_reserve(an_ocsvm_cache *c, size_t m, float **cols);
/* Rows trade places, pair by pair: pairs[2 p] with pairs[2 p + 1] for
 * p < n, in that order. */
void an_ocsvm_cache_swap(an_ocsvm_cache *c, const size_t *pairs, size_t n);
/* Bytes the cache holds for columns. */
size_t an_ocsvm_cache_bytes(const an_ocsvm_cache *c);

/* ---- solver.c ---- */

typedef struct an_ocsvm_problem {
    const double *x; /* l rows of d values, no missing value */
    size_t l, d;
    const double *upper; /* C_i of each row (> 0), or NULL: all 1 */
    an_ocsvm_kernel kernel;
    double nu;
    double tol;
    long long max_iter; /* -1: no limit */
    double cache_bytes;
    int shrinking;
    size_t n_threads;
} an_ocsvm_problem;

typedef struct an_ocsvm_solution {
    double rho;
    uint64_t iterations;
    int hit_max_iter;
    size_t cache_bytes; /* what the column cache held */
} an_ocsvm_solution;

/* Solve the problem; alpha receives l dual coefficients (in row order). */
anoma_status an_ocsvm_solve(const an_ocsvm_problem *p, double *alpha, an_ocsvm_solution *out);

/* ---- the fitted model (fit.c, score.c, serialize.c) ---- */

typedef struct an_ocsvm {
    an_ocsvm_kernel kernel;
    size_t n_features;
    size_t n_sv;
    double *sv;    /* n_sv rows of n_features values */
    double *sv_sq; /* n_sv squared norms */
    double *coef;  /* n_sv dual coefficients */
    double rho;
    double *fill;  /* n_features: the value a missing one is replaced by */
    uint64_t *support; /* n_sv: each support vector's training row, increasing;
                          NULL when unknown (a version-1 payload) */
    /* training, for describe (unknown after load: trained = 0) */
    int trained;
    uint64_t iterations;
    int hit_max_iter;
    size_t n_at_bound;
} an_ocsvm;

void an_ocsvm_free(an_ocsvm *m);
size_t an_ocsvm_memory(const an_ocsvm *m);
/* Allocate the arrays for n_sv support vectors of d features (support
 * indices included). */
anoma_status an_ocsvm_alloc(an_ocsvm *m, size_t n_sv, size_t d);
/* Fill sv_sq from sv. */
void an_ocsvm_finish(an_ocsvm *m);

/* Training parameters, resolved by detector.c. */
typedef struct an_ocsvm_config {
    an_ocsvm_kernel_type kernel;
    int degree;
    double gamma; /* > 0, or 0 with gamma_rule set */
    int gamma_rule; /* 0: the number; 1: scale; 2: auto */
    double coef0;
    double nu, tol;
    long long max_iter;
    double cache_mb;
    int shrinking;
} an_ocsvm_config;

anoma_status an_ocsvm_train(const an_ocsvm_config *cfg, const an_fit_data *data, an_ocsvm *out);

/* ---- score.c ---- */

/* Bytes of scratch a row needs. */
size_t an_ocsvm_scratch_bytes(const an_ocsvm *m);
void an_ocsvm_score_row(const an_ocsvm *m, const double *row, void *scratch, double *score);
anoma_status an_ocsvm_score_rows(const an_ocsvm *m, const double *x, size_t rows,
                                 size_t n_threads, double *scores);

/* ---- serialize.c ---- */

#define AN_OCSVM_PAYLOAD_VERSION 2u

anoma_status an_ocsvm_save(const an_ocsvm *m, an_writer *w);
anoma_status an_ocsvm_load(an_ocsvm *m, an_reader *r, size_t n_features, uint32_t version);

#endif
