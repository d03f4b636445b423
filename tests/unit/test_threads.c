/* The persistent thread pool (lib/core/threads.c): fixed chunks, reuse of
 * its workers, host threads scoring one model at once, nested loops,
 * shutdown during work, and fork. */
#include "testing.h"

#include "core/threads.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- chunks ---- */

typedef struct visit {
    _Atomic int *hits;      /* per index */
    _Atomic int *chunk_use; /* per chunk number */
    size_t *chunk_begin;    /* where each chunk started */
} visit;

static void visit_range(void *ctx, size_t begin, size_t end, size_t worker)
{
    visit *v = ctx;
    for (size_t i = begin; i < end; i++)
        atomic_fetch_add(&v->hits[i], 1);
    atomic_fetch_add(&v->chunk_use[worker], 1);
    v->chunk_begin[worker] = begin;
}

static void test_chunks_fixed(void)
{
    static const size_t ns[] = {0, 1, 7, 100, 1000, 4097};
    static const size_t threads[] = {1, 2, 3, 8, 0, 300};
    for (size_t a = 0; a < sizeof ns / sizeof *ns; a++)
        for (size_t b = 0; b < sizeof threads / sizeof *threads; b++) {
            size_t n = ns[a];
            _Atomic int *hits = calloc(n + 1, sizeof *hits);
            _Atomic int use[AN_MAX_THREADS] = {0};
            size_t begin[AN_MAX_THREADS];
            visit v = {hits, use, begin};
            size_t chunks = an_parallel_for(n, threads[b], 3, visit_range, &v);
            CHECK(chunks == an_parallel_workers(n, threads[b], 3));
            CHECK(chunks >= 1 && chunks <= AN_MAX_THREADS);
            for (size_t i = 0; i < n; i++)
                CHECK(hits[i] == 1);
            for (size_t c = 0; c < chunks; c++) {
                CHECK(use[c] == 1);
                CHECK(begin[c] == n * c / chunks); /* the documented cut */
            }
            free(hits);
        }
}

/* ---- reuse ---- */

static void nothing(void *ctx, size_t begin, size_t end, size_t worker)
{
    (void)ctx, (void)begin, (void)end, (void)worker;
}

static void test_pool_is_reused(void)
{
    an_threads_shutdown();
    CHECK(an_threads_pool_size() == 0);
    an_parallel_for(100, 1, 1, nothing, NULL);
    CHECK(an_threads_pool_size() == 0); /* one thread: no pool */
    an_parallel_for(100, 4, 1, nothing, NULL);
    CHECK(an_threads_pool_size() == 3); /* the caller is the fourth */
    for (int i = 0; i < 200; i++)
        an_parallel_for(100, 4, 1, nothing, NULL);
    CHECK(an_threads_pool_size() == 3); /* none started again */
    an_parallel_for(100, 2, 1, nothing, NULL);
    CHECK(an_threads_pool_size() == 3);
    an_parallel_for(100, 6, 1, nothing, NULL);
    CHECK(an_threads_pool_size() == 5); /* grows to the largest asked for */
    anoma_shutdown();
    CHECK(an_threads_pool_size() == 0);
    an_parallel_for(100, 3, 1, nothing, NULL);
    CHECK(an_threads_pool_size() == 2); /* starts again after a shutdown */
}

/* ---- nested loops ---- */

static void inner(void *ctx, size_t begin, size_t end, size_t worker)
{
    (void)worker;
    _Atomic long *sum = ctx;
    for (size_t i = begin; i < end; i++)
        atomic_fetch_add(sum, (long)i);
}

static void outer(void *ctx, size_t begin, size_t end, size_t worker)
{
    (void)worker;
    for (size_t i = begin; i < end; i++)
        an_parallel_for(1000, 4, 10, inner, ctx);
}

static void test_nested_loops_finish(void)
{
    _Atomic long sum = 0;
    an_parallel_for(16, 4, 1, outer, &sum);
    CHECK(sum == 16L * 999 * 1000 / 2);
}

/* ---- host threads sharing one model ---- */

enum { ROWS = 30000, COLS = 6, HOSTS = 8, ROUNDS = 4 };
static double x[ROWS * COLS];
static double reference[ROWS];

typedef struct host {
    const anoma_model *model;
    int mismatches;
    anoma_status status;
} host;

static void *host_main(void *arg)
{
    host *h = arg;
    double *scores = malloc(ROWS * sizeof *scores);
    anoma_matrix m = anoma_matrix_f64(x, ROWS, COLS);
    for (int r = 0; r < ROUNDS && h->status == ANOMA_OK; r++) {
        h->status = anoma_model_score(h->model, &m, scores);
        h->mismatches += memcmp(scores, reference, sizeof reference) != 0;
        /* small batches too: under the size that shares out, and just above */
        anoma_matrix small = anoma_matrix_f64(x + 1000 * COLS, 300, COLS);
        if (h->status == ANOMA_OK)
            h->status = anoma_model_score(h->model, &small, scores);
        h->mismatches += memcmp(scores, reference + 1000, 300 * sizeof *scores) != 0;
    }
    free(scores);
    return NULL;
}

