/* Request bodies as rows for the model. JSON (json-c, strict, depth-limited):
 * one record, an array of records, or an envelope {"records": ..., "explain":
 * K} ({"record": ..., "time": T} for a stream push); a record is an object by
 * column name or an array in the model's column order. CSV (text/csv): a
 * header line, then rows, read by the library's CSV reader with the model's
 * column types declared. Either way the rows become one frame in the model's
 * input order, scored as `anoma score` scores a file. Every error names the
 * record and the column. */
#include "serve.h"

#include <json-c/json.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* Deep enough for any request the server takes ({"records": [{...}]} is 3). */
#define JSON_MAX_DEPTH 8

/* What a serve_rows owns. */
typedef struct parsed {
    json_object *doc;
    anoma_frame *csv;         /* the CSV body as read */
    anoma_csv_parser *clock;  /* reads timestamp text, made when needed */
    size_t n;
    void *columns[];          /* n column arrays (JSON bodies) */
} parsed;

typedef struct context {
    const served_model *m;
    parsed *p;
    char *err;
    size_t cap;
} context;

static unsigned fail(context *c, unsigned status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static unsigned fail(context *c, unsigned status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->err, c->cap, fmt, ap);
    va_end(ap);
    return status;
}

static const char *column_name(const served_model *m, size_t j)
{
    return m->names ? m->names[j] : anoma_model_input_name(m->model, j);
}

/* ---- JSON values ------------------------------------------------------------ */

/* Timestamp text (ISO-8601 or epoch seconds) by the library's CSV rules. */
static int parse_time_text(context *c, const char *text, int64_t *out)
{
    if (!c->p->clock) {
        anoma_csv_parser *parser;
        if (anoma_csv_parser_create(NULL, 0, "columns=1", &parser) != ANOMA_OK)
            return -1;
        anoma_csv_parser_set_type(parser, 0, ANOMA_COL_TIMESTAMP);
        c->p->clock = parser;
    }
    anoma_csv_value v;
    if (strpbrk(text, ",\"\r\n") ||
        anoma_csv_parse_row(c->p->clock, text, strlen(text), &v, 1) != ANOMA_OK || v.missing)
        return -1;
    *out = v.integer;
    return 0;
}

/* Value of column j of record i into the column array. */
static unsigned put_value(context *c, size_t i, size_t j, json_object *v)
{
    const served_model *m = c->m;
    enum json_type t = json_object_get_type(v);
    int number = t == json_type_double || t == json_type_int;
    switch (m->types[j]) {
    case ANOMA_COL_STRING:
        if (t != json_type_string && t != json_type_null)
            return fail(c, 400, "record %zu: column '%s' holds text: give a string or null", i,
                        column_name(m, j));
        ((const char **)c->p->columns[j])[i] = t == json_type_null ? NULL : json_object_get_string(v);
        return 0;
    case ANOMA_COL_TIMESTAMP: {
        int64_t *out = &((int64_t *)c->p->columns[j])[i];
        double d = number ? json_object_get_double(v) : 0;
        if (t == json_type_null)
            *out = ANOMA_TIMESTAMP_MISSING;
        else if (number && d == floor(d) && fabs(d) < 9.2e18)
            *out = t == json_type_int ? json_object_get_int64(v) : (int64_t)d;
        else if (t != json_type_string || parse_time_text(c, json_object_get_string(v), out) != 0)
            return fail(c, 400, "record %zu: column '%s' holds timestamps: give whole epoch "
                        "seconds, an ISO-8601 string or null", i, column_name(m, j));
        return 0;
    }
    default:
        if (!number && t != json_type_null)
            return fail(c, 400, "record %zu: column '%s' holds numbers: give a number or null",
                        i, column_name(m, j));
        ((double *)c->p->columns[j])[i] = number ? json_object_get_double(v) : NAN;
        return 0;
    }
}

static unsigned put_record(context *c, size_t i, json_object *rec)
{
    const served_model *m = c->m;
    if (json_object_is_type(rec, json_type_array)) {
        size_t n = json_object_array_length(rec);
        if (n != m->n_features)
            return fail(c, 400, "record %zu has %zu values; the model takes %zu columns", i, n,
                        m->n_features);
        for (size_t j = 0; j < n; j++) {
            unsigned st = put_value(c, i, j, json_object_array_get_idx(rec, j));
            if (st)
                return st;
        }
        return 0;
    }
    if (!json_object_is_type(rec, json_type_object))
        return fail(c, 400, "record %zu is %s: give an object by column name or an array of "
                    "values", i, json_type_to_name(json_object_get_type(rec)));
    if (!m->names)
        return fail(c, 400, "record %zu: the model has no column names: give each record as an "
                    "array of %zu values", i, m->n_features);
    for (size_t j = 0; j < m->n_features; j++) {
        json_object *v;
        if (!json_object_object_get_ex(rec, m->names[j], &v))
            return fail(c, 400, "record %zu: no column '%s', which the model was trained on", i,
                        m->names[j]);
        unsigned st = put_value(c, i, j, v);
        if (st)
            return st;
    }
    return 0;
}

