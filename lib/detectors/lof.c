/* lof: the Local Outlier Factor of Breunig, Kriegel, Ng and Sander (2000),
 * with scikit-learn 1.2's arithmetic (sklearn/neighbors/_lof.py).
 *
 * Fit, on n >= 2 complete training rows, with k = max(1, min(n_neighbors,
 * n - 1)):
 *   N(i)     the k nearest training rows of row i, leaving i itself out
 *            (its duplicates count), ties by lower index (lib/neighbors);
 *   kdist(i) the distance to the k-th of them;
 *   lrd(i)   = 1 / (mean over o in N(i) of max(d(i, o), kdist(o)) + 1e-10);
 *   score(i) = mean over o in N(i) of lrd(o) / lrd(i).
 * score(i) is scikit-learn's -negative_outlier_factor_: "outlier mode".
 * Scoring a row x ("novelty mode") takes N(x) among the training rows,
 * nothing left out, and the same two formulas with lrd(x) from N(x): it is
 * scikit-learn's -score_samples(x). Higher = more anomalous; about 1 inside
 * a cluster.
 *
 * What anoma_model_score(X_train) means: novelty mode, as for any other
 * rows, since a score is a function of the row alone (a training row finds
 * itself at distance 0). The outlier-mode scores of the training rows are a
 * product of fit, kept in the state and the payload and read through the
 * vtable's training_scores; the model takes its contamination threshold
 * from them, as scikit-learn takes offset_ from negative_outlier_factor_.
 * docs/detectors/lof.md says this for users.
 *
 * keep_rows=false (scikit-learn's novelty=False, which the Python
 * LocalOutlierFactor passes): outlier mode only. Fit searches the
 * caller's matrix in place instead of copying it (neighbor_data.h), and
 * the fitted state holds k, n, kdist, lrd and the training scores, no
 * rows: the model's threshold and probability come from the training
 * scores, and scoring rows is refused (cannot_score, score_batch) with
 * ANOMA_ERR_UNSUPPORTED. Why a parameter and not a second detector: the
 * arithmetic and the payload are the same; only what is kept differs.
 *
 * rows=borrow (with keep_rows): the model references the caller's matrix
 * instead of copying it, as scikit-learn's _fit_X does; the caller
 * promises it outlives the model unchanged, and fit refuses it where the
 * detector sees a copy the model frees (neighbor_data.h). The default
 * rows=copy searches the caller's rows too and copies them only once the
 * neighbour lists are freed (an_nb_fit_done): the peak holds one or the
 * other. The saved payload is the same either way.
 *
 * Payload (version 3): the rows (or, keep_rows=false, their count) and
 * k as neighbor_data.h writes them, then n f64 each of kdist, lrd and
 * the training scores. Version 3 added the rows field's "none kept";
 * version 1 had the matrix inline (neighbor_data.h reads all three).
 * Missing values are
 * refused at fit and in batch scoring (naming row and column); the row
 * path, which cannot fail, gives NaN for a row with a missing value. */
#include "detectors/neighbor_data.h"
#include "core/alloc.h"
#include "core/error.h"
#include "core/stats.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

/* scikit-learn's guard against a zero mean reachability distance (a row
 * with more than k duplicates): the lrd is then 1e10, not infinite. */
#define LRD_GUARD 1e-10

/* Rows scored per batch step: bounds the neighbour lists held at once. */
enum { SCORE_BLOCK = 16384 };

/* Training rows searched per fit step. Fit keeps every row's k distances
 * (lrd needs them after every kdist is known) and k neighbours as 32-bit
 * indices; the engine answers in size_t, so a block of FIT_BLOCK x k of
 * them is the only 64-bit list held: 4096 x 20 is 640 KiB, against
 * 3.2 MiB for 20000 rows at once, and still 16 query blocks of the brute
 * search to share among threads. */
enum { FIT_BLOCK = 4096 };

typedef struct lof_state {
    an_nb_detector nb; /* n_neighbors, algorithm, k, the training rows (none: keep_rows=false) */
    int fitted;
    double *kdist, *lrd, *train_scores; /* one allocation of 3 n */
} lof_state;

static const anoma_param_info lof_params[] = {
    {"n_neighbors", ANOMA_PARAM_INT, 1, 1000000, "20", "",
     "neighbours per row (k); capped at the training rows - 1, as scikit-learn does"},
    AN_KNN_ALGORITHM_PARAM,
    {"keep_rows", ANOMA_PARAM_BOOL, 0, 0, "true", "",
     "false: keep no copy of the training rows, only their LOF (outlier mode, scikit-learn's "
     "novelty=False); the model then cannot score rows"},
    AN_NB_ROWS_PARAM,
};

