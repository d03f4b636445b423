/* missing_indicator: a 0/1 column "NAME_missing" per column, 1 where the
 * value is missing, as scikit-learn's MissingIndicator.
 *
 * The step reads its columns without consuming them (the values stay for
 * an imputer to fill); its outputs go at the end. features=missing-only
 * (scikit-learn's default) makes an indicator only for the columns with a
 * missing value in training; features=all for every column. With
 * error_on_new=true (scikit-learn's default), a missing value at transform
 * in a column that had none in training, and so has no indicator, is an
 * error naming the column and the row; with false it is ignored.
 * Definitions: docs/features.md. */
#include "features/missing.h"
#include "core/alloc.h"
#include "core/error.h"

#include <string.h>

enum { MISSING_ONLY = 0, ALL = 1 };

static const anoma_param_info indicator_params[] = {
    {"columns", ANOMA_PARAM_TEXT, 0, 0, "", "",
     "number and text columns to watch, comma-separated (default: all of them)"},
    {"features", ANOMA_PARAM_CHOICE, 0, 0, "missing-only", "missing-only|all",
     "an indicator for the columns with missing values in training, or for every column"},
    {"error_on_new", ANOMA_PARAM_BOOL, 0, 0, "true", "",
     "with missing-only: a missing value in a column without an indicator is an error"},
};

typedef struct indicator_state {
    char *columns;
    int features, error_on_new;
    size_t n;                  /* columns read */
    an_cell_type *types;       /* n */
    unsigned char *indicator;  /* n: has an output */
    char **names;              /* n, for messages */
} indicator_state;

static void free_columns(indicator_state *s)
{
    for (size_t k = 0; k < s->n && s->names; k++)
        an_free(s->names[k]);
    an_free(s->names);
    an_free(s->types);
    an_free(s->indicator);
    s->names = NULL;
    s->types = NULL;
    s->indicator = NULL;
    s->n = 0;
}

static void indicator_destroy(void *state)
{
    indicator_state *s = state;
    free_columns(s);
    an_free(s->columns);
    an_free(s);
}

static anoma_status indicator_create(const an_params *params, void **state)
{
    indicator_state *s = AN_NEW_ZEROED(indicator_state, 1);
    if (!s)
        return an_no_memory();
    s->features = an_params_choice(params, "features");
    s->error_on_new = an_params_bool(params, "error_on_new");
    s->columns = an_strdup(an_params_text(params, "columns"));
    if (!s->columns) {
        an_free(s);
        return an_no_memory();
    }
    *state = s;
    return ANOMA_OK;
}

/* Columns, their types and names from the resolved io. */
static anoma_status make_columns(indicator_state *s, const an_schema *schema,
                                 const an_step_io *io)
{
    size_t n = io->n_inputs;
    s->types = AN_NEW_ZEROED(an_cell_type, n + 1);
    s->indicator = AN_NEW_ZEROED(unsigned char, n + 1);
    s->names = AN_NEW_ZEROED(char *, n + 1);
    if (!s->types || !s->indicator || !s->names)
        return an_no_memory();
    s->n = n;
    for (size_t k = 0; k < n; k++) {
        s->types[k] = schema->types[io->inputs[k]];
        if (!(s->names[k] = an_strdup(schema->names[io->inputs[k]])))
            return an_no_memory();
    }
    return ANOMA_OK;
}

static anoma_status indicator_fit(void *state, const an_step_fit_data *data, an_step_io *io)
{
    indicator_state *s = state;
    AN_TRY(an_step_resolve_columns("missing_indicator", s->columns, data->schema,
                                   (1u << AN_CELL_NUMBER) | (1u << AN_CELL_TEXT), 0, io));
    for (size_t k = 0; k < io->n_inputs; k++)
        io->keep[k] = 1; /* read, not consumed */
    AN_TRY(make_columns(s, data->schema, io));
    for (size_t k = 0; k < s->n; k++) {
        s->indicator[k] = s->features == ALL ||
                          an_column_has_missing(s->types[k], data->columns[io->inputs[k]],
                                                data->rows);
        if (s->indicator[k])
            AN_TRY(an_step_io_add_output(io, AN_CELL_NUMBER, "%s_missing", s->names[k]));
    }
    return ANOMA_OK;
}

