/* Parallel loops over index ranges on a small set of pthreads.
 *
 * The range [0, n) is cut into at most n_threads contiguous chunks, one per
 * worker, in a fixed way: the same n and n_threads always give the same
 * chunks, and a task that writes only its own indices is deterministic.
 * Threads are started per call and joined before it returns, so the library
 * keeps no threads alive between calls (nothing to shut down, safe after
 * fork). If a thread cannot be started its chunk runs on the caller. */
#ifndef AN_CORE_THREADS_H
#define AN_CORE_THREADS_H

#include <stddef.h>

/* Work on [begin, end); `worker` in [0, n_threads) indexes per-worker scratch. */
typedef void (*an_range_fn)(void *ctx, size_t begin, size_t end, size_t worker);

/* Run fn over [0, n) on up to n_threads threads (0 = number of cores), with
 * chunks of at least min_chunk items. Returns the number of workers used. */
size_t an_parallel_for(size_t n, size_t n_threads, size_t min_chunk, an_range_fn fn, void *ctx);

/* How many workers an_parallel_for would use. */
size_t an_parallel_workers(size_t n, size_t n_threads, size_t min_chunk);

/* Number of online cores (at least 1). */
size_t an_cpu_count(void);

#endif
