/* anoma serve: the command. Options, start, then the main thread waits for
 * signals: SIGHUP reloads every model, SIGTERM and SIGINT stop gracefully;
 * with --watch it also polls the model files' modification times. */
#include "serve.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char serve_help[] =
    "usage: anoma serve MODEL... [--bind ADDR] [--port N] [--threads N]\n"
    "                   [--token-file F] [--state-dir D] [--stream-params T]\n"
    "                   [--max-body BYTES] [--max-rows N] [--max-connections N]\n"
    "                   [--timeout S] [--grace S] [--watch S]\n"
    "\n"
    "Serve models over HTTP: JSON (or CSV) records in, scores out. MODEL is a\n"
    "model file, served under its file name without the extension, or\n"
    "NAME=PATH. Endpoints (docs/serve.md):\n"
    "  GET  /healthz                           liveness, no token needed\n"
    "  GET  /v1/models                         names, detectors, features, threshold\n"
    "  POST /v1/models/NAME/score              score records (?explain=K)\n"
    "  POST /v1/models/NAME/streams/ENTITY     push one observation into a stream\n"
    "  GET  /metrics                           Prometheus text format\n"
    "Once listening, prints 'listening on http://ADDR:PORT' on standard output.\n"
    "SIGHUP reloads every model file (a file that fails to load leaves the old\n"
    "model serving); SIGTERM or SIGINT stops accepting, finishes the requests in\n"
    "flight, saves the stream states (--state-dir) and exits 0.\n"
    "\n"
    "      --bind ADDR         numeric address to listen on (default 127.0.0.1)\n"
    "      --port N            port (default 8080; 0: any free port)\n"
    "      --threads N         worker threads (default: one per processor)\n"
    "      --token-file F      require 'Authorization: Bearer TOKEN', TOKEN being\n"
    "                          F's first line\n"
    "      --state-dir D       restore streams from D/NAME.state at start, save\n"
    "                          them there (atomically) at shutdown\n"
    "      --stream-params T   the streams' options (docs/stream.md)\n"
    "      --max-body BYTES    largest request body (default 8388608); 413 beyond\n"
    "      --max-rows N        most records in one request (default 10000); 413\n"
    "      --max-connections N connections at once (default 256); more get 503\n"
    "      --timeout S         seconds: an idle connection closes, a body still\n"
    "                          arriving after S gets 408 (default 30)\n"
    "      --grace S           at shutdown, wait up to S seconds for requests in\n"
    "                          flight (default 30)\n"
    "      --watch S           also reload a model whose file changed, checked\n"
    "                          every S seconds (default: off)\n"
    "  -h, --help              this text\n";

typedef struct serve_options {
    serve_limits limits;
    const char *bind, *token_file, *state_dir, *stream_params;
    unsigned port, grace, watch;
} serve_options;

/* A whole number in [lo, hi] for option `name`; -1 when it is not. */
static int parse_number(const char *name, const char *text, unsigned long long lo,
                        unsigned long long hi, unsigned long long *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    if (errno || end == text || *end || text[0] == '-' || v < lo || v > hi) {
        cli_usage("serve", "--%s wants a whole number in [%llu, %llu], not '%s'", name, lo, hi,
                  text);
        return -1;
    }
    *out = v;
    return 0;
}

