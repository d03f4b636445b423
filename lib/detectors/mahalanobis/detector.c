/* The "mahalanobis" detector's vtable: see mahalanobis.h.
 *
 * Score of a row = (x - mean)^T C^-1 (x - mean), the squared Mahalanobis
 * distance, which is scikit-learn's EmpiricalCovariance().mahalanobis(x)
 * (and MinCovDet's with robust=true). Feature scores split it into
 * (x - mean)_j (C^-1 (x - mean))_j, which sum to the score and can be
 * negative. The detector has no threshold rule of its own.
 *
 * Payload (version 2): u64 d, u8 robust, u64 training rows, u64 raw
 * support, u64 support, then mean (d f64) and the covariance (d x d f64,
 * symmetric, without the ridge); load factors it again with the same rule.
 * Then u8 raw (1 when a raw estimate follows: a robust fit's raw location,
 * d f64, and raw covariance, d x d f64, which scoring does not use but
 * MinCovDet shows). Version 1 ends before that byte. */
#include "detectors/mahalanobis/mahalanobis.h"
#include "detectors/detector.h"
#include "detectors/neighbor_data.h"
#include "core/alloc.h"
#include "core/error.h"
#include "core/threads.h"

#include <math.h>
#include <string.h>

typedef struct mahalanobis_state {
    int robust;
    double support_fraction; /* 0 = auto */
    uint64_t seed;
    int fitted;
    size_t n_train, raw_support, support;
    an_ellipsoid e;
    double *raw_mean, *raw_cov; /* the robust raw estimate, or NULL */
    double raw_log_det; /* of raw_cov, by the ridge rule: -INFINITY = singular */
} mahalanobis_state;

static const anoma_param_info mahalanobis_params[] = {
    {"robust", ANOMA_PARAM_BOOL, 0, 1, "false", "",
     "robust covariance by FastMCD (scikit-learn's MinCovDet) instead of the empirical one"},
    {"support_fraction", ANOMA_PARAM_DOUBLE, 0, 1, "auto", "auto",
     "robust only: share of rows in the raw support; auto = (rows + features + 1) / 2 rows"},
    {"seed", ANOMA_PARAM_INT, 0, 9223372036854775807.0, "0", "",
     "robust only: seed of FastMCD's random subsets"},
};

static anoma_status mahalanobis_create(const an_params *params, void **out)
{
    double fraction = an_params_is(params, "support_fraction", "auto")
                          ? 0 : an_params_double(params, "support_fraction");
    if (!an_params_is(params, "support_fraction", "auto") && !(fraction > 0))
        return an_error(ANOMA_ERR_PARAM_VALUE, "mahalanobis: support_fraction=0: expected a "
                        "share in (0, 1] or auto");
    mahalanobis_state *s = AN_NEW_ZEROED(mahalanobis_state, 1);
    if (!s)
        return an_no_memory();
    s->robust = an_params_bool(params, "robust");
    s->support_fraction = fraction;
    s->seed = (uint64_t)an_params_int(params, "seed");
    *out = s;
    return ANOMA_OK;
}

static void clear(mahalanobis_state *s)
{
    an_ellipsoid_free(&s->e);
    an_free(s->raw_mean);
    an_free(s->raw_cov);
    s->raw_mean = s->raw_cov = NULL;
    s->fitted = 0;
}

static anoma_status alloc_raw(mahalanobis_state *s, size_t d)
{
    s->raw_mean = AN_NEW_ARRAY(double, d);
    s->raw_cov = an_malloc_array(d, d * sizeof(double));
    return s->raw_mean && s->raw_cov ? ANOMA_OK : an_no_memory();
}

/* s->raw_log_det from s->raw_cov, by the rule of the C-steps (a column
 * constant on the support counts as singular too): describe tells the
 * exact-fit situation, a raw support on a hyperplane. */