/* One column array per input column, and the frame over them. */
static unsigned make_columns(context *c, size_t rows, serve_rows *out)
{
    const served_model *m = c->m;
    if (anoma_frame_create(rows, &out->frame) != ANOMA_OK)
        return fail(c, 500, "out of memory");
    for (size_t j = 0; j < m->n_features; j++) {
        anoma_column_type type = m->types[j] == ANOMA_COL_INT64 ? ANOMA_COL_DOUBLE : m->types[j];
        size_t size = type == ANOMA_COL_STRING ? sizeof(char *) : 8;
        if (!(c->p->columns[j] = calloc(rows ? rows : 1, size)) ||
            anoma_frame_add_column(out->frame, column_name(m, j), type, c->p->columns[j]) !=
                ANOMA_OK)
            return fail(c, 500, "out of memory");
    }
    return 0;
}

/* Is this object an envelope ({"records": ...}) rather than a record? A model
 * column named like an envelope key makes it a record. */
static int is_envelope(const served_model *m, json_object *doc, const char *key)
{
    json_object *v;
    if (!json_object_is_type(doc, json_type_object) || !json_object_object_get_ex(doc, key, &v))
        return 0;
    for (size_t j = 0; m->names && j < m->n_features; j++)
        if (!strcmp(m->names[j], key))
            return 0;
    return 1;
}

static unsigned read_envelope(context *c, json_object *doc, int single, serve_rows *out,
                              json_object **records)
{
    const char *key = single ? "record" : "records";
    if (!is_envelope(c->m, doc, key)) {
        *records = doc;
        return 0;
    }
    json_object_object_foreach(doc, name, v) {
        if (!strcmp(name, key)) {
            *records = v;
        } else if (!single && !strcmp(name, "explain")) {
            int64_t k = json_object_get_int64(v);
            if (!json_object_is_type(v, json_type_int) || k < 1)
                return fail(c, 400, "\"explain\" takes a whole number >= 1");
            out->explain = (size_t)k;
        } else if (single && !strcmp(name, "time")) {
            if (!json_object_is_type(v, json_type_int) && !json_object_is_type(v, json_type_double))
                return fail(c, 400, "\"time\" takes a number (seconds)");
            out->time = json_object_get_double(v);
            out->has_time = 1;
        } else {
            return fail(c, 400, "unknown key \"%s\" beside \"%s\" (accepted: %s)", name, key,
                        single ? "record, time" : "records, explain");
        }
    }
    return 0;
}

static unsigned parse_json(context *c, const char *body, size_t len, size_t max_rows,
                           int single, serve_rows *out)
{
    json_tokener *tok = json_tokener_new_ex(JSON_MAX_DEPTH);
    if (!tok)
        return fail(c, 500, "out of memory");
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
    json_object *doc = json_tokener_parse_ex(tok, body, (int)len); /* --max-body <= INT_MAX */
    enum json_tokener_error jerr = json_tokener_get_error(tok);
    size_t end = json_tokener_get_parse_end(tok);
    json_tokener_free(tok);
    c->p->doc = doc;
    if (len == 0)
        return fail(c, 400, "empty body: give JSON records (or CSV with Content-Type: text/csv)");
    if (jerr == json_tokener_continue)
        return fail(c, 400, "malformed JSON: the body ends before the value does");
    if (jerr != json_tokener_success)
        return fail(c, 400, "malformed JSON at byte %zu: %s", end, json_tokener_error_desc(jerr));
    if (end < len && body[end + strspn(body + end, " \t\r\n")] != '\0')
        return fail(c, 400, "malformed JSON: text after the value at byte %zu", end);
    json_object *records = NULL;
    unsigned st = read_envelope(c, doc, single, out, &records);
    if (st)
        return st;
    /* an array of objects or arrays is records; an array of values is one record */
    int many = 0;
    if (json_object_is_type(records, json_type_array)) {
        json_object *first = json_object_array_get_idx(records, 0);
        many = !first || json_object_is_type(first, json_type_object) ||
               json_object_is_type(first, json_type_array);
    }
    size_t rows = many ? json_object_array_length(records) : 1;
    if (rows == 0)
        return fail(c, 400, "no records");
    if (single && rows != 1)
        return fail(c, 400, "a stream push takes one record, not %zu", rows);
    if (rows > max_rows)
        return fail(c, 413, "%zu records in one request; the limit is %zu (--max-rows)", rows,
                    max_rows);
    if ((st = make_columns(c, rows, out)))
        return st;
    for (size_t i = 0; i < rows; i++)
        if ((st = put_record(c, i, many ? json_object_array_get_idx(records, i) : records)))
            return st;
    out->rows = rows;
    return 0;
}

