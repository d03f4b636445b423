/**
 * @file csv.h
 * @brief Reading CSV files into typed frames, and CSV lines one at a time.
 *
 * **Syntax.** The first line is a header of column names (non-empty,
 * unique; one UTF-8 byte-order mark before it is skipped, a second one is a
 * malformed header). Fields are separated by the delimiter (`,` by
 * default) and may be quoted with `"` (a doubled `""` inside a quoted field
 * is one quote; a quoted field may span lines in a file). Lines end with LF
 * or CRLF; empty lines at the end are ignored.
 *
 * **Missing values.** An empty field, `NA`, `NaN`, `nan`, `N/A` or `null`
 * (spaces and tabs around it ignored) is missing: NaN in a number column,
 * ::ANOMA_TIMESTAMP_MISSING in a timestamp column, NULL in a text column
 * (where a quoted field is kept as written: `"NA"` is the text NA). An
 * integer column cannot hold a missing value.
 *
 * **Column types.** Unless an option declares it, each column's type is
 * inferred from all of its values:
 * - every value a whole number that fits int64, none missing:
 *   ::ANOMA_COL_INT64 (detectors take doubles: exact up to 2^53);
 * - numbers (decimal, C locale, no hex, `inf` or `nan` words, within the
 *   range of a double), or whole numbers with missing values:
 *   ::ANOMA_COL_DOUBLE;
 * - every value an ISO-8601 date or date-time (`2024-02-29`,
 *   `2024-02-29T13:05:09`, a space for `T`, optional seconds and fraction,
 *   optional `Z` or `+hh:mm`/`+hhmm`/`+hh` offset): ::ANOMA_COL_TIMESTAMP,
 *   UTC seconds, a fraction dropped toward the past;
 * - whole numbers in a column named like a time (`time`, `timestamp`,
 *   `datetime`, `date`, `ts`, `epoch`, or ending in `_time`, `_timestamp`,
 *   `_ts`, `_date`, `_at`; any case): ::ANOMA_COL_TIMESTAMP, read as seconds
 *   since 1970. Epoch seconds are never guessed from values alone, since a
 *   number column is far more often a measurement;
 * - anything else (any value that is none of the above, or dates mixed
 *   with numbers): ::ANOMA_COL_STRING;
 * - a column with no values (all missing, or no rows): ::ANOMA_COL_DOUBLE.
 *
 * A value that does not fit a declared type is an error naming the line
 * and the column. Numbers are read in the C locale whatever the host's
 * locale is.
 */
#ifndef ANOMA_CSV_H
#define ANOMA_CSV_H

#include "common.h"
#include "data.h"
#include "progress.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * @brief Read a CSV file into a new frame that owns its data.
 *
 * @param path file to read.
 * @param options `key=value` text or NULL:
 *   - `delimiter=,` one character (`tab` for a tab);
 *   - `header=true` whether the first line names the columns; with
 *     `header=false` every line is data and the columns are named `f0`,
 *     `f1`, ... (the names `anoma` uses for unnamed model columns);
 *   - `types=NAME:TYPE,...` declared column types, TYPE one of `number`
 *     (::ANOMA_COL_DOUBLE), `integer`, `text`, `timestamp` (ISO-8601 or
 *     epoch seconds); the last `:` in an item ends the name;
 *   - `label=NAME` a column of 0/1 labels, read as ::ANOMA_COL_INT64 (any
 *     other value, or a missing one, is an error);
 *   - `text=a,b` columns kept as ::ANOMA_COL_STRING (the same as
 *     `types=a:text,b:text`);
 *   - `source=NAME` the name messages start with (default: @p path, or
 *     `csv` for text in memory), such as `stdin`.
 *   Other columns get the inferred type described above.
 * @param out receives the frame; free it with anoma_frame_free().
 * @return ::ANOMA_OK; ::ANOMA_ERR_IO; ::ANOMA_ERR_PARSE (message gives line
 *         and column); ::ANOMA_ERR_EMPTY (no header); ::ANOMA_ERR_UNKNOWN_NAME
 *         (an option names a column the header lacks);
 *         ::ANOMA_ERR_UNKNOWN_PARAM; ::ANOMA_ERR_PARAM_VALUE (a bad delimiter
 *         or type, a column given two types); ::ANOMA_ERR_INVALID_ARGUMENT
 *         (NULL @p path or @p out); ::ANOMA_ERR_NO_MEMORY.
 * @since 0.1.0 (`header`, `types`, `source` and type inference since 0.2.0;
 *        before, every column but label and text was ::ANOMA_COL_DOUBLE)
 */
