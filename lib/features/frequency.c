/* frequency: each text column replaced by how common its value was in
 * training, as a fraction of the training rows -- a risk feature: a rare
 * device or city stands out.
 *
 * Fit, per consumed text column: the categories and their counts
 * (categories.h), and the count of missing values, over `rows` rows.
 * Transform: count(value) / rows for a value seen in training; a missing
 * value gets the fraction of training rows that were missing (0 when none
 * were); a value never seen gets 0. The output is named "NAME_frequency"
 * and takes the column's place. Definitions: docs/features.md. */
#include "features/categories.h"
#include "features/column_stats.h"
#include "core/alloc.h"
#include "core/error.h"

#include <string.h>

static const anoma_param_info frequency_params[] = {
    {"columns", ANOMA_PARAM_TEXT, 0, 0, "", "",
     "text columns to encode, comma-separated (default: every text column)"},
};

typedef struct frequency_column {
    char *name;
    an_categories cats; /* with counts */
    double *fraction;   /* per category: count / rows */
    double missing;     /* fraction of training rows missing */
} frequency_column;

typedef struct frequency_state {
    char *columns;
    size_t n;
    frequency_column *cols;
} frequency_state;

static void frequency_destroy(void *state)
{
    frequency_state *s = state;
    for (size_t j = 0; j < s->n; j++) {
        an_free(s->cols[j].name);
        an_free(s->cols[j].fraction);
        an_categories_free(&s->cols[j].cats);
    }
    an_free(s->cols);
    an_free(s->columns);
    an_free(s);
}

static anoma_status frequency_create(const an_params *params, void **state)
{
    frequency_state *s = AN_NEW_ZEROED(frequency_state, 1);
    if (!s)
        return an_no_memory();
    s->columns = an_strdup(an_params_text(params, "columns"));
    if (!s->columns) {
        an_free(s);
        return an_no_memory();
    }
    *state = s;
    return ANOMA_OK;
}

static anoma_status make_columns(frequency_state *s, const an_schema *schema,
                                 const an_step_io *io)
{
    s->cols = AN_NEW_ZEROED(frequency_column, io->n_inputs + 1);
    if (!s->cols)
        return an_no_memory();
    s->n = io->n_inputs;
    for (size_t j = 0; j < s->n; j++)
        if (!(s->cols[j].name = an_strdup(schema->names[io->inputs[j]])))
            return an_no_memory();
    return ANOMA_OK;
}

/* Fractions from the counts; the rows are the counts' sum. */
static anoma_status compute_fractions(frequency_column *c)
{
    double rows = (double)c->cats.missing;
    for (size_t k = 0; k < c->cats.n; k++)
        rows += (double)c->cats.counts[k];
    c->fraction = AN_NEW_ARRAY(double, c->cats.n + 1);
    if (!c->fraction)
        return an_no_memory();
    for (size_t k = 0; k < c->cats.n; k++)
        c->fraction[k] = (double)c->cats.counts[k] / rows;
    c->missing = c->cats.missing ? (double)c->cats.missing / rows : 0;
    return ANOMA_OK;
}

static anoma_status frequency_fit(void *state, const an_step_fit_data *data, an_step_io *io)
{
    frequency_state *s = state;
    AN_TRY(an_step_resolve_columns("frequency", s->columns, data->schema, 1u << AN_CELL_TEXT, 0,
                                   io));
    AN_TRY(make_columns(s, data->schema, io));
    for (size_t j = 0; j < s->n; j++) {
        frequency_column *c = &s->cols[j];
        AN_TRY(an_categories_fit(&c->cats, data->columns[io->inputs[j]], data->rows));
        AN_TRY(compute_fractions(c));
        AN_TRY(an_step_io_add_output(io, AN_CELL_NUMBER, "%s_frequency", c->name));
    }
    return ANOMA_OK;
}

static anoma_status frequency_transform(const void *state, const an_cell *const *in,
                                        an_cell *const *out, size_t rows, void *scratch,
                                        an_step_fault *fault)
{
    (void)scratch;
    (void)fault;
    const frequency_state *s = state;
    for (size_t j = 0; j < s->n; j++) {
        const frequency_column *c = &s->cols[j];
        for (size_t i = 0; i < rows; i++) {
            const char *text = in[j][i].text;
            long k = text ? an_categories_find(&c->cats, text) : -1;
            out[j][i].num = k >= 0 ? c->fraction[k] : text ? 0 : c->missing;
        }
    }
    return ANOMA_OK;
}

/* Payload 1: u64 n, then per column its categories with counts. */
static anoma_status frequency_save(const void *state, an_writer *w)
{
    const frequency_state *s = state;
    an_put_u64(w, s->n);
    for (size_t j = 0; j < s->n; j++)
        an_categories_save(&s->cols[j].cats, w, 1);
    return ANOMA_OK;
}

static anoma_status frequency_load(void *state, an_reader *r, uint32_t version,
                                   const an_schema *schema, const an_step_io *io)
{
    frequency_state *s = state;
    AN_TRY(an_load_column_count("frequency", r, version, schema, io, AN_CELL_TEXT, 1, 16));
    size_t n = io->n_inputs;
    AN_TRY(make_columns(s, schema, io));
    for (size_t j = 0; j < n; j++) {
        frequency_column *c = &s->cols[j];
        AN_TRY(an_categories_load(&c->cats, r, 1, "frequency", c->name));
        if (!c->cats.n && !c->cats.missing)
            return an_error(ANOMA_ERR_FORMAT, "model file: frequency column '%s' has no training "
                            "rows", c->name);
        AN_TRY(compute_fractions(c));
    }
    return ANOMA_OK;
}

static size_t frequency_memory(const void *state)
{
    const frequency_state *s = state;
    size_t bytes = sizeof *s + strlen(s->columns) + 1 + s->n * sizeof *s->cols;
    for (size_t j = 0; j < s->n; j++)
        bytes += strlen(s->cols[j].name) + 1 + an_categories_memory(&s->cols[j].cats) +
                 s->cols[j].cats.n * sizeof(double);
    return bytes;
}

static void frequency_describe(const void *state, an_strbuf *out)
{
    const frequency_state *s = state;
    for (size_t j = 0; j < s->n; j++)
        an_strbuf_printf(out, "    %s: %zu categories -> %s_frequency\n", s->cols[j].name,
                         s->cols[j].cats.n, s->cols[j].name);
}

const an_step_vtable an_frequency_step = {
    .name = "frequency",
    .summary = "replace text columns by how common their value was in training (a fraction)",
    .params = frequency_params,
    .n_params = sizeof frequency_params / sizeof *frequency_params,
    .payload_version = 1,
    .create = frequency_create,
    .destroy = frequency_destroy,
    .fit = frequency_fit,
    .transform = frequency_transform,
    .save = frequency_save,
    .load = frequency_load,
    .memory_bytes = frequency_memory,
    .describe = frequency_describe,
};
