/* robust_scaler: (x - median) / (inter-quantile range) per number column,
 * as scikit-learn's RobustScaler; outliers in training move neither.
 *
 * Fit, per consumed column, over its non-missing values (numpy's
 * nanmedian and nanpercentile, 'linear' method):
 *   center = median                                 (with_centering, else 0)
 *   scale  = percentile(q_high) - percentile(q_low), 1 when below 10 eps
 *                                                   (with_scaling, else 1)
 * Transform: (x - center) / scale; missing values stay missing. A column
 * with no non-missing training value gets center 0, scale 1. Definitions:
 * docs/features.md. */
#include "features/column_stats.h"
#include "core/alloc.h"
#include "core/error.h"
#include "core/stats.h"

#include <math.h>

enum { CENTER = 0, SCALE = 1 };

static const anoma_param_info robust_params[] = {
    {"columns", ANOMA_PARAM_TEXT, 0, 0, "", "",
     "number columns to scale, comma-separated (default: every number column)"},
    {"with_centering", ANOMA_PARAM_BOOL, 0, 0, "true", "", "subtract the median"},
    {"with_scaling", ANOMA_PARAM_BOOL, 0, 0, "true", "", "divide by the inter-quantile range"},
    {"quantile_range", ANOMA_PARAM_TEXT, 0, 0, "25,75", "",
     "the percentiles whose difference is the scale: low,high with 0 <= low <= high <= 100"},
};

typedef struct robust_state {
    an_column_stats cs; /* CENTER, SCALE per column */
    int with_centering, with_scaling;
    double q_low, q_high; /* percent */
} robust_state;

static void robust_destroy(void *state)
{
    robust_state *s = state;
    an_column_stats_free(&s->cs);
    an_free(s);
}

static anoma_status robust_create(const an_params *params, void **state)
{
    robust_state *s = AN_NEW_ZEROED(robust_state, 1);
    if (!s)
        return an_no_memory();
    s->with_centering = an_params_bool(params, "with_centering");
    s->with_scaling = an_params_bool(params, "with_scaling");
    const char *range = an_params_text(params, "quantile_range");
    anoma_status st = an_parse_range("robust_scaler", "quantile_range", range, 1, &s->q_low,
                                     &s->q_high);
    if (st == ANOMA_OK && (s->q_low < 0 || s->q_high > 100))
        st = an_error(ANOMA_ERR_PARAM_VALUE, "robust_scaler: quantile_range=%s: percentiles must "
                      "be in [0, 100]", range);
    if (st == ANOMA_OK)
        st = an_column_stats_init(&s->cs, "robust_scaler", params, 2);
    if (st != ANOMA_OK) {
        robust_destroy(s);
        return st;
    }
    *state = s;
    return ANOMA_OK;
}

static void fit_column(const void *config, double *v, size_t n, double *stats)
{
    const robust_state *s = config;
    stats[CENTER] = 0;
    stats[SCALE] = 1;
    if (!n)
        return;
    /* numpy divides the percentages by 100 before taking (n - 1) * q */
    if (s->with_scaling) {
        double low = an_quantile(v, n, s->q_low / 100.0);
        double high = an_quantile(v, n, s->q_high / 100.0);
        stats[SCALE] = an_scale_or_one(high - low);
    }
    if (s->with_centering)
        stats[CENTER] = an_median(v, n);
}

static anoma_status robust_fit(void *state, const an_step_fit_data *data, an_step_io *io)
{
    robust_state *s = state;
    return an_column_stats_fit(&s->cs, s, fit_column, data, io);
}

static anoma_status robust_transform(const void *state, const an_cell *const *in,
                                     an_cell *const *out, size_t rows, void *scratch,
                                     an_step_fault *fault)
{
    (void)scratch;
    (void)fault;
    const robust_state *s = state;
    const double *center = an_column_stat(&s->cs, CENTER), *scale = an_column_stat(&s->cs, SCALE);
    for (size_t k = 0; k < s->cs.n; k++)
        for (size_t i = 0; i < rows; i++)
            out[k][i].num = (in[k][i].num - center[k]) / scale[k];
    return ANOMA_OK;
}

static anoma_status robust_save(const void *state, an_writer *w)
{
    an_column_stats_save(&((const robust_state *)state)->cs, w);
    return ANOMA_OK;
}

static anoma_status robust_load(void *state, an_reader *r, uint32_t version,
                                const an_schema *schema, const an_step_io *io)
{
    robust_state *s = state;
    AN_TRY(an_column_stats_load(&s->cs, r, version, schema, io));
    for (size_t k = 0; k < s->cs.n; k++)
        if (!(an_column_stat(&s->cs, SCALE)[k] > 0))
            return an_error(ANOMA_ERR_FORMAT, "model file: robust_scaler column %zu has a scale "
                            "that is not positive", k);
    return ANOMA_OK;
}

static size_t robust_memory(const void *state)
{
    const robust_state *s = state;
    return sizeof *s - sizeof s->cs + an_column_stats_memory(&s->cs);
}

static void robust_describe(const void *state, an_strbuf *out)
{
    const robust_state *s = state;
    an_strbuf_printf(out, "    %zu columns: (x - median) / (percentile %g - percentile %g)\n",
                     s->cs.n, s->q_high, s->q_low);
}

const an_step_vtable an_robust_scaler_step = {
    .name = "robust_scaler",
    .summary = "centre number columns on the median and divide by the inter-quartile range",
    .params = robust_params,
    .n_params = sizeof robust_params / sizeof *robust_params,
    .payload_version = 1,
    .create = robust_create,
    .destroy = robust_destroy,
    .fit = robust_fit,
    .transform = robust_transform,
    .save = robust_save,
    .load = robust_load,
    .memory_bytes = robust_memory,
    .describe = robust_describe,
};
