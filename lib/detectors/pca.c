/* pca: distance from the principal subspace of the training rows.
 *
 * Fit: scikit-learn's PCA(svd_solver="full") on the training rows
 * (features/pca_axes.c, the pipeline step's code): mean, axes by decreasing
 * variance, k kept by n_components (a count, or a fraction of the variance
 * to explain). Score of a row x, with y_c = c_c . (x - mean):
 *   method=reconstruction: |x - mean - sum_{c<k} y_c c_c|^2, the squared
 *     error of scikit-learn's inverse_transform(transform(x)); feature
 *     scores: the squared residual of each feature (they sum to the score);
 *   method=minor: sum_{c>=k} y_c^2 / variance_c, the squared standardised
 *     scores on the minor axes (Shyu et al. 2003), a variance below
 *     1e-12 times the largest counted as that floor; feature scores: the
 *     split of pca_feature_scores_row.
 * whiten is accepted for scikit-learn's parameter set: it rescales the
 * components but not the reconstruction, so no score depends on it.
 * User page: docs/detectors/pca.md.
 *
 * Payload (version 1): u8 method (0 reconstruction, 1 minor), u8 whiten,
 * u64 p, u64 k (kept), u64 a (axes stored: k for reconstruction, the minor
 * m - k for minor), f64 explained variance ratio of the k kept, mean (p
 * f64), a axes (a x p f64), their variances (a f64). */
#include "detectors/detector.h"
#include "detectors/neighbor_data.h"
#include "features/pca_axes.h"
#include "core/alloc.h"
#include "core/error.h"
#include "core/threads.h"

#include <float.h>
#include <math.h>
#include <string.h>

/* Smallest variance a minor axis is divided by, relative to the largest. */
#define VARIANCE_FLOOR 1e-12

typedef enum pca_score { PCA_RECONSTRUCTION = 0, PCA_MINOR = 1 } pca_score;

typedef struct pca_state {
    size_t want;     /* a count, 0 = a fraction */
    double fraction; /* in (0, 1), or 0 */
    int whiten;
    pca_score score;
    int fitted;
    size_t p, k, a;     /* features, axes kept, axes stored */
    double ratio;       /* explained variance ratio of the k kept */
    double *mean;       /* p */
    double *axes;       /* a x p */
    double *divisor;    /* a: variance (minor) or 1 */
} pca_state;

static const anoma_param_info pca_params[] = {
    {"n_components", ANOMA_PARAM_TEXT, 0, 0, "0.95", "",
     "principal axes kept: a count >= 1, or a fraction in (0, 1) of the variance to explain"},
    {"whiten", ANOMA_PARAM_BOOL, 0, 1, "false", "",
     "scikit-learn's whiten; the reconstruction, and so the score, does not depend on it"},
    {"method", ANOMA_PARAM_CHOICE, 0, 0, "reconstruction", "reconstruction|minor",
     "reconstruction: squared reconstruction error; minor: squared standardised scores on the "
     "axes not kept"},
};

static void clear(pca_state *s)
{
    an_free(s->mean);
    an_free(s->axes);
    an_free(s->divisor);
    s->mean = s->axes = s->divisor = NULL;
    s->fitted = 0;
    s->p = s->k = s->a = 0;
}

static void pca_destroy(void *state)
{
    pca_state *s = state;
    if (!s)
        return;
    clear(s);
    an_free(s);
}

static anoma_status pca_create(const an_params *params, void **out)
{
    const char *n = an_params_text(params, "n_components");
    double v;
    if (!an_parse_double(n, &v) || !(v > 0) || (v >= 1 && v != floor(v)) || v > 1e9)
        return an_error(ANOMA_ERR_PARAM_VALUE, "pca: n_components=%s: expected a count >= 1 "
                        "or a fraction in (0, 1)", n);
    pca_state *s = AN_NEW_ZEROED(pca_state, 1);
    if (!s)
        return an_no_memory();
    if (v < 1)
        s->fraction = v;
    else
        s->want = (size_t)v;
    s->whiten = an_params_bool(params, "whiten");
    s->score = (pca_score)an_params_choice(params, "method");
    *out = s;
    return ANOMA_OK;
}

