/* ordinal: each text column replaced by the number of its category, as
 * scikit-learn's OrdinalEncoder.
 *
 * Fit, per consumed text column: its categories (categories.h: distinct
 * texts in byte order) get the codes 0, 1, 2, ...; "missing" counts as one
 * more category (the last) when training had missing values, and is
 * encoded as encoded_missing_value (default NaN). A value not seen in
 * training -- including a missing value when training had none -- gets:
 *   handle_unknown=bucket             the column's cardinality (one past
 *                                     the last code), the default
 *   handle_unknown=use_encoded_value  unknown_value (a whole number or nan)
 *   handle_unknown=error              an error naming column, value and row.
 * As in scikit-learn 1.2, unknown_value and encoded_missing_value may not be
 * a code of a training category (missing included). The output keeps the
 * column's name and place. Definitions: docs/features.md. */
#include "features/categories.h"
#include "features/column_stats.h"
#include "core/alloc.h"
#include "core/error.h"

#include <math.h>
#include <string.h>

enum { UNKNOWN_BUCKET = 0, UNKNOWN_VALUE = 1, UNKNOWN_ERROR = 2 };

static const anoma_param_info ordinal_params[] = {
    {"columns", ANOMA_PARAM_TEXT, 0, 0, "", "",
     "text columns to encode, comma-separated (default: every text column)"},
    {"handle_unknown", ANOMA_PARAM_CHOICE, 0, 0, "bucket", "bucket|use_encoded_value|error",
     "a category not seen in training: one past the last code, unknown_value, or an error"},
    {"unknown_value", ANOMA_PARAM_DOUBLE, -1e15, 1e15, "nan", "nan",
     "the code of an unseen category with handle_unknown=use_encoded_value: a whole number or nan"},
    {"encoded_missing_value", ANOMA_PARAM_DOUBLE, -1e15, 1e15, "nan", "nan",
     "the code of a missing value seen in training: a whole number or nan"},
};

typedef struct ordinal_column {
    char *name;
    an_categories cats;
    int missing_seen; /* training had missing values */
} ordinal_column;

typedef struct ordinal_state {
    char *columns;
    int handle_unknown;
    double unknown_value, missing_value;
    size_t n;
    ordinal_column *cols;
} ordinal_state;

static void ordinal_destroy(void *state)
{
    ordinal_state *s = state;
    for (size_t j = 0; j < s->n; j++) {
        an_free(s->cols[j].name);
        an_categories_free(&s->cols[j].cats);
    }
    an_free(s->cols);
    an_free(s->columns);
    an_free(s);
}

/* A code parameter: nan or a whole number. */
static anoma_status read_code(const an_params *params, const char *key, double *out)
{
    if (an_params_is(params, key, "nan")) {
        *out = NAN;
        return ANOMA_OK;
    }
    *out = an_params_double(params, key);
    if (*out != floor(*out))
        return an_error(ANOMA_ERR_PARAM_VALUE, "ordinal: %s=%s: expected a whole number or nan",
                        key, an_params_text(params, key));
    return ANOMA_OK;
}

static anoma_status ordinal_create(const an_params *params, void **state)
{
    ordinal_state *s = AN_NEW_ZEROED(ordinal_state, 1);
    if (!s)
        return an_no_memory();
    s->handle_unknown = an_params_choice(params, "handle_unknown");
    s->columns = an_strdup(an_params_text(params, "columns"));
    anoma_status st = s->columns ? ANOMA_OK : an_no_memory();
    if (st == ANOMA_OK)
        st = read_code(params, "unknown_value", &s->unknown_value);
    if (st == ANOMA_OK)
        st = read_code(params, "encoded_missing_value", &s->missing_value);
    if (st != ANOMA_OK) {
        ordinal_destroy(s);
        return st;
    }
    *state = s;
    return ANOMA_OK;
}

static anoma_status make_columns(ordinal_state *s, const an_schema *schema, const an_step_io *io)
{
    s->cols = AN_NEW_ZEROED(ordinal_column, io->n_inputs + 1);
    if (!s->cols)
        return an_no_memory();
    s->n = io->n_inputs;
    for (size_t j = 0; j < s->n; j++) {
        if (!(s->cols[j].name = an_strdup(schema->names[io->inputs[j]])))
            return an_no_memory();
    }
    return ANOMA_OK;
}

/* Codes 0 .. cardinality - 1 belong to training categories (missing last). */
static size_t cardinality(const ordinal_column *c)
{
    return c->cats.n + (c->missing_seen != 0);
}

static anoma_status check_codes(const ordinal_state *s, const ordinal_column *c)
{
    double card = (double)cardinality(c);
    if (s->handle_unknown == UNKNOWN_VALUE && s->unknown_value >= 0 && s->unknown_value < card)
        return an_error(ANOMA_ERR_INVALID_ARGUMENT, "ordinal: unknown_value=%g is already the code "
                        "of a training category of column '%s' (codes 0 to %g)", s->unknown_value,
                        c->name, card - 1);
    if (c->missing_seen && s->missing_value >= 0 && s->missing_value < card)
        return an_error(ANOMA_ERR_INVALID_ARGUMENT, "ordinal: encoded_missing_value=%g is already "
                        "the code of a training category of column '%s' (codes 0 to %g)",
                        s->missing_value, c->name, card - 1);
    return ANOMA_OK;
}

