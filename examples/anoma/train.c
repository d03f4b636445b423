/* anoma train: fit a model on a CSV file and save it. */
#include "cli.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static const char train_help[] =
    "usage: anoma train [--step 'NAME KEY=VALUE ...' ...]\n"
    "                   --detector NAME [--param KEY=VALUE ...] [--detector NAME ...]\n"
    "                   [--model-param KEY=VALUE ...] [--contamination R|auto]\n"
    "                   [--ensemble mean|max|wmean|vote] [--normalize NAME]\n"
    "                   [--weights W1,W2,...] [--label COL] [--features a,b | --drop a,b]\n"
    "                   [--validation FILE [--threshold best_f1|precision=P|recall=R]\n"
    "                   [--proba]]\n"
    "                   -o MODEL data.csv\n"
    "\n"
    "Fit a model on the number columns of data.csv (- for standard input) and\n"
    "save it to MODEL; print the features used on standard output. The column\n"
    "names become the model's feature names, so 'anoma score' later picks the\n"
    "same columns by name. Never features: the label column (--label COL, or\n"
    "without it a column named label or is_anomaly), timestamp columns (ISO\n"
    "dates, or whole numbers in a column named like a time) and text columns;\n"
    "they are listed as not used -- unless pipeline steps are given: then every\n"
    "column but the label (and --drop) goes in, and the steps must turn text\n"
    "and timestamp columns into numbers (one_hot, ...; select drop=COL).\n"
    "\n"
    "  -s, --step 'NAME KEY=VALUE ...'  a pipeline step (repeatable, applied in\n"
    "                         order), such as --step 'one_hot columns=device'\n"
    "                         --step standard_scaler; steps are listed below\n"
    "  -d, --detector NAME    a detector; several (--detector a --detector b, or\n"
    "                         --detector a,b) make an ensemble\n"
    "  -p, --param KEY=VALUE  a parameter of the last detector given\n"
    "  -m, --model-param KEY=VALUE  a model parameter (see below)\n"
    "  --ensemble NAME        how several detectors' scores become one: the model\n"
    "                         parameter ensemble= (see below)\n"
    "  --normalize NAME       how each detector's scores are scaled first: the\n"
    "                         model parameter normalize= (see below)\n"
    "  --weights W1,W2,...    one positive weight per --detector, in order, for\n"
    "                         --ensemble wmean or vote: the parameter weights=\n"
    "  -c, --contamination R  expected anomaly fraction, which sets the threshold\n"
    "                         (the same as --model-param contamination=R); 'auto'\n"
    "                         is the detectors' own rule: iforest 0.5\n"
    "                         (scikit-learn's), zscore 3, mad 3.5, iqr 0 (outside\n"
    "                         Tukey's fences). The default: auto for one detector,\n"
    "                         as the Python estimators (with no rule, such as\n"
    "                         combine=mean, give a rate); for several, auto where\n"
    "                         they share a rule, else 0.1\n"
    "  -l, --label COL        0/1 label column: left out of the features and\n"
    "                         passed to the detectors (supervised ones use it)\n"
    "  --validation FILE      labelled rows (the label column as for data.csv,\n"
    "                         the same feature columns, by name) on which\n"
    "                         --threshold is chosen, or --proba fitted, once the\n"
    "                         model is fitted\n"
    "  --threshold RULE       with --validation: best_f1 (the highest F1),\n"
    "                         precision=P (the highest recall whose precision\n"
    "                         is at least P) or recall=R (the highest threshold\n"
    "                         whose recall is at least R); replaces the\n"
    "                         contamination threshold\n"
    "  --proba                with --validation: fit the anomaly probability\n"
    "                         ('anoma score --proba') as a logistic curve of the\n"
    "                         score on the labelled rows (Platt's method), in place\n"
    "                         of the default, the rank among the training scores\n"
    "  -o, --output MODEL     the model file to write\n"
    "%s%s"
    "  -h, --help             this text\n"
    "\n"
    "An unknown detector or parameter, or a bad value, exits with status 1.\n"
    "\n";

