/* imputer: fill missing values, as scikit-learn's SimpleImputer.
 *
 * strategy, per consumed column, learnt from its non-missing training values:
 *   mean           numpy's mean (number columns)
 *   median         numpy's median (number columns)
 *   most_frequent  the most common value, the smallest among ties (number
 *                  and text columns)
 *   constant       fill_value (default 0 for numbers, "missing_value" for text)
 * A column with no value in training (every cell missing) is dropped, as
 * scikit-learn 1.2 does, unless keep_empty_features=true, which fills it
 * with 0 (scikit-learn's rule; a text column cannot take 0 and is an error).
 * With strategy=constant every column is kept.
 * Outputs: the kept columns under their own names, then, with
 * add_indicator=true, "NAME_missing" (1 when missing, else 0) for each
 * consumed column that had a missing value in training -- scikit-learn's
 * MissingIndicator(features="missing-only"), dropped columns included.
 * Text columns are filled by pointer: the fill text belongs to the step.
 * Definitions: docs/features.md. */
#include "features/categories.h"
#include "features/column_stats.h"
#include "features/missing.h"
#include "core/alloc.h"
#include "core/error.h"
#include "core/quoting.h"
#include "core/stats.h"

#include <string.h>

enum { MEAN = 0, MEDIAN = 1, MOST_FREQUENT = 2, CONSTANT = 3 };

static const anoma_param_info imputer_params[] = {
    {"columns", ANOMA_PARAM_TEXT, 0, 0, "", "",
     "columns to fill, comma-separated (default: every number column; text columns may be named "
     "with most_frequent and constant)"},
    {"strategy", ANOMA_PARAM_CHOICE, 0, 0, "mean", "mean|median|most_frequent|constant",
     "what fills a missing value"},
    {"fill_value", ANOMA_PARAM_TEXT, 0, 0, "", "",
     "the value for strategy=constant (default 0 for numbers, missing_value for text)"},
    {"add_indicator", ANOMA_PARAM_BOOL, 0, 0, "false", "",
     "add a 0/1 column NAME_missing for each column that had missing values in training"},
    {"keep_empty_features", ANOMA_PARAM_BOOL, 0, 0, "false", "",
     "keep a column with no value in training, filled with 0, instead of dropping it"},
};

typedef struct imputed_column {
    an_cell_type type;
    unsigned char kept;      /* has an output */
    unsigned char indicator; /* has an indicator output */
    double fill;             /* number columns */
    char *fill_text;         /* text columns, owned */
} imputed_column;

typedef struct imputer_state {
    char *columns, *fill_value;
    int strategy, add_indicator, keep_empty;
    size_t n;
    imputed_column *cols;
    size_t n_kept;
} imputer_state;

static void free_columns(imputer_state *s)
{
    for (size_t k = 0; k < s->n; k++)
        an_free(s->cols[k].fill_text);
    an_free(s->cols);
    s->cols = NULL;
    s->n = s->n_kept = 0;
}

static void imputer_destroy(void *state)
{
    imputer_state *s = state;
    free_columns(s);
    an_free(s->columns);
    an_free(s->fill_value);
    an_free(s);
}

static anoma_status imputer_create(const an_params *params, void **state)
{
    imputer_state *s = AN_NEW_ZEROED(imputer_state, 1);
    if (!s)
        return an_no_memory();
    s->strategy = an_params_choice(params, "strategy");
    s->add_indicator = an_params_bool(params, "add_indicator");
    s->keep_empty = an_params_bool(params, "keep_empty_features");
    s->columns = an_strdup(an_params_text(params, "columns"));
    s->fill_value = an_unquote(an_params_text(params, "fill_value"));
    if (!s->columns || !s->fill_value) {
        imputer_destroy(s);
        return an_no_memory();
    }
    *state = s;
    return ANOMA_OK;
}

/* The most common of n sorted values, the smallest among ties (n >= 1). */
static double mode_of_sorted(const double *v, size_t n)
{
    double best = v[0];
    size_t best_run = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i + 1;
        while (j < n && v[j] == v[i])
            j++;
        if (j - i > best_run) {
            best_run = j - i;
            best = v[i];
        }
        i = j;
    }
    return best;
}

