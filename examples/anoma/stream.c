/* anoma stream: score CSV lines from standard input as they arrive.
 *
 * One anoma_row_scorer serves the whole run, and every buffer is sized once
 * from the header (or the model), so a line costs no allocation beyond the
 * growth of getline()'s buffer when a longer line comes. Each output line is
 * flushed at once: a pipe from a sensor or `tail -f` gets its answers in real
 * time. A bad line is reported on stderr and skipped; the stream goes on. */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char stream_help[] =
    "usage: anoma stream MODEL [--header | --no-header] [--label COL] [--explain K]\n"
    "\n"
    "Score CSV lines read from standard input as they arrive, for pipes such as\n"
    "'tail -f sensor.csv | anoma stream model.anoma'. Writes the header\n"
    "'score,is_anomaly' (as 'anoma score' does, with the --explain columns),\n"
    "then one line per data line, flushed at once. Ends at end of input.\n"
    "\n"
    "By default the first line is a header: the columns are picked by the\n"
    "model's feature names as 'anoma score' does, and other columns (such as a\n"
    "label) are ignored, whatever they hold. With --no-header every line holds\n"
    "exactly the model's features, in the model's order. Fields are numbers; an\n"
    "empty field, NA, NaN, nan, N/A or null is missing. Fields may be quoted\n"
    "(\"\" is a quote) but may not span lines. Empty lines are skipped.\n"
    "\n"
    "A bad line (wrong field count, a value that is not a number, an infinite\n"
    "value) does not stop the stream: it gets no output line, a one-line message\n"
    "on stderr names its line number (counted from 1, header and empty lines\n"
    "included), and the exit status is 1 at the end. A bad header, model file\n"
    "or --explain detector stops at once with status 1.\n"
    "\n"
    "      --header          the first line names the columns (the default)\n"
    "      --no-header       no header: each line is the model's features in order\n"
    "  -l, --label COL       a header column to leave out (for models without\n"
    "                        names); must be in the header\n"
    "  -e, --explain K       add the top K features by contribution to each line\n"
    "  -h, --help            this text\n"
    "\n"
    "Exit status: 0 when every line was scored, 1 when a line was bad (or a bad\n"
    "model file or header), 2 for a usage error.\n";

#define SOURCE "stdin"
#define NO_FEATURE SIZE_MAX

typedef struct stream {
    const anoma_model *model;
    anoma_row_scorer *scorer;
    size_t n_features;
    const char **model_names; /* n_features, or NULL when the model has none */
    anoma_frame *header;      /* the header line, parsed by the library's reader */

    /* Per field of a line: sized once, n_fields of each. */
    size_t n_fields;
    size_t *feature;          /* the feature field j feeds, or NO_FEATURE */
    size_t *start, *len;      /* field j in the line buffer, unescaped in place */

    double *row;              /* n_features values of the current line */
    double *contrib;          /* n_features per-feature scores (--explain), or NULL */
    cli_explanation explain;

    size_t line_no;           /* lines read so far (1-based number of the last) */
    size_t data_lines, bad;
} stream;

/* ---- one line: split, convert ------------------------------------------ */

/* Cut a line (without its line end) into fields, unescaping quoted fields in
 * place; the same syntax as the library's CSV reader, one line at a time.
 * Stores up to s->n_fields fields; returns how many the line holds, or 0 with
 * a message in why[] when its quoting is broken. */
static size_t split_line(stream *s, char *line, size_t n, char *why, size_t cap)
{
    size_t count = 0, i = 0;
    for (;;) {
        size_t start = i, w = i;
        if (i < n && line[i] == '"') {
            i++;
            for (;;) {
                if (i == n) {
                    snprintf(why, cap, "field %zu: a quoted field is not closed on its line",
                             count + 1);
                    return 0;
                }
                if (line[i] == '"') {
                    if (i + 1 < n && line[i + 1] == '"') { /* "" is one quote */
                        line[w++] = '"';
                        i += 2;
                        continue;
                    }
                    i++;
                    break;
                }
                line[w++] = line[i++];
            }
            if (i < n && line[i] != ',') {
                snprintf(why, cap, "unexpected text after the closing quote of field %zu",
                         count + 1);
                return 0;
            }
        } else {
            while (i < n && line[i] != ',')
                i++;
            w = i;
        }
        if (count < s->n_fields) {
            s->start[count] = start;
            s->len[count] = w - start;
        }
        count++;
        if (i == n)
            return count;
        i++; /* past the comma */
    }
}