ANOMA_API anoma_status anoma_csv_read(const char *path, const char *options,
                                      anoma_frame **out);

/**
 * @brief As anoma_csv_read(), from @p size bytes of text in memory.
 * @since 0.1.0
 */
ANOMA_API anoma_status anoma_csv_read_memory(const char *text, size_t size,
                                             const char *options, anoma_frame **out);

/**
 * @brief As anoma_csv_read(), reporting the bytes parsed to a callback
 * that may stop the read.
 *
 * Reports are ::ANOMA_STAGE_READ, counted in bytes of the file: twice its
 * size in all when some column's type is inferred (one pass to infer, one
 * to read), else once. The callback runs on the calling thread, about a
 * hundred times at most (every 64 KiB at least), and once with everything
 * done. When it returns nonzero the read stops: ::ANOMA_ERR_CANCELLED, no
 * frame. See progress.h.
 * @param path file to read.
 * @param options as anoma_csv_read().
 * @param fn the callback, or NULL (then this is anoma_csv_read()).
 * @param user passed back to @p fn.
 * @param out receives the frame; free it with anoma_frame_free().
 * @return as anoma_csv_read(); ::ANOMA_ERR_CANCELLED.
 * @since 0.2.0
 */
ANOMA_API anoma_status anoma_csv_read_progress(const char *path, const char *options,
                                               anoma_progress_fn fn, void *user,
                                               anoma_frame **out);

/**
 * @brief As anoma_csv_read_progress(), from @p size bytes of text in memory.
 * @param text the text (may be NULL when @p size is 0).
 * @param size its length in bytes.
 * @param options as anoma_csv_read().
 * @param fn the callback, or NULL.
 * @param user passed back to @p fn.
 * @param out receives the frame; free it with anoma_frame_free().
 * @return as anoma_csv_read_memory(); ::ANOMA_ERR_CANCELLED.
 * @since 0.2.0
 */
ANOMA_API anoma_status anoma_csv_read_memory_progress(const char *text, size_t size,
                                                      const char *options,
                                                      anoma_progress_fn fn, void *user,
                                                      anoma_frame **out);

/**
 * @brief Parses CSV lines one at a time into caller memory.
 *
 * Prepared once from a header line (or a column count); then each call to
 * anoma_csv_parse_row() reads one line with the same syntax as
 * anoma_csv_read() and allocates nothing once its buffer has grown to the
 * longest line seen. A parser is single-owner: use one per thread.
 * @since 0.2.0
 */
typedef struct anoma_csv_parser anoma_csv_parser;

/**
 * @brief One parsed field. Frozen layout.
 *
 * `text` always holds the field as written (unescaped, NUL-terminated,
 * spaces kept), in the parser's buffer until the next call on the parser;
 * the other members depend on the column's type.
 * @since 0.2.0
 */
typedef struct anoma_csv_value {
    const char *text; /**< the field's text, owned by the parser */
    size_t len;       /**< its length in bytes (it may contain NUL bytes) */
    int missing;      /**< 1 when the field is a missing marker */
    double number;    /**< ::ANOMA_COL_DOUBLE: the value (NaN when missing); else NaN */
    int64_t integer;  /**< ::ANOMA_COL_INT64 and ::ANOMA_COL_TIMESTAMP: the value
                           (::ANOMA_TIMESTAMP_MISSING when missing); else 0 */
} anoma_csv_value;

