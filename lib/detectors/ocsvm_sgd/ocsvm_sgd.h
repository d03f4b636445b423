/* Linear one-class SVM trained by SGD ("ocsvm_sgd"), on a kernel map.
 *
 * scikit-learn's SGDOneClassSVM (sklearn/linear_model/_sgd_fast.pyx,
 * _plain_sgd with the hinge loss and one_class=1) on the features of a
 * random Fourier map, a Nystroem map, or the raw features: time linear in
 * the rows, for data too large for the kernel solver ("ocsvm"). The
 * decision value of x is w.z(x) - offset; the detector's score is its
 * negation, offset - w.z(x): higher = more anomalous, > 0 outside.
 * docs/detectors/ocsvm_sgd.md is the user's page and the payload's layout.
 *
 *   feature_map.c  the maps: rff, nystroem, none (fit, rows, save/load)
 *   sgd.c          scikit-learn's plain SGD for the one-class problem
 *   detector.c     parameters, training, scoring and the vtable */
#ifndef AN_DETECTORS_OCSVM_SGD_OCSVM_SGD_H
#define AN_DETECTORS_OCSVM_SGD_OCSVM_SGD_H

#include "detectors/detector.h"

#include <stdint.h>

/* ---- feature_map.c ---- */

typedef enum an_sgd_map_type {
    AN_SGD_MAP_RFF = 0,      /* sqrt(2/m) cos(W x + b), W ~ N(0, 2 gamma), b ~ U(0, 2 pi) */
    AN_SGD_MAP_NYSTROEM = 1, /* K(x, basis) K(basis, basis)^(-1/2), rbf kernel */
    AN_SGD_MAP_NONE = 2,     /* the features themselves */
    AN_SGD_N_MAPS
} an_sgd_map_type;

typedef struct an_sgd_map {
    an_sgd_map_type type;
    size_t d, m;  /* input and output widths (m = d without a map) */
    double gamma; /* rbf coefficient (> 0; unused without a map) */
    double *w;    /* m x d: rff frequencies, or the nystroem basis rows */
    double *b;    /* m: rff phases, or the basis rows' squared norms */
    double *norm; /* m x m: nystroem's K(basis, basis)^(-1/2) */
} an_sgd_map;

/* Draw (rff) or pick and factor (nystroem: m training rows at random
 * without replacement, m at most the rows) the map from seed. */
anoma_status an_sgd_map_fit(an_sgd_map *map, an_sgd_map_type type, size_t m, double gamma,
                            uint64_t seed, const double *x, size_t rows, size_t d);
void an_sgd_map_free(an_sgd_map *map);
/* Doubles of scratch an_sgd_map_rows needs for `rows` rows. */
size_t an_sgd_map_scratch(const an_sgd_map *map, size_t rows);
/* out (rows x m) = the map of x (rows x d, no missing value). */
void an_sgd_map_rows(const an_sgd_map *map, const double *x, size_t rows, double *out,
                     double *scratch);
/* Nystroem only: k (rows x m) = exp(-gamma |x_i - basis_k|^2), the
 * kernel before the normalization N. */
void an_sgd_map_kernel(const an_sgd_map *map, const double *x, size_t rows, double *k);
/* Nystroem only: v = N' coef, so that coef.z(x) = v.k(x): scoring takes
 * one dot product with the kernel values instead of a product by N. */
void an_sgd_map_fold(const an_sgd_map *map, const double *coef, double *v);
size_t an_sgd_map_memory(const an_sgd_map *map);
void an_sgd_map_save(const an_sgd_map *map, an_writer *w);
/* The map's arrays for a map of this type and widths (read by the caller). */
anoma_status an_sgd_map_load(an_sgd_map *map, an_reader *r, an_sgd_map_type type, size_t d,
                             size_t m, double gamma);

/* ---- sgd.c ---- */

typedef enum an_sgd_rate {
    AN_SGD_CONSTANT = 1, /* scikit-learn's codes */
    AN_SGD_OPTIMAL = 2,
    AN_SGD_INVSCALING = 3,
    AN_SGD_ADAPTIVE = 4,
} an_sgd_rate;

typedef struct an_sgd_problem {
    const double *z; /* rows x m */
    size_t rows, m;
    const double *weights; /* NULL or rows values >= 0 */
    double nu;
    int fit_intercept;
    long long max_iter;
    double tol; /* -INFINITY: none */
    int shuffle;
    uint32_t seed; /* scikit-learn's shuffling seed */
    an_sgd_rate rate;
    double eta0, power_t;
    long long average; /* 0: none; k: average from the k-th update on */
} an_sgd_problem;

typedef struct an_sgd_result {
    double offset;
    long long n_iter; /* epochs */
    double t;         /* updates + 1, as scikit-learn's t_ */
} an_sgd_result;

/* coef (m values) and the offset as scikit-learn's SGDOneClassSVM.fit
 * computes them; ANOMA_ERR_NONFINITE when the weights diverge. */
anoma_status an_sgd_one_class(const an_sgd_problem *p, double *coef, an_sgd_result *out);

#endif
