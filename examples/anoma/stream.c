/* anoma stream: score CSV lines from standard input as they arrive.
 *
 * A thin client over the library's stream (anoma/stream.h): the library
 * keeps each entity's history (window features, time since the previous
 * row), its alert state, the eviction rule and the saved state; this file
 * reads lines, picks the fields and writes answers. Every buffer is sized
 * once from the header (or the model), so a line costs no allocation beyond
 * the growth of getline()'s buffer and a new entity's key. Each output line
 * is flushed at once: a pipe from a sensor or `tail -f` gets its answers in
 * real time. A bad line is reported on stderr and still gets its output
 * line, with empty score fields and the message in the last column, so a
 * consumer pairs output lines with input lines by position; the stream goes
 * on. */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

static const char stream_help[] =
    "usage: anoma stream MODEL [--header | --no-header] [--label COL] [--proba]\n"
    "                    [--explain K]\n"
    "                    [--keep a,b] [--delimiter C] [--entity COL] [--time COL]\n"
    "                    [--state FILE [--save-every N]] [--alerts FILE]\n"
    "                    [--stream-params 'key=value ...']\n"
    "\n"
    "Score CSV lines read from standard input as they arrive, for pipes such as\n"
    "'tail -f sensor.csv | anoma stream model.anoma'. Writes the header\n"
    "'score,is_anomaly' (as 'anoma score' does, with the --proba and --explain\n"
    "columns),\n"
    "then a last column 'error', then one line per data line, in order,\n"
    "flushed at once. Ends at end of input.\n"
    "\n"
    "By default the first line is a header: the columns are picked by the\n"
    "model's feature names as 'anoma score' does, and other columns (such as a\n"
    "label) are ignored, whatever they hold. With --no-header every line holds\n"
    "exactly the model's features, in the model's order. Fields are numbers (or,\n"
    "for a model with pipeline steps, the text and timestamps its columns\n"
    "hold); an empty field, NA, NaN, nan, N/A or null is missing. Fields may be quoted\n"
    "(\"\" is a quote) but may not span lines. Empty lines are not data lines:\n"
    "they are skipped and get no output line.\n"
    "\n"
    "Entities: each value of the --entity column (as written; empty is one\n"
    "entity too) has its own history for the model's window and time steps\n"
    "and its own alerts. A model whose window or time_features step was\n"
    "fitted with entity=COL uses COL by default; another --entity is refused.\n"
    "Without either, all lines are one entity.\n"
    "\n"
    "A bad line (wrong field count, a value that is not a number, an infinite\n"
    "value, an unseen category, an empty --time) does not stop the stream: its\n"
    "output line has the --keep fields (empty when the line could not be split),\n"
    "empty score, is_anomaly, --proba and --explain fields, and the message in\n"
    "'error'\n"
    "(empty on a good line); its entity's history is unchanged. The same\n"
    "message goes to stderr, naming the line number (counted from 1, header and\n"
    "empty lines included), and the exit status is 1 at the end. A bad header,\n"
    "model file, state file or --explain detector stops at once with status 1.\n"
    "\n"
    "      --header          the first line names the columns (the default)\n"
    "      --no-header       no header: each line is the model's features in order\n"
    "  -l, --label COL       a header column to leave out (for models without\n"
    "                        names); must be in the header\n"
    "      --proba           add the anomaly probability and confidence to each\n"
    "                        line, as 'anoma score --proba' (a model that learned\n"
    "                        no probability is refused before any line is read)\n"
    "  -e, --explain K       add the top K features by contribution to each line\n"
    "      --keep a,b        copy these fields, as written, to the front of each\n"
    "                        output line (ids, timestamps) to join results\n"
    "      --delimiter C     field separator: one character, or 'tab' (default ,)\n"
    "      --entity COL      the column naming each line's entity (user, sensor)\n"
    "      --time COL        the column giving each line's time (ISO-8601 or epoch\n"
    "                        seconds) for alerts and evict=idle; default: the\n"
    "                        data line's number\n"
    "      --state FILE      resume from FILE when it exists, and save the whole\n"
    "                        stream state to it (atomically) at the end, on\n"
    "                        SIGINT or SIGTERM, and every --save-every lines\n"
    "      --save-every N    with --state: also save after every N data lines\n"
    "      --alerts FILE     append alert events to FILE as CSV lines (a header\n"
    "                        first when FILE is new): event,entity,line,start,end,\n"
    "                        peak_time,peak_score,n_anomalous,evicted,top_features\n"
    "      --stream-params T the stream's options: max_entities, evict,\n"
    "                        idle_seconds, alert_min, alert_window, alert_quiet,\n"
    "                        alert_quiet_seconds, alert_top, ... (docs/stream.md)\n"
    "  -h, --help            this text\n"
    "\n"
    "Exit status: 0 when every line was scored, 1 when a line was bad (or a bad\n"
    "model, state file or header), 2 for a usage error, 128 + the signal's\n"
    "number after SIGINT or SIGTERM (the state saved first).\n";

