/* Shared helpers: a CSV file as a feature matrix and labels, timing, tables. */
#include "cli.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Value i of a numeric frame column as a double. */
static double column_value(anoma_column_type type, const void *values, size_t i)
{
    if (type == ANOMA_COL_DOUBLE)
        return ((const double *)values)[i];
    return (double)((const int64_t *)values)[i]; /* int64 or timestamp */
}

/* The label column as 0/1 ints; every value must be exactly 0 or 1. */
static int read_labels(cli_data *d, const char *path, const char *label, size_t index)
{
    anoma_column_type type;
    const void *values;
    anoma_frame_column(d->frame, index, &type, &values);
    if (type == ANOMA_COL_STRING)
        return cli_error("%s: label column '%s' is not numeric", path, label);
    d->labels = malloc((d->rows ? d->rows : 1) * sizeof *d->labels);
    if (!d->labels)
        return cli_error("%s: out of memory", path);
    for (size_t i = 0; i < d->rows; i++) {
        double v = column_value(type, values, i);
        if (v != 0 && v != 1) /* also rejects NaN (a missing label) */
            return cli_error("%s: line %zu: label '%s' is %g, not 0 or 1", path, i + 2, label,
                             v);
        d->labels[i] = (int)v;
        d->n_anomalies += d->labels[i];
    }
    return CLI_OK;
}

/* Pick the feature columns: the names in select, or every column but label. */
static int choose_columns(cli_data *d, const char *path, const char *label,
                          const char *const *select, size_t n_select, size_t *index)
{
    size_t n_frame = anoma_frame_cols(d->frame);
    d->cols = 0;
    if (select) {
        for (size_t j = 0; j < n_select; j++) {
            if (anoma_frame_find_column(d->frame, select[j], &index[j]) != ANOMA_OK)
                return cli_error("%s: no column '%s', which the model was trained on", path,
                                 select[j]);
        }
        d->cols = n_select;
    } else {
        for (size_t j = 0; j < n_frame; j++) {
            const char *name = anoma_frame_column_name(d->frame, j);
            if (!label || strcmp(name, label) != 0)
                index[d->cols++] = j;
        }
    }
    if (d->cols == 0)
        return cli_error("%s: no feature columns", path);
    d->names = malloc(d->cols * sizeof *d->names);
    if (!d->names)
        return cli_error("%s: out of memory", path);
    for (size_t j = 0; j < d->cols; j++)
        d->names[j] = anoma_frame_column_name(d->frame, index[j]);
    return CLI_OK;
}

/* Copy the chosen columns into one row-major matrix. */
static int fill_matrix(cli_data *d, const char *path, const size_t *index)
{
    if (d->rows > SIZE_MAX / sizeof(double) / d->cols)
        return cli_error("%s: too large", path);
    d->x = malloc((d->rows ? d->rows : 1) * d->cols * sizeof *d->x);
    if (!d->x)
        return cli_error("%s: out of memory", path);
    for (size_t j = 0; j < d->cols; j++) {
        anoma_column_type type;
        const void *values;
        anoma_frame_column(d->frame, index[j], &type, &values);
        if (type == ANOMA_COL_STRING)
            return cli_error("%s: column '%s' is not numeric", path, d->names[j]);
        for (size_t i = 0; i < d->rows; i++)
            d->x[i * d->cols + j] = column_value(type, values, i);
    }
    return CLI_OK;
}

int cli_data_load(cli_data *d, const char *path, const char *label, int need_labels,
                  const char *const *select, size_t n_select)
{
    memset(d, 0, sizeof *d);
    /* Every column is read as numbers; the label is checked here rather than
     * by the reader's label= option, so that scoring can ignore a label
     * column with missing values and any column name works. */
    anoma_status st = anoma_csv_read(path, NULL, &d->frame);
    if (st != ANOMA_OK)
        return cli_fail(st, "%s", path);
    d->rows = anoma_frame_rows(d->frame);
    if (d->rows == 0)
        return cli_error("%s: no data rows", path);

    size_t label_index = 0;
    if (label && anoma_frame_find_column(d->frame, label, &label_index) != ANOMA_OK)
        return cli_error("%s: no label column '%s'", path, label);
    if (label && need_labels && read_labels(d, path, label, label_index) != CLI_OK)
        return CLI_BAD_INPUT;

    size_t n_index = select ? n_select : anoma_frame_cols(d->frame);
    size_t *index = malloc((n_index ? n_index : 1) * sizeof *index);
    if (!index)
        return cli_error("%s: out of memory", path);
    int rc = choose_columns(d, path, label, select, n_select, index);
    if (rc == CLI_OK)
        rc = fill_matrix(d, path, index);
    free(index);
    return rc;
}

void cli_data_free(cli_data *d)
{
    free(d->x);
    free(d->names);
    free(d->labels);
    anoma_frame_free(d->frame);
    memset(d, 0, sizeof *d);
}

double cli_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* ---- tables ------------------------------------------------------------- */

void cli_table_init(cli_table *t, size_t cols)
{
    memset(t, 0, sizeof *t);
    t->cols = cols;
}

void cli_table_add(cli_table *t, const char *fmt, ...)
{
    if (t->oom)
        return;
    if (t->n == t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 64;
        char **cells = realloc(t->cells, cap * sizeof *cells);
        if (!cells) {
            t->oom = 1;
            return;
        }
        t->cells = cells;
        t->cap = cap;
    }
    va_list ap;
    va_start(ap, fmt);
    int len = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *cell = len >= 0 ? malloc((size_t)len + 1) : NULL;
    if (!cell) {
        t->oom = 1;
        return;
    }
    va_start(ap, fmt);
    vsnprintf(cell, (size_t)len + 1, fmt, ap);
    va_end(ap);
    t->cells[t->n++] = cell;
}

void cli_table_print(const cli_table *t, FILE *out, const char *indent, const char *align)
{
    size_t width[32] = {0};
    size_t cols = t->cols < 32 ? t->cols : 32;
    for (size_t k = 0; k < t->n; k++)
        if (k % t->cols < cols && strlen(t->cells[k]) > width[k % t->cols])
            width[k % t->cols] = strlen(t->cells[k]);
    for (size_t k = 0; k < t->n; k++) {
        size_t j = k % t->cols;
        if (j == 0)
            fputs(indent ? indent : "", out);
        int w = j < cols ? (int)width[j] : 0;
        int last = j + 1 == t->cols || k + 1 == t->n;
        if (align && align[j] == 'r')
            fprintf(out, "%*s", w, t->cells[k]);
        else if (last) /* no trailing blanks */
            fputs(t->cells[k], out);
        else
            fprintf(out, "%-*s", w, t->cells[k]);
        fputs(last ? "\n" : "  ", out);
    }
}

void cli_table_free(cli_table *t)
{
    for (size_t k = 0; k < t->n; k++)
        free(t->cells[k]);
    free(t->cells);
    memset(t, 0, sizeof *t);
}

int cli_parse_count(const char *text, size_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    if (errno || end == text || *end || v == 0 || v > SIZE_MAX || text[0] == '-')
        return -1;
    *out = (size_t)v;
    return 0;
}
