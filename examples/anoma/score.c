/* anoma score: score the rows of a CSV file with a saved model. */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const char score_help[] =
    "usage: anoma score MODEL data.csv [-o OUT.csv] [--label COL] [--proba] [--explain K]\n"
    "                   [--keep a,b] [--header | --no-header] [--delimiter C]\n"
    "\n"
    "Score every row of data.csv (- for standard input) with MODEL and write a CSV with the header\n"
    "'score,is_anomaly', one line per input row in the same order (higher\n"
    "score = more anomalous; is_anomaly is 1 when the score is above the\n"
    "model's threshold). Scores are written with 17 significant digits.\n"
    "\n"
    "When the model knows its feature names (models from 'anoma train' do),\n"
    "the columns are picked by name in the model's order: other columns, such\n"
    "as a label, are ignored and a missing one is an error. Otherwise every\n"
    "number column except the label (--label, or a column named label or\n"
    "is_anomaly) is used, in file order.\n"
    "\n"
    "With --keep, the named columns come first on each line, as written in\n"
    "data.csv (a missing text value as an empty field; a column the model also\n"
    "uses as a feature as the number read), so results can be joined back.\n"
    "\n"
    "With --proba, each line also gives the row's anomaly probability in [0, 1]\n"
    "and the confidence of its decision, as columns probability,confidence\n"
    "after is_anomaly: the probability is the share of the training rows'\n"
    "scores below the row's (or, for a model trained with --validation FILE\n"
    "--proba, a logistic curve fitted on labelled rows); the confidence is 0\n"
    "at the threshold and 1 at probability 1 or 0. A model that learned no\n"
    "probability (trained with -m probability_rows=0) is an error.\n"
    "\n"
    "With --explain K, each line also names the K features that contribute\n"
    "most to the row's score (the model's first detector's per-feature scores,\n"
    "largest first), as extra columns feature_1,contribution_1,...,\n"
    "feature_K,contribution_K. A feature is named as in the model, or f<j> for\n"
    "the model's column j (from 0) when the model has no names; with pipeline\n"
    "steps, by the derived features the detector saw (device=Mobile,\n"
    "hour_sin, amount_rolling_mean_10). K above the feature count lists every\n"
    "feature. A detector without per-feature scores is an error.\n"
    "\n"
    "A model of one sequence detector (seq_autoencoder) reads data.csv as one\n"
    "series, its rows in time order: a row's score comes from the windows\n"
    "covering it (the detector's point_score rule), NaN where none does yet.\n"
    "\n"
    "  -o, --output OUT.csv  write there (replaced atomically) instead of standard\n"
    "                        output; '-' is standard output\n"
    "  -l, --label COL       a column to leave out (for models without names)\n"
    "  -e, --explain K       add the top K features by contribution to each line\n"
    "      --proba           add the anomaly probability and confidence to each line\n"
    "%s%s"
    "  -h, --help            this text\n";

int cli_model_feature_names(const anoma_model *m, const char ***names, size_t *n)
{
    size_t count = anoma_model_n_features(m);
    *names = NULL;
    *n = 0;
    if (count == 0 || !anoma_model_feature_name(m, 0))
        return CLI_OK;
    if (!(*names = malloc(count * sizeof **names)))
        return cli_error("out of memory");
    for (size_t j = 0; j < count; j++)
        if (!((*names)[j] = anoma_model_feature_name(m, j)))
            return cli_error("the model names only some of its features");
    *n = count;
    return CLI_OK;
}

int cli_explained_columns(const anoma_model *m, const char ***names, size_t *width)
{
    if (anoma_model_n_steps(m) == 0) {
        *width = anoma_model_n_features(m);
        size_t n;
        return cli_model_feature_names(m, names, &n);
    }
    *width = anoma_model_n_outputs(m);
    if (!(*names = malloc((*width + 1) * sizeof **names)))
        return cli_error("out of memory");
    for (size_t j = 0; j < *width; j++)
        (*names)[j] = anoma_model_output_name(m, j);
    return CLI_OK;
}

int cli_check_explainable(const anoma_model *m)
{
    const char *name = anoma_model_detector_name(m, 0);
    unsigned flags = 0;
    anoma_status st = anoma_component_flags(ANOMA_KIND_DETECTOR, name ? name : "", &flags);
    if (st != ANOMA_OK)
        return cli_fail(st, "--explain");
    if (!(flags & ANOMA_FLAG_FEATURE_SCORES))
        return cli_error("--explain: detector '%s' has no per-feature scores", name);
    return CLI_OK;
}

/* Is contribution a ranked before b? Larger first, NaN last. */
static int ranks_before(double a, double b)
{
    return a > b || (a == a && b != b);
}

