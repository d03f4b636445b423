/* SMO for the one-class problem, step for step as libsvm solves it.
 *
 * Fan, Chen and Lin (2005), "Working set selection using second order
 * information for training support vector machines" (JMLR 6), as libsvm
 * implements it for one-class SVM (all labels +1, no linear term):
 *
 * - start: a_i = C_i for the first rows while nu * sum C_i lasts, the next
 *   row takes the remainder, the rest 0 (nu * sum C_i accumulated row by
 *   row, as scikit-learn's libsvm does);
 * - working set: i maximises -G_i over a_i < C_i; j, among a_j > 0 with
 *   G_j > -G_i, minimises -(G_i + G_j)^2 / (Q_ii + Q_jj - 2 Q_ij) (tau =
 *   1e-12 when that is not positive); ties go to the later index; stop when
 *   max(-G_i) + max(G_j) < tol;
 * - shrinking every min(l, 1000) iterations, unshrinking once when the gap
 *   is below 10 tol, and a last check on the whole problem;
 * - rho: the mean gradient of the free variables, else the middle of the
 *   bounds.
 *
 * Kernel columns are float32 (libsvm's Qfloat), gradients double, and each
 * expression keeps libsvm's order of operations, so that the iterates, and
 * therefore the solution, are libsvm's. Only the speed differs: columns are
 * computed a block of rows at a time from a feature-major copy of the data
 * (vectorised across rows, each dot product still added feature by feature)
 * and across threads when long; rbf entries go through the vectorised
 * an_ocsvm_exp (within 1 ulp of the C library's: after rounding to float32
 * the same entry but about once in 10^8; measured on a 10000 x 10 fit, CPU
 * time 1.87 -> 1.58 s at nu = 0.5, the same iterations and decision values
 * as scikit-learn's). The starting gradient computes the columns of every
 * row with a_j > 0 four at a time, each value of the data used for four
 * columns, and keeps them in the cache when it holds them all (the
 * iterations ask for nine in ten of them again); a shrinking pass moves the
 * cached columns' entries column by column, not pair by pair. Measured
 * (CPU time, one thread, the same bits): cardio 1831 x 21 at nu = 0.1
 * 8.6-9.7 -> 6.5-6.9 ms, satellite 6435 x 36 173-181 -> 129-141 ms, 20000
 * x 10 at nu = 0.1 1.53-1.83 -> 1.01-1.30 s, 10000 x 10 at nu = 0.5
 * 1.23-1.76 -> 0.99-1.22 s. */
#include "detectors/ocsvm/ocsvm.h"
#include "core/alloc.h"
#include "core/error.h"
#include "core/threads.h"

#include <math.h>
#include <string.h>

#define TAU 1e-12

enum { LOWER, UPPER, FREE };

/* Column entries per thread below which a thread costs more than it saves. */
enum { MIN_ENTRIES_PER_THREAD = 4096 };

typedef struct solver {
    size_t l, d, active;
    an_ocsvm_kernel kernel;
    double *xt; /* d x l: feature k of the row at position j is xt[k * l + j] */
    double *sq; /* |x_j|^2 */
    double *qd; /* Q_jj, double as libsvm's QD */
    double *g, *g_bar, *alpha, *c;
    unsigned char *status;
    size_t *active_set; /* original row of each position */
    size_t *swaps;      /* 2 l: the pairs swapped by one shrinking pass, in order */
    size_t n_swaps;
    an_ocsvm_cache *cache;
    double *xi;  /* d values of its row */
    double eps;
    int unshrink;
    size_t n_threads;
} solver;

static int is_upper(const solver *s, size_t i) { return s->status[i] == UPPER; }
static int is_lower(const solver *s, size_t i) { return s->status[i] == LOWER; }
static int is_free(const solver *s, size_t i) { return s->status[i] == FREE; }

/* ---- kernel columns ---- */

typedef struct column_job {
    const solver *s;
    size_t i, from;
    float *out;
} column_job;

/* Rows per pass over the features: their dot products stay in L1. */
enum { CHUNK = 256 };
/* Columns computed together by the starting gradient (block_dots). */
enum { COLUMNS = 4 };

/* Dot products are added feature by feature in index order (libsvm's
 * order), four rows to a vector register, products and sums never fused:
 * the same bits on every path. The sums stay in registers across the
 * features, so each value of the data is loaded once per block of rows
 * (and, in block_dots, used for COLUMNS columns at once). */
