/* Parallel loops over index ranges on a persistent pool of pthreads.
 *
 * The range [0, n) is cut into at most n_threads contiguous chunks in a
 * fixed way: the same n and n_threads always give the same chunks, and a
 * task that writes only its own indices is deterministic whatever thread
 * runs which chunk. The caller runs chunks too, and runs any chunk no
 * worker has taken yet, so a loop finishes even when no worker can start,
 * when all workers are busy with other callers' loops, or when a chunk
 * itself calls an_parallel_for.
 *
 * The pool starts lazily on the first loop that wants threads and grows to
 * the largest thread count asked for (at most AN_MAX_THREADS); its workers
 * sleep between loops, so a loop pays a wake-up instead of a thread start.
 * Several host threads may run loops at once: each loop is a job in one
 * queue. an_threads_shutdown() (public: anoma_shutdown) joins the workers;
 * the next loop starts them again. The library's destructor shuts the pool
 * down at unload, and a child process after fork() starts with an empty
 * pool. */
#ifndef AN_CORE_THREADS_H
#define AN_CORE_THREADS_H

#include <stddef.h>

enum { AN_MAX_THREADS = 256 };

/* Work on [begin, end); `worker` in [0, n_threads) indexes per-worker
 * scratch: it is the chunk's number, not the thread's. */
typedef void (*an_range_fn)(void *ctx, size_t begin, size_t end, size_t worker);

/* Run fn over [0, n) in up to n_threads chunks (0 = number of cores) of at
 * least min_chunk items. Returns the number of chunks. */
size_t an_parallel_for(size_t n, size_t n_threads, size_t min_chunk, an_range_fn fn, void *ctx);

/* How many chunks an_parallel_for would use. */
size_t an_parallel_workers(size_t n, size_t n_threads, size_t min_chunk);

/* The thread count of the calling thread's calls (anoma_thread_set_n_threads),
 * or model_count when the thread has set none. */
size_t an_calling_thread_n_threads(size_t model_count);

/* Number of online cores (at least 1). */
size_t an_cpu_count(void);

/* Stop and join the pool's workers (no loop may be running). */
void an_threads_shutdown(void);

/* Workers alive in the pool (for tests). */
size_t an_threads_pool_size(void);

#endif
