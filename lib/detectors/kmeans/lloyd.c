/* k-means++ and Lloyd's algorithm as scikit-learn 1.2's KMeans
 * (algorithm="lloyd", init="k-means++"):
 *
 * - seeding: the first centre a uniformly drawn row; each next one the best
 *   (least total squared distance to the nearest centre) of 2 + floor(ln k)
 *   rows drawn with probability proportional to their squared distance to
 *   the nearest centre so far (greedy k-means++, Arthur and Vassilvitskii
 *   2007, as scikit-learn);
 * - an iteration: assign each row to its nearest centre (squared distances
 *   |x|^2 - 2 x.c + |c|^2 by blocks of rows through GEMM; ties to the lower
 *   centre), move each centre to the mean of its rows; a centre left with no
 *   row takes the row farthest from its own centre (scikit-learn's
 *   relocation); stop when no label changes, or when the squared centre
 *   shifts sum to at most tol times the mean feature variance, or after
 *   max_iter iterations; then (unless no label changed) assign once more so
 *   labels match centres;
 * - inertia: the sum of squared distances, each computed directly.
 *
 * Deterministic whatever the thread count: blocks of BLOCK rows are fixed,
 * each block's sums are kept apart and added in block order, and each run
 * draws from its own generator stream. */
#include "detectors/kmeans/kmeans.h"
#include "core/alloc.h"
#include "core/error.h"
#include "core/order.h"
#include "core/rng.h"
#include "core/threads.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

enum { BLOCK = 256 };

typedef struct lloyd {
    const double *x;
    size_t n, d, k, n_blocks;
    const double *x_norm;   /* n */
    const double *centers;  /* k x d: the centres rows are assigned to */
    double *c_norm;         /* k */
    size_t *labels;         /* n */
    double *dist;           /* n: squared distance to the assigned centre */
    double *gram;           /* n_blocks x BLOCK x k */
    double *sums;           /* n_blocks x k x d */
    double *counts;         /* n_blocks x k */
    size_t changed;         /* labels changed, summed over blocks below */
    size_t *block_changed;  /* n_blocks */
    int update;             /* accumulate sums */
} lloyd;

static double squared_distance(const double *a, const double *b, size_t d)
{
    double sum = 0;
    for (size_t j = 0; j < d; j++) {
        double t = a[j] - b[j];
        sum += t * t;
    }
    return sum;
}

/* Assign the rows of blocks [begin, end). */
static void assign_blocks(void *ctx, size_t begin, size_t end, size_t worker)
{
    (void)worker;
    lloyd *l = ctx;
    size_t d = l->d, k = l->k;
    for (size_t b = begin; b < end; b++) {
        size_t first = b * BLOCK, rows = l->n - first < BLOCK ? l->n - first : BLOCK;
        double *g = l->gram + b * BLOCK * k;
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)rows, (int)k, (int)d, 1.0,
                    l->x + first * d, (int)d, l->centers, (int)d, 0.0, g, (int)k);
        double *sums = l->sums + b * k * d, *counts = l->counts + b * k;
        if (l->update) {
            memset(sums, 0, k * d * sizeof(double));
            memset(counts, 0, k * sizeof(double));
        }
        size_t changed = 0;
        for (size_t i = 0; i < rows; i++) {
            size_t row = first + i, best = 0;
            double best_d = INFINITY;
            for (size_t c = 0; c < k; c++) {
                double v = l->x_norm[row] - 2 * g[i * k + c] + l->c_norm[c];
                if (v < best_d) {
                    best_d = v;
                    best = c;
                }
            }
            changed += l->labels[row] != best;
            l->labels[row] = best;
            if (l->update) {
                const double *xr = l->x + row * d;
                double *s = sums + best * d;
                for (size_t j = 0; j < d; j++)
                    s[j] += xr[j];
                counts[best] += 1;
            }
        }
        l->block_changed[b] = changed;
    }
}

static void assign(lloyd *l, size_t n_threads)
{
    for (size_t c = 0; c < l->k; c++) {
        const double *cc = l->centers + c * l->d;
        double s = 0;
        for (size_t j = 0; j < l->d; j++)
            s += cc[j] * cc[j];
        l->c_norm[c] = s;
    }
    an_parallel_for(l->n_blocks, n_threads, 1, assign_blocks, l);
    l->changed = 0;
    for (size_t b = 0; b < l->n_blocks; b++)
        l->changed += l->block_changed[b];
}

