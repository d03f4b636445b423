/* What each endpoint answers (docs/serve.md shows every request and reply). */
#include "serve.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- replies ---------------------------------------------------------------- */

static FILE *reply_open(serve_reply *rep, unsigned status)
{
    rep->status = status;
    rep->content_type = "application/json";
    rep->body = NULL;
    rep->len = 0;
    return open_memstream(&rep->body, &rep->len);
}

/* Close the reply's stream; a failed write (memory) becomes a 500. */
static void reply_close(serve_reply *rep, FILE *out)
{
    int bad = !out || ferror(out);
    if (out && fclose(out) != 0)
        bad = 1;
    if (bad) {
        free(rep->body);
        static const char oom[] = "{\"error\": \"out of memory\", \"status\": 500}\n";
        rep->status = 500;
        rep->body = strdup(oom);
        rep->len = rep->body ? strlen(oom) : 0;
    }
}

void reply_error(serve_reply *rep, unsigned status, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    FILE *out = reply_open(rep, status);
    if (out) {
        fputs("{\"error\": ", out);
        json_put_string(out, msg);
        fprintf(out, ", \"status\": %u}\n", status);
    }
    reply_close(rep, out);
}

static void put_bool(FILE *out, int v)
{
    fputs(v ? "true" : "false", out);
}

static const char *type_name(anoma_column_type t)
{
    return t == ANOMA_COL_STRING ? "text" : t == ANOMA_COL_TIMESTAMP ? "timestamp" : "number";
}

/* ---- GET /healthz, /v1/models, /metrics ---------------------------------- */

void endpoint_healthz(serve_registry *r, serve_reply *rep)
{
    FILE *out = reply_open(rep, 200);
    if (out)
        fprintf(out, "{\"status\": \"ok\", \"models\": %zu, \"libanoma\": \"%s\"}\n", r->n,
                anoma_version());
    reply_close(rep, out);
}

static void describe_model(FILE *out, serve_entry *e, served_model *m)
{
    fputs("{\"name\": ", out);
    json_put_string(out, e->name);
    fputs(", \"detectors\": [", out);
    for (size_t k = 0; k < anoma_model_n_detectors(m->model); k++) {
        fputs(k ? ", " : "", out);
        json_put_string(out, anoma_model_detector_name(m->model, k));
    }
    fputs("], \"features\": [", out);
    for (size_t j = 0; j < m->n_features; j++) {
        fputs(j ? ", {\"name\": " : "{\"name\": ", out);
        json_put_string(out, anoma_model_input_name(m->model, j));
        fprintf(out, ", \"type\": \"%s\"}", type_name(m->types[j]));
    }
    fputs("], \"named\": ", out);
    put_bool(out, m->names != NULL);
    fputs(", \"threshold\": ", out);
    json_put_number(out, m->threshold);
    fputs(", \"probability\": ", out);
    put_bool(out, m->has_probability);
    fputs(", \"explain\": ", out);
    put_bool(out, m->explainable);
    fprintf(out, ", \"version\": %llu, \"loaded_at\": %.3f}", m->version, m->loaded_at);
}

void endpoint_models(serve_registry *r, serve_reply *rep)
{
    FILE *out = reply_open(rep, 200);
    if (out) {
        fputs("{\"models\": [", out);
        for (size_t k = 0; k < r->n; k++) {
            served_model *m = served_acquire(&r->entries[k]);
            fputs(k ? ", " : "", out);
            describe_model(out, &r->entries[k], m);
            served_release(m);
        }
        fputs("]}\n", out);
    }
    reply_close(rep, out);
}

void endpoint_metrics(serve_registry *r, serve_reply *rep)
{
    FILE *out = reply_open(rep, 200);
    if (out)
        metrics_write(out, r);
    reply_close(rep, out);
    rep->content_type = "text/plain; version=0.0.4";
}

/* ---- POST /v1/models/{name}/score ------------------------------------------ */

typedef struct scored {
    double *scores, *probability, *contrib;
    unsigned char *used;
} scored;

static void scored_free(scored *s)
{
    free(s->scores);
    free(s->probability);
    free(s->contrib);
    free(s->used);
}

/* Row 0 of a frame as typed values. */
static void frame_row(const anoma_frame *f, anoma_value *row, size_t n)
{
    for (size_t j = 0; j < n; j++) {
        anoma_column_type type;
        const void *values;
        anoma_frame_column(f, j, &type, &values);
        if (type == ANOMA_COL_STRING)
            row[j].text = ((const char *const *)values)[0];
        else if (type == ANOMA_COL_TIMESTAMP)
            row[j].timestamp = ((const int64_t *)values)[0];
        else
            row[j].number = ((const double *)values)[0];
    }
}

/* One record through a row scorer: the score (and probability) a batch of
 * it gets, without the batch's set-up. */
