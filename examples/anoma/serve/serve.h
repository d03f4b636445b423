/* anoma serve: models behind HTTP (libmicrohttpd), built on the public
 * libanoma API like the rest of the tool. One concept per file:
 *   serve.c     the command: options, start, signals, reload, shutdown
 *   http.c      the libmicrohttpd side: routing, request bodies, auth, replies
 *   endpoints.c what each endpoint answers
 *   records.c   request bodies (JSON records, CSV) as a frame in the model's order
 *   registry.c  the served models: reference-counted handles, hot reload, streams
 *   metrics.c   counters and latency histograms in the Prometheus text format
 *   limits.c    limits with their defaults, the bearer token
 *   json_out.c  writing JSON (escaped strings, numbers, NaN as null)
 * docs/serve.md is the user's guide. */
#ifndef ANOMA_SERVE_H
#define ANOMA_SERVE_H

#include "../cli.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>

/* ---- limits (limits.c) ---------------------------------------------------- */

typedef struct serve_limits {
    size_t max_body;        /* bytes of a request body (413 beyond) */
    size_t max_rows;        /* records in one score request (413 beyond) */
    unsigned max_connections;
    unsigned timeout;       /* seconds: idle connections close; a body still
                               arriving after it gets 408 */
    unsigned threads;       /* worker threads */
    size_t max_explain;     /* largest K of explain */
} serve_limits;

extern const serve_limits serve_default_limits;

/* The bearer token: the first line of a file (trailing blanks cut).
 * Prints the error and returns CLI_BAD_INPUT, else CLI_OK. */
int serve_read_token(const char *path, char **token);
/* 1 when `header` ("Bearer X") carries the token; the comparison takes the
 * same time wherever the first difference is. */
int serve_token_matches(const char *token, const char *header);

/* ---- JSON output (json_out.c) -------------------------------------------- */

/* A string as a JSON string literal (quoted, escaped). */
void json_put_string(FILE *out, const char *s);
/* A number; NaN and infinities as null (JSON has none). */
void json_put_number(FILE *out, double v);

/* ---- models (registry.c) ------------------------------------------------- */

/* One loaded model file: immutable once published, except its stream, which
 * its lock guards. Freed when the last reference goes. */
typedef struct served_model {
    atomic_int refs;
    anoma_model *model;
    size_t n_features;
    const char **names;        /* n_features names, or NULL: the model has none */
    anoma_column_type *types;  /* n_features input types */
    size_t width;              /* columns an explanation ranks */
    const char **explained;    /* their names (NULL: f<j>) */
    int explainable;           /* the first detector has per-feature scores */
    double threshold;
    int has_probability;
    unsigned long long version; /* loads of its name so far, this one included */
    double load_seconds;
    double loaded_at;          /* wall clock, seconds since 1970 */
    /* one-record requests score through the library's row scorer (no
     * allocation, no block set-up) when no step or detector keeps state per
     * entity; a scorer is single-owner, so idle ones wait in these slots */
    int row_scoring;
    _Atomic(anoma_row_scorer *) scorers[16];
    anoma_stream *stream;      /* this model's entities */
    pthread_mutex_t stream_lock;
    int stream_retired;        /* a reload moved the entities on: push again on the new model */
} served_model;

/* A name the server answers to, and the file behind it. */
typedef struct serve_entry {
    char *name;
    char *path;
    pthread_mutex_t lock;      /* guards current */
    served_model *current;
    double mtime;              /* of the file loaded, for --watch */
    atomic_uint_fast64_t rows_scored, pushes, reloads, reload_failures;
    /* reloads whose entities started afresh, and the entities they held */
    atomic_uint_fast64_t state_resets, entities_reset;
} serve_entry;

typedef struct serve_registry {
    serve_entry *entries;
    size_t n;
    const char *stream_options; /* --stream-params, or NULL */
    const char *state_dir;      /* --state-dir, or NULL */
} serve_registry;

/* MODEL operands: PATH (named by the file's stem) or NAME=PATH. Loads every
 * model (and its saved stream state). Prints the error, returns CLI_* . */