static anoma_status measure_raw(mahalanobis_state *s)
{
    an_ellipsoid raw;
    AN_TRY(an_ellipsoid_alloc(&raw, s->e.d));
    memcpy(raw.cov, s->raw_cov, s->e.d * s->e.d * sizeof(double));
    raw.skip_constant = 1;
    anoma_status st = an_ellipsoid_factor(&raw);
    s->raw_log_det = raw.log_det;
    an_ellipsoid_free(&raw);
    return st;
}

static void mahalanobis_destroy(void *state)
{
    mahalanobis_state *s = state;
    if (!s)
        return;
    clear(s);
    an_free(s);
}

/* Rows of the raw support: scikit-learn's n_support. */
static anoma_status support_rows(const mahalanobis_state *s, size_t n, size_t d, size_t *h)
{
    if (!s->support_fraction) {
        *h = (n + d + 2) / 2; /* ceil((n + d + 1) / 2) */
        *h = *h < n ? *h : n;
        return ANOMA_OK;
    }
    *h = (size_t)(s->support_fraction * (double)n);
    if (*h < 1)
        return an_error(ANOMA_ERR_PARAM_VALUE, "mahalanobis: support_fraction=%g keeps no row "
                        "of the %zu training rows", s->support_fraction, n);
    return ANOMA_OK;
}

static anoma_status mahalanobis_fit(void *state, const an_fit_data *data)
{
    mahalanobis_state *s = state;
    clear(s);
    size_t n = data->rows, d = data->cols;
    if (n < 2)
        return an_error(ANOMA_ERR_EMPTY, "mahalanobis: fit needs at least 2 rows, got "
                        "n_samples = %zu", n);
    AN_TRY(an_nb_check_complete("mahalanobis: fit", data->x, n, d));
    size_t h = n;
    if (s->robust)
        AN_TRY(support_rows(s, n, d, &h));
    anoma_status st = an_ellipsoid_alloc(&s->e, d);
    if (st == ANOMA_OK && s->robust) {
        st = alloc_raw(s, d);
        if (st == ANOMA_OK)
            st = an_mcd_fit(&s->e, data->x, n, h, s->seed, s->raw_mean, s->raw_cov,
                            &s->raw_support, &s->support);
        if (st == ANOMA_OK)
            st = measure_raw(s);
    } else if (st == ANOMA_OK) {
        double *work = an_malloc_array(n < AN_ELLIPSOID_BLOCK ? n : AN_ELLIPSOID_BLOCK,
                                       d * sizeof(double));
        st = work ? an_ellipsoid_estimate(&s->e, data->x, NULL, n, work) : an_no_memory();
        an_free(work);
        s->raw_support = s->support = n;
    }
    if (st != ANOMA_OK) {
        clear(s);
        return st;
    }
    s->n_train = n;
    s->fitted = 1;
    return ANOMA_OK;
}

static size_t mahalanobis_scratch_bytes(const void *state)
{
    const mahalanobis_state *s = state;
    return s->e.d * sizeof(double);
}

static int has_missing(const double *row, size_t d)
{
    for (size_t j = 0; j < d; j++)
        if (isnan(row[j]))
            return 1;
    return 0;
}

static void mahalanobis_score_row(const void *state, const double *row, void *scratch,
                                  double *score)
{
    const mahalanobis_state *s = state;
    *score = has_missing(row, s->e.d) ? NAN : an_ellipsoid_distance(&s->e, row, scratch);
}

typedef struct batch {
    const mahalanobis_state *s;
    const double *x;
    double *scores, *work; /* work: d doubles per chunk */
} batch;

static void score_range(void *ctx, size_t begin, size_t end, size_t worker)
{
    batch *b = ctx;
    size_t d = b->s->e.d;
    for (size_t i = begin; i < end; i++)
        b->scores[i] = an_ellipsoid_distance(&b->s->e, b->x + i * d, b->work + worker * d);
}

/* Row by row as score_row (the same values), after refusing a missing
 * value as the flag ANOMA_FLAG_COMPLETE_ROWS promises. */
