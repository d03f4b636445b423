/* The alert state machine and the event queue (alerts.h has the rule). */
#include "stream/alerts.h"
#include "core/alloc.h"
#include "core/error.h"

#include <math.h>
#include <string.h>

/* An entity's alert state; `top` pairs follow it in the block. */
typedef struct alert_state {
    uint64_t recent;      /* bit k: the observation k pushes ago was anomalous */
    uint64_t quiet;       /* normal observations since the last anomalous one */
    uint64_t n_anomalous; /* while open */
    double streak_start;  /* first observation of the current anomalous run */
    double last_anomalous;
    double start, peak_score, peak_time; /* while open */
    uint32_t open, n_top;
} alert_state;

typedef struct top_pair {
    double value;
    uint64_t feature;
} top_pair;

static top_pair *tops(void *alert)
{
    return (top_pair *)((alert_state *)alert + 1);
}

size_t an_alert_bytes(const an_alert_rule *r)
{
    return sizeof(alert_state) + r->top * sizeof(top_pair);
}

void an_alert_init(const an_alert_rule *r, void *alert)
{
    memset(alert, 0, an_alert_bytes(r));
}

int an_alert_is_open(const void *alert)
{
    return ((const alert_state *)alert)->open != 0;
}

static unsigned recent_count(const an_alert_rule *r, uint64_t recent)
{
    uint64_t mask = r->window == 64 ? ~(uint64_t)0 : ((uint64_t)1 << r->window) - 1;
    return (unsigned)__builtin_popcountll(recent & mask);
}

an_alert_change an_alert_step(const an_alert_rule *r, void *alert, int anomalous, double score,
                              double time, int *new_peak)
{
    alert_state *a = alert;
    *new_peak = 0;
    int continues_run = (a->recent & 1) != 0;
    a->recent = (a->recent << 1) | (uint64_t)(anomalous != 0);
    if (anomalous) {
        if (!continues_run)
            a->streak_start = time;
        a->quiet = 0;
        a->last_anomalous = time;
    } else {
        a->quiet++;
    }
    if (!a->open) {
        if (!anomalous || recent_count(r, a->recent) < r->min)
            return AN_ALERT_SAME;
        a->open = 1;
        a->start = a->streak_start;
        a->n_anomalous = 1;
        a->peak_score = score;
        a->peak_time = time;
        a->n_top = 0;
        *new_peak = 1;
        return AN_ALERT_OPENED;
    }
    if (anomalous) {
        a->n_anomalous++;
        if (score > a->peak_score) {
            a->peak_score = score;
            a->peak_time = time;
            *new_peak = 1;
        }
        return AN_ALERT_SAME;
    }
    int quiet = (r->quiet && a->quiet >= r->quiet) ||
                (r->quiet_seconds > 0 && time - a->last_anomalous >= r->quiet_seconds);
    if (!quiet)
        return AN_ALERT_SAME;
    a->open = 0;
    a->recent = 0;
    return AN_ALERT_CLOSED;
}

int an_alert_close_now(const an_alert_rule *r, void *alert)
{
    (void)r;
    alert_state *a = alert;
    int was_open = a->open != 0;
    a->open = 0;
    a->recent = 0;
    return was_open;
}

void an_alert_set_top(const an_alert_rule *r, void *alert, const double *values, size_t width)
{
    alert_state *a = alert;
    top_pair *t = tops(alert);
    size_t n = 0;
    /* insertion into a short sorted list: highest first, lower index first on ties */
    for (size_t j = 0; j < width; j++) {
        double v = values[j];
        if (isnan(v))
            continue;
        size_t at = n;
        while (at > 0 && t[at - 1].value < v)
            at--;
        if (at >= r->top)
            continue;
        size_t last = n < r->top ? n : r->top - 1;
        memmove(&t[at + 1], &t[at], (last - at) * sizeof *t);
        t[at] = (top_pair){v, j};
        n += n < r->top;
    }
    a->n_top = (uint32_t)n;
}

