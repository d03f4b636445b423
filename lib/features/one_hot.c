/* one_hot: one 0/1 number column per category of a text column, as
 * scikit-learn's OneHotEncoder(sparse_output=False).
 *
 * Fit, per consumed text column: its categories are the distinct texts,
 * sorted by byte (scikit-learn's order for str), then "missing" (a NULL
 * cell) last when the column has any -- scikit-learn also keeps None as the
 * last category. Rare categories are grouped as in scikit-learn:
 *   min_frequency: a category with fewer than min_frequency rows (a count
 *     when >= 1) or fewer than min_frequency * rows (a fraction when < 1)
 *     is infrequent;
 *   max_categories: when the frequent categories plus one exceed it, the
 *     least frequent ones (stable by category order) also become infrequent
 *     until max_categories - 1 remain.
 * Outputs, per column, in order: "col=value" for each frequent category
 * ("col=<missing>" for missing), "col=<infrequent>" when any category is
 * infrequent, then "col=<unseen>" when unseen=bucket.
 * Transform: a value sets its category's column to 1 and the others to 0.
 * A value not seen in training (including missing when training had none)
 * sets "col=<unseen>" (unseen=bucket, the default), sets nothing
 * (unseen=ignore, scikit-learn's handle_unknown="ignore") or is an error
 * naming the column, the value and the row (unseen=error).
 * Definitions: docs/features.md. */
#include "features/categories.h"
#include "features/column_stats.h"
#include "core/alloc.h"
#include "core/error.h"

#include <math.h>
#include <string.h>

enum { UNSEEN_BUCKET = 0, UNSEEN_IGNORE = 1, UNSEEN_ERROR = 2 };
/* Where the missing value went in training. */
enum { MISSING_ABSENT = 0, MISSING_FREQUENT = 1, MISSING_INFREQUENT = 2 };
enum { NO_SLOT = -1 };

static const anoma_param_info onehot_params[] = {
    {"columns", ANOMA_PARAM_TEXT, 0, 0, "", "",
     "text columns to encode, comma-separated (default: every text column)"},
    {"min_frequency", ANOMA_PARAM_DOUBLE, 0, 1e15, "none", "none",
     "categories seen in fewer rows are infrequent: a count when >= 1, a fraction of the rows "
     "when < 1"},
    {"max_categories", ANOMA_PARAM_INT, 2, 1e9, "none", "none",
     "at most this many output columns per input column, the infrequent one included"},
    {"unseen", ANOMA_PARAM_CHOICE, 0, 0, "bucket", "bucket|ignore|error",
     "a category not seen in training: its own <unseen> column, all zeros, or an error"},
};

typedef struct onehot_column {
    char *name;          /* the input column's name, for messages */
    an_categories cats;  /* without counts after a load */
    unsigned char *infrequent; /* per category */
    int missing;               /* MISSING_* */
    /* the layout, derived from the above */
    long *slot;                /* per category: output offset */
    long missing_slot, unseen_slot; /* offset or NO_SLOT */
    size_t first_output, n_outputs;
} onehot_column;

typedef struct onehot_state {
    char *columns;
    double min_frequency; /* 0 = none */
    long long max_categories; /* 0 = none */
    int unseen;
    size_t n;
    onehot_column *cols;
} onehot_state;

static anoma_status onehot_create(const an_params *params, void **state)
{
    onehot_state *s = AN_NEW_ZEROED(onehot_state, 1);
    if (!s)
        return an_no_memory();
    s->min_frequency = an_params_is(params, "min_frequency", "none")
                           ? 0
                           : an_params_double(params, "min_frequency");
    s->max_categories = an_params_is(params, "max_categories", "none")
                            ? 0
                            : an_params_int(params, "max_categories");
    s->unseen = an_params_choice(params, "unseen");
    s->columns = an_strdup(an_params_text(params, "columns"));
    if (!s->columns) {
        an_free(s);
        return an_no_memory();
    }
    *state = s;
    return ANOMA_OK;
}

static void free_column(onehot_column *c)
{
    an_categories_free(&c->cats);
    an_free(c->infrequent);
    an_free(c->slot);
    an_free(c->name);
}

