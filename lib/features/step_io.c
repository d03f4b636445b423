/* What a step reads and makes: the an_step_io helpers and the one way every
 * step resolves its `columns=` parameter. */
#include "features/step.h"
#include "core/alloc.h"
#include "core/error.h"
#include "core/quoting.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *an_cell_type_name(an_cell_type type)
{
    switch (type) {
    case AN_CELL_NUMBER:
        return "number";
    case AN_CELL_TEXT:
        return "text";
    case AN_CELL_TIMESTAMP:
        return "timestamp";
    }
    return "unknown";
}

anoma_status an_step_io_add_input(an_step_io *io, size_t position, int keep)
{
    size_t *inputs = an_realloc_array(io->inputs, io->n_inputs + 1, sizeof *inputs);
    if (!inputs)
        return an_no_memory();
    io->inputs = inputs;
    unsigned char *keeps = an_realloc_array(io->keep, io->n_inputs + 1, 1);
    if (!keeps)
        return an_no_memory();
    io->keep = keeps;
    io->inputs[io->n_inputs] = position;
    io->keep[io->n_inputs] = keep != 0;
    io->n_inputs++;
    return ANOMA_OK;
}

anoma_status an_step_io_add_output(an_step_io *io, an_cell_type type, const char *fmt, ...)
{
    va_list args;
    va_start(args, fmt);
    int len = vsnprintf(NULL, 0, fmt, args);
    va_end(args);
    if (len < 0)
        return an_error(ANOMA_ERR_INTERNAL, "output name cannot be formatted");
    char *name = an_malloc((size_t)len + 1);
    if (!name)
        return an_no_memory();
    va_start(args, fmt);
    vsnprintf(name, (size_t)len + 1, fmt, args);
    va_end(args);
    char **names = an_realloc_array(io->output_names, io->n_outputs + 1, sizeof *names);
    an_cell_type *types = names ? an_realloc_array(io->output_types, io->n_outputs + 1,
                                                   sizeof *types)
                                : NULL;
    if (names)
        io->output_names = names;
    if (!types) {
        an_free(name);
        return an_no_memory();
    }
    io->output_types = types;
    io->output_names[io->n_outputs] = name;
    io->output_types[io->n_outputs] = type;
    io->n_outputs++;
    return ANOMA_OK;
}

void an_step_io_free(an_step_io *io)
{
    for (size_t k = 0; k < io->n_outputs; k++)
        an_free(io->output_names[k]);
    an_free(io->output_names);
    an_free(io->output_types);
    an_free(io->inputs);
    an_free(io->keep);
    *io = (an_step_io){0};
}

static long find_name(const an_schema *schema, const char *name)
{
    for (size_t j = 0; j < schema->n; j++)
        if (!strcmp(schema->names[j], name))
            return (long)j;
    return -1;
}

static anoma_status unknown_column(const char *step, const char *name, const an_schema *schema)
{
    an_strbuf known = {0};
    for (size_t j = 0; j < schema->n; j++)
        an_strbuf_printf(&known, "%s%s", j ? ", " : "", schema->names[j]);
    anoma_status st = an_error(ANOMA_ERR_INVALID_ARGUMENT,
                               "%s: columns: no column '%s' at this step (columns: %s)", step,
                               name, known.data ? known.data : "none");
    an_strbuf_free(&known);
    return st;
}

static int already_listed(const an_step_io *io, size_t position)
{
    for (size_t k = 0; k < io->n_inputs; k++)
        if (io->inputs[k] == position)
            return 1;
    return 0;
}

anoma_status an_step_resolve_column(const char *step, const char *name, const an_schema *schema,
                                    unsigned accepted, an_step_io *io)
{
    long j = find_name(schema, name);
    if (j < 0)
        return unknown_column(step, name, schema);
    if (!(accepted & (1u << schema->types[j]))) {
        an_strbuf want = {0};
        for (int t = AN_CELL_NUMBER; t <= AN_CELL_TIMESTAMP; t++)
            if (accepted & (1u << t))
                an_strbuf_printf(&want, "%s%s", want.len ? " or " : "",
                                 an_cell_type_name((an_cell_type)t));
        anoma_status st = an_error(ANOMA_ERR_INVALID_ARGUMENT,
                                   "%s: column '%s' is %s; this step takes %s columns", step,
                                   schema->names[j], an_cell_type_name(schema->types[j]),
                                   want.data ? want.data : "no");
        an_strbuf_free(&want);
        return st;
    }
    if (already_listed(io, (size_t)j))
        return an_error(ANOMA_ERR_INVALID_ARGUMENT, "%s: columns: '%s' is listed twice", step,
                        schema->names[j]);
    return an_step_io_add_input(io, (size_t)j, 0);
}

anoma_status an_step_resolve_columns(const char *step, const char *columns,
                                     const an_schema *schema, unsigned accepted,
                                     int at_least_one, an_step_io *io)
{
    if (!columns || !*columns) {
        for (size_t j = 0; j < schema->n; j++)
            if (accepted & (1u << schema->types[j]))
                AN_TRY(an_step_io_add_input(io, j, 0));
    } else {
        /* names as the quoting rule reads them: "device type","a,b" */
        an_strbuf name = {0};
        anoma_status st = ANOMA_OK;
        for (const char *p = columns; st == ANOMA_OK && an_list_next(&p, &name);)
            st = name.failed ? an_no_memory()
                             : an_step_resolve_column(step, name.data, schema, accepted, io);
        an_strbuf_free(&name);
        AN_TRY(st);
    }
    if (at_least_one && !io->n_inputs)
        return an_error(ANOMA_ERR_INVALID_ARGUMENT, "%s: no column to work on%s", step,
                        columns && *columns ? "" : " (no column of the type it takes)");
    return ANOMA_OK;
}