typedef double v4d __attribute__((vector_size(32)));
typedef double v4d_u __attribute__((vector_size(32), aligned(8)));

#define LOAD(p) (*(const v4d_u *)(p))
#define STORE(p, v) (*(v4d_u *)(p) = (v))

/* acc[j] = x_i . x_{from + j} for j < n; xi holds row i's d values. */
static inline __attribute__((always_inline)) void row_dots(const solver *s, const double *xi,
                                                          size_t from, size_t n, double *acc)
{
    size_t l = s->l, d = s->d, j = 0;
    const double *xt = s->xt + from;
    for (; j + 16 <= n; j += 16) {
        const double *p = xt + j;
        v4d a0 = xi[0] * LOAD(p), a1 = xi[0] * LOAD(p + 4);
        v4d a2 = xi[0] * LOAD(p + 8), a3 = xi[0] * LOAD(p + 12);
        for (size_t k = 1; k < d; k++) {
            p += l;
            double xk = xi[k];
            a0 = a0 + xk * LOAD(p);
            a1 = a1 + xk * LOAD(p + 4);
            a2 = a2 + xk * LOAD(p + 8);
            a3 = a3 + xk * LOAD(p + 12);
        }
        STORE(acc + j, a0);
        STORE(acc + j + 4, a1);
        STORE(acc + j + 8, a2);
        STORE(acc + j + 12, a3);
    }
    for (; j < n; j++) {
        double sum = xi[0] * xt[j];
        for (size_t k = 1; k < d; k++)
            sum += xi[k] * xt[k * l + j];
        acc[j] = sum;
    }
}

/* The kernel values of a row of squared norm sq_i with the n rows from
 * `from`, from their dot products acc (overwritten), rounded into out. */
static inline __attribute__((always_inline)) void kernel_values(const solver *s, double sq_i,
                                                               size_t from, size_t n,
                                                               double *acc, float *out)
{
    const double *sq = s->sq + from;
    if (s->kernel.type == AN_OCSVM_RBF) {
        /* the exponents, then the vectorised exp (see the file's head) */
        double minus_gamma = -s->kernel.gamma;
        for (size_t j = 0; j < n; j++)
            acc[j] = minus_gamma * (sq_i + sq[j] - 2 * acc[j]);
        an_ocsvm_exp(acc, n);
        for (size_t j = 0; j < n; j++)
            out[j] = (float)acc[j];
        return;
    }
    for (size_t j = 0; j < n; j++)
        out[j] = (float)an_ocsvm_kernel_of_dot(&s->kernel, acc[j], sq_i, sq[j]);
}

/* AVX2 where the processor has it, chosen at run time: twice the dot
 * products per instruction. Products and sums are never fused, so every
 * clone gives libsvm's bits. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define CLONES __attribute__((optimize("fp-contract=off"), target_clones("avx2", "default")))
#else
#define CLONES
#endif

CLONES static void column_range(void *ctx, size_t begin, size_t end, size_t worker)
{
    (void)worker;
    const column_job *job = ctx;
    const solver *s = job->s;
    double sq_i = s->sq[job->i];
    double acc[CHUNK];
    for (size_t from = job->from + begin, to = job->from + end; from < to; from += CHUNK) {
        size_t n = to - from < CHUNK ? to - from : CHUNK;
        row_dots(s, s->xi, from, n, acc);
        kernel_values(s, sq_i, from, n, acc, job->out + from);
    }
}

/* Fill positions [start, len) of column i into col. */
static void compute_column(solver *s, size_t i, size_t start, size_t len, float *col)
{
    for (size_t k = 0; k < s->d; k++)
        s->xi[k] = s->xt[k * s->l + i];
    column_job job = {s, i, start, col};
    size_t min_chunk = MIN_ENTRIES_PER_THREAD / (s->d ? s->d : 1) + 1;
    an_parallel_for(len - start, s->n_threads, min_chunk, column_range, &job);
}

/* ---- the starting gradient ---- */

/* acc[c * n + j] = x_{i + c} . x_{from + j} for c < COLUMNS, j < n: the
 * dot products of COLUMNS rows of the row-major x (rows i.. of d values)
 * with n rows, each added as row_dots adds it. */
