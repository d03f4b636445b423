/* Progress reports: see core/progress.h. Why batches: a worker thread
 * cannot call the host (the callback runs on the caller's thread only, as
 * documented), so a loop that reports is cut into batches, each a parallel
 * loop of its own, and the caller reports between them. About a hundred
 * batches keep the added wake-ups far below the work of each. */
#include "core/progress.h"
#include "core/error.h"

int an_progress_on(const an_progress *p) { return p && p->fn; }

anoma_status an_progress_report(const an_progress *p, anoma_stage stage, uint64_t done,
                                uint64_t total, const char *what)
{
    if (!an_progress_on(p) || p->fn(p->user, stage, done, total) == 0)
        return ANOMA_OK;
    return an_error(ANOMA_ERR_CANCELLED, "%s: cancelled by the progress callback after %llu of "
                    "%llu", what, (unsigned long long)done, (unsigned long long)total);
}

size_t an_progress_batch(size_t n, size_t least)
{
    size_t batch = (n + 99) / 100;
    return batch > least ? batch : least ? least : 1;
}

typedef struct offset_job {
    an_range_fn fn;
    void *ctx;
    size_t offset;
} offset_job;

static void offset_range(void *ctx, size_t begin, size_t end, size_t worker)
{
    const offset_job *job = ctx;
    job->fn(job->ctx, job->offset + begin, job->offset + end, worker);
}

anoma_status an_parallel_for_reported(size_t n, size_t n_threads, size_t min_chunk,
                                      an_range_fn fn, void *ctx, const an_progress *p,
                                      anoma_stage stage, const char *what)
{
    if (!an_progress_on(p)) {
        an_parallel_for(n, n_threads, min_chunk, fn, ctx);
        return ANOMA_OK;
    }
    /* a batch keeps every worker of the whole loop busy */
    size_t workers = an_parallel_workers(n, n_threads, min_chunk);
    size_t batch = an_progress_batch(n, workers * (min_chunk ? min_chunk : 1));
    offset_job job = {fn, ctx, 0};
    for (size_t done = 0; done < n;) {
        size_t todo = n - done < batch ? n - done : batch;
        job.offset = done;
        an_parallel_for(todo, workers, min_chunk, offset_range, &job);
        done += todo;
        AN_TRY(an_progress_report(p, stage, done, n, what));
    }
    return ANOMA_OK;
}