static void onehot_destroy(void *state)
{
    onehot_state *s = state;
    for (size_t j = 0; j < s->n; j++)
        free_column(&s->cols[j]);
    an_free(s->cols);
    an_free(s->columns);
    an_free(s);
}

/* Output offsets from the categories and their infrequent marks. */
static anoma_status lay_out(onehot_column *c, int unseen)
{
    an_free(c->slot);
    c->slot = AN_NEW_ARRAY(long, c->cats.n ? c->cats.n : 1);
    if (!c->slot)
        return an_no_memory();
    size_t next = 0;
    int any_infrequent = c->missing == MISSING_INFREQUENT;
    for (size_t k = 0; k < c->cats.n; k++) {
        if (c->infrequent[k])
            any_infrequent = 1;
        else
            c->slot[k] = (long)next++;
    }
    c->missing_slot = c->missing == MISSING_FREQUENT ? (long)next++ : NO_SLOT;
    long infrequent_slot = any_infrequent ? (long)next++ : NO_SLOT;
    for (size_t k = 0; k < c->cats.n; k++)
        if (c->infrequent[k])
            c->slot[k] = infrequent_slot;
    if (c->missing == MISSING_INFREQUENT)
        c->missing_slot = infrequent_slot;
    c->unseen_slot = unseen == UNSEEN_BUCKET ? (long)next++ : NO_SLOT;
    c->n_outputs = next;
    return ANOMA_OK;
}

static anoma_status declare_outputs(const onehot_column *c, an_step_io *io)
{
    int any_infrequent = 0;
    for (size_t k = 0; k < c->cats.n; k++) {
        if (c->infrequent[k])
            any_infrequent = 1;
        else
            AN_TRY(an_step_io_add_output(io, AN_CELL_NUMBER, "%s=%s", c->name, c->cats.texts[k]));
    }
    if (c->missing == MISSING_FREQUENT)
        AN_TRY(an_step_io_add_output(io, AN_CELL_NUMBER, "%s=<missing>", c->name));
    if (any_infrequent || c->missing == MISSING_INFREQUENT)
        AN_TRY(an_step_io_add_output(io, AN_CELL_NUMBER, "%s=<infrequent>", c->name));
    if (c->unseen_slot != NO_SLOT)
        AN_TRY(an_step_io_add_output(io, AN_CELL_NUMBER, "%s=<unseen>", c->name));
    return ANOMA_OK;
}

/* scikit-learn's _identify_infrequent over counts in category order
 * (missing last when present). */
static void mark_infrequent(const onehot_state *s, const size_t *count, size_t n, size_t rows,
                            unsigned char *mark, size_t *order)
{
    size_t frequent = n;
    for (size_t k = 0; k < n; k++) {
        mark[k] = 0;
        if (s->min_frequency >= 1)
            mark[k] = (double)count[k] < s->min_frequency;
        else if (s->min_frequency > 0)
            mark[k] = (double)count[k] < s->min_frequency * (double)rows;
        frequent -= mark[k];
    }
    if (!s->max_categories || (size_t)s->max_categories >= frequent + 1)
        return;
    /* stable ascending order of counts: insertion sort (fit time, few categories) */
    for (size_t k = 0; k < n; k++) {
        size_t i = k;
        while (i > 0 && count[order[i - 1]] > count[k]) {
            order[i] = order[i - 1];
            i--;
        }
        order[i] = k;
    }
    size_t demote = n - (size_t)s->max_categories + 1;
    for (size_t k = 0; k < demote && k < n; k++)
        mark[order[k]] = 1;
}

