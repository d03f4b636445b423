/* anoma_csv_parser: CSV lines one at a time, for streams. The tokenizer and
 * the conversions are the file reader's, so a line means the same in both;
 * the record's buffers are reused from line to line, so once they have
 * grown to the longest line nothing is allocated. */
#include "io/csv_internal.h"
#include "core/alloc.h"
#include "core/error.h"
#include "core/params.h"

#include <stdio.h>
#include <string.h>

struct anoma_csv_parser {
    char delim;
    size_t n_cols;
    char **names;
    anoma_column_type *types;
    an_name_index by_name;
    csv_record rec;
};

static const anoma_param_info parser_schema[] = {
    {"delimiter", ANOMA_PARAM_TEXT, 0, 0, ",", "", "field separator: one character, or 'tab'"},
    {"columns", ANOMA_PARAM_INT, 0, 1e9, "0", "",
     "field count when there is no header line (0: from the header)"},
};

void anoma_csv_parser_free(anoma_csv_parser *p)
{
    if (!p)
        return;
    for (size_t j = 0; j < p->n_cols && p->names; j++)
        an_free(p->names[j]);
    an_free(p->names);
    an_free(p->types);
    an_name_index_free(&p->by_name);
    csv_record_free(&p->rec);
    an_free(p);
}

static anoma_status allocate(anoma_csv_parser *p, size_t n)
{
    p->names = AN_NEW_ZEROED(char *, n ? n : 1);
    p->types = AN_NEW_ZEROED(anoma_column_type, n ? n : 1);
    if (!p->names || !p->types)
        return an_no_memory();
    p->n_cols = n;
    for (size_t j = 0; j < n; j++)
        p->types[j] = ANOMA_COL_STRING;
    return ANOMA_OK;
}

static anoma_status from_header(anoma_csv_parser *p, const char *header, size_t len)
{
    csv_cursor c = csv_cursor_start(header, len, p->delim);
    if (c.end - c.p >= 3 && !memcmp(c.p, "\xEF\xBB\xBF", 3))
        return an_error(ANOMA_ERR_PARSE,
                        "header: it starts with a second UTF-8 byte-order mark");
    if (csv_at_end(&c))
        return an_error(ANOMA_ERR_PARSE, "header: the line is empty");
    AN_TRY(csv_next_record(&c, &p->rec, "header"));
    if (!csv_at_end(&c))
        return an_error(ANOMA_ERR_PARSE, "header: more than one line");
    AN_TRY(allocate(p, p->rec.n));
    return csv_header_names(&p->rec, "header", p->names, &p->by_name);
}

static anoma_status numbered(anoma_csv_parser *p, size_t n)
{
    AN_TRY(allocate(p, n));
    for (size_t j = 0; j < n; j++) {
        char name[32];
        snprintf(name, sizeof name, "f%zu", j);
        if (!(p->names[j] = an_strdup(name)))
            return an_no_memory();
        AN_TRY(an_name_index_add(&p->by_name, p->names[j], j));
    }
    return ANOMA_OK;
}

static anoma_status create(anoma_csv_parser *p, const char *header, size_t len,
                           const char *options)
{
    an_params opts;
    AN_TRY(an_params_init(&opts, "csv parser", parser_schema,
                          sizeof parser_schema / sizeof *parser_schema));
    anoma_status st = an_params_parse(&opts, options);
    if (st == ANOMA_OK)
        st = csv_parse_delimiter(an_params_text(&opts, "delimiter"), &p->delim);
    size_t columns = st == ANOMA_OK ? (size_t)an_params_int(&opts, "columns") : 0;
    an_params_free(&opts);
    AN_TRY(st);
    if (header && columns)
        return an_error(ANOMA_ERR_INVALID_ARGUMENT,
                        "anoma_csv_parser_create: give a header or columns=N, not both");
    if (header)
        return from_header(p, header, len);
    if (!columns)
        return an_error(ANOMA_ERR_INVALID_ARGUMENT,
                        "anoma_csv_parser_create: no header line and no columns=N");
    return numbered(p, columns);
}

