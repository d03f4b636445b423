/* knn: the distance to the k nearest training rows, PyOD's KNN detector
 * (Ramaswamy, Rastogi and Shim 2000; Angiulli and Pizzuti 2002).
 *
 * Score of a row = its k nearest training rows' distances combined by
 * "method": largest (the k-th distance, PyOD's default), mean, or median
 * (numpy's). Fit keeps the training rows and the training rows' own scores
 * (outlier mode: each row's neighbours leave the row out, as PyOD's
 * decision_scores_), which the model's contamination threshold comes from;
 * scoring any row afterwards (novelty mode, PyOD's decision_function) leaves
 * nothing out. k = min(n_neighbors, n - 1), as lof caps it. Neighbours,
 * ties and missing values: lib/neighbors and docs/neighbors.md. User page:
 * docs/detectors/knn.md.
 *
 * Payload (version 1): u64 k, the training matrix (neighbor_data.h), then
 * the n training scores (f64, finite, >= 0). */
#include "detectors/neighbor_data.h"
#include "core/alloc.h"
#include "core/error.h"
#include "core/stats.h"

#include <math.h>
#include <string.h>

/* Rows scored per batch step: bounds the neighbour lists held at once. */
enum { SCORE_BLOCK = 16384 };

typedef enum knn_method { KNN_LARGEST = 0, KNN_MEAN = 1, KNN_MEDIAN = 2 } knn_method;

typedef struct knn_state {
    size_t n_neighbors;
    knn_method method;
    an_knn_algorithm algorithm;
    int fitted;
    size_t k;
    an_nb_data data;
    double *train_scores;
} knn_state;

static const anoma_param_info knn_params[] = {
    {"n_neighbors", ANOMA_PARAM_INT, 1, 1000000, "5", "",
     "neighbours per row (k, PyOD's default 5); capped at the training rows - 1"},
    {"method", ANOMA_PARAM_CHOICE, 0, 0, "largest", "largest|mean|median",
     "score from the k distances: the largest (the k-th), their mean, or their median"},
    AN_KNN_ALGORITHM_PARAM,
};

static anoma_status knn_create(const an_params *params, void **out)
{
    knn_state *s = AN_NEW_ZEROED(knn_state, 1);
    if (!s)
        return an_no_memory();
    s->n_neighbors = (size_t)an_params_int(params, "n_neighbors");
    s->method = (knn_method)an_params_choice(params, "method");
    s->algorithm = (an_knn_algorithm)an_params_choice(params, "algorithm");
    *out = s;
    return ANOMA_OK;
}

static void clear(knn_state *s)
{
    an_nb_data_free(&s->data);
    an_free(s->train_scores);
    s->train_scores = NULL;
    s->fitted = 0;
}

static void knn_destroy(void *state)
{
    knn_state *s = state;
    if (!s)
        return;
    clear(s);
    an_free(s);
}

/* The score from k ascending distances, as numpy's max, mean, median. */
static double combine(const knn_state *s, const double *dist)
{
    if (s->method == KNN_LARGEST)
        return dist[s->k - 1];
    if (s->method == KNN_MEAN)
        return an_mean(dist, s->k);
    return an_median_sorted(dist, s->k);
}

/* Scores of rows of q, or with q NULL of the training rows themselves
 * (each leaving itself out), a block at a time. */
static anoma_status score_rows(const knn_state *s, const double *q, size_t rows,
                               size_t n_threads, double *scores)
{
    size_t block = rows < SCORE_BLOCK ? rows : SCORE_BLOCK;
    double *dist = an_malloc_array(block ? block : 1, s->k * sizeof(double));
    size_t *index = an_malloc_array(block ? block : 1, s->k * sizeof(size_t));
    anoma_status st = dist && index ? ANOMA_OK : an_no_memory();
    for (size_t b = 0; b < rows && st == ANOMA_OK; b += block) {
        size_t m = rows - b < block ? rows - b : block;
        st = q ? an_knn_query(&s->data.index, q + b * s->data.d, m, s->k, n_threads, dist, index)
               : an_knn_self_query(&s->data.index, b, m, s->k, n_threads, dist, index);
        for (size_t i = 0; i < m && st == ANOMA_OK; i++)
            scores[b + i] = combine(s, dist + i * s->k);
    }
    an_free(dist);
    an_free(index);
    return st;
}

static anoma_status knn_fit(void *state, const an_fit_data *data)
{
    knn_state *s = state;
    clear(s);
    AN_TRY(an_nb_data_fit(&s->data, "knn", data, 2, s->algorithm));
    size_t n = s->data.n;
    s->k = s->n_neighbors < n - 1 ? s->n_neighbors : n - 1;
    s->train_scores = AN_NEW_ARRAY(double, n);
    anoma_status st = s->train_scores ? ANOMA_OK : an_no_memory();
    if (st == ANOMA_OK)
        st = score_rows(s, NULL, n, data->n_threads, s->train_scores);
    if (st != ANOMA_OK)
        clear(s);
    else
        s->fitted = 1;
    return st;
}

