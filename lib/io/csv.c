/* CSV text into a frame that owns its columns.
 *
 * Two passes over the text when some column's type must be inferred: the
 * first tokenizes every record, checks field counts and notes what each
 * undeclared column's values can be read as (csv_classify); the second
 * converts each field to its column's type. Both use the tokenizer of
 * csv_tokenizer.c; a file is in memory anyway, and tokenizing twice costs
 * less than keeping every field's text until the types are known.
 *
 * Decisions beyond csv.h:
 * - One UTF-8 byte order mark before the header is skipped. A second one
 *   would become part of the first column's name, where no one sees it and
 *   a lookup by name fails: it is refused as a malformed header instead.
 * - Empty lines at the end are ignored; an empty line inside the data is a
 *   row of one empty field (a missing value in a one-column file, else a
 *   field-count error).
 * - A label may be written "1" or "1.0".
 * - An error message starts with the file path (or the source option, or
 *   "csv" for text in memory), then the line where the record (or, for a
 *   bad value, the field) starts. */
#include "io/csv_internal.h"
#include "core/alloc.h"
#include "core/error.h"
#include "core/quoting.h"
#include "core/frame.h"
#include "core/params.h"
#include "core/progress.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Files larger than this are refused rather than read into memory. */
#define CSV_MAX_FILE ((size_t)2 << 30)

static const anoma_param_info csv_schema[] = {
    {"delimiter", ANOMA_PARAM_TEXT, 0, 0, ",", "", "field separator: one character, or 'tab'"},
    {"header", ANOMA_PARAM_BOOL, 0, 0, "true", "", "the first line names the columns"},
    {"types", ANOMA_PARAM_TEXT, 0, 0, "", "",
     "declared column types: NAME:TYPE,... with TYPE number, integer, text or timestamp"},
    {"label", ANOMA_PARAM_TEXT, 0, 0, "", "", "column of 0/1 labels, read as int64"},
    {"text", ANOMA_PARAM_TEXT, 0, 0, "", "", "comma-separated names of columns kept as text"},
    {"source", ANOMA_PARAM_TEXT, 0, 0, "", "", "the name messages start with"},
};

/* How a column's type was decided. */
enum decided { INFERRED, DECLARED, LABEL };

typedef struct column {
    char *name;
    enum decided decided;
    anoma_column_type type;
    int seen;        /* CSV_SEEN_ bits, while inferring */
    void *values;    /* rows of the type's element; text: size_t offsets */
} column;

#define NO_TEXT SIZE_MAX

typedef struct reader {
    const char *src; /* for messages: the path, or source_name */
    char *source_name; /* source= with its quoting read */
    an_params opts;
    csv_cursor cur;
    csv_record rec;
    column *cols;
    size_t n_cols;
    an_name_index by_name;
    size_t rows, cap_rows;
    csv_buf strings; /* every text value, NUL-terminated */
    /* progress: bytes parsed of `total` (the text once per pass), reported
     * when they pass `next` */
    const an_progress *progress;
    const char *text;
    uint64_t total, pass_base, next, step;
} reader;

/* Bytes parsed so far, reported once they pass the next mark (the last
 * report, with everything done, always). */
static anoma_status report_bytes(reader *r, int last)
{
    uint64_t done = last ? r->total : r->pass_base + (uint64_t)(r->cur.p - r->text);
    if (!an_progress_on(r->progress) || (done < r->next && !last))
        return ANOMA_OK;
    r->next = done + r->step;
    return an_progress_report(r->progress, ANOMA_STAGE_READ, done, r->total, r->src);
}

static void reader_free(reader *r)
{
    an_params_free(&r->opts);
    an_free(r->source_name);
    csv_record_free(&r->rec);
    for (size_t j = 0; j < r->n_cols; j++) {
        an_free(r->cols[j].name);
        an_free(r->cols[j].values);
    }
    an_free(r->cols);
    an_name_index_free(&r->by_name);
    an_free(r->strings.data);
}

static anoma_status parse_options(reader *r, const char *options)
{
    AN_TRY(an_params_init(&r->opts, "csv", csv_schema, sizeof csv_schema / sizeof *csv_schema));
    AN_TRY(an_params_parse(&r->opts, options));
    if (*an_params_text(&r->opts, "source")) {
        if (!(r->source_name = an_unquote(an_params_text(&r->opts, "source"))))
            return an_no_memory();
        r->src = r->source_name;
    }
    return csv_parse_delimiter(an_params_text(&r->opts, "delimiter"), &r->cur.delim);
}

/* Column names from the header line, or f0, f1, ... for header=false (the
 * first record is then only counted, and read again as data). */
