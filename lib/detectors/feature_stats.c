/* The shared shape of the statistical detectors: per-feature box and scale,
 * the feature score, the combination across features, fit, save and load.
 * See feature_stats.h for the model and docs/detectors/statistical.md for
 * the definitions each detector fills in.
 *
 * Fitting ignores NaN (missing) values per feature; a feature with no
 * non-missing value is an ANOMA_ERR_EMPTY error naming the column. Labels
 * and weights are ignored. Features are fitted in parallel: each worker
 * gathers one column at a time into its own buffer of `rows` doubles. */
#include "detectors/feature_stats.h"
#include "core/alloc.h"
#include "core/error.h"
#include "core/threads.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- state ---- */

anoma_status an_fs_create(const an_fs_kind *kind, size_t state_size, const an_params *params,
                          void **state)
{
    an_fs_state *s = an_calloc(1, state_size);
    if (!s)
        return an_no_memory();
    s->kind = kind;
    s->state_size = state_size;
    s->combine = (an_fs_combine)an_params_choice(params, "combine");
    *state = s;
    return ANOMA_OK;
}

static size_t n_arrays(const an_fs_state *s) { return s->kind->box ? 3 : 2; }

/* Point lower/upper/scale into one block of arrays, taking ownership. */
static void set_arrays(an_fs_state *s, double *block, size_t n_features)
{
    an_free(s->lower);
    s->n_features = n_features;
    s->lower = block;
    s->upper = s->kind->box ? block + n_features : block;
    s->scale = block + (n_arrays(s) - 1) * n_features;
}

void an_fs_destroy(void *state)
{
    an_fs_state *s = state;
    if (!s)
        return;
    an_free(s->lower);
    an_free(s);
}

size_t an_fs_memory_bytes(const void *state)
{
    const an_fs_state *s = state;
    return s->state_size + n_arrays(s) * s->n_features * sizeof(double);
}

/* ---- fit ---- */

enum { FIT_OK = 0, FIT_EMPTY, FIT_OVERFLOW };

typedef struct fit_job {
    const an_fs_state *s;
    const an_fit_data *data;
    double *buffers;      /* data->rows doubles per worker */
    double *lower, *upper, *scale;
    unsigned char *status; /* per feature: FIT_* */
} fit_job;

static void fit_range(void *ctx, size_t begin, size_t end, size_t worker)
{
    fit_job *job = ctx;
    const double *x = job->data->x;
    size_t rows = job->data->rows, cols = job->data->cols;
    double *values = job->buffers + worker * rows;
    for (size_t j = begin; j < end; j++) {
        size_t n = 0;
        for (size_t i = 0; i < rows; i++) {
            double v = x[i * cols + j];
            if (!isnan(v))
                values[n++] = v;
        }
        if (!n) {
            job->status[j] = FIT_EMPTY;
            continue;
        }
        an_fs_stat st = job->s->kind->fit_feature(job->s, values, n);
        if (st.scale == 0) /* no spread: the distance itself is the score */
            st.scale = 1;
        if (!job->s->kind->box)
            st.upper = st.lower;
        job->lower[j] = st.lower;
        job->upper[j] = st.upper; /* the same array as lower for a point centre */
        job->scale[j] = st.scale;
        /* What load would reject, fit must not produce. */
        job->status[j] = isfinite(st.lower) && isfinite(st.upper) && isfinite(st.scale) &&
                                 st.scale > 0 && st.lower <= st.upper
                             ? FIT_OK
                             : FIT_OVERFLOW;
    }
}

anoma_status an_fs_fit(void *state, const an_fit_data *data)
{
    an_fs_state *s = state;
    const char *name = s->kind->name;
    if (!data->cols)
        return an_error(ANOMA_ERR_EMPTY, "%s: the training data has no columns", name);
    /* Threads pay off only with enough values per worker. */
    size_t min_chunk = data->rows ? ((size_t)1 << 15) / data->rows + 1 : data->cols;
    size_t workers = an_parallel_workers(data->cols, data->n_threads, min_chunk);
    size_t cols = data->cols, k = n_arrays(s);

    double *block = an_malloc_array(cols, k * sizeof(double));
    double *buffers = an_malloc_array(workers, data->rows * sizeof(double));
    unsigned char *status = an_calloc(cols, 1);
    if (!block || !buffers || !status) {
        an_free(block);
        an_free(buffers);
        an_free(status);
        return an_no_memory();
    }
    fit_job job = {s, data, buffers, block, k == 3 ? block + cols : block,
                   block + (k - 1) * cols, status};
    an_parallel_for(cols, data->n_threads, min_chunk, fit_range, &job);

    anoma_status st = ANOMA_OK;
    for (size_t j = 0; j < cols && st == ANOMA_OK; j++) {
        if (status[j] == FIT_EMPTY)
            st = an_error(ANOMA_ERR_EMPTY, "%s: column %zu has no non-missing value", name, j);
        else if (status[j] == FIT_OVERFLOW)
            st = an_error(ANOMA_ERR_NONFINITE,
                          "%s: column %zu: its statistics overflow (values too large in magnitude)",
                          name, j);
    }
    an_free(buffers);
    an_free(status);
    if (st != ANOMA_OK) {
        an_free(block);
        return st;
    }
    set_arrays(s, block, cols);
    return ANOMA_OK;
}

/* ---- scoring ---- */

/* Saturate rather than give an infinity, so that scores stay finite for the
 * model's normalisation (only extreme values against a tiny scale, or sums
 * of such scores, get there). */
static inline double saturate(double v)
{
    return v > DBL_MAX ? DBL_MAX : v < -DBL_MAX ? -DBL_MAX : v;
}