static anoma_status score_one(served_model *m, const serve_rows *rows, scored *s)
{
    anoma_row_scorer *scorer = served_take_scorer(m);
    anoma_value *row = malloc((m->n_features + 1) * sizeof *row);
    anoma_status st = scorer && row ? ANOMA_OK : ANOMA_ERR_NO_MEMORY;
    if (st == ANOMA_OK) {
        frame_row(rows->frame, row, m->n_features);
        st = m->has_probability
                 ? anoma_row_scorer_score_probability_values(scorer, row, m->n_features,
                                                             s->scores, NULL, s->probability,
                                                             s->probability + 1)
                 : anoma_row_scorer_score_values(scorer, row, m->n_features, s->scores, NULL);
    }
    free(row);
    served_give_scorer(m, scorer);
    return st;
}

/* Score (and explain) the rows; 0, or an error reply made. */
static int score_rows(served_model *m, const serve_rows *rows, size_t explain, scored *s,
                      serve_reply *rep)
{
    size_t n = rows->rows;
    s->scores = malloc(n * sizeof *s->scores);
    s->probability = malloc(2 * n * sizeof *s->probability);
    if (explain) {
        s->contrib = malloc(n * m->width * sizeof *s->contrib + 1);
        s->used = malloc(m->width + 1);
    }
    if (!s->scores || !s->probability || (explain && (!s->contrib || !s->used))) {
        reply_error(rep, 500, "out of memory");
        return -1;
    }
    anoma_status st;
    if (n == 1 && !explain && m->row_scoring) {
        st = score_one(m, rows, s);
    } else {
        st = anoma_model_score_frame(m->model, rows->frame, s->scores);
        if (st == ANOMA_OK && m->has_probability)
            st = anoma_model_probability_of_scores(m->model, s->scores, n, s->probability,
                                                   s->probability + n);
        if (st == ANOMA_OK && explain)
            st = anoma_model_feature_scores_frame(m->model, 0, rows->frame, s->contrib);
    }
    if (st != ANOMA_OK) {
        const char *detail = anoma_last_error();
        reply_error(rep, st == ANOMA_ERR_NO_MEMORY ? 500 : 400, "%s",
                    *detail ? detail : anoma_status_text(st));
        return -1;
    }
    return 0;
}

static void put_explanation(FILE *out, const served_model *m, const cli_explanation *e,
                            const double *c)
{
    fputs(", \"explain\": [", out);
    for (size_t r = 0; r < e->k; r++) {
        size_t j = cli_rank_features(e, c, r);
        fputs(r ? ", {\"feature\": " : "{\"feature\": ", out);
        if (m->explained) {
            json_put_string(out, m->explained[j]);
        } else {
            fprintf(out, "\"f%zu\"", j);
        }
        fputs(", \"contribution\": ", out);
        json_put_number(out, c[j]);
        putc('}', out);
    }
    putc(']', out);
}

void endpoint_score(serve_registry *r, const serve_limits *lim, const char *name,
                    const serve_request *req, serve_reply *rep)
{
    serve_entry *e = registry_find(r, name);
    if (!e) {
        reply_error(rep, 404, "no model '%s' (GET /v1/models lists them)", name);
        return;
    }
    served_model *m = served_acquire(e);
    serve_rows rows;
    scored s = {0};
    char err[512];
    size_t explain = 0;
    unsigned status = records_parse(m, req->body, req->len, req->csv, lim->max_rows, 0, &rows,
                                    err, sizeof err);
    if (status) {
        reply_error(rep, status, "%s", err);
        goto done;
    }
    explain = rows.explain;
    if (req->explain && cli_parse_count(req->explain, &explain) != 0) {
        reply_error(rep, 400, "explain=%s: give a whole number >= 1", req->explain);
        goto done;
    }
    if (explain && !m->explainable) {
        reply_error(rep, 400, "explain: detector '%s' has no per-feature scores",
                    anoma_model_detector_name(m->model, 0));
        goto done;
    }
    if (score_rows(m, &rows, explain, &s, rep) != 0)
        goto done;
    cli_explanation ex = {s.contrib, m->width, explain < m->width ? explain : m->width,
                          m->explained, s.used};
    FILE *out = reply_open(rep, 200);
    if (out) {
        fputs("{\"model\": ", out);
        json_put_string(out, e->name);
        fprintf(out, ", \"version\": %llu, \"threshold\": ", m->version);
        json_put_number(out, m->threshold);
        fputs(", \"results\": [", out);
        for (size_t i = 0; i < rows.rows; i++) {
            fputs(i ? ",\n  {\"score\": " : "\n  {\"score\": ", out);
            json_put_number(out, s.scores[i]);
            fputs(", \"is_anomaly\": ", out);
            put_bool(out, s.scores[i] > m->threshold);
            fputs(", \"probability\": ", out);
            json_put_number(out, m->has_probability ? s.probability[i] : NAN);
            if (explain)
                put_explanation(out, m, &ex, s.contrib + i * m->width);
            putc('}', out);
        }
        fputs("]}\n", out);
    }
    reply_close(rep, out);
    atomic_fetch_add(&e->rows_scored, rows.rows);
done:
    scored_free(&s);
    records_free(&rows);
    served_release(m);
}

/* ---- POST /v1/models/{name}/streams/{entity} ------------------------------- */