static anoma_status read_header(reader *r)
{
    if (csv_at_end(&r->cur))
        return an_error(ANOMA_ERR_EMPTY, "%s: no %s", r->src,
                        an_params_bool(&r->opts, "header") ? "header line" : "data");
    csv_cursor start = r->cur;
    AN_TRY(csv_next_record(&r->cur, &r->rec, r->src));
    size_t n = r->rec.n;
    r->cols = AN_NEW_ZEROED(column, n);
    char **names = AN_NEW_ZEROED(char *, n);
    anoma_status st = r->cols && names ? ANOMA_OK : an_no_memory();
    if (st == ANOMA_OK && an_params_bool(&r->opts, "header")) {
        st = csv_header_names(&r->rec, r->src, names, &r->by_name);
    } else {
        r->cur = start;
        for (size_t j = 0; j < n && st == ANOMA_OK; j++) {
            char name[32];
            snprintf(name, sizeof name, "f%zu", j);
            if (!(names[j] = an_strdup(name)))
                st = an_no_memory();
            else
                st = an_name_index_add(&r->by_name, names[j], j);
        }
    }
    if (r->cols && names) { /* the reader owns the names from here */
        for (size_t j = 0; j < n; j++)
            r->cols[j].name = names[j];
        r->n_cols = n;
    }
    an_free(names);
    return st;
}

static anoma_status declare(reader *r, const char *key, const char *name, size_t len,
                            enum decided how, anoma_column_type type)
{
    char *copy = an_strndup(name, len);
    if (!copy)
        return an_no_memory();
    anoma_status st = ANOMA_OK;
    long j = an_name_index_find(&r->by_name, copy);
    if (len == 0)
        st = an_error(ANOMA_ERR_PARAM_VALUE, "csv: %s: empty column name", key);
    else if (j < 0)
        st = an_error(ANOMA_ERR_UNKNOWN_NAME, "%s: %s=%s: the header has no column '%s'", r->src,
                      key, an_params_text(&r->opts, key), copy);
    else if (r->cols[j].decided != INFERRED &&
             (r->cols[j].decided != how || r->cols[j].type != type))
        st = an_error(ANOMA_ERR_PARAM_VALUE, "csv: column '%s' is given two types (%s and %s)",
                      copy, r->cols[j].decided == LABEL ? "label" : csv_type_name(r->cols[j].type),
                      how == LABEL ? "label" : csv_type_name(type));
    else
        r->cols[j] = (column){r->cols[j].name, how, type, 0, NULL};
    an_free(copy);
    return st;
}

/* Column types from the label, text and types options; names are read
 * with the quoting rule (label="is anomaly", text="device type",b,
 * types="device type:text"). */
static anoma_status declare_types(reader *r)
{
    an_strbuf item = {0};
    anoma_status st = ANOMA_OK;
    if (*an_params_text(&r->opts, "label")) {
        char *label = an_unquote(an_params_text(&r->opts, "label")); /* one name, commas kept */
        st = label ? declare(r, "label", label, strlen(label), LABEL, ANOMA_COL_INT64)
                   : an_no_memory();
        an_free(label);
    }
    for (const char *text = an_params_text(&r->opts, "text");
         st == ANOMA_OK && an_list_next(&text, &item);)
        st = item.failed ? an_no_memory()
                         : declare(r, "text", item.data, item.len, DECLARED, ANOMA_COL_STRING);
    for (const char *types = an_params_text(&r->opts, "types");
         st == ANOMA_OK && an_list_next(&types, &item);) {
        if (item.failed) {
            st = an_no_memory();
            break;
        }
        const char *colon = strrchr(item.data, ':');
        int type = colon ? csv_type_from_name(colon + 1, strlen(colon + 1)) : -1;
        if (type < 0)
            st = an_error(ANOMA_ERR_PARAM_VALUE,
                          "csv: types: '%s' is not NAME:TYPE with TYPE number, integer, "
                          "text or timestamp",
                          item.data);
        else
            st = declare(r, "types", item.data, (size_t)(colon - item.data), DECLARED,
                         (anoma_column_type)type);
    }
    an_strbuf_free(&item);
    return st;
}

static anoma_status check_field_count(const reader *r)
{
    if (r->rec.n == r->n_cols)
        return ANOMA_OK;
    int blank = r->rec.n == 1 && r->rec.fields[0].len == 0 && !r->rec.fields[0].quoted;
    return an_error(ANOMA_ERR_PARSE, "%s: line %zu: expected %zu fields, found %zu%s", r->src,
                    r->rec.line, r->n_cols, r->rec.n, blank ? " (an empty line)" : "");
}

