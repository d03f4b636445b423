/* Shared helpers: a CSV file as a feature matrix and labels, timing, tables. */
#include "cli.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

const char cli_input_help[] =
    "      --header           the first line names the columns (default: it is\n"
    "                         taken as a header; a warning when its names are\n"
    "                         all numbers)\n"
    "      --no-header        every line is data; columns are named f0, f1, ...\n"
    "      --delimiter C      field separator: one character, or 'tab' (default ,)\n"
    "      --types NAME:TYPE,...  declare column types: number, integer, text or\n"
    "                         timestamp (default: inferred from the values)\n";
const char cli_select_help[] =
    "      --features a,b,c   use exactly these columns as features, in this order\n"
    "      --drop a,b         leave these columns out of the features\n";
const char cli_keep_help[] =
    "      --keep a,b         copy these columns, as written, to the front of\n"
    "                         each output line (ids, timestamps) to join results\n";

int cli_input_option(cli_input *in, int opt, const char *arg)
{
    switch (opt) {
    case 300: in->header = CLI_HEADER_YES; return 1;
    case 301: in->header = CLI_HEADER_NO; return 1;
    case 302: in->delimiter = arg; return 1;
    case 303: in->types = arg; return 1;
    case 304: in->features = arg; return 1;
    case 305: in->drop = arg; return 1;
    case 306: in->keep = arg; return 1;
    }
    return 0;
}

/* Value i of a numeric frame column as a double. */
static double column_value(anoma_column_type type, const void *values, size_t i)
{
    if (type == ANOMA_COL_DOUBLE)
        return ((const double *)values)[i];
    return (double)((const int64_t *)values)[i]; /* int64 */
}

static int is_number_column(anoma_column_type type)
{
    return type == ANOMA_COL_DOUBLE || type == ANOMA_COL_INT64;
}

static const char *type_word(anoma_column_type type)
{
    return type == ANOMA_COL_STRING ? "text" : type == ANOMA_COL_TIMESTAMP ? "a timestamp"
                                                                           : "numbers";
}

/* The label column as 0/1 ints; every value must be exactly 0 or 1. */
static int read_labels(cli_data *d, const char *path, const char *label, size_t index, int guessed)
{
    anoma_column_type type;
    const void *values;
    anoma_frame_column(d->frame, index, &type, &values);
    const char *hint = guessed ? " (a column named label or is_anomaly is taken as the label; "
                                 "name another with --label)"
                               : "";
    if (!is_number_column(type))
        return cli_error("%s: label column '%s' holds %s, not 0/1%s", path, label,
                         type_word(type), hint);
    d->labels = malloc((d->rows ? d->rows : 1) * sizeof *d->labels);
    if (!d->labels)
        return cli_error("%s: out of memory", path);
    for (size_t i = 0; i < d->rows; i++) {
        double v = column_value(type, values, i);
        if (v != 0 && v != 1) /* also rejects NaN (a missing label) */
            return cli_error("%s: line %zu: label '%s' is %g, not 0 or 1%s", path, i + 2, label,
                             v, hint);
        d->labels[i] = (int)v;
        d->n_anomalies += d->labels[i];
    }
    return CLI_OK;
}

/* Read the whole of standard input. */
static int read_stdin(char **text, size_t *size)
{
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    while (buf) {
        len += fread(buf + len, 1, cap - len, stdin);
        if (ferror(stdin)) {
            free(buf);
            return cli_error("stdin: cannot read: %s", strerror(errno));
        }
        if (feof(stdin))
            break;
        char *grown = len == cap ? realloc(buf, 2 * cap) : buf;
        if (!grown)
            free(buf);
        buf = grown;
        cap *= len == cap ? 2 : 1;
    }
    if (!buf)
        return cli_error("stdin: out of memory");
    *text = buf;
    *size = len;
    return CLI_OK;
}

/* Every name in the header is a number: probably a data line. */
static int header_all_numbers(const anoma_frame *f)
{
    size_t n = anoma_frame_cols(f);
    for (size_t j = 0; j < n; j++) {
        const char *name = anoma_frame_column_name(f, j);
        char *end;
        strtod(name, &end);
        if (end == name || *end)
            return 0;
    }
    return n > 0;
}

static int in_list(char *const *list, const char *name)
{
    for (size_t k = 0; list && list[k]; k++)
        if (!strcmp(list[k], name))
            return 1;
    return 0;
}