#define SOURCE "stdin"
#define NO_FEATURE SIZE_MAX

typedef struct stream {
    const anoma_model *model;
    anoma_stream *stream;
    int typed;                /* the model has steps: rows are typed values */
    int probability;          /* --proba: probability and confidence columns */
    size_t n_features;
    const char **model_names; /* n_features, or NULL when the model has none */
    anoma_csv_parser *parser; /* the library's line parser, from the header */
    const char *delimiter;    /* --delimiter, or NULL */

    /* Per field of a line: sized once, n_fields of each. */
    size_t n_fields;
    size_t *feature;          /* the feature field j feeds, or NO_FEATURE */
    anoma_csv_value *values;  /* the parsed fields */
    char **keep;              /* --keep names, NULL-terminated, or NULL */
    size_t n_keep;
    size_t *keep_field;       /* their fields */

    double *row;              /* n_features values of the current line */
    anoma_value *typed_row;   /* the same, typed (when typed) */
    size_t width;             /* columns the detectors see (explanations rank) */
    const char **explained;   /* their names, or NULL: f<j> */
    double *contrib;          /* width per-feature scores (--explain), or NULL */
    cli_explanation explain;

    const char *entity;       /* --entity (or the model's entity column), or NULL */
    size_t entity_field;      /* its field, or NO_FEATURE */
    const char *time;         /* --time, or NULL */
    size_t time_field;        /* its field, or NO_FEATURE */
    const char *state_path;   /* --state, or NULL */
    size_t save_every;        /* --save-every, 0: only at the end */
    FILE *alerts;             /* --alerts, or NULL */
    const char **outputs;     /* the model's output names, for alert features */

    size_t line_no;           /* lines read so far (1-based number of the last) */
    size_t data_lines, bad;
    char error[512];          /* the current line's message, for its output line */
} stream;

/* ---- one line ----------------------------------------------------------- */