static anoma_status lof_create(const an_params *params, void **out)
{
    lof_state *s = AN_NEW_ZEROED(lof_state, 1);
    if (!s)
        return an_no_memory();
    an_nb_init(&s->nb, "lof", params);
    s->nb.keep_rows = an_params_bool(params, "keep_rows");
    *out = s;
    return ANOMA_OK;
}

static void clear(lof_state *s)
{
    an_nb_release(&s->nb);
    an_free(s->kdist);
    s->kdist = s->lrd = s->train_scores = NULL;
    s->fitted = 0;
}

static void lof_share_rows(void *state, an_nb_table *table) { ((lof_state *)state)->nb.table = table; }

static void lof_destroy(void *state)
{
    lof_state *s = state;
    if (!s)
        return;
    clear(s);
    an_free(s);
}

static anoma_status alloc_arrays(lof_state *s, size_t n)
{
    s->kdist = an_malloc_array(n, 3 * sizeof(double));
    if (!s->kdist)
        return an_no_memory();
    s->lrd = s->kdist + n;
    s->train_scores = s->lrd + n;
    return ANOMA_OK;
}

/* The two formulas, for a row with neighbours (dist ascending, index):
 *   local_density: lrd from the k reachability distances (reach: k doubles
 *   of work space; numpy's mean over the row: pairwise sum / k);
 *   factor: mean over the neighbours of lrd(o) / lrd_row, -(scikit-learn's
 *   score_samples).
 * Written once for the engine's size_t indices (scoring) and fit's 32-bit
 * ones (_fit): the same arithmetic, bit for bit. */
#define LOF_FORMULAS(suffix, index_t)                                                       \
    static double local_density##suffix(const lof_state *s, const double *dist,            \
                                        const index_t *index, double *reach)               \
    {                                                                                       \
        for (size_t j = 0; j < s->nb.k; j++) {                                              \
            double kd = s->kdist[index[j]];                                                 \
            reach[j] = dist[j] > kd ? dist[j] : kd;                                         \
        }                                                                                   \
        return 1.0 / (an_mean(reach, s->nb.k) + LRD_GUARD);                                 \
    }                                                                                       \
    static double factor##suffix(const lof_state *s, const index_t *index, double lrd_row, \
                                 double *ratio)                                             \
    {                                                                                       \
        for (size_t j = 0; j < s->nb.k; j++)                                                \
            ratio[j] = s->lrd[index[j]] / lrd_row;                                          \
        return an_mean(ratio, s->nb.k);                                                     \
    }
LOF_FORMULAS(, size_t)
LOF_FORMULAS(_fit, uint32_t)

/* Every training row's k neighbours, leaving the row out: distances into
 * dist (n x k), indices into *index (n x k, 32-bit, new, the caller's to
 * an_free), FIT_BLOCK rows at a time through a block of the engine's size_t
 * indices. The KD-tree is the exception: it groups the queries of a
 * self-query by leaf only when it has every row at once (its own order),
 * and blocks of row numbers made shuttle's fit 1.36 -> 1.85 CPU s; it
 * takes all n rows in one size_t list, narrowed in place afterwards. */
static anoma_status self_neighbours(const lof_state *s, size_t n_threads, double *dist,
                                    uint32_t **index)
{
    size_t n = an_nb_rows_count(&s->nb), k = s->nb.k;
    *index = NULL;
    if (s->nb.index->algorithm == AN_KNN_KD_TREE) {
        size_t *wide = an_malloc_array(n, k * sizeof(size_t));
        if (!wide)
            return an_no_memory();
        anoma_status st = an_knn_self_query(s->nb.index, 0, n, k, n_threads, dist, wide);
        if (st != ANOMA_OK) {
            an_free(wide);
            return st;
        }
        /* element i moves to bytes [4i, 4i + 4), never past the unread 8i */
        for (size_t i = 0; i < n * k; i++) {
            uint32_t v = (uint32_t)wide[i];
            memcpy((unsigned char *)wide + i * sizeof v, &v, sizeof v);
        }
        uint32_t *narrow = an_realloc_array(wide, n, k * sizeof(uint32_t));
        *index = narrow ? narrow : (uint32_t *)(void *)wide; /* a failed shrink keeps it all */
        return ANOMA_OK;
    }
    uint32_t *out = an_malloc_array(n, k * sizeof(uint32_t));
    size_t block = n < FIT_BLOCK ? n : FIT_BLOCK;
    size_t *wide = an_malloc_array(block, k * sizeof(size_t));
    anoma_status st = out && wide ? ANOMA_OK : an_no_memory();
    for (size_t b = 0; b < n && st == ANOMA_OK; b += block) {
        size_t m = n - b < block ? n - b : block;
        st = an_knn_self_query(s->nb.index, b, m, k, n_threads, dist + b * k, wide);
        for (size_t i = 0; i < m * k && st == ANOMA_OK; i++)
            out[b * k + i] = (uint32_t)wide[i];
    }
    an_free(wide);
    if (st != ANOMA_OK)
        an_free(out);
    else
        *index = out;
    return st;
}