int cli_append_param_type(char *o, size_t cap, int n, const char *sep, const char *name,
                          const char *type)
{
    int plain = *name && !name[strcspn(name, " \t\n\r\v\f,\"\\")];
    n += snprintf(o + n, cap - (size_t)n, "%s%s", sep, plain ? "" : "\"");
    for (const char *c = name; *c; c++) {
        int escape = !plain && (*c == '"' || *c == '\\');
        n += snprintf(o + n, cap - (size_t)n, "%s%c", escape ? "\\" : "", *c);
    }
    return n + snprintf(o + n, cap - (size_t)n, ":%s%s", type, plain ? "" : "\"");
}

/* Reader options: delimiter, header, declared types (kept columns that are
 * not features are read as text, so they pass through as written). */
static char *reader_options(const char *path, const cli_input *in, char *const *keep,
                            char *const *features)
{
    /* each kept name may double (escapes) and gain quotes, ':text' and a comma */
    size_t cap = 256 + strlen(in->types ? in->types : "");
    for (size_t k = 0; keep && keep[k]; k++)
        cap += 2 * strlen(keep[k]) + 16;
    char *o = malloc(cap);
    if (!o)
        return NULL;
    const char *delim = in->delimiter ? in->delimiter : ",";
    if (!strcmp(delim, "\t") || !strcmp(delim, "\\t"))
        delim = "tab";
    int n = snprintf(o, cap, "delimiter=%s header=%s%s", delim,
                     in->header == CLI_HEADER_NO ? "false" : "true",
                     !strcmp(path, "-") ? " source=stdin" : "");
    const char *sep = " types=";
    if (in->types && *in->types) {
        n += snprintf(o + n, cap - (size_t)n, "%s%s", sep, in->types);
        sep = ",";
    }
    for (size_t k = 0; keep && keep[k]; k++) {
        int feature = in_list(features, keep[k]);
        for (size_t j = 0; in->select && j < in->n_select; j++)
            feature |= !strcmp(in->select[j], keep[k]);
        if (!feature && !(in->types && strstr(in->types, keep[k]))) {
            n = cli_append_param_type(o, cap, n, sep, keep[k], "text");
            sep = ",";
        }
    }
    return o;
}

static int read_frame(cli_data *d, const char *path, const cli_input *in, char *const *keep,
                      char *const *features)
{
    char *options = reader_options(path, in, keep, features);
    if (!options)
        return cli_error("out of memory");
    anoma_status st;
    if (!strcmp(path, "-")) {
        char *text = NULL;
        size_t size = 0;
        if (read_stdin(&text, &size) != CLI_OK) {
            free(options);
            return CLI_BAD_INPUT;
        }
        st = anoma_csv_read_memory_progress(text, size, options, cli_progress_callback(), NULL,
                                            &d->frame);
        free(text);
    } else {
        st = anoma_csv_read_progress(path, options, cli_progress_callback(), NULL, &d->frame);
    }
    free(options);
    if (st != ANOMA_OK)
        return cli_fail_file(st, !strcmp(path, "-") ? "stdin" : path);
    if (in->header == CLI_HEADER_GUESS && header_all_numbers(d->frame))
        fprintf(stderr, "anoma: warning: %s: every name in the header line is a number; if it "
                        "is data, use --no-header (--header keeps it as a header)\n", path);
    return CLI_OK;
}

/* A named feature column: it must exist and hold numbers. */
static int find_feature(const cli_data *d, const char *path, const char *name, const char *why,
                        int typed, size_t *index)
{
    if (anoma_frame_find_column(d->frame, name, index) != ANOMA_OK)
        return cli_error("%s: no column '%s'%s", path, name, why);
    anoma_column_type type;
    anoma_frame_column(d->frame, *index, &type, NULL);
    if (!typed && !is_number_column(type))
        return cli_error("%s: column '%s' holds %s, not numbers (declare it with --types "
                         "%s:number to read it as numbers)", path, name, type_word(type), name);
    return CLI_OK;
}