/* The new centres from the block sums (in block order), with empty
 * clusters relocated; returns the sum of squared centre shifts. */
static double update_centers(lloyd *l, const double *old, double *next, double *weight)
{
    size_t d = l->d, k = l->k;
    memset(next, 0, k * d * sizeof(double));
    memset(weight, 0, k * sizeof(double));
    for (size_t b = 0; b < l->n_blocks; b++)
        for (size_t c = 0; c < k; c++) {
            weight[c] += l->counts[b * k + c];
            for (size_t j = 0; j < d; j++)
                next[c * d + j] += l->sums[(b * k + c) * d + j];
        }
    size_t empty = 0;
    for (size_t c = 0; c < k; c++)
        empty += weight[c] == 0;
    if (empty) {
        /* the rows farthest from their centres, largest first (ties: lower row) */
        for (size_t i = 0; i < l->n; i++)
            l->dist[i] = squared_distance(l->x + i * d, old + l->labels[i] * d, d);
        for (size_t c = 0; c < k; c++) {
            if (weight[c] != 0)
                continue;
            size_t far = SIZE_MAX;
            for (size_t i = 0; i < l->n; i++)
                if (l->dist[i] >= 0 && (far == SIZE_MAX || l->dist[i] > l->dist[far]))
                    far = i;
            if (far == SIZE_MAX)
                break;
            size_t from = l->labels[far];
            const double *xr = l->x + far * d;
            for (size_t j = 0; j < d; j++) {
                next[c * d + j] = xr[j];
                next[from * d + j] -= xr[j];
            }
            weight[c] = 1;
            weight[from] -= 1;
            l->dist[far] = -1; /* taken */
        }
    }
    double shift = 0;
    for (size_t c = 0; c < k; c++) {
        for (size_t j = 0; j < d; j++) {
            double *v = next + c * d + j;
            *v = weight[c] > 0 ? *v / weight[c] : old[c * d + j];
        }
        shift += squared_distance(next + c * d, old + c * d, d);
    }
    return shift;
}

/* Greedy k-means++ seeding into centers. */
static anoma_status seed_centers(const double *x, size_t n, size_t d, size_t k, an_rng *rng,
                                 double *centers)
{
    size_t trials = 2 + (size_t)log((double)k);
    double *closest = AN_NEW_ARRAY(double, n);
    double *cumsum = AN_NEW_ARRAY(double, n);
    double *cand = an_malloc_array(trials, n * sizeof(double));
    size_t *ids = AN_NEW_ARRAY(size_t, trials);
    if (!closest || !cumsum || !cand || !ids) {
        an_free(closest);
        an_free(cumsum);
        an_free(cand);
        an_free(ids);
        return an_no_memory();
    }
    size_t first = (size_t)an_rng_below(rng, n);
    memcpy(centers, x + first * d, d * sizeof(double));
    double pot = 0;
    for (size_t i = 0; i < n; i++)
        pot += closest[i] = squared_distance(x + i * d, centers, d);
    for (size_t c = 1; c < k; c++) {
        double run = 0;
        for (size_t i = 0; i < n; i++)
            cumsum[i] = run += closest[i];
        for (size_t t = 0; t < trials; t++) {
            double r = an_rng_uniform(rng) * pot;
            size_t at = an_lower_bound(cumsum, n, r); /* first with cumsum >= r */
            ids[t] = at < n ? at : n - 1;
        }
        size_t best = 0;
        double best_pot = INFINITY;
        for (size_t t = 0; t < trials; t++) {
            double *dist = cand + t * n, sum = 0;
            for (size_t i = 0; i < n; i++) {
                double v = squared_distance(x + i * d, x + ids[t] * d, d);
                dist[i] = v < closest[i] ? v : closest[i];
                sum += dist[i];
            }
            if (sum < best_pot) {
                best_pot = sum;
                best = t;
            }
        }
        pot = best_pot;
        memcpy(closest, cand + best * n, n * sizeof(double));
        memcpy(centers + c * d, x + ids[best] * d, d * sizeof(double));
    }
    an_free(closest);
    an_free(cumsum);
    an_free(cand);
    an_free(ids);
    return ANOMA_OK;
}