/* The options in command-line order, applied once all are parsed so that
 * --help and usage errors win over library errors. */
typedef enum { ACT_DETECTOR, ACT_PARAM, ACT_MODEL_PARAM, ACT_CONTAMINATION, ACT_STEP } action_kind;

typedef struct action {
    action_kind kind;
    const char *text;
    const char *key; /* a model parameter's own option (--ensemble): its key; text is the value */
} action;

static int add_detectors(anoma_model *m, const char *text, size_t *last)
{
    size_t n;
    char **names;
    int rc = cli_split_list("--detectors", text, &names, &n);
    if (rc != CLI_OK)
        return rc;
    for (size_t k = 0; k < n && rc == CLI_OK; k++) {
        anoma_status st = anoma_model_add_detector(m, names[k], NULL, last);
        if (st != ANOMA_OK)
            rc = cli_fail(st, "detector '%s'", names[k]);
    }
    free(names);
    return rc;
}

/* contamination=auto, the library's rule for the model's detectors
 * (docs/model.md, "Default contamination"). Asked for, or by default for
 * one detector (as the Python estimators' default), a model without a rule
 * is an error before the data is read; by default for several detectors,
 * auto only where they share a rule, else the model's default rate. */
static int use_auto_threshold(anoma_model *m, int asked)
{
    double threshold;
    anoma_status st = anoma_model_auto_threshold(m, &threshold);
    if (st != ANOMA_OK && asked)
        return cli_fail(st, "--contamination auto");
    if (st != ANOMA_OK && anoma_model_n_detectors(m) == 1)
        return cli_fail(st, "the default --contamination auto (one detector)");
    if (st != ANOMA_OK || asked) /* no rule for an ensemble; or set, in its place */
        return CLI_OK;
    st = anoma_model_set_param(m, "contamination", "auto");
    return st == ANOMA_OK ? CLI_OK : cli_fail(st, "contamination=auto");
}