/* Pick the feature columns into index[]. */
static int choose_columns(cli_data *d, const char *path, const cli_input *in,
                          char *const *features, char *const *drop, char *const *keep,
                          size_t *index)
{
    size_t n_frame = anoma_frame_cols(d->frame), j;
    for (size_t k = 0; drop && drop[k]; k++)
        if (anoma_frame_find_column(d->frame, drop[k], &j) != ANOMA_OK)
            return cli_error("%s: --drop: no column '%s'", path, drop[k]);
    d->cols = 0;
    if (in->select || features) {
        size_t n = in->select ? in->n_select : 0;
        while (!in->select && features[n])
            n++;
        for (size_t k = 0; k < n; k++) {
            const char *name = in->select ? in->select[k] : features[k];
            if (!in->select && d->label && !strcmp(name, d->label))
                return cli_error("%s: --features names the label column '%s'", path, name);
            if (in_list(drop, name))
                continue;
            if (find_feature(d, path, name,
                             in->select ? ", which the model was trained on" : " (--features)",
                             in->typed, &index[d->cols]) != CLI_OK)
                return CLI_BAD_INPUT;
            d->cols++;
        }
    } else {
        for (j = 0; j < n_frame; j++) {
            const char *name = anoma_frame_column_name(d->frame, j);
            anoma_column_type type;
            anoma_frame_column(d->frame, j, &type, NULL);
            if ((d->label && !strcmp(name, d->label)) || in_list(drop, name) || in_list(keep, name))
                continue;
            if (in->typed || is_number_column(type))
                index[d->cols++] = j;
            else
                d->unused[d->n_unused++] = name;
        }
    }
    if (d->cols == 0)
        return cli_error("%s: no feature columns", path);
    d->names = malloc(d->cols * sizeof *d->names);
    if (!d->names)
        return cli_error("%s: out of memory", path);
    for (j = 0; j < d->cols; j++)
        d->names[j] = anoma_frame_column_name(d->frame, index[j]);
    return CLI_OK;
}

/* The chosen columns as a frame over the file's own arrays (for steps). */
static int fill_frame(cli_data *d, const char *path, const size_t *index)
{
    anoma_status st = anoma_frame_create(d->rows, &d->features);
    for (size_t j = 0; j < d->cols && st == ANOMA_OK; j++) {
        anoma_column_type type;
        const void *values;
        anoma_frame_column(d->frame, index[j], &type, &values);
        st = anoma_frame_add_column(d->features, d->names[j], type, values);
    }
    return st == ANOMA_OK ? CLI_OK : cli_fail(st, "%s", path);
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
        for (size_t i = 0; i < d->rows; i++)
            d->x[i * d->cols + j] = column_value(type, values, i);
    }
    return CLI_OK;
}

static int find_keep(cli_data *d, const char *path, char *const *keep)
{
    while (keep && keep[d->n_keep])
        d->n_keep++;
    d->keep = malloc((d->n_keep + 1) * sizeof *d->keep);
    if (!d->keep)
        return cli_error("out of memory");
    for (size_t k = 0; k < d->n_keep; k++)
        if (anoma_frame_find_column(d->frame, keep[k], &d->keep[k]) != ANOMA_OK)
            return cli_error("%s: --keep: no column '%s'", path, keep[k]);
    return CLI_OK;
}

/* The label: --label, or without it (when allowed) a column named label or
 * is_anomaly, so that a label is never silently a feature. */
static int find_label(cli_data *d, const char *path, const cli_input *in, size_t *index)
{
    static const char *const usual[] = {"label", "is_anomaly"};
    if (in->label) {
        if (anoma_frame_find_column(d->frame, in->label, index) != ANOMA_OK)
            return cli_error("%s: no label column '%s'", path, in->label);
        d->label = in->label;
        return CLI_OK;
    }
    for (size_t k = 0; in->auto_label && k < 2 && !d->label; k++)
        if (anoma_frame_find_column(d->frame, usual[k], index) == ANOMA_OK)
            d->label = anoma_frame_column_name(d->frame, *index);
    return CLI_OK;
}