static anoma_status indicator_transform(const void *state, const an_cell *const *in,
                                        an_cell *const *out, size_t rows, void *scratch,
                                        an_step_fault *fault)
{
    (void)scratch;
    const indicator_state *s = state;
    size_t o = 0;
    for (size_t k = 0; k < s->n; k++) {
        if (s->indicator[k]) {
            an_missing_indicator(s->types[k], in[k], out[o++], rows);
            continue;
        }
        if (!s->error_on_new)
            continue;
        for (size_t i = 0; i < rows; i++)
            if (an_cell_missing(s->types[k], in[k][i])) {
                fault->row = i;
                return an_error(ANOMA_ERR_INVALID_ARGUMENT, "missing_indicator: column '%s' has "
                                "a missing value but had none in training (error_on_new=true)",
                                s->names[k]);
            }
    }
    return ANOMA_OK;
}

/* Payload 1: u64 n, then a u8 per column: 1 when it has an indicator. */
static anoma_status indicator_save(const void *state, an_writer *w)
{
    const indicator_state *s = state;
    an_put_u64(w, s->n);
    for (size_t k = 0; k < s->n; k++)
        an_put_u8(w, s->indicator[k]);
    return ANOMA_OK;
}

static anoma_status indicator_load(void *state, an_reader *r, uint32_t version,
                                   const an_schema *schema, const an_step_io *io)
{
    indicator_state *s = state;
    if (version != 1)
        return an_error(ANOMA_ERR_VERSION, "missing_indicator: payload version %u is not known",
                        version);
    size_t n = an_get_count(r, io->n_inputs, 1);
    AN_TRY(an_reader_status(r));
    if (n != io->n_inputs)
        return an_error(ANOMA_ERR_FORMAT, "model file: missing_indicator has %zu columns, its "
                        "inputs %zu", n, io->n_inputs);
    AN_TRY(make_columns(s, schema, io));
    size_t outputs = 0;
    for (size_t k = 0; k < n; k++) {
        s->indicator[k] = an_get_u8(r);
        AN_TRY(an_reader_status(r));
        if (s->indicator[k] > 1 || !io->keep[k] || s->types[k] == AN_CELL_TIMESTAMP)
            return an_error(ANOMA_ERR_FORMAT, "model file: missing_indicator column %zu is not "
                            "valid", k);
        outputs += s->indicator[k];
    }
    if (outputs != io->n_outputs)
        return an_error(ANOMA_ERR_FORMAT, "model file: missing_indicator makes %zu columns, the "
                        "file lists %zu", outputs, io->n_outputs);
    for (size_t k = 0; k < io->n_outputs; k++)
        if (io->output_types[k] != AN_CELL_NUMBER)
            return an_error(ANOMA_ERR_FORMAT, "model file: missing_indicator output %zu is not a "
                            "number", k);
    return ANOMA_OK;
}

static size_t indicator_memory(const void *state)
{
    const indicator_state *s = state;
    size_t bytes = sizeof *s + strlen(s->columns) + 1 +
                   s->n * (sizeof *s->types + 1 + sizeof *s->names);
    for (size_t k = 0; k < s->n; k++)
        bytes += strlen(s->names[k]) + 1;
    return bytes;
}

static void indicator_describe(const void *state, an_strbuf *out)
{
    const indicator_state *s = state;
    size_t made = 0;
    for (size_t k = 0; k < s->n; k++)
        made += s->indicator[k];
    an_strbuf_printf(out, "    %zu of %zu columns get a 0/1 missing indicator\n", made, s->n);
}

const an_step_vtable an_missing_indicator_step = {
    .name = "missing_indicator",
    .refuses_rows = 1,
    .summary = "add a 0/1 column per column: 1 where the value is missing",
    .params = indicator_params,
    .n_params = sizeof indicator_params / sizeof *indicator_params,
    .payload_version = 1,
    .create = indicator_create,
    .destroy = indicator_destroy,
    .fit = indicator_fit,
    .transform = indicator_transform,
    .save = indicator_save,
    .load = indicator_load,
    .memory_bytes = indicator_memory,
    .describe = indicator_describe,
};