size_t cli_rank_features(const cli_explanation *e, const double *c, size_t r)
{
    unsigned char *used = e->used;
    if (r == 0)
        memset(used, 0, e->cols);
    size_t best = e->cols;
    for (size_t j = 0; j < e->cols; j++)
        if (!used[j] && (best == e->cols || ranks_before(c[j], c[best])))
            best = j;
    used[best] = 1;
    return best;
}

void cli_write_explanation(FILE *out, const cli_explanation *e, const double *c)
{
    for (size_t r = 0; r < e->k; r++) {
        size_t best = cli_rank_features(e, c, r);
        putc(',', out);
        if (e->names)
            cli_put_field(out, e->names[best]);
        else
            fprintf(out, "f%zu", best);
        fprintf(out, ",%.17g", c[best]);
    }
}

void cli_write_score_columns(FILE *out, int probability, size_t k)
{
    fputs(probability ? "score,is_anomaly,probability,confidence" : "score,is_anomaly", out);
    for (size_t r = 1; r <= k; r++)
        fprintf(out, ",feature_%zu,contribution_%zu", r, r);
}

void cli_write_score_header(FILE *out, int probability, size_t k, int error_column)
{
    cli_write_score_columns(out, probability, k);
    if (error_column)
        fputs(",error", out);
    putc('\n', out);
}

/* The --keep column names, then the score header. */
static void write_header(FILE *out, const cli_data *d, char *const *keep, int probability,
                         size_t k)
{
    for (size_t j = 0; j < d->n_keep; j++) {
        cli_put_field(out, keep[j]);
        putc(',', out);
    }
    cli_write_score_columns(out, probability, k);
    putc('\n', out);
}

/* What a line holds besides the kept fields: the score, with --proba the
 * probability and confidence (NULL without), with --explain the
 * contributions. */
typedef struct score_columns {
    const double *scores, *probability, *confidence;
    double threshold;
    const cli_explanation *e;
} score_columns;

static int write_scores(FILE *out, const score_columns *c, const cli_data *d, char *const *keep)
{
    const cli_explanation *e = c->e;
    const double *scores = c->scores;
    write_header(out, d, keep, c->probability != NULL, e->contrib ? e->k : 0);
    for (size_t i = 0; i < d->rows; i++) {
        for (size_t k = 0; k < d->n_keep; k++) {
            cli_write_kept(out, d, k, i);
            putc(',', out);
        }
        fprintf(out, "%.17g,%d", scores[i], scores[i] > c->threshold);
        if (c->probability)
            fprintf(out, ",%.17g,%.17g", c->probability[i], c->confidence[i]);
        if (e->contrib)
            cli_write_explanation(out, e, e->contrib + i * e->cols);
        putc('\n', out);
    }
    return ferror(out) ? -1 : 0;
}

/* A model of one sequence detector ("seq_autoencoder") scores the file as
 * one series, rows in time order, as anoma_model_series_scores() does; its
 * one detector's score is the model's. */
static int is_series_model(const anoma_model *m)
{
    return anoma_model_n_detectors(m) == 1 && anoma_model_n_steps(m) == 0 &&
           anoma_model_sequence_shape(m, 0, NULL, NULL, NULL) == ANOMA_OK;
}

/* Score every row; on a terminal the library reports the rows scored
 * (cmd_score set the callback). */
static anoma_status score_rows(const anoma_model *m, const cli_data *d, double *scores)
{
    if (d->features) /* through the model's pipeline steps */
        return anoma_model_score_frame(m, d->features, scores);
    anoma_matrix x = anoma_matrix_f64(d->x, d->rows, d->cols);
    if (is_series_model(m))
        return anoma_model_series_scores(m, 0, &x, scores);
    return anoma_model_score(m, &x, scores);
}

/* The first detector's per-feature scores of every row, width per row. */
static anoma_status explain_rows(const anoma_model *m, const cli_data *d, double *contrib)
{
    if (d->features) /* of the derived features, through the steps */
        return anoma_model_feature_scores_frame(m, 0, d->features, contrib);
    anoma_matrix x = anoma_matrix_f64(d->x, d->rows, d->cols);
    return anoma_model_feature_scores(m, 0, &x, contrib);
}

