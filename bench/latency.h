/* latency.h: the timing harness the single-row latency timers share
 * (row_latency.c, pipeline_latency.c): a monotonic clock, the failure
 * message, and the best of REPEATS runs of CALLS calls. Header-only, so each
 * timer stays one file to compile. */
#ifndef BENCH_LATENCY_H
#define BENCH_LATENCY_H

#define _POSIX_C_SOURCE 199309L
#include <anoma/anoma.h>

#include <stdio.h>
#include <time.h>

static double latency_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Print what failed with the library's message; the exit status. */
static int latency_fail(const char *program, const char *what)
{
    fprintf(stderr, "%s: %s: %s\n", program, what, anoma_last_error());
    return 1;
}

/* One timed call: score one row of n values into *score. */
typedef anoma_status (*latency_call)(anoma_row_scorer *scorer, const void *row, size_t n,
                                     double *score);

/* Time `repeats` runs of `calls` calls, cycling through `n_rows` rows of
 * `n` values of `value_bytes` each, and print the best run as
 * "NS_PER_ROW CHECKSUM" (the sum of its scores: used, so the calls cannot
 * be optimised away). Returns the exit status. */
static int latency_report(const char *program, anoma_row_scorer *scorer, const void *rows,
                          size_t n_rows, size_t n, size_t value_bytes, long calls, long repeats,
                          latency_call call)
{
    double best = 1e300, checksum = 0;
    for (long r = 0; r < repeats; r++) {
        size_t i = 0;
        double sum = 0, t = latency_now();
        for (long c = 0; c < calls; c++) {
            double score;
            if (call(scorer, (const char *)rows + i * n * value_bytes, n, &score) != ANOMA_OK)
                return latency_fail(program, "score");
            sum += score;
            if (++i == n_rows)
                i = 0;
        }
        t = latency_now() - t;
        best = t < best ? t : best;
        checksum = sum;
    }
    printf("%.2f %.17g\n", 1e9 * best / (double)calls, checksum);
    return 0;
}

#endif