static int is_blank(char ch) { return ch == ' ' || ch == '\t'; }

static int is_missing(const char *text, size_t len)
{
    static const char *const markers[] = {"", "NA", "NaN", "nan", "N/A", "null"};
    for (size_t i = 0; i < sizeof markers / sizeof *markers; i++)
        if (strlen(markers[i]) == len && !memcmp(text, markers[i], len))
            return 1;
    return 0;
}

/* A decimal number as the library's CSV reader accepts it: strtod syntax
 * without hex, inf or nan words, in range. NULL on success, else why not. */
static const char *parse_number(const char *text, size_t len, double *out)
{
    size_t i = 0;
    while (i < len && text[i] && strchr("0123456789.+-eE", text[i]))
        i++;
    if (i != len) {
        const char *t = text + (*text == '+' || *text == '-');
        if (!strcasecmp(t, "inf") || !strcasecmp(t, "infinity"))
            return " (infinite values are not accepted)";
        return "";
    }
    char *end;
    errno = 0;
    double v = strtod(text, &end); /* the tool never sets a locale: "C" */
    if (len == 0 || end != text + len)
        return "";
    if (errno == ERANGE && isinf(v))
        return " (out of the range of a double)";
    *out = v;
    return NULL;
}

/* The name of feature j for messages. */
static const char *feature_label(const stream *s, size_t j, char *buf, size_t cap)
{
    if (s->model_names)
        return s->model_names[j];
    for (size_t f = 0; s->header && f < s->n_fields; f++)
        if (s->feature[f] == j)
            return anoma_frame_column_name(s->header, f);
    snprintf(buf, cap, "f%zu", j);
    return buf;
}