/**
 * @brief Create a line parser.
 *
 * @param header the header line (without its line end; one byte-order mark
 *        is skipped), or NULL when options give `columns=N`.
 * @param len length of @p header in bytes.
 * @param options `key=value` text or NULL: `delimiter=,` as for
 *        anoma_csv_read(); `columns=N` the field count when there is no
 *        header (the columns are then named `f0`, `f1`, ...).
 * @param out receives the parser; free it with anoma_csv_parser_free().
 *        Every column starts as ::ANOMA_COL_STRING (no conversion): set the
 *        types the caller needs with anoma_csv_parser_set_type().
 * @return ::ANOMA_OK; ::ANOMA_ERR_PARSE (a bad header: empty or duplicate
 *         name, broken quoting; message starts with `header`);
 *         ::ANOMA_ERR_UNKNOWN_PARAM; ::ANOMA_ERR_PARAM_VALUE;
 *         ::ANOMA_ERR_INVALID_ARGUMENT (NULL @p out, no header and no
 *         `columns`); ::ANOMA_ERR_NO_MEMORY.
 * @since 0.2.0
 */
ANOMA_API anoma_status anoma_csv_parser_create(const char *header, size_t len,
                                               const char *options, anoma_csv_parser **out);

/** @brief Free a parser; accepts NULL. @since 0.2.0 */
ANOMA_API void anoma_csv_parser_free(anoma_csv_parser *parser);

/** @brief Number of columns (fields per line). @since 0.2.0 */
ANOMA_API size_t anoma_csv_parser_cols(const anoma_csv_parser *parser);

/**
 * @brief Name of column @p index, owned by the parser; NULL when out of range.
 * @since 0.2.0
 */
ANOMA_API const char *anoma_csv_parser_column_name(const anoma_csv_parser *parser,
                                                   size_t index);

/**
 * @brief Find a column by name (a hashed lookup).
 * @return ::ANOMA_OK, ::ANOMA_ERR_UNKNOWN_NAME, ::ANOMA_ERR_INVALID_ARGUMENT.
 * @since 0.2.0
 */
ANOMA_API anoma_status anoma_csv_parser_find_column(const anoma_csv_parser *parser,
                                                    const char *name, size_t *index);

/**
 * @brief Set the type column @p index is converted to.
 * @return ::ANOMA_OK, or ::ANOMA_ERR_INVALID_ARGUMENT for a bad index or type.
 * @since 0.2.0
 */
ANOMA_API anoma_status anoma_csv_parser_set_type(anoma_csv_parser *parser, size_t index,
                                                 anoma_column_type type);

/**
 * @brief Parse one line into @p values.
 *
 * @param parser the parser.
 * @param line the line, without its line end; it is not changed.
 * @param len its length in bytes.
 * @param values receives one value per column, in column order.
 * @param n_values the size of @p values; at least anoma_csv_parser_cols().
 * @return ::ANOMA_OK; ::ANOMA_ERR_PARSE for a wrong field count, broken
 *         quoting (a quoted field must close on its line) or a value that
 *         does not fit its column's type — the message names the column
 *         and the field, the caller adds the line; ::ANOMA_ERR_INVALID_ARGUMENT
 *         (NULL argument, @p n_values too small); ::ANOMA_ERR_NO_MEMORY
 *         (only while the buffer grows). On error @p values is unspecified.
 * @since 0.2.0
 */
ANOMA_API anoma_status anoma_csv_parse_row(anoma_csv_parser *parser, const char *line,
                                           size_t len, anoma_csv_value *values,
                                           size_t n_values);

#ifdef __cplusplus
}
#endif
#endif /* ANOMA_CSV_H */
