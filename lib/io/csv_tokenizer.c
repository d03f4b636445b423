/* Cutting CSV text into records of unescaped fields: quotes, delimiters,
 * CRLF or LF, line numbers. Shared by the file reader and the line parser,
 * so both read the same syntax. A record is tokenized whole before any
 * field is converted, so a row with the wrong number of fields is reported
 * as such rather than as a bad value. */
#include "io/csv_internal.h"
#include "core/alloc.h"
#include "core/error.h"

#include <string.h>

static int buf_reserve(csv_buf *b, size_t extra)
{
    if (extra <= b->cap - b->len)
        return 1;
    size_t cap = b->cap ? b->cap : 256;
    while (cap - b->len < extra) {
        if (cap > SIZE_MAX / 2)
            return 0;
        cap *= 2;
    }
    char *grown = an_realloc(b->data, cap);
    if (!grown)
        return 0;
    b->data = grown;
    b->cap = cap;
    return 1;
}

int csv_buf_append(csv_buf *b, const char *text, size_t len)
{
    if (!buf_reserve(b, len))
        return 0;
    if (len)
        memcpy(b->data + b->len, text, len);
    b->len += len;
    return 1;
}

csv_cursor csv_cursor_start(const char *text, size_t size, char delim)
{
    csv_cursor c = {text, text + size, text + size, 1, delim};
    if (size >= 3 && !memcmp(text, "\xEF\xBB\xBF", 3)) /* UTF-8 byte order mark */
        c.p += 3;
    while (c.data_end > c.p && (c.data_end[-1] == '\n' || c.data_end[-1] == '\r'))
        c.data_end--;
    return c;
}

static int is_line_end(const csv_cursor *c, const char *p)
{
    return *p == '\n' || (*p == '\r' && (p + 1 == c->end || p[1] == '\n'));
}

int csv_at_end(const csv_cursor *c) { return c->p >= c->data_end; }

size_t csv_count_newlines(const char *p, size_t len)
{
    size_t n = 0;
    for (const char *q = p, *end = p + len; (q = memchr(q, '\n', (size_t)(end - q))); q++)
        n++;
    return n;
}

/* Read one field into the record; *last is set at the end of the record. */
static anoma_status next_field(csv_cursor *c, csv_record *r, const char *src, int *last)
{
    if (r->n == r->cap) {
        size_t cap = r->cap ? 2 * r->cap : 16;
        csv_field *grown = an_realloc_array(r->fields, cap, sizeof *grown);
        if (!grown)
            return an_no_memory();
        r->fields = grown;
        r->cap = cap;
    }
    csv_field f = {r->text.len, 0, c->line, 0};
    if (c->p < c->end && *c->p == '"') {
        f.quoted = 1;
        c->p++;
        for (;;) {
            const char *q = memchr(c->p, '"', (size_t)(c->end - c->p));
            if (!q)
                return an_error(ANOMA_ERR_PARSE, "%s: line %zu: a quoted field is not closed",
                                src, f.line);
            if (!csv_buf_append(&r->text, c->p, (size_t)(q - c->p)))
                return an_no_memory();
            c->line += csv_count_newlines(c->p, (size_t)(q - c->p));
            c->p = q + 1;
            if (c->p < c->end && *c->p == '"') { /* "" is one quote */
                if (!csv_buf_append(&r->text, "\"", 1))
                    return an_no_memory();
                c->p++;
                continue;
            }
            break;
        }
        if (c->p < c->end && *c->p != c->delim && !is_line_end(c, c->p))
            return an_error(ANOMA_ERR_PARSE,
                            "%s: line %zu: unexpected text after the closing quote of field %zu",
                            src, c->line, r->n + 1);
    } else {
        const char *start = c->p;
        while (c->p < c->end && *c->p != c->delim && !is_line_end(c, c->p))
            c->p++;
        if (!csv_buf_append(&r->text, start, (size_t)(c->p - start)))
            return an_no_memory();
    }
    f.len = r->text.len - f.start;
    if (!csv_buf_append(&r->text, "", 1))
        return an_no_memory();
    r->fields[r->n++] = f;

    *last = 1;
    if (c->p == c->end)
        return ANOMA_OK;
    if (*c->p == c->delim) {
        c->p++;
        *last = 0;
        return ANOMA_OK;
    }
    if (*c->p == '\r')
        c->p++;
    if (c->p < c->end && *c->p == '\n') {
        c->p++;
        c->line++;
    }
    return ANOMA_OK;
}

anoma_status csv_next_record(csv_cursor *c, csv_record *r, const char *src)
{
    r->text.len = 0;
    r->n = 0;
    r->line = c->line;
    int last = 0;
    while (!last)
        AN_TRY(next_field(c, r, src, &last));
    return ANOMA_OK;
}

void csv_record_free(csv_record *r)
{
    an_free(r->text.data);
    an_free(r->fields);
    memset(r, 0, sizeof *r);
}

anoma_status csv_parse_delimiter(const char *value, char *delim)
{
    if (!strcmp(value, "tab"))
        *delim = '\t';
    else if (strlen(value) == 1 && *value != '"' && *value != '\n' && *value != '\r')
        *delim = *value;
    else
        return an_error(ANOMA_ERR_PARAM_VALUE,
                        "csv: delimiter=%s: expected one character other than '\"', or 'tab'",
                        value);
    return ANOMA_OK;
}

anoma_status csv_header_names(const csv_record *r, const char *src, char **names,
                              an_name_index *index)
{
    for (size_t j = 0; j < r->n; j++) {
        const csv_field *f = &r->fields[j];
        const char *name = csv_field_text(r, j);
        if (f->len == 0)
            return an_error(ANOMA_ERR_PARSE, "%s: line %zu: column %zu has an empty name", src,
                            r->line, j + 1);
        if (strlen(name) != f->len)
            return an_error(ANOMA_ERR_PARSE, "%s: line %zu: the name of column %zu has a NUL byte",
                            src, r->line, j + 1);
        long dup = an_name_index_find(index, name);
        if (dup >= 0)
            return an_error(ANOMA_ERR_PARSE, "%s: line %zu: columns %ld and %zu are both named '%s'",
                            src, r->line, dup + 1, j + 1, name);
        if (!(names[j] = an_strndup(name, f->len)))
            return an_no_memory();
        AN_TRY(an_name_index_add(index, names[j], j));
    }
    return ANOMA_OK;
}
