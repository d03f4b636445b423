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
 * Payload (version 2): the rows and k as neighbor_data.h writes them,
 * then the n training scores (f64, finite, >= 0). Version 1 had the
 * matrix inline (neighbor_data.h reads both). */
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
    an_nb_detector nb; /* n_neighbors, algorithm, k, the training rows */
    knn_method method;
    int fitted;
    double *train_scores;
} knn_state;

static const anoma_param_info knn_params[] = {
    {"n_neighbors", ANOMA_PARAM_INT, 1, 1000000, "5", "",
     "neighbours per row (k, PyOD's default 5); capped at the training rows - 1"},
    {"method", ANOMA_PARAM_CHOICE, 0, 0, "largest", "largest|mean|median",
     "score from the k distances: the largest (the k-th), their mean, or their median"},
    AN_KNN_ALGORITHM_PARAM,
    AN_NB_ROWS_PARAM,
};

static anoma_status knn_create(const an_params *params, void **out)
{
    knn_state *s = AN_NEW_ZEROED(knn_state, 1);
    if (!s)
        return an_no_memory();
    an_nb_init(&s->nb, "knn", params);
    s->method = (knn_method)an_params_choice(params, "method");
    *out = s;
    return ANOMA_OK;
}

static void clear(knn_state *s)
{
    an_nb_release(&s->nb);
    an_free(s->train_scores);
    s->train_scores = NULL;
    s->fitted = 0;
}

static void knn_share_rows(void *state, an_nb_table *table) { ((knn_state *)state)->nb.table = table; }

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
    size_t k = s->nb.k;
    if (s->method == KNN_LARGEST)
        return dist[k - 1];
    if (s->method == KNN_MEAN)
        return an_mean(dist, k);
    return an_median_sorted(dist, k);
}

/* Scores of rows of q, or with q NULL of the training rows themselves
 * (each leaving itself out), a block at a time. */
static anoma_status score_rows(const knn_state *s, const double *q, size_t rows,
                               size_t n_threads, double *scores)
{
    size_t block = rows < SCORE_BLOCK ? rows : SCORE_BLOCK, k = s->nb.k;
    double *dist = an_malloc_array(block ? block : 1, k * sizeof(double));
    size_t *index = an_malloc_array(block ? block : 1, k * sizeof(size_t));
    anoma_status st = dist && index ? ANOMA_OK : an_no_memory();
    for (size_t b = 0; b < rows && st == ANOMA_OK; b += block) {
        size_t m = rows - b < block ? rows - b : block;
        st = q ? an_knn_query(s->nb.index, q + b * s->nb.index->d, m, k, n_threads, dist, index)
               : an_knn_self_query(s->nb.index, b, m, k, n_threads, dist, index);
        for (size_t i = 0; i < m && st == ANOMA_OK; i++)
            scores[b + i] = combine(s, dist + i * k);
    }
    an_free(dist);
    an_free(index);
    return st;
}

static anoma_status knn_fit(void *state, const an_fit_data *data)
{
    knn_state *s = state;
    clear(s);
    AN_TRY(an_nb_fit(&s->nb, data));
    size_t n = an_nb_rows_count(&s->nb);
    s->train_scores = AN_NEW_ARRAY(double, n);
    anoma_status st = s->train_scores ? ANOMA_OK : an_no_memory();
    if (st == ANOMA_OK)
        st = score_rows(s, NULL, n, data->n_threads, s->train_scores);
    if (st == ANOMA_OK) /* the copy of the rows searched in place, after the lists are freed */
        st = an_nb_fit_done(&s->nb, data);
    if (st != ANOMA_OK)
        clear(s);
    else
        s->fitted = 1;
    return st;
}

static const double *knn_training_scores(const void *state, size_t *rows)
{
    const knn_state *s = state;
    *rows = s->fitted ? an_nb_rows_count(&s->nb) : 0;
    return s->fitted ? s->train_scores : NULL;
}

/* Scratch of the row path: the heap, then k distances and k indices. */
static size_t knn_scratch_bytes(const void *state)
{
    const knn_state *s = state;
    return an_knn_row_scratch_bytes(s->nb.index, s->nb.k) +
           s->nb.k * (sizeof(double) + sizeof(size_t));
}

static void knn_score_row(const void *state, const double *row, void *scratch, double *score)
{
    const knn_state *s = state;
    if (!an_nb_row_complete(row, s->nb.index->d)) {
        *score = NAN;
        return;
    }
    double *dist =
        (double *)((unsigned char *)scratch + an_knn_row_scratch_bytes(s->nb.index, s->nb.k));
    size_t *index = (size_t *)(dist + s->nb.k);
    an_knn_query_row(s->nb.index, row, s->nb.k, scratch, dist, index);
    *score = combine(s, dist);
}

static anoma_status knn_score_batch(const void *state, const double *x, size_t rows,
                                    size_t n_threads, double *scores)
{
    const knn_state *s = state;
    AN_TRY(an_nb_check_complete("knn: score", x, rows, s->nb.index->d));
    return score_rows(s, x, rows, n_threads, scores);
}

static anoma_status knn_save(const void *state, an_writer *w)
{
    const knn_state *s = state;
    if (!s->fitted)
        return an_error(ANOMA_ERR_NOT_FITTED, "knn: not fitted");
    an_nb_save(&s->nb, w);
    an_put_f64_array(w, s->train_scores, an_nb_rows_count(&s->nb));
    return an_writer_status(w);
}

static anoma_status knn_load(void *state, an_reader *r, size_t n_features, uint32_t version)
{
    knn_state *s = state;
    clear(s);
    AN_TRY(an_nb_load_values(&s->nb, r, n_features, version, 1, &s->train_scores));
    size_t n = an_nb_rows_count(&s->nb);
    for (size_t i = 0; !r->failed && i < n; i++)
        if (!(s->train_scores[i] >= 0) || !isfinite(s->train_scores[i]))
            an_reader_fail(r);
    if (r->failed) {
        clear(s);
        return an_reader_status(r);
    }
    s->fitted = 1;
    return ANOMA_OK;
}

static size_t knn_memory_bytes(const void *state)
{
    const knn_state *s = state;
    return sizeof *s + an_nb_memory(&s->nb) +
           (s->train_scores ? an_nb_rows_count(&s->nb) * sizeof(double) : 0);
}

static void knn_describe(const void *state, an_strbuf *out)
{
    const knn_state *s = state;
    static const char *const methods[] = {" (largest distance)", " (mean distance)",
                                          " (median distance)"};
    if (!s->fitted) {
        an_strbuf_printf(out, "  not fitted\n");
        return;
    }
    an_nb_describe(&s->nb, methods[s->method], out);
    size_t n = an_nb_rows_count(&s->nb);
    double lo = s->train_scores[0], hi = lo;
    for (size_t i = 1; i < n; i++) {
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
    .payload_version = 2,
    .create = knn_create,
    .destroy = knn_destroy,
    .fit = knn_fit,
    .scratch_bytes = knn_scratch_bytes,
    .score_row = knn_score_row,
    .score_batch = knn_score_batch,
    .training_scores = knn_training_scores,
    .save = knn_save,
    .load = knn_load,
    .share_rows = knn_share_rows,
    .memory_bytes = knn_memory_bytes,
    .describe = knn_describe,
};
