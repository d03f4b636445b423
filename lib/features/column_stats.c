/* Per-column statistics shared by the scaler steps: see column_stats.h. */
#include "features/column_stats.h"
#include "core/alloc.h"
#include "core/error.h"
#include "core/params.h"

#include <float.h>
#include <math.h>
#include <string.h>

anoma_status an_column_stats_init(an_column_stats *cs, const char *step, const an_params *params,
                                  size_t n_stats)
{
    *cs = (an_column_stats){.step = step, .n_stats = n_stats};
    cs->columns = an_strdup(an_params_text(params, "columns"));
    return cs->columns ? ANOMA_OK : an_no_memory();
}

void an_column_stats_free(an_column_stats *cs)
{
    an_free(cs->columns);
    an_free(cs->stat);
    cs->columns = NULL;
    cs->stat = NULL;
}

static anoma_status alloc_stats(an_column_stats *cs, size_t n)
{
    an_free(cs->stat);
    cs->n = n;
    cs->stat = AN_NEW_ZEROED(double, cs->n_stats * n + 1);
    return cs->stat ? ANOMA_OK : an_no_memory();
}

size_t an_present_values(const an_cell *col, size_t rows, double *v)
{
    size_t n = 0;
    for (size_t i = 0; i < rows; i++)
        if (!isnan(col[i].num))
            v[n++] = col[i].num;
    return n;
}

anoma_status an_column_stats_fit(an_column_stats *cs, const void *config, an_fit_column_fn fit,
                                 const an_step_fit_data *data, an_step_io *io)
{
    AN_TRY(an_step_resolve_columns(cs->step, cs->columns, data->schema, 1u << AN_CELL_NUMBER, 0,
                                   io));
    AN_TRY(alloc_stats(cs, io->n_inputs));
    double *values = AN_NEW_ARRAY(double, data->rows + 1);
    double *stats = AN_NEW_ARRAY(double, cs->n_stats + 1);
    anoma_status st = values && stats ? ANOMA_OK : an_no_memory();
    for (size_t k = 0; k < io->n_inputs && st == ANOMA_OK; k++) {
        if (cs->n_stats) {
            size_t n = an_present_values(data->columns[io->inputs[k]], data->rows, values);
            fit(config, values, n, stats);
            for (size_t s = 0; s < cs->n_stats; s++)
                an_column_stat(cs, s)[k] = stats[s];
        }
        st = an_step_io_add_output(io, AN_CELL_NUMBER, "%s", data->schema->names[io->inputs[k]]);
    }
    an_free(values);
    an_free(stats);
    return st;
}

anoma_status an_load_column_count(const char *step, an_reader *r, uint32_t version,
                                  const an_schema *schema, const an_step_io *io,
                                  an_cell_type type, int one_to_one, size_t min_bytes)
{
    if (version != 1)
        return an_error(ANOMA_ERR_VERSION, "%s: payload version %u is not known", step, version);
    size_t n = an_get_count(r, io->n_inputs, min_bytes);
    AN_TRY(an_reader_status(r));
    if (n != io->n_inputs)
        return an_error(ANOMA_ERR_FORMAT, "model file: %s has %zu columns for %zu inputs", step, n,
                        io->n_inputs);
    if (one_to_one && io->n_outputs != io->n_inputs)
        return an_error(ANOMA_ERR_FORMAT, "model file: %s has %zu inputs and %zu outputs", step,
                        io->n_inputs, io->n_outputs);
    for (size_t k = 0; k < io->n_inputs; k++)
        if (schema->types[io->inputs[k]] != type || io->keep[k] ||
            (one_to_one && io->output_types[k] != AN_CELL_NUMBER))
            return an_error(ANOMA_ERR_FORMAT, "model file: %s input %zu is not a consumed %s "
                            "column", step, k, an_cell_type_name(type));
    return ANOMA_OK;
}

void an_column_stats_save(const an_column_stats *cs, an_writer *w)
{
    an_put_u64(w, cs->n);
    for (size_t s = 0; s < cs->n_stats; s++)
        an_put_f64_array(w, an_column_stat(cs, s), cs->n);
}

anoma_status an_column_stats_load(an_column_stats *cs, an_reader *r, uint32_t version,
                                  const an_schema *schema, const an_step_io *io)
{
    AN_TRY(an_load_column_count(cs->step, r, version, schema, io, AN_CELL_NUMBER, 1,
                                8 * cs->n_stats));
    size_t n = io->n_inputs;
    AN_TRY(alloc_stats(cs, n));
    for (size_t s = 0; s < cs->n_stats; s++)
        an_get_f64_array(r, an_column_stat(cs, s), n);
    AN_TRY(an_reader_status(r));
    for (size_t i = 0; i < cs->n_stats * n; i++)
        if (!isfinite(cs->stat[i]))
            return an_error(ANOMA_ERR_FORMAT, "model file: %s has a statistic that is not finite",
                            cs->step);
    return ANOMA_OK;
}

size_t an_column_stats_memory(const an_column_stats *cs)
{
    return sizeof *cs + (cs->columns ? strlen(cs->columns) + 1 : 0) +
           cs->n_stats * cs->n * sizeof(double);
}

double an_scale_or_one(double scale)
{
    return scale < 10 * DBL_EPSILON ? 1.0 : scale;
}

anoma_status an_parse_range(const char *step, const char *key, const char *text, int equal_ok,
                            double *lo, double *hi)
{
    const char *comma = strchr(text, ',');
    char first[64];
    size_t len = comma ? (size_t)(comma - text) : 0;
    int ok = comma && len < sizeof first;
    if (ok) {
        memcpy(first, text, len);
        first[len] = '\0';
        ok = an_parse_double(first, lo) && an_parse_double(comma + 1, hi) &&
             (*lo < *hi || (equal_ok && *lo == *hi));
    }
    if (!ok)
        return an_error(ANOMA_ERR_PARAM_VALUE, "%s: %s=%s: expected two numbers 'low,high' with "
                        "low %s high", step, key, text, equal_ok ? "<=" : "<");
    return ANOMA_OK;
}
