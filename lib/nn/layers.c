/* The recurrent and linear layers: PyTorch's equations, with GEMMs for the
 * projections and one fused loop per step for the gates.
 *
 * A recurrent layer on B sequences of T steps:
 *   1. xp = x W_ih^T + bias for all B*T steps at once (one SGEMM): the
 *      input side of every gate, which does not depend on the state;
 *   2. per step, hp = h W_hh^T over the batch (one SGEMM; none at the first
 *      step, where h = 0), then each unit's gates from xp and hp, updating
 *      h (and c) in place.
 * The biases b_ih + b_hh are folded into xp, except GRU's b_hn, which the
 * reset gate multiplies and so belongs to hp. */
#include "nn/nn.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

static inline float sigmoid(float v) { return 1.0f / (1.0f + expf(-v)); }

/* y [rows, n] = x [rows, k] w^T with w [n, k]; batch 1 as a GEMV. */
static void project(const float *x, size_t rows, size_t k, const float *w, size_t n, float *y)
{
    if (rows == 1)
        cblas_sgemv(CblasRowMajor, CblasNoTrans, (int)n, (int)k, 1.0f, w, (int)k, x, 1, 0.0f, y,
                    1);
    else
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)rows, (int)n, (int)k, 1.0f, x,
                    (int)k, w, (int)k, 0.0f, y, (int)n);
}

void an_nn_activate(an_nn_activation a, float *x, size_t n)
{
    switch (a) {
    case AN_NN_TANH:
        for (size_t i = 0; i < n; i++)
            x[i] = tanhf(x[i]);
        break;
    case AN_NN_SIGMOID:
        for (size_t i = 0; i < n; i++)
            x[i] = sigmoid(x[i]);
        break;
    case AN_NN_RELU:
        for (size_t i = 0; i < n; i++)
            x[i] = x[i] > 0 ? x[i] : 0.0f;
        break;
    case AN_NN_IDENTITY:
        break;
    }
}

void an_nn_linear(const an_nn_layer *layer, const float *x, size_t rows, float *out)
{
    size_t n = layer->out;
    project(x, rows, layer->in, layer->w_ih, n, out);
    for (size_t r = 0; r < rows; r++)
        for (size_t j = 0; j < n; j++)
            out[r * n + j] += layer->b_ih[j];
}

size_t an_nn_layer_work_floats(const an_nn_layer *layer, size_t batch, size_t steps)
{
    size_t g = an_nn_gates(layer->kind) * layer->out, h = layer->out;
    /* xp [batch * steps, g], hp [batch, g], h and c [batch, h]; the caller
     * checked that these products fit */
    return batch * steps * g + batch * g + 2 * batch * h;
}

/* One LSTM step for every sequence: gates i, f, g, o. */
static void lstm_step(size_t batch, size_t hidden, const float *xp, size_t xp_stride,
                      const float *hp, float *h, float *c)
{
    size_t g4 = 4 * hidden;
    for (size_t b = 0; b < batch; b++) {
        const float *x = xp + b * xp_stride, *p = hp ? hp + b * g4 : NULL;
        float *hb = h + b * hidden, *cb = c + b * hidden;
        for (size_t j = 0; j < hidden; j++) {
            float ai = x[j], af = x[hidden + j], ag = x[2 * hidden + j], ao = x[3 * hidden + j];
            if (p) {
                ai += p[j];
                af += p[hidden + j];
                ag += p[2 * hidden + j];
                ao += p[3 * hidden + j];
            }
            float cell = sigmoid(af) * cb[j] + sigmoid(ai) * tanhf(ag);
            cb[j] = cell;
            hb[j] = sigmoid(ao) * tanhf(cell);
        }
    }
}

/* One GRU step: r and z from xp + hp, n = tanh(xp_n + r (hp_n + b_hn)). */
static void gru_step(size_t batch, size_t hidden, const float *xp, size_t xp_stride,
                     const float *hp, const float *b_hn, float *h)
{
    size_t g3 = 3 * hidden;
    for (size_t b = 0; b < batch; b++) {
        const float *x = xp + b * xp_stride, *p = hp ? hp + b * g3 : NULL;
        float *hb = h + b * hidden;
        for (size_t j = 0; j < hidden; j++) {
            float ar = x[j], az = x[hidden + j], hn = b_hn[j];
            if (p) {
                ar += p[j];
                az += p[hidden + j];
                hn += p[2 * hidden + j];
            }
            float r = sigmoid(ar), z = sigmoid(az);
            float n = tanhf(x[2 * hidden + j] + r * hn);
            hb[j] = (1.0f - z) * n + z * hb[j];
        }
    }
}

/* One GRU step with the reset before the product (Keras reset_after=False):
 * hrz = h W_h{r,z}^T [batch, 2H] gives r and z; r h goes to rh, whose
 * product with W_hn the caller makes into hn [batch, H]; then finish. All
 * biases are in xp. */