static anoma_status ordinal_fit(void *state, const an_step_fit_data *data, an_step_io *io)
{
    ordinal_state *s = state;
    AN_TRY(an_step_resolve_columns("ordinal", s->columns, data->schema, 1u << AN_CELL_TEXT, 0, io));
    AN_TRY(make_columns(s, data->schema, io));
    for (size_t j = 0; j < s->n; j++) {
        ordinal_column *c = &s->cols[j];
        AN_TRY(an_categories_fit(&c->cats, data->columns[io->inputs[j]], data->rows));
        c->missing_seen = c->cats.missing > 0;
        AN_TRY(check_codes(s, c));
        AN_TRY(an_step_io_add_output(io, AN_CELL_NUMBER, "%s", c->name));
    }
    return ANOMA_OK;
}

static anoma_status ordinal_transform(const void *state, const an_cell *const *in,
                                      an_cell *const *out, size_t rows, void *scratch,
                                      an_step_fault *fault)
{
    (void)scratch;
    const ordinal_state *s = state;
    for (size_t j = 0; j < s->n; j++) {
        const ordinal_column *c = &s->cols[j];
        double unknown = s->handle_unknown == UNKNOWN_VALUE ? s->unknown_value
                                                            : (double)cardinality(c);
        for (size_t i = 0; i < rows; i++) {
            const char *text = in[j][i].text;
            long code = text ? an_categories_find(&c->cats, text) : -1;
            if (code >= 0) {
                out[j][i].num = (double)code;
            } else if (!text && c->missing_seen) {
                out[j][i].num = s->missing_value;
            } else if (s->handle_unknown != UNKNOWN_ERROR) {
                out[j][i].num = unknown;
            } else {
                fault->row = i;
                if (!text)
                    return an_error(ANOMA_ERR_INVALID_ARGUMENT, "ordinal: column '%s': a missing "
                                    "value, never seen in training (handle_unknown=error)",
                                    c->name);
                return an_error(ANOMA_ERR_INVALID_ARGUMENT, "ordinal: column '%s': category "
                                "'%.200s' was not seen in training (handle_unknown=error)",
                                c->name, text);
            }
        }
    }
    return ANOMA_OK;
}

/* Payload 1: u64 n, then per column: u8 missing seen, its categories
 * (an_categories_save without counts). */
static anoma_status ordinal_save(const void *state, an_writer *w)
{
    const ordinal_state *s = state;
    an_put_u64(w, s->n);
    for (size_t j = 0; j < s->n; j++) {
        an_put_u8(w, (uint8_t)s->cols[j].missing_seen);
        an_categories_save(&s->cols[j].cats, w, 0);
    }
    return ANOMA_OK;
}

static anoma_status ordinal_load(void *state, an_reader *r, uint32_t version,
                                 const an_schema *schema, const an_step_io *io)
{
    ordinal_state *s = state;
    AN_TRY(an_load_column_count("ordinal", r, version, schema, io, AN_CELL_TEXT, 1, 9));
    size_t n = io->n_inputs;
    AN_TRY(make_columns(s, schema, io));
    for (size_t j = 0; j < n; j++) {
        ordinal_column *c = &s->cols[j];
        uint8_t seen = an_get_u8(r);
        AN_TRY(an_reader_status(r));
        if (seen > 1)
            return an_error(ANOMA_ERR_FORMAT, "model file: ordinal column '%s': bad missing mark",
                            c->name);
        c->missing_seen = seen;
        AN_TRY(an_categories_load(&c->cats, r, 0, "ordinal", c->name));
        AN_TRY(check_codes(s, c));
    }
    return ANOMA_OK;
}

static size_t ordinal_memory(const void *state)
{
    const ordinal_state *s = state;
    size_t bytes = sizeof *s + strlen(s->columns) + 1 + s->n * sizeof *s->cols;
    for (size_t j = 0; j < s->n; j++)
        bytes += strlen(s->cols[j].name) + 1 + an_categories_memory(&s->cols[j].cats);
    return bytes;
}

static void ordinal_describe(const void *state, an_strbuf *out)
{
    const ordinal_state *s = state;
    for (size_t j = 0; j < s->n; j++)
        an_strbuf_printf(out, "    %s: %zu categories%s -> codes\n", s->cols[j].name,
                         s->cols[j].cats.n, s->cols[j].missing_seen ? " and missing" : "");
}

const an_step_vtable an_ordinal_step = {
    .name = "ordinal",
    .refuses_rows = 1,
    .summary = "replace text columns by the number of their category (sorted order)",
    .params = ordinal_params,
    .n_params = sizeof ordinal_params / sizeof *ordinal_params,
    .payload_version = 1,
    .create = ordinal_create,
    .destroy = ordinal_destroy,
    .fit = ordinal_fit,
    .transform = ordinal_transform,
    .save = ordinal_save,
    .load = ordinal_load,
    .memory_bytes = ordinal_memory,
    .describe = ordinal_describe,
};
