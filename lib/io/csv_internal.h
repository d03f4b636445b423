/* The pieces the CSV file reader (csv.c) and the per-line parser
 * (csv_row.c) share: the tokenizer (csv_tokenizer.c) and the conversion of
 * one field to a typed value (csv_value.c). */
#ifndef AN_IO_CSV_INTERNAL_H
#define AN_IO_CSV_INTERNAL_H

#include "anoma/csv.h"
#include "core/name_index.h"

#include <stddef.h>
#include <stdint.h>

/* ---- tokenizer ---------------------------------------------------------- */

typedef struct csv_buf {
    char *data;
    size_t len, cap;
} csv_buf;

int csv_buf_append(csv_buf *b, const char *text, size_t len); /* 0 when out of memory */

typedef struct csv_cursor {
    const char *p, *end;
    const char *data_end; /* end without the empty lines that close the text */
    size_t line;          /* 1-based line of p */
    char delim;
} csv_cursor;

typedef struct csv_field {
    size_t start, len; /* in record.text, NUL-terminated there */
    size_t line;       /* where the field starts */
    int quoted;
} csv_field;

/* The fields of one record, unescaped. Its buffers grow to the longest
 * record seen and are reused: a steady stream of records allocates nothing. */
typedef struct csv_record {
    csv_buf text;
    csv_field *fields;
    size_t n, cap;
    size_t line; /* where the record starts */
} csv_record;

/* A cursor over text: one UTF-8 byte order mark skipped, the empty lines at
 * the end left out. */
csv_cursor csv_cursor_start(const char *text, size_t size, char delim);
/* Only line ends are left: the data is over. */
int csv_at_end(const csv_cursor *c);
/* The next record; messages start with src. */
anoma_status csv_next_record(csv_cursor *c, csv_record *r, const char *src);
void csv_record_free(csv_record *r);
static inline char *csv_field_text(const csv_record *r, size_t i)
{
    return r->text.data + r->fields[i].start;
}
size_t csv_count_newlines(const char *p, size_t len);

/* ---- options shared by the file reader and the line parser ------------- */

/* delimiter=X: one character other than '"', or "tab". */
anoma_status csv_parse_delimiter(const char *value, char *delim);

/* Header names: non-empty, without NUL, unique; copies go to names[] (the
 * caller frees them) and into the index. */
anoma_status csv_header_names(const csv_record *r, const char *src, char **names,
                              an_name_index *index);

/* ---- field values --------------------------------------------------------- */

/* What a field can be read as, for type inference: one bit per kind. */
enum {
    CSV_SEEN_MISSING = 1,
    CSV_SEEN_INTEGER = 2,   /* whole number that fits int64 */
    CSV_SEEN_NUMBER = 4,    /* any other decimal number */
    CSV_SEEN_TIMESTAMP = 8, /* ISO-8601 date or date-time */
    CSV_SEEN_TEXT = 16
};

/* The text without the spaces and tabs around it. */
char *csv_trim(char *text, size_t *len);
int csv_is_missing(const char *text, size_t len);
/* The kind of a trimmed, NUL-terminated field (one CSV_SEEN_ bit). */
int csv_classify(const char *text, size_t len);
/* The column type inferred from the kinds seen in a column named name. */
anoma_column_type csv_infer_type(int seen, const char *name);

/* Conversions of a trimmed, NUL-terminated field that is not a missing
 * marker: NULL on success, else why not (appended to "cannot read ..."). */
const char *csv_parse_number(const char *text, size_t len, double *out);
const char *csv_parse_integer(const char *text, size_t len, int64_t *out);
/* ISO-8601 (UTC seconds, fraction dropped toward the past) or, when
 * allow_epoch, a number of seconds since 1970. */
const char *csv_parse_timestamp(const char *text, size_t len, int allow_epoch, int64_t *out);

/* One field into a value of type type (quoted: the field was quoted).
 * NULL on success, else why not, as above. */
const char *csv_convert(anoma_column_type type, char *raw, size_t raw_len, int quoted,
                        anoma_csv_value *out);

/* "number", "integer", "text", "timestamp". */
const char *csv_type_name(anoma_column_type type);
/* The type named, or -1. */
int csv_type_from_name(const char *name, size_t len);

/* A field as it may appear in a message: quoted text, cut when long. */
#define CSV_SHOWN_MAX 40
#define CSV_SHOWN(len) (int)((len) > CSV_SHOWN_MAX ? CSV_SHOWN_MAX - 3 : (len))
#define CSV_SHOWN_TAIL(len) ((len) > CSV_SHOWN_MAX ? "..." : "")

#endif