static inline __attribute__((always_inline)) void block_dots(const solver *s, const double *x,
                                                            size_t i, size_t from, size_t n,
                                                            double *acc)
{
    size_t l = s->l, d = s->d, j = 0;
    const double *xt = s->xt + from;
    const double *x0 = x + i * d, *x1 = x0 + d, *x2 = x1 + d, *x3 = x2 + d;
    for (; j + 8 <= n; j += 8) {
        const double *p = xt + j;
        v4d v = LOAD(p), w = LOAD(p + 4);
        v4d a0 = x0[0] * v, b0 = x0[0] * w, a1 = x1[0] * v, b1 = x1[0] * w;
        v4d a2 = x2[0] * v, b2 = x2[0] * w, a3 = x3[0] * v, b3 = x3[0] * w;
        for (size_t k = 1; k < d; k++) {
            p += l;
            v = LOAD(p);
            w = LOAD(p + 4);
            a0 = a0 + x0[k] * v;
            b0 = b0 + x0[k] * w;
            a1 = a1 + x1[k] * v;
            b1 = b1 + x1[k] * w;
            a2 = a2 + x2[k] * v;
            b2 = b2 + x2[k] * w;
            a3 = a3 + x3[k] * v;
            b3 = b3 + x3[k] * w;
        }
        STORE(acc + j, a0);
        STORE(acc + j + 4, b0);
        STORE(acc + n + j, a1);
        STORE(acc + n + j + 4, b1);
        STORE(acc + 2 * n + j, a2);
        STORE(acc + 2 * n + j + 4, b2);
        STORE(acc + 3 * n + j, a3);
        STORE(acc + 3 * n + j + 4, b3);
    }
    for (; j < n; j++)
        for (size_t c = 0; c < COLUMNS; c++) {
            const double *xc = x + (i + c) * d;
            double sum = xc[0] * xt[j];
            for (size_t k = 1; k < d; k++)
                sum += xc[k] * xt[k * l + j];
            acc[c * n + j] = sum;
        }
}

typedef struct start_job {
    solver *s;
    const double *x; /* the rows, row-major (positions are rows at the start) */
    size_t m;        /* the rows with a_j > 0: positions [0, m) */
    float **cols;    /* m cache slots to fill, or NULL */
} start_job;

/* G and G_bar at positions [begin, end): sum over j < m of a_j Q_j (C_j Q_j
 * for the a_j at the bound), each position adding the terms in j order as
 * libsvm's loop over the columns adds them. Columns are computed COLUMNS
 * at a time over CHUNK rows, into the cache when it holds them all. */
CLONES static void start_range(void *ctx, size_t begin, size_t end, size_t worker)
{
    (void)worker;
    const start_job *job = ctx;
    solver *s = job->s;
    double acc[COLUMNS * CHUNK];
    float q[COLUMNS * CHUNK];
    for (size_t from = begin; from < end; from += CHUNK) {
        size_t n = end - from < CHUNK ? end - from : CHUNK;
        double *g = s->g + from, *g_bar = s->g_bar + from;
        for (size_t j0 = 0; j0 < job->m; j0 += COLUMNS) {
            size_t nc = job->m - j0 < COLUMNS ? job->m - j0 : COLUMNS;
            if (nc == COLUMNS)
                block_dots(s, job->x, j0, from, n, acc);
            else
                for (size_t c = 0; c < nc; c++)
                    row_dots(s, job->x + (j0 + c) * s->d, from, n, acc + c * n);
            for (size_t c = 0; c < nc; c++) {
                size_t j = j0 + c;
                float *q_j = job->cols ? job->cols[j] + from : q + c * n;
                kernel_values(s, s->sq[j], from, n, acc + c * n, q_j);
                double alpha_j = s->alpha[j];
                for (size_t k = 0; k < n; k++)
                    g[k] += alpha_j * q_j[k];
                if (is_upper(s, j)) {
                    double c_j = s->c[j];
                    for (size_t k = 0; k < n; k++)
                        g_bar[k] += c_j * q_j[k];
                }
            }
        }
    }
}

/* The starting gradient from the columns of the rows with a_j > 0 (the
 * first m). About nine in ten of these columns are asked for again by the
 * iterations (counted on the shared datasets and on 10000 and 20000
 * Gaussian rows, nu = 0.1 and 0.5), so they go into the cache when it
 * holds them all; else they are computed and dropped. */
