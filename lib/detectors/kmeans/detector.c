/* The "kmeans" detector's vtable: see kmeans.h.
 *
 * Score of a row: its Euclidean distance to the nearest centroid
 * (scikit-learn's KMeans.transform(x).min(axis=1)); with
 * distance=mahalanobis, the Mahalanobis distance (not squared) within the
 * cluster of the nearest centroid: from the cluster's own mean and
 * covariance, by the factor and ridge rule of the mahalanobis detector
 * (detectors/mahalanobis). Feature scores: none (a distance to a point does
 * not split by feature without choosing a convention). The detector has no
 * threshold rule of its own.
 *
 * Payload (version 1): u8 distance (0 euclidean, 1 mahalanobis), u64 k,
 * u64 d, f64 inertia, u64 iterations, the centres (k x d f64), the cluster
 * sizes (k u64, summing to at most 2^53), then for mahalanobis each
 * cluster's mean (d f64) and covariance (d x d f64). */
#include "detectors/kmeans/kmeans.h"
#include "detectors/detector.h"
#include "detectors/mahalanobis/mahalanobis.h"
#include "detectors/neighbor_data.h"
#include "core/alloc.h"
#include "core/error.h"
#include "core/threads.h"

#include <math.h>
#include <string.h>

typedef enum kmeans_distance { KM_EUCLIDEAN = 0, KM_MAHALANOBIS = 1 } kmeans_distance;

typedef struct kmeans_state {
    an_kmeans_options opt;
    kmeans_distance distance;
    int fitted;
    size_t k, d, n_iter;
    double inertia;
    double *centers;        /* k x d */
    uint64_t *sizes;        /* k */
    an_ellipsoid *clusters; /* k, for mahalanobis */
} kmeans_state;

static const anoma_param_info kmeans_params[] = {
    {"n_clusters", ANOMA_PARAM_INT, 1, 1000000, "8", "",
     "number of clusters (k); capped at the training rows"},
    {"n_init", ANOMA_PARAM_INT, 1, 100000, "10", "",
     "runs from different k-means++ seeds; the least inertia wins"},
    {"max_iter", ANOMA_PARAM_INT, 1, 1000000000, "300", "", "Lloyd iterations per run, at most"},
    {"tol", ANOMA_PARAM_DOUBLE, 0, 1e300, "0.0001", "",
     "stop when the squared centre shifts sum to at most tol x the mean feature variance"},
    {"seed", ANOMA_PARAM_INT, 0, 9223372036854775807.0, "0", "", "seed of the k-means++ draws"},
    {"distance", ANOMA_PARAM_CHOICE, 0, 0, "euclidean", "euclidean|mahalanobis",
     "score: Euclidean distance to the nearest centroid, or Mahalanobis distance within its "
     "cluster"},
};

static anoma_status kmeans_create(const an_params *params, void **out)
{
    kmeans_state *s = AN_NEW_ZEROED(kmeans_state, 1);
    if (!s)
        return an_no_memory();
    s->opt.k = (size_t)an_params_int(params, "n_clusters");
    s->opt.n_init = (size_t)an_params_int(params, "n_init");
    s->opt.max_iter = (size_t)an_params_int(params, "max_iter");
    s->opt.tol = an_params_double(params, "tol");
    s->opt.seed = (uint64_t)an_params_int(params, "seed");
    s->distance = (kmeans_distance)an_params_choice(params, "distance");
    *out = s;
    return ANOMA_OK;
}

static void clear(kmeans_state *s)
{
    for (size_t c = 0; s->clusters && c < s->k; c++)
        an_ellipsoid_free(&s->clusters[c]);
    an_free(s->clusters);
    an_free(s->centers);
    an_free(s->sizes);
    s->clusters = NULL;
    s->centers = NULL;
    s->sizes = NULL;
    s->fitted = 0;
    s->k = s->d = 0;
}

static void kmeans_destroy(void *state)
{
    kmeans_state *s = state;
    if (!s)
        return;
    clear(s);
    an_free(s);
}

static anoma_status alloc_fitted(kmeans_state *s, size_t k, size_t d)
{
    s->centers = an_malloc_array(k, d * sizeof(double));
    s->sizes = AN_NEW_ZEROED(uint64_t, k);
    if (!s->centers || !s->sizes)
        return an_no_memory();
    s->k = k; /* from here clear() frees k clusters */
    s->d = d;
    if (s->distance == KM_MAHALANOBIS) {
        s->clusters = AN_NEW_ZEROED(an_ellipsoid, k);
        if (!s->clusters)
            return an_no_memory();
        for (size_t c = 0; c < k; c++)
            AN_TRY(an_ellipsoid_alloc(&s->clusters[c], d));
    }
    return ANOMA_OK;
}

