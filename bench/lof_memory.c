/* lof_memory: where LOF's memory peaks, counted at the library's own
 * allocator (anoma_set_allocator), so the numbers are the library's bytes
 * alone, with no Python, no BLAS buffers and no malloc retention in them:
 * the peak of live bytes during fit, what the fitted model holds, and the
 * peak during the scoring of 2000 new rows (novelty mode), for ROWS x COLS
 * standard-normal doubles (the values do not change the sizes). The
 * training matrix itself is the caller's and not counted. Build it against
 * the public library and run it once per parameter set:
 *
 *     cc -O2 -Iinclude bench/lof_memory.c -Lbuild-bench/lib -lanoma -lm -o /tmp/lofmem
 *     LD_LIBRARY_PATH=build-bench/lib OPENBLAS_NUM_THREADS=1 \
 *         /tmp/lofmem 20000 100 "n_neighbors=20 rows=copy"
 *
 * Prints one line: params, fit peak MiB, model MiB, score peak MiB, the
 * fit's CPU seconds (one run: alternate builds for an A/B) and its
 * allocations (calls to the allocator, reallocations included). */
#include "anoma/anoma.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double cpu_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Each block carries its size in a header, so live bytes are exact. */
typedef struct counter {
    size_t live, peak;
    size_t calls; /* allocations and reallocations */
} counter;

enum { HEADER = 16 };

static void *count_malloc(void *user, size_t size)
{
    counter *c = user;
    unsigned char *p = malloc(size + HEADER);
    if (!p)
        return NULL;
    c->calls++;
    memcpy(p, &size, sizeof size);
    c->live += size;
    if (c->live > c->peak)
        c->peak = c->live;
    return p + HEADER;
}

static void count_free(void *user, void *ptr)
{
    counter *c = user;
    if (!ptr)
        return;
    unsigned char *p = (unsigned char *)ptr - HEADER;
    size_t size;
    memcpy(&size, p, sizeof size);
    c->live -= size;
    free(p);
}

static void *count_realloc(void *user, void *ptr, size_t size)
{
    if (!ptr)
        return count_malloc(user, size);
    counter *c = user;
    unsigned char *p = (unsigned char *)ptr - HEADER;
    size_t old;
    memcpy(&old, p, sizeof old);
    unsigned char *q = realloc(p, size + HEADER);
    if (!q)
        return NULL;
    c->calls++;
    memcpy(q, &size, sizeof size);
    c->live = c->live - old + size;
    if (c->live > c->peak)
        c->peak = c->live;
    return q + HEADER;
}

static double normal(unsigned long long *state)
{
    double u[2];
    for (int i = 0; i < 2; i++) {
        *state = *state * 6364136223846793005ULL + 1442695040888963407ULL;
        u[i] = ((double)(*state >> 11) + 0.5) / 9007199254740992.0;
    }
    return sqrt(-2 * log(u[0])) * cos(6.283185307179586 * u[1]);
}

static const double MIB = 1024.0 * 1024.0;

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: %s ROWS COLS \"lof params\"\n", argv[0]);
        return 2;
    }
    size_t n = strtoul(argv[1], NULL, 10), d = strtoul(argv[2], NULL, 10), q = 2000;
    counter c = {0, 0, 0};
    anoma_allocator a = {count_malloc, count_realloc, count_free, &c};
    if (anoma_set_allocator(&a) != ANOMA_OK)
        return 1;
    double *x = malloc(n * d * sizeof *x), *y = malloc(q * d * sizeof *y);
    double *scores = malloc(q * sizeof *scores);
    if (!x || !y || !scores)
        return 1;
    unsigned long long state = 1;
    for (size_t i = 0; i < n * d; i++)
        x[i] = normal(&state);
    for (size_t i = 0; i < q * d; i++)
        y[i] = normal(&state);
    anoma_model *m = NULL;
    anoma_matrix mx = {x, n, d, d, ANOMA_F64}, my = {y, q, d, d, ANOMA_F64};
    if (anoma_model_create("contamination=auto n_threads=1", &m) != ANOMA_OK ||
        anoma_model_add_detector(m, "lof", argv[3], NULL) != ANOMA_OK)
        return 1;
    size_t before = c.live, calls_before = c.calls;
    c.peak = c.live;
    double t0 = cpu_seconds();
    if (anoma_model_fit(m, &mx, NULL, NULL) != ANOMA_OK) {
        fprintf(stderr, "fit: %s\n", anoma_last_error());
        return 1;
    }
    double fit_cpu = cpu_seconds() - t0;
    size_t fit_peak = c.peak - before, held = c.live - before, fit_calls = c.calls - calls_before;
    c.peak = c.live;
    anoma_status st = anoma_model_score(m, &my, scores);
    if (st != ANOMA_OK && st != ANOMA_ERR_UNSUPPORTED) { /* keep_rows=false refuses: no rows */
        fprintf(stderr, "score: %s\n", anoma_last_error());
        return 1;
    }
    size_t score_peak = st == ANOMA_OK ? c.peak - before : 0;
    printf("%zux%zu \"%s\": fit peak %.2f MiB, model holds %.2f MiB, score peak %.2f MiB, "
           "fit %.3f CPU s, %zu allocations (library allocations; the caller's matrix, %.2f MiB, "
           "not counted)\n",
           n, d, argv[3], fit_peak / MIB, held / MIB, score_peak / MIB, fit_cpu, fit_calls,
           n * d * 8 / MIB);
    anoma_model_free(m);
    free(x);
    free(y);
    free(scores);
    return 0;
}