static anoma_status fit_number(const imputer_state *s, imputed_column *c, const char *name,
                               const an_cell *col, size_t rows, double *v)
{
    size_t n = an_present_values(col, rows, v);
    c->kept = 1;
    if (s->strategy == CONSTANT) {
        if (!*s->fill_value)
            c->fill = 0;
        else if (!an_parse_double(s->fill_value, &c->fill))
            return an_error(ANOMA_ERR_INVALID_ARGUMENT, "imputer: fill_value=%s is not a number, "
                            "and column '%s' is a number column", s->fill_value, name);
    } else if (!n) {
        c->kept = (unsigned char)s->keep_empty;
        c->fill = 0;
    } else if (s->strategy == MEAN) {
        c->fill = an_mean(v, n);
    } else if (s->strategy == MEDIAN) {
        c->fill = an_median(v, n);
    } else {
        an_sort_doubles(v, n);
        c->fill = mode_of_sorted(v, n);
    }
    return ANOMA_OK;
}

static anoma_status fit_text(const imputer_state *s, imputed_column *c, const char *name,
                             const an_cell *col, size_t rows)
{
    c->kept = 1;
    if (s->strategy == CONSTANT) {
        c->fill_text = an_strdup(*s->fill_value ? s->fill_value : "missing_value");
        return c->fill_text ? ANOMA_OK : an_no_memory();
    }
    an_categories cats = {0};
    anoma_status st = an_categories_fit(&cats, col, rows);
    if (st == ANOMA_OK && cats.n) {
        c->fill_text = an_strdup(cats.texts[an_categories_mode(&cats)]);
        if (!c->fill_text)
            st = an_no_memory();
    } else if (st == ANOMA_OK && s->keep_empty) {
        st = an_error(ANOMA_ERR_INVALID_ARGUMENT, "imputer: text column '%s' has no value in "
                      "training, and keep_empty_features cannot fill text with 0 (use "
                      "strategy=constant)", name);
    } else {
        c->kept = 0;
    }
    an_categories_free(&cats);
    return st;
}

static anoma_status declare_outputs(const imputer_state *s, const an_schema *schema,
                                    an_step_io *io)
{
    for (size_t k = 0; k < s->n; k++)
        if (s->cols[k].kept)
            AN_TRY(an_step_io_add_output(io, s->cols[k].type, "%s", schema->names[io->inputs[k]]));
    for (size_t k = 0; k < s->n; k++)
        if (s->cols[k].indicator)
            AN_TRY(an_step_io_add_output(io, AN_CELL_NUMBER, "%s_missing",
                                         schema->names[io->inputs[k]]));
    return ANOMA_OK;
}

static anoma_status imputer_fit(void *state, const an_step_fit_data *data, an_step_io *io)
{
    imputer_state *s = state;
    unsigned accepted = 1u << AN_CELL_NUMBER;
    if (*s->columns && (s->strategy == MOST_FREQUENT || s->strategy == CONSTANT))
        accepted |= 1u << AN_CELL_TEXT;
    AN_TRY(an_step_resolve_columns("imputer", s->columns, data->schema, accepted, 0, io));
    s->cols = AN_NEW_ZEROED(imputed_column, io->n_inputs + 1);
    double *v = AN_NEW_ARRAY(double, data->rows + 1);
    anoma_status st = s->cols && v ? ANOMA_OK : an_no_memory();
    if (st == ANOMA_OK)
        s->n = io->n_inputs;
    for (size_t k = 0; k < s->n && st == ANOMA_OK; k++) {
        imputed_column *c = &s->cols[k];
        const an_cell *col = data->columns[io->inputs[k]];
        const char *name = data->schema->names[io->inputs[k]];
        c->type = data->schema->types[io->inputs[k]];
        c->indicator = s->add_indicator && an_column_has_missing(c->type, col, data->rows);
        st = c->type == AN_CELL_TEXT ? fit_text(s, c, name, col, data->rows)
                                     : fit_number(s, c, name, col, data->rows, v);
        s->n_kept += c->kept;
    }
    an_free(v);
    return st == ANOMA_OK ? declare_outputs(s, data->schema, io) : st;
}

static anoma_status imputer_transform(const void *state, const an_cell *const *in,
                                      an_cell *const *out, size_t rows, void *scratch,
                                      an_step_fault *fault)
{
    (void)scratch;
    (void)fault;
    const imputer_state *s = state;
    size_t o = 0;
    for (size_t k = 0; k < s->n; k++) {
        const imputed_column *c = &s->cols[k];
        if (!c->kept)
            continue;
        const an_cell *x = in[k];
        an_cell *y = out[o++];
        if (c->type == AN_CELL_TEXT)
            for (size_t i = 0; i < rows; i++)
                y[i].text = x[i].text ? x[i].text : c->fill_text;
        else
            for (size_t i = 0; i < rows; i++)
                y[i].num = isnan(x[i].num) ? c->fill : x[i].num;
    }
    for (size_t k = 0; k < s->n; k++)
        if (s->cols[k].indicator)
            an_missing_indicator(s->cols[k].type, in[k], out[o++], rows);
    return ANOMA_OK;
}