static int score_file(const anoma_model *m, const char *path, cli_input *in,
                      const char *out_path, size_t explain, int proba)
{
    size_t n_names, width = 0;
    const char **names, **explained = NULL;
    cli_data d = {0};
    int rc = cli_model_feature_names(m, &names, &n_names);
    char **keep = NULL;
    if (rc == CLI_OK && in->keep)
        rc = cli_split_list("--keep", in->keep, &keep, NULL);
    if (rc == CLI_OK && explain)
        rc = cli_explained_columns(m, &explained, &width);
    in->select = names;
    in->n_select = n_names;
    in->typed = anoma_model_n_steps(m) > 0;
    cli_progress("reading %s...", path);
    if (rc == CLI_OK)
        rc = cli_data_load(&d, path, in);
    if (rc == CLI_OK)
        cli_data_note_unused(&d, path);
    double *scores = NULL, *contrib = NULL, *probability = NULL;
    unsigned char *used = NULL;
    double threshold = 0;
    if (rc == CLI_OK && !(scores = malloc(d.rows * sizeof *scores)))
        rc = cli_error("out of memory");
    if (rc == CLI_OK && proba && !(probability = malloc(2 * d.rows * sizeof *probability + 1)))
        rc = cli_error("out of memory");
    if (rc == CLI_OK && explain &&
        (!(contrib = malloc(d.rows * width * sizeof *contrib + 1)) || !(used = malloc(width + 1))))
        rc = cli_error("out of memory");
    if (rc == CLI_OK) {
        anoma_status st = score_rows(m, &d, scores);
        if (st == ANOMA_OK)
            st = anoma_model_threshold(m, &threshold);
        if (st != ANOMA_OK)
            rc = cli_fail(st, "scoring %s", path);
        if (rc == CLI_OK && proba) {
            st = anoma_model_probability_of_scores(m, scores, d.rows, probability,
                                                   probability + d.rows);
            if (st != ANOMA_OK)
                rc = cli_fail(st, "--proba");
        }
        if (rc == CLI_OK && explain) {
            cli_progress("explaining %zu rows...", d.rows);
            st = explain_rows(m, &d, contrib);
            if (st != ANOMA_OK)
                rc = cli_fail(st, "--explain");
        }
    }
    cli_explanation e = {contrib, width, explain < width ? explain : width, explained, used};
    score_columns columns = {scores, probability, probability ? probability + d.rows : NULL,
                             threshold, &e};
    if (rc == CLI_OK && (!out_path || !strcmp(out_path, "-"))) {
        if (write_scores(stdout, &columns, &d, keep) != 0 || fflush(stdout) != 0)
            rc = cli_error("standard output: write failed");
    } else if (rc == CLI_OK) {
        /* The whole output goes through the library's saving rule: written
         * atomically, never over a device or FIFO, keeping OUT's mode. */
        char *text = NULL;
        size_t size = 0;
        FILE *out = open_memstream(&text, &size);
        int bad = !out || write_scores(out, &columns, &d, keep) != 0;
        if (out && fclose(out) != 0)
            bad = 1;
        if (bad) {
            rc = cli_error("out of memory");
        } else {
            anoma_status st = anoma_file_write_atomic(out_path, text, size);
            if (st != ANOMA_OK)
                rc = cli_fail(st, "writing the scores");
        }
        free(text);
    }
    free(scores);
    free(probability);
    free(contrib);
    free(used);
    free(names);
    free(explained);
    free(keep);
    cli_data_free(&d);
    return rc;
}

int cmd_score(int argc, char **argv)
{
    static const struct option options[] = {
        {"output", required_argument, NULL, 'o'},
        {"label", required_argument, NULL, 'l'},
        {"explain", required_argument, NULL, 'e'},
        {"proba", no_argument, NULL, 400},
        {"help", no_argument, NULL, 'h'},
        CLI_INPUT_OPTIONS,
        CLI_KEEP_OPTION,
        {NULL, 0, NULL, 0},
    };
    cli_input in = {.auto_label = 1, .header = CLI_HEADER_GUESS};
    const char *out = NULL;
    size_t explain = 0;
    int opt, proba = 0;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":o:l:e:h", options, NULL)) != -1) {
        switch (opt) {
        case 'o': out = strcmp(optarg, "-") == 0 ? NULL : optarg; break;
        case 'l': in.label = optarg; break;
        case 'e':
            if (cli_parse_count(optarg, &explain) != 0)
                return cli_usage("score", "--explain wants a positive integer, not '%s'", optarg);
            break;
        case 400: proba = 1; break;
        case 'h': printf(score_help, cli_keep_help, cli_input_help); return CLI_OK;
        default:
            if (!cli_input_option(&in, opt, optarg))
                return cli_bad_option("score", opt, argv);
        }
    }
    if (argc - optind != 2)
        return cli_usage("score", argc - optind < 2 ? "expected MODEL and data.csv"
                                                    : "too many operands");
    anoma_model *m = NULL;
    cli_progress("loading %s...", argv[optind]);
    anoma_status st = anoma_model_load(argv[optind], &m);
    if (st != ANOMA_OK)
        return cli_fail_file(st, argv[optind]);
    anoma_model_set_progress(m, cli_progress_callback(), NULL);
    int rc = explain ? cli_check_explainable(m) : CLI_OK;
    if (rc == CLI_OK)
        rc = score_file(m, argv[optind + 1], &in, out, explain, proba);
    anoma_model_free(m);
    return rc;
}