static int parse_options(int argc, char **argv, serve_options *o)
{
    static const struct option options[] = {
        {"bind", required_argument, NULL, 'b'},
        {"port", required_argument, NULL, 'p'},
        {"threads", required_argument, NULL, 't'},
        {"token-file", required_argument, NULL, 'k'},
        {"state-dir", required_argument, NULL, 's'},
        {"stream-params", required_argument, NULL, 'S'},
        {"max-body", required_argument, NULL, 'B'},
        {"max-rows", required_argument, NULL, 'R'},
        {"max-connections", required_argument, NULL, 'C'},
        {"timeout", required_argument, NULL, 'T'},
        {"grace", required_argument, NULL, 'g'},
        {"watch", required_argument, NULL, 'w'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int opt;
    unsigned long long v = 0;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
        int bad = 0;
        switch (opt) {
        case 'b': o->bind = optarg; break;
        case 'k': o->token_file = optarg; break;
        case 's': o->state_dir = optarg; break;
        case 'S': o->stream_params = optarg; break;
        case 'p': bad = parse_number("port", optarg, 0, 65535, &v); o->port = (unsigned)v; break;
        case 't': bad = parse_number("threads", optarg, 1, 1024, &v); o->limits.threads = (unsigned)v; break;
        case 'B': bad = parse_number("max-body", optarg, 1, INT_MAX, &v); o->limits.max_body = (size_t)v; break;
        case 'R': bad = parse_number("max-rows", optarg, 1, 100000000, &v); o->limits.max_rows = (size_t)v; break;
        case 'C': bad = parse_number("max-connections", optarg, 1, 65536, &v); o->limits.max_connections = (unsigned)v; break;
        case 'T': bad = parse_number("timeout", optarg, 1, 86400, &v); o->limits.timeout = (unsigned)v; break;
        case 'g': bad = parse_number("grace", optarg, 0, 86400, &v); o->grace = (unsigned)v; break;
        case 'w': bad = parse_number("watch", optarg, 1, 86400, &v); o->watch = (unsigned)v; break;
        case 'h': fputs(serve_help, stdout); return -1;
        default: cli_bad_option("serve", opt, argv); return -2;
        }
        if (bad)
            return -2;
    }
    return 0;
}

/* Signals arrive on whichever thread does not block them (the library's
 * and libmicrohttpd's threads included), so the handler only writes the
 * signal's number into a pipe that the main thread reads. */
static int signal_pipe[2] = {-1, -1};

static void on_signal(int sig)
{
    int saved = errno;
    unsigned char byte = (unsigned char)sig;
    if (write(signal_pipe[1], &byte, 1) < 0) {
        /* the pipe is full: signals are already waiting to be read */
    }
    errno = saved;
}

static int catch_signals(void)
{
    if (pipe(signal_pipe) != 0)
        return cli_error("pipe: %s", strerror(errno));
    fcntl(signal_pipe[1], F_SETFL, O_NONBLOCK);
    struct sigaction sa = {.sa_handler = on_signal, .sa_flags = SA_RESTART};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGHUP, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN); /* a client gone away must not stop the server */
    return CLI_OK;
}

/* Wait for signals; reload on SIGHUP (and changed files with --watch);
 * return at SIGTERM or SIGINT. */
static void wait_for_signals(serve_registry *r, unsigned watch)
{
    for (;;) {
        struct pollfd p = {.fd = signal_pipe[0], .events = POLLIN};
        int ready = poll(&p, 1, watch ? (int)watch * 1000 : -1);
        unsigned char sig = 0;
        if (ready > 0 && read(signal_pipe[0], &sig, 1) != 1)
            sig = 0;
        if (sig == SIGTERM || sig == SIGINT) {
            fprintf(stderr, "anoma serve: %s: finishing the requests in flight\n",
                    sig == SIGTERM ? "SIGTERM" : "SIGINT");
            return;
        }
        if (sig == SIGHUP) {
            fprintf(stderr, "anoma serve: SIGHUP: reloading\n");
            for (size_t k = 0; k < r->n; k++)
                registry_reload(r, &r->entries[k]);
        } else if (ready == 0 && watch) {
            registry_reload_changed(r);
        }
    }
}

int cmd_serve(int argc, char **argv)
{
    serve_options o = {.limits = serve_default_limits, .bind = "127.0.0.1", .port = 8080,
                       .grace = 30};
    int rc = parse_options(argc, argv, &o);
    if (rc == -1)
        return CLI_OK;
    if (rc == -2)
        return CLI_USAGE;
    if (optind >= argc)
        return cli_usage("serve", "expected one or more MODEL files");
    if (!o.limits.threads) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        o.limits.threads = n > 0 ? (unsigned)n : 1;
    }
    struct stat st;
    if (o.state_dir && (stat(o.state_dir, &st) != 0 || !S_ISDIR(st.st_mode)))
        return cli_error("--state-dir %s: not a directory", o.state_dir);
    char *token = NULL;
    if (o.token_file && serve_read_token(o.token_file, &token) != CLI_OK)
        return CLI_BAD_INPUT;

    if (catch_signals() != CLI_OK) {
        free(token);
        return CLI_BAD_INPUT;
    }
    serve_registry registry;
    serve_server *server = NULL;
    rc = registry_open(&registry, argv + optind, (size_t)(argc - optind), o.stream_params,
                       o.state_dir);
    if (rc == CLI_OK)
        rc = http_start(&server, &registry, &o.limits, o.bind, o.port, token);
    if (rc == CLI_OK) {
        const char *host_open = strchr(o.bind, ':') ? "[" : "", *host_close = *host_open ? "]" : "";
        printf("listening on http://%s%s%s:%u\n", host_open, o.bind, host_close,
               http_port(server));
        fflush(stdout);
        wait_for_signals(&registry, o.watch);
        http_stop(server, o.grace);
    }
    int saved = registry_close(&registry);
    free(token);
    return rc != CLI_OK ? rc : saved;
}
