/* anoma inspect: what a model file holds, human-readable. */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char inspect_help[] =
    "usage: anoma inspect MODEL\n"
    "\n"
    "Print what the model file holds: its size on disk and in memory, the\n"
    "model's parameters, training shape, threshold, feature names and each\n"
    "detector with its parameters and fitted state.\n"
    "\n"
    "  -h, --help  this text\n";

/* "12345 bytes (12.1 KiB)" */
static void print_size(const char *what, unsigned long long bytes)
{
    static const char *const units[] = {"KiB", "MiB", "GiB", "TiB"};
    printf("%s: %llu bytes", what, bytes);
    double v = (double)bytes;
    int u = -1;
    while (v >= 1024 && u < 3) {
        v /= 1024;
        u++;
    }
    if (u >= 0)
        printf(" (%.1f %s)", v, units[u]);
    putchar('\n');
}

static int describe(const anoma_model *m, const char *path)
{
    /* snprintf-style: ask for the length, then fill a buffer that fits */
    size_t needed = 0;
    anoma_status st = anoma_model_describe(m, NULL, 0, &needed);
    char *text = st == ANOMA_OK ? malloc(needed + 1) : NULL;
    if (st == ANOMA_OK && !text)
        return cli_error("out of memory");
    if (st == ANOMA_OK)
        st = anoma_model_describe(m, text, needed + 1, NULL);
    if (st != ANOMA_OK) {
        free(text);
        return cli_fail(st, "describing %s", path);
    }
    fputs(text, stdout);
    if (needed == 0 || text[needed - 1] != '\n')
        putchar('\n');
    free(text);
    return CLI_OK;
}

int cmd_inspect(int argc, char **argv)
{
    static const struct option options[] = {
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int opt;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
        if (opt != 'h')
            return cli_bad_option("inspect", opt, argv);
        fputs(inspect_help, stdout);
        return CLI_OK;
    }
    if (argc - optind != 1)
        return cli_usage("inspect", optind >= argc ? "missing MODEL" : "too many operands");
    const char *path = argv[optind];

    anoma_model *m = NULL;
    anoma_status st = anoma_model_load(path, &m);
    if (st != ANOMA_OK)
        return cli_fail_file(st, path);
    struct stat info;
    if (stat(path, &info) != 0) { /* removed since loading: unlikely, but say so */
        anoma_model_free(m);
        return cli_error("%s: %s", path, strerror(errno));
    }
    printf("file: %s\n", path);
    print_size("file size", (unsigned long long)info.st_size);
    /* the description has the memory size: each figure is printed once */
    int rc = describe(m, path);
    anoma_model_free(m);
    return rc;
}
