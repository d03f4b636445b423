/* anoma evaluate: fit each detector on a labelled CSV file, score it and
 * print ROC AUC, PR AUC, precision, recall, F1 and timings. */
#include "evaluate.h"
#include "html_report.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const char evaluate_help[] =
    "usage: anoma evaluate --label COL [--step 'NAME KEY=VALUE ...' ...]\n"
    "                      [--detectors a,b,c] [--param DET.KEY=VALUE ...]\n"
    "                      [--contamination R] [--train-rows N | --train-fraction F\n"
    "                      [--seed S]] [--format table|csv|json] [--report FILE]\n"
    "                      data.csv\n"
    "\n"
    "Fit one single-detector model per detector on data.csv and score it; print\n"
    "one row per detector: ROC AUC, PR AUC (average precision), precision,\n"
    "recall and F1 at the model's threshold (set by its contamination), the\n"
    "best F1 over all thresholds, the threshold, and fit and score times.\n"
    "\n"
    "By default every row is used both to fit and to score, as unsupervised\n"
    "benchmarks do. Metrics that need both classes among the scored rows are\n"
    "n/a (null in JSON, empty in CSV) when one is missing.\n"
    "\n"
    "  -l, --label COL          the 0/1 label column (1 = anomaly); required\n"
    "      --step 'NAME KEY=VALUE ...'  a pipeline step in front of every\n"
    "                           detector (repeatable, applied in order; the\n"
    "                           same text as 'anoma train --step'); with steps\n"
    "                           every column but the label and --drop goes in\n"
    "  -d, --detectors a,b,c    detectors to compare (default: all listed below\n"
    "                           but the stateful ones, which score series)\n"
    "  -p, --param DET.KEY=VALUE  a parameter of detector DET\n"
    "  -c, --contamination R    expected anomaly fraction (default: the model's,\n"
    "                           shown in the header line)\n"
    "  -r, --train-rows N       fit on the first N rows, score the others\n"
    "  -f, --train-fraction F   fit on a random fraction F of the rows, score the\n"
    "                           others; the draw depends only on --seed\n"
    "  -s, --seed S             seed of that draw (default 0)\n"
    "      --format FORMAT      table (default), csv or json (an array of objects)\n"
    "      --report FILE        also write a self-contained HTML report of the\n"
    "                           scored rows: curves, score histograms, confusion\n"
    "                           matrices, series, explanations (docs/cli.md)\n"
    "%s%s"
    "  -h, --help               this text\n"
    "\n"
    "A detector that cannot be fitted by this command (one that only imports\n"
    "weights, for example) is skipped with a note when no --detectors are given.\n"
    "An unknown detector or parameter, or a bad value, exits with status 1.\n"
    "\n";

typedef struct eval_options {
    const char *label, *detectors, *contamination;
    const char *report;   /* --report FILE, or NULL */
    eval_format format;
    const char **params;  /* DET.KEY=VALUE, in command-line order */
    size_t n_params;
    const char **steps;   /* --step texts, in command-line order */
    size_t n_steps;
    size_t train_rows;    /* 0 when not given */
    double train_fraction; /* 0 when not given */
    uint64_t seed;
    int have_seed;
    cli_input in;         /* --label, --features, --drop, --types, ... */
} eval_options;

/* ---- options ------------------------------------------------------------ */