/* Payload 1: u64 n, then per column: u8 kept, u8 indicator, then the fill:
 * a double for a number column, a text for a kept text column. */
static anoma_status imputer_save(const void *state, an_writer *w)
{
    const imputer_state *s = state;
    an_put_u64(w, s->n);
    for (size_t k = 0; k < s->n; k++) {
        const imputed_column *c = &s->cols[k];
        an_put_u8(w, c->kept);
        an_put_u8(w, c->indicator);
        if (c->type == AN_CELL_NUMBER)
            an_put_f64(w, c->fill);
        else if (c->kept)
            an_put_str(w, c->fill_text);
    }
    return ANOMA_OK;
}

static anoma_status imputer_load(void *state, an_reader *r, uint32_t version,
                                 const an_schema *schema, const an_step_io *io)
{
    imputer_state *s = state;
    if (version != 1)
        return an_error(ANOMA_ERR_VERSION, "imputer: payload version %u is not known", version);
    size_t n = an_get_count(r, io->n_inputs, 2);
    AN_TRY(an_reader_status(r));
    if (n != io->n_inputs)
        return an_error(ANOMA_ERR_FORMAT, "model file: imputer has %zu columns, its inputs %zu", n,
                        io->n_inputs);
    if (!(s->cols = AN_NEW_ZEROED(imputed_column, n + 1)))
        return an_no_memory();
    s->n = n;
    for (size_t k = 0; k < n; k++) {
        imputed_column *c = &s->cols[k];
        c->type = schema->types[io->inputs[k]];
        c->kept = an_get_u8(r);
        c->indicator = an_get_u8(r);
        if (c->type == AN_CELL_NUMBER)
            c->fill = an_get_f64(r);
        else if (c->kept)
            c->fill_text = an_get_str(r);
        AN_TRY(an_reader_status(r));
        if (c->kept > 1 || c->indicator > 1 || io->keep[k] || c->type == AN_CELL_TIMESTAMP ||
            (c->type == AN_CELL_NUMBER && !isfinite(c->fill)))
            return an_error(ANOMA_ERR_FORMAT, "model file: imputer column %zu is not valid", k);
        s->n_kept += c->kept;
    }
    /* the outputs must be what declare_outputs would make */
    size_t o = 0;
    for (size_t pass = 0; pass < 2; pass++)
        for (size_t k = 0; k < n; k++)
            if (pass ? s->cols[k].indicator : s->cols[k].kept) {
                an_cell_type want = pass ? AN_CELL_NUMBER : s->cols[k].type;
                if (o >= io->n_outputs || io->output_types[o] != want)
                    return an_error(ANOMA_ERR_FORMAT, "model file: imputer outputs do not match "
                                    "its columns");
                o++;
            }
    if (o != io->n_outputs)
        return an_error(ANOMA_ERR_FORMAT, "model file: imputer makes %zu columns, the file lists "
                        "%zu", o, io->n_outputs);
    return ANOMA_OK;
}

static size_t imputer_memory(const void *state)
{
    const imputer_state *s = state;
    size_t bytes = sizeof *s + strlen(s->columns) + strlen(s->fill_value) + 2 +
                   s->n * sizeof *s->cols;
    for (size_t k = 0; k < s->n; k++)
        if (s->cols[k].fill_text)
            bytes += strlen(s->cols[k].fill_text) + 1;
    return bytes;
}

static void imputer_describe(const void *state, an_strbuf *out)
{
    static const char *const names[] = {"mean", "median", "most_frequent", "constant"};
    const imputer_state *s = state;
    size_t indicators = 0;
    for (size_t k = 0; k < s->n; k++)
        indicators += s->cols[k].indicator;
    an_strbuf_printf(out, "    %zu columns filled (%s), %zu dropped as empty, %zu indicators\n",
                     s->n_kept, names[s->strategy], s->n - s->n_kept, indicators);
}

const an_step_vtable an_imputer_step = {
    .name = "imputer",
    .summary = "fill missing values with the mean, median, most frequent value or a constant",
    .params = imputer_params,
    .n_params = sizeof imputer_params / sizeof *imputer_params,
    .payload_version = 1,
    .create = imputer_create,
    .destroy = imputer_destroy,
    .fit = imputer_fit,
    .transform = imputer_transform,
    .save = imputer_save,
    .load = imputer_load,
    .memory_bytes = imputer_memory,
    .describe = imputer_describe,
};