static const double *knn_training_scores(const void *state, size_t *rows)
{
    const knn_state *s = state;
    *rows = s->fitted ? s->data.n : 0;
    return s->fitted ? s->train_scores : NULL;
}

/* Scratch of the row path: the heap, then k distances and k indices. */
static size_t knn_scratch_bytes(const void *state)
{
    const knn_state *s = state;
    return an_knn_row_scratch_bytes(s->k) + s->k * (sizeof(double) + sizeof(size_t));
}

static void knn_score_row(const void *state, const double *row, void *scratch, double *score)
{
    const knn_state *s = state;
    for (size_t j = 0; j < s->data.d; j++)
        if (isnan(row[j])) {
            *score = NAN;
            return;
        }
    double *dist = (double *)((unsigned char *)scratch + an_knn_row_scratch_bytes(s->k));
    size_t *index = (size_t *)(dist + s->k);
    an_knn_query_row(&s->data.index, row, s->k, scratch, dist, index);
    *score = combine(s, dist);
}

static anoma_status knn_score_batch(const void *state, const double *x, size_t rows,
                                    size_t n_threads, double *scores)
{
    const knn_state *s = state;
    AN_TRY(an_nb_check_complete("knn: score", x, rows, s->data.d));
    return score_rows(s, x, rows, n_threads, scores);
}

static anoma_status knn_save(const void *state, an_writer *w)
{
    const knn_state *s = state;
    if (!s->fitted)
        return an_error(ANOMA_ERR_NOT_FITTED, "knn: not fitted");
    an_put_u64(w, s->k);
    an_nb_data_save(&s->data, w);
    an_put_f64_array(w, s->train_scores, s->data.n);
    return an_writer_status(w);
}

static anoma_status knn_load(void *state, an_reader *r, size_t n_features, uint32_t version)
{
    knn_state *s = state;
    (void)version; /* only version 1 exists */
    clear(s);
    uint64_t k = an_get_u64(r);
    AN_TRY(an_reader_status(r));
    AN_TRY(an_nb_data_load(&s->data, r, n_features, 2, s->algorithm));
    size_t n = s->data.n;
    anoma_status st = ANOMA_OK;
    if (k < 1 || k > n - 1 || !an_reader_can_hold(r, n, sizeof(double))) {
        an_reader_fail(r);
        st = an_reader_status(r);
    } else if (!(s->train_scores = AN_NEW_ARRAY(double, n))) {
        st = an_no_memory();
    } else {
        s->k = (size_t)k;
        an_get_f64_array(r, s->train_scores, n);
        for (size_t i = 0; !r->failed && i < n; i++)
            if (!(s->train_scores[i] >= 0) || !isfinite(s->train_scores[i]))
                an_reader_fail(r);
        st = an_reader_status(r);
    }
    if (st != ANOMA_OK) {
        clear(s);
        return st;
    }
    s->fitted = 1;
    return ANOMA_OK;
}

static size_t knn_memory_bytes(const void *state)
{
    const knn_state *s = state;
    return sizeof *s + an_nb_data_memory(&s->data) + (s->train_scores ? s->data.n * sizeof(double) : 0);
}

static void knn_describe(const void *state, an_strbuf *out)
{
    const knn_state *s = state;
    static const char *const methods[] = {"largest", "mean", "median"};
    if (!s->fitted) {
        an_strbuf_printf(out, "  not fitted\n");
        return;
    }
    an_strbuf_printf(out, "  training rows: %zu x %zu, k = %zu neighbours (%s distance), search: %s\n",
                     s->data.n, s->data.d, s->k, methods[s->method],
                     s->data.index.algorithm == AN_KNN_KD_TREE ? "kd_tree" : "brute");
    double lo = s->train_scores[0], hi = lo;
    for (size_t i = 1; i < s->data.n; i++) {
        lo = fmin(lo, s->train_scores[i]);
        hi = fmax(hi, s->train_scores[i]);
    }
    an_strbuf_printf(out, "  training scores: min %.6g, max %.6g\n", lo, hi);
}

const an_detector_vtable an_knn_detector = {
    .name = "knn",
    .summary = "distance to the k nearest training rows, PyOD's KNN (unsupervised, distance)",
    .params = knn_params,
    .n_params = sizeof knn_params / sizeof *knn_params,
    .flags = ANOMA_FLAG_COMPLETE_ROWS,
    .payload_version = 1,
    .create = knn_create,
    .destroy = knn_destroy,
    .fit = knn_fit,
    .scratch_bytes = knn_scratch_bytes,
    .score_row = knn_score_row,
    .score_batch = knn_score_batch,
    .training_scores = knn_training_scores,
    .save = knn_save,
    .load = knn_load,
    .memory_bytes = knn_memory_bytes,
    .describe = knn_describe,
};