static anoma_status alloc_fitted(pca_state *s, size_t p, size_t a)
{
    s->p = p;
    s->a = a;
    s->mean = AN_NEW_ARRAY(double, p);
    s->axes = an_malloc_array(a ? a : 1, p * sizeof(double));
    s->divisor = AN_NEW_ARRAY(double, a ? a : 1);
    return s->mean && s->axes && s->divisor ? ANOMA_OK : an_no_memory();
}

/* The divisors of the stored axes' scores, from their variances. */
static void set_divisors(pca_state *s, double largest)
{
    for (size_t c = 0; c < s->a; c++)
        s->divisor[c] = s->score == PCA_RECONSTRUCTION ? 1
                        : fmax(s->divisor[c], VARIANCE_FLOOR * largest);
}

static anoma_status pca_fit(void *state, const an_fit_data *data)
{
    pca_state *s = state;
    clear(s);
    size_t n = data->rows, p = data->cols;
    if (n < 2)
        return an_error(ANOMA_ERR_EMPTY, "pca: fit needs at least 2 rows, got n_samples = %zu", n);
    AN_TRY(an_nb_check_complete("pca: fit", data->x, n, p));
    size_t m = n < p ? n : p;
    if (s->want > m)
        return an_error(ANOMA_ERR_PARAM_VALUE, "pca: n_components=%zu is more than min(rows, "
                        "features) = %zu", s->want, m);
    if (n > (size_t)INT32_MAX || p > (size_t)INT32_MAX / (n > p ? 1 : n))
        return an_error(ANOMA_ERR_INVALID_ARGUMENT, "pca: %zu x %zu is too large for LAPACK", n,
                        p);
    double *x = an_malloc_array(n, p * sizeof(double));
    double *mean = AN_NEW_ZEROED(double, p);
    an_pca_axes axes = {0};
    anoma_status st = x && mean ? ANOMA_OK : an_no_memory();
    if (st == ANOMA_OK) {
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < p; j++)
                mean[j] += data->x[i * p + j];
        for (size_t j = 0; j < p; j++)
            mean[j] /= (double)n;
        for (size_t i = 0; i < n; i++) /* column-major, centred */
            for (size_t j = 0; j < p; j++)
                x[j * n + i] = data->x[i * p + j] - mean[j];
        st = an_pca_axes_fit(x, n, p, "pca", &axes);
    }
    if (st == ANOMA_OK) {
        size_t k = an_pca_axes_choose(&axes, s->want, s->fraction);
        size_t first = s->score == PCA_RECONSTRUCTION ? 0 : k;
        size_t count = s->score == PCA_RECONSTRUCTION ? k : m - k;
        st = alloc_fitted(s, p, count);
        if (st == ANOMA_OK) {
            s->k = k;
            s->ratio = 0;
            for (size_t c = 0; c < k; c++)
                s->ratio += axes.ratio[c];
            memcpy(s->mean, mean, p * sizeof(double));
            memcpy(s->axes, axes.components + first * p, count * p * sizeof(double));
            memcpy(s->divisor, axes.variance + first, count * sizeof(double));
            set_divisors(s, axes.variance[0]);
            s->fitted = 1;
        }
    }
    an_pca_axes_free(&axes);
    an_free(x);
    an_free(mean);
    if (st != ANOMA_OK)
        clear(s);
    return st;
}

/* Scratch: the centred row (p) and the stored axes' scores (a). */
static size_t pca_scratch_bytes(const void *state)
{
    const pca_state *s = state;
    return (s->p + s->a) * sizeof(double);
}

/* The residual of the reconstruction into r (p), given the centred row in r. */
static void residual(const pca_state *s, double *r, double *y)
{
    for (size_t c = 0; c < s->a; c++) {
        const double *v = s->axes + c * s->p;
        double sum = 0;
        for (size_t j = 0; j < s->p; j++)
            sum += r[j] * v[j];
        y[c] = sum;
    }
    for (size_t c = 0; c < s->a; c++) {
        const double *v = s->axes + c * s->p;
        for (size_t j = 0; j < s->p; j++)
            r[j] -= y[c] * v[j];
    }
}

