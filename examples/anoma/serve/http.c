/* The HTTP side, on libmicrohttpd: a pool of worker threads, each request's
 * body gathered under the size and time limits, the bearer token checked
 * before any body is read, then routed to its endpoint. Nothing in a URL
 * reaches the file system: the path picks a model by the names given on
 * the command line and an entity by its key. */
#include "serve.h"

#include <microhttpd.h>

#include <errno.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

struct serve_server {
    struct MHD_Daemon *daemon;
    serve_registry *registry;
    serve_limits limits;
    const char *token;      /* NULL: no token asked */
    atomic_int in_flight;   /* requests begun and not yet completed */
    atomic_uint connections; /* open now */
};

/* libmicrohttpd accepts this many connections beyond --max-connections, so
 * that they are answered 503 instead of waiting unseen in the kernel's
 * queue; its limit is split among the pool's threads, hence the margin. */
enum { SPARE_CONNECTIONS = 64 };

/* One connection (socket), from accept to close. */
typedef struct peer {
    double opened_ms;
    int over_limit;    /* opened when --max-connections were open: answer 503 */
    unsigned requests; /* whose headers arrived */
} peer;

/* One request, from its headers to its completion. */
typedef struct request {
    char *body;
    size_t len, cap;
    double start_ms;
    serve_endpoint endpoint;
    unsigned status;        /* the status answered, 0 before */
    int answered;           /* a reply is queued: ignore what else arrives */
    unsigned refused;       /* the status a body over a limit gets once it ends */
    size_t expected;        /* Content-Length within --max-body, or 0 */
} request;

static const char models_prefix[] = "/v1/models/";

/* Which endpoint a URL names (for metrics and the token rule). */
static serve_endpoint endpoint_of(const char *url)
{
    if (!strcmp(url, "/healthz"))
        return EP_HEALTHZ;
    if (!strcmp(url, "/metrics"))
        return EP_METRICS;
    if (!strcmp(url, "/v1/models"))
        return EP_MODELS;
    if (strncmp(url, models_prefix, sizeof models_prefix - 1) == 0) {
        const char *slash = strchr(url + sizeof models_prefix - 1, '/');
        if (slash && !strcmp(slash, "/score"))
            return EP_SCORE;
        if (slash && !strncmp(slash, "/streams/", 9) && slash[9])
            return EP_STREAM;
    }
    return EP_OTHER;
}

static enum MHD_Result send_reply(struct MHD_Connection *c, request *q, serve_reply *rep)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(rep->len, rep->body, MHD_RESPMEM_MUST_FREE);
    if (!r) {
        free(rep->body);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, rep->content_type);
    if (rep->status == 401)
        MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
    if (rep->status == 503)
        MHD_add_response_header(r, MHD_HTTP_HEADER_RETRY_AFTER, "1");
    if (rep->status == 503) /* the connection goes with the reply */
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONNECTION, "close");
    if (rep->status == 405)
        MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW,
                                q->endpoint == EP_SCORE || q->endpoint == EP_STREAM ? "POST"
                                                                                   : "GET");
    q->status = rep->status;
    q->answered = 1;
    enum MHD_Result ok = MHD_queue_response(c, rep->status, r);
    MHD_destroy_response(r);
    return ok;
}

static enum MHD_Result send_error(struct MHD_Connection *c, request *q, unsigned status,
                                  const char *message)
{
    serve_reply rep;
    reply_error(&rep, status, "%s", message);
    return send_reply(c, q, &rep);
}

/* A 408 while the body is still arriving. libmicrohttpd 0.9.75 takes a
 * reply only before a body or after all of it (MHD_queue_response refuses
 * one in between), so this one small reply is written on the socket itself:
 * a fixed status line and headers, and the JSON error. The caller then
 * returns MHD_NO, and libmicrohttpd closes the connection. */
static void send_timeout_reply(struct MHD_Connection *c, request *q, const char *message)
{
    serve_reply rep;
    reply_error(&rep, 408, "%s", message);
    q->status = 408;
    q->answered = 1;
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
    if (info && rep.body) {
        char head[200];
        int n = snprintf(head, sizeof head, "HTTP/1.1 408 Request Timeout\r\n"
                         "Content-Type: %s\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n",
                         rep.content_type, rep.len);
        struct iovec parts[2] = {{head, (size_t)n}, {rep.body, rep.len}};
        struct msghdr msg = {.msg_iov = parts, .msg_iovlen = 2};
        /* non-blocking: a reply this small fits the socket's empty send
         * buffer; if it does not, the connection just closes */
        (void)sendmsg(info->connect_fd, &msg, MSG_NOSIGNAL);
    }
    free(rep.body);
}