static void start_gradient(solver *s, const double *x)
{
    size_t m = 0;
    while (m < s->l && !is_lower(s, m))
        m++;
    float **cols = AN_NEW_ARRAY(float *, m);
    if (cols && !an_ocsvm_cache_reserve(s->cache, m, cols)) {
        an_free(cols);
        cols = NULL;
    }
    start_job job = {s, x, m, cols};
    an_parallel_for(s->l, s->n_threads, CHUNK, start_range, &job);
    an_free(cols);
}

static const float *get_q(solver *s, size_t i, size_t len)
{
    size_t start;
    float *col = an_ocsvm_cache_get(s->cache, i, len, &start);
    if (start < len)
        compute_column(s, i, start, len, col);
    return col;
}

/* ---- libsvm's Solver, for y = +1 and p = 0 ---- */

static void update_status(solver *s, size_t i)
{
    s->status[i] = s->alpha[i] >= s->c[i] ? UPPER : s->alpha[i] <= 0 ? LOWER : FREE;
}

#define SWAP(type, a, b)                                                       \
    do {                                                                       \
        type t_ = (a);                                                         \
        (a) = (b);                                                             \
        (b) = t_;                                                              \
    } while (0)

/* Positions i and j trade places; the cache follows at the end of the
 * shrinking pass (do_shrinking). */
static void swap_index(solver *s, size_t i, size_t j)
{
    s->swaps[2 * s->n_swaps] = i;
    s->swaps[2 * s->n_swaps + 1] = j;
    s->n_swaps++;
    for (size_t k = 0; k < s->d; k++)
        SWAP(double, s->xt[k * s->l + i], s->xt[k * s->l + j]);
    SWAP(double, s->sq[i], s->sq[j]);
    SWAP(double, s->qd[i], s->qd[j]);
    SWAP(double, s->g[i], s->g[j]);
    SWAP(unsigned char, s->status[i], s->status[j]);
    SWAP(double, s->alpha[i], s->alpha[j]);
    SWAP(size_t, s->active_set[i], s->active_set[j]);
    SWAP(double, s->g_bar[i], s->g_bar[j]);
    SWAP(double, s->c[i], s->c[j]);
}

/* Gradients of the inactive positions from G_bar and the free variables. */
static void reconstruct_gradient(solver *s)
{
    size_t l = s->l, active = s->active;
    if (active == l)
        return;
    size_t n_free = 0;
    for (size_t j = active; j < l; j++)
        s->g[j] = s->g_bar[j];
    for (size_t j = 0; j < active; j++)
        n_free += is_free(s, j);
    /* both ways add the same terms in the same order; pick the cheaper */
    if ((double)n_free * (double)l > 2.0 * (double)active * (double)(l - active)) {
        for (size_t i = active; i < l; i++) {
            const float *q_i = get_q(s, i, active);
            for (size_t j = 0; j < active; j++)
                if (is_free(s, j))
                    s->g[i] += s->alpha[j] * q_i[j];
        }
    } else {
        for (size_t i = 0; i < active; i++)
            if (is_free(s, i)) {
                const float *q_i = get_q(s, i, l);
                double alpha_i = s->alpha[i];
                for (size_t j = active; j < l; j++)
                    s->g[j] += alpha_i * q_i[j];
            }
    }
}

/* 1 when optimal (within eps), else the pair in *out_i, *out_j. */
static int select_working_set(solver *s, size_t *out_i, size_t *out_j)
{
    double gmax = -INFINITY, gmax2 = -INFINITY, obj_diff_min = INFINITY;
    size_t gmax_idx = SIZE_MAX, gmin_idx = SIZE_MAX;
    const double *g = s->g;
    for (size_t t = 0; t < s->active; t++)
        if (!is_upper(s, t) && -g[t] >= gmax) {
            gmax = -g[t];
            gmax_idx = t;
        }
    size_t i = gmax_idx;
    const float *q_i = i != SIZE_MAX ? get_q(s, i, s->active) : NULL;
    for (size_t j = 0; j < s->active; j++) {
        if (is_lower(s, j))
            continue;
        double grad_diff = gmax + g[j];
        if (g[j] >= gmax2)
            gmax2 = g[j];
        if (grad_diff > 0) {
            double quad_coef = s->qd[i] + s->qd[j] - 2.0 * q_i[j];
            double obj_diff = quad_coef > 0 ? -(grad_diff * grad_diff) / quad_coef
                                            : -(grad_diff * grad_diff) / TAU;
            if (obj_diff <= obj_diff_min) {
                gmin_idx = j;
                obj_diff_min = obj_diff;
            }
        }
    }
    if (gmax + gmax2 < s->eps || gmin_idx == SIZE_MAX)
        return 1;
    *out_i = gmax_idx;
    *out_j = gmin_idx;
    return 0;
}