static int apply_param(anoma_model *m, const action *a, size_t detector)
{
    char key[128] = "contamination";
    const char *value = a->text;
    if (a->key)
        snprintf(key, sizeof key, "%s", a->key);
    else if (a->kind != ACT_CONTAMINATION && cli_split_kv(a->text, key, sizeof key, &value) != 0)
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

/* Does an action set the threshold rule (contamination or threshold)? */
static int sets_threshold(const action *a)
{
    return a->kind == ACT_CONTAMINATION ||
           (a->kind == ACT_MODEL_PARAM && (!strncmp(a->text, "contamination=", 14) ||
                                           !strncmp(a->text, "threshold=", 10)));
}

static int build_model(anoma_model *m, const action *acts, size_t n_acts)
{
    size_t last = 0;
    int threshold_given = 0, auto_asked = 0;
    for (size_t k = 0; k < n_acts; k++) {
        const action *a = &acts[k];
        threshold_given |= sets_threshold(a);
        auto_asked |= (a->kind == ACT_CONTAMINATION && !strcmp(a->text, "auto")) ||
                      (a->kind == ACT_MODEL_PARAM && !strcmp(a->text, "contamination=auto"));
        int rc = a->kind == ACT_STEP       ? cli_add_step(m, "train", a->text)
                 : a->kind == ACT_DETECTOR ? add_detectors(m, a->text, &last)
                                           : apply_param(m, a, last);
        if (rc != CLI_OK)
            return rc;
    }
    return threshold_given && !auto_asked ? CLI_OK : use_auto_threshold(m, auto_asked);
}

/* The model's bytes on standard output (-o -). */
static int save_to_stdout(const anoma_model *m)
{
    size_t size = 0;
    anoma_status st = anoma_model_save_memory(m, NULL, 0, &size);
    void *bytes = st == ANOMA_ERR_BUFFER_TOO_SMALL || st == ANOMA_OK ? malloc(size + 1) : NULL;
    if (bytes)
        st = anoma_model_save_memory(m, bytes, size, &size);
    int rc = !bytes ? cli_fail(st, "saving the model")
             : st != ANOMA_OK ? cli_fail(st, "saving the model")
             : fwrite(bytes, 1, size, stdout) != size ? cli_error("writing standard output failed")
                                                        : CLI_OK;
    free(bytes);
    return rc;
}

/* --validation FILE --threshold RULE --proba: the fitted model scores
 * FILE's rows, read as `anoma score` reads them (the model's columns by
 * name) with the training file's label rule, and the library picks the
 * threshold (rule not NULL) and fits the probability (proba). */
static int learn_from_validation(anoma_model *m, const cli_input *train_in, const char *path,
                                 const char *rule, int proba)
{
    cli_input in = *train_in;
    const char **names = NULL;
    size_t n_names = 0;
    int rc = cli_model_feature_names(m, &names, &n_names);
    in.select = names;
    in.n_select = n_names;
    in.features = in.drop = NULL; /* the model's names already say which */
    cli_data d = {0};
    cli_progress("reading %s...", path);
    if (rc == CLI_OK)
        rc = cli_data_load(&d, path, &in);
    if (rc == CLI_OK && !d.labels)
        rc = cli_error("--validation %s: no label column (give --label COL)", path);
    anoma_matrix x = anoma_matrix_f64(d.x, d.rows, d.cols);
    if (rc == CLI_OK && rule) {
        anoma_status st =
            d.features ? anoma_model_set_threshold_from_labels_frame(m, d.features, d.labels, rule)
                       : anoma_model_set_threshold_from_labels(m, &x, d.labels, rule);
        double threshold = 0;
        if (st == ANOMA_OK)
            st = anoma_model_threshold(m, &threshold);
        if (st != ANOMA_OK)
            rc = cli_fail(st, "--threshold %s on %s", rule, path);
        else
            cli_progress("threshold %s on %s (%zu rows): %.17g", rule, path, d.rows, threshold);
    }
    if (rc == CLI_OK && proba) {
        anoma_status st = d.features ? anoma_model_fit_probability_frame(m, d.features, d.labels)
                                     : anoma_model_fit_probability(m, &x, d.labels);
        if (st != ANOMA_OK)
            rc = cli_fail(st, "--proba on %s", path);
        else
            cli_progress("probability fitted on %s (%zu rows)", path, d.rows);
    }
    cli_data_free(&d);
    free(names);
    return rc;
}

static int fit_and_save(anoma_model *m, const char *path, const cli_input *in, const char *out,
                        const char *validation, const char *rule, int proba)
{
    cli_data d;
    cli_progress("reading %s...", path);
    int rc = cli_data_load(&d, path, in);
    if (rc == CLI_OK) {
        anoma_matrix x = anoma_matrix_f64(d.x, d.rows, d.cols);
        cli_progress("fitting on %zu rows x %zu columns...", d.rows, d.cols);
        const int *labels = cli_fit_labels(m, d.labels);
        anoma_status st = d.features ? anoma_model_fit_frame(m, d.features, labels, NULL)
                                     : anoma_model_fit(m, &x, labels, NULL);
        if (st != ANOMA_OK)
            rc = cli_fail(st, "fitting on %s", path);
    }
    if (rc == CLI_OK) {
        anoma_status st = anoma_model_set_feature_names(m, d.names, d.cols);
        if (st != ANOMA_OK)
            rc = cli_fail(st, "feature names");
    }
    if (rc == CLI_OK && validation)
        rc = learn_from_validation(m, in, validation, rule, proba);
    int to_stdout = !strcmp(out, "-");
    if (rc == CLI_OK && to_stdout) {
        rc = save_to_stdout(m);
    } else if (rc == CLI_OK) {
        anoma_status st = anoma_model_save(m, out);
        if (st != ANOMA_OK)
            rc = cli_fail_file(st, out);
        else
            cli_progress("saved %s", out);
    }
    if (rc == CLI_OK) /* what was used: on stdout, or on stderr when the model goes there */
        cli_data_describe(&d, to_stdout ? stderr : stdout);
    cli_data_free(&d);
    return rc;
}

int cmd_train(int argc, char **argv)
{
    static const struct option options[] = {
        {"detector", required_argument, NULL, 'd'},
        {"param", required_argument, NULL, 'p'},
        {"step", required_argument, NULL, 's'},
        {"model-param", required_argument, NULL, 'm'},
        {"contamination", required_argument, NULL, 'c'},
        {"label", required_argument, NULL, 'l'},
        {"output", required_argument, NULL, 'o'},
        {"validation", required_argument, NULL, 400},
        {"threshold", required_argument, NULL, 401},
        {"ensemble", required_argument, NULL, 402},
        {"normalize", required_argument, NULL, 403},
        {"weights", required_argument, NULL, 404},
        {"proba", no_argument, NULL, 405},
        {"help", no_argument, NULL, 'h'},
        CLI_INPUT_OPTIONS,
        CLI_SELECT_OPTIONS,
        {NULL, 0, NULL, 0},
    };
    cli_input in = {.need_labels = 1, .auto_label = 1, .header = CLI_HEADER_GUESS};
    /* every option yields at most one action, so argc bounds their number */
    action *acts = malloc((size_t)argc * sizeof *acts);
    const char *out = NULL, *validation = NULL, *rule = NULL;
    size_t n_acts = 0, n_detectors = 0;
    int opt, rc = CLI_OK, proba = 0;
    if (!acts)
        return cli_error("out of memory");
    opterr = 0;
    while (rc == CLI_OK && (opt = getopt_long(argc, argv, ":d:p:m:c:l:o:s:h", options, NULL)) != -1) {
        switch (opt) {
        case 'd': n_detectors++; acts[n_acts++] = (action){ACT_DETECTOR, optarg, NULL}; break;
        case 'm': acts[n_acts++] = (action){ACT_MODEL_PARAM, optarg, NULL}; break;
        case 's': in.typed = 1; acts[n_acts++] = (action){ACT_STEP, optarg, NULL}; break;
        case 'l': in.label = optarg; break;
        case 'o': out = optarg; break;
        case 400: validation = optarg; break;
        case 401: rule = optarg; break;
        case 402: acts[n_acts++] = (action){ACT_MODEL_PARAM, optarg, "ensemble"}; break;
        case 403: acts[n_acts++] = (action){ACT_MODEL_PARAM, optarg, "normalize"}; break;
        case 404: acts[n_acts++] = (action){ACT_MODEL_PARAM, optarg, "weights"}; break;
        case 405: proba = 1; break;
        case 'c': acts[n_acts++] = (action){ACT_CONTAMINATION, optarg, NULL}; break;
        case 'p':
            if (n_detectors == 0)
                rc = cli_usage("train", "--param %s comes before any --detector", optarg);
            acts[n_acts++] = (action){ACT_PARAM, optarg, NULL};
            break;
        case 'h':
            printf(train_help, cli_select_help, cli_input_help);
            cli_print_components(stdout);
            free(acts);
            return CLI_OK;
        default:
            if (!cli_input_option(&in, opt, optarg))
                rc = cli_bad_option("train", opt, argv);
        }
    }
    if (rc == CLI_OK && n_detectors == 0)
        rc = cli_usage("train", "missing --detector");
    if (rc == CLI_OK && !out)
        rc = cli_usage("train", "missing -o MODEL");
    if (rc == CLI_OK && validation && !rule && !proba)
        rc = cli_usage("train", "--validation needs --threshold RULE or --proba");
    if (rc == CLI_OK && !validation && (rule || proba))
        rc = cli_usage("train", "%s needs --validation FILE", rule ? "--threshold" : "--proba");
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
    if (rc == CLI_OK) /* trees built and rows read, as bars on a terminal */
        anoma_model_set_progress(m, cli_progress_callback(), NULL);
    if (rc == CLI_OK)
        rc = fit_and_save(m, argv[optind], &in, out, validation, rule, proba);
    anoma_model_free(m);
    free(acts);
    return rc;
}
