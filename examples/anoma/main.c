/* anoma: anomaly detection on CSV files from the command line.
 * This file: command dispatch, messages, help and small parsing helpers. */
#include "cli.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char usage_text[] =
    "usage: anoma COMMAND [OPTIONS] ...\n"
    "\n"
    "Anomaly detection on CSV files: numbers, text and timestamp columns, turned\n"
    "into features by pipeline steps (--step).\n"
    "\n"
    "Commands:\n"
    "  train     fit a model on a CSV file and save it\n"
    "  score     score the rows of a CSV file with a saved model\n"
    "  evaluate  a metrics table of detectors on a labelled CSV file\n"
    "  report    a model's scores of a labelled CSV file as an HTML report\n"
    "  inspect   what a model file holds\n"
    "  stream    score CSV lines from standard input as they arrive\n"
    "  convert   a model trained by XGBoost (JSON) as a model file\n"
    "  serve     serve models over HTTP: scores, streams, metrics\n"
    "  help      this text; 'anoma help COMMAND'; 'anoma help detectors' (or\n"
    "            'anoma help steps'): every detector and step with its parameters\n"
    "\n"
    "Options: --help (also after a command), --version.\n"
    "\n"
    "Exit status:\n"
    "  0  success\n"
    "  1  bad input: unreadable or malformed data, a bad model file, an unknown\n"
    "     detector or parameter, a bad parameter value\n"
    "  2  usage error: unknown option, missing argument or operand\n"
    "Errors are one line on stderr. Progress is shown on stderr only when it\n"
    "is a terminal.\n";

/* ---- messages ----------------------------------------------------------- */

/* Print text on stderr on one line, whatever newlines it holds. */
static void put_one_line(const char *text)
{
    for (const char *p = text; *p; p++)
        fputc(*p == '\n' || *p == '\r' ? ' ' : *p, stderr);
}

static void vmessage(const char *prefix, const char *fmt, va_list ap)
{
    char buf[1024] = "";
    if (fmt) /* never NULL; the check spares a false -Wformat warning under -fsanitize */
        vsnprintf(buf, sizeof buf, fmt, ap);
    fputs(prefix, stderr);
    put_one_line(buf);
}

int cli_fail(anoma_status status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vmessage("anoma: ", fmt, ap);
    va_end(ap);
    const char *detail = anoma_last_error();
    fputs(": ", stderr);
    put_one_line(*detail ? detail : anoma_status_text(status));
    fputc('\n', stderr);
    return CLI_BAD_INPUT;
}

int cli_fail_file(anoma_status status, const char *path)
{
    const char *detail = anoma_last_error();
    if (*detail && strstr(detail, path)) { /* the message names the file already */
        fputs("anoma: ", stderr);
        put_one_line(detail);
        fputc('\n', stderr);
        return CLI_BAD_INPUT;
    }
    return cli_fail(status, "%s", path);
}

int cli_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vmessage("anoma: ", fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return CLI_BAD_INPUT;
}

int cli_usage(const char *command, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "anoma %s: ", command);
    va_start(ap, fmt);
    vmessage("", fmt, ap);
    va_end(ap);
    fprintf(stderr, " (see 'anoma %s --help')\n", command);
    return CLI_USAGE;
}

int cli_bad_option(const char *command, int opt, char **argv)
{
    /* getopt_long() leaves the offending word just before optind */
    const char *word = optind > 0 ? argv[optind - 1] : "?";
    if (opt == ':')
        return cli_usage(command, "option '%s' needs an argument", word);
    if (optopt && optopt < 256 && strncmp(word, "--", 2) != 0)
        return cli_usage(command, "unknown option '-%c'", optopt);
    return cli_usage(command, "unknown option '%s'", word);
}