int registry_open(serve_registry *r, char **operands, size_t n, const char *stream_options,
                  const char *state_dir);
/* Save every stream state (when there is a state dir) and free. */
int registry_close(serve_registry *r);
serve_entry *registry_find(serve_registry *r, const char *name);
/* A reference to the entry's current model; give it back with served_release(). */
served_model *served_acquire(serve_entry *e);
void served_release(served_model *m);
/* A row scorer of m for this request alone (NULL: out of memory); give it
 * back with served_give_scorer(). */
anoma_row_scorer *served_take_scorer(served_model *m);
void served_give_scorer(served_model *m, anoma_row_scorer *scorer);
/* Load the entry's file again beside the old model and swap when it loads;
 * entities move over when the new model accepts their state. Logs the
 * outcome on stderr; 0 on success, -1 when the old model keeps serving. */
int registry_reload(serve_registry *r, serve_entry *e);
/* Reload the entries whose file changed since it was loaded (--watch). */
void registry_reload_changed(serve_registry *r);

/* ---- metrics (metrics.c) ------------------------------------------------- */

typedef enum serve_endpoint {
    EP_HEALTHZ,
    EP_MODELS,
    EP_SCORE,
    EP_STREAM,
    EP_METRICS,
    EP_OTHER,
    EP_COUNT
} serve_endpoint;

/* One finished request: its endpoint, status and time taken. */
void metrics_record(serve_endpoint ep, unsigned status, double seconds);
/* The Prometheus text exposition of every counter, and the registry's. */
void metrics_write(FILE *out, serve_registry *r);

/* ---- request bodies (records.c) ------------------------------------------ */

/* The rows of a request, as a frame in the model's input order, and the
 * options the body gave. */
typedef struct serve_rows {
    anoma_frame *frame;
    size_t rows;
    size_t explain;       /* "explain": K, or 0 */
    int has_time;         /* "time" was given (streams) */
    double time;
    void *owned;          /* the parsed document and column arrays */
} serve_rows;

/* Parse a score request (JSON, or CSV when csv) for model m; at most
 * max_rows records. On failure writes the message into err and returns the
 * HTTP status (400 or 413); 0 on success. */
unsigned records_parse(const served_model *m, const char *body, size_t len, int csv,
                       size_t max_rows, int single, serve_rows *out, char *err, size_t cap);
void records_free(serve_rows *rows);

/* ---- endpoints (endpoints.c) -------------------------------------------- */

/* What an endpoint answers: a status and a body (malloc'd) with its type. */
typedef struct serve_reply {
    unsigned status;
    char *body;
    size_t len;
    const char *content_type;
} serve_reply;

/* A JSON error reply {"error": message, "status": N}. */
void reply_error(serve_reply *rep, unsigned status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

typedef struct serve_request {
    const char *body;
    size_t len;
    int csv;               /* Content-Type text/csv */
    const char *explain;   /* ?explain=K, or NULL */
    const char *time;      /* ?time=T, or NULL */
} serve_request;

void endpoint_healthz(serve_registry *r, serve_reply *rep);
void endpoint_models(serve_registry *r, serve_reply *rep);
void endpoint_metrics(serve_registry *r, serve_reply *rep);
void endpoint_score(serve_registry *r, const serve_limits *lim, const char *name,
                    const serve_request *req, serve_reply *rep);
void endpoint_stream(serve_registry *r, const serve_limits *lim, const char *name,
                     const char *entity, const serve_request *req, serve_reply *rep);

/* ---- the server (http.c) ------------------------------------------------- */

typedef struct serve_server serve_server;

/* Start listening on bind:port (port 0: any free one) with the limits.
 * Prints the error and returns CLI_BAD_INPUT, else CLI_OK. */
int http_start(serve_server **out, serve_registry *r, const serve_limits *lim,
               const char *bind, unsigned port, const char *token);
unsigned http_port(const serve_server *s);
/* Stop accepting, wait up to `grace` seconds for requests in flight, stop. */
void http_stop(serve_server *s, unsigned grace);

#endif /* ANOMA_SERVE_H */