/* A skipped line: one message on stderr. */
static void bad_line(stream *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void bad_line(stream *s, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    cli_error(SOURCE ": line %zu%s", s->line_no, msg);
    s->bad++;
}

/* Fill s->row from a line; 0, or -1 after reporting it as bad. */
static int read_row(stream *s, char *line, size_t n)
{
    char why[160];
    size_t count = split_line(s, line, n, why, sizeof why);
    if (count == 0) {
        bad_line(s, ": %s", why);
        return -1;
    }
    if (count != s->n_fields) {
        bad_line(s, ": expected %zu fields, found %zu", s->n_fields, count);
        return -1;
    }
    for (size_t f = 0; f < s->n_fields; f++) {
        size_t j = s->feature[f];
        if (j == NO_FEATURE)
            continue; /* a column the model does not use: not read */
        char *text = line + s->start[f];
        size_t len = s->len[f];
        while (len && is_blank(*text)) {
            text++;
            len--;
        }
        while (len && is_blank(text[len - 1]))
            len--;
        text[len] = '\0'; /* over the comma, the line end or unescaped slack */
        double v = NAN;
        const char *err = is_missing(text, len) ? NULL : parse_number(text, len, &v);
        if (err) {
            char name[32];
            bad_line(s, ", column '%s' (field %zu): cannot read '%.*s%s' as a number%s",
                     feature_label(s, j, name, sizeof name), f + 1, len > 40 ? 37 : (int)len,
                     text, len > 40 ? "..." : "", err);
            return -1;
        }
        s->row[j] = v;
    }
    return 0;
}

/* ---- setup ---------------------------------------------------------------- */

/* Per-field arrays for n_fields fields. */
static int allocate_fields(stream *s, size_t n_fields)
{
    s->n_fields = n_fields;
    s->feature = malloc(n_fields * sizeof *s->feature);
    s->start = malloc(n_fields * sizeof *s->start);
    s->len = malloc(n_fields * sizeof *s->len);
    if (!s->feature || !s->start || !s->len)
        return cli_error("out of memory");
    for (size_t f = 0; f < n_fields; f++)
        s->feature[f] = NO_FEATURE;
    return CLI_OK;
}

/* --no-header: field j is feature j. */
static int setup_no_header(stream *s)
{
    if (allocate_fields(s, s->n_features) != CLI_OK)
        return CLI_BAD_INPUT;
    for (size_t j = 0; j < s->n_features; j++)
        s->feature[j] = j;
    return CLI_OK;
}

/* The header line: parsed by the library's CSV reader (same quoting, names
 * checked non-empty and unique), then the model's features found in it. */
static int setup_header(stream *s, const char *line, size_t n, const char *label)
{
    anoma_status st = anoma_csv_read_memory(line, n, NULL, &s->header);
    if (st != ANOMA_OK)
        return cli_fail(st, SOURCE ": line %zu (the header)", s->line_no);
    size_t cols = anoma_frame_cols(s->header), found;
    if (allocate_fields(s, cols) != CLI_OK)
        return CLI_BAD_INPUT;
    if (label && anoma_frame_find_column(s->header, label, &found) != ANOMA_OK)
        return cli_error(SOURCE ": line %zu: the header has no label column '%s'", s->line_no,
                         label);
    if (s->model_names) { /* by name, in the model's order */
        for (size_t j = 0; j < s->n_features; j++) {
            if (anoma_frame_find_column(s->header, s->model_names[j], &found) != ANOMA_OK)
                return cli_error(SOURCE ": line %zu: no column '%s', which the model was trained "
                                 "on (with no header line, use --no-header)",
                                 s->line_no, s->model_names[j]);
            s->feature[found] = j;
        }
        return CLI_OK;
    }
    size_t j = 0; /* a model without names: every column but the label, in order */
    for (size_t f = 0; f < cols; f++)
        if (!label || strcmp(anoma_frame_column_name(s->header, f), label) != 0)
            s->feature[f] = j++;
    if (j != s->n_features)
        return cli_error(SOURCE ": line %zu: the header has %zu feature columns, the model "
                         "expects %zu",
                         s->line_no, j, s->n_features);
    return CLI_OK;
}

/* The scorer, the row and the --explain buffers; checks that detector 0 has
 * per-feature scores before any input is read. */
static int setup_model(stream *s, size_t explain)
{
    s->n_features = anoma_model_n_features(s->model);
    size_t n_names;
    int rc = cli_model_feature_names(s->model, &s->model_names, &n_names);
    if (rc != CLI_OK)
        return rc;
    anoma_status st = anoma_row_scorer_create(s->model, &s->scorer);
    if (st != ANOMA_OK)
        return cli_fail(st, "preparing the model");
    if (!(s->row = malloc(s->n_features * sizeof *s->row)))
        return cli_error("out of memory");
    if (explain) {
        if ((rc = cli_check_explainable(s->model)) != CLI_OK)
            return rc;
        s->contrib = malloc(s->n_features * sizeof *s->contrib);
        unsigned char *used = malloc(s->n_features);
        s->explain = (cli_explanation){s->contrib, s->n_features,
                                       explain < s->n_features ? explain : s->n_features,
                                       s->model_names, used};
        if (!s->contrib || !used)
            return cli_error("out of memory");
    }
    return CLI_OK;
}

static void stream_free(stream *s)
{
    anoma_row_scorer_free(s->scorer);
    free(s->model_names);
    anoma_frame_free(s->header);
    free(s->feature);
    free(s->start);
    free(s->len);
    free(s->row);
    free(s->contrib);
    free(s->explain.used);
}

/* ---- the loop ------------------------------------------------------------- */

/* Score s->row and write its line; CLI_OK, or CLI_BAD_INPUT when the run
 * must stop (output failed, out of memory). */
static int score_row(stream *s)
{
    double score;
    int flag;
    anoma_status st = anoma_row_scorer_score(s->scorer, s->row, s->n_features, &score, &flag);
    if (st != ANOMA_OK) { /* cannot happen after read_row's checks; skip the line */
        bad_line(s, ": %s", anoma_last_error());
        return CLI_OK;
    }
    if (s->contrib) {
        st = anoma_row_scorer_feature_scores(s->scorer, 0, s->row, s->n_features, s->contrib);
        if (st != ANOMA_OK)
            return cli_fail(st, SOURCE ": line %zu: --explain", s->line_no);
    }
    printf("%.17g,%d", score, flag);
    if (s->contrib)
        cli_write_explanation(stdout, &s->explain, s->contrib);
    putchar('\n');
    if (fflush(stdout) != 0)
        return cli_error("writing standard output failed: %s", strerror(errno));
    return CLI_OK;
}

static int write_header(stream *s)
{
    cli_write_score_header(stdout, s->contrib ? s->explain.k : 0);
    if (fflush(stdout) != 0)
        return cli_error("writing standard output failed: %s", strerror(errno));
    return CLI_OK;
}

static int run(stream *s, int has_header, const char *label)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t got;
    int rc = CLI_OK, header_done = !has_header;
    if (!has_header)
        rc = write_header(s);
    while (rc == CLI_OK && (got = getline(&line, &cap, stdin)) >= 0) {
        size_t n = (size_t)got;
        s->line_no++;
        if (n && line[n - 1] == '\n')
            n--;
        if (n && line[n - 1] == '\r')
            n--;
        line[n] = '\0';
        char *text = line;
        if (s->line_no == 1 && n >= 3 && !memcmp(text, "\xEF\xBB\xBF", 3)) {
            text += 3; /* a UTF-8 byte order mark */
            n -= 3;
        }
        if (n == 0)
            continue; /* an empty line */
        if (!header_done) {
            rc = setup_header(s, text, n, label);
            if (rc == CLI_OK)
                rc = write_header(s);
            header_done = 1;
            continue;
        }
        s->data_lines++;
        if (read_row(s, text, n) == 0)
            rc = score_row(s);
    }
    if (rc == CLI_OK && ferror(stdin))
        rc = cli_error(SOURCE ": cannot read: %s", strerror(errno));
    if (rc == CLI_OK && !header_done) /* no input at all: still a well-formed output */
        rc = write_header(s);
    free(line);
    if (rc == CLI_OK && s->bad) {
        rc = cli_error(SOURCE ": %zu of %zu data lines were bad and got no output line", s->bad,
                       s->data_lines);
    }
    return rc;
}

