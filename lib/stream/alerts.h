/* Alerts with hysteresis, per entity, and the queue their events wait in.
 *
 * An entity's alert state is plain bytes inside its state block (saved with
 * it): the recent decisions as bits, the quiet count, and while an alert is
 * open its start, peak and the features contributing most at the peak.
 * The rule (docs/stream.md, "Alerts"):
 *   open   when `min` of the last `window` observations are anomalous; the
 *          alert starts at the first observation of the run of consecutive
 *          anomalous ones that ends at the opening one;
 *   close  at a normal observation that is the `quiet`-th normal one in a
 *          row (quiet > 0) or comes `quiet_seconds` or more after the last
 *          anomalous one (quiet_seconds > 0); the count of recent anomalous
 *          observations then starts afresh, so an old run cannot reopen it. */
#ifndef AN_STREAM_ALERTS_H
#define AN_STREAM_ALERTS_H

#include "anoma/stream.h"
#include "io/bytes.h"

typedef struct an_alert_rule {
    unsigned min, window; /* 1 <= min <= window <= 64 */
    uint64_t quiet;       /* 0: off */
    double quiet_seconds; /* 0: off */
    size_t top;           /* features kept at the peak, <= ANOMA_STREAM_MAX_TOP */
} an_alert_rule;

/* Bytes of an entity's alert state (a multiple of 8), and a fresh one. */
size_t an_alert_bytes(const an_alert_rule *r);
void an_alert_init(const an_alert_rule *r, void *alert);

/* What one observation did to the alert. */
typedef enum an_alert_change { AN_ALERT_SAME, AN_ALERT_OPENED, AN_ALERT_CLOSED } an_alert_change;

/* Fold one observation in. *new_peak is set when the observation is the
 * open alert's highest so far: the caller then gives its per-feature scores
 * with an_alert_set_top before making the event. */
an_alert_change an_alert_step(const an_alert_rule *r, void *alert, int anomalous, double score,
                              double time, int *new_peak);
/* Keep the `top` highest of `width` per-feature scores (NaN never). */
void an_alert_set_top(const an_alert_rule *r, void *alert, const double *values, size_t width);
int an_alert_is_open(const void *alert);
/* Close the alert because its entity goes (eviction): 1 when one was open. */
int an_alert_close_now(const an_alert_rule *r, void *alert);
/* The event the alert's state describes now. */
void an_alert_event(const an_alert_rule *r, const void *alert, anoma_alert_kind kind,
                    const char *key, int evicted, anoma_stream_event *ev);

/* The alert state in a stream state, and back (checked: counts, flags). */
void an_alert_save(const an_alert_rule *r, const void *alert, an_writer *w);
void an_alert_restore(const an_alert_rule *r, void *alert, an_reader *r_);

/* Events waiting to be polled: a ring of `capacity`; when full the oldest
 * goes and the next one counts it. With a callback, events go to it
 * instead. */
typedef struct an_event_queue {
    anoma_stream_event *items;
    size_t capacity, first, count;
    anoma_stream_callback fn;
    void *user;
} an_event_queue;

anoma_status an_event_queue_init(an_event_queue *q, size_t capacity);
void an_event_queue_free(an_event_queue *q);
void an_event_queue_put(an_event_queue *q, const anoma_stream_event *ev);
int an_event_queue_take(an_event_queue *q, anoma_stream_event *ev);

#endif
