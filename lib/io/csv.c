/* CSV text into a frame that owns its columns.
 *
 * Reading is two layers: a tokenizer that cuts the text into records of
 * unescaped fields (quotes, delimiters, CRLF or LF, line numbers), and a
 * converter that turns each field into its column's type. A record is
 * tokenized whole before any field is converted, so a row with the wrong
 * number of fields is reported as such rather than as a bad number.
 *
 * Decisions beyond csv.h:
 * - One UTF-8 byte order mark before the header is skipped. A second one
 *   would become part of the first column's name, where no one sees it and
 *   a lookup by name fails: it is refused as a malformed header instead.
 * - Empty lines at the end are ignored; an empty line inside the data is a
 *   row of one empty field (a missing value in a one-column file, else a
 *   field-count error).
 * - Numbers are decimal (strtod syntax without hex, inf or nan words);
 *   spaces and tabs around a number or a missing marker are allowed; a
 *   number too large for a double is an error. A label may be written
 *   "1" or "1.0".
 * - Missing markers apply to quoted fields as well, except in text columns,
 *   where a quoted field is kept as written: `"NA"` is the text NA, and
 *   `""` an empty string rather than a missing one.
 * - An error message starts with the file path (or "csv" for text in
 *   memory), then the line where the record (or, for a bad value, the
 *   field) starts. */
#include "anoma/csv.h"
#include "core/alloc.h"
#include "core/error.h"
#include "core/frame.h"
#include "core/name_index.h"
#include "core/params.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

/* Files larger than this are refused rather than read into memory. */
#define CSV_MAX_FILE ((size_t)2 << 30)

static const anoma_param_info csv_schema[] = {
    {"delimiter", ANOMA_PARAM_TEXT, 0, 0, ",", "", "field separator: one character, or 'tab'"},
    {"label", ANOMA_PARAM_TEXT, 0, 0, "", "", "column of 0/1 labels, read as int64"},
    {"text", ANOMA_PARAM_TEXT, 0, 0, "", "", "comma-separated names of columns kept as text"},
};

/* ---- growing byte buffer ---------------------------------------------- */

typedef struct buf {
    char *data;
    size_t len, cap;
} buf;

static int buf_reserve(buf *b, size_t extra)
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

static int buf_append(buf *b, const char *text, size_t len)
{
    if (!buf_reserve(b, len))
        return 0;
    if (len)
        memcpy(b->data + b->len, text, len);
    b->len += len;
    return 1;
}

/* ---- tokenizer ---------------------------------------------------------- */

typedef struct cursor {
    const char *p, *end;
    const char *data_end; /* end without the empty lines that close the text */
    size_t line;          /* 1-based line of p */
    char delim;
} cursor;

typedef struct field {
    size_t start, len; /* in record.text, NUL-terminated there */
    size_t line;       /* where the field starts */
    int quoted;
} field;

/* The fields of one record, unescaped. */
typedef struct record {
    buf text;
    field *fields;
    size_t n, cap;
    size_t line; /* where the record starts */
} record;

static int is_line_end(const cursor *c, const char *p)
{
    return *p == '\n' || (*p == '\r' && (p + 1 == c->end || p[1] == '\n'));
}

/* Only line ends are left: the data is over. */
static int at_end(const cursor *c) { return c->p >= c->data_end; }

static size_t count_newlines(const char *p, size_t len)
{
    size_t n = 0;
    for (const char *q = p, *end = p + len; (q = memchr(q, '\n', (size_t)(end - q))); q++)
        n++;
    return n;
}