static anoma_model *forest(size_t n_threads)
{
    anoma_model *m = NULL;
    CHECK_OK(anoma_model_create("threshold=0.6", &m));
    CHECK_OK(anoma_model_add_detector(m, "iforest", "n_trees=60 seed=11", NULL));
    anoma_matrix xm = anoma_matrix_f64(x, ROWS, COLS);
    CHECK_OK(anoma_model_set_n_threads(m, 1));
    CHECK_OK(anoma_model_fit(m, &xm, NULL, NULL));
    CHECK_OK(anoma_model_set_n_threads(m, n_threads));
    return m;
}

/* 8 host threads at once, each splitting its batches across the pool, get
 * the scores one thread gets; optionally while another thread keeps
 * shutting the pool down. */
static void run_hosts(int with_shutdowns)
{
    anoma_model *one = forest(1), *many = forest(3), *all = forest(0);
    anoma_matrix xm = anoma_matrix_f64(x, ROWS, COLS);
    CHECK_OK(anoma_model_score(one, &xm, reference));
    host hosts[HOSTS];
    pthread_t ids[HOSTS];
    for (int i = 0; i < HOSTS; i++) {
        hosts[i] = (host){i % 2 ? many : all, 0, ANOMA_OK};
        CHECK(pthread_create(&ids[i], NULL, host_main, &hosts[i]) == 0);
    }
    for (int i = 0; with_shutdowns && i < 50; i++) {
        anoma_shutdown();
        usleep(200);
    }
    for (int i = 0; i < HOSTS; i++) {
        pthread_join(ids[i], NULL);
        CHECK_OK(hosts[i].status);
        CHECK(hosts[i].mismatches == 0);
    }
    anoma_model_free(one);
    anoma_model_free(many);
    anoma_model_free(all);
}

static void test_eight_host_threads(void) { run_hosts(0); }

static void test_shutdown_during_work(void) { run_hosts(1); }

/* ---- a host thread's own thread count ---- */

typedef struct scorer_thread {
    const anoma_model *model;
    size_t pool_after;
    int same;
} scorer_thread;

static void *score_once(void *arg)
{
    scorer_thread *t = arg;
    double *scores = malloc(ROWS * sizeof *scores);
    anoma_matrix m = anoma_matrix_f64(x, ROWS, COLS);
    t->same = anoma_model_score(t->model, &m, scores) == ANOMA_OK &&
              !memcmp(scores, reference, sizeof reference);
    t->pool_after = an_threads_pool_size();
    free(scores);
    return NULL;
}

/* anoma_thread_set_n_threads: the calling thread's count wins over the
 * model's (a pool of 3 workers for 4 threads, none for 1), another host
 * thread keeps the model's, and a refused count changes nothing. */
static void test_own_thread_count(void)
{
    anoma_model *one = forest(1), *all = forest(0);
    anoma_matrix xm = anoma_matrix_f64(x, ROWS, COLS);
    double *scores = malloc(ROWS * sizeof *scores);
    CHECK_OK(anoma_model_score(one, &xm, reference));
    anoma_shutdown();
    CHECK_OK(anoma_thread_set_n_threads(4));
    CHECK_OK(anoma_model_score(one, &xm, scores));
    CHECK(an_threads_pool_size() == 3 && !memcmp(scores, reference, sizeof reference));
    CHECK_STATUS(anoma_thread_set_n_threads(1025), ANOMA_ERR_PARAM_VALUE);
    CHECK(strstr(anoma_last_error(), "n_threads=1025") != NULL);
    CHECK(an_calling_thread_n_threads(1) == 4);

    anoma_shutdown();
    scorer_thread other = {one, 99, 0};
    pthread_t id;
    CHECK(pthread_create(&id, NULL, score_once, &other) == 0);
    pthread_join(id, NULL);
    CHECK(other.same && other.pool_after == 0); /* the model's 1: no pool */

    CHECK_OK(anoma_thread_set_n_threads(1));
    CHECK_OK(anoma_model_score(all, &xm, scores));
    CHECK(an_threads_pool_size() == 0 && !memcmp(scores, reference, sizeof reference));
    CHECK_OK(anoma_thread_set_n_threads(ANOMA_N_THREADS_OF_MODEL));
    CHECK_OK(anoma_model_score(one, &xm, scores));
    CHECK(an_threads_pool_size() == 0);
    free(scores);
    anoma_model_free(one);
    anoma_model_free(all);
}

/* ---- fork ---- */

static void test_fork_child_has_a_fresh_pool(void)
{
    an_parallel_for(100, 4, 1, nothing, NULL); /* the parent has workers */
    CHECK(an_threads_pool_size() >= 3);
    pid_t pid = fork();
    if (pid == 0) {
        int ok = an_threads_pool_size() == 0;
        _Atomic long sum = 0;
        an_parallel_for(1000, 4, 10, inner, &sum);
        ok = ok && sum == 999L * 1000 / 2 && an_threads_pool_size() == 3;
        _exit(ok ? 0 : 1);
    }
    CHECK(pid > 0);
    int status = 0;
    CHECK(waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

int main(void)
{
    test_fill(x, ROWS * COLS, 99u, 100000, 1000.0);
    RUN(test_chunks_fixed);
    RUN(test_pool_is_reused);
    RUN(test_nested_loops_finish);
    RUN(test_eight_host_threads);
    RUN(test_shutdown_during_work);
    RUN(test_own_thread_count);
    RUN(test_fork_child_has_a_fresh_pool);
    return test_summary();
}