/* A bad line: one message on stderr, kept in s->error for its output line. */
static void bad_line(stream *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void bad_line(stream *s, const char *fmt, ...)
{
    char msg[448];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(s->error, sizeof s->error, "line %zu%s", s->line_no, msg);
    cli_error(SOURCE ": %s", s->error);
    s->bad++;
}

static int flush_line(void)
{
    if (fflush(stdout) != 0)
        return cli_error("writing standard output failed: %s", strerror(errno));
    return CLI_OK;
}

/* The output line of a bad line: its --keep fields when the line could be
 * split (fields_read), else empty; empty score, is_anomaly and --explain
 * fields; the message last. Same shape as a good line, so lines pair up. */
static int write_bad_line(stream *s, int fields_read)
{
    for (size_t k = 0; k < s->n_keep; k++) {
        if (fields_read)
            cli_put_field(stdout, s->values[s->keep_field[k]].text);
        putchar(',');
    }
    putchar(','); /* score, is_anomaly */
    if (s->probability)
        fputs(",,", stdout);
    for (size_t r = 0; s->contrib && r < s->explain.k; r++)
        fputs(",,", stdout);
    putchar(',');
    cli_put_field(stdout, s->error);
    putchar('\n');
    return flush_line();
}

/* Fill s->row from a line; 0, or -1 after reporting it as bad and writing its
 * output line (-2 when that write failed: the run stops). Fields that
 * feed no feature are text to the parser: never converted, never refused. */
static int read_row(stream *s, const char *line, size_t n)
{
    anoma_status st = anoma_csv_parse_row(s->parser, line, n, s->values, s->n_fields);
    if (st != ANOMA_OK) {
        bad_line(s, ": %s", anoma_last_error());
        return write_bad_line(s, 0) == CLI_OK ? -1 : -2;
    }
    for (size_t f = 0; f < s->n_fields; f++) {
        size_t j = s->feature[f];
        const anoma_csv_value *v = &s->values[f];
        if (j == NO_FEATURE)
            continue;
        s->row[j] = v->number;
        if (!s->typed)
            continue;
        anoma_column_type type;
        anoma_model_input_type(s->model, j, &type);
        if (type == ANOMA_COL_STRING)
            s->typed_row[j].text = v->missing ? NULL : v->text;
        else if (type == ANOMA_COL_TIMESTAMP)
            s->typed_row[j].timestamp = v->integer;
        else
            s->typed_row[j].number = v->number;
    }
    return 0;
}

/* ---- setup ---------------------------------------------------------------- */

/* Per-field arrays for the parser's fields; features are read as numbers
 * and the --keep fields found. */
static int prepare_fields(stream *s, const char *where)
{
    size_t n = anoma_csv_parser_cols(s->parser);
    s->n_fields = n;
    s->feature = malloc((n + 1) * sizeof *s->feature);
    s->values = malloc((n + 1) * sizeof *s->values);
    s->keep_field = malloc((s->n_keep + 1) * sizeof *s->keep_field);
    if (!s->feature || !s->values || !s->keep_field)
        return cli_error("out of memory");
    for (size_t f = 0; f < n; f++)
        s->feature[f] = NO_FEATURE;
    for (size_t k = 0; k < s->n_keep; k++)
        if (anoma_csv_parser_find_column(s->parser, s->keep[k], &s->keep_field[k]) != ANOMA_OK)
            return cli_error(SOURCE ": %s: --keep: no column '%s'", where, s->keep[k]);
    return CLI_OK;
}

/* Field f feeds feature j: parsed as the model's input type of j. */
static int use_field(stream *s, size_t f, size_t j)
{
    anoma_column_type type = ANOMA_COL_DOUBLE;
    if (s->typed)
        anoma_model_input_type(s->model, j, &type);
    s->feature[f] = j;
    anoma_csv_parser_set_type(s->parser, f, type);
    return CLI_OK;
}

static char *parser_options(const stream *s, char *buf, size_t cap, size_t columns)
{
    const char *d = s->delimiter ? s->delimiter : ",";
    if (!strcmp(d, "\t") || !strcmp(d, "\\t"))
        d = "tab";
    snprintf(buf, cap, "delimiter=%s columns=%zu", d, columns);
    return buf;
}

/* --no-header: field j is feature j. */
static int setup_no_header(stream *s)
{
    char options[64];
    anoma_status st = anoma_csv_parser_create(NULL, 0,
                                              parser_options(s, options, sizeof options,
                                                             s->n_features),
                                              &s->parser);
    if (st != ANOMA_OK)
        return cli_fail(st, "--delimiter");
    if (prepare_fields(s, "--no-header") != CLI_OK)
        return CLI_BAD_INPUT;
    for (size_t j = 0; j < s->n_features; j++)
        use_field(s, j, j);
    /* the entity and time are model features, found by name */
    for (size_t j = 0; s->model_names && j < s->n_features; j++) {
        if (s->entity && !strcmp(s->model_names[j], s->entity))
            s->entity_field = j;
        if (s->time && !strcmp(s->model_names[j], s->time))
            s->time_field = j;
    }
    if (s->entity && s->entity_field == NO_FEATURE)
        return cli_error("--no-header: the entity column '%s' is not one of the model's "
                         "features; give a header line", s->entity);
    if (s->time && s->time_field == NO_FEATURE)
        return cli_error("--no-header: --time '%s' is not one of the model's features; give a "
                         "header line", s->time);
    return CLI_OK;
}

/* The --entity and --time fields of a header. */
static int find_entity_and_time(stream *s)
{
    if (s->entity && anoma_csv_parser_find_column(s->parser, s->entity, &s->entity_field) !=
                         ANOMA_OK)
        return cli_error(SOURCE ": line %zu: no entity column '%s' in the header", s->line_no,
                         s->entity);
    if (s->time && anoma_csv_parser_find_column(s->parser, s->time, &s->time_field) != ANOMA_OK)
        return cli_error(SOURCE ": line %zu: no --time column '%s' in the header", s->line_no,
                         s->time);
    return CLI_OK;
}

/* After the features are placed: a --time field that feeds none is read as
 * a timestamp (ISO-8601 or epoch seconds). */
static void type_time_field(stream *s)
{
    if (s->time_field != NO_FEATURE && s->feature[s->time_field] == NO_FEATURE)
        anoma_csv_parser_set_type(s->parser, s->time_field, ANOMA_COL_TIMESTAMP);
}

/* The header line: parsed by the library's line parser (same quoting, names
 * checked non-empty and unique), then the model's features found in it. */
static int setup_header(stream *s, const char *line, size_t n, const char *label)
{
    char options[64], where[64];
    parser_options(s, options, sizeof options, 0);
    anoma_status st = anoma_csv_parser_create(line, n, options, &s->parser);
    if (st != ANOMA_OK)
        return cli_fail(st, SOURCE ": line %zu (the header)", s->line_no);
    snprintf(where, sizeof where, "line %zu", s->line_no);
    if (prepare_fields(s, where) != CLI_OK || find_entity_and_time(s) != CLI_OK)
        return CLI_BAD_INPUT;
    size_t cols = s->n_fields, found;
    if (label && anoma_csv_parser_find_column(s->parser, label, &found) != ANOMA_OK)
        return cli_error(SOURCE ": line %zu: the header has no label column '%s'", s->line_no,
                         label);
    if (s->model_names) { /* by name, in the model's order */
        for (size_t j = 0; j < s->n_features; j++) {
            if (anoma_csv_parser_find_column(s->parser, s->model_names[j], &found) != ANOMA_OK)
                return cli_error(SOURCE ": line %zu: no column '%s', which the model was trained "
                                 "on (with no header line, use --no-header)",
                                 s->line_no, s->model_names[j]);
            use_field(s, found, j);
        }
        type_time_field(s);
        return CLI_OK;
    }
    /* a model without names: every column but the label, --keep, --entity and
     * --time, in order */
    size_t j = 0;
    for (size_t f = 0; f < cols; f++) {
        const char *name = anoma_csv_parser_column_name(s->parser, f);
        int kept = f == s->entity_field || f == s->time_field;
        for (size_t k = 0; k < s->n_keep; k++)
            kept |= s->keep_field[k] == f;
        if ((!label || strcmp(name, label) != 0) && !kept && j < s->n_features)
            use_field(s, f, j++);
        else if ((!label || strcmp(name, label) != 0) && !kept)
            j++;
    }
    if (j != s->n_features)
        return cli_error(SOURCE ": line %zu: the header has %zu feature columns, the model "
                         "expects %zu",
                         s->line_no, j, s->n_features);
    type_time_field(s);
    return CLI_OK;
}

/* The scorer, the row and the --explain buffers; checks that detector 0 has
 * per-feature scores before any input is read. */
/* The entity column the model's stateful steps were fitted with
 * (`entity=COL` in a window or time_features step), into buf ("" when
 * none); CLI_BAD_INPUT when two steps name different columns. */
static int model_entity_column(const anoma_model *m, char *buf, size_t cap)
{
    buf[0] = '\0';
    for (size_t k = 0; k < anoma_model_n_steps(m); k++) {
        unsigned flags = 0;
        char params[2048], value[256];
        anoma_component_flags(ANOMA_KIND_STEP, anoma_model_step_name(m, k), &flags);
        if (!(flags & ANOMA_FLAG_STATEFUL) ||
            anoma_model_step_params(m, k, params, sizeof params, NULL) != ANOMA_OK)
            continue;
        const char *at = strstr(params, "entity=");
        if (!at || (at != params && at[-1] != ' '))
            continue;
        at += strlen("entity=");
        size_t n = 0;
        if (*at == '"') { /* the quoting rule: \\ escapes a quote or a backslash */
            for (at++; *at && *at != '"' && n + 1 < sizeof value; at++)
                value[n++] = *at == '\\' && at[1] ? *++at : *at;
        } else {
            while (at[n] && at[n] != ' ' && n + 1 < sizeof value)
                value[n] = at[n], n++;
        }
        value[n] = '\0';
        if (!n)
            continue;
        if (buf[0] && strcmp(buf, value) != 0)
            return cli_error("the model's steps keep history by two entity columns, '%s' and "
                             "'%s': a stream keys each line by one", buf, value);
        snprintf(buf, cap, "%s", value);
    }
    return CLI_OK;
}

static int setup_model(stream *s, size_t explain, const char *params)
{
    s->n_features = anoma_model_n_features(s->model);
    s->typed = anoma_model_n_steps(s->model) > 0;
    size_t n_names;
    int rc = cli_model_feature_names(s->model, &s->model_names, &n_names);
    if (rc != CLI_OK)
        return rc;
    anoma_status st = anoma_stream_create(s->model, params, &s->stream);
    if (st != ANOMA_OK)
        return cli_fail(st, params ? "--stream-params" : "preparing the model");
    s->row = malloc((s->n_features + 1) * sizeof *s->row);
    s->typed_row = malloc((s->n_features + 1) * sizeof *s->typed_row);
    if (!s->row || !s->typed_row)
        return cli_error("out of memory");
    if (explain) {
        if ((rc = cli_check_explainable(s->model)) != CLI_OK ||
            (rc = cli_explained_columns(s->model, &s->explained, &s->width)) != CLI_OK)
            return rc;
        s->contrib = malloc((s->width + 1) * sizeof *s->contrib);
        unsigned char *used = malloc(s->width + 1);
        s->explain = (cli_explanation){s->contrib, s->width,
                                       explain < s->width ? explain : s->width, s->explained,
                                       used};
        if (!s->contrib || !used)
            return cli_error("out of memory");
    }
    return CLI_OK;
}

static void stream_free(stream *s)
{
    anoma_stream_free(s->stream);
    free(s->model_names);
    free(s->outputs);
    if (s->alerts)
        fclose(s->alerts);
    anoma_csv_parser_free(s->parser);
    free(s->feature);
    free(s->values);
    free(s->keep_field);
    free(s->keep);
    free(s->row);
    free(s->typed_row);
    free(s->explained);
    free(s->contrib);
    free(s->explain.used);
}

/* ---- the loop ------------------------------------------------------------- */

/* One alert event as a CSV line of --alerts. */
static void write_event(const stream *s, const anoma_stream_event *ev)
{
    FILE *out = s->alerts;
    fputs(ev->kind == ANOMA_ALERT_OPEN ? "open," : "close,", out);
    cli_put_field(out, ev->entity);
    fprintf(out, ",%zu,%.17g,%.17g,%.17g,%.17g,%llu,%d,", s->line_no, ev->start_time,
            ev->end_time, ev->peak_time, ev->peak_score, (unsigned long long)ev->n_anomalous,
            ev->evicted);
    char top[1024];
    size_t used = 0;
    top[0] = '\0';
    for (size_t k = 0; k < ev->n_top && used < sizeof top; k++) {
        size_t j = ev->top_feature[k];
        const char *name = s->outputs && s->outputs[j] ? s->outputs[j] : NULL;
        int n = name ? snprintf(top + used, sizeof top - used, "%s%s=%.17g", k ? ";" : "", name,
                                ev->top_value[k])
                     : snprintf(top + used, sizeof top - used, "%sf%zu=%.17g", k ? ";" : "", j,
                                ev->top_value[k]);
        used += n > 0 ? (size_t)n : 0;
    }
    cli_put_field(out, top);
    putc('\n', out);
}

/* Events of the last push to --alerts (dropped when there is none). */
static int drain_events(stream *s)
{
    anoma_stream_event ev;
    while (anoma_stream_next_event(s->stream, &ev))
        if (s->alerts)
            write_event(s, &ev);
    if (s->alerts && fflush(s->alerts) != 0)
        return cli_error("--alerts: writing failed: %s", strerror(errno));
    return CLI_OK;
}

/* The line's entity key and time; 0, or -1 when the time is missing. */
static int entity_and_time(stream *s, const char **key, double *time)
{
    *key = s->entity_field == NO_FEATURE || s->values[s->entity_field].missing
               ? ""
               : s->values[s->entity_field].text;
    *time = (double)s->data_lines;
    if (s->time_field == NO_FEATURE)
        return 0;
    const anoma_csv_value *v = &s->values[s->time_field];
    if (v->missing)
        return -1;
    anoma_column_type type = ANOMA_COL_TIMESTAMP;
    if (s->feature[s->time_field] != NO_FEATURE && s->typed)
        anoma_model_input_type(s->model, s->feature[s->time_field], &type);
    else if (s->feature[s->time_field] != NO_FEATURE)
        type = ANOMA_COL_DOUBLE;
    *time = type == ANOMA_COL_TIMESTAMP ? (double)v->integer : v->number;
    return 0;
}

/* Score s->row and write its line; CLI_OK, or CLI_BAD_INPUT when the run
 * must stop (output failed, out of memory). */
static int score_row(stream *s)
{
    double score, time, probability, confidence;
    int flag;
    const char *key;
    if (entity_and_time(s, &key, &time) != 0) {
        bad_line(s, ": --time column '%s' is empty", s->time);
        return write_bad_line(s, 1);
    }
    anoma_status st;
    if (s->typed)
        st = anoma_stream_push_values(s->stream, key, time, s->typed_row, s->n_features, &score,
                                      NULL, &flag);
    else
        st = anoma_stream_push(s->stream, key, time, s->row, s->n_features, &score, NULL, &flag);
    if (st == ANOMA_OK && s->probability) /* the stream's probability, with its confidence */
        st = anoma_model_probability_of_scores(s->model, &score, 1, &probability, &confidence);
    if (st == ANOMA_ERR_NO_MEMORY)
        return cli_fail(st, SOURCE ": line %zu", s->line_no);
    if (st != ANOMA_OK) { /* an infinite number, an unseen category with unseen=error */
        bad_line(s, ": %s", anoma_last_error());
        return write_bad_line(s, 1);
    }
    if (s->contrib) {
        st = anoma_stream_last_feature_scores(s->stream, 0, s->contrib);
        if (st != ANOMA_OK)
            return cli_fail(st, SOURCE ": line %zu: --explain", s->line_no);
    }
    for (size_t k = 0; k < s->n_keep; k++) { /* as written */
        cli_put_field(stdout, s->values[s->keep_field[k]].text);
        putchar(',');
    }
    printf("%.17g,%d", score, flag);
    if (s->probability)
        printf(",%.17g,%.17g", probability, confidence);
    if (s->contrib)
        cli_write_explanation(stdout, &s->explain, s->contrib);
    fputs(",\n", stdout); /* an empty error field */
    int rc = flush_line();
    return rc == CLI_OK ? drain_events(s) : rc;
}

static int write_header(stream *s)
{
    for (size_t k = 0; k < s->n_keep; k++) {
        cli_put_field(stdout, s->keep[k]);
        putchar(',');
    }
    cli_write_score_header(stdout, s->probability, s->contrib ? s->explain.k : 0, 1);
    return flush_line();
}

/* SIGINT / SIGTERM: the number of the signal; the loop stops at the next
 * line and the state is saved. Installed without SA_RESTART, so a read
 * waiting on a quiet pipe returns at once. */
static volatile sig_atomic_t stop_signal;

static void on_stop(int sig)
{
    stop_signal = sig;
}

static void catch_stop_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

/* --state: resume from the file when it exists. */
static int resume(stream *s)
{
    if (!s->state_path || access(s->state_path, F_OK) != 0)
        return CLI_OK;
    anoma_status st = anoma_stream_restore_file(s->stream, s->state_path);
    if (st != ANOMA_OK)
        return cli_fail(st, "--state %s", s->state_path);
    return CLI_OK;
}

static int save_state(stream *s)
{
    if (!s->state_path)
        return CLI_OK;
    anoma_status st = anoma_stream_save_file(s->stream, s->state_path);
    if (st != ANOMA_OK)
        return cli_fail(st, "--state %s: saving", s->state_path);
    return CLI_OK;
}

/* --alerts: open for appending, with the header when the file is empty. */
static int open_alerts(stream *s, const char *path)
{
    s->alerts = fopen(path, "a");
    if (!s->alerts)
        return cli_error("--alerts %s: %s", path, strerror(errno));
    size_t width;
    int rc = cli_explained_columns(s->model, &s->outputs, &width);
    if (rc != CLI_OK)
        return rc;
    if (ftell(s->alerts) == 0)
        fputs("event,entity,line,start,end,peak_time,peak_score,n_anomalous,evicted,"
              "top_features\n", s->alerts);
    if (fflush(s->alerts) != 0)
        return cli_error("--alerts %s: %s", path, strerror(errno));
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
    while (rc == CLI_OK && !stop_signal && (got = getline(&line, &cap, stdin)) >= 0) {
        size_t n = (size_t)got;
        s->line_no++;
        if (n && line[n - 1] == '\n')
            n--;
        if (n && line[n - 1] == '\r')
            n--;
        line[n] = '\0';
        char *text = line;
        if (!has_header && s->line_no == 1 && n >= 3 && !memcmp(text, "\xEF\xBB\xBF", 3)) {
            text += 3; /* a UTF-8 byte order mark (the parser skips one in a header) */
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
        int read = read_row(s, text, n);
        if (read == 0)
            rc = score_row(s);
        else if (read == -2) /* its output line could not be written */
            rc = CLI_BAD_INPUT;
        if (rc == CLI_OK && s->save_every && s->data_lines % s->save_every == 0)
            rc = save_state(s);
    }
    if (rc == CLI_OK && ferror(stdin) && !stop_signal)
        rc = cli_error(SOURCE ": cannot read: %s", strerror(errno));
    if (rc == CLI_OK) /* at the end, and after a stop signal */
        rc = save_state(s);
    if (rc == CLI_OK && !header_done) /* no input at all: still a well-formed output */
        rc = write_header(s);
    free(line);
    if (rc == CLI_OK && s->bad) {
        rc = cli_error(SOURCE ": %zu of %zu data lines were bad (their output lines hold the "
                       "error)",
                       s->bad, s->data_lines);
    }
    if (stop_signal)
        return 128 + stop_signal;
    return rc;
}

int cmd_stream(int argc, char **argv)
{
    static const struct option options[] = {
        {"header", no_argument, NULL, 300},
        {"no-header", no_argument, NULL, 301},
        {"delimiter", required_argument, NULL, 302},
        CLI_KEEP_OPTION,
        {"label", required_argument, NULL, 'l'},
        {"explain", required_argument, NULL, 'e'},
        {"entity", required_argument, NULL, 303},
        {"time", required_argument, NULL, 304},
        {"state", required_argument, NULL, 305},
        {"save-every", required_argument, NULL, 307},
        {"alerts", required_argument, NULL, 308},
        {"stream-params", required_argument, NULL, 309},
        {"proba", no_argument, NULL, 310},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *label = NULL, *keep = NULL, *alerts = NULL, *params = NULL;
    size_t explain = 0;
    int has_header = 1, opt;
    stream s = {0};
    s.entity_field = s.time_field = NO_FEATURE;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":l:e:h", options, NULL)) != -1) {
        switch (opt) {
        case 300: has_header = 1; break;
        case 301: has_header = 0; break;
        case 302: s.delimiter = optarg; break;
        case 303: s.entity = optarg; break;
        case 304: s.time = optarg; break;
        case 305: s.state_path = optarg; break;
        case 306: keep = optarg; break;
        case 307:
            if (cli_parse_count(optarg, &s.save_every) != 0)
                return cli_usage("stream", "--save-every wants a positive integer, not '%s'",
                                 optarg);
            break;
        case 308: alerts = optarg; break;
        case 309: params = optarg; break;
        case 310: s.probability = 1; break;
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
    if (keep && !has_header)
        return cli_usage("stream", "--keep needs a header line that names the columns");
    if (label && !has_header)
        return cli_usage("stream", "--label needs a header line; with --no-header every field "
                                   "is a feature");
    if (s.save_every && !s.state_path)
        return cli_usage("stream", "--save-every needs --state FILE");
    anoma_model *m = NULL;
    cli_progress("loading %s...", argv[optind]);
    anoma_status st = anoma_model_load(argv[optind], &m);
    if (st != ANOMA_OK)
        return cli_fail_file(st, argv[optind]);
    s.model = m;
    char model_entity[256];
    int rc = model_entity_column(m, model_entity, sizeof model_entity);
    if (rc == CLI_OK && model_entity[0] && s.entity && strcmp(s.entity, model_entity) != 0)
        rc = cli_error("--entity %s: the model's steps keep history by '%s'; a stream keyed by "
                       "another column would not give the model's scores", s.entity,
                       model_entity);
    if (rc == CLI_OK && model_entity[0] && !s.entity)
        s.entity = model_entity;
    if (rc == CLI_OK && s.probability) { /* refused before any line is read */
        double p;
        st = anoma_model_probability_of_scores(m, &p, 0, &p, NULL);
        if (st != ANOMA_OK)
            rc = cli_fail(st, "--proba");
    }
    if (rc == CLI_OK)
        rc = setup_model(&s, explain, params);
    if (rc == CLI_OK)
        rc = resume(&s);
    if (rc == CLI_OK && alerts)
        rc = open_alerts(&s, alerts);
    if (rc == CLI_OK && s.state_path)
        catch_stop_signals();
    if (rc == CLI_OK && keep)
        rc = cli_split_list("--keep", keep, &s.keep, &s.n_keep);
    if (rc == CLI_OK && !has_header)
        rc = setup_no_header(&s);
    if (rc == CLI_OK)
        rc = run(&s, has_header, label);
    stream_free(&s);
    anoma_model_free(m);
    return rc;
}