static anoma_status mahalanobis_score_batch(const void *state, const double *x, size_t rows,
                                            size_t n_threads, double *scores)
{
    const mahalanobis_state *s = state;
    AN_TRY(an_nb_check_complete("mahalanobis: score", x, rows, s->e.d));
    size_t chunks = an_parallel_workers(rows, n_threads, 256);
    batch b = {s, x, scores, an_malloc_array(chunks ? chunks : 1, s->e.d * sizeof(double))};
    if (!b.work)
        return an_no_memory();
    an_parallel_for(rows, n_threads, 256, score_range, &b);
    an_free(b.work);
    return ANOMA_OK;
}

static void mahalanobis_feature_scores_row(const void *state, const double *row, void *scratch,
                                           double *out)
{
    const mahalanobis_state *s = state;
    if (has_missing(row, s->e.d)) {
        for (size_t j = 0; j < s->e.d; j++)
            out[j] = NAN;
        return;
    }
    an_ellipsoid_contributions(&s->e, row, scratch, out);
}

static anoma_status mahalanobis_save(const void *state, an_writer *w)
{
    const mahalanobis_state *s = state;
    if (!s->fitted)
        return an_error(ANOMA_ERR_NOT_FITTED, "mahalanobis: not fitted");
    size_t d = s->e.d;
    an_put_u64(w, d);
    an_put_u8(w, (uint8_t)s->robust);
    an_put_u64(w, s->n_train);
    an_put_u64(w, s->raw_support);
    an_put_u64(w, s->support);
    an_put_f64_array(w, s->e.mean, d);
    an_put_f64_array(w, s->e.cov, d * d);
    an_put_u8(w, s->raw_mean != NULL);
    if (s->raw_mean) {
        an_put_f64_array(w, s->raw_mean, d);
        an_put_f64_array(w, s->raw_cov, d * d);
    }
    return an_writer_status(w);
}

/* Whether a loaded location and covariance can be a fitted Gaussian's. */
static int plausible(const double *mean, const double *cov, size_t d)
{
    for (size_t i = 0; i < d; i++) {
        if (!isfinite(mean[i]) || !(cov[i * d + i] >= 0))
            return 0;
        for (size_t j = 0; j < d; j++)
            if (!isfinite(cov[i * d + j]) || cov[i * d + j] != cov[j * d + i])
                return 0;
    }
    return 1;
}

/* Version 2's raw estimate, after the covariance: only a robust fit has
 * one. */
static anoma_status load_raw(mahalanobis_state *s, an_reader *r, int robust)
{
    size_t d = s->e.d;
    uint8_t raw = an_get_u8(r);
    if (r->failed || raw > robust || (raw && !an_reader_can_hold(r, d + 1, d * sizeof(double)))) {
        an_reader_fail(r);
        return an_reader_status(r);
    }
    if (!raw)
        return ANOMA_OK;
    AN_TRY(alloc_raw(s, d));
    an_get_f64_array(r, s->raw_mean, d);
    an_get_f64_array(r, s->raw_cov, d * d);
    AN_TRY(an_reader_status(r));
    anoma_status st = plausible(s->raw_mean, s->raw_cov, d) ? measure_raw(s) : ANOMA_ERR_FORMAT;
    if (st == ANOMA_ERR_FORMAT || st == ANOMA_ERR_INTERNAL || st == ANOMA_ERR_NONFINITE)
        st = an_error(ANOMA_ERR_FORMAT, "model file: mahalanobis: the raw covariance is not "
                      "finite, symmetric and positive semi-definite, or the raw location is "
                      "not finite");
    return st;
}

