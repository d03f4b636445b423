/* standard_scaler: (x - mean) / std per column, as scikit-learn's
 * StandardScaler.
 *
 * Fit, per consumed number column, over its non-missing values (NaN is
 * ignored in fit and passed through by transform, as scikit-learn does):
 *   mean  = sum / n                                  (with_mean, else 0)
 *   var   = (sum (x - mean)^2 - (sum (x - mean))^2 / n) / n
 *           (scikit-learn's corrected two-pass formula)
 *   scale = sqrt(var), replaced by 1 when var <= n eps var + (n eps mean)^2
 *           (scikit-learn's near-constant rule, eps = DBL_EPSILON)
 *           (with_std, else 1).
 * A column with no non-missing value gets mean 0, scale 1 (scikit-learn: NaN
 * statistics, NaN output; here the NaNs pass through unchanged either way).
 * Outputs keep the input names. Definitions: docs/features.md. */
#include "features/step.h"
#include "core/alloc.h"
#include "core/error.h"
#include "core/stats.h"

#include <float.h>
#include <math.h>

typedef struct scaler_state {
    int with_mean, with_std;
    size_t n;       /* columns */
    double *mean;   /* n */
    double *scale;  /* n, > 0 */
} scaler_state;

static const anoma_param_info scaler_params[] = {
    {"columns", ANOMA_PARAM_TEXT, 0, 0, "", "",
     "number columns to scale, comma-separated (default: every number column)"},
    {"with_mean", ANOMA_PARAM_BOOL, 0, 0, "true", "", "subtract the mean"},
    {"with_std", ANOMA_PARAM_BOOL, 0, 0, "true", "", "divide by the standard deviation"},
};

/* Kept from the parameters for fit. */
typedef struct scaler_config {
    scaler_state s;
    char *columns;
} scaler_config;

static anoma_status scaler_create(const an_params *params, void **state)
{
    scaler_config *c = AN_NEW_ZEROED(scaler_config, 1);
    if (!c)
        return an_no_memory();
    c->s.with_mean = an_params_bool(params, "with_mean");
    c->s.with_std = an_params_bool(params, "with_std");
    c->columns = an_strdup(an_params_text(params, "columns"));
    if (!c->columns) {
        an_free(c);
        return an_no_memory();
    }
    *state = c;
    return ANOMA_OK;
}

static void scaler_destroy(void *state)
{
    scaler_config *c = state;
    an_free(c->s.mean);
    an_free(c->s.scale);
    an_free(c->columns);
    an_free(c);
}

static anoma_status alloc_stats(scaler_state *s, size_t n)
{
    s->n = n;
    s->mean = AN_NEW_ARRAY(double, n ? n : 1);
    s->scale = AN_NEW_ARRAY(double, n ? n : 1);
    return s->mean && s->scale ? ANOMA_OK : an_no_memory();
}

/* mean and scale of one column's non-missing values v (reordered, n >= 1). */
static void column_stats(const scaler_state *s, double *v, size_t n, double *mean, double *scale)
{
    double m = an_sum(v, n) / (double)n;
    for (size_t i = 0; i < n; i++)
        v[i] -= m;
    double correction = an_sum(v, n);
    for (size_t i = 0; i < n; i++)
        v[i] *= v[i];
    double var = (an_sum(v, n) - correction * correction / (double)n) / (double)n;
    double sd = sqrt(var);
    /* scikit-learn: a variance within rounding of zero means constant. */
    double ne = (double)n * DBL_EPSILON;
    int constant = var <= ne * var + (ne * m) * (ne * m);
    *mean = s->with_mean ? m : 0;
    *scale = !s->with_std || constant || !(sd > 0) ? 1 : sd;
}