void cli_progress(const char *fmt, ...)
{
    if (!isatty(STDERR_FILENO))
        return; /* piped or redirected: stay quiet */
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

void cli_progress_bar(const char *what, size_t done, size_t total, const char *units,
                      double start_ms)
{
    if (!isatty(STDERR_FILENO) || total == 0)
        return;
    double fraction = (double)done / (double)total;
    double elapsed = (cli_now_ms() - start_ms) / 1000;
    int filled = (int)(fraction * 30);
    fprintf(stderr, "\r%s %3.0f%% [%.*s%*s] %zu/%zu %s", what, 100 * fraction, filled,
            "==============================", 30 - filled, "", done, total, units);
    if (done < total && fraction > 0)
        fprintf(stderr, ", %.0f s left ", elapsed * (1 - fraction) / fraction);
    else
        fputs("            \n", stderr);
}

int cli_progress_report(void *user, anoma_stage stage, uint64_t done, uint64_t total)
{
    static const char *const what[] = {"reading", "building trees", "scoring"};
    static const char *const units[] = {"bytes", "trees", "rows"};
    /* a bar's clock starts at its stage's first report */
    static double started_ms;
    static int drawing;
    (void)user;
    if ((unsigned)stage > ANOMA_STAGE_SCORE)
        return 0;
    if (!drawing)
        started_ms = cli_now_ms();
    drawing = done < total;
    cli_progress_bar(what[stage], (size_t)done, (size_t)total, units[stage], started_ms);
    return 0;
}

anoma_progress_fn cli_progress_callback(void)
{
    return isatty(STDERR_FILENO) ? cli_progress_report : NULL;
}

/* ---- parsing helpers ---------------------------------------------------- */

int cli_split_list(const char *option, const char *text, char ***items, size_t *count)
{
    /* The library's list rule (quotes for names with commas or spaces);
     * unquoted items are never longer than their text, so len + n bytes
     * hold every string. Empty items are skipped. */
    size_t len = strlen(text), n = 0, total = 0, k = 0, item_len;
    anoma_status st;
    while ((st = anoma_param_list_item(text, n, NULL, 0, &item_len)) == ANOMA_ERR_BUFFER_TOO_SMALL)
        n++;
    if (st != ANOMA_ERR_INVALID_ARGUMENT) /* past the last item is the normal end */
        return cli_fail(st, "%s", option);
    char **out = malloc((n + 1) * sizeof *out + len + n + 1);
    if (!out)
        return cli_error("out of memory");
    char *strings = (char *)(out + n + 1);
    for (size_t i = 0; i < n; i++) {
        anoma_param_list_item(text, i, strings + total, len + n + 1 - total, &item_len);
        if (item_len > 0)
            out[k++] = strings + total;
        total += item_len + 1;
    }
    out[k] = NULL;
    *items = out;
    if (count)
        *count = k;
    return CLI_OK;
}

int cli_split_kv(const char *text, char *key, size_t cap, const char **value)
{
    const char *eq = strchr(text, '=');
    if (!eq || eq == text || (size_t)(eq - text) >= cap)
        return -1;
    memcpy(key, text, (size_t)(eq - text));
    key[eq - text] = '\0';
    *value = eq + 1;
    return 0;
}

int cli_add_step(anoma_model *m, const char *command, const char *text)
{
    size_t len = strcspn(text, " \t");
    char name[64];
    if (len == 0 || len >= sizeof name)
        return cli_usage(command, "--step '%s': expected 'NAME key=value ...'", text);
    memcpy(name, text, len);
    name[len] = '\0';
    anoma_status st = anoma_model_add_step(m, name, text + len, NULL);
    return st == ANOMA_OK ? CLI_OK : cli_fail(st, "--step '%s'", text);
}

/* ---- dispatch ----------------------------------------------------------- */

typedef struct command {
    const char *name;
    int (*run)(int argc, char **argv);
} command;

static const command commands[] = {
    {"train", cmd_train},
    {"score", cmd_score},
    {"evaluate", cmd_evaluate},
    {"report", cmd_report},
    {"inspect", cmd_inspect},
    {"stream", cmd_stream},
    {"convert", cmd_convert},
    {"serve", cmd_serve},
};

static const command *find_command(const char *name)
{
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
        if (!strcmp(commands[i].name, name))
            return &commands[i];
    return NULL;
}

/* anoma help [COMMAND | detectors] */
static int help(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        fputs(usage_text, stdout);
        return CLI_OK;
    }
    if (argc > 2) {
        fprintf(stderr, "anoma help: too many operands (see 'anoma --help')\n");
        return CLI_USAGE;
    }
    if (!strcmp(argv[1], "detectors") || !strcmp(argv[1], "steps")) {
        cli_print_components(stdout);
        return CLI_OK;
    }
    const command *c = find_command(argv[1]);
    if (!c) {
        fprintf(stderr, "anoma help: no command or topic '%s' (see 'anoma --help')\n", argv[1]);
        return CLI_USAGE;
    }
    char *help_argv[] = {argv[1], "--help", NULL};
    return c->run(2, help_argv);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fputs(usage_text, stderr);
        return CLI_USAGE;
    }
    const char *word = argv[1];
    if (!strcmp(word, "--help") || !strcmp(word, "-h"))
        return help(1, argv + 1);
    if (!strcmp(word, "help"))
        return help(argc - 1, argv + 1);
    if (!strcmp(word, "--version")) {
        /* the library loaded may be newer than the headers the tool was built with */
        printf("anoma %d.%d.%d (libanoma %s)\n", ANOMA_VERSION_MAJOR, ANOMA_VERSION_MINOR,
               ANOMA_VERSION_PATCH, anoma_version());
        return CLI_OK;
    }
    const command *c = find_command(word);
    if (!c) {
        fprintf(stderr, "anoma: unknown command '%s' (see 'anoma --help')\n", word);
        return CLI_USAGE;
    }
    int status = c->run(argc - 1, argv + 1);
    /* output to a full disk or a closed file must not pass as success */
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "anoma: writing standard output failed\n");
        return CLI_BAD_INPUT;
    }
    return status;
}