/* Append a piece of the body, within --max-body. */
static int append_body(request *q, const char *data, size_t n, size_t max)
{
    if (n > max - q->len)
        return -1;
    if (q->len + n + 1 > q->cap) {
        /* the announced length when there is one: a small body then takes
         * a small block, not a large one that makes malloc consolidate its
         * free lists at every request */
        size_t cap = q->cap ? q->cap : q->expected ? q->expected + 1 : 1024;
        while (cap < q->len + n + 1)
            cap *= 2;
        char *body = realloc(q->body, cap);
        if (!body)
            return -2;
        q->body = body;
        q->cap = cap;
    }
    memcpy(q->body + q->len, data, n);
    q->len += n;
    q->body[q->len] = '\0';
    return 0;
}

/* Content-Type text/csv is CSV; anything else is read as JSON (curl -d
 * sends application/x-www-form-urlencoded). */
static int body_is_csv(struct MHD_Connection *c)
{
    const char *type = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                                   MHD_HTTP_HEADER_CONTENT_TYPE);
    return type && !strncasecmp(type, "text/csv", 8);
}

/* The whole request is in: route it. */
static void route(serve_server *s, struct MHD_Connection *c, const char *url, const char *method,
                  request *q, serve_reply *rep)
{
    int post = !strcmp(method, "POST");
    if (q->endpoint == EP_OTHER) {
        reply_error(rep, 404, "no endpoint %s (see docs/serve.md)", url);
        return;
    }
    if (post != (q->endpoint == EP_SCORE || q->endpoint == EP_STREAM)) {
        reply_error(rep, 405, "%s does not take %s", url, method);
        return;
    }
    switch (q->endpoint) {
    case EP_HEALTHZ: endpoint_healthz(s->registry, rep); return;
    case EP_MODELS: endpoint_models(s->registry, rep); return;
    case EP_METRICS: endpoint_metrics(s->registry, rep); return;
    default: break;
    }
    int csv = body_is_csv(c);
    serve_request req = {
        .body = q->body ? q->body : "",
        .len = q->len,
        .csv = csv,
        .explain = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "explain"),
        .time = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "time"),
    };
    /* /v1/models/NAME/score or /v1/models/NAME/streams/ENTITY (the entity
     * is the rest of the path, slashes included) */
    const char *name = url + sizeof models_prefix - 1;
    const char *slash = strchr(name, '/');
    char model[256];
    snprintf(model, sizeof model, "%.*s", (int)(slash - name), name);
    if (q->endpoint == EP_SCORE)
        endpoint_score(s->registry, &s->limits, model, &req, rep);
    else
        endpoint_stream(s->registry, &s->limits, model, slash + 9, &req, rep);
}

static enum MHD_Result answer(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version, const char *upload,
                              size_t *upload_size, void **con_cls)
{
    serve_server *s = cls;
    request *q = *con_cls;
    (void)version;
    if (!q) { /* the headers are in: check what can be checked before the body */
        if (!(q = calloc(1, sizeof *q)))
            return MHD_NO;
        q->start_ms = cli_now_ms();
        q->endpoint = endpoint_of(url);
        *con_cls = q;
        atomic_fetch_add(&s->in_flight, 1);
        const union MHD_ConnectionInfo *info =
            MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
        peer *p = info ? info->socket_context : NULL;
        if (p)
            p->requests++;
        if (p && p->over_limit) {
            char msg[160];
            snprintf(msg, sizeof msg, "the server holds %u connections already "
                     "(--max-connections): retry later", s->limits.max_connections);
            return send_error(c, q, 503, msg);
        }
        if (s->token && q->endpoint != EP_HEALTHZ &&
            !serve_token_matches(s->token, MHD_lookup_connection_value(
                                               c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION)))
            return send_error(c, q, 401, "missing or wrong bearer token (Authorization: Bearer ...)");
        const char *length = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                                         MHD_HTTP_HEADER_CONTENT_LENGTH);
        unsigned long long announced = length ? strtoull(length, NULL, 10) : 0;
        if (announced > s->limits.max_body) {
            char msg[160];
            snprintf(msg, sizeof msg, "a body of %s bytes; the limit is %zu (--max-body)", length,
                     s->limits.max_body);
            return send_error(c, q, 413, msg);
        }
        q->expected = (size_t)announced;
        return MHD_YES;
    }
    if (q->answered) { /* answered before the body: what else arrives is dropped */
        *upload_size = 0;
        return MHD_YES;
    }
    if (*upload_size) {
        size_t n = *upload_size;
        *upload_size = 0;
        /* a body still arriving after the timeout is answered 408 at once,
         * and its connection closed; one over the limit is read to its end
         * unkept */
        if (cli_now_ms() - q->start_ms > 1000.0 * s->limits.timeout) {
            char msg[160];
            snprintf(msg, sizeof msg, "the body was still arriving after %u s (--timeout)",
                     s->limits.timeout);
            send_timeout_reply(c, q, msg);
            return MHD_NO;
        }
        int rc = q->refused ? 0 : append_body(q, upload, n, s->limits.max_body);
        if (rc == -1 || rc == -2) {
            q->refused = rc == -1 ? 413 : 500;
            free(q->body);
            q->body = NULL;
            q->len = q->cap = 0;
        }
        return MHD_YES;
    }
    if (q->refused == 413) {
        char msg[160];
        snprintf(msg, sizeof msg, "the body is over the limit of %zu bytes (--max-body)",
                 s->limits.max_body);
        return send_error(c, q, 413, msg);
    }
    if (q->refused)
        return send_error(c, q, 500, "out of memory");
    serve_reply rep;
    route(s, c, url, method, q, &rep);
    return send_reply(c, q, &rep);
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls,
                      enum MHD_RequestTerminationCode why)
{
    serve_server *s = cls;
    request *q = *con_cls;
    (void)c;
    if (!q)
        return;
    /* a connection closed before any answer: a client too slow (the
     * connection timeout), or one that went away */
    unsigned status = q->status ? q->status : why == MHD_REQUEST_TERMINATED_TIMEOUT_REACHED ? 408 : 0;
    metrics_record(q->endpoint, status, (cli_now_ms() - q->start_ms) / 1000);
    free(q->body);
    free(q);
    *con_cls = NULL;
    atomic_fetch_sub(&s->in_flight, 1);
}

