/* libFuzzer target: the CSV reader and the line parser must parse or refuse
 * any text cleanly. */
#include "anoma/anoma.h"

#include <stdint.h>
#include <string.h>

/* The first line as a header, every later line through anoma_csv_parse_row
 * with the columns typed in turn as number, integer, text and timestamp. */
static void parse_lines(const char *text, size_t size)
{
    const char *end = text + size, *nl = memchr(text, '\n', size);
    size_t first = nl ? (size_t)(nl - text) : size;
    anoma_csv_parser *p = NULL;
    if (anoma_csv_parser_create(text, first, NULL, &p) != ANOMA_OK)
        return;
    size_t n = anoma_csv_parser_cols(p);
    for (size_t j = 0; j < n; j++)
        anoma_csv_parser_set_type(p, j, (anoma_column_type)(j % 4));
    anoma_csv_value values[64];
    for (const char *line = nl ? nl + 1 : end; n <= 64 && line < end;) {
        const char *stop = memchr(line, '\n', (size_t)(end - line));
        size_t len = stop ? (size_t)(stop - line) : (size_t)(end - line);
        anoma_csv_parse_row(p, line, len, values, 64);
        line += len + 1;
    }
    anoma_csv_parser_free(p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    anoma_frame *f = NULL;
    if (anoma_csv_read_memory((const char *)data, size, "label=label text=name", &f) == ANOMA_OK)
        anoma_frame_free(f);
    f = NULL;
    if (anoma_csv_read_memory((const char *)data, size, NULL, &f) == ANOMA_OK)
        anoma_frame_free(f);
    f = NULL;
    if (anoma_csv_read_memory((const char *)data, size, "header=false types=f0:timestamp", &f) ==
        ANOMA_OK)
        anoma_frame_free(f);
    parse_lines((const char *)data, size);
    return 0;
}
