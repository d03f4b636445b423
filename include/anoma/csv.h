/**
 * @file csv.h
 * @brief Reading CSV files into frames.
 *
 * The first line is a header of column names. Fields are separated by the
 * delimiter (`,` by default) and may be quoted with `"` (a doubled `""`
 * inside a quoted field is one quote). Columns are numeric: an empty field,
 * `NA`, `NaN`, `nan`, `N/A` or `null` is missing (NaN); anything else that
 * is not a number is an error naming the line and the column (hexadecimal
 * numbers, `inf` and out-of-range values such as `1e999` are refused too).
 * Spaces around a number and one UTF-8 byte-order mark are ignored (a
 * second mark is a malformed header); numbers
 * are read in the C locale whatever the host's locale is. Columns listed in
 * the `text` option are kept as strings instead: there a quoted field is
 * kept as written (`"NA"` is the text NA) and an unquoted missing marker
 * is NULL.
 */
#ifndef ANOMA_CSV_H
#define ANOMA_CSV_H

#include "common.h"
#include "data.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * @brief Read a CSV file into a new frame that owns its data.
 *
 * @param path file to read.
 * @param options `key=value` text or NULL:
 *   - `delimiter=,` one character (`tab` for a tab);
 *   - `label=NAME` a column of 0/1 labels, read as ::ANOMA_COL_INT64 (any
 *     other value, or a missing one, is an error);
 *   - `text=a,b` columns kept as ::ANOMA_COL_STRING.
 *   Other columns become ::ANOMA_COL_DOUBLE.
 * @param out receives the frame; free it with anoma_frame_free().
 * @return ::ANOMA_OK; ::ANOMA_ERR_IO; ::ANOMA_ERR_PARSE (message gives line
 *         and column); ::ANOMA_ERR_EMPTY (no header); ::ANOMA_ERR_UNKNOWN_NAME
 *         (an option names a column the header lacks);
 *         ::ANOMA_ERR_UNKNOWN_PARAM; ::ANOMA_ERR_PARAM_VALUE (a bad delimiter,
 *         a column named both label and text); ::ANOMA_ERR_INVALID_ARGUMENT
 *         (NULL @p path or @p out); ::ANOMA_ERR_NO_MEMORY.
 * @since 0.1.0
 */
ANOMA_API anoma_status anoma_csv_read(const char *path, const char *options,
                                      anoma_frame **out);

/**
 * @brief As anoma_csv_read(), from @p size bytes of text in memory.
 * @since 0.1.0
 */
ANOMA_API anoma_status anoma_csv_read_memory(const char *text, size_t size,
                                             const char *options, anoma_frame **out);

#ifdef __cplusplus
}
#endif
#endif /* ANOMA_CSV_H */