static int parse_options(int argc, char **argv, eval_options *o, int *help_shown)
{
    static const struct option options[] = {
        {"label", required_argument, NULL, 'l'},
        {"detectors", required_argument, NULL, 'd'},
        {"param", required_argument, NULL, 'p'},
        {"contamination", required_argument, NULL, 'c'},
        {"train-rows", required_argument, NULL, 'r'},
        {"train-fraction", required_argument, NULL, 'f'},
        {"seed", required_argument, NULL, 's'},
        {"format", required_argument, NULL, 'F'},
        {"step", required_argument, NULL, 'S'},
        {"report", required_argument, NULL, 'R'},
        {"help", no_argument, NULL, 'h'},
        CLI_INPUT_OPTIONS,
        CLI_SELECT_OPTIONS,
        {NULL, 0, NULL, 0},
    };
    int opt;
    char *end;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":l:d:p:c:r:f:s:h", options, NULL)) != -1) {
        switch (opt) {
        case 'l': o->label = optarg; break;
        case 'd': o->detectors = optarg; break;
        case 'c': o->contamination = optarg; break;
        case 'p': o->params[o->n_params++] = optarg; break;
        case 'S': o->in.typed = 1; o->steps[o->n_steps++] = optarg; break;
        case 'R': o->report = optarg; break;
        case 'r':
            if (cli_parse_count(optarg, &o->train_rows) != 0)
                return cli_usage("evaluate", "--train-rows wants a positive integer");
            break;
        case 'f':
            o->train_fraction = strtod(optarg, &end);
            if (end == optarg || *end || !(o->train_fraction > 0 && o->train_fraction < 1))
                return cli_usage("evaluate", "--train-fraction wants a number in (0, 1)");
            break;
        case 's':
            errno = 0;
            o->seed = strtoull(optarg, &end, 10);
            if (errno || end == optarg || *end || optarg[0] == '-')
                return cli_usage("evaluate", "--seed wants a non-negative integer");
            o->have_seed = 1;
            break;
        case 'F':
            if (!strcmp(optarg, "table")) o->format = FORMAT_TABLE;
            else if (!strcmp(optarg, "csv")) o->format = FORMAT_CSV;
            else if (!strcmp(optarg, "json")) o->format = FORMAT_JSON;
            else return cli_usage("evaluate", "--format is table, csv or json, not '%s'", optarg);
            break;
        case 'h':
            printf(evaluate_help, cli_select_help, cli_input_help);
            cli_print_components(stdout);
            *help_shown = 1;
            return CLI_OK;
        default:
            if (!cli_input_option(&o->in, opt, optarg))
                return cli_bad_option("evaluate", opt, argv);
        }
    }
    if (!o->label)
        return cli_usage("evaluate", "missing --label COL");
    if (o->train_rows && o->train_fraction > 0)
        return cli_usage("evaluate", "give --train-rows or --train-fraction, not both");
    if (o->have_seed && !(o->train_fraction > 0))
        return cli_usage("evaluate", "--seed only applies to --train-fraction");
    if (argc - optind != 1)
        return cli_usage("evaluate", optind >= argc ? "missing data.csv" : "too many operands");
    return CLI_OK;
}

/* ---- detectors and their models ---------------------------------------- */

/* The detectors to run: --detectors, or every registered one (printing the
 * error and returning it when the list cannot be made). */
static int detector_list(const eval_options *o, const char ***names, char **owned, size_t *n)
{
    *owned = NULL;
    *names = NULL;
    if (o->detectors) {
        char **items;
        int rc = cli_split_list("--detectors", o->detectors, &items, n);
        if (rc == CLI_OK)
            *owned = (char *)items, *names = (const char **)items;
        return rc;
    }
    size_t count = 0;
    while (anoma_component_name(ANOMA_KIND_DETECTOR, count))
        count++;
    const char **all = malloc((count + 1) * sizeof *all);
    if (!all)
        return cli_error("out of memory");
    /* stateful detectors score series through streams, not rows: never a
     * default */
    size_t kept = 0;
    for (size_t i = 0; i < count; i++) {
        const char *name = anoma_component_name(ANOMA_KIND_DETECTOR, i);
        unsigned flags = 0;
        if (anoma_component_flags(ANOMA_KIND_DETECTOR, name, &flags) == ANOMA_OK &&
            !(flags & ANOMA_FLAG_STATEFUL))
            all[kept++] = name;
    }
    *owned = (char *)all, *names = all;
    *n = kept;
    return CLI_OK;
}

/* "DET.KEY=VALUE" -> det, key, value. */
static int split_param(const char *text, char *det, size_t det_cap, char *key, size_t key_cap,
                       const char **value)
{
    const char *dot = strchr(text, '.'), *eq = strchr(text, '=');
    if (!dot || !eq || dot > eq || dot == text || (size_t)(dot - text) >= det_cap)
        return -1;
    memcpy(det, text, (size_t)(dot - text));
    det[dot - text] = '\0';
    return cli_split_kv(dot + 1, key, key_cap, value);
}