/* Each cluster's mean and covariance from its rows. */
static anoma_status fit_clusters(kmeans_state *s, const double *x, size_t n,
                                 const size_t *labels)
{
    size_t *rows = AN_NEW_ARRAY(size_t, n);
    double *work = an_malloc_array(n, s->d * sizeof(double));
    anoma_status st = rows && work ? ANOMA_OK : an_no_memory();
    for (size_t c = 0; c < s->k && st == ANOMA_OK; c++) {
        size_t m = 0;
        for (size_t i = 0; i < n; i++)
            if (labels[i] == c)
                rows[m++] = i;
        if (m == 0) { /* cannot happen after relocation; a point at the centre */
            memcpy(s->clusters[c].mean, s->centers + c * s->d, s->d * sizeof(double));
            memset(s->clusters[c].cov, 0, s->d * s->d * sizeof(double));
            st = an_ellipsoid_factor(&s->clusters[c]);
        } else {
            st = an_ellipsoid_estimate(&s->clusters[c], x, rows, m, work);
        }
    }
    an_free(rows);
    an_free(work);
    return st;
}

static anoma_status kmeans_fit(void *state, const an_fit_data *data)
{
    kmeans_state *s = state;
    clear(s);
    size_t n = data->rows, d = data->cols, k = s->opt.k;
    AN_TRY(an_nb_check_complete("kmeans: fit", data->x, n, d));
    if (n == 0)
        return an_error(ANOMA_ERR_EMPTY, "kmeans: fit needs at least 1 row");
    k = k < n ? k : n; /* capped at the rows, as knn caps n_neighbors */
    size_t *labels = AN_NEW_ARRAY(size_t, n);
    anoma_status st = labels ? alloc_fitted(s, k, d) : an_no_memory();
    an_kmeans_fit fit = {.centers = s->centers, .labels = labels};
    an_kmeans_options opt = s->opt;
    opt.k = k;
    opt.n_threads = data->n_threads;
    if (st == ANOMA_OK)
        st = an_kmeans_run(data->x, n, d, &opt, &fit);
    if (st == ANOMA_OK) {
        s->inertia = fit.inertia;
        s->n_iter = fit.n_iter;
        for (size_t i = 0; i < n; i++)
            s->sizes[labels[i]]++;
        if (s->distance == KM_MAHALANOBIS)
            st = fit_clusters(s, data->x, n, labels);
    }
    an_free(labels);
    if (st != ANOMA_OK) {
        clear(s);
        return st;
    }
    s->fitted = 1;
    return ANOMA_OK;
}

static size_t kmeans_scratch_bytes(const void *state)
{
    const kmeans_state *s = state;
    return s->d * sizeof(double);
}

static void kmeans_score_row(const void *state, const double *row, void *scratch, double *score)
{
    const kmeans_state *s = state;
    size_t best = 0;
    double best_d = INFINITY;
    for (size_t j = 0; j < s->d; j++)
        if (isnan(row[j])) {
            *score = NAN;
            return;
        }
    for (size_t c = 0; c < s->k; c++) {
        const double *cc = s->centers + c * s->d;
        double sum = 0;
        for (size_t j = 0; j < s->d; j++) {
            double t = row[j] - cc[j];
            sum += t * t;
        }
        if (sum < best_d) {
            best_d = sum;
            best = c;
        }
    }
    if (s->distance == KM_MAHALANOBIS)
        best_d = an_ellipsoid_distance(&s->clusters[best], row, scratch);
    *score = sqrt(best_d);
}

typedef struct batch {
    const kmeans_state *s;
    const double *x;
    double *scores, *work;
} batch;

static void score_range(void *ctx, size_t begin, size_t end, size_t worker)
{
    batch *b = ctx;
    for (size_t i = begin; i < end; i++)
        kmeans_score_row(b->s, b->x + i * b->s->d, b->work + worker * b->s->d, b->scores + i);
}

/* Row by row as score_row, after refusing a missing value. */
static anoma_status kmeans_score_batch(const void *state, const double *x, size_t rows,
                                       size_t n_threads, double *scores)
{
    const kmeans_state *s = state;
    AN_TRY(an_nb_check_complete("kmeans: score", x, rows, s->d));
    size_t chunks = an_parallel_workers(rows, n_threads, 256);
    batch b = {s, x, scores, an_malloc_array(chunks ? chunks : 1, s->d * sizeof(double))};
    if (!b.work)
        return an_no_memory();
    an_parallel_for(rows, n_threads, 256, score_range, &b);
    an_free(b.work);
    return ANOMA_OK;
}

static anoma_status kmeans_save(const void *state, an_writer *w)
{
    const kmeans_state *s = state;
    if (!s->fitted)
        return an_error(ANOMA_ERR_NOT_FITTED, "kmeans: not fitted");
    an_put_u8(w, (uint8_t)s->distance);
    an_put_u64(w, s->k);
    an_put_u64(w, s->d);
    an_put_f64(w, s->inertia);
    an_put_u64(w, s->n_iter);
    an_put_f64_array(w, s->centers, s->k * s->d);
    for (size_t c = 0; c < s->k; c++)
        an_put_u64(w, s->sizes[c]);
    for (size_t c = 0; s->distance == KM_MAHALANOBIS && c < s->k; c++) {
        an_put_f64_array(w, s->clusters[c].mean, s->d);
        an_put_f64_array(w, s->clusters[c].cov, s->d * s->d);
    }
    return an_writer_status(w);
}