/* Read one field into the record; *last is set at the end of the record. */
static anoma_status next_field(cursor *c, record *r, const char *src, int *last)
{
    if (r->n == r->cap) {
        size_t cap = r->cap ? 2 * r->cap : 16;
        field *grown = an_realloc_array(r->fields, cap, sizeof *grown);
        if (!grown)
            return an_no_memory();
        r->fields = grown;
        r->cap = cap;
    }
    field f = {r->text.len, 0, c->line, 0};
    if (c->p < c->end && *c->p == '"') {
        f.quoted = 1;
        c->p++;
        for (;;) {
            const char *q = memchr(c->p, '"', (size_t)(c->end - c->p));
            if (!q)
                return an_error(ANOMA_ERR_PARSE, "%s: line %zu: a quoted field is not closed",
                                src, f.line);
            if (!buf_append(&r->text, c->p, (size_t)(q - c->p)))
                return an_no_memory();
            c->line += count_newlines(c->p, (size_t)(q - c->p));
            c->p = q + 1;
            if (c->p < c->end && *c->p == '"') { /* "" is one quote */
                if (!buf_append(&r->text, "\"", 1))
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
        if (!buf_append(&r->text, start, (size_t)(c->p - start)))
            return an_no_memory();
    }
    f.len = r->text.len - f.start;
    if (!buf_append(&r->text, "", 1))
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

static anoma_status next_record(cursor *c, record *r, const char *src)
{
    r->text.len = 0;
    r->n = 0;
    r->line = c->line;
    int last = 0;
    while (!last)
        AN_TRY(next_field(c, r, src, &last));
    return ANOMA_OK;
}

static char *field_text(const record *r, size_t i) { return r->text.data + r->fields[i].start; }

/* ---- field conversion --------------------------------------------------- */

static int is_blank(char ch) { return ch == ' ' || ch == '\t'; }

/* The text without the spaces and tabs around it. */
static char *trim(char *text, size_t *len)
{
    while (*len && is_blank(*text)) {
        text++;
        (*len)--;
    }
    while (*len && is_blank(text[*len - 1]))
        (*len)--;
    return text;
}

static int is_missing(const char *text, size_t len)
{
    static const char *const markers[] = {"", "NA", "NaN", "nan", "N/A", "null"};
    for (size_t i = 0; i < sizeof markers / sizeof *markers; i++)
        if (strlen(markers[i]) == len && !memcmp(text, markers[i], len))
            return 1;
    return 0;
}

static int is_number_char(char ch)
{
    return (ch >= '0' && ch <= '9') || ch == '.' || ch == '-' || ch == '+' || ch == 'e' ||
           ch == 'E';
}

/* Parse a decimal number (NUL-terminated after len); NULL on success, else
 * why not ("" for no reason worth adding). The character check keeps out
 * what strtod also accepts but a data file should not contain: hex, inf,
 * nan(...), and text that only a locale would read. */

static const char *parse_number(const char *text, size_t len, double *out)
{
    size_t i = 0;
    while (i < len && is_number_char(text[i]))
        i++;
    if (i != len) {
        const char *t = text + (*text == '+' || *text == '-');
        if (!strcasecmp(t, "inf") || !strcasecmp(t, "infinity"))
            return " (infinite values are not accepted)";
        return "";
    }
    char *end;
    errno = 0;
    double v = an_strtod(text, &end);
    if (len == 0 || end != text + len)
        return "";
    if (errno == ERANGE && isinf(v))
        return " (out of the range of a double)";
    *out = v;
    return NULL;
}

/* ---- the reader ----------------------------------------------------------- */

enum kind { KIND_NUMBER, KIND_LABEL, KIND_TEXT };

typedef struct column {
    char *name;
    enum kind kind;
    double *number;  /* KIND_NUMBER */
    int64_t *label;  /* KIND_LABEL */
    size_t *offset;  /* KIND_TEXT: start in the text store, or SIZE_MAX when missing */
} column;

#define NO_TEXT SIZE_MAX

typedef struct reader {
    const char *src; /* path or "csv", for messages */
    an_params opts;
    cursor cur;
    record rec;
    column *cols;
    size_t n_cols;
    an_name_index by_name; /* column names to positions */
    size_t rows, cap_rows;
    buf strings; /* every text value, NUL-terminated */
} reader;

static void reader_free(reader *r)
{
    an_params_free(&r->opts);
    an_free(r->rec.text.data);
    an_free(r->rec.fields);
    for (size_t j = 0; j < r->n_cols; j++) {
        an_free(r->cols[j].name);
        an_free(r->cols[j].number);
        an_free(r->cols[j].label);
        an_free(r->cols[j].offset);
    }
    an_free(r->cols);
    an_name_index_free(&r->by_name);
    an_free(r->strings.data);
}

/* Index of the named column, or -1. */
static long find_column(const reader *r, const char *name)
{
    return an_name_index_find(&r->by_name, name);
}

static anoma_status parse_options(reader *r, const char *options)
{
    AN_TRY(an_params_init(&r->opts, "csv", csv_schema, sizeof csv_schema / sizeof *csv_schema));
    AN_TRY(an_params_parse(&r->opts, options));
    const char *d = an_params_text(&r->opts, "delimiter");
    if (!strcmp(d, "tab"))
        r->cur.delim = '\t';
    else if (strlen(d) == 1 && *d != '"')
        r->cur.delim = *d;
    else
        return an_error(ANOMA_ERR_PARAM_VALUE,
                        "csv: delimiter=%s: expected one character other than '\"', or 'tab'", d);
    return ANOMA_OK;
}

/* Column names from the header line: non-empty, without NUL, unique. */
static anoma_status read_header(reader *r)
{
    if (at_end(&r->cur))
        return an_error(ANOMA_ERR_EMPTY, "%s: no header line", r->src);
    AN_TRY(next_record(&r->cur, &r->rec, r->src));
    size_t n = r->rec.n;
    r->cols = AN_NEW_ZEROED(column, n);
    if (!r->cols)
        return an_no_memory();
    for (size_t j = 0; j < n; j++) {
        const field *f = &r->rec.fields[j];
        const char *name = field_text(&r->rec, j);
        if (f->len == 0)
            return an_error(ANOMA_ERR_PARSE, "%s: line %zu: column %zu has an empty name",
                            r->src, r->rec.line, j + 1);
        if (strlen(name) != f->len)
            return an_error(ANOMA_ERR_PARSE, "%s: line %zu: the name of column %zu has a NUL byte",
                            r->src, r->rec.line, j + 1);
        long dup = find_column(r, name);
        if (dup >= 0)
            return an_error(ANOMA_ERR_PARSE,
                            "%s: line %zu: columns %ld and %zu are both named '%s'", r->src,
                            r->rec.line, dup + 1, j + 1, name);
        r->cols[j].name = an_strndup(name, f->len);
        if (!r->cols[j].name)
            return an_no_memory();
        r->n_cols = j + 1;
        AN_TRY(an_name_index_add(&r->by_name, r->cols[j].name, j));
    }
    return ANOMA_OK;
}

static anoma_status mark_column(reader *r, const char *key, const char *name, size_t len,
                                enum kind kind)
{
    char *copy = an_strndup(name, len);
    if (!copy)
        return an_no_memory();
    anoma_status st = ANOMA_OK;
    long j = find_column(r, copy);
    if (len == 0)
        st = an_error(ANOMA_ERR_PARAM_VALUE, "csv: %s: empty column name", key);
    else if (j < 0)
        st = an_error(ANOMA_ERR_UNKNOWN_NAME, "%s: %s=%s: the header has no column '%s'", r->src,
                      key, an_params_text(&r->opts, key), copy);
    else if (r->cols[j].kind != KIND_NUMBER && r->cols[j].kind != kind)
        st = an_error(ANOMA_ERR_PARAM_VALUE, "csv: column '%s' cannot be both label and text",
                      copy);
    else
        r->cols[j].kind = kind;
    an_free(copy);
    return st;
}

/* Column types from the label and text options. */
static anoma_status assign_kinds(reader *r)
{
    const char *label = an_params_text(&r->opts, "label");
    if (*label)
        AN_TRY(mark_column(r, "label", label, strlen(label), KIND_LABEL));
    const char *text = an_params_text(&r->opts, "text");
    while (*text) {
        size_t len = strcspn(text, ",");
        AN_TRY(mark_column(r, "text", text, len, KIND_TEXT));
        text += len + (text[len] == ',');
    }
    return ANOMA_OK;
}

/* Every record but the last ends with a newline, so the lines left bound
 * the rows: the columns are sized once and never grow. */
static anoma_status allocate_columns(reader *r)
{
    size_t left = (size_t)(r->cur.end - r->cur.p);
    r->cap_rows = count_newlines(r->cur.p, left) + 1;
    for (size_t j = 0; j < r->n_cols; j++) {
        column *c = &r->cols[j];
        if (c->kind == KIND_NUMBER)
            c->number = AN_NEW_ARRAY(double, r->cap_rows);
        else if (c->kind == KIND_LABEL)
            c->label = AN_NEW_ARRAY(int64_t, r->cap_rows);
        else
            c->offset = AN_NEW_ARRAY(size_t, r->cap_rows);
        if (!c->number && !c->label && !c->offset)
            return an_no_memory();
    }
    return ANOMA_OK;
}

/* A field as it may appear in a message: quoted text, cut when long. */
#define SHOWN_MAX 40
#define SHOWN(len) (int)((len) > SHOWN_MAX ? SHOWN_MAX - 3 : (len))
#define SHOWN_TAIL(len) ((len) > SHOWN_MAX ? "..." : "")

static anoma_status convert_field(reader *r, size_t j)
{
    column *c = &r->cols[j];
    const field *f = &r->rec.fields[j];
    size_t row = r->rows;
    char *raw = field_text(&r->rec, j);

    size_t len = f->len;
    char *text = trim(raw, &len);
    if (c->kind == KIND_TEXT) {
        if (!f->quoted && is_missing(text, len)) {
            c->offset[row] = NO_TEXT;
            return ANOMA_OK;
        }
        if (strlen(raw) != f->len)
            return an_error(ANOMA_ERR_PARSE, "%s: line %zu, column '%s' (field %zu): NUL byte in text",
                            r->src, f->line, c->name, j + 1);
        c->offset[row] = r->strings.len;
        if (!buf_append(&r->strings, raw, f->len + 1)) /* with its NUL */
            return an_no_memory();
        return ANOMA_OK;
    }

    text[len] = '\0'; /* for strtod; the record buffer is ours */
    double v = NAN;
    const char *why = is_missing(text, len) ? NULL : parse_number(text, len, &v);
    if (c->kind == KIND_LABEL) {
        if (why || (v != 0 && v != 1))
            return an_error(ANOMA_ERR_PARSE,
                            "%s: line %zu, column '%s' (field %zu): a label must be 0 or 1, found '%.*s%s'",
                            r->src, f->line, c->name, j + 1, SHOWN(len), text, SHOWN_TAIL(len));
        c->label[row] = (int64_t)v;
        return ANOMA_OK;
    }
    if (why)
        return an_error(ANOMA_ERR_PARSE,
                        "%s: line %zu, column '%s' (field %zu): cannot read '%.*s%s' as a number%s",
                        r->src, f->line, c->name, j + 1, SHOWN(len), text, SHOWN_TAIL(len), why);
    c->number[row] = v;
    return ANOMA_OK;
}

static anoma_status read_rows(reader *r)
{
    while (!at_end(&r->cur)) {
        AN_TRY(next_record(&r->cur, &r->rec, r->src));
        if (r->rec.n != r->n_cols) {
            int blank = r->rec.n == 1 && r->rec.fields[0].len == 0 && !r->rec.fields[0].quoted;
            return an_error(ANOMA_ERR_PARSE, "%s: line %zu: expected %zu fields, found %zu%s",
                            r->src, r->rec.line, r->n_cols, r->rec.n,
                            blank ? " (an empty line)" : "");
        }
        if (r->rows == r->cap_rows) /* cannot happen: see allocate_columns */
            return an_error(ANOMA_ERR_INTERNAL, "%s: more rows than lines", r->src);
        for (size_t j = 0; j < r->n_cols; j++)
            AN_TRY(convert_field(r, j));
        r->rows++;
    }
    return ANOMA_OK;
}

/* Hand every buffer to a new frame; the reader keeps nothing. */
static anoma_status build_frame(reader *r, anoma_frame **out)
{
    anoma_frame *frame;
    AN_TRY(anoma_frame_create(r->rows, &frame));
    char *strings = r->strings.data;
    r->strings.data = NULL;
    anoma_status st = an_frame_adopt(frame, strings);
    for (size_t j = 0; j < r->n_cols && st == ANOMA_OK; j++) {
        column *c = &r->cols[j];
        void *values;
        anoma_column_type type;
        if (c->kind == KIND_NUMBER) {
            values = c->number;
            c->number = NULL;
            type = ANOMA_COL_DOUBLE;
        } else if (c->kind == KIND_LABEL) {
            values = c->label;
            c->label = NULL;
            type = ANOMA_COL_INT64;
        } else {
            char **text = AN_NEW_ARRAY(char *, r->rows);
            if (!text) {
                st = an_no_memory();
                break;
            }
            for (size_t i = 0; i < r->rows; i++)
                text[i] = c->offset[i] == NO_TEXT ? NULL : strings + c->offset[i];
            values = text;
            type = ANOMA_COL_STRING;
        }
        st = an_frame_adopt(frame, values);
        if (st == ANOMA_OK)
            st = anoma_frame_add_column(frame, c->name, type, values);
    }
    if (st != ANOMA_OK) {
        anoma_frame_free(frame);
        return st;
    }
    *out = frame;
    return ANOMA_OK;
}

static anoma_status read_csv(const char *src, const char *text, size_t size, const char *options,
                             anoma_frame **out)
{
    reader r = {0};
    r.src = src;
    r.cur = (cursor){text, text + size, text + size, 1, ','};
    if (size >= 3 && !memcmp(text, "\xEF\xBB\xBF", 3)) /* UTF-8 byte order mark */
        r.cur.p += 3;
    while (r.cur.data_end > r.cur.p && (r.cur.data_end[-1] == '\n' || r.cur.data_end[-1] == '\r'))
        r.cur.data_end--;
    anoma_status st = parse_options(&r, options);
    if (st == ANOMA_OK && r.cur.end - r.cur.p >= 3 && !memcmp(r.cur.p, "\xEF\xBB\xBF", 3))
        st = an_error(ANOMA_ERR_PARSE, "%s: line 1: the header starts with a second UTF-8 "
                      "byte-order mark (a file converted twice?)", src);
    if (st == ANOMA_OK)
        st = read_header(&r);
    if (st == ANOMA_OK)
        st = assign_kinds(&r);
    if (st == ANOMA_OK)
        st = allocate_columns(&r);
    if (st == ANOMA_OK)
        st = read_rows(&r);
    if (st == ANOMA_OK)
        st = build_frame(&r, out);
    reader_free(&r);
    return st;
}

anoma_status anoma_csv_read_memory(const char *text, size_t size, const char *options,
                                   anoma_frame **out)
{
    if (!out)
        return an_error(ANOMA_ERR_INVALID_ARGUMENT, "anoma_csv_read_memory: NULL out");
    *out = NULL;
    if (!text && size)
        return an_error(ANOMA_ERR_INVALID_ARGUMENT, "anoma_csv_read_memory: NULL text of size %zu",
                        size);
    return read_csv("csv", text ? text : "", size, options, out);
}

/* The whole file in memory. Our own small reader rather than the model
 * file layer's, so the CSV reader stands alone. */
static anoma_status read_file(const char *path, char **data, size_t *size)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return an_error(ANOMA_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    /* Size from fstat when it is a regular file; pipes grow as they go. */
    struct stat st;
    size_t cap = 1 << 16;
    if (fstat(fileno(fp), &st) == 0 && S_ISREG(st.st_mode) && st.st_size >= 0 &&
        (unsigned long long)st.st_size < CSV_MAX_FILE)
        cap = (size_t)st.st_size + 1; /* + 1 to see the end without growing */
    char *buffer = an_malloc(cap);
    size_t len = 0;
    anoma_status status = buffer ? ANOMA_OK : an_no_memory();
    while (status == ANOMA_OK) {
        if (len == cap) {
            if (cap > CSV_MAX_FILE) {
                status = an_error(ANOMA_ERR_IO, "%s: larger than the %zu-byte limit of the CSV reader",
                                  path, CSV_MAX_FILE);
                break;
            }
            size_t grown_cap = cap <= CSV_MAX_FILE / 2 ? 2 * cap : CSV_MAX_FILE + 1;
            char *grown = an_realloc(buffer, grown_cap);
            if (!grown) {
                status = an_no_memory();
                break;
            }
            buffer = grown;
            cap = grown_cap;
        }
        len += fread(buffer + len, 1, cap - len, fp);
        if (ferror(fp))
            status = an_error(ANOMA_ERR_IO, "%s: cannot read: %s", path, strerror(errno));
        else if (feof(fp))
            break;
    }
    fclose(fp);
    if (status != ANOMA_OK) {
        an_free(buffer);
        return status;
    }
    *data = buffer;
    *size = len;
    return ANOMA_OK;
}

anoma_status anoma_csv_read(const char *path, const char *options, anoma_frame **out)
{
    if (!out)
        return an_error(ANOMA_ERR_INVALID_ARGUMENT, "anoma_csv_read: NULL out");
    *out = NULL;
    if (!path)
        return an_error(ANOMA_ERR_INVALID_ARGUMENT, "anoma_csv_read: NULL path");
    char *text = NULL;
    size_t size = 0;
    AN_TRY(read_file(path, &text, &size));
    anoma_status st = read_csv(path, text, size, options, out);
    an_free(text);
    return st;
}