void an_alert_event(const an_alert_rule *r, const void *alert, anoma_alert_kind kind,
                    const char *key, int evicted, anoma_stream_event *ev)
{
    (void)r;
    const alert_state *a = alert;
    memset(ev, 0, sizeof *ev);
    ev->kind = kind;
    size_t len = strlen(key);
    memcpy(ev->entity, key, len < ANOMA_STREAM_MAX_KEY ? len : ANOMA_STREAM_MAX_KEY);
    ev->start_time = a->start;
    ev->end_time = a->last_anomalous;
    ev->peak_time = a->peak_time;
    ev->peak_score = a->peak_score;
    ev->n_anomalous = a->n_anomalous;
    ev->evicted = evicted;
    ev->n_top = a->n_top;
    const top_pair *t = tops((void *)alert);
    for (size_t k = 0; k < a->n_top; k++) {
        ev->top_feature[k] = (size_t)t[k].feature;
        ev->top_value[k] = t[k].value;
    }
}

void an_alert_save(const an_alert_rule *r, const void *alert, an_writer *w)
{
    (void)r;
    const alert_state *a = alert;
    an_put_u64(w, a->recent);
    an_put_u64(w, a->quiet);
    an_put_u64(w, a->n_anomalous);
    an_put_f64(w, a->streak_start);
    an_put_f64(w, a->last_anomalous);
    an_put_f64(w, a->start);
    an_put_f64(w, a->peak_score);
    an_put_f64(w, a->peak_time);
    an_put_u8(w, (uint8_t)a->open);
    an_put_u8(w, (uint8_t)a->n_top);
    const top_pair *t = tops((void *)alert);
    for (size_t k = 0; k < a->n_top; k++) {
        an_put_f64(w, t[k].value);
        an_put_u64(w, t[k].feature);
    }
}

void an_alert_restore(const an_alert_rule *r, void *alert, an_reader *rd)
{
    alert_state *a = alert;
    an_alert_init(r, alert);
    a->recent = an_get_u64(rd);
    a->quiet = an_get_u64(rd);
    a->n_anomalous = an_get_u64(rd);
    a->streak_start = an_get_f64(rd);
    a->last_anomalous = an_get_f64(rd);
    a->start = an_get_f64(rd);
    a->peak_score = an_get_f64(rd);
    a->peak_time = an_get_f64(rd);
    uint8_t open = an_get_u8(rd), n_top = an_get_u8(rd);
    if (open > 1 || n_top > ANOMA_STREAM_MAX_TOP) {
        an_reader_fail(rd);
        return;
    }
    a->open = open;
    top_pair *t = tops(alert);
    for (size_t k = 0; k < n_top; k++) {
        top_pair p = {an_get_f64(rd), an_get_u64(rd)};
        if (k < r->top) /* a stream keeping fewer features keeps the first */
            t[k] = p;
    }
    a->n_top = (uint32_t)(n_top < r->top ? n_top : r->top);
}

/* ---- the queue ---- */

anoma_status an_event_queue_init(an_event_queue *q, size_t capacity)
{
    memset(q, 0, sizeof *q);
    q->items = AN_NEW_ARRAY(anoma_stream_event, capacity);
    if (!q->items)
        return an_no_memory();
    q->capacity = capacity;
    return ANOMA_OK;
}

void an_event_queue_free(an_event_queue *q)
{
    an_free(q->items);
    q->items = NULL;
}

void an_event_queue_put(an_event_queue *q, const anoma_stream_event *ev)
{
    if (q->fn) {
        q->fn(q->user, ev);
        return;
    }
    uint64_t carried = 0;
    if (q->count == q->capacity) { /* the oldest goes; the next one counts it */
        carried = q->items[q->first].dropped + 1;
        q->first = (q->first + 1) % q->capacity;
        q->count--;
        if (q->count)
            q->items[q->first].dropped += carried, carried = 0;
    }
    anoma_stream_event *slot = &q->items[(q->first + q->count) % q->capacity];
    *slot = *ev;
    slot->dropped += carried;
    q->count++;
}

int an_event_queue_take(an_event_queue *q, anoma_stream_event *ev)
{
    if (!q->count)
        return 0;
    *ev = q->items[q->first];
    q->first = (q->first + 1) % q->capacity;
    q->count--;
    return 1;
}