static inline double feature_score(const an_fs_state *s, size_t j, double x)
{
    double below = s->lower[j] - x, above = x - s->upper[j];
    return saturate((below > above ? below : above) / s->scale[j] - s->fence);
}

anoma_status an_fs_auto_threshold(const an_params *params, const char *detector, double value,
                                  const char *rule, int l2_keeps_sign, double *threshold)
{
    an_fs_combine combine = (an_fs_combine)an_params_choice(params, "combine");
    if (combine == AN_FS_MAX || (combine == AN_FS_L2 && l2_keeps_sign)) {
        *threshold = value;
        return ANOMA_OK;
    }
    return an_error(ANOMA_ERR_PARAM_VALUE,
                    "contamination=auto: %s's rule (%s: a feature score above %g) makes a row "
                    "threshold only with combine=max%s; with combine=%s give a rate such as "
                    "contamination=0.1", detector, rule, value, l2_keeps_sign ? " or l2" : "",
                    an_params_text(params, "combine"));
}

void an_fs_score_row(const void *state, const double *row, void *scratch, double *score)
{
    const an_fs_state *s = state;
    (void)scratch;
    size_t present = 0;
    double max = -DBL_MAX, sum = 0;
    switch (s->combine) {
    case AN_FS_MEAN:
        for (size_t j = 0; j < s->n_features; j++)
            if (!isnan(row[j])) {
                sum += feature_score(s, j, row[j]);
                present++;
            }
        *score = present ? saturate(sum / (double)present) : 0; /* the sum may overflow */
        return;
    case AN_FS_L2:
        /* The Euclidean norm of the scores; with iqr's signed scores, the
         * signed distance to the box: the norm of the positive parts when
         * outside, the (negative) largest score when inside every box. For
         * non-negative scores this is exactly sqrt(sum of squares). */
        for (size_t j = 0; j < s->n_features; j++)
            if (!isnan(row[j])) {
                double v = feature_score(s, j, row[j]);
                max = v > max ? v : max;
                if (v > 0)
                    sum += v * v;
                present++;
            }
        *score = !present ? 0 : max > 0 ? saturate(sqrt(sum)) : max;
        return;
    case AN_FS_MAX:
    default:
        for (size_t j = 0; j < s->n_features; j++)
            if (!isnan(row[j])) {
                double v = feature_score(s, j, row[j]);
                max = v > max ? v : max;
                present++;
            }
        *score = present ? max : 0;
        return;
    }
}

void an_fs_feature_scores_row(const void *state, const double *row, void *scratch,
                              double *out)
{
    const an_fs_state *s = state;
    (void)scratch;
    for (size_t j = 0; j < s->n_features; j++)
        out[j] = isnan(row[j]) ? NAN : feature_score(s, j, row[j]);
}

/* ---- save / load ----
 *
 * Payload version 1: u64 n_features, then n f64 lower, (box kinds only) n
 * f64 upper, n f64 scale. */

anoma_status an_fs_save(const void *state, an_writer *w)
{
    const an_fs_state *s = state;
    if (!s->n_features)
        return an_error(ANOMA_ERR_NOT_FITTED, "%s: not fitted", s->kind->name);
    an_put_u64(w, s->n_features);
    an_put_f64_array(w, s->lower, s->n_features);
    if (s->kind->box)
        an_put_f64_array(w, s->upper, s->n_features);
    an_put_f64_array(w, s->scale, s->n_features);
    return an_writer_status(w);
}

anoma_status an_fs_load(void *state, an_reader *r, size_t n_features, uint32_t version)
{
    an_fs_state *s = state;
    (void)version; /* only version 1 exists */
    size_t k = n_arrays(s);
    size_t n = an_get_count(r, n_features, k * sizeof(double));
    if (n != n_features || n == 0)
        an_reader_fail(r);
    if (r->failed)
        return an_reader_status(r);
    double *block = an_malloc_array(n, k * sizeof(double));
    if (!block)
        return an_no_memory();
    an_get_f64_array(r, block, k * n);
    const double *lower = block, *upper = k == 3 ? block + n : block, *scale = block + (k - 1) * n;
    for (size_t j = 0; j < n && !r->failed; j++)
        if (!isfinite(lower[j]) || !isfinite(upper[j]) || lower[j] > upper[j] ||
            !isfinite(scale[j]) || !(scale[j] > 0))
            an_reader_fail(r);
    if (r->failed) {
        an_free(block);
        return an_reader_status(r);
    }
    set_arrays(s, block, n);
    return ANOMA_OK;
}

/* ---- describe ---- */

void an_fs_describe(const void *state, an_strbuf *out)
{
    const an_fs_state *s = state;
    const an_fs_kind *kind = s->kind;
    static const char *const combine_names[] = {"max", "mean", "l2"};
    if (!s->n_features) {
        an_strbuf_printf(out, "  %s: not fitted\n", kind->name);
        return;
    }
    an_strbuf_printf(out, "  %s: %zu features, combined by %s\n", kind->name, s->n_features,
                     combine_names[s->combine]);
    an_strbuf_printf(out, "  scale: %s\n", kind->scale_doc);
    if (kind->describe_extra)
        kind->describe_extra(s, out);
    size_t shown = s->n_features < 10 ? s->n_features : 10;
    for (size_t j = 0; j < shown; j++) {
        an_strbuf_printf(out, "  feature %zu: %s=%.10g", j, kind->lower_label, s->lower[j]);
        if (kind->box)
            an_strbuf_printf(out, " %s=%.10g", kind->upper_label, s->upper[j]);
        an_strbuf_printf(out, " scale=%.10g\n", s->scale[j]);
    }
    if (shown < s->n_features)
        an_strbuf_printf(out, "  (%zu more features not shown)\n", s->n_features - shown);
}
