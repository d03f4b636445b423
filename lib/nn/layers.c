/* The recurrent and linear layers: PyTorch's equations, with GEMMs for the
 * projections and one fused, vectorised pass per step for the gates
 * (gates.c).
 *
 * A recurrent layer on B sequences of T steps:
 *   1. xp = x W_ih^T + bias for all B*T steps at once (one SGEMM): the
 *      input side of every gate, which does not depend on the state;
 *   2. per step, hp = h W_hh^T over the batch (one SGEMM, or at batch 1
 *      the packed product of matvec.c; none at the first step, where
 *      h = 0), then each unit's gates from xp and hp, updating
 *      h (and c) in place.
 * The biases b_ih + b_hh are folded into xp, except GRU's b_hn, which the
 * reset gate multiplies and so belongs to hp. */
#include "nn/nn.h"

#include <cblas.h>
#include <string.h>

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
        an_nn_tanh(x, n);
        break;
    case AN_NN_SIGMOID:
        an_nn_sigmoid(x, n);
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

void an_nn_recurrent(const an_nn_layer *layer, const float *x, size_t batch, size_t steps,
                     size_t x_steps, float *out, float *work)
{
    size_t hidden = layer->out, g = an_nn_gates(layer->kind) * hidden;
    float *xp = work, *hp = xp + batch * steps * g, *h = hp + batch * g, *c = h + batch * hidden;

    project(x, batch * x_steps, layer->in, layer->w_ih, g, xp);
    /* the biases that add straight to the pre-activations; GRU's b_hn
     * waits for the reset gate */
    size_t folded = layer->kind == AN_NN_GRU && !layer->reset_before ? 2 * hidden : g;
    for (size_t r = 0; r < batch * x_steps; r++) {
        float *row = xp + r * g;
        for (size_t j = 0; j < folded; j++)
            row[j] += layer->b_ih[j] + layer->b_hh[j];
        for (size_t j = folded; j < g; j++)
            row[j] += layer->b_ih[j];
    }

    memset(h, 0, batch * hidden * sizeof *h);
    memset(c, 0, batch * hidden * sizeof *c);
    for (size_t t = 0; t < steps; t++) {
        /* hp = h W_hh^T, the recurrent side of the gates; at the first
         * step h = 0, so no product: hp = 0 */
        const float *xpt = x_steps == 1 ? xp : xp + t * g; /* one step: the same at each */
        size_t stride = x_steps * g;
        if (layer->reset_before) { /* two products, the second after the reset */
            float *hrz = hp, *hn = hp + batch * 2 * hidden;
            if (t)
                project(h, batch, hidden, layer->w_hh, 2 * hidden, hrz);
            else
                memset(hrz, 0, batch * 2 * hidden * sizeof *hrz);
            an_nn_gru_reset_gates(batch, hidden, xpt, stride, hrz, h, c);
            if (t)
                project(c, batch, hidden, layer->w_hh + 2 * hidden * hidden, hidden, hn);
            else
                memset(hn, 0, batch * hidden * sizeof *hn);
            an_nn_gru_reset_update(batch, hidden, xpt, stride, hrz, hn, h);
        } else {
            if (t && batch == 1 && layer->w_hh_packed) /* one sequence: matvec.c */
                an_nn_matvec(layer->w_hh_packed, g, hidden, h, hp);
            else if (t)
                project(h, batch, hidden, layer->w_hh, g, hp);
            else
                memset(hp, 0, batch * g * sizeof *hp);
            switch (layer->kind) {
            case AN_NN_LSTM:
                an_nn_lstm_step(batch, hidden, xpt, stride, hp, h, c);
                break;
            case AN_NN_GRU:
                an_nn_gru_step(batch, hidden, xpt, stride, hp, layer->b_hh + 2 * hidden, h);
                break;
            default:
                an_nn_rnn_step(batch, hidden, xpt, stride, hp, h);
                break;
            }
        }
        if (layer->sequences)
            for (size_t b = 0; b < batch; b++)
                memcpy(out + (b * steps + t) * hidden, h + b * hidden, hidden * sizeof *h);
    }
    if (!layer->sequences)
        memcpy(out, h, batch * hidden * sizeof *h);
}