/* Count connections; one opened beyond --max-connections is marked for a
 * 503. A connection that closes after --timeout without a request ever
 * arriving on it (an idle client, or one whose headers stalled) was closed
 * by the timeout: counted as 408, as libmicrohttpd sends nothing then. */
static void notify_connection(void *cls, struct MHD_Connection *c, void **socket_context,
                              enum MHD_ConnectionNotificationCode code)
{
    serve_server *s = cls;
    (void)c;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        unsigned open = atomic_fetch_add(&s->connections, 1) + 1;
        peer *p = calloc(1, sizeof *p);
        if (p) {
            p->opened_ms = cli_now_ms();
            p->over_limit = open > s->limits.max_connections;
        }
        *socket_context = p;
        return;
    }
    atomic_fetch_sub(&s->connections, 1);
    peer *p = *socket_context;
    if (p && !p->requests) {
        double ms = cli_now_ms() - p->opened_ms;
        if (ms >= 1000.0 * s->limits.timeout)
            metrics_record(EP_OTHER, 408, ms / 1000);
    }
    free(p);
    *socket_context = NULL;
}

int http_start(serve_server **out, serve_registry *r, const serve_limits *lim,
               const char *bind, unsigned port, const char *token)
{
    serve_server *s = calloc(1, sizeof *s);
    if (!s)
        return cli_error("out of memory");
    s->registry = r;
    s->limits = *lim;
    s->token = token;
    atomic_init(&s->in_flight, 0);
    atomic_init(&s->connections, 0);
    char service[16];
    snprintf(service, sizeof service, "%u", port);
    struct addrinfo hints = {.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE,
                             .ai_socktype = SOCK_STREAM};
    struct addrinfo *addr = NULL;
    int gai = getaddrinfo(bind, service, &hints, &addr);
    if (gai != 0) {
        free(s);
        return cli_error("--bind %s: not a numeric address (%s)", bind, gai_strerror(gai));
    }
    unsigned flags = MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ITC;
    if (addr->ai_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    s->daemon = MHD_start_daemon(
        flags, (uint16_t)port, NULL, NULL, answer, s,
        MHD_OPTION_SOCK_ADDR, addr->ai_addr,
        MHD_OPTION_THREAD_POOL_SIZE, (unsigned)lim->threads,
        MHD_OPTION_CONNECTION_LIMIT, lim->max_connections + SPARE_CONNECTIONS,
        MHD_OPTION_CONNECTION_TIMEOUT, lim->timeout,
        MHD_OPTION_NOTIFY_COMPLETED, completed, s,
        MHD_OPTION_NOTIFY_CONNECTION, notify_connection, s,
        MHD_OPTION_END);
    int err = errno;
    freeaddrinfo(addr);
    if (!s->daemon) {
        free(s);
        return cli_error("cannot listen on %s port %u: %s", bind, port, strerror(err));
    }
    *out = s;
    return CLI_OK;
}

unsigned http_port(const serve_server *s)
{
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
    return info ? info->port : 0;
}

void http_stop(serve_server *s, unsigned grace)
{
    if (!s)
        return;
    MHD_socket listener = MHD_quiesce_daemon(s->daemon); /* no new connections */
    if (listener != MHD_INVALID_SOCKET)
        close(listener);
    double deadline = cli_now_ms() + 1000.0 * grace;
    while (atomic_load(&s->in_flight) > 0 && cli_now_ms() < deadline)
        usleep(10000);
    MHD_stop_daemon(s->daemon);
    free(s);
}