/* First pass: what each undeclared column's values can be read as. */
static anoma_status infer_types(reader *r)
{
    size_t n_inferred = 0;
    for (size_t j = 0; j < r->n_cols; j++)
        n_inferred += r->cols[j].decided == INFERRED;
    if (n_inferred == 0)
        return ANOMA_OK;
    csv_cursor start = r->cur;
    while (!csv_at_end(&r->cur)) {
        AN_TRY(csv_next_record(&r->cur, &r->rec, r->src));
        AN_TRY(check_field_count(r));
        AN_TRY(report_bytes(r, 0));
        for (size_t j = 0; j < r->n_cols; j++) {
            column *c = &r->cols[j];
            if (c->decided != INFERRED || c->seen & CSV_SEEN_TEXT)
                continue; /* text already: nothing can change it */
            size_t len = r->rec.fields[j].len;
            const char *text = csv_trim(csv_field_text(&r->rec, j), &len);
            c->seen |= csv_classify(text, len);
        }
    }
    r->pass_base = r->total / 2; /* the first of two passes is over */
    r->next = r->pass_base;
    r->cur = start;
    for (size_t j = 0; j < r->n_cols; j++)
        if (r->cols[j].decided == INFERRED)
            r->cols[j].type = csv_infer_type(r->cols[j].seen, r->cols[j].name);
    return ANOMA_OK;
}

static size_t element_size(anoma_column_type type)
{
    return type == ANOMA_COL_DOUBLE ? sizeof(double)
           : type == ANOMA_COL_STRING ? sizeof(size_t)
                                      : sizeof(int64_t);
}

/* Every record but the last ends with a newline, so the lines left bound
 * the rows: the columns are sized once and never grow. */
static anoma_status allocate_columns(reader *r)
{
    size_t left = (size_t)(r->cur.end - r->cur.p);
    r->cap_rows = csv_count_newlines(r->cur.p, left) + 1;
    for (size_t j = 0; j < r->n_cols; j++)
        if (!(r->cols[j].values = an_malloc_array(r->cap_rows, element_size(r->cols[j].type))))
            return an_no_memory();
    return ANOMA_OK;
}

static anoma_status convert_field(reader *r, size_t j)
{
    column *c = &r->cols[j];
    const csv_field *f = &r->rec.fields[j];
    size_t row = r->rows;
    char *raw = csv_field_text(&r->rec, j);
    if (c->type == ANOMA_COL_STRING && strlen(raw) != f->len)
        return an_error(ANOMA_ERR_PARSE, "%s: line %zu, column '%s' (field %zu): NUL byte in text",
                        r->src, f->line, c->name, j + 1);
    anoma_csv_value v;
    const char *why = csv_convert(c->type, raw, f->len, f->quoted, &v);
    if (c->decided == LABEL && !why && (v.missing || (v.integer != 0 && v.integer != 1)))
        why = "";
    if (c->decided == LABEL && why) { /* "1.0" is a label too */
        double x;
        size_t len = f->len;
        const char *text = csv_trim(raw, &len);
        if (!v.missing && !csv_parse_number(text, len, &x) && (x == 0 || x == 1)) {
            v.integer = (int64_t)x;
            why = NULL;
        } else {
            return an_error(ANOMA_ERR_PARSE,
                            "%s: line %zu, column '%s' (field %zu): a label must be 0 or 1, "
                            "found '%.*s%s'",
                            r->src, f->line, c->name, j + 1, CSV_SHOWN(len), text,
                            CSV_SHOWN_TAIL(len));
        }
    }
    if (why) {
        size_t len = f->len;
        const char *text = csv_trim(raw, &len);
        return an_error(ANOMA_ERR_PARSE,
                        "%s: line %zu, column '%s' (field %zu): cannot read '%.*s%s' as %s%s",
                        r->src, f->line, c->name, j + 1, CSV_SHOWN(len), text, CSV_SHOWN_TAIL(len),
                        c->type == ANOMA_COL_DOUBLE ? "a number"
                        : c->type == ANOMA_COL_INT64 ? "an integer"
                                                     : "a timestamp",
                        why);
    }
    switch (c->type) {
    case ANOMA_COL_DOUBLE: ((double *)c->values)[row] = v.number; break;
    case ANOMA_COL_INT64:
    case ANOMA_COL_TIMESTAMP: ((int64_t *)c->values)[row] = v.integer; break;
    case ANOMA_COL_STRING:
        if (v.missing) {
            ((size_t *)c->values)[row] = NO_TEXT;
            break;
        }
        ((size_t *)c->values)[row] = r->strings.len;
        if (!csv_buf_append(&r->strings, raw, f->len + 1)) /* with its NUL */
            return an_no_memory();
        break;
    }
    return ANOMA_OK;
}

