/* select: keep some columns and drop the others, by name or by type.
 *
 *   columns=a,b   keep these columns, in this order
 *   types=t,u     keep the columns of these types (number, text, timestamp)
 *   drop=c,d      drop these columns
 * Given together, a column is kept when it passes every filter given:
 * listed in columns (when given), of a listed type (when given), and not
 * dropped. Output order: the order of columns= when given, else the input
 * order. Naming a column that does not exist is a fit error; keeping nothing
 * is a fit error. Cells are passed through unchanged (text by pointer). */
#include "features/step.h"
#include "core/alloc.h"
#include "core/error.h"

#include <string.h>

static const anoma_param_info select_params[] = {
    {"columns", ANOMA_PARAM_TEXT, 0, 0, "", "", "columns to keep, comma-separated, in this order"},
    {"types", ANOMA_PARAM_TEXT, 0, 0, "", "",
     "types of the columns to keep, comma-separated: number, text, timestamp"},
    {"drop", ANOMA_PARAM_TEXT, 0, 0, "", "", "columns to drop, comma-separated"},
};

typedef struct select_state {
    char *columns, *drop;
    unsigned types; /* mask of 1u << an_cell_type; 0 = any */
    size_t n_out;
    size_t *source; /* per output: position among the step's inputs */
} select_state;

static anoma_status parse_types(const char *text, unsigned *mask)
{
    *mask = 0;
    for (const char *p = text; *p;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        int found = 0;
        for (int t = AN_CELL_NUMBER; t <= AN_CELL_TIMESTAMP; t++) {
            const char *name = an_cell_type_name((an_cell_type)t);
            if (strlen(name) == len && !strncmp(name, p, len)) {
                *mask |= 1u << t;
                found = 1;
            }
        }
        if (!found)
            return an_error(ANOMA_ERR_PARAM_VALUE, "select: types=%s: '%.*s' is not one of number, "
                            "text, timestamp", text, (int)len, p);
        p = comma ? comma + 1 : p + len;
    }
    return ANOMA_OK;
}

static void select_destroy(void *state)
{
    select_state *s = state;
    an_free(s->columns);
    an_free(s->drop);
    an_free(s->source);
    an_free(s);
}

static anoma_status select_create(const an_params *params, void **state)
{
    select_state *s = AN_NEW_ZEROED(select_state, 1);
    if (!s)
        return an_no_memory();
    anoma_status st = parse_types(an_params_text(params, "types"), &s->types);
    s->columns = an_strdup(an_params_text(params, "columns"));
    s->drop = an_strdup(an_params_text(params, "drop"));
    if (st == ANOMA_OK && (!s->columns || !s->drop))
        st = an_no_memory();
    if (st != ANOMA_OK) {
        select_destroy(s);
        return st;
    }
    *state = s;
    return ANOMA_OK;
}

static anoma_status select_fit(void *state, const an_step_fit_data *data, an_step_io *io)
{
    select_state *s = state;
    const an_schema *schema = data->schema;
    const unsigned any = (1u << AN_CELL_NUMBER) | (1u << AN_CELL_TEXT) | (1u << AN_CELL_TIMESTAMP);
    /* Which columns are kept, in output order (resolved like any step's columns=). */
    an_step_io kept = {0}, dropped = {0};
    anoma_status st = an_step_resolve_columns("select", s->columns, schema, any, 0, &kept);
    if (st == ANOMA_OK && *s->drop)
        st = an_step_resolve_columns("select", s->drop, schema, any, 0, &dropped);
    /* Every column is consumed; the kept ones come back as outputs. */
    for (size_t j = 0; j < schema->n && st == ANOMA_OK; j++)
        st = an_step_io_add_input(io, j, 0);
    s->source = AN_NEW_ARRAY(size_t, kept.n_inputs ? kept.n_inputs : 1);
    if (st == ANOMA_OK && !s->source)
        st = an_no_memory();
    for (size_t k = 0; k < kept.n_inputs && st == ANOMA_OK; k++) {
        size_t j = kept.inputs[k];
        int drop = s->types && !(s->types & (1u << schema->types[j]));
        for (size_t d = 0; d < dropped.n_inputs; d++)
            drop |= dropped.inputs[d] == j;
        if (drop)
            continue;
        s->source[s->n_out++] = j;
        st = an_step_io_add_output(io, schema->types[j], "%s", schema->names[j]);
    }
    if (st == ANOMA_OK && !s->n_out)
        st = an_error(ANOMA_ERR_INVALID_ARGUMENT, "select: no column is left");
    an_step_io_free(&kept);
    an_step_io_free(&dropped);
    return st;
}

static anoma_status select_transform(const void *state, const an_cell *const *in,
                                     an_cell *const *out, size_t rows, void *scratch,
                                     an_step_fault *fault)
{
    (void)scratch;
    (void)fault;
    const select_state *s = state;
    for (size_t k = 0; k < s->n_out; k++)
        memcpy(out[k], in[s->source[k]], rows * sizeof(an_cell));
    return ANOMA_OK;
}

static const size_t *select_passthrough(const void *state)
{
    return ((const select_state *)state)->source;
}

static anoma_status select_save(const void *state, an_writer *w)
{
    const select_state *s = state;
    an_put_u64(w, s->n_out);
    for (size_t k = 0; k < s->n_out; k++)
        an_put_u64(w, s->source[k]);
    return ANOMA_OK;
}

static anoma_status select_load(void *state, an_reader *r, uint32_t version,
                                const an_schema *schema, const an_step_io *io)
{
    select_state *s = state;
    if (version != 1)
        return an_error(ANOMA_ERR_VERSION, "select: payload version %u is not known", version);
    size_t n = an_get_count(r, io->n_inputs, 8);
    AN_TRY(an_reader_status(r));
    if (n != io->n_outputs || !n || io->n_inputs != schema->n)
        return an_error(ANOMA_ERR_FORMAT, "model file: select keeps %zu columns, the file lists %zu",
                        n, io->n_outputs);
    s->source = AN_NEW_ARRAY(size_t, n);
    if (!s->source)
        return an_no_memory();
    for (size_t k = 0; k < n; k++) {
        uint64_t j = an_get_u64(r);
        AN_TRY(an_reader_status(r));
        if (j >= io->n_inputs || schema->types[j] != io->output_types[k])
            return an_error(ANOMA_ERR_FORMAT, "model file: select output %zu has a bad source", k);
        s->source[k] = (size_t)j;
    }
    s->n_out = n;
    return ANOMA_OK;
}

static size_t select_memory(const void *state)
{
    const select_state *s = state;
    return sizeof *s + s->n_out * sizeof(size_t) + strlen(s->columns) + strlen(s->drop) + 2;
}

static void select_describe(const void *state, an_strbuf *out)
{
    const select_state *s = state;
    an_strbuf_printf(out, "    keeps %zu columns\n", s->n_out);
}

const an_step_vtable an_select_step = {
    .name = "select",
    .summary = "keep columns by name or type, or drop some",
    .params = select_params,
    .n_params = sizeof select_params / sizeof *select_params,
    .payload_version = 1,
    .create = select_create,
    .destroy = select_destroy,
    .fit = select_fit,
    .transform = select_transform,
    .passthrough = select_passthrough,
    .save = select_save,
    .load = select_load,
    .memory_bytes = select_memory,
    .describe = select_describe,
};

