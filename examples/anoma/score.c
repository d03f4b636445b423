/* anoma score: score the rows of a CSV file with a saved model. */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static const char score_help[] =
    "usage: anoma score MODEL data.csv [-o OUT.csv] [--label COL]\n"
    "\n"
    "Score every row of data.csv with MODEL and write a CSV with the header\n"
    "'score,is_anomaly', one line per input row in the same order (higher\n"
    "score = more anomalous; is_anomaly is 1 when the score is above the\n"
    "model's threshold). Scores are written with 17 significant digits.\n"
    "\n"
    "When the model knows its feature names (models from 'anoma train' do),\n"
    "the columns are picked by name in the model's order: other columns, such\n"
    "as a label, are ignored and a missing one is an error. Otherwise every\n"
    "column except --label is used, in file order.\n"
    "\n"
    "  -o, --output OUT.csv  write there instead of standard output\n"
    "  -l, --label COL       a column to leave out (for models without names)\n"
    "  -h, --help            this text\n";

/* The model's feature names into *names (NULL when it has none). */
static int model_feature_names(const anoma_model *m, const char ***names, size_t *n)
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

static int write_scores(FILE *out, const double *scores, size_t rows, double threshold)
{
    fputs("score,is_anomaly\n", out);
    for (size_t i = 0; i < rows; i++)
        fprintf(out, "%.17g,%d\n", scores[i], scores[i] > threshold);
    return ferror(out) ? -1 : 0;
}

static int score_file(const anoma_model *m, const char *path, const char *label,
                      const char *out_path)
{
    size_t n_names;
    const char **names;
    cli_data d = {0};
    int rc = model_feature_names(m, &names, &n_names);
    cli_progress("reading %s...", path);
    if (rc == CLI_OK)
        rc = cli_data_load(&d, path, label, 0, names, n_names);
    double *scores = NULL;
    double threshold = 0;
    if (rc == CLI_OK && !(scores = malloc(d.rows * sizeof *scores)))
        rc = cli_error("out of memory");
    if (rc == CLI_OK) {
        anoma_matrix x = anoma_matrix_f64(d.x, d.rows, d.cols);
        cli_progress("scoring %zu rows...", d.rows);
        anoma_status st = anoma_model_score(m, &x, scores);
        if (st == ANOMA_OK)
            st = anoma_model_threshold(m, &threshold);
        if (st != ANOMA_OK)
            rc = cli_fail(st, "scoring %s", path);
    }
    if (rc == CLI_OK) {
        FILE *out = out_path ? fopen(out_path, "w") : stdout;
        if (!out) {
            rc = cli_error("%s: %s", out_path, strerror(errno));
        } else {
            int bad = write_scores(out, scores, d.rows, threshold);
            if (out != stdout && fclose(out) != 0)
                bad = -1;
            if (bad)
                rc = cli_error("%s: write failed", out_path ? out_path : "standard output");
        }
    }
    free(scores);
    free(names);
    cli_data_free(&d);
    return rc;
}

int cmd_score(int argc, char **argv)
{
    static const struct option options[] = {
        {"output", required_argument, NULL, 'o'},
        {"label", required_argument, NULL, 'l'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *label = NULL, *out = NULL;
    int opt;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":o:l:h", options, NULL)) != -1) {
        switch (opt) {
        case 'o': out = optarg; break;
        case 'l': label = optarg; break;
        case 'h': fputs(score_help, stdout); return CLI_OK;
        default: return cli_bad_option("score", opt, argv);
        }
    }
    if (argc - optind != 2)
        return cli_usage("score", argc - optind < 2 ? "expected MODEL and data.csv"
                                                    : "too many operands");
    anoma_model *m = NULL;
    cli_progress("loading %s...", argv[optind]);
    anoma_status st = anoma_model_load(argv[optind], &m);
    if (st != ANOMA_OK)
        return cli_fail(st, "%s", argv[optind]);
    int rc = score_file(m, argv[optind + 1], label, out);
    anoma_model_free(m);
    return rc;
}