static anoma_status read_rows(reader *r)
{
    while (!csv_at_end(&r->cur)) {
        AN_TRY(csv_next_record(&r->cur, &r->rec, r->src));
        AN_TRY(check_field_count(r));
        if (r->rows == r->cap_rows) /* cannot happen: see allocate_columns */
            return an_error(ANOMA_ERR_INTERNAL, "%s: more rows than lines", r->src);
        for (size_t j = 0; j < r->n_cols; j++)
            AN_TRY(convert_field(r, j));
        r->rows++;
        AN_TRY(report_bytes(r, 0));
    }
    return report_bytes(r, 1);
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
        void *values = c->values;
        c->values = NULL;
        if (c->type == ANOMA_COL_STRING) { /* offsets become pointers */
            const size_t *offset = values;
            char **text = AN_NEW_ARRAY(char *, r->rows ? r->rows : 1);
            for (size_t i = 0; text && i < r->rows; i++)
                text[i] = offset[i] == NO_TEXT ? NULL : strings + offset[i];
            an_free(values);
            if (!(values = text)) {
                st = an_no_memory();
                break;
            }
        }
        st = an_frame_adopt(frame, values);
        if (st == ANOMA_OK)
            st = anoma_frame_add_column(frame, c->name, c->type, values);
    }
    if (st != ANOMA_OK) {
        anoma_frame_free(frame);
        return st;
    }
    *out = frame;
    return ANOMA_OK;
}

/* Does any column wait for its type to be inferred (a first pass)? */
static int infers(const reader *r)
{
    for (size_t j = 0; j < r->n_cols; j++)
        if (r->cols[j].decided == INFERRED)
            return 1;
    return 0;
}

static anoma_status read_csv(const char *src, const char *text, size_t size, const char *options,
                             const an_progress *progress, anoma_frame **out)
{
    reader r = {0};
    r.src = src;
    r.progress = progress;
    r.text = text;
    anoma_status st = parse_options(&r, options);
    if (st == ANOMA_OK) {
        r.cur = csv_cursor_start(text, size, r.cur.delim);
        if (r.cur.end - r.cur.p >= 3 && !memcmp(r.cur.p, "\xEF\xBB\xBF", 3))
            st = an_error(ANOMA_ERR_PARSE, "%s: line 1: the header starts with a second UTF-8 "
                          "byte-order mark (a file converted twice?)", r.src);
    }
    if (st == ANOMA_OK)
        st = read_header(&r);
    if (st == ANOMA_OK)
        st = declare_types(&r);
    if (st == ANOMA_OK) {
        r.total = (uint64_t)size * (infers(&r) ? 2 : 1);
        r.step = an_progress_batch(r.total, 1 << 16);
    }
    if (st == ANOMA_OK)
        st = infer_types(&r);
    if (st == ANOMA_OK)
        st = allocate_columns(&r);
    if (st == ANOMA_OK)
        st = read_rows(&r);
    if (st == ANOMA_OK)
        st = build_frame(&r, out);
    reader_free(&r);
    return st;
}

anoma_status anoma_csv_read_memory_progress(const char *text, size_t size, const char *options,
                                            anoma_progress_fn fn, void *user, anoma_frame **out)
{
    if (!out)
        return an_error(ANOMA_ERR_INVALID_ARGUMENT, "anoma_csv_read_memory: NULL out");
    *out = NULL;
    if (!text && size)
        return an_error(ANOMA_ERR_INVALID_ARGUMENT, "anoma_csv_read_memory: NULL text of size %zu",
                        size);
    an_progress progress = {fn, user};
    return read_csv("csv", text ? text : "", size, options, &progress, out);
}

anoma_status anoma_csv_read_memory(const char *text, size_t size, const char *options,
                                   anoma_frame **out)
{
    return anoma_csv_read_memory_progress(text, size, options, NULL, NULL, out);
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

anoma_status anoma_csv_read_progress(const char *path, const char *options, anoma_progress_fn fn,
                                     void *user, anoma_frame **out)
{
    if (!out)
        return an_error(ANOMA_ERR_INVALID_ARGUMENT, "anoma_csv_read: NULL out");
    *out = NULL;
    if (!path)
        return an_error(ANOMA_ERR_INVALID_ARGUMENT, "anoma_csv_read: NULL path");
    char *text = NULL;
    size_t size = 0;
    AN_TRY(read_file(path, &text, &size));
    an_progress progress = {fn, user};
    anoma_status st = read_csv(path, text, size, options, &progress, out);
    an_free(text);
    return st;
}

anoma_status anoma_csv_read(const char *path, const char *options, anoma_frame **out)
{
    return anoma_csv_read_progress(path, options, NULL, NULL, out);
}
