/* The brute filter's float block product (lib/neighbors/gram.c): every
 * kernel this processor can run (cblas_sgemm, AVX2, AVX-512) against a
 * double-precision product, within the error bound the filter assumes for
 * a float product of ld terms in any order, on shapes that leave partial
 * row groups and partial column panels. */
#include "testing.h"

#include "neighbors/knn.h"

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

static float uniform(uint64_t *state)
{
    *state = *state * 6364136223846793005u + 1442695040888963407u;
    return (float)((double)(*state >> 11) * 0x1p-53 * 2 - 1);
}

static size_t round_up(size_t v, size_t to) { return (v + to - 1) / to * to; }

static void check_shape(int kernel, size_t rows, size_t cols, size_t ld, uint64_t seed)
{
    size_t prow = round_up(rows, AN_GRAM_ROW_PAD), ldo = round_up(cols, AN_GRAM_COL_PAD);
    float *q = calloc(prow * ld, sizeof *q), *x = malloc(cols * ld * sizeof *x);
    float *pack = malloc(ld * AN_GRAM_COL_PAD * sizeof *pack), *out = malloc(prow * ldo * sizeof *out);
    CHECK(q && x && pack && out);
    for (size_t i = 0; i < rows * ld; i++)
        q[i] = uniform(&seed);
    for (size_t i = 0; i < cols * ld; i++)
        x[i] = uniform(&seed);
    an_knn_gram_with(kernel, q, rows, x, cols, ld, pack, out, ldo);
    size_t bad = 0;
    for (size_t r = 0; r < rows; r++)
        for (size_t j = 0; j < cols; j++) {
            double exact = 0, size = 0;
            for (size_t p = 0; p < ld; p++) {
                exact += (double)q[r * ld + p] * x[j * ld + p];
                size += fabs((double)q[r * ld + p] * x[j * ld + p]);
            }
            bad += !(fabs(out[r * ldo + j] - exact) <= (double)ld * FLT_EPSILON * size);
        }
    if (bad)
        test_fail(__FILE__, __LINE__, "kernel %d, %zu x %zu x %zu: %zu values off", kernel, rows,
                  cols, ld, bad);
    free(q);
    free(x);
    free(pack);
    free(out);
}

static void test_kernels(void)
{
    static const size_t rows[] = {1, 5, 6, 7, 256}, cols[] = {1, 31, 32, 33, 1024},
                        lds[] = {2, 11, 101};
    for (int kernel = AN_GRAM_SGEMM; kernel <= an_knn_gram_best(); kernel++)
        for (size_t a = 0; a < sizeof rows / sizeof *rows; a++)
            for (size_t b = 0; b < sizeof cols / sizeof *cols; b++)
                for (size_t c = 0; c < sizeof lds / sizeof *lds; c++)
                    check_shape(kernel, rows[a], cols[b], lds[c], 1 + a * 100 + b * 10 + c);
}

int main(void)
{
    RUN(test_kernels);
    return test_summary();
}
