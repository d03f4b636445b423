/* progress_cost: what a progress callback costs. Reporting cuts fitting
 * and scoring into about a hundred batches, each a parallel loop of its
 * own, so that the callback runs on the caller's thread; this measures
 * that against the same calls without a callback, in one run:
 *
 *     cc -O2 bench/progress_cost.c -Iinclude -Lbuild/lib -lanoma -o /tmp/progress_cost
 *     LD_LIBRARY_PATH=build/lib /tmp/progress_cost [threads]
 *
 * An isolation forest (200 trees of 256 samples) is fitted, and 400000 x 8
 * rows are scored by it and by zscore; each case alternates the two
 * variants run by run (so both see the same machine load) and prints the
 * median milliseconds and their ratio (with / without: 1 = free). */
#define _GNU_SOURCE
#include <anoma/anoma.h>

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

enum { ROWS = 400000, COLS = 8, RUNS = 15 };

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return 1e3 * (double)t.tv_sec + 1e-6 * (double)t.tv_nsec;
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, size_t n)
{
    qsort(v, n, sizeof *v, by_value);
    return v[n / 2];
}

static int listen(void *user, anoma_stage stage, uint64_t done, uint64_t total)
{
    (void)stage;
    *(uint64_t *)user += total - done; /* something the compiler keeps */
    return 0;
}

static uint64_t sink;

static anoma_model *model(const char *detector, const char *params, size_t threads, int report)
{
    anoma_model *m = NULL;
    if (anoma_model_create("threshold=1", &m) != ANOMA_OK ||
        anoma_model_add_detector(m, detector, params, NULL) != ANOMA_OK ||
        anoma_model_set_n_threads(m, threads) != ANOMA_OK ||
        anoma_model_set_progress(m, report ? listen : NULL, &sink) != ANOMA_OK) {
        fprintf(stderr, "%s\n", anoma_last_error());
        exit(1);
    }
    return m;
}

static double time_fit(const anoma_matrix *x, size_t threads, int report)
{
    anoma_model *m = model("iforest", "n_trees=200 max_samples=256 seed=1", threads, report);
    double t0 = now_ms();
    if (anoma_model_fit(m, x, NULL, NULL) != ANOMA_OK)
        exit(1);
    double ms = now_ms() - t0;
    anoma_model_free(m);
    return ms;
}

static double time_score(anoma_model *m, const anoma_matrix *x, double *scores, int report)
{
    anoma_model_set_progress(m, report ? listen : NULL, &sink);
    double t0 = now_ms();
    if (anoma_model_score(m, x, scores) != ANOMA_OK)
        exit(1);
    return now_ms() - t0;
}

static void print(const char *what, double *with, double *without)
{
    double a = median(with, RUNS), b = median(without, RUNS);
    printf("| %-22s | %10.2f | %10.2f | %5.3f |\n", what, b, a, a / b);
}

int main(int argc, char **argv)
{
    size_t threads = argc > 1 ? (size_t)atoi(argv[1]) : 0;
    double *x = malloc(sizeof(double) * ROWS * COLS), *scores = malloc(sizeof(double) * ROWS);
    srand(7);
    for (size_t i = 0; i < (size_t)ROWS * COLS; i++)
        x[i] = (double)rand() / RAND_MAX;
    anoma_matrix m = anoma_matrix_f64(x, ROWS, COLS);
    double with[RUNS], without[RUNS];
    printf("threads: %zu (0 = all cores); median ms of %d runs\n\n", threads, RUNS);
    printf("| %-22s | %10s | %10s | %5s |\n|---|---|---|---|\n", "call", "no callback",
           "callback", "ratio");
    for (int r = 0; r < RUNS; r++) {
        without[r] = time_fit(&m, threads, 0);
        with[r] = time_fit(&m, threads, 1);
    }
    print("iforest fit, 200 trees", with, without);
    const char *detectors[][2] = {{"iforest", "n_trees=100 seed=1"}, {"zscore", ""}};
    for (size_t k = 0; k < 2; k++) {
        anoma_model *fitted = model(detectors[k][0], detectors[k][1], threads, 0);
        if (anoma_model_fit(fitted, &m, NULL, NULL) != ANOMA_OK)
            exit(1);
        for (int r = 0; r < RUNS; r++) {
            without[r] = time_score(fitted, &m, scores, 0);
            with[r] = time_score(fitted, &m, scores, 1);
        }
        char what[64];
        snprintf(what, sizeof what, "%s score, %d rows", detectors[k][0], ROWS);
        print(what, with, without);
        anoma_model_free(fitted);
    }
    free(x);
    free(scores);
    return sink == 42; /* keeps the callback's work */
}