static anoma_status lof_fit(void *state, const an_fit_data *data)
{
    lof_state *s = state;
    clear(s);
    if (data->rows > UINT32_MAX) /* fit's neighbour lists are 32-bit */
        return an_error(ANOMA_ERR_SHAPE, "lof: fit takes at most %lu rows, got %zu",
                        (unsigned long)UINT32_MAX, data->rows);
    AN_TRY(an_nb_fit(&s->nb, data));
    size_t n = an_nb_rows_count(&s->nb), k = s->nb.k;
    double *dist = an_malloc_array(n, k * sizeof(double));
    uint32_t *index = NULL;
    double *work = AN_NEW_ARRAY(double, k);
    anoma_status st = dist && work ? alloc_arrays(s, n) : an_no_memory();
    if (st == ANOMA_OK)
        st = self_neighbours(s, data->n_threads, dist, &index);
    if (st == ANOMA_OK) {
        for (size_t i = 0; i < n; i++)
            s->kdist[i] = dist[i * k + k - 1];
        for (size_t i = 0; i < n; i++)
            s->lrd[i] = local_density_fit(s, dist + i * k, index + i * k, work);
        for (size_t i = 0; i < n; i++)
            s->train_scores[i] = factor_fit(s, index + i * k, s->lrd[i], work);
        s->fitted = 1;
    }
    an_free(dist);
    an_free(index);
    an_free(work);
    /* only now, with the lists freed, the model's copy of the rows (or,
     * keep_rows=false, the caller's rows let go of) */
    if (st == ANOMA_OK)
        st = an_nb_fit_done(&s->nb, data);
    if (st != ANOMA_OK)
        clear(s);
    return st;
}

static const double *lof_training_scores(const void *state, size_t *rows)
{
    const lof_state *s = state;
    *rows = s->fitted ? an_nb_rows_count(&s->nb) : 0;
    return s->fitted ? s->train_scores : NULL;
}

static const char *lof_cannot_score(const void *state)
{
    const lof_state *s = state;
    return s->fitted && !s->nb.rows
               ? "was fitted with keep_rows=false: it keeps only the training rows' own scores "
                 "(anoma_model_training_scores; in Python negative_outlier_factor_), no rows to "
                 "search; fit with keep_rows=true (Python: novelty=True) to score new rows"
               : NULL;
}

/* Scratch of the row path: the heap, then distances, indices, work. */
static size_t lof_scratch_bytes(const void *state)
{
    const lof_state *s = state;
    return an_knn_row_scratch_bytes(s->nb.index, s->nb.k) +
           s->nb.k * (2 * sizeof(double) + sizeof(size_t));
}

static void lof_score_row(const void *state, const double *row, void *scratch, double *score)
{
    const lof_state *s = state;
    size_t k = s->nb.k;
    if (!s->nb.index || !an_nb_row_complete(row, s->nb.index->d)) { /* no rows: refused earlier */
        *score = NAN;
        return;
    }
    unsigned char *p = scratch;
    double *dist = (double *)(p + an_knn_row_scratch_bytes(s->nb.index, k));
    double *work = dist + k;
    size_t *index = (size_t *)(work + k);
    an_knn_query_row(s->nb.index, row, k, scratch, dist, index);
    *score = factor(s, index, local_density(s, dist, index, work), work);
}

