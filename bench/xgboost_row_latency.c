/* xgboost_row_latency: XGBoost's own single-row latency through its C API
 * (libxgboost-dev), for bench/gbt.py to set against libanoma's row scorer.
 *
 * usage: xgboost_row_latency MODEL.json DATA.f32 ROWS COLS CALLS REPEATS
 *
 * DATA.f32 holds ROWS x COLS float32 values, row-major (numpy's tofile()).
 * Each call is XGBoosterPredictFromDense on one row (XGBoost's fastest
 * in-place path: no DMatrix), its array-interface text prepared once per
 * row beforehand, so only XGBoost's own work is timed. The best repeat is
 * printed as "NS_PER_ROW CHECKSUM". */
#define _POSIX_C_SOURCE 199309L
#include <xgboost/c_api.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

int main(int argc, char **argv)
{
    if (argc < 7) {
        fputs("usage: xgboost_row_latency MODEL.json DATA.f32 ROWS COLS CALLS REPEATS\n", stderr);
        return 2;
    }
    size_t rows = strtoull(argv[3], NULL, 10), cols = strtoull(argv[4], NULL, 10);
    long calls = atol(argv[5]), repeats = atol(argv[6]);
    float *x = malloc(rows * cols * sizeof *x);
    char(*iface)[256] = malloc(rows * sizeof *iface);
    FILE *f = fopen(argv[2], "rb");
    if (!x || !iface || !f || fread(x, sizeof *x, rows * cols, f) != rows * cols) {
        fprintf(stderr, "xgboost_row_latency: cannot read %s\n", argv[2]);
        return 1;
    }
    fclose(f);
    for (size_t i = 0; i < rows; i++)
        snprintf(iface[i], sizeof iface[i],
                 "{\"data\": [%llu, true], \"shape\": [1, %zu], \"typestr\": \"<f4\", "
                 "\"version\": 3}",
                 (unsigned long long)(uintptr_t)(x + i * cols), cols);
    const char *config = "{\"type\": 0, \"training\": false, \"iteration_begin\": 0, "
                         "\"iteration_end\": 0, \"strict_shape\": false, \"missing\": NaN, "
                         "\"cache_id\": 0}";
    BoosterHandle h;
    if (XGBoosterCreate(NULL, 0, &h) || XGBoosterLoadModel(h, argv[1]) ||
        XGBoosterSetParam(h, "nthread", "1")) {
        fprintf(stderr, "xgboost_row_latency: %s\n", XGBGetLastError());
        return 1;
    }
    double best = 1e300, checksum = 0;
    for (long r = 0; r < repeats; r++) {
        double sum = 0, t = now();
        for (long c = 0; c < calls; c++) {
            const bst_ulong *shape;
            bst_ulong dim;
            const float *out;
            if (XGBoosterPredictFromDense(h, iface[(size_t)c % rows], config, NULL, &shape, &dim,
                                          &out)) {
                fprintf(stderr, "xgboost_row_latency: %s\n", XGBGetLastError());
                return 1;
            }
            sum += out[0];
        }
        t = now() - t;
        if (t < best) {
            best = t;
            checksum = sum;
        }
    }
    printf("%.1f %.17g\n", best / (double)calls * 1e9, checksum);
    XGBoosterFree(h);
    free(x);
    free(iface);
    return 0;
}