anoma_status anoma_csv_parser_create(const char *header, size_t len, const char *options,
                                     anoma_csv_parser **out)
{
    if (!out)
        return an_error(ANOMA_ERR_INVALID_ARGUMENT, "anoma_csv_parser_create: NULL out");
    *out = NULL;
    anoma_csv_parser *p = AN_NEW_ZEROED(anoma_csv_parser, 1);
    if (!p)
        return an_no_memory();
    anoma_status st = create(p, header, len, options);
    if (st != ANOMA_OK) {
        anoma_csv_parser_free(p);
        return st;
    }
    *out = p;
    return ANOMA_OK;
}

size_t anoma_csv_parser_cols(const anoma_csv_parser *p) { return p ? p->n_cols : 0; }

const char *anoma_csv_parser_column_name(const anoma_csv_parser *p, size_t index)
{
    return p && index < p->n_cols ? p->names[index] : NULL;
}

anoma_status anoma_csv_parser_find_column(const anoma_csv_parser *p, const char *name,
                                          size_t *index)
{
    if (!p || !name || !index)
        return an_error(ANOMA_ERR_INVALID_ARGUMENT,
                        "anoma_csv_parser_find_column: NULL parser, name or index");
    long j = an_name_index_find(&p->by_name, name);
    if (j < 0)
        return an_error(ANOMA_ERR_UNKNOWN_NAME, "the header has no column '%s'", name);
    *index = (size_t)j;
    return ANOMA_OK;
}

anoma_status anoma_csv_parser_set_type(anoma_csv_parser *p, size_t index, anoma_column_type type)
{
    if (!p || index >= p->n_cols)
        return an_error(ANOMA_ERR_INVALID_ARGUMENT,
                        "anoma_csv_parser_set_type: no column %zu", index);
    if ((unsigned)type > ANOMA_COL_TIMESTAMP)
        return an_error(ANOMA_ERR_INVALID_ARGUMENT, "anoma_csv_parser_set_type: unknown type %d",
                        (int)type);
    p->types[index] = type;
    return ANOMA_OK;
}

anoma_status anoma_csv_parse_row(anoma_csv_parser *p, const char *line, size_t len,
                                 anoma_csv_value *values, size_t n_values)
{
    if (!p || (!line && len) || !values)
        return an_error(ANOMA_ERR_INVALID_ARGUMENT, "anoma_csv_parse_row: NULL argument");
    if (n_values < p->n_cols)
        return an_error(ANOMA_ERR_INVALID_ARGUMENT,
                        "anoma_csv_parse_row: room for %zu values, the parser has %zu columns",
                        n_values, p->n_cols);
    /* One line: a line end inside it can only be inside quotes, refused
     * below, so a quoted field never swallows the next line. */
    csv_cursor c = {line ? line : "", (line ? line : "") + len, (line ? line : "") + len, 1,
                    p->delim};
    anoma_status st = csv_next_record(&c, &p->rec, "line");
    if (st == ANOMA_ERR_PARSE) { /* the caller names the line: drop the tokenizer's prefix */
        static const char prefix[] = "line: line 1: ";
        const char *msg = anoma_last_error();
        if (!strncmp(msg, prefix, sizeof prefix - 1))
            return an_error(st, "%s", msg + sizeof prefix - 1);
    }
    AN_TRY(st);
    if (c.p != c.end || c.line != 1)
        return an_error(ANOMA_ERR_PARSE, "a line end inside the line (a quoted field must close "
                        "on its line)");
    if (p->rec.n != p->n_cols)
        return an_error(ANOMA_ERR_PARSE, "expected %zu fields, found %zu", p->n_cols, p->rec.n);
    for (size_t j = 0; j < p->n_cols; j++) {
        const csv_field *f = &p->rec.fields[j];
        char *raw = csv_field_text(&p->rec, j);
        const char *why = csv_convert(p->types[j], raw, f->len, f->quoted, &values[j]);
        if (why) {
            size_t shown = f->len;
            const char *text = csv_trim(raw, &shown);
            return an_error(ANOMA_ERR_PARSE, "column '%s' (field %zu): cannot read '%.*s%s' as %s%s",
                            p->names[j], j + 1, CSV_SHOWN(shown), text, CSV_SHOWN_TAIL(shown),
                            p->types[j] == ANOMA_COL_DOUBLE  ? "a number"
                            : p->types[j] == ANOMA_COL_INT64 ? "an integer"
                                                             : "a timestamp",
                            why);
        }
    }
    return ANOMA_OK;
}
