/* maxabs_scaler: divide each number column by its largest absolute
 * training value, as scikit-learn's MaxAbsScaler; zeros stay zeros and
 * signs are kept.
 *
 * Fit, per consumed column: scale = max |x| over its non-missing values,
 * 1 when below 10 eps (or when the column has no non-missing value).
 * Transform: x / scale; missing values stay missing. Definitions:
 * docs/features.md. */
#include "features/column_stats.h"
#include "core/alloc.h"
#include "core/error.h"

#include <math.h>

static const anoma_param_info maxabs_params[] = {
    {"columns", ANOMA_PARAM_TEXT, 0, 0, "", "",
     "number columns to scale, comma-separated (default: every number column)"},
};

static void maxabs_destroy(void *state)
{
    an_column_stats_free(state);
    an_free(state);
}

static anoma_status maxabs_create(const an_params *params, void **state)
{
    an_column_stats *cs = AN_NEW_ZEROED(an_column_stats, 1);
    if (!cs)
        return an_no_memory();
    anoma_status st = an_column_stats_init(cs, "maxabs_scaler", params, 1);
    if (st != ANOMA_OK) {
        maxabs_destroy(cs);
        return st;
    }
    *state = cs;
    return ANOMA_OK;
}

static void fit_column(const void *config, double *v, size_t n, double *stats)
{
    (void)config;
    double m = 0;
    for (size_t i = 0; i < n; i++)
        m = fabs(v[i]) > m ? fabs(v[i]) : m;
    stats[0] = an_scale_or_one(m);
}

static anoma_status maxabs_fit(void *state, const an_step_fit_data *data, an_step_io *io)
{
    return an_column_stats_fit(state, NULL, fit_column, data, io);
}

static anoma_status maxabs_transform(const void *state, const an_cell *const *in,
                                     an_cell *const *out, size_t rows, void *scratch,
                                     an_step_fault *fault)
{
    (void)scratch;
    (void)fault;
    const an_column_stats *cs = state;
    const double *scale = an_column_stat(cs, 0);
    for (size_t k = 0; k < cs->n; k++)
        for (size_t i = 0; i < rows; i++)
            out[k][i].num = in[k][i].num / scale[k];
    return ANOMA_OK;
}

static anoma_status maxabs_save(const void *state, an_writer *w)
{
    an_column_stats_save(state, w);
    return ANOMA_OK;
}

static anoma_status maxabs_load(void *state, an_reader *r, uint32_t version,
                                const an_schema *schema, const an_step_io *io)
{
    an_column_stats *cs = state;
    AN_TRY(an_column_stats_load(cs, r, version, schema, io));
    for (size_t k = 0; k < cs->n; k++)
        if (!(an_column_stat(cs, 0)[k] > 0))
            return an_error(ANOMA_ERR_FORMAT, "model file: maxabs_scaler column %zu has a scale "
                            "that is not positive", k);
    return ANOMA_OK;
}

static size_t maxabs_memory(const void *state) { return an_column_stats_memory(state); }

static void maxabs_describe(const void *state, an_strbuf *out)
{
    const an_column_stats *cs = state;
    an_strbuf_printf(out, "    %zu columns: x / max |x|\n", cs->n);
}

const an_step_vtable an_maxabs_scaler_step = {
    .name = "maxabs_scaler",
    .summary = "divide number columns by their largest absolute training value",
    .params = maxabs_params,
    .n_params = sizeof maxabs_params / sizeof *maxabs_params,
    .payload_version = 1,
    .create = maxabs_create,
    .destroy = maxabs_destroy,
    .fit = maxabs_fit,
    .transform = maxabs_transform,
    .save = maxabs_save,
    .load = maxabs_load,
    .memory_bytes = maxabs_memory,
    .describe = maxabs_describe,
};
