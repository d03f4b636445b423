/* Shared pieces of the `anoma` command-line tool. The tool uses the public
 * libanoma API only, so it doubles as an example of a complete program. */
#ifndef ANOMA_CLI_H
#define ANOMA_CLI_H

#include <anoma/anoma.h>

#include <stdio.h>

/* Exit codes, documented in `anoma --help`. */
enum {
    CLI_OK = 0,        /* success */
    CLI_BAD_INPUT = 1, /* unreadable data, bad model file, unknown name or bad value */
    CLI_USAGE = 2      /* unknown option, missing argument or operand */
};

/* The commands, each in its own file. argv[0] is the command name. */
int cmd_train(int argc, char **argv);
int cmd_score(int argc, char **argv);
int cmd_evaluate(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_inspect(int argc, char **argv);
int cmd_stream(int argc, char **argv);
int cmd_convert(int argc, char **argv);
int cmd_serve(int argc, char **argv);

/* ---- messages (main.c) ------------------------------------------------ */

/* "anoma: <what>: <anoma_last_error()>" on one line; returns CLI_BAD_INPUT. */
int cli_fail(anoma_status status, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* As cli_fail for a file: names the path once, whether or not the
 * library's message already does. */
int cli_fail_file(anoma_status status, const char *path);
/* "anoma: <message>" on one line; returns CLI_BAD_INPUT. */
int cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "anoma COMMAND: <message> (see 'anoma COMMAND --help')"; returns CLI_USAGE. */
int cli_usage(const char *command, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The usage error for what getopt_long() rejected (its return value). */
int cli_bad_option(const char *command, int opt, char **argv);
/* A progress line on stderr, only when stderr is a terminal. */
void cli_progress(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A progress bar on stderr, only on a terminal: what, a percentage, done of
 * total units and an estimate of the time left from start (cli_now_ms()).
 * Redrawn in place; the line ends when done == total. */
void cli_progress_bar(const char *what, size_t done, size_t total, const char *units,
                      double start_ms);
/* The library's progress reports (anoma/progress.h) as one bar per stage:
 * bytes read, trees built, rows scored. Give it as the callback with a
 * NULL user pointer; it never cancels. */
int cli_progress_report(void *user, anoma_stage stage, uint64_t done, uint64_t total);
/* cli_progress_report when stderr is a terminal, else NULL: piped, the
 * library does not even count. */
anoma_progress_fn cli_progress_callback(void);

/* ---- help (help.c) ------------------------------------------------------ */

/* Every detector with its summary and parameter table, then the model's. */
void cli_print_components(FILE *out);

/* ---- parsing helpers (main.c) ------------------------------------------ */

/* Split the list "a,b,c" (the library's quoting rule: "device type","a,b"
 * are two names) of the option named option into a NULL-terminated array
 * of non-empty items, held in one allocation (free() *items once). count
 * may be NULL. Prints the error and returns CLI_BAD_INPUT, else CLI_OK. */
int cli_split_list(const char *option, const char *text, char ***items, size_t *count);
/* Split "key=value": copies the key into key[cap] and points *value past '='.
 * Returns 0, or -1 when there is no '=', the key is empty or too long. */
int cli_split_kv(const char *text, char *key, size_t cap, const char **value);

/* --step 'NAME key=value ...' (train, evaluate): append the step to an
 * unfitted model; the text after NAME is what anoma_model_add_step takes.
 * Prints the error and returns CLI_USAGE or CLI_BAD_INPUT, else CLI_OK. */
int cli_add_step(anoma_model *m, const char *command, const char *text);

/* ---- data (data.c) ----------------------------------------------------- */

/* How to read a CSV file and pick its features (the options every command
 * that reads data shares). */
enum { CLI_HEADER_GUESS = -1, CLI_HEADER_NO = 0, CLI_HEADER_YES = 1 };
typedef struct cli_input {
    const char *label;        /* --label COL, or NULL: a column named label or
                                 is_anomaly is the label (see auto_label) */
    int need_labels;          /* read and check the labels */
    int auto_label;           /* without --label, take label/is_anomaly as the label */
    const char *const *select; /* the model's feature names (n_select), or NULL */
    size_t n_select;
    const char *features;     /* --features a,b,c, or NULL */
    const char *drop;         /* --drop a,b, or NULL */
    const char *keep;         /* --keep a,b: columns passed through, or NULL */
    const char *types;        /* --types NAME:TYPE,..., or NULL */
    const char *delimiter;    /* --delimiter, or NULL for ',' */
    int header;               /* CLI_HEADER_* */
    int typed;                /* the model has pipeline steps: text and timestamp
                                 columns are features too (cli_data.features) */
} cli_input;

/* The input options in a command's getopt_long table (values >= 300), and
 * their handling: cli_input_option() returns 1 when it took opt. */
#define CLI_INPUT_OPTIONS                                                      \
    {"header", no_argument, NULL, 300}, {"no-header", no_argument, NULL, 301}, \
    {"delimiter", required_argument, NULL, 302},                               \
    {"types", required_argument, NULL, 303}
#define CLI_SELECT_OPTIONS                                                     \
    {"features", required_argument, NULL, 304}, {"drop", required_argument, NULL, 305}
#define CLI_KEEP_OPTION {"keep", required_argument, NULL, 306}
int cli_input_option(cli_input *in, int opt, const char *arg);
/* Help text of those options. */
extern const char cli_input_help[], cli_select_help[], cli_keep_help[];

/* A CSV file as a row-major feature matrix and an optional label column. */
typedef struct cli_data {
    anoma_frame *frame;  /* the file as read; owns the column names */
    size_t rows;
    size_t cols;         /* features selected */
    double *x;           /* rows * cols, row-major */
    const char **names;  /* cols feature names, owned by frame */
    int *labels;         /* rows 0/1 labels, or NULL */
    size_t n_anomalies;  /* rows labelled 1 */
    const char *label;   /* the label column used, or NULL */
    size_t n_keep;       /* --keep columns, in the order given */
    size_t *keep;        /* their frame indices */
    const char **unused; /* columns left out as timestamp or text, n_unused */
    size_t n_unused;
    anoma_frame *features; /* with cli_input.typed: the feature columns as a frame
                              (x is then NULL) */
} cli_data;

/* Read `path` ("-": standard input) as `in` says. The features are the
 * model's names (in->select) or --features, else every number column but
 * the label, --drop and --keep columns; timestamp and text columns are
 * never features unless declared numbers (--types), and are listed in
 * d->unused. Prints the error and returns CLI_BAD_INPUT on failure, else
 * CLI_OK; call cli_data_free() in either case. */
int cli_data_load(cli_data *d, const char *path, const cli_input *in);
void cli_data_free(cli_data *d);
/* The labels to fit m with: labels when one of its detectors learns from
 * them (ANOMA_FLAG_SUPERVISED), else NULL, since the library refuses labels
 * no detector uses; the label column still stays out of the features. */
const int *cli_fit_labels(const anoma_model *m, const int *labels);
/* "features (N): a, b, c" (and the label and unused columns) on out. */
void cli_data_describe(const cli_data *d, FILE *out);
/* "anoma: note: ..." on stderr naming the unused columns, if any. */
void cli_data_note_unused(const cli_data *d, const char *path);
/* Append `sep` and `name:type` to o[cap] (o holds n chars) as one item of
 * parameter text: in double quotes, with \" and \\ escaped, when the name
 * holds whitespace, a comma, a quote or a backslash (the quoting rule of
 * include/anoma/params.h). Returns the new length. */
int cli_append_param_type(char *o, size_t cap, int n, const char *sep, const char *name,
                          const char *type);
/* Write field i of kept column k as CSV (quoted when needed). */
void cli_write_kept(FILE *out, const cli_data *d, size_t k, size_t i);
/* A CSV field: quoted (quotes doubled) when it holds a comma, quote or newline. */
void cli_put_field(FILE *out, const char *s);

/* Milliseconds on a monotonic clock, for timings. */
double cli_now_ms(void);

/* ---- scores and explanations (score.c), shared by score and stream ---- */

/* The model's feature names into *names, an array to free() (NULL when the
 * model has none; then *n is 0). Prints the error and returns CLI_BAD_INPUT
 * when it names only some of them, else CLI_OK. */
int cli_model_feature_names(const anoma_model *m, const char ***names, size_t *n);
/* The columns --explain ranks, *width of them: the detectors' input
 * (anoma_model_output_name: "device=Mobile", "hour_sin") for a model with
 * steps, else the model's feature names (*names NULL when it has none).
 * *names is an array to free(). Prints the error and returns CLI_BAD_INPUT
 * on failure, else CLI_OK. */
int cli_explained_columns(const anoma_model *m, const char ***names, size_t *width);
/* --explain explains through the model's first detector: CLI_OK when its
 * flags say it has per-feature scores, else the error printed and
 * CLI_BAD_INPUT, before any input is read. */
int cli_check_explainable(const anoma_model *m);
/* A count option (--explain K, --train-rows N): a whole number >= 1.
 * Returns 0, or -1 when malformed. */
int cli_parse_count(const char *text, size_t *out);

/* Per-row explanations: the top k of each row's `cols` contributions. */
typedef struct cli_explanation {
    const double *contrib; /* rows * cols, row-major; NULL: no explanation */
    size_t cols, k;        /* k <= cols */
    const char **names;    /* cols model feature names, or NULL: f<j> */
    unsigned char *used;   /* cols bytes of scratch */
} cli_explanation;

/* "score,is_anomaly", then ",probability,confidence" when probability, and
 * when k > 0 ",feature_1,contribution_1,..." to feature_k; no newline. */
void cli_write_score_columns(FILE *out, int probability, size_t k);
/* The score columns (with probability,confidence when probability), then
 * ",error" when error_column (anoma stream), then a newline. */
void cli_write_score_header(FILE *out, int probability, size_t k, int error_column);
/* The column of the r-th largest contribution of c[0..cols) (ties: lower
 * index; NaN last); call for r = 0, 1, ... k-1 in turn (e->used keeps the
 * columns taken). */
size_t cli_rank_features(const cli_explanation *e, const double *c, size_t r);
/* ",name,value" for the k largest contributions c[0..cols) of one row,
 * largest first (ties: lower index; NaN last). Allocates nothing. */
void cli_write_explanation(FILE *out, const cli_explanation *e, const double *c);

/* ---- tables (data.c) --------------------------------------------------- */

/* A text table: the first row is the header. Cells are copied. */
typedef struct cli_table {
    size_t cols;
    size_t n;     /* cells so far */
    size_t cap;
    char **cells; /* row-major */
    int oom;      /* an allocation failed: the table is incomplete */
} cli_table;

void cli_table_init(cli_table *t, size_t cols);
void cli_table_add(cli_table *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Aligned columns: `align` holds 'l' or 'r' per column (NULL: all left).
 * Each line starts with `indent`. */
void cli_table_print(const cli_table *t, FILE *out, const char *indent, const char *align);
void cli_table_free(cli_table *t);

#endif /* ANOMA_CLI_H */