/* A one-detector model for `name` behind the --step pipeline, with its
 * --param values applied. */
static int build_model(const eval_options *o, const char *name, anoma_model **m)
{
    anoma_status st = anoma_model_create(NULL, m);
    if (st != ANOMA_OK)
        return cli_fail(st, "creating a model");
    for (size_t k = 0; k < o->n_steps; k++) {
        int rc = cli_add_step(*m, "evaluate", o->steps[k]);
        if (rc != CLI_OK)
            return rc;
    }
    if (o->contamination &&
        (st = anoma_model_set_param(*m, "contamination", o->contamination)) != ANOMA_OK)
        return cli_fail(st, "--contamination %s", o->contamination);
    if ((st = anoma_model_add_detector(*m, name, NULL, NULL)) != ANOMA_OK)
        return cli_fail(st, "detector '%s'", name);
    for (size_t k = 0; k < o->n_params; k++) {
        char det[64], key[128];
        const char *value;
        split_param(o->params[k], det, sizeof det, key, sizeof key, &value);
        if (strcmp(det, name) == 0 &&
            (st = anoma_model_set_detector_param(*m, 0, key, value)) != ANOMA_OK)
            return cli_fail(st, "parameter '%s' of %s", key, name);
    }
    return CLI_OK;
}

/* Every --param must be well-formed and name a detector being evaluated. */
static int check_params(const eval_options *o, const char *const *names, size_t n)
{
    for (size_t k = 0; k < o->n_params; k++) {
        char det[64], key[128];
        const char *value;
        if (split_param(o->params[k], det, sizeof det, key, sizeof key, &value) != 0)
            return cli_usage("evaluate", "--param '%s' is not DET.KEY=VALUE", o->params[k]);
        size_t i = 0;
        while (i < n && strcmp(names[i], det) != 0)
            i++;
        if (i == n)
            return cli_error("--param %s: '%s' is not among the detectors evaluated",
                             o->params[k], det);
    }
    return CLI_OK;
}

/* The contamination the models use: the option, or the model's default;
 * NaN for auto (each detector's own rule, not a rate). */
static double contamination_used(const eval_options *o)
{
    if (o->contamination && !strcmp(o->contamination, "auto"))
        return NAN;
    if (o->contamination)
        return strtod(o->contamination, NULL); /* the model accepted it already */
    anoma_param_info p;
    for (size_t i = 0; anoma_component_param(ANOMA_KIND_MODEL, "model", i, &p) == ANOMA_OK; i++)
        if (!strcmp(p.key, "contamination"))
            return strtod(p.default_value, NULL);
    return NAN;
}

/* ---- one detector ------------------------------------------------------- */

/* Precision, recall and F1 of 0/1 predictions, with metrics.h's conventions
 * for 0/0 (the value is 0). */
static void rates(const int *pred, const int *labels, size_t n, eval_result *r)
{
    size_t tp = 0, fp = 0, fn = 0;
    for (size_t i = 0; i < n; i++) {
        tp += pred[i] && labels[i];
        fp += pred[i] && !labels[i];
        fn += !pred[i] && labels[i];
    }
    r->precision = tp + fp ? (double)tp / (double)(tp + fp) : 0;
    r->recall = tp + fn ? (double)tp / (double)(tp + fn) : 0;
    r->f1 = tp ? 2.0 * (double)tp / (double)(2 * tp + fp + fn) : 0;
}