static anoma_status lof_score_batch(const void *state, const double *x, size_t rows,
                                    size_t n_threads, double *scores)
{
    const lof_state *s = state;
    const char *why = lof_cannot_score(s);
    if (why)
        return an_error(ANOMA_ERR_UNSUPPORTED, "lof: score: the detector %s", why);
    size_t d = s->nb.index->d, k = s->nb.k;
    AN_TRY(an_nb_check_complete("lof: score", x, rows, d));
    size_t block = rows < SCORE_BLOCK ? rows : SCORE_BLOCK;
    double *dist = an_malloc_array(block ? block : 1, k * sizeof(double));
    size_t *index = an_malloc_array(block ? block : 1, k * sizeof(size_t));
    double *work = AN_NEW_ARRAY(double, k);
    anoma_status st = dist && index && work ? ANOMA_OK : an_no_memory();
    for (size_t b = 0; b < rows && st == ANOMA_OK; b += block) {
        size_t m = rows - b < block ? rows - b : block;
        st = an_knn_query(s->nb.index, x + b * d, m, k, n_threads, dist, index);
        for (size_t i = 0; i < m && st == ANOMA_OK; i++) {
            const double *di = dist + i * k;
            const size_t *ii = index + i * k;
            scores[b + i] = factor(s, ii, local_density(s, di, ii, work), work);
        }
    }
    an_free(dist);
    an_free(index);
    an_free(work);
    return st;
}

static anoma_status lof_save(const void *state, an_writer *w)
{
    const lof_state *s = state;
    if (!s->fitted)
        return an_error(ANOMA_ERR_NOT_FITTED, "lof: not fitted");
    an_nb_save(&s->nb, w);
    an_put_f64_array(w, s->kdist, 3 * an_nb_rows_count(&s->nb));
    return an_writer_status(w);
}

static anoma_status lof_load(void *state, an_reader *r, size_t n_features, uint32_t version)
{
    lof_state *s = state;
    clear(s);
    AN_TRY(an_nb_load_values(&s->nb, r, n_features, version, 3, &s->kdist));
    size_t n = an_nb_rows_count(&s->nb);
    s->lrd = s->kdist + n;
    s->train_scores = s->lrd + n;
    /* kdist >= 0, lrd in (0, 1e10], scores finite: what fit gives */
    for (size_t i = 0; !r->failed && i < n; i++)
        if (!(s->kdist[i] >= 0) || !isfinite(s->kdist[i]) || !(s->lrd[i] > 0) ||
            !(s->lrd[i] <= 1 / LRD_GUARD) || !isfinite(s->train_scores[i]))
            an_reader_fail(r);
    if (r->failed) {
        clear(s);
        return an_reader_status(r);
    }
    s->fitted = 1;
    return ANOMA_OK;
}

static size_t lof_memory_bytes(const void *state)
{
    const lof_state *s = state;
    return sizeof *s + an_nb_memory(&s->nb) +
           (s->kdist ? 3 * an_nb_rows_count(&s->nb) * sizeof(double) : 0);
}

static void lof_describe(const void *state, an_strbuf *out)
{
    const lof_state *s = state;
    if (!s->fitted) {
        an_strbuf_printf(out, "  not fitted\n");
        return;
    }
    an_nb_describe(&s->nb, "", out);
    double lo = s->train_scores[0], hi = lo;
    size_t above = 0;
    for (size_t i = 0; i < an_nb_rows_count(&s->nb); i++) {
        lo = fmin(lo, s->train_scores[i]);
        hi = fmax(hi, s->train_scores[i]);
        above += s->train_scores[i] > 1.5;
    }
    an_strbuf_printf(out, "  training LOF: min %.4g, max %.4g, %zu rows above 1.5\n", lo, hi,
                     above);
}

/* scikit-learn's contamination="auto": offset_ = -1.5, a row is an outlier
 * when its LOF is above 1.5 (its density under two thirds of its
 * neighbours'). */
static anoma_status lof_auto_threshold(const an_params *params, double *threshold)
{
    (void)params;
    *threshold = 1.5;
    return ANOMA_OK;
}

const an_detector_vtable an_lof_detector = {
    .name = "lof",
    .summary = "local outlier factor, Breunig et al. (unsupervised, density)",
    .params = lof_params,
    .n_params = sizeof lof_params / sizeof *lof_params,
    .flags = ANOMA_FLAG_COMPLETE_ROWS,
    .payload_version = 3,
    .create = lof_create,
    .destroy = lof_destroy,
    .fit = lof_fit,
    .scratch_bytes = lof_scratch_bytes,
    .score_row = lof_score_row,
    .score_batch = lof_score_batch,
    .training_scores = lof_training_scores,
    .cannot_score = lof_cannot_score,
    .save = lof_save,
    .load = lof_load,
    .share_rows = lof_share_rows,
    .memory_bytes = lof_memory_bytes,
    .describe = lof_describe,
    .auto_threshold = lof_auto_threshold,
};