/* One run from seeded centres: Lloyd's iterations into centers, labels. */
static void run_lloyd(lloyd *l, const an_kmeans_options *opt, double tol, double *centers,
                      double *spare, double *weight, size_t *n_iter)
{
    int strict = 0;
    size_t it = 0;
    for (size_t i = 0; i < l->n; i++)
        l->labels[i] = SIZE_MAX;
    for (it = 0; it < opt->max_iter; it++) {
        l->centers = centers;
        l->update = 1;
        assign(l, opt->n_threads);
        double shift = update_centers(l, centers, spare, weight);
        memcpy(centers, spare, l->k * l->d * sizeof(double));
        if (l->changed == 0) {
            strict = 1;
            break;
        }
        if (shift <= tol)
            break;
    }
    *n_iter = it < opt->max_iter ? it + 1 : opt->max_iter;
    if (!strict) {
        l->centers = centers;
        l->update = 0;
        assign(l, opt->n_threads);
    }
}

anoma_status an_kmeans_run(const double *x, size_t n, size_t d, const an_kmeans_options *opt,
                           an_kmeans_fit *out)
{
    size_t k = opt->k;
    lloyd l = {.x = x, .n = n, .d = d, .k = k, .n_blocks = (n + BLOCK - 1) / BLOCK};
    double *x_norm = AN_NEW_ARRAY(double, n);
    double *centers = an_malloc_array(k, d * sizeof(double));
    double *spare = an_malloc_array(k, d * sizeof(double));
    double *weight = AN_NEW_ARRAY(double, k);
    double *mean = AN_NEW_ZEROED(double, d);
    size_t *labels = AN_NEW_ARRAY(size_t, n);
    l.c_norm = AN_NEW_ARRAY(double, k);
    l.dist = AN_NEW_ARRAY(double, n);
    l.gram = an_malloc_array(l.n_blocks * BLOCK, k * sizeof(double));
    l.sums = an_malloc_array(l.n_blocks * k, d * sizeof(double));
    l.counts = an_malloc_array(l.n_blocks, k * sizeof(double));
    l.block_changed = AN_NEW_ARRAY(size_t, l.n_blocks);
    anoma_status st = x_norm && centers && spare && weight && mean && labels && l.c_norm &&
                              l.dist && l.gram && l.sums && l.counts && l.block_changed
                          ? ANOMA_OK : an_no_memory();
    if (st == ANOMA_OK) {
        /* tol is relative to the mean of the features' variances (numpy.var) */
        double var = 0;
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < d; j++)
                mean[j] += x[i * d + j];
        for (size_t j = 0; j < d; j++)
            mean[j] /= (double)n;
        for (size_t i = 0; i < n; i++) {
            x_norm[i] = 0;
            for (size_t j = 0; j < d; j++) {
                double t = x[i * d + j] - mean[j];
                var += t * t;
                x_norm[i] += x[i * d + j] * x[i * d + j];
            }
        }
        double tol = opt->tol * var / (double)n / (double)d;
        l.x_norm = x_norm;
        l.labels = labels;
        out->inertia = INFINITY;
        for (size_t r = 0; r < opt->n_init && st == ANOMA_OK; r++) {
            an_rng rng;
            an_rng_init(&rng, opt->seed, r);
            st = seed_centers(x, n, d, k, &rng, centers);
            if (st != ANOMA_OK)
                break;
            size_t n_iter = 0;
            run_lloyd(&l, opt, tol, centers, spare, weight, &n_iter);
            double inertia = 0;
            for (size_t i = 0; i < n; i++)
                inertia += squared_distance(x + i * d, centers + labels[i] * d, d);
            if (inertia < out->inertia) { /* ties: the earlier run */
                out->inertia = inertia;
                out->n_iter = n_iter;
                memcpy(out->centers, centers, k * d * sizeof(double));
                memcpy(out->labels, labels, n * sizeof(size_t));
            }
        }
    }
    an_free(x_norm);
    an_free(centers);
    an_free(spare);
    an_free(weight);
    an_free(mean);
    an_free(labels);
    an_free(l.c_norm);
    an_free(l.dist);
    an_free(l.gram);
    an_free(l.sums);
    an_free(l.counts);
    an_free(l.block_changed);
    return st;
}