static anoma_status fit_column(const onehot_state *s, onehot_column *c, const an_cell *col,
                               size_t rows)
{
    AN_TRY(an_categories_fit(&c->cats, col, rows));
    size_t distinct = c->cats.n, total = distinct + (c->cats.missing > 0);
    /* counts in category order, missing last; then room for mark_infrequent's order */
    size_t *count = AN_NEW_ZEROED(size_t, 2 * total + 1);
    unsigned char *mark = AN_NEW_ZEROED(unsigned char, total + 1);
    c->infrequent = AN_NEW_ZEROED(unsigned char, distinct + 1);
    anoma_status st = count && mark && c->infrequent ? ANOMA_OK : an_no_memory();
    if (st == ANOMA_OK) {
        memcpy(count, c->cats.counts, distinct * sizeof *count);
        if (c->cats.missing)
            count[distinct] = c->cats.missing;
        mark_infrequent(s, count, total, rows, mark, count + total);
        c->missing = !c->cats.missing ? MISSING_ABSENT : mark[distinct] ? MISSING_INFREQUENT
                                                                         : MISSING_FREQUENT;
        memcpy(c->infrequent, mark, distinct);
    }
    an_free(count);
    an_free(mark);
    return st;
}

static anoma_status make_columns(onehot_state *s, const an_schema *schema, const an_step_io *io)
{
    s->cols = AN_NEW_ZEROED(onehot_column, io->n_inputs ? io->n_inputs : 1);
    if (!s->cols)
        return an_no_memory();
    s->n = io->n_inputs;
    for (size_t j = 0; j < s->n; j++)
        if (!(s->cols[j].name = an_strdup(schema->names[io->inputs[j]])))
            return an_no_memory();
    return ANOMA_OK;
}

static anoma_status onehot_fit(void *state, const an_step_fit_data *data, an_step_io *io)
{
    onehot_state *s = state;
    AN_TRY(an_step_resolve_columns("one_hot", s->columns, data->schema, 1u << AN_CELL_TEXT, 0, io));
    AN_TRY(make_columns(s, data->schema, io));
    size_t first = 0;
    for (size_t j = 0; j < s->n; j++) {
        onehot_column *c = &s->cols[j];
        AN_TRY(fit_column(s, c, data->columns[io->inputs[j]], data->rows));
        AN_TRY(lay_out(c, s->unseen));
        AN_TRY(declare_outputs(c, io));
        c->first_output = first;
        first += c->n_outputs;
    }
    return ANOMA_OK;
}

/* Output offset of a text, NO_SLOT when not seen in training. */
static long find_slot(const onehot_column *c, const char *text)
{
    if (!text)
        return c->missing_slot;
    long k = an_categories_find(&c->cats, text);
    if (k >= 0)
        return c->slot[k];
    return NO_SLOT;
}

static anoma_status onehot_transform(const void *state, const an_cell *const *in,
                                     an_cell *const *out, size_t rows, void *scratch,
                                     an_step_fault *fault)
{
    (void)scratch;
    const onehot_state *s = state;
    for (size_t j = 0; j < s->n; j++) {
        const onehot_column *c = &s->cols[j];
        an_cell *const *o = out + c->first_output;
        for (size_t i = 0; i < rows; i++) {
            for (size_t k = 0; k < c->n_outputs; k++) /* row by row: no call per column */
                o[k][i].num = 0;
            long slot = find_slot(c, in[j][i].text);
            if (slot == NO_SLOT)
                slot = c->unseen_slot;
            if (slot != NO_SLOT) {
                o[slot][i].num = 1;
            } else if (s->unseen == UNSEEN_ERROR) {
                fault->row = i;
                if (!in[j][i].text)
                    return an_error(ANOMA_ERR_INVALID_ARGUMENT, "one_hot: column '%s': a missing "
                                    "value, never seen in training (unseen=error)", c->name);
                return an_error(ANOMA_ERR_INVALID_ARGUMENT, "one_hot: column '%s': category '%.200s' "
                                "was not seen in training (unseen=error)", c->name, in[j][i].text);
            }
        }
    }
    return ANOMA_OK;
}

static anoma_status onehot_save(const void *state, an_writer *w)
{
    const onehot_state *s = state;
    an_put_u64(w, s->n);
    for (size_t j = 0; j < s->n; j++) {
        const onehot_column *c = &s->cols[j];
        an_put_u8(w, (uint8_t)c->missing);
        an_put_u64(w, c->cats.n);
        for (size_t k = 0; k < c->cats.n; k++) {
            an_put_str(w, c->cats.texts[k]);
            an_put_u8(w, c->infrequent[k]);
        }
    }
    return ANOMA_OK;
}