int cmd_stream(int argc, char **argv)
{
    enum { OPT_HEADER = 256, OPT_NO_HEADER };
    static const struct option options[] = {
        {"header", no_argument, NULL, OPT_HEADER},
        {"no-header", no_argument, NULL, OPT_NO_HEADER},
        {"label", required_argument, NULL, 'l'},
        {"explain", required_argument, NULL, 'e'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *label = NULL;
    size_t explain = 0;
    int has_header = 1, opt;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":l:e:h", options, NULL)) != -1) {
        switch (opt) {
        case OPT_HEADER: has_header = 1; break;
        case OPT_NO_HEADER: has_header = 0; break;
        case 'l': label = optarg; break;
        case 'e':
            if (cli_parse_count(optarg, &explain) != 0)
                return cli_usage("stream", "--explain wants a positive integer, not '%s'",
                                 optarg);
            break;
        case 'h': fputs(stream_help, stdout); return CLI_OK;
        default: return cli_bad_option("stream", opt, argv);
        }
    }
    if (argc - optind < 1)
        return cli_usage("stream", "expected MODEL");
    if (argc - optind > 1)
        return cli_usage("stream", "too many operands (the data comes on standard input)");
    if (label && !has_header)
        return cli_usage("stream", "--label needs a header line; with --no-header every field "
                                   "is a feature");
    anoma_model *m = NULL;
    cli_progress("loading %s...", argv[optind]);
    anoma_status st = anoma_model_load(argv[optind], &m);
    if (st != ANOMA_OK)
        return cli_fail(st, "%s", argv[optind]);
    stream s = {0};
    s.model = m;
    int rc = setup_model(&s, explain);
    if (rc == CLI_OK && !has_header)
        rc = setup_no_header(&s);
    if (rc == CLI_OK)
        rc = run(&s, has_header, label);
    stream_free(&s);
    anoma_model_free(m);
    return rc;
}