/* ---- CSV -------------------------------------------------------------------- */

/* "header=true types=a:number,b:text,..." by the params.h quoting rule. */
static char *csv_options(const served_model *m)
{
    size_t cap = 64;
    for (size_t j = 0; m->names && j < m->n_features; j++)
        cap += 2 * strlen(m->names[j]) + 16;
    char *o = malloc(cap);
    if (!o)
        return NULL;
    int n = snprintf(o, cap, "header=true");
    const char *sep = " types=";
    for (size_t j = 0; m->names && j < m->n_features; j++) {
        const char *type = m->types[j] == ANOMA_COL_STRING      ? "text"
                           : m->types[j] == ANOMA_COL_TIMESTAMP ? "timestamp"
                                                                 : "number";
        n = cli_append_param_type(o, cap, n, sep, m->names[j], type);
        sep = ",";
    }
    return o;
}

static unsigned parse_csv(context *c, const char *body, size_t len, size_t max_rows,
                          serve_rows *out)
{
    const served_model *m = c->m;
    char *options = csv_options(m);
    if (!options)
        return fail(c, 500, "out of memory");
    anoma_status st = anoma_csv_read_memory(body, len, options, &c->p->csv);
    free(options);
    if (st != ANOMA_OK)
        return fail(c, 400, "CSV body: %s", anoma_last_error());
    size_t rows = anoma_frame_rows(c->p->csv);
    if (rows == 0)
        return fail(c, 400, "CSV body: no data rows");
    if (rows > max_rows)
        return fail(c, 413, "%zu records in one request; the limit is %zu (--max-rows)", rows,
                    max_rows);
    if (!m->names && anoma_frame_cols(c->p->csv) != m->n_features)
        return fail(c, 400, "CSV body: %zu columns; the model has no column names and takes "
                    "%zu, in its order", anoma_frame_cols(c->p->csv), m->n_features);
    if (anoma_frame_create(rows, &out->frame) != ANOMA_OK)
        return fail(c, 500, "out of memory");
    for (size_t j = 0; j < m->n_features; j++) {
        size_t index = j;
        if (m->names && anoma_frame_find_column(c->p->csv, m->names[j], &index) != ANOMA_OK)
            return fail(c, 400, "CSV body: no column '%s', which the model was trained on",
                        m->names[j]);
        anoma_column_type type;
        const void *values;
        anoma_frame_column(c->p->csv, index, &type, &values);
        if (anoma_frame_add_column(out->frame, column_name(m, j), type, values) != ANOMA_OK)
            return fail(c, 500, "out of memory");
    }
    out->rows = rows;
    return 0;
}

unsigned records_parse(const served_model *m, const char *body, size_t len, int csv,
                       size_t max_rows, int single, serve_rows *out, char *err, size_t cap)
{
    memset(out, 0, sizeof *out);
    parsed *p = calloc(1, sizeof *p + (m->n_features + 1) * sizeof(void *));
    context c = {m, p, err, cap};
    if (!p)
        return fail(&c, 500, "out of memory");
    p->n = m->n_features;
    out->owned = p;
    if (csv && single)
        return fail(&c, 415, "a stream push takes JSON");
    return csv ? parse_csv(&c, body, len, max_rows, out)
               : parse_json(&c, body, len, max_rows, single, out);
}

void records_free(serve_rows *rows)
{
    parsed *p = rows->owned;
    anoma_frame_free(rows->frame);
    if (p) {
        json_object_put(p->doc);
        anoma_frame_free(p->csv);
        anoma_csv_parser_free(p->clock);
        for (size_t j = 0; j < p->n; j++)
            free(p->columns[j]);
        free(p);
    }
    memset(rows, 0, sizeof *rows);
}