static anoma_status load_column(onehot_column *c, an_reader *r)
{
    uint8_t missing = an_get_u8(r);
    size_t n = an_get_count(r, (size_t)1 << 32, 5); /* 4-byte length + 1-byte mark at least */
    AN_TRY(an_reader_status(r));
    if (missing > MISSING_INFREQUENT)
        return an_error(ANOMA_ERR_FORMAT, "model file: one_hot column '%s': bad missing mark",
                        c->name);
    c->missing = missing;
    c->cats.texts = AN_NEW_ZEROED(char *, n + 1);
    c->infrequent = AN_NEW_ZEROED(unsigned char, n + 1);
    if (!c->cats.texts || !c->infrequent)
        return an_no_memory();
    for (size_t k = 0; k < n; k++) {
        c->cats.texts[k] = an_get_str(r);
        c->infrequent[k] = an_get_u8(r);
        AN_TRY(an_reader_status(r));
        c->cats.n++;
        if (c->infrequent[k] > 1 || (k && strcmp(c->cats.texts[k - 1], c->cats.texts[k]) >= 0))
            return an_error(ANOMA_ERR_FORMAT, "model file: one_hot column '%s': categories are "
                            "not sorted and distinct", c->name);
    }
    return an_categories_index(&c->cats);
}

static anoma_status onehot_load(void *state, an_reader *r, uint32_t version,
                                const an_schema *schema, const an_step_io *io)
{
    onehot_state *s = state;
    AN_TRY(an_load_column_count("one_hot", r, version, schema, io, AN_CELL_TEXT, 0, 9));
    size_t n = io->n_inputs;
    AN_TRY(make_columns(s, schema, io));
    size_t first = 0;
    for (size_t j = 0; j < n; j++) {
        onehot_column *c = &s->cols[j];
        AN_TRY(load_column(c, r));
        AN_TRY(lay_out(c, s->unseen));
        c->first_output = first;
        first += c->n_outputs;
    }
    if (first != io->n_outputs)
        return an_error(ANOMA_ERR_FORMAT, "model file: one_hot makes %zu columns, the file lists "
                        "%zu", first, io->n_outputs);
    for (size_t k = 0; k < io->n_outputs; k++)
        if (io->output_types[k] != AN_CELL_NUMBER)
            return an_error(ANOMA_ERR_FORMAT, "model file: one_hot output %zu is not a number", k);
    return ANOMA_OK;
}

static size_t onehot_memory(const void *state)
{
    const onehot_state *s = state;
    size_t bytes = sizeof *s + s->n * sizeof *s->cols;
    for (size_t j = 0; j < s->n; j++) {
        const onehot_column *c = &s->cols[j];
        bytes += strlen(c->name) + 1 + an_categories_memory(&c->cats) +
                 c->cats.n * (1 + sizeof(long));
    }
    return bytes;
}

static void onehot_describe(const void *state, an_strbuf *out)
{
    const onehot_state *s = state;
    for (size_t j = 0; j < s->n; j++) {
        const onehot_column *c = &s->cols[j];
        size_t rare = 0;
        for (size_t k = 0; k < c->cats.n; k++)
            rare += c->infrequent[k];
        an_strbuf_printf(out, "    %s: %zu categories (%zu infrequent)%s -> %zu columns\n", c->name,
                         c->cats.n, rare, c->missing ? " and missing" : "", c->n_outputs);
    }
}

const an_step_vtable an_one_hot_step = {
    .name = "one_hot",
    .refuses_rows = 1,
    .summary = "one 0/1 column per category of text columns; rare and unseen ones grouped",
    .params = onehot_params,
    .n_params = sizeof onehot_params / sizeof *onehot_params,
    .payload_version = 1,
    .create = onehot_create,
    .destroy = onehot_destroy,
    .fit = onehot_fit,
    .transform = onehot_transform,
    .save = onehot_save,
    .load = onehot_load,
    .memory_bytes = onehot_memory,
    .describe = onehot_describe,
};
