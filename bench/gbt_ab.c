/* gbt_ab: batch scoring of saved gbt models through two builds of
 * libanoma, in one process, alternating call by call, so that both see the
 * same machine load (a before/after comparison on a busy machine). For each
 * model, the best CPU time per row of each build (the process's, every
 * thread), their ratio A/B (> 1: B faster), the best wall times, and
 * whether the two builds gave the same scores bit for bit.
 *
 *     /usr/bin/python3 bench/gbt.py --batch --save /tmp/gbt   # NAME.anoma, NAME.f64
 *     cc -O2 bench/gbt_ab.c -Iinclude -ldl -o /tmp/gbt_ab
 *     /tmp/gbt_ab BEFORE.so AFTER.so SECONDS THREADS /tmp/gbt/shuttle 9 /tmp/gbt/cardio 21 ...
 *
 * Each model runs for SECONDS; NAME.f64 holds its rows (COLS doubles each,
 * native byte order). THREADS "row" times the single-row path instead:
 * the first ROW_PASS rows scored one call at a time through a row scorer
 * (anoma_row_scorer_score), a pass of each build in turn, the thread's
 * CPU time. */
#define _GNU_SOURCE
#include <anoma/anoma.h>
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double clock_of(clockid_t c)
{
    struct timespec t;
    clock_gettime(c, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

typedef struct build {
    anoma_status (*load)(const char *, anoma_model **);
    anoma_status (*set_n_threads)(anoma_model *, size_t);
    anoma_status (*score)(const anoma_model *, size_t, const anoma_matrix *, double *);
    anoma_status (*row_scorer)(const anoma_model *, anoma_row_scorer **);
    anoma_status (*score_row)(anoma_row_scorer *, const double *, size_t, double *, int *);
} build;

/* Rows a single-row pass scores. */
enum { ROW_PASS = 1000 };

/* Score rows x rows one call at a time through r into s. */
static anoma_status score_rows(const build *b, anoma_row_scorer *r, const double *x, size_t rows,
                               size_t cols, double *s)
{
    for (size_t i = 0; i < rows; i++) {
        int flag;
        anoma_status st = b->score_row(r, x + i * cols, cols, &s[i], &flag);
        if (st != ANOMA_OK)
            return st;
    }
    return ANOMA_OK;
}

int main(int argc, char **argv)
{
    if (argc < 7 || (argc - 5) % 2) {
        fputs("usage: gbt_ab BEFORE.so AFTER.so SECONDS THREADS|row NAME COLS [NAME COLS...]\n",
              stderr);
        return 2;
    }
    build lib[2];
    for (int j = 0; j < 2; j++) {
        void *h = dlopen(argv[1 + j], RTLD_NOW | RTLD_LOCAL);
        if (!h) {
            fprintf(stderr, "gbt_ab: %s\n", dlerror());
            return 1;
        }
        *(void **)&lib[j].load = dlsym(h, "anoma_model_load");
        *(void **)&lib[j].set_n_threads = dlsym(h, "anoma_model_set_n_threads");
        *(void **)&lib[j].score = dlsym(h, "anoma_model_score_detector");
        *(void **)&lib[j].row_scorer = dlsym(h, "anoma_row_scorer_create");
        *(void **)&lib[j].score_row = dlsym(h, "anoma_row_scorer_score");
    }
    double seconds = atof(argv[3]);
    int single = strcmp(argv[4], "row") == 0;
    size_t threads = single ? 1 : strtoull(argv[4], NULL, 10);
    clockid_t cpu_clock = single ? CLOCK_THREAD_CPUTIME_ID : CLOCK_PROCESS_CPUTIME_ID;
    char how[64];
    snprintf(how, sizeof how, "%zu threads", threads);
    for (int a = 5; a < argc; a += 2) {
        size_t cols = strtoull(argv[a + 1], NULL, 10);
        char path[4096];
        snprintf(path, sizeof path, "%s.f64", argv[a]);
        FILE *f = fopen(path, "rb");
        if (!f || cols == 0 || fseek(f, 0, SEEK_END) != 0) {
            fprintf(stderr, "gbt_ab: cannot read %s\n", path);
            return 1;
        }
        size_t rows = (size_t)ftell(f) / sizeof(double) / cols;
        if (single && rows > ROW_PASS)
            rows = ROW_PASS;
        rewind(f);
        double *x = malloc(rows * cols * sizeof *x), *s[2] = {malloc(rows * sizeof(double)),
                                                             malloc(rows * sizeof(double))};
        if (!x || !s[0] || !s[1] || rows == 0 || fread(x, sizeof *x, rows * cols, f) != rows * cols) {
            fprintf(stderr, "gbt_ab: cannot read %zu x %zu doubles from %s\n", rows, cols, path);
            return 1;
        }
        fclose(f);
        snprintf(path, sizeof path, "%s.anoma", argv[a]);
        anoma_model *m[2];
        anoma_row_scorer *r[2] = {NULL, NULL};
        for (int j = 0; j < 2; j++)
            if (lib[j].load(path, &m[j]) != ANOMA_OK || lib[j].set_n_threads(m[j], threads) ||
                (single && lib[j].row_scorer(m[j], &r[j]) != ANOMA_OK)) {
                fprintf(stderr, "gbt_ab: cannot load %s\n", path);
                return 1;
            }
        anoma_matrix mx = anoma_matrix_f64(x, rows, cols);
        double cpu[2] = {1e300, 1e300}, wall[2] = {1e300, 1e300};
        for (double start = clock_of(CLOCK_MONOTONIC); clock_of(CLOCK_MONOTONIC) - start < seconds;)
            for (int j = 0; j < 2; j++) {
                double w = clock_of(CLOCK_MONOTONIC), c = clock_of(cpu_clock);
                if ((single ? score_rows(&lib[j], r[j], x, rows, cols, s[j])
                            : lib[j].score(m[j], 0, &mx, s[j])) != ANOMA_OK) {
                    fprintf(stderr, "gbt_ab: scoring %s failed\n", path);
                    return 1;
                }
                c = clock_of(cpu_clock) - c;
                w = clock_of(CLOCK_MONOTONIC) - w;
                cpu[j] = c < cpu[j] ? c : cpu[j];
                wall[j] = w < wall[j] ? w : wall[j];
            }
        printf("%s, %zu rows, %s: CPU us/row A %.4f B %.4f, A/B %.2fx; wall A %.4f B %.4f;"
               " scores %s\n", argv[a], rows, single ? "one at a time" : how,
               cpu[0] / rows * 1e6, cpu[1] / rows * 1e6,
               cpu[0] / cpu[1], wall[0] / rows * 1e6, wall[1] / rows * 1e6,
               memcmp(s[0], s[1], rows * sizeof(double)) ? "DIFFER" : "bit for bit equal");
        for (int j = 0; j < 2; j++)
            free(s[j]);
        free(x);
    }
    return 0;
}
