/* anoma report: a saved model's scores of a labelled CSV file as a
 * self-contained HTML report (html_report.h). */
#include "html_report.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static const char report_help[] =
    "usage: anoma report MODEL data.csv --label COL -o REPORT.html\n"
    "                    [--header | --no-header] [--delimiter C] [--types NAME:TYPE,...]\n"
    "\n"
    "Score every row of data.csv with MODEL and write one self-contained HTML\n"
    "file (charts as inline SVG; no script, nothing fetched): the metrics at the\n"
    "model's threshold, the ROC and precision-recall curves, the scores by\n"
    "label, the confusion matrix, the values and scores over time when the file\n"
    "has a timestamp column, the top contributing features of the\n"
    "highest-scored rows (for a detector with per-feature scores) and the\n"
    "model's description. Columns are picked by the model's feature names, as\n"
    "'anoma score' does. Large files are summarised: see docs/cli.md.\n"
    "\n"
    "  -l, --label COL       the 0/1 label column (1 = anomaly); required\n"
    "  -o, --output FILE     the report (replaced atomically); required\n"
    "%s"
    "  -h, --help            this text\n";

int cmd_report(int argc, char **argv)
{
    static const struct option options[] = {
        {"output", required_argument, NULL, 'o'},
        {"label", required_argument, NULL, 'l'},
        {"help", no_argument, NULL, 'h'},
        CLI_INPUT_OPTIONS,
        {NULL, 0, NULL, 0},
    };
    cli_input in = {.need_labels = 1, .header = CLI_HEADER_GUESS};
    const char *out = NULL;
    int opt;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":o:l:h", options, NULL)) != -1) {
        switch (opt) {
        case 'o': out = optarg; break;
        case 'l': in.label = optarg; break;
        case 'h': printf(report_help, cli_input_help); return CLI_OK;
        default:
            if (!cli_input_option(&in, opt, optarg))
                return cli_bad_option("report", opt, argv);
        }
    }
    if (!in.label)
        return cli_usage("report", "missing --label COL");
    if (!out)
        return cli_usage("report", "missing -o REPORT.html");
    if (argc - optind != 2)
        return cli_usage("report", argc - optind < 2 ? "expected MODEL and data.csv"
                                                     : "too many operands");
    const char *model_path = argv[optind], *path = argv[optind + 1];
    anoma_model *m = NULL;
    anoma_status st = anoma_model_load(model_path, &m);
    if (st != ANOMA_OK)
        return cli_fail_file(st, model_path);
    size_t n_names = 0;
    const char **names = NULL;
    cli_data d = {0};
    double *scores = NULL;
    double threshold = 0;
    int rc = cli_model_feature_names(m, &names, &n_names);
    in.select = names;
    in.n_select = n_names;
    in.typed = anoma_model_n_steps(m) > 0;
    if (rc == CLI_OK)
        rc = cli_data_load(&d, path, &in);
    if (rc == CLI_OK && !(scores = malloc((d.rows + 1) * sizeof *scores)))
        rc = cli_error("out of memory");
    anoma_matrix x = anoma_matrix_f64(d.x, d.rows, d.cols);
    if (rc == CLI_OK) {
        st = d.features ? anoma_model_score_frame(m, d.features, scores)
                        : anoma_model_score(m, &x, scores);
        if (st == ANOMA_OK)
            st = anoma_model_threshold(m, &threshold);
        if (st != ANOMA_OK)
            rc = cli_fail(st, "scoring %s", path);
    }
    if (rc == CLI_OK) {
        char summary[1024], title[600];
        snprintf(title, sizeof title, "anoma report: %s", path);
        snprintf(summary, sizeof summary,
                 "Model %s scored %zu rows of %s (%zu %s, label column %s).", model_path, d.rows,
                 path, d.n_anomalies, d.n_anomalies == 1 ? "anomaly" : "anomalies", d.label);
        html_detector det = {anoma_model_detector_name(m, 0), m, scores, threshold};
        if (anoma_model_n_detectors(m) > 1)
            det.name = "model (ensemble)";
        html_report r = {title, summary, d.rows, d.labels, d.features ? NULL : &x, d.names,
                         NULL, NULL, &det, 1};
        html_report_time_column(&d, 0, &r.time, &r.time_name);
        rc = html_report_write(out, &r);
    }
    free(scores);
    free(names);
    cli_data_free(&d);
    anoma_model_free(m);
    return rc;
}
