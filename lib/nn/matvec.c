/* The recurrent product of one sequence: y = W x for W [rows, cols], the
 * step a recurrent layer repeats at batch 1 (h W_hh^T, every gate at once).
 *
 * At batch 1 each step reads all of W_hh ([4H x H] floats, 256 KB per LSTM
 * layer at H = 128) to do one multiply-add per value, so the step is bound
 * by how the matrix streams through the caches, and OpenBLAS's sgemv on
 * this shape spent more per call than the reading. Here W is repacked once,
 * when the network is loaded (an_nn_pack), in the order the kernel reads
 * it: blocks of 64 rows, each stored column after column (64 consecutive
 * floats per column, rows padded with zeros to a multiple of 8). A block
 * keeps its 64 sums in eight vector registers while one pass reads its
 * columns front to back, each value of x broadcast once per block. Profile
 * and timings: docs/detectors/seq_autoencoder.md, "Speed".
 *
 * The AVX2 clone (chosen at run time) fuses each multiply-add, as
 * OpenBLAS's kernels do; sums are added column by column. Results agree
 * with PyTorch's to the tests' 1e-5 either way; the last bits may differ
 * between processors, as they did with OpenBLAS. */
#include "nn/nn.h"

#include <string.h>

enum { LANES = 8, BLOCK = 64 };

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define CLONES __attribute__((optimize("fp-contract=fast"), target_clones("arch=x86-64-v3", "default")))
#else
#define CLONES
#endif

typedef float v8f __attribute__((vector_size(32)));
typedef float v8f_u __attribute__((vector_size(32), aligned(4)));

#define LOAD(p) (*(const v8f_u *)(p))
#define STORE(p, v) (*(v8f_u *)(p) = (v))

static size_t padded_rows(size_t rows) { return (rows + LANES - 1) / LANES * LANES; }

size_t an_nn_packed_floats(size_t rows, size_t cols) { return padded_rows(rows) * cols; }

void an_nn_pack(const float *w, size_t rows, size_t cols, float *packed)
{
    size_t padded = padded_rows(rows);
    for (size_t r0 = 0; r0 < padded; r0 += BLOCK) {
        size_t width = padded - r0 < BLOCK ? padded - r0 : BLOCK;
        float *p = packed + r0 * cols;
        for (size_t k = 0; k < cols; k++)
            for (size_t i = 0; i < width; i++)
                p[k * width + i] = r0 + i < rows ? w[(r0 + i) * cols + k] : 0.0f;
    }
}

CLONES
void an_nn_matvec(const float *packed, size_t rows, size_t cols, const float *x, float *y)
{
    size_t padded = padded_rows(rows);
    float part[BLOCK];
    for (size_t r0 = 0; r0 < padded; r0 += BLOCK) {
        size_t width = padded - r0 < BLOCK ? padded - r0 : BLOCK;
        const float *p = packed + r0 * cols;
        if (width == BLOCK) {
            v8f a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0}, a4 = {0}, a5 = {0}, a6 = {0}, a7 = {0};
            for (size_t k = 0; k < cols; k++, p += BLOCK) {
                float xk = x[k];
                a0 += xk * LOAD(p);
                a1 += xk * LOAD(p + 8);
                a2 += xk * LOAD(p + 16);
                a3 += xk * LOAD(p + 24);
                a4 += xk * LOAD(p + 32);
                a5 += xk * LOAD(p + 40);
                a6 += xk * LOAD(p + 48);
                a7 += xk * LOAD(p + 56);
            }
            STORE(part, a0);
            STORE(part + 8, a1);
            STORE(part + 16, a2);
            STORE(part + 24, a3);
            STORE(part + 32, a4);
            STORE(part + 40, a5);
            STORE(part + 48, a6);
            STORE(part + 56, a7);
        } else { /* the last, narrower block: 8 rows at a time */
            for (size_t v = 0; v < width; v += LANES) {
                v8f a = {0};
                for (size_t k = 0; k < cols; k++)
                    a += x[k] * LOAD(p + k * width + v);
                STORE(part + v, a);
            }
        }
        memcpy(y + r0, part, (rows - r0 < width ? rows - r0 : width) * sizeof *y);
    }
}
