/* Kernel functions with libsvm's arithmetic, and scikit-learn's gamma rules.
 *
 * Training and scoring share an_ocsvm_kernel_of_dot, so a kernel value
 * depends only on a dot product and two squared norms. libsvm computes an
 * rbf entry of the training matrix as exp(-gamma (|a|^2 + |b|^2 - 2 a.b))
 * and rounds it to float32; doing the same, with dot products added in the
 * same order, gives the same float32 column entries, hence the same solver
 * steps. */
#include "detectors/ocsvm/ocsvm.h"
#include "core/alloc.h"
#include "core/error.h"
#include "core/stats.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

double an_ocsvm_dot(const double *a, const double *b, size_t n)
{
    double sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += a[i] * b[i];
    return sum;
}

anoma_status an_ocsvm_gamma_scale(const double *x, size_t rows, size_t cols, double *gamma)
{
    /* numpy's x.var(): the mean of the squared deviations from the mean,
     * both summed pairwise over the flattened array, so over a copy */
    size_t n = rows * cols;
    double *dev = AN_NEW_ARRAY(double, n);
    if (!dev)
        return an_no_memory();
    double mean = an_mean(x, n);
    for (size_t i = 0; i < n; i++) {
        double d = x[i] - mean;
        dev[i] = d * d;
    }
    double var = an_sum(dev, n) / (double)n;
    an_free(dev);
    *gamma = var != 0 ? 1.0 / ((double)cols * var) : 1.0;
    return ANOMA_OK;
}

/* exp(x) = 2^k exp(r), k = round(x / ln 2), r = x - k ln 2 in [-ln2/2, ln2/2]
 * (ln 2 in two parts, so that k ln2_hi is exact), exp(r) by its Taylor
 * series to degree 13 (the first term left out is below 4e-18 relative),
 * 2^k written into the exponent bits. No branch and no call, so the
 * compiler vectorises the loop (GCC only once told that a comparison may
 * not trap; clang assumes it). The reduction and the series are fused
 * multiply-adds: fma() rounds once by definition, so the x86-64-v3 clone
 * (AVX2 and FMA, chosen at run time) and the default one, where the C
 * library computes fma() without the instruction, give the same bits; the
 * same code serves every path, so a value does not depend on which path
 * computed it. Within 1 ulp of the C library's exp (measured on 4 million
 * values from -708 to 709; 0 below -708). Measured (values of one block of
 * 256, one core, CPU time): separate products and sums 2.3 ns a value,
 * fused 1.5 ns; earlier, 1029 support vectors of 10 features in batch
 * scoring: the C library's exp 8.8 us per row, this loop unfused on SSE2
 * 5.3 us, on AVX2 3.3 us. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
__attribute__((optimize("no-trapping-math", "fp-contract=off"),
               target_clones("arch=x86-64-v3", "default")))
#endif
void an_ocsvm_exp(double *v, size_t n)
{
    const double log2e = 1.4426950408889634, shifter = 6755399441055744.0; /* 1.5 * 2^52 */
    const double ln2_hi = 6.93147180369123816490e-01, ln2_lo = 1.90821492927058770002e-10;
    for (size_t i = 0; i < n; i++) {
        double x = v[i];
        double keep = x < -708.0 ? 0.0 : 1.0; /* below, exp(x) < 3.3e-308: 0 */
        x = x < -708.0 ? -708.0 : x > 709.0 ? 709.0 : x;
        double t = fma(x, log2e, shifter); /* shifter + k, k = round(x log2 e) */
        double k = t - shifter;
        double r = fma(-k, ln2_lo, fma(-k, ln2_hi, x));
        double p = 1.0 / 6227020800.0;
        p = fma(p, r, 1.0 / 479001600.0);
        p = fma(p, r, 1.0 / 39916800.0);
        p = fma(p, r, 1.0 / 3628800.0);
        p = fma(p, r, 1.0 / 362880.0);
        p = fma(p, r, 1.0 / 40320.0);
        p = fma(p, r, 1.0 / 5040.0);
        p = fma(p, r, 1.0 / 720.0);
        p = fma(p, r, 1.0 / 120.0);
        p = fma(p, r, 1.0 / 24.0);
        p = fma(p, r, 1.0 / 6.0);
        p = fma(p, r, 0.5);
        p = fma(p, r, 1.0);
        p = fma(p, r, 1.0);
        uint64_t bits;
        memcpy(&bits, &t, sizeof bits);
        bits = (bits + 1023) << 52; /* the low bits of t hold k: 2^k */
        double scale;
        memcpy(&scale, &bits, sizeof scale);
        v[i] = p * scale * keep;
    }
}