static anoma_status mahalanobis_load(void *state, an_reader *r, size_t n_features,
                                     uint32_t version)
{
    mahalanobis_state *s = state;
    clear(s);
    uint64_t d = an_get_u64(r);
    uint8_t robust = an_get_u8(r);
    uint64_t n = an_get_u64(r), raw = an_get_u64(r), support = an_get_u64(r);
    if (r->failed || d != n_features || !d || robust > 1 || raw > n || support > n ||
        !an_reader_can_hold(r, d + 1, d * sizeof(double))) {
        an_reader_fail(r);
        return an_reader_status(r);
    }
    AN_TRY(an_ellipsoid_alloc(&s->e, (size_t)d));
    an_get_f64_array(r, s->e.mean, (size_t)d);
    an_get_f64_array(r, s->e.cov, (size_t)(d * d));
    anoma_status st = an_reader_status(r);
    if (st == ANOMA_OK && !plausible(s->e.mean, s->e.cov, (size_t)d))
        st = an_error(ANOMA_ERR_FORMAT, "model file: mahalanobis: the location or covariance "
                      "is not finite, or the covariance is not symmetric with a non-negative "
                      "diagonal");
    if (st == ANOMA_OK)
        st = an_ellipsoid_factor(&s->e);
    if (st == ANOMA_ERR_INTERNAL || st == ANOMA_ERR_NONFINITE) /* not out of memory */
        st = an_error(ANOMA_ERR_FORMAT, "model file: mahalanobis: the covariance is not "
                      "positive semi-definite");
    if (st == ANOMA_OK && version >= 2)
        st = load_raw(s, r, robust);
    if (st != ANOMA_OK) {
        clear(s);
        return st;
    }
    s->robust = robust;
    s->n_train = (size_t)n;
    s->raw_support = (size_t)raw;
    s->support = (size_t)support;
    s->fitted = 1;
    return ANOMA_OK;
}

static size_t mahalanobis_memory_bytes(const void *state)
{
    const mahalanobis_state *s = state;
    size_t d = s->e.d, raw = s->raw_mean ? d + d * d : 0;
    return sizeof *s + (2 * d + 2 * d * d + raw) * sizeof(double);
}

static void mahalanobis_describe(const void *state, an_strbuf *out)
{
    const mahalanobis_state *s = state;
    if (!s->fitted) {
        an_strbuf_printf(out, "  not fitted\n");
        return;
    }
    if (!s->robust)
        an_strbuf_printf(out, "  empirical covariance of %zu features from %zu rows\n", s->e.d,
                         s->n_train);
    else
        an_strbuf_printf(out, "  robust covariance (FastMCD) of %zu features: raw support %zu "
                         "of %zu rows, reweighted support %zu rows\n", s->e.d, s->raw_support,
                         s->n_train, s->support);
    if (s->raw_mean && s->raw_log_det == -INFINITY)
        an_strbuf_printf(out, "  raw support covariance singular: the raw support lies on a "
                         "hyperplane (exact fit); rows off it score very high\n");
    else if (s->raw_mean)
        an_strbuf_printf(out, "  log-determinant of the raw support covariance: %.6g\n",
                         s->raw_log_det);
    if (s->e.ridge > 0)
        an_strbuf_printf(out, "  singular covariance: ridge %g added to the correlation "
                         "diagonal\n", s->e.ridge);
    else
        an_strbuf_printf(out, "  log-determinant of the covariance: %.6g\n", s->e.log_det);
}

const an_detector_vtable an_mahalanobis_detector = {
    .name = "mahalanobis",
    .summary = "squared Mahalanobis distance from the empirical or robust (FastMCD) covariance "
               "(unsupervised)",
    .params = mahalanobis_params,
    .n_params = sizeof mahalanobis_params / sizeof *mahalanobis_params,
    .flags = ANOMA_FLAG_FEATURE_SCORES | ANOMA_FLAG_COMPLETE_ROWS,
    .payload_version = 2,
    .create = mahalanobis_create,
    .destroy = mahalanobis_destroy,
    .fit = mahalanobis_fit,
    .scratch_bytes = mahalanobis_scratch_bytes,
    .score_row = mahalanobis_score_row,
    .score_batch = mahalanobis_score_batch,
    .feature_scores_row = mahalanobis_feature_scores_row,
    .save = mahalanobis_save,
    .load = mahalanobis_load,
    .memory_bytes = mahalanobis_memory_bytes,
    .describe = mahalanobis_describe,
};
