/* The persistent thread pool behind an_parallel_for (see threads.h).
 *
 * One mutex guards everything: the queue of loops (jobs) waiting for
 * hands, each job's next chunk and its count of unfinished chunks, and the
 * worker list. A loop has at most AN_MAX_THREADS chunks and each chunk is
 * coarse (thousands of rows, or trees), so the lock is taken a few times
 * per chunk and never contended for long. Nothing here allocates: jobs live
 * on their caller's stack and the worker list is a fixed array. */
#include "anoma/common.h"
#include "core/threads.h"
#include "core/error.h"

#include <pthread.h>
#include <unistd.h>

typedef struct job {
    an_range_fn fn;
    void *ctx;
    size_t n, chunks;
    size_t next;       /* the next chunk to hand out */
    size_t unfinished; /* chunks handed out or not, not yet finished */
    pthread_cond_t done;
    struct job *queued_next;
} job;

static struct {
    pthread_mutex_t lock;
    pthread_cond_t work; /* workers sleep here while the queue is empty */
    job *head, *tail;    /* jobs with chunks not yet handed out */
    pthread_t ids[AN_MAX_THREADS];
    size_t n_workers;
    int stopping;   /* a shutdown is joining the workers */
    int cannot_start; /* pthread_create failed: stop trying until a shutdown */
} pool = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, NULL, NULL, {0}, 0, 0, 0};

/* Asked once: sysconf reads /sys on Linux, ~7 us, which a batch of 100
 * rows (2 us of work for zscore) paid on every call with n_threads=0. */
size_t an_cpu_count(void)
{
    static _Atomic size_t cores;
    size_t n = cores;
    if (!n) {
        long online = sysconf(_SC_NPROCESSORS_ONLN);
        cores = n = online > 0 ? (size_t)online : 1;
    }
    return n;
}

/* The largest thread count a host may ask for (as the model's n_threads). */
enum { MAX_THREADS_ASKED = 1024 };

/* Set by anoma_thread_set_n_threads: a thread-local value, so that host
 * threads sharing a model each choose their own count without a lock and
 * without changing the model. */
static _Thread_local size_t own_n_threads = ANOMA_N_THREADS_OF_MODEL;

anoma_status anoma_thread_set_n_threads(size_t n_threads)
{
    if (n_threads > MAX_THREADS_ASKED && n_threads != ANOMA_N_THREADS_OF_MODEL)
        return an_error(ANOMA_ERR_PARAM_VALUE,
                        "anoma_thread_set_n_threads: n_threads=%zu: expected 0 (all cores) to "
                        "%d, or ANOMA_N_THREADS_OF_MODEL", n_threads, MAX_THREADS_ASKED);
    own_n_threads = n_threads;
    return ANOMA_OK;
}

size_t an_calling_thread_n_threads(size_t model_count)
{
    return own_n_threads == ANOMA_N_THREADS_OF_MODEL ? model_count : own_n_threads;
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

/* ---- the queue (lock held) ---- */

/* Hand out j's next chunk; a job leaves the queue with its last chunk. */
static size_t take_chunk(job *j)
{
    size_t c = j->next++;
    if (j->next == j->chunks) {
        job **at = &pool.head, *prev = NULL;
        while (*at != j) {
            prev = *at;
            at = &(*at)->queued_next;
        }
        *at = j->queued_next;
        if (pool.tail == j)
            pool.tail = prev;
    }
    return c;
}

static void run_chunk(const job *j, size_t c)
{
    j->fn(j->ctx, j->n * c / j->chunks, j->n * (c + 1) / j->chunks, c);
}

static void *worker_main(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&pool.lock);
    for (;;) {
        while (!pool.head && !pool.stopping)
            pthread_cond_wait(&pool.work, &pool.lock);
        if (pool.stopping) /* callers run whatever is left */
            break;
        job *j = pool.head;
        size_t c = take_chunk(j);
        pthread_mutex_unlock(&pool.lock);
        run_chunk(j, c);
        pthread_mutex_lock(&pool.lock);
        if (--j->unfinished == 0)
            pthread_cond_signal(&j->done); /* j may vanish once the lock is released */
    }
    pthread_mutex_unlock(&pool.lock);
    return NULL;
}

