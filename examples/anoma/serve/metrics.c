/* Counters and latency histograms, written in the Prometheus text format
 * (version 0.0.4). Counters are atomics: a request adds to them with no lock. */
#include "serve.h"

static const char *const endpoint_names[EP_COUNT] = {"healthz", "models", "score", "stream",
                                                     "metrics", "other"};
/* The statuses the server answers; anything else counts as "other". */
static const unsigned statuses[] = {200, 400, 401, 404, 405, 408, 413, 415, 500, 503};
#define N_STATUS (sizeof statuses / sizeof *statuses + 1)
/* Upper bounds of the latency buckets, in seconds (+Inf is implicit). */
static const double buckets[] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
                                 0.025,  0.05,    0.1,    0.25,  0.5,    1,     2.5};
#define N_BUCKETS (sizeof buckets / sizeof *buckets)

static atomic_uint_fast64_t requests[EP_COUNT][N_STATUS];
static atomic_uint_fast64_t latency[EP_COUNT][N_BUCKETS + 1]; /* per bucket, not cumulative */
static _Atomic double latency_sum[EP_COUNT];

void metrics_record(serve_endpoint ep, unsigned status, double seconds)
{
    size_t s = 0;
    while (s < N_STATUS - 1 && statuses[s] != status)
        s++;
    size_t b = 0;
    while (b < N_BUCKETS && seconds > buckets[b])
        b++;
    atomic_fetch_add(&requests[ep][s], 1);
    atomic_fetch_add(&latency[ep][b], 1);
    double old = atomic_load(&latency_sum[ep]);
    while (!atomic_compare_exchange_weak(&latency_sum[ep], &old, old + seconds))
        ;
}

static void write_requests(FILE *out)
{
    fputs("# HELP anoma_http_requests_total Requests answered, by endpoint and status.\n"
          "# TYPE anoma_http_requests_total counter\n", out);
    for (size_t e = 0; e < EP_COUNT; e++)
        for (size_t s = 0; s < N_STATUS; s++) {
            uint64_t n = atomic_load(&requests[e][s]);
            if (!n)
                continue;
            fprintf(out, "anoma_http_requests_total{endpoint=\"%s\",status=\"", endpoint_names[e]);
            if (s < N_STATUS - 1)
                fprintf(out, "%u", statuses[s]);
            else
                fputs("other", out);
            fprintf(out, "\"} %llu\n", (unsigned long long)n);
        }
    fputs("# HELP anoma_http_errors_total Requests answered with a status of 400 or above.\n"
          "# TYPE anoma_http_errors_total counter\n", out);
    for (size_t e = 0; e < EP_COUNT; e++) {
        uint64_t n = 0;
        for (size_t s = 0; s < N_STATUS; s++)
            if (s == N_STATUS - 1 || statuses[s] >= 400)
                n += atomic_load(&requests[e][s]);
        fprintf(out, "anoma_http_errors_total{endpoint=\"%s\"} %llu\n", endpoint_names[e],
                (unsigned long long)n);
    }
}

static void write_latency(FILE *out)
{
    fputs("# HELP anoma_http_request_duration_seconds Time from a request's first byte to its "
          "reply.\n# TYPE anoma_http_request_duration_seconds histogram\n", out);
    for (size_t e = 0; e < EP_COUNT; e++) {
        uint64_t cumulative = 0;
        for (size_t b = 0; b <= N_BUCKETS; b++) {
            cumulative += atomic_load(&latency[e][b]);
            fprintf(out, "anoma_http_request_duration_seconds_bucket{endpoint=\"%s\",le=\"",
                    endpoint_names[e]);
            if (b < N_BUCKETS)
                fprintf(out, "%g", buckets[b]);
            else
                fputs("+Inf", out);
            fprintf(out, "\"} %llu\n", (unsigned long long)cumulative);
        }
        fprintf(out, "anoma_http_request_duration_seconds_sum{endpoint=\"%s\"} %.9g\n",
                endpoint_names[e], atomic_load(&latency_sum[e]));
        fprintf(out, "anoma_http_request_duration_seconds_count{endpoint=\"%s\"} %llu\n",
                endpoint_names[e], (unsigned long long)cumulative);
    }
}

/* One line per model of a per-model metric. */
#define PER_MODEL(metric, type, help, fmt, expr)                                               \
    do {                                                                                     \
        fputs("# HELP " metric " " help "\n# TYPE " metric " " type "\n", out);                  \
        for (size_t k = 0; k < r->n; k++) {                                                  \
            serve_entry *e = &r->entries[k];                                                 \
            served_model *m = served_acquire(e);                                             \
            fprintf(out, metric "{model=\"%s\"} " fmt "\n", e->name, expr);                    \
            served_release(m);                                                               \
        }                                                                                    \
    } while (0)

static size_t entities_held(served_model *m)
{
    pthread_mutex_lock(&m->stream_lock);
    size_t n = anoma_stream_n_entities(m->stream);
    pthread_mutex_unlock(&m->stream_lock);
    return n;
}

void metrics_write(FILE *out, serve_registry *r)
{
    write_requests(out);
    write_latency(out);
    /* model names are letters, digits, '.', '_' and '-': nothing to escape */
    PER_MODEL("anoma_rows_scored_total", "counter", "Records scored by the score endpoint.",
              "%llu", (unsigned long long)atomic_load(&e->rows_scored));
    PER_MODEL("anoma_stream_pushes_total", "counter", "Observations pushed into streams.",
              "%llu", (unsigned long long)atomic_load(&e->pushes));
    PER_MODEL("anoma_stream_entities", "gauge", "Entities the model's stream holds.", "%zu",
              entities_held(m));
    PER_MODEL("anoma_model_load_seconds", "gauge", "Time the current model took to load.",
              "%.6f", m->load_seconds);
    PER_MODEL("anoma_model_loaded_timestamp_seconds", "gauge",
              "When the current model was loaded (seconds since 1970).", "%.3f", m->loaded_at);
    PER_MODEL("anoma_model_reloads_total", "counter", "Reloads that swapped in a new model.",
              "%llu", (unsigned long long)atomic_load(&e->reloads));
    PER_MODEL("anoma_model_reload_failures_total", "counter",
              "Reloads that failed; the model loaded before kept serving.", "%llu",
              (unsigned long long)atomic_load(&e->reload_failures));
    PER_MODEL("anoma_stream_state_resets_total", "counter",
              "Reloads whose stream entities started afresh (the new model's entity state "
              "means something else).", "%llu",
              (unsigned long long)atomic_load(&e->state_resets));
    PER_MODEL("anoma_stream_entities_reset_total", "counter",
              "Entities those reloads started afresh.", "%llu",
              (unsigned long long)atomic_load(&e->entities_reset));
}
