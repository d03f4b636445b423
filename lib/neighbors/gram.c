/* The brute filter's block product, gram = q x^T in single precision
 * (brute.c says what the values mean and why floats).
 *
 * OpenBLAS picks its kernels when it loads, by processor model; on a
 * processor it does not recognise (a virtual machine's generic "Xeon", for
 * one) it falls back to its Prescott kernels, SSE3 without fused
 * multiply-adds, a quarter of what an AVX2 core does per cycle. So where
 * the processor has AVX2 and FMA, the product is this register-blocked
 * kernel instead: 6 query rows x 16 indexed rows of accumulators, the
 * indexed block packed 16 rows at a time, column by column, so that each
 * step is two vector loads, six broadcasts and twelve fused multiply-adds.
 * Elsewhere it is cblas_sgemm, as before.
 *
 * The values differ from sgemm's in their last bits (another summation
 * order, fused products), which the filter allows for: its bound on the
 * error of a float product of d + 1 terms holds for any order, fused or
 * not. The neighbours found do not depend on it: every survivor's distance
 * is recomputed exactly. */
#include "neighbors/knn.h"

#include <cblas.h>

#if defined(__GNUC__) && defined(__x86_64__)
#include <immintrin.h>
#define HAVE_AVX2_KERNEL 1
#endif

enum { MR = AN_GRAM_ROW_PAD, NR = 16, NR512 = 32 };

#ifdef HAVE_AVX2_KERNEL
/* pack: the `width` rows [j0, j0 + width) of x (ld floats each; rows past
 * cols are zeros) as ld groups of width floats, column p of each row in
 * group p. Plain C: both kernels share it. */
static void pack_panel(const float *x, size_t cols, size_t ld, size_t j0, size_t width,
                       float *pack)
{
    for (size_t jj = 0; jj < width; jj++) {
        size_t j = j0 + jj;
        for (size_t p = 0; p < ld; p++)
            pack[p * width + jj] = j < cols ? x[j * ld + p] : 0.0f;
    }
}

__attribute__((target("avx2,fma"))) static void gram_avx2(const float *q, size_t rows,
                                                         const float *x, size_t cols, size_t ld,
                                                         float *pack, float *out, size_t ldo)
{
    for (size_t j0 = 0; j0 < cols; j0 += NR) {
        pack_panel(x, cols, ld, j0, NR, pack);
        for (size_t r0 = 0; r0 < rows; r0 += MR) {
            const float *a = q + r0 * ld;
            __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00,
                   c21 = c00, c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
            for (size_t p = 0; p < ld; p++) {
                __m256 b0 = _mm256_loadu_ps(pack + p * NR), b1 = _mm256_loadu_ps(pack + p * NR + 8);
                __m256 t = _mm256_broadcast_ss(a + p);
                c00 = _mm256_fmadd_ps(t, b0, c00);
                c01 = _mm256_fmadd_ps(t, b1, c01);
                t = _mm256_broadcast_ss(a + ld + p);
                c10 = _mm256_fmadd_ps(t, b0, c10);
                c11 = _mm256_fmadd_ps(t, b1, c11);
                t = _mm256_broadcast_ss(a + 2 * ld + p);
                c20 = _mm256_fmadd_ps(t, b0, c20);
                c21 = _mm256_fmadd_ps(t, b1, c21);
                t = _mm256_broadcast_ss(a + 3 * ld + p);
                c30 = _mm256_fmadd_ps(t, b0, c30);
                c31 = _mm256_fmadd_ps(t, b1, c31);
                t = _mm256_broadcast_ss(a + 4 * ld + p);
                c40 = _mm256_fmadd_ps(t, b0, c40);
                c41 = _mm256_fmadd_ps(t, b1, c41);
                t = _mm256_broadcast_ss(a + 5 * ld + p);
                c50 = _mm256_fmadd_ps(t, b0, c50);
                c51 = _mm256_fmadd_ps(t, b1, c51);
            }
            float *o = out + r0 * ldo + j0;
            _mm256_storeu_ps(o, c00);
            _mm256_storeu_ps(o + 8, c01);
            _mm256_storeu_ps(o + ldo, c10);
            _mm256_storeu_ps(o + ldo + 8, c11);
            _mm256_storeu_ps(o + 2 * ldo, c20);
            _mm256_storeu_ps(o + 2 * ldo + 8, c21);
            _mm256_storeu_ps(o + 3 * ldo, c30);
            _mm256_storeu_ps(o + 3 * ldo + 8, c31);
            _mm256_storeu_ps(o + 4 * ldo, c40);
            _mm256_storeu_ps(o + 4 * ldo + 8, c41);
            _mm256_storeu_ps(o + 5 * ldo, c50);
            _mm256_storeu_ps(o + 5 * ldo + 8, c51);
        }
    }
}