/* ---- fork and unload ---- */

static void before_fork(void) { pthread_mutex_lock(&pool.lock); }
static void after_fork_parent(void) { pthread_mutex_unlock(&pool.lock); }

/* The child has none of the parent's threads: neither the workers nor the
 * callers whose jobs are queued. It starts with an empty pool. */
static void after_fork_child(void)
{
    pthread_mutex_init(&pool.lock, NULL);
    pthread_cond_init(&pool.work, NULL);
    pool.head = pool.tail = NULL;
    pool.n_workers = 0;
    pool.stopping = pool.cannot_start = 0;
}

static pthread_once_t fork_once = PTHREAD_ONCE_INIT;
static void register_fork_handlers(void)
{
    pthread_atfork(before_fork, after_fork_parent, after_fork_child);
}

/* Grow the pool to `want` workers if it can (lock held). */
static void start_workers(size_t want)
{
    if (want > AN_MAX_THREADS - 1)
        want = AN_MAX_THREADS - 1;
    while (pool.n_workers < want && !pool.stopping && !pool.cannot_start) {
        if (pthread_create(&pool.ids[pool.n_workers], NULL, worker_main, NULL) != 0)
            pool.cannot_start = 1; /* resource limits: the callers do the work */
        else
            pool.n_workers++;
    }
}

size_t an_parallel_for(size_t n, size_t n_threads, size_t min_chunk, an_range_fn fn, void *ctx)
{
    size_t chunks = an_parallel_workers(n, n_threads, min_chunk);
    if (chunks == 1 || n == 0) {
        fn(ctx, 0, n, 0);
        return 1;
    }
    pthread_once(&fork_once, register_fork_handlers);
    job j = {fn, ctx, n, chunks, 0, chunks, PTHREAD_COND_INITIALIZER, NULL};
    pthread_mutex_lock(&pool.lock);
    start_workers(chunks - 1);
    if (pool.tail)
        pool.tail->queued_next = &j;
    else
        pool.head = &j;
    pool.tail = &j;
    if (chunks - 1 >= pool.n_workers)
        pthread_cond_broadcast(&pool.work);
    else
        for (size_t i = 0; i + 1 < chunks; i++)
            pthread_cond_signal(&pool.work);
    /* the caller works too, on any chunk still waiting */
    while (j.next < j.chunks) {
        size_t c = take_chunk(&j);
        pthread_mutex_unlock(&pool.lock);
        run_chunk(&j, c);
        pthread_mutex_lock(&pool.lock);
        j.unfinished--;
    }
    while (j.unfinished)
        pthread_cond_wait(&j.done, &pool.lock);
    pthread_mutex_unlock(&pool.lock);
    pthread_cond_destroy(&j.done);
    return chunks;
}

void an_threads_shutdown(void)
{
    pthread_mutex_lock(&pool.lock);
    if (pool.stopping) { /* another thread is shutting down */
        pthread_mutex_unlock(&pool.lock);
        return;
    }
    pool.stopping = 1;
    size_t n = pool.n_workers;
    pthread_cond_broadcast(&pool.work);
    pthread_mutex_unlock(&pool.lock);
    /* n_workers cannot grow while stopping, and only this call shrinks it */
    for (size_t i = 0; i < n; i++)
        pthread_join(pool.ids[i], NULL);
    pthread_mutex_lock(&pool.lock);
    pool.n_workers = 0;
    pool.stopping = pool.cannot_start = 0;
    pthread_mutex_unlock(&pool.lock);
}

size_t an_threads_pool_size(void)
{
    pthread_mutex_lock(&pool.lock);
    size_t n = pool.n_workers;
    pthread_mutex_unlock(&pool.lock);
    return n;
}

void anoma_shutdown(void) { an_threads_shutdown(); }

/* At unload (dlclose, or exit) the workers are joined, so that no thread
 * runs code that is about to be unmapped. */
__attribute__((destructor)) static void threads_at_unload(void) { an_threads_shutdown(); }
