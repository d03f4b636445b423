/* What the neighbour-search drivers (knn_self_query.c, knn_new_rows.c)
 * share: the process's CPU clock, a raw file of rows, and a hash of an
 * answer so that two builds can be checked for the same neighbours and
 * distances bit for bit. */
#ifndef BENCH_RAW_ROWS_H
#define BENCH_RAW_ROWS_H

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

/* The rows of a raw file (native float64, row-major, d a row): numpy's
 * X.astype("float64").tofile(FILE). NULL on any failure. */
static double *read_raw_rows(const char *path, size_t d, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    double *x = NULL;
    long bytes = fseek(f, 0, SEEK_END) == 0 ? ftell(f) : -1;
    rewind(f);
    if (bytes > 0 && d > 0) {
        *n = (size_t)bytes / sizeof(double) / d;
        x = malloc(*n * d * sizeof *x);
        if (x && fread(x, sizeof *x, *n * d, f) != *n * d) {
            free(x);
            x = NULL;
        }
    }
    fclose(f);
    return x;
}

static unsigned long long answer_hash(const double *dist, const size_t *index, size_t count)
{
    unsigned long long hash = 0;
    for (size_t i = 0; i < count; i++) {
        unsigned long long bits;
        memcpy(&bits, &dist[i], sizeof bits);
        hash = (hash * 1000003u + index[i]) ^ bits;
    }
    return hash;
}

#endif