static void put_event(FILE *out, const served_model *m, const anoma_stream_event *ev)
{
    fprintf(out, "{\"kind\": \"%s\", \"entity\": ", ev->kind == ANOMA_ALERT_OPEN ? "open" : "close");
    json_put_string(out, ev->entity);
    fputs(", \"start_time\": ", out);
    json_put_number(out, ev->start_time);
    fputs(", \"end_time\": ", out);
    json_put_number(out, ev->end_time);
    fputs(", \"peak_time\": ", out);
    json_put_number(out, ev->peak_time);
    fputs(", \"peak_score\": ", out);
    json_put_number(out, ev->peak_score);
    fprintf(out, ", \"n_anomalous\": %llu, \"evicted\": ", (unsigned long long)ev->n_anomalous);
    put_bool(out, ev->evicted);
    fprintf(out, ", \"dropped\": %llu, \"top\": [", (unsigned long long)ev->dropped);
    for (size_t k = 0; k < ev->n_top; k++) {
        const char *feature = anoma_model_output_name(m->model, ev->top_feature[k]);
        fputs(k ? ", {\"feature\": " : "{\"feature\": ", out);
        json_put_string(out, feature ? feature : "?");
        fputs(", \"value\": ", out);
        json_put_number(out, ev->top_value[k]);
        putc('}', out);
    }
    fputs("]}", out);
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Push one parsed record under the stream lock and write the reply; 1 when
 * the model was retired by a reload meanwhile (push again on the new one). */
static int push(serve_entry *e, served_model *m, const char *entity, double time,
                const serve_rows *rows, serve_reply *rep)
{
    anoma_value *row = malloc((m->n_features + 1) * sizeof *row);
    if (!row) {
        reply_error(rep, 500, "out of memory");
        return 0;
    }
    frame_row(rows->frame, row, m->n_features);
    pthread_mutex_lock(&m->stream_lock);
    if (m->stream_retired) {
        pthread_mutex_unlock(&m->stream_lock);
        free(row);
        return 1;
    }
    double score, probability;
    int flag;
    anoma_status st = anoma_stream_push_values(m->stream, entity, time, row, m->n_features,
                                               &score, &probability, &flag);
    if (st != ANOMA_OK) {
        const char *detail = anoma_last_error();
        pthread_mutex_unlock(&m->stream_lock);
        reply_error(rep, st == ANOMA_ERR_NO_MEMORY ? 500 : 400, "%s",
                    *detail ? detail : anoma_status_text(st));
        free(row);
        return 0;
    }
    FILE *out = reply_open(rep, 200);
    if (out) {
        fputs("{\"model\": ", out);
        json_put_string(out, e->name);
        fputs(", \"entity\": ", out);
        json_put_string(out, entity);
        fputs(", \"time\": ", out);
        json_put_number(out, time);
        fputs(", \"score\": ", out);
        json_put_number(out, score);
        fputs(", \"is_anomaly\": ", out);
        put_bool(out, flag);
        fputs(", \"probability\": ", out);
        json_put_number(out, probability);
        fputs(", \"events\": [", out);
    }
    anoma_stream_event ev;
    for (int k = 0; anoma_stream_next_event(m->stream, &ev); k++) {
        if (out) {
            fputs(k ? ", " : "", out);
            put_event(out, m, &ev);
        }
    }
    pthread_mutex_unlock(&m->stream_lock);
    if (out)
        fputs("]}\n", out);
    reply_close(rep, out);
    atomic_fetch_add(&e->pushes, 1);
    free(row);
    return 0;
}

void endpoint_stream(serve_registry *r, const serve_limits *lim, const char *name,
                     const char *entity, const serve_request *req, serve_reply *rep)
{
    serve_entry *e = registry_find(r, name);
    if (!e) {
        reply_error(rep, 404, "no model '%s' (GET /v1/models lists them)", name);
        return;
    }
    if (strlen(entity) > ANOMA_STREAM_MAX_KEY) {
        reply_error(rep, 400, "entity key of %zu bytes; the longest is %d", strlen(entity),
                    ANOMA_STREAM_MAX_KEY);
        return;
    }
    for (int again = 1; again;) {
        served_model *m = served_acquire(e);
        serve_rows rows;
        char err[512];
        unsigned status = records_parse(m, req->body, req->len, req->csv, lim->max_rows, 1,
                                        &rows, err, sizeof err);
        double time = rows.has_time ? rows.time : now_seconds();
        char *end = NULL;
        if (!status && req->time) {
            time = strtod(req->time, &end);
            if (end == req->time || *end) {
                status = 400;
                snprintf(err, sizeof err, "time=%s: give a number (seconds)", req->time);
            }
        }
        if (!status && !isfinite(time)) {
            status = 400;
            snprintf(err, sizeof err, "time: give a finite number (seconds)");
        }
        again = 0;
        if (status)
            reply_error(rep, status, "%s", err);
        else
            again = push(e, m, entity, time, &rows, rep);
        records_free(&rows);
        served_release(m);
    }
}