static anoma_status scaler_fit(void *state, const an_step_fit_data *data, an_step_io *io)
{
    scaler_config *c = state;
    AN_TRY(an_step_resolve_columns("standard_scaler", c->columns, data->schema,
                                   1u << AN_CELL_NUMBER, 0, io));
    AN_TRY(alloc_stats(&c->s, io->n_inputs));
    double *v = AN_NEW_ARRAY(double, data->rows ? data->rows : 1);
    if (!v)
        return an_no_memory();
    anoma_status st = ANOMA_OK;
    for (size_t k = 0; k < io->n_inputs && st == ANOMA_OK; k++) {
        const an_cell *col = data->columns[io->inputs[k]];
        size_t n = 0;
        for (size_t i = 0; i < data->rows; i++)
            if (!isnan(col[i].num))
                v[n++] = col[i].num;
        c->s.mean[k] = 0;
        c->s.scale[k] = 1;
        if (n)
            column_stats(&c->s, v, n, &c->s.mean[k], &c->s.scale[k]);
        st = an_step_io_add_output(io, AN_CELL_NUMBER, "%s", data->schema->names[io->inputs[k]]);
    }
    an_free(v);
    return st;
}

static anoma_status scaler_transform(const void *state, const an_cell *const *in,
                                     an_cell *const *out, size_t rows, void *scratch,
                                     an_step_fault *fault)
{
    (void)scratch;
    (void)fault;
    const scaler_state *s = &((const scaler_config *)state)->s;
    for (size_t k = 0; k < s->n; k++) {
        double mean = s->mean[k], scale = s->scale[k];
        const an_cell *x = in[k];
        an_cell *y = out[k];
        for (size_t i = 0; i < rows; i++)
            y[i].num = (x[i].num - mean) / scale;
    }
    return ANOMA_OK;
}

static anoma_status scaler_save(const void *state, an_writer *w)
{
    const scaler_state *s = &((const scaler_config *)state)->s;
    an_put_u64(w, s->n);
    an_put_f64_array(w, s->mean, s->n);
    an_put_f64_array(w, s->scale, s->n);
    return ANOMA_OK;
}

static anoma_status scaler_load(void *state, an_reader *r, uint32_t version,
                                const an_schema *schema, const an_step_io *io)
{
    scaler_config *c = state;
    if (version != 1)
        return an_error(ANOMA_ERR_VERSION, "standard_scaler: payload version %u is not known",
                        version);
    size_t n = an_get_count(r, io->n_inputs, 16);
    AN_TRY(an_reader_status(r));
    if (n != io->n_inputs || n != io->n_outputs)
        return an_error(ANOMA_ERR_FORMAT, "model file: standard_scaler has %zu statistics for "
                        "%zu columns", n, io->n_inputs);
    for (size_t k = 0; k < n; k++)
        if (schema->types[io->inputs[k]] != AN_CELL_NUMBER || io->keep[k] ||
            io->output_types[k] != AN_CELL_NUMBER)
            return an_error(ANOMA_ERR_FORMAT, "model file: standard_scaler column %zu is not a "
                            "consumed number column", k);
    AN_TRY(alloc_stats(&c->s, n));
    an_get_f64_array(r, c->s.mean, n);
    an_get_f64_array(r, c->s.scale, n);
    AN_TRY(an_reader_status(r));
    for (size_t k = 0; k < n; k++)
        if (!isfinite(c->s.mean[k]) || !isfinite(c->s.scale[k]) || !(c->s.scale[k] > 0))
            return an_error(ANOMA_ERR_FORMAT, "model file: standard_scaler column %zu has a "
                            "non-finite mean or a scale that is not positive", k);
    return ANOMA_OK;
}

static size_t scaler_memory(const void *state)
{
    const scaler_config *c = state;
    return sizeof *c + 2 * c->s.n * sizeof(double);
}

static void scaler_describe(const void *state, an_strbuf *out)
{
    const scaler_state *s = &((const scaler_config *)state)->s;
    an_strbuf_printf(out, "    %zu columns: (x - mean) / scale\n", s->n);
}

const an_step_vtable an_standard_scaler_step = {
    .name = "standard_scaler",
    .summary = "centre and scale number columns: (x - mean) / standard deviation",
    .params = scaler_params,
    .n_params = sizeof scaler_params / sizeof *scaler_params,
    .payload_version = 1,
    .create = scaler_create,
    .destroy = scaler_destroy,
    .fit = scaler_fit,
    .transform = scaler_transform,
    .save = scaler_save,
    .load = scaler_load,
    .memory_bytes = scaler_memory,
    .describe = scaler_describe,
};
