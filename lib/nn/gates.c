/* The gate non-linearities of the recurrent layers, vectorised: sigmoid and
 * tanh over whole gate blocks, and the fused step of each cell.
 *
 * Both functions come from one expm1 (exp(x) - 1) with no branch and no
 * call, so that the compiler vectorises every loop here (8 floats at a time
 * on AVX2):
 *   expm1(x) = 2^k (r q(r)) + (2^k - 1), k = round(x / ln 2),
 *   r = x - k ln 2 in [-ln2/2, ln2/2] (ln 2 in two parts, k ln2_hi exact),
 *   q(r) = (e^r - 1) / r by its Taylor series to degree 6 (the first term
 *   left out is below 6e-9 relative), 2^k written into the exponent bits;
 *   sigmoid(v) = 1 / (2 + expm1(-v)), tanh(x) = sign(x) e / (e + 2) with
 *   e = expm1(2 |x|), which keeps tanh's relative accuracy near 0, where
 *   1 - 2 / (1 + exp(2x)) would cancel.
 * Measured against the double-precision C library on 4 million floats from
 * 1e-30 to 1e2 in magnitude: within 3 ulp (sigmoid: for v >= -80; below,
 * where sigmoid < 2e-35, within 1e-38 absolute). tests/unit/test_nn.c
 * checks these bounds.
 *
 * This file is compiled with -fno-trapping-math (the clamps become
 * vector min/max; GCC's optimize attribute, which could say so per
 * function, turns vectorisation off in GCC 12) and -ffp-contract=off (no
 * fused multiply-add: the AVX2 clone, chosen at run time, and the default
 * one give the same bits, so a score does not depend on the machine). */
#include "nn/nn.h"
#include "core/clones.h"

#include <math.h>
#include <stdint.h>
#include <string.h>


static inline float expm1_poly(float x)
{
    const float log2e = 1.44269504f, shifter = 12582912.0f; /* 1.5 * 2^23 */
    const float ln2_hi = 0.693359375f, ln2_lo = -2.12194440e-4f;
    /* k in [-126, 127]: 2^k is a normal float; exp(88) is below FLT_MAX
     * and exp(-87) - 1 rounds to -1 */
    x = x < -87.0f ? -87.0f : x > 88.0f ? 88.0f : x;
    float t = x * log2e + shifter; /* shifter + k */
    float k = t - shifter;
    float r = (x - k * ln2_hi) - k * ln2_lo;
    float q = 1.0f / 5040.0f;
    q = q * r + 1.0f / 720.0f;
    q = q * r + 1.0f / 120.0f;
    q = q * r + 1.0f / 24.0f;
    q = q * r + 1.0f / 6.0f;
    q = q * r + 0.5f;
    q = q * r + 1.0f;
    uint32_t bits;
    memcpy(&bits, &t, sizeof bits);
    bits = (bits + 127) << 23; /* the low bits of t hold k: 2^k */
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    return scale * (r * q) + (scale - 1.0f);
}

static inline float sigmoid(float v) { return 1.0f / (2.0f + expm1_poly(-v)); }

static inline float tanh_poly(float x)
{
    float e = expm1_poly(2.0f * fabsf(x));
    return copysignf(e / (e + 2.0f), x);
}

AN_VECTOR_CLONES
void an_nn_sigmoid(float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        x[i] = sigmoid(x[i]);
}

AN_VECTOR_CLONES
void an_nn_tanh(float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        x[i] = tanh_poly(x[i]);
}

/* g[j] += x[j]: the input side of the gates onto the recurrent side. */
static inline void add(float *restrict g, const float *restrict x, size_t n)
{
    for (size_t j = 0; j < n; j++)
        g[j] += x[j];
}

AN_VECTOR_CLONES
void an_nn_lstm_step(size_t batch, size_t hidden, const float *xp, size_t xp_stride, float *hp,
                     float *h, float *c)
{
    size_t H = hidden;
    for (size_t b = 0; b < batch; b++) {
        float *restrict g = hp + b * 4 * H, *restrict hb = h + b * H, *restrict cb = c + b * H;
        add(g, xp + b * xp_stride, 4 * H);
        for (size_t j = 0; j < 2 * H; j++) /* i, f */
            g[j] = sigmoid(g[j]);
        for (size_t j = 2 * H; j < 3 * H; j++) /* g */
            g[j] = tanh_poly(g[j]);
        for (size_t j = 3 * H; j < 4 * H; j++) /* o */
            g[j] = sigmoid(g[j]);
        for (size_t j = 0; j < H; j++) {
            float cell = g[H + j] * cb[j] + g[j] * g[2 * H + j];
            cb[j] = cell;
            hb[j] = g[3 * H + j] * tanh_poly(cell);
        }
    }
}

AN_VECTOR_CLONES
void an_nn_gru_step(size_t batch, size_t hidden, const float *xp, size_t xp_stride, float *hp,
                    const float *b_hn, float *h)
{
    size_t H = hidden;
    for (size_t b = 0; b < batch; b++) {
        const float *restrict x = xp + b * xp_stride;
        float *restrict g = hp + b * 3 * H, *restrict hb = h + b * H;
        add(g, x, 2 * H);
        for (size_t j = 0; j < 2 * H; j++) /* r, z */
            g[j] = sigmoid(g[j]);
        for (size_t j = 0; j < H; j++) {
            float n = tanh_poly(x[2 * H + j] + g[j] * (g[2 * H + j] + b_hn[j]));
            float z = g[H + j];
            hb[j] = (1.0f - z) * n + z * hb[j];
        }
    }
}

AN_VECTOR_CLONES
void an_nn_gru_reset_gates(size_t batch, size_t hidden, const float *xp, size_t xp_stride,
                           float *hrz, const float *h, float *rh)
{
    size_t H = hidden;
    for (size_t b = 0; b < batch; b++) {
        float *restrict g = hrz + b * 2 * H, *restrict r = rh + b * H;
        const float *restrict hb = h + b * H;
        add(g, xp + b * xp_stride, 2 * H);
        for (size_t j = 0; j < 2 * H; j++) /* r, and z kept for the update */
            g[j] = sigmoid(g[j]);
        for (size_t j = 0; j < H; j++)
            r[j] = g[j] * hb[j];
    }
}

AN_VECTOR_CLONES
void an_nn_gru_reset_update(size_t batch, size_t hidden, const float *xp, size_t xp_stride,
                            const float *hrz, float *hn, float *h)
{
    size_t H = hidden;
    for (size_t b = 0; b < batch; b++) {
        const float *restrict z = hrz + b * 2 * H + H;
        float *restrict n = hn + b * H, *restrict hb = h + b * H;
        add(n, xp + b * xp_stride + 2 * H, H);
        for (size_t j = 0; j < H; j++)
            hb[j] = (1.0f - z[j]) * tanh_poly(n[j]) + z[j] * hb[j];
    }
}

AN_VECTOR_CLONES
void an_nn_rnn_step(size_t batch, size_t hidden, const float *xp, size_t xp_stride,
                    const float *hp, float *h)
{
    for (size_t b = 0; b < batch; b++) {
        const float *restrict x = xp + b * xp_stride, *restrict p = hp + b * hidden;
        float *restrict hb = h + b * hidden;
        for (size_t j = 0; j < hidden; j++)
            hb[j] = tanh_poly(x[j] + p[j]);
    }
}
