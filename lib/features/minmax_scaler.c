/* minmax_scaler: map each number column onto feature_range, as
 * scikit-learn's MinMaxScaler.
 *
 * Fit, per consumed column, over its non-missing values:
 *   scale = (high - low) / range, range = max - min (1 when below 10 eps)
 *   min   = low - min * scale
 * Transform: x * scale + min, then clipped to [low, high] when clip=true.
 * Missing values are ignored in fit and stay missing. A column with no
 * non-missing training value gets scale 1, min 0. Definitions:
 * docs/features.md. */
#include "features/column_stats.h"
#include "core/alloc.h"
#include "core/error.h"

#include <math.h>

enum { SCALE = 0, MIN = 1 };

static const anoma_param_info minmax_params[] = {
    {"columns", ANOMA_PARAM_TEXT, 0, 0, "", "",
     "number columns to scale, comma-separated (default: every number column)"},
    {"feature_range", ANOMA_PARAM_TEXT, 0, 0, "0,1", "",
     "the range the training values are mapped onto: low,high with low < high"},
    {"clip", ANOMA_PARAM_BOOL, 0, 0, "false", "",
     "clip transformed values to the range (values outside the training range stay in it)"},
};

typedef struct minmax_state {
    an_column_stats cs; /* SCALE, MIN per column */
    double low, high;
    int clip;
} minmax_state;

static void minmax_destroy(void *state)
{
    minmax_state *s = state;
    an_column_stats_free(&s->cs);
    an_free(s);
}

static anoma_status minmax_create(const an_params *params, void **state)
{
    minmax_state *s = AN_NEW_ZEROED(minmax_state, 1);
    if (!s)
        return an_no_memory();
    s->clip = an_params_bool(params, "clip");
    anoma_status st = an_parse_range("minmax_scaler", "feature_range",
                                     an_params_text(params, "feature_range"), 0, &s->low, &s->high);
    if (st == ANOMA_OK)
        st = an_column_stats_init(&s->cs, "minmax_scaler", params, 2);
    if (st != ANOMA_OK) {
        minmax_destroy(s);
        return st;
    }
    *state = s;
    return ANOMA_OK;
}

static void fit_column(const void *config, double *v, size_t n, double *stats)
{
    const minmax_state *s = config;
    stats[SCALE] = 1;
    stats[MIN] = 0;
    if (!n)
        return;
    double lo = v[0], hi = v[0];
    for (size_t i = 1; i < n; i++) {
        lo = v[i] < lo ? v[i] : lo;
        hi = v[i] > hi ? v[i] : hi;
    }
    stats[SCALE] = (s->high - s->low) / an_scale_or_one(hi - lo);
    stats[MIN] = s->low - lo * stats[SCALE];
}

static anoma_status minmax_fit(void *state, const an_step_fit_data *data, an_step_io *io)
{
    minmax_state *s = state;
    return an_column_stats_fit(&s->cs, s, fit_column, data, io);
}

static anoma_status minmax_transform(const void *state, const an_cell *const *in,
                                     an_cell *const *out, size_t rows, void *scratch,
                                     an_step_fault *fault)
{
    (void)scratch;
    (void)fault;
    const minmax_state *s = state;
    const double *scale = an_column_stat(&s->cs, SCALE), *min = an_column_stat(&s->cs, MIN);
    for (size_t k = 0; k < s->cs.n; k++) {
        for (size_t i = 0; i < rows; i++) {
            double y = in[k][i].num * scale[k];
            y += min[k]; /* two roundings, as numpy's X *= scale; X += min */
            if (s->clip)
                y = y < s->low ? s->low : y > s->high ? s->high : y;
            out[k][i].num = y;
        }
    }
    return ANOMA_OK;
}

static anoma_status minmax_save(const void *state, an_writer *w)
{
    an_column_stats_save(&((const minmax_state *)state)->cs, w);
    return ANOMA_OK;
}

static anoma_status minmax_load(void *state, an_reader *r, uint32_t version,
                                const an_schema *schema, const an_step_io *io)
{
    minmax_state *s = state;
    AN_TRY(an_column_stats_load(&s->cs, r, version, schema, io));
    for (size_t k = 0; k < s->cs.n; k++)
        if (!(an_column_stat(&s->cs, SCALE)[k] > 0))
            return an_error(ANOMA_ERR_FORMAT, "model file: minmax_scaler column %zu has a scale "
                            "that is not positive", k);
    return ANOMA_OK;
}

static size_t minmax_memory(const void *state)
{
    const minmax_state *s = state;
    return sizeof *s - sizeof s->cs + an_column_stats_memory(&s->cs);
}

static void minmax_describe(const void *state, an_strbuf *out)
{
    const minmax_state *s = state;
    an_strbuf_printf(out, "    %zu columns: x * scale + min onto [%g, %g]%s\n", s->cs.n, s->low,
                     s->high, s->clip ? ", clipped" : "");
}

const an_step_vtable an_minmax_scaler_step = {
    .name = "minmax_scaler",
    .summary = "map number columns onto a range: the training minimum to low, the maximum to high",
    .params = minmax_params,
    .n_params = sizeof minmax_params / sizeof *minmax_params,
    .payload_version = 1,
    .create = minmax_create,
    .destroy = minmax_destroy,
    .fit = minmax_fit,
    .transform = minmax_transform,
    .save = minmax_save,
    .load = minmax_load,
    .memory_bytes = minmax_memory,
    .describe = minmax_describe,
};