static int finite_all(const double *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(v[i]))
            return 0;
    return 1;
}

static anoma_status load_cluster(an_ellipsoid *e, an_reader *r)
{
    size_t d = e->d;
    an_get_f64_array(r, e->mean, d);
    an_get_f64_array(r, e->cov, d * d);
    AN_TRY(an_reader_status(r));
    int ok = finite_all(e->mean, d) && finite_all(e->cov, d * d);
    for (size_t i = 0; ok && i < d; i++) {
        ok = e->cov[i * d + i] >= 0;
        for (size_t j = 0; ok && j < d; j++)
            ok = e->cov[i * d + j] == e->cov[j * d + i];
    }
    anoma_status st = ok ? an_ellipsoid_factor(e) : ANOMA_ERR_FORMAT;
    if (st == ANOMA_ERR_FORMAT || st == ANOMA_ERR_INTERNAL || st == ANOMA_ERR_NONFINITE)
        return an_error(ANOMA_ERR_FORMAT, "model file: kmeans: a cluster's mean or covariance "
                        "is not finite, symmetric and positive semi-definite");
    return st;
}

static anoma_status kmeans_load(void *state, an_reader *r, size_t n_features, uint32_t version)
{
    kmeans_state *s = state;
    (void)version; /* only version 1 exists */
    clear(s);
    uint8_t distance = an_get_u8(r);
    uint64_t k = an_get_u64(r), d = an_get_u64(r);
    double inertia = an_get_f64(r);
    uint64_t n_iter = an_get_u64(r);
    size_t per_cluster = (size_t)(distance == KM_MAHALANOBIS ? 2 * d + d * d + 1 : d + 1);
    if (r->failed || distance > 1 || d != n_features || !d || !k ||
        !(inertia >= 0 && isfinite(inertia)) ||
        (distance == KM_MAHALANOBIS && d > (1u << 20)) ||
        !an_reader_can_hold(r, k, per_cluster * sizeof(double))) {
        an_reader_fail(r);
        return an_reader_status(r);
    }
    s->distance = (kmeans_distance)distance;
    anoma_status st = alloc_fitted(s, (size_t)k, (size_t)d);
    if (st == ANOMA_OK) {
        an_get_f64_array(r, s->centers, s->k * s->d);
        uint64_t total = 0;
        for (size_t c = 0; c < s->k; c++) {
            s->sizes[c] = an_get_u64(r);
            total += s->sizes[c] < (1ull << 53) ? s->sizes[c] : (1ull << 53);
        }
        if (!r->failed && (!finite_all(s->centers, s->k * s->d) || total > (1ull << 53)))
            an_reader_fail(r);
        st = an_reader_status(r);
    }
    for (size_t c = 0; st == ANOMA_OK && s->distance == KM_MAHALANOBIS && c < s->k; c++)
        st = load_cluster(&s->clusters[c], r);
    if (st != ANOMA_OK) {
        clear(s);
        return st;
    }
    s->inertia = inertia;
    s->n_iter = (size_t)n_iter;
    s->fitted = 1;
    return ANOMA_OK;
}

static size_t kmeans_memory_bytes(const void *state)
{
    const kmeans_state *s = state;
    size_t bytes = sizeof *s + s->k * (s->d * sizeof(double) + sizeof(uint64_t));
    if (s->clusters)
        bytes += s->k * (sizeof(an_ellipsoid) + (2 * s->d + 2 * s->d * s->d) * sizeof(double));
    return bytes;
}

static void kmeans_describe(const void *state, an_strbuf *out)
{
    const kmeans_state *s = state;
    if (!s->fitted) {
        an_strbuf_printf(out, "  not fitted\n");
        return;
    }
    an_strbuf_printf(out, "  %zu clusters of %zu features, inertia %.6g after %zu iterations; "
                     "score: %s distance\n", s->k, s->d, s->inertia, s->n_iter,
                     s->distance == KM_MAHALANOBIS ? "Mahalanobis (within the cluster)"
                                                   : "Euclidean");
    an_strbuf_printf(out, "  cluster sizes:");
    for (size_t c = 0; c < s->k && c < 20; c++)
        an_strbuf_printf(out, " %llu", (unsigned long long)s->sizes[c]);
    an_strbuf_printf(out, "%s\n", s->k > 20 ? " ..." : "");
}

const an_detector_vtable an_kmeans_detector = {
    .name = "kmeans",
    .summary = "distance to the nearest k-means centroid, Euclidean or Mahalanobis within the "
               "cluster (unsupervised)",
    .params = kmeans_params,
    .n_params = sizeof kmeans_params / sizeof *kmeans_params,
    .flags = ANOMA_FLAG_COMPLETE_ROWS,
    .payload_version = 1,
    .create = kmeans_create,
    .destroy = kmeans_destroy,
    .fit = kmeans_fit,
    .scratch_bytes = kmeans_scratch_bytes,
    .score_row = kmeans_score_row,
    .score_batch = kmeans_score_batch,
    .save = kmeans_save,
    .load = kmeans_load,
    .memory_bytes = kmeans_memory_bytes,
    .describe = kmeans_describe,
};
