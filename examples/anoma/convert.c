/* anoma convert: a model trained elsewhere as a libanoma model file. */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static const char convert_help[] =
    "usage: anoma convert xgboost MODEL.json -o OUT.anoma [--threshold T]\n"
    "\n"
    "Convert an XGBoost model saved as JSON (XGBoost 1.7, booster.save_model(\"m.json\"))\n"
    "into a model file with one 'gbt' detector that scores as XGBoost predicts:\n"
    "the probability of label 1 for binary:logistic, the prediction for\n"
    "reg:squarederror. Trees with categorical splits, dart and gblinear boosters\n"
    "and other objectives are refused by name.\n"
    "\n"
    "  -o, --output OUT   the model file to write\n"
    "  -t, --threshold T  rows scoring above T are anomalies (default: 0.5, the\n"
    "                     detector's own rule)\n"
    "  -h, --help         this text\n";

/* The whole file at path, NUL-terminated, in *text (free it); its length in *len. */
static int read_all(const char *path, char **text, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return cli_error("%s: %s", path, strerror(errno));
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        n += fread(buf + n, 1, cap - n, f);
        if (n < cap)
            break;
        char *bigger = cap <= SIZE_MAX / 2 ? realloc(buf, cap * 2) : NULL;
        if (!bigger) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = bigger;
        cap *= 2;
    }
    int failed = ferror(f);
    fclose(f);
    if (!buf)
        return cli_error("%s: out of memory", path);
    if (failed) {
        free(buf);
        return cli_error("%s: read error", path);
    }
    buf[n < cap ? n : cap - 1] = '\0';
    *text = buf;
    *len = n;
    return CLI_OK;
}

int cmd_convert(int argc, char **argv)
{
    static const struct option options[] = {
        {"output", required_argument, NULL, 'o'},
        {"threshold", required_argument, NULL, 't'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *output = NULL, *threshold = "auto";
    int opt;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":o:t:h", options, NULL)) != -1) {
        switch (opt) {
        case 'o':
            output = optarg;
            break;
        case 't':
            threshold = optarg;
            break;
        case 'h':
            fputs(convert_help, stdout);
            return CLI_OK;
        default:
            return cli_bad_option("convert", opt, argv);
        }
    }
    if (argc - optind < 2)
        return cli_usage("convert", optind >= argc ? "missing FORMAT (xgboost)" : "missing MODEL");
    if (argc - optind > 2)
        return cli_usage("convert", "too many operands");
    if (strcmp(argv[optind], "xgboost"))
        return cli_usage("convert", "unknown format '%s' (known: xgboost)", argv[optind]);
    if (!output)
        return cli_usage("convert", "missing -o OUT");
    const char *path = argv[optind + 1];
    char *text = NULL;
    size_t len = 0;
    int rc = read_all(path, &text, &len);
    if (rc != CLI_OK)
        return rc;
    anoma_model *m = NULL;
    anoma_status st = anoma_model_create(NULL, &m);
    if (st == ANOMA_OK)
        st = strcmp(threshold, "auto") ? anoma_model_set_param(m, "threshold", threshold)
                                       : anoma_model_set_param(m, "contamination", "auto");
    if (st != ANOMA_OK)
        rc = cli_fail(st, "--threshold %s", threshold);
    else if ((st = anoma_model_import_xgboost(m, text, len)) != ANOMA_OK)
        rc = cli_fail(st, "%s", path);
    else if ((st = anoma_model_save(m, output)) != ANOMA_OK)
        rc = cli_fail_file(st, output);
    anoma_model_free(m);
    free(text);
    return rc;
}
