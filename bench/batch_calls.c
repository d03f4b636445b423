/* batch_calls: the cost of one anoma_model_score call on a small batch, on
 * one thread and on all cores, to see what sharing a batch out to threads
 * costs per call. Uses only the 0.1 API (the thread count given at model
 * creation), so the same file builds against an older library for a
 * before/after comparison in one run:
 *
 *     cc -O2 bench/batch_calls.c -Iinclude -Lbuild/lib -lanoma -o /tmp/batch_calls
 *     LD_LIBRARY_PATH=build/lib /tmp/batch_calls
 *
 * Fits an isolation forest (100 trees, 256 samples) and a zscore model on
 * 20000 x 10 uniform values, then for each batch size prints the median and
 * the minimum microseconds per call over many calls, alternating the
 * one-thread and all-cores models call by call so that both see the same
 * machine load. */
#define _GNU_SOURCE
#include <anoma/anoma.h>

#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

enum { ROWS = 20000, COLS = 10, CALLS = 2000 };

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static anoma_model *fit(const char *model_params, const char *detector, const char *params,
                        const double *x)
{
    anoma_model *m = NULL;
    anoma_matrix xm = anoma_matrix_f64(x, ROWS, COLS);
    if (anoma_model_create(model_params, &m) || anoma_model_add_detector(m, detector, params, NULL) ||
        anoma_model_fit(m, &xm, NULL, NULL)) {
        fprintf(stderr, "batch_calls: %s\n", anoma_last_error());
        exit(1);
    }
    return m;
}

int main(void)
{
    double *x = malloc(ROWS * COLS * sizeof *x), *scores = malloc(ROWS * sizeof *scores);
    double *t1 = malloc(CALLS * sizeof *t1), *tn = malloc(CALLS * sizeof *tn);
    unsigned s = 1;
    for (size_t i = 0; i < ROWS * COLS; i++) {
        s = s * 1103515245u + 12345u;
        x[i] = (double)(s >> 8) / 16777216.0;
    }
    static const char *const detectors[][2] = {{"iforest", "n_trees=100 max_samples=256 seed=0"},
                                               {"zscore", ""}};
    static const size_t sizes[] = {100, 300, 1000, 3000, 10000};
    printf("libanoma %s, %zu cores\n", anoma_version(), (size_t)sysconf(_SC_NPROCESSORS_ONLN));
    printf("| detector | rows | 1 thread us (median / min) | all cores us (median / min) |\n");
    printf("|---|---:|---:|---:|\n");
    for (size_t d = 0; d < 2; d++) {
        anoma_model *one = fit("threshold=0 n_threads=1", detectors[d][0], detectors[d][1], x);
        anoma_model *all = fit("threshold=0 n_threads=0", detectors[d][0], detectors[d][1], x);
        for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++) {
            anoma_matrix b = anoma_matrix_f64(x, sizes[k], COLS);
            for (int c = 0; c < CALLS; c++) {
                const double *src = x + (size_t)(c % 8) * 1000 * COLS; /* rows move a little */
                b.data = src;
                double t = now();
                anoma_model_score(one, &b, scores);
                t1[c] = now() - t;
                t = now();
                anoma_model_score(all, &b, scores);
                tn[c] = now() - t;
            }
            qsort(t1, CALLS, sizeof *t1, by_value);
            qsort(tn, CALLS, sizeof *tn, by_value);
            printf("| %s | %zu | %.1f / %.1f | %.1f / %.1f |\n", detectors[d][0], sizes[k],
                   1e6 * t1[CALLS / 2], 1e6 * t1[0], 1e6 * tn[CALLS / 2], 1e6 * tn[0]);
        }
        anoma_model_free(one);
        anoma_model_free(all);
    }
    free(x);
    free(scores);
    free(t1);
    free(tn);
    return 0;
}