/* Fit, score, predict and measure; *stage names the step that failed. */
static anoma_status run_one(anoma_model *m, const eval_split *s, double *scores, int *pred,
                            eval_result *r, const char **stage)
{
    const size_t n = s->test_frame ? anoma_frame_rows(s->test_frame) : s->test.rows;
    const size_t pos = s->test_anomalies;
    double t0 = cli_now_ms();
    const int *labels = cli_fit_labels(m, s->train_labels);
    anoma_status st = s->train_frame ? anoma_model_fit_frame(m, s->train_frame, labels, NULL)
                                     : anoma_model_fit(m, &s->train, labels, NULL);
    r->fit_ms = cli_now_ms() - t0;
    *stage = "fitting";
    if (st != ANOMA_OK)
        return st;
    t0 = cli_now_ms();
    st = s->test_frame ? anoma_model_score_frame(m, s->test_frame, scores)
                       : anoma_model_score(m, &s->test, scores);
    r->score_ms = cli_now_ms() - t0;
    *stage = "scoring";
    if (st == ANOMA_OK)
        st = s->test_frame ? anoma_model_predict_frame(m, s->test_frame, pred)
                           : anoma_model_predict(m, &s->test, pred);
    if (st == ANOMA_OK)
        st = anoma_model_threshold(m, &r->threshold);
    if (st != ANOMA_OK)
        return st;
    rates(pred, s->test_labels, n, r);
    /* ROC AUC needs both classes; PR AUC and best F1 need an anomaly */
    r->roc_auc = r->pr_auc = r->best_f1 = NAN;
    *stage = "measuring";
    if (pos > 0 && pos < n)
        st = anoma_roc_auc(scores, s->test_labels, n, &r->roc_auc);
    if (st == ANOMA_OK && pos > 0)
        st = anoma_average_precision(scores, s->test_labels, n, &r->pr_auc);
    double cut;
    if (st == ANOMA_OK && pos > 0)
        st = anoma_best_f1(scores, s->test_labels, n, &cut, &r->best_f1);
    return st;
}

/* Run every model; the results of the detectors not skipped go to r[].
 * With `kept` (room for n * rows scores, for --report), the scores of the
 * i-th detector run go to kept + i * rows and its model to kept_models[i]. */
static int run_all(anoma_model **models, const char *const *names, size_t n, int skip_unfit,
                   int contamination_is_auto, const eval_split *s, eval_result *r,
                   size_t *n_done, double *kept, anoma_model **kept_models)
{
    size_t rows = s->test_frame ? anoma_frame_rows(s->test_frame) : s->test.rows;
    double *scores = kept ? NULL : malloc((rows + 1) * sizeof *scores);
    int *pred = malloc((rows + 1) * sizeof *pred);
    int rc = (scores || kept) && pred ? CLI_OK : cli_error("out of memory");
    *n_done = 0;
    for (size_t k = 0; k < n && rc == CLI_OK; k++) {
        const char *stage;
        double rule;
        /* contamination=auto over every detector: one without a rule of its
         * own (knn) is left out, as an unsupported one is */
        if (skip_unfit && contamination_is_auto &&
            anoma_model_auto_threshold(models[k], &rule) == ANOMA_ERR_PARAM_VALUE) {
            fprintf(stderr, "anoma: skipping %s: %s\n", names[k], anoma_last_error());
            continue;
        }
        cli_progress("fitting %s...", names[k]);
        r[*n_done].detector = names[k];
        if (kept) {
            scores = kept + *n_done * rows;
            kept_models[*n_done] = models[k];
        }
        anoma_status st = run_one(models[k], s, scores, pred, &r[*n_done], &stage);
        if (st == ANOMA_ERR_UNSUPPORTED && skip_unfit && !strcmp(stage, "fitting"))
            fprintf(stderr, "anoma: skipping %s: %s\n", names[k], anoma_last_error());
        else if (st != ANOMA_OK)
            rc = cli_fail(st, "%s %s", stage, names[k]);
        else
            ++*n_done;
    }
    if (!kept)
        free(scores);
    free(pred);
    return rc;
}

