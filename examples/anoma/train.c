/* anoma train: fit a model on a CSV file and save it. */
#include "cli.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static const char train_help[] =
    "usage: anoma train --detector NAME [--param KEY=VALUE ...] [--detector NAME ...]\n"
    "                   [--model-param KEY=VALUE ...] [--contamination R]\n"
    "                   [--label COL] -o MODEL data.csv\n"
    "\n"
    "Fit a model on every numeric column of data.csv except the label column\n"
    "and save it to MODEL. The column names become the model's feature names,\n"
    "so 'anoma score' later picks the same columns by name.\n"
    "\n"
    "  -d, --detector NAME    a detector; several (--detector a --detector b, or\n"
    "                         --detector a,b) make an ensemble\n"
    "  -p, --param KEY=VALUE  a parameter of the last detector given\n"
    "  -m, --model-param KEY=VALUE  a model parameter (see below)\n"
    "  -c, --contamination R  expected anomaly fraction, which sets the threshold\n"
    "                         (the same as --model-param contamination=R)\n"
    "  -l, --label COL        0/1 label column: left out of the features and\n"
    "                         passed to the detectors (supervised ones use it)\n"
    "  -o, --output MODEL     the model file to write\n"
    "  -h, --help             this text\n"
    "\n"
    "An unknown detector or parameter, or a bad value, exits with status 1.\n"
    "\n";

/* The options in command-line order, applied once all are parsed so that
 * --help and usage errors win over library errors. */
typedef enum { ACT_DETECTOR, ACT_PARAM, ACT_MODEL_PARAM, ACT_CONTAMINATION } action_kind;
typedef struct action {
    action_kind kind;
    const char *text;
} action;

static int add_detectors(anoma_model *m, const char *text, size_t *last)
{
    size_t n;
    char **names = cli_split_list(text, &n);
    if (!names)
        return cli_error("out of memory");
    int rc = CLI_OK;
    for (size_t k = 0; k < n && rc == CLI_OK; k++) {
        anoma_status st = anoma_model_add_detector(m, names[k], NULL, last);
        if (st != ANOMA_OK)
            rc = cli_fail(st, "detector '%s'", names[k]);
    }
    free(names);
    return rc;
}

static int apply_param(anoma_model *m, const action *a, size_t detector)
{
    char key[128] = "contamination";
    const char *value = a->text;
    if (a->kind != ACT_CONTAMINATION && cli_split_kv(a->text, key, sizeof key, &value) != 0)
        return cli_usage("train", "'%s' is not KEY=VALUE", a->text);
    anoma_status st = a->kind == ACT_PARAM
                          ? anoma_model_set_detector_param(m, detector, key, value)
                          : anoma_model_set_param(m, key, value);
    if (st == ANOMA_OK)
        return CLI_OK;
    if (a->kind != ACT_PARAM)
        return cli_fail(st, "model parameter '%s'", key);
    return cli_fail(st, "parameter '%s' of %s", key, anoma_model_detector_name(m, detector));
}

static int build_model(anoma_model *m, const action *acts, size_t n_acts)
{
    size_t last = 0;
    for (size_t k = 0; k < n_acts; k++) {
        int rc = acts[k].kind == ACT_DETECTOR ? add_detectors(m, acts[k].text, &last)
                                              : apply_param(m, &acts[k], last);
        if (rc != CLI_OK)
            return rc;
    }
    return CLI_OK;
}

static int fit_and_save(anoma_model *m, const char *path, const char *label, const char *out)
{
    cli_data d;
    cli_progress("reading %s...", path);
    int rc = cli_data_load(&d, path, label, label != NULL, NULL, 0);
    if (rc == CLI_OK) {
        anoma_matrix x = anoma_matrix_f64(d.x, d.rows, d.cols);
        cli_progress("fitting on %zu rows x %zu columns...", d.rows, d.cols);
        anoma_status st = anoma_model_fit(m, &x, d.labels, NULL);
        if (st != ANOMA_OK)
            rc = cli_fail(st, "fitting on %s", path);
    }
    if (rc == CLI_OK) {
        anoma_status st = anoma_model_set_feature_names(m, d.names, d.cols);
        if (st != ANOMA_OK)
            rc = cli_fail(st, "feature names");
    }
    if (rc == CLI_OK) {
        anoma_status st = anoma_model_save(m, out);
        if (st != ANOMA_OK)
            rc = cli_fail(st, "%s", out);
        else
            cli_progress("saved %s", out);
    }
    cli_data_free(&d);
    return rc;
}

int cmd_train(int argc, char **argv)
{
    static const struct option options[] = {
        {"detector", required_argument, NULL, 'd'},
        {"param", required_argument, NULL, 'p'},
        {"model-param", required_argument, NULL, 'm'},
        {"contamination", required_argument, NULL, 'c'},
        {"label", required_argument, NULL, 'l'},
        {"output", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    /* every option yields at most one action, so argc bounds their number */
    action *acts = malloc((size_t)argc * sizeof *acts);
    const char *label = NULL, *out = NULL;
    size_t n_acts = 0, n_detectors = 0;
    int opt, rc = CLI_OK;
    if (!acts)
        return cli_error("out of memory");
    opterr = 0;
    while (rc == CLI_OK && (opt = getopt_long(argc, argv, ":d:p:m:c:l:o:h", options, NULL)) != -1) {
        switch (opt) {
        case 'd': n_detectors++; acts[n_acts++] = (action){ACT_DETECTOR, optarg}; break;
        case 'm': acts[n_acts++] = (action){ACT_MODEL_PARAM, optarg}; break;
        case 'l': label = optarg; break;
        case 'o': out = optarg; break;
        case 'c': acts[n_acts++] = (action){ACT_CONTAMINATION, optarg}; break;
        case 'p':
            if (n_detectors == 0)
                rc = cli_usage("train", "--param %s comes before any --detector", optarg);
            acts[n_acts++] = (action){ACT_PARAM, optarg};
            break;
        case 'h':
            fputs(train_help, stdout);
            cli_print_components(stdout);
            free(acts);
            return CLI_OK;
        default: rc = cli_bad_option("train", opt, argv);
        }
    }
    if (rc == CLI_OK && n_detectors == 0)
        rc = cli_usage("train", "missing --detector");
    if (rc == CLI_OK && !out)
        rc = cli_usage("train", "missing -o MODEL");
    if (rc == CLI_OK && optind != argc - 1)
        rc = cli_usage("train", optind >= argc ? "missing data.csv" : "too many operands");

    anoma_model *m = NULL;
    if (rc == CLI_OK) {
        anoma_status st = anoma_model_create(NULL, &m);
        if (st != ANOMA_OK)
            rc = cli_fail(st, "creating the model");
    }
    if (rc == CLI_OK)
        rc = build_model(m, acts, n_acts);
    if (rc == CLI_OK)
        rc = fit_and_save(m, argv[optind], label, out);
    anoma_model_free(m);
    free(acts);
    return rc;
}