static int be_shrunk(const solver *s, size_t i, double gmax1, double gmax2)
{
    if (is_upper(s, i))
        return -s->g[i] > gmax1;
    if (is_lower(s, i))
        return s->g[i] > gmax2;
    return 0;
}

static void do_shrinking(solver *s)
{
    double gmax1 = -INFINITY; /* max -G over a < C */
    double gmax2 = -INFINITY; /* max G over a > 0 */
    for (size_t i = 0; i < s->active; i++) {
        if (!is_upper(s, i) && -s->g[i] >= gmax1)
            gmax1 = -s->g[i];
        if (!is_lower(s, i) && s->g[i] >= gmax2)
            gmax2 = s->g[i];
    }
    if (!s->unshrink && gmax1 + gmax2 <= s->eps * 10) {
        s->unshrink = 1;
        reconstruct_gradient(s);
        s->active = s->l;
    }
    s->n_swaps = 0;
    for (size_t i = 0; i < s->active; i++)
        if (be_shrunk(s, i, gmax1, gmax2)) {
            s->active--;
            while (s->active > i) {
                if (!be_shrunk(s, s->active, gmax1, gmax2)) {
                    swap_index(s, i, s->active);
                    break;
                }
                s->active--;
            }
        }
    /* the cache's columns all at once, each column in turn: one pass over
     * a column's memory, where swap by swap would touch every column for
     * every pair (measured: a fifth to a third of a 10000-row fit) */
    an_ocsvm_cache_swap(s->cache, s->swaps, s->n_swaps);
}

static double calculate_rho(const solver *s)
{
    size_t n_free = 0;
    double ub = INFINITY, lb = -INFINITY, sum_free = 0;
    for (size_t i = 0; i < s->active; i++) {
        double yg = s->g[i];
        if (is_upper(s, i))
            lb = lb > yg ? lb : yg;
        else if (is_lower(s, i))
            ub = ub < yg ? ub : yg;
        else {
            n_free++;
            sum_free += yg;
        }
    }
    return n_free > 0 ? sum_free / (double)n_free : (ub + lb) / 2;
}

/* G_bar, the gradient part of the variables at their upper bound, after
 * variable i's bound status may have changed (was_upper: before). */
static void update_g_bar(solver *s, size_t i, int was_upper)
{
    if (was_upper == is_upper(s, i))
        return;
    size_t l = s->l;
    const float *q_i = get_q(s, i, l);
    double c_i = was_upper ? -s->c[i] : s->c[i];
    for (size_t k = 0; k < l; k++)
        s->g_bar[k] += c_i * q_i[k];
}

/* One SMO step on the pair (i, j), both with y = +1. */
static void take_step(solver *s, size_t i, size_t j)
{
    const float *q_i = get_q(s, i, s->active);
    const float *q_j = get_q(s, j, s->active);
    double c_i = s->c[i], c_j = s->c[j];
    double *alpha = s->alpha;
    double old_alpha_i = alpha[i], old_alpha_j = alpha[j];

    double quad_coef = s->qd[i] + s->qd[j] - 2 * q_i[j];
    if (quad_coef <= 0)
        quad_coef = TAU;
    double delta = (s->g[i] - s->g[j]) / quad_coef;
    double sum = alpha[i] + alpha[j];
    alpha[i] -= delta;
    alpha[j] += delta;
    if (sum > c_i) {
        if (alpha[i] > c_i) {
            alpha[i] = c_i;
            alpha[j] = sum - c_i;
        }
    } else if (alpha[j] < 0) {
        alpha[j] = 0;
        alpha[i] = sum;
    }
    if (sum > c_j) {
        if (alpha[j] > c_j) {
            alpha[j] = c_j;
            alpha[i] = sum - c_j;
        }
    } else if (alpha[i] < 0) {
        alpha[i] = 0;
        alpha[j] = sum;
    }

    double delta_alpha_i = alpha[i] - old_alpha_i;
    double delta_alpha_j = alpha[j] - old_alpha_j;
    for (size_t k = 0; k < s->active; k++)
        s->g[k] += q_i[k] * delta_alpha_i + q_j[k] * delta_alpha_j;

    int ui = is_upper(s, i), uj = is_upper(s, j);
    update_status(s, i);
    update_status(s, j);
    update_g_bar(s, i, ui);
    update_g_bar(s, j, uj);
}