/* --report: the scored rows and each detector's scores as an HTML report. */
static int write_report(const char *out, const eval_summary *summary, const cli_data *d,
                        const eval_split *s, const eval_result *r, size_t n,
                        const double *kept, anoma_model *const *kept_models, int random_split)
{
    size_t rows = s->test_frame ? anoma_frame_rows(s->test_frame) : s->test.rows;
    html_detector *det = calloc(n + 1, sizeof *det);
    if (!det)
        return cli_error("out of memory");
    for (size_t k = 0; k < n; k++)
        det[k] = (html_detector){r[k].detector, kept_models[k], kept + k * rows, r[k].threshold};
    char title[600], text[1200];
    snprintf(title, sizeof title, "anoma evaluate: %s", summary->path);
    snprintf(text, sizeof text, "%s: %zu rows, %zu feature columns, %zu %s; %s.", summary->path,
             summary->rows, summary->cols, summary->anomalies,
             summary->anomalies == 1 ? "anomaly" : "anomalies", summary->split);
    html_report rep = {title, text, rows, s->test_labels, s->test_frame ? NULL : &s->test,
                       d->names, NULL, NULL, det, n};
    /* the rows scored are the file's last `rows`, in order, unless drawn at random */
    if (!random_split)
        html_report_time_column(d, d->rows - rows, &rep.time, &rep.time_name);
    int rc = html_report_write(out, &rep);
    free(det);
    return rc;
}

int cmd_evaluate(int argc, char **argv)
{
    eval_options o = {.in = {.header = CLI_HEADER_GUESS}};
    int help_shown = 0;
    /* every --param is one argument at least, so argc bounds their number */
    o.params = malloc((size_t)argc * sizeof *o.params);
    o.steps = malloc((size_t)argc * sizeof *o.steps);
    int rc = o.params && o.steps ? parse_options(argc, argv, &o, &help_shown)
                                 : cli_error("out of memory");
    if (rc != CLI_OK || help_shown) {
        free(o.params);
        free(o.steps);
        return rc;
    }
    const char *path = argv[optind];
    char *owned;
    size_t n = 0;
    const char **names;
    rc = detector_list(&o, &names, &owned, &n);
    if (rc == CLI_OK && n == 0)
        rc = o.detectors ? cli_usage("evaluate", "--detectors names no detector")
                         : cli_error("no detectors are registered in this build");
    if (rc == CLI_OK)
        rc = check_params(&o, names, n);

    /* build every model before reading the data, so a bad name or value fails fast */
    anoma_model **models = rc == CLI_OK ? calloc(n, sizeof *models) : NULL;
    if (rc == CLI_OK && !models)
        rc = cli_error("out of memory");
    for (size_t k = 0; k < n && rc == CLI_OK; k++)
        rc = build_model(&o, names[k], &models[k]);

    cli_data d = {0};
    eval_split s = {0};
    eval_result *results = NULL;
    size_t n_done = 0;
    if (rc == CLI_OK) {
        cli_progress("reading %s...", path);
        o.in.label = o.label;
        o.in.need_labels = 1;
        rc = cli_data_load(&d, path, &o.in);
        if (rc == CLI_OK)
            cli_data_note_unused(&d, path);
    }
    if (rc == CLI_OK)
        rc = eval_make_split(&d, o.train_rows, o.train_fraction, o.seed, &s);
    if (rc == CLI_OK && !(results = calloc(n, sizeof *results)))
        rc = cli_error("out of memory");
    /* --report keeps every detector's scores: 8 bytes a row a detector */
    size_t scored = s.test_frame ? anoma_frame_rows(s.test_frame) : s.test.rows;
    double *kept = NULL;
    anoma_model **kept_models = NULL;
    if (rc == CLI_OK && o.report &&
        (!(kept = malloc(n * scored * sizeof *kept + 1)) ||
         !(kept_models = calloc(n + 1, sizeof *kept_models))))
        rc = cli_error("out of memory");
    if (rc == CLI_OK)
        rc = run_all(models, names, n, o.detectors == NULL, isnan(contamination_used(&o)), &s,
                     results, &n_done, kept, kept_models);
    if (rc == CLI_OK) {
        eval_summary summary = {path, d.rows, d.cols, d.n_anomalies, contamination_used(&o),
                                s.text};
        eval_report(o.format, &summary, results, n_done);
        if (o.report)
            rc = write_report(o.report, &summary, &d, &s, results, n_done, kept, kept_models,
                              o.train_fraction > 0);
    }
    free(kept);
    free(kept_models);
    for (size_t k = 0; models && k < n; k++)
        anoma_model_free(models[k]);
    free(models);
    free(results);
    eval_split_free(&s);
    cli_data_free(&d);
    free(owned);
    free(o.params);
    free(o.steps);
    return rc;
}