static void gru_reset_gates(size_t batch, size_t hidden, const float *xp, size_t xp_stride,
                            float *hrz, const float *h, float *rh)
{
    for (size_t b = 0; b < batch; b++) {
        const float *x = xp + b * xp_stride;
        float *p = hrz ? hrz + b * 2 * hidden : NULL;
        for (size_t j = 0; j < hidden; j++) {
            float r = sigmoid(p ? x[j] + p[j] : x[j]);
            rh[b * hidden + j] = r * h[b * hidden + j];
            if (p) /* z, kept for the update */
                p[hidden + j] = sigmoid(x[hidden + j] + p[hidden + j]);
        }
    }
}

static void gru_reset_update(size_t batch, size_t hidden, const float *xp, size_t xp_stride,
                             const float *hrz, const float *hn, float *h)
{
    for (size_t b = 0; b < batch; b++) {
        const float *x = xp + b * xp_stride;
        float *hb = h + b * hidden;
        for (size_t j = 0; j < hidden; j++) {
            float z = hrz ? hrz[b * 2 * hidden + hidden + j] : sigmoid(x[hidden + j]);
            float n = tanhf(hn ? x[2 * hidden + j] + hn[b * hidden + j] : x[2 * hidden + j]);
            hb[j] = (1.0f - z) * n + z * hb[j];
        }
    }
}

static void rnn_step(size_t batch, size_t hidden, const float *xp, size_t xp_stride,
                     const float *hp, float *h)
{
    for (size_t b = 0; b < batch; b++) {
        const float *x = xp + b * xp_stride, *p = hp ? hp + b * hidden : NULL;
        float *hb = h + b * hidden;
        for (size_t j = 0; j < hidden; j++)
            hb[j] = tanhf(p ? x[j] + p[j] : x[j]);
    }
}

void an_nn_recurrent(const an_nn_layer *layer, const float *x, size_t batch, size_t steps,
                     float *out, float *work)
{
    size_t hidden = layer->out, g = an_nn_gates(layer->kind) * hidden;
    float *xp = work, *hp = xp + batch * steps * g, *h = hp + batch * g, *c = h + batch * hidden;

    project(x, batch * steps, layer->in, layer->w_ih, g, xp);
    /* the biases that add straight to the pre-activations; GRU's b_hn
     * waits for the reset gate */
    size_t folded = layer->kind == AN_NN_GRU && !layer->reset_before ? 2 * hidden : g;
    for (size_t r = 0; r < batch * steps; r++) {
        float *row = xp + r * g;
        for (size_t j = 0; j < folded; j++)
            row[j] += layer->b_ih[j] + layer->b_hh[j];
        for (size_t j = folded; j < g; j++)
            row[j] += layer->b_ih[j];
    }

    memset(h, 0, batch * hidden * sizeof *h);
    memset(c, 0, batch * hidden * sizeof *c);
    for (size_t t = 0; t < steps; t++) {
        const float *hpt = NULL; /* h = 0 at the first step: no product */
        if (layer->reset_before) { /* two products, the second after the reset */
            const float *xpt = xp + t * g;
            float *hrz = t ? hp : NULL, *hn = t ? hp + batch * 2 * hidden : NULL;
            if (t)
                project(h, batch, hidden, layer->w_hh, 2 * hidden, hrz);
            gru_reset_gates(batch, hidden, xpt, steps * g, hrz, h, c);
            if (t)
                project(c, batch, hidden, layer->w_hh + 2 * hidden * hidden, hidden, hn);
            gru_reset_update(batch, hidden, xpt, steps * g, hrz, hn, h);
            if (layer->sequences)
                for (size_t b = 0; b < batch; b++)
                    memcpy(out + (b * steps + t) * hidden, h + b * hidden, hidden * sizeof *h);
            continue;
        }
        if (t) {
            project(h, batch, hidden, layer->w_hh, g, hp);
            hpt = hp;
        }
        const float *xpt = xp + t * g;
        size_t stride = steps * g;
        switch (layer->kind) {
        case AN_NN_LSTM:
            lstm_step(batch, hidden, xpt, stride, hpt, h, c);
            break;
        case AN_NN_GRU:
            gru_step(batch, hidden, xpt, stride, hpt, layer->b_hh + 2 * hidden, h);
            break;
        default:
            rnn_step(batch, hidden, xpt, stride, hpt, h);
            break;
        }
        if (layer->sequences)
            for (size_t b = 0; b < batch; b++)
                memcpy(out + (b * steps + t) * hidden, h + b * hidden, hidden * sizeof *h);
    }
    if (!layer->sequences)
        memcpy(out, h, batch * hidden * sizeof *h);
}