static double score_centred(const pca_state *s, double *r, double *y)
{
    double sum = 0;
    if (s->score == PCA_RECONSTRUCTION) {
        residual(s, r, y);
        for (size_t j = 0; j < s->p; j++)
            sum += r[j] * r[j];
        return sum;
    }
    for (size_t c = 0; c < s->a; c++) {
        const double *v = s->axes + c * s->p;
        double dot = 0;
        for (size_t j = 0; j < s->p; j++)
            dot += r[j] * v[j];
        sum += dot * dot / s->divisor[c];
    }
    return sum;
}

/* The centred row into r; 0 when a value is missing. */
static int centre(const pca_state *s, const double *row, double *r)
{
    for (size_t j = 0; j < s->p; j++) {
        if (isnan(row[j]))
            return 0;
        r[j] = row[j] - s->mean[j];
    }
    return 1;
}

static void pca_score_row(const void *state, const double *row, void *scratch, double *score)
{
    const pca_state *s = state;
    double *r = scratch, *y = r + s->p;
    *score = centre(s, row, r) ? score_centred(s, r, y) : NAN;
}

/* Reconstruction: the squared residual of each feature. Minor: the score
 * sum_c y_c^2 / v_c split as sum_j r_j (sum_c a_cj y_c / v_c), r the
 * centred row, as the Mahalanobis distance splits (the values sum to the
 * score and can be negative). */
static void pca_feature_scores_row(const void *state, const double *row, void *scratch,
                                   double *out)
{
    const pca_state *s = state;
    double *r = scratch, *y = r + s->p;
    if (!centre(s, row, r)) {
        for (size_t j = 0; j < s->p; j++)
            out[j] = NAN;
        return;
    }
    if (s->score == PCA_RECONSTRUCTION) {
        residual(s, r, y);
        for (size_t j = 0; j < s->p; j++)
            out[j] = r[j] * r[j];
        return;
    }
    for (size_t c = 0; c < s->a; c++) {
        const double *v = s->axes + c * s->p;
        double dot = 0;
        for (size_t j = 0; j < s->p; j++)
            dot += r[j] * v[j];
        y[c] = dot / s->divisor[c];
    }
    for (size_t j = 0; j < s->p; j++) {
        double sum = 0;
        for (size_t c = 0; c < s->a; c++)
            sum += s->axes[c * s->p + j] * y[c];
        out[j] = r[j] * sum;
    }
}

typedef struct batch {
    const pca_state *s;
    const double *x;
    double *scores, *work; /* work: p + a doubles per chunk */
} batch;

static void score_range(void *ctx, size_t begin, size_t end, size_t worker)
{
    batch *b = ctx;
    const pca_state *s = b->s;
    double *work = b->work + worker * (s->p + s->a);
    for (size_t i = begin; i < end; i++)
        pca_score_row(s, b->x + i * s->p, work, b->scores + i);
}

/* Row by row as score_row, after refusing a missing value. */
static anoma_status pca_score_batch(const void *state, const double *x, size_t rows,
                                    size_t n_threads, double *scores)
{
    const pca_state *s = state;
    AN_TRY(an_nb_check_complete("pca: score", x, rows, s->p));
    size_t chunks = an_parallel_workers(rows, n_threads, 256);
    batch b = {s, x, scores, an_malloc_array(chunks ? chunks : 1, (s->p + s->a) * sizeof(double))};
    if (!b.work)
        return an_no_memory();
    an_parallel_for(rows, n_threads, 256, score_range, &b);
    an_free(b.work);
    return ANOMA_OK;
}

static anoma_status pca_save(const void *state, an_writer *w)
{
    const pca_state *s = state;
    if (!s->fitted)
        return an_error(ANOMA_ERR_NOT_FITTED, "pca: not fitted");
    an_put_u8(w, (uint8_t)s->score);
    an_put_u8(w, (uint8_t)s->whiten);
    an_put_u64(w, s->p);
    an_put_u64(w, s->k);
    an_put_u64(w, s->a);
    an_put_f64(w, s->ratio);
    an_put_f64_array(w, s->mean, s->p);
    an_put_f64_array(w, s->axes, s->a * s->p);
    an_put_f64_array(w, s->divisor, s->a); /* floored variances (minor), or 1s */
    return an_writer_status(w);
}

