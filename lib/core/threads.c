#include "core/threads.h"

#include <pthread.h>
#include <unistd.h>

enum { AN_MAX_THREADS = 256 };

typedef struct chunk {
    an_range_fn fn;
    void *ctx;
    size_t begin, end, worker;
} chunk;

static void *run_chunk(void *arg)
{
    chunk *c = arg;
    c->fn(c->ctx, c->begin, c->end, c->worker);
    return NULL;
}

size_t an_cpu_count(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (size_t)n : 1;
}

size_t an_parallel_workers(size_t n, size_t n_threads, size_t min_chunk)
{
    if (n_threads == 0)
        n_threads = an_cpu_count();
    if (n_threads > AN_MAX_THREADS)
        n_threads = AN_MAX_THREADS;
    if (min_chunk == 0)
        min_chunk = 1;
    size_t by_size = n / min_chunk;
    if (by_size < n_threads)
        n_threads = by_size;
    return n_threads ? n_threads : 1;
}

size_t an_parallel_for(size_t n, size_t n_threads, size_t min_chunk, an_range_fn fn, void *ctx)
{
    size_t workers = an_parallel_workers(n, n_threads, min_chunk);
    if (workers == 1 || n == 0) {
        fn(ctx, 0, n, 0);
        return 1;
    }
    chunk chunks[AN_MAX_THREADS];
    pthread_t ids[AN_MAX_THREADS];
    int started[AN_MAX_THREADS];
    for (size_t w = 0; w < workers; w++) {
        chunks[w] = (chunk){fn, ctx, n * w / workers, n * (w + 1) / workers, w};
        started[w] = w > 0 && pthread_create(&ids[w], NULL, run_chunk, &chunks[w]) == 0;
    }
    run_chunk(&chunks[0]);
    for (size_t w = 1; w < workers; w++) {
        if (started[w])
            pthread_join(ids[w], NULL);
        else
            run_chunk(&chunks[w]);
    }
    return workers;
}