int cli_data_load(cli_data *d, const char *path, const cli_input *in)
{
    memset(d, 0, sizeof *d);
    char **features = NULL, **drop = NULL, **keep = NULL;
    size_t *index = NULL;
    int rc = CLI_OK;
    if (in->features)
        rc = cli_split_list("--features", in->features, &features, NULL);
    if (rc == CLI_OK && in->drop)
        rc = cli_split_list("--drop", in->drop, &drop, NULL);
    if (rc == CLI_OK && in->keep)
        rc = cli_split_list("--keep", in->keep, &keep, NULL);
    if (rc == CLI_OK)
        rc = read_frame(d, path, in, keep, features);
    const char *where = !strcmp(path, "-") ? "stdin" : path;
    if (rc == CLI_OK && (d->rows = anoma_frame_rows(d->frame)) == 0)
        rc = cli_error("%s: no data rows", where);
    size_t label_index = 0, n_frame = d->frame ? anoma_frame_cols(d->frame) : 0;
    if (rc == CLI_OK)
        rc = find_label(d, where, in, &label_index);
    if (rc == CLI_OK && d->label && in->need_labels)
        rc = read_labels(d, where, d->label, label_index, !in->label);
    if (rc == CLI_OK)
        rc = find_keep(d, where, keep);
    if (rc == CLI_OK) {
        size_t n_index = (in->select ? in->n_select : 0) + n_frame + 1;
        index = malloc(n_index * sizeof *index);
        d->unused = malloc((n_frame + 1) * sizeof *d->unused);
        if (!index || !d->unused)
            rc = cli_error("out of memory");
    }
    if (rc == CLI_OK)
        rc = choose_columns(d, where, in, features, drop, keep, index);
    if (rc == CLI_OK)
        rc = in->typed ? fill_frame(d, where, index) : fill_matrix(d, where, index);
    free(index);
    free(features);
    free(drop);
    free(keep);
    return rc;
}

void cli_data_describe(const cli_data *d, FILE *out)
{
    fprintf(out, "features (%zu):", d->cols);
    for (size_t j = 0; j < d->cols; j++)
        fprintf(out, "%s %s", j ? "," : "", d->names[j]);
    fputc('\n', out);
    if (d->label)
        fprintf(out, "label: %s\n", d->label);
    if (d->n_unused) {
        fputs("not used (timestamp or text; --types NAME:number to use one):", out);
        for (size_t j = 0; j < d->n_unused; j++)
            fprintf(out, "%s %s", j ? "," : "", d->unused[j]);
        fputc('\n', out);
    }
}

void cli_data_note_unused(const cli_data *d, const char *path)
{
    if (!d->n_unused)
        return;
    fprintf(stderr, "anoma: note: %s: not used as features (timestamp or text):", path);
    for (size_t j = 0; j < d->n_unused; j++)
        fprintf(stderr, "%s %s", j ? "," : "", d->unused[j]);
    fprintf(stderr, "; --types %s:number reads one as numbers\n", d->unused[0]);
}

void cli_put_field(FILE *out, const char *s)
{
    if (!strpbrk(s, ",\"\r\n")) {
        fputs(s, out);
        return;
    }
    putc('"', out);
    for (; *s; s++) {
        if (*s == '"')
            putc('"', out);
        putc(*s, out);
    }
    putc('"', out);
}

void cli_write_kept(FILE *out, const cli_data *d, size_t k, size_t i)
{
    anoma_column_type type;
    const void *values;
    anoma_frame_column(d->frame, d->keep[k], &type, &values);
    if (type == ANOMA_COL_STRING) {
        const char *text = ((const char *const *)values)[i];
        cli_put_field(out, text ? text : ""); /* a missing value: an empty field */
    } else if (type == ANOMA_COL_DOUBLE) {
        double v = ((const double *)values)[i];
        if (v == v)
            fprintf(out, "%.17g", v);
    } else {
        int64_t v = ((const int64_t *)values)[i];
        if (type != ANOMA_COL_TIMESTAMP || v != ANOMA_TIMESTAMP_MISSING)
            fprintf(out, "%lld", (long long)v);
    }
}

void cli_data_free(cli_data *d)
{
    anoma_frame_free(d->features);
    free(d->x);
    free(d->names);
    free(d->labels);
    free(d->keep);
    free(d->unused);
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

const int *cli_fit_labels(const anoma_model *m, const int *labels)
{
    for (size_t k = 0; labels && k < anoma_model_n_detectors(m); k++) {
        unsigned flags = 0;
        if (anoma_component_flags(ANOMA_KIND_DETECTOR, anoma_model_detector_name(m, k), &flags) ==
                ANOMA_OK &&
            (flags & ANOMA_FLAG_SUPERVISED))
            return labels;
    }
    return NULL;
}