static anoma_status pca_load(void *state, an_reader *r, size_t n_features, uint32_t version)
{
    pca_state *s = state;
    (void)version; /* only version 1 exists */
    clear(s);
    uint8_t score = an_get_u8(r), whiten = an_get_u8(r);
    uint64_t p = an_get_u64(r), k = an_get_u64(r), a = an_get_u64(r);
    double ratio = an_get_f64(r);
    int minor = score == PCA_MINOR;
    if (r->failed || score > 1 || whiten > 1 || p != n_features || !p || k < 1 || k > p ||
        a != (minor ? a : k) || (minor && a > p - k) || !(ratio >= 0 && ratio <= 1 + 1e-9) ||
        !an_reader_can_hold(r, p, sizeof(double)) || /* then (a + 1) p + a cannot overflow */
        !an_reader_can_hold(r, (a + 1) * p + a, sizeof(double))) {
        an_reader_fail(r);
        return an_reader_status(r);
    }
    s->score = (pca_score)score;
    s->whiten = whiten;
    AN_TRY(alloc_fitted(s, (size_t)p, (size_t)a));
    s->k = (size_t)k;
    s->ratio = ratio;
    an_get_f64_array(r, s->mean, s->p);
    an_get_f64_array(r, s->axes, s->a * s->p);
    an_get_f64_array(r, s->divisor, s->a);
    for (size_t j = 0; !r->failed && j < s->p; j++)
        if (!isfinite(s->mean[j]))
            an_reader_fail(r);
    for (size_t j = 0; !r->failed && j < s->a * s->p; j++)
        if (!isfinite(s->axes[j]))
            an_reader_fail(r);
    for (size_t c = 0; !r->failed && c < s->a; c++)
        if (!(s->divisor[c] > 0) || !isfinite(s->divisor[c]) ||
            (!minor && s->divisor[c] != 1))
            an_reader_fail(r);
    anoma_status st = an_reader_status(r);
    if (st != ANOMA_OK) {
        clear(s);
        return st;
    }
    s->fitted = 1;
    return ANOMA_OK;
}

static size_t pca_memory_bytes(const void *state)
{
    const pca_state *s = state;
    return sizeof *s + (s->p + s->a * s->p + s->a) * sizeof(double);
}

static void pca_describe(const void *state, an_strbuf *out)
{
    const pca_state *s = state;
    if (!s->fitted) {
        an_strbuf_printf(out, "  not fitted\n");
        return;
    }
    an_strbuf_printf(out, "  %zu features, %zu principal axes kept (%.4g of the variance)%s\n",
                     s->p, s->k, s->ratio, s->whiten ? ", whiten" : "");
    if (s->score == PCA_RECONSTRUCTION)
        an_strbuf_printf(out, "  score: squared reconstruction error\n");
    else
        an_strbuf_printf(out, "  score: squared standardised scores on the %zu minor axes\n",
                         s->a);
}

const an_detector_vtable an_pca_detector = {
    .name = "pca",
    .summary = "squared reconstruction error from the principal axes, or squared standardised "
               "minor-axis scores (unsupervised)",
    .params = pca_params,
    .n_params = sizeof pca_params / sizeof *pca_params,
    .flags = ANOMA_FLAG_FEATURE_SCORES | ANOMA_FLAG_COMPLETE_ROWS,
    .payload_version = 1,
    .create = pca_create,
    .destroy = pca_destroy,
    .fit = pca_fit,
    .scratch_bytes = pca_scratch_bytes,
    .score_row = pca_score_row,
    .score_batch = pca_score_batch,
    .feature_scores_row = pca_feature_scores_row,
    .save = pca_save,
    .load = pca_load,
    .memory_bytes = pca_memory_bytes,
    .describe = pca_describe,
};