/* The same with 512-bit vectors: 6 x 32 accumulators. */
__attribute__((target("avx512f"))) static void gram_avx512(const float *q, size_t rows,
                                                         const float *x, size_t cols, size_t ld,
                                                         float *pack, float *out, size_t ldo)
{
    for (size_t j0 = 0; j0 < cols; j0 += NR512) {
        pack_panel(x, cols, ld, j0, NR512, pack);
        for (size_t r0 = 0; r0 < rows; r0 += MR) {
            const float *a = q + r0 * ld;
            __m512 c00 = _mm512_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00,
                   c21 = c00, c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
            for (size_t p = 0; p < ld; p++) {
                __m512 b0 = _mm512_loadu_ps(pack + p * NR512), b1 = _mm512_loadu_ps(pack + p * NR512 + 16);
                __m512 t = _mm512_set1_ps(*(a + p));
                c00 = _mm512_fmadd_ps(t, b0, c00);
                c01 = _mm512_fmadd_ps(t, b1, c01);
                t = _mm512_set1_ps(*(a + ld + p));
                c10 = _mm512_fmadd_ps(t, b0, c10);
                c11 = _mm512_fmadd_ps(t, b1, c11);
                t = _mm512_set1_ps(*(a + 2 * ld + p));
                c20 = _mm512_fmadd_ps(t, b0, c20);
                c21 = _mm512_fmadd_ps(t, b1, c21);
                t = _mm512_set1_ps(*(a + 3 * ld + p));
                c30 = _mm512_fmadd_ps(t, b0, c30);
                c31 = _mm512_fmadd_ps(t, b1, c31);
                t = _mm512_set1_ps(*(a + 4 * ld + p));
                c40 = _mm512_fmadd_ps(t, b0, c40);
                c41 = _mm512_fmadd_ps(t, b1, c41);
                t = _mm512_set1_ps(*(a + 5 * ld + p));
                c50 = _mm512_fmadd_ps(t, b0, c50);
                c51 = _mm512_fmadd_ps(t, b1, c51);
            }
            float *o = out + r0 * ldo + j0;
            _mm512_storeu_ps(o, c00);
            _mm512_storeu_ps(o + 16, c01);
            _mm512_storeu_ps(o + ldo, c10);
            _mm512_storeu_ps(o + ldo + 16, c11);
            _mm512_storeu_ps(o + 2 * ldo, c20);
            _mm512_storeu_ps(o + 2 * ldo + 16, c21);
            _mm512_storeu_ps(o + 3 * ldo, c30);
            _mm512_storeu_ps(o + 3 * ldo + 16, c31);
            _mm512_storeu_ps(o + 4 * ldo, c40);
            _mm512_storeu_ps(o + 4 * ldo + 16, c41);
            _mm512_storeu_ps(o + 5 * ldo, c50);
            _mm512_storeu_ps(o + 5 * ldo + 16, c51);
        }
    }
}
#endif

int an_knn_gram_best(void)
{
#ifdef HAVE_AVX2_KERNEL
    /* libgcc fills in the processor model in a constructor, before any call */
    if (__builtin_cpu_supports("avx512f"))
        return AN_GRAM_AVX512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        return AN_GRAM_AVX2;
#endif
    return AN_GRAM_SGEMM;
}

void an_knn_gram_with(int kernel, const float *q, size_t rows, const float *x, size_t cols,
                      size_t ld, float *pack, float *out, size_t ldo)
{
#ifdef HAVE_AVX2_KERNEL
    if (kernel == AN_GRAM_AVX512) {
        gram_avx512(q, rows, x, cols, ld, pack, out, ldo);
        return;
    }
    if (kernel == AN_GRAM_AVX2) {
        gram_avx2(q, rows, x, cols, ld, pack, out, ldo);
        return;
    }
#endif
    (void)kernel;
    (void)pack;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)rows, (int)cols, (int)ld, 1.0f, q,
                (int)ld, x, (int)ld, 0.0f, out, (int)ldo);
}

void an_knn_gram(const float *q, size_t rows, const float *x, size_t cols, size_t ld,
                 float *pack, float *out, size_t ldo)
{
    an_knn_gram_with(an_knn_gram_best(), q, rows, x, cols, ld, pack, out, ldo);
}