static void solver_free(solver *s)
{
    an_free(s->xt);
    an_free(s->sq);
    an_free(s->qd);
    an_free(s->g);
    an_free(s->g_bar);
    an_free(s->alpha);
    an_free(s->c);
    an_free(s->status);
    an_free(s->active_set);
    an_free(s->swaps);
    an_free(s->xi);
    an_ocsvm_cache_free(s->cache);
}

static anoma_status solver_init(solver *s, const an_ocsvm_problem *p)
{
    size_t l = p->l, d = p->d;
    *s = (solver){.l = l, .d = d, .active = l, .kernel = p->kernel, .eps = p->tol,
                  .n_threads = p->n_threads};
    s->xt = AN_NEW_ARRAY(double, l * d);
    s->sq = AN_NEW_ARRAY(double, l);
    s->qd = AN_NEW_ARRAY(double, l);
    s->g = AN_NEW_ARRAY(double, l);
    s->g_bar = AN_NEW_ARRAY(double, l);
    s->alpha = AN_NEW_ARRAY(double, l);
    s->c = AN_NEW_ARRAY(double, l);
    s->status = AN_NEW_ARRAY(unsigned char, l);
    s->active_set = AN_NEW_ARRAY(size_t, l);
    s->swaps = an_malloc_array(l, 2 * sizeof(size_t));
    s->xi = AN_NEW_ARRAY(double, d);
    if (!s->xt || !s->sq || !s->qd || !s->g || !s->g_bar || !s->alpha || !s->c || !s->status ||
        !s->active_set || !s->swaps || !s->xi)
        return an_no_memory();
    AN_TRY(an_ocsvm_cache_create(l, p->cache_bytes, &s->cache));
    for (size_t j = 0; j < l; j++) {
        const double *row = p->x + j * d;
        for (size_t k = 0; k < d; k++)
            s->xt[k * l + j] = row[k];
        s->sq[j] = an_ocsvm_dot(row, row, d);
        s->qd[j] = an_ocsvm_kernel_of_dot(&p->kernel, s->sq[j], s->sq[j], s->sq[j]);
        s->c[j] = p->upper ? p->upper[j] : 1.0;
        s->active_set[j] = j;
    }
    /* the starting point */
    double nu_l = 0;
    for (size_t j = 0; j < l; j++)
        nu_l += s->c[j] * p->nu;
    size_t i = 0;
    for (; nu_l > 0 && i < l; i++) {
        s->alpha[i] = s->c[i] < nu_l ? s->c[i] : nu_l;
        nu_l -= s->alpha[i];
    }
    for (; i < l; i++)
        s->alpha[i] = 0;
    for (size_t j = 0; j < l; j++) {
        update_status(s, j);
        s->g[j] = 0;
        s->g_bar[j] = 0;
    }
    start_gradient(s, p->x);
    return ANOMA_OK;
}

anoma_status an_ocsvm_solve(const an_ocsvm_problem *p, double *alpha_out, an_ocsvm_solution *out)
{
    solver s;
    anoma_status st = solver_init(&s, p);
    if (st != ANOMA_OK) {
        solver_free(&s);
        return st;
    }
    size_t l = s.l;
    uint64_t iter = 0;
    size_t counter = (l < 1000 ? l : 1000) + 1;
    int hit_max = 0;
    for (;;) {
        if (p->max_iter >= 0 && iter >= (uint64_t)p->max_iter) {
            hit_max = 1;
            break;
        }
        if (--counter == 0) {
            counter = l < 1000 ? l : 1000;
            if (p->shrinking)
                do_shrinking(&s);
        }
        size_t i = 0, j = 0;
        if (select_working_set(&s, &i, &j)) {
            reconstruct_gradient(&s);
            s.active = l;
            if (select_working_set(&s, &i, &j))
                break;
            counter = 1; /* shrink at the next iteration */
        }
        iter++;
        take_step(&s, i, j);
    }
    out->rho = calculate_rho(&s);
    out->iterations = iter;
    out->hit_max_iter = hit_max;
    out->cache_bytes = an_ocsvm_cache_bytes(s.cache);
    for (size_t k = 0; k < l; k++)
        alpha_out[s.active_set[k]] = s.alpha[k];
    solver_free(&s);
    return ANOMA_OK;
}
