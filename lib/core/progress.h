/* Progress reports to a host callback (anoma/progress.h), made only from
 * the calling thread, and parallel loops cut into reported batches. */
#ifndef AN_CORE_PROGRESS_H
#define AN_CORE_PROGRESS_H

#include "anoma/progress.h"
#include "core/threads.h"

#include <stdint.h>

/* A callback and its user pointer; fn NULL = nobody listens. */
typedef struct an_progress {
    anoma_progress_fn fn;
    void *user;
} an_progress;

/* 1 when a report would reach someone (p may be NULL). */
int an_progress_on(const an_progress *p);

/* Report done of total; ANOMA_ERR_CANCELLED (the message names `what` and
 * how far it got) when the callback asks to stop. */
anoma_status an_progress_report(const an_progress *p, anoma_stage stage, uint64_t done,
                                uint64_t total, const char *what);

/* Items per report for n items when at least `least` must go together:
 * about a hundred reports, fewer for small n. */
size_t an_progress_batch(size_t n, size_t least);

/* an_parallel_for over [0, n), reporting after each batch of items from
 * the calling thread (one plain loop when nobody listens). fn sees the
 * absolute indices, so results are those of one loop. */
anoma_status an_parallel_for_reported(size_t n, size_t n_threads, size_t min_chunk,
                                      an_range_fn fn, void *ctx, const an_progress *p,
                                      anoma_stage stage, const char *what);

#endif
