/* Dense autoencoder training: forward keeping each layer's output, the
 * backward pass layer by layer, and Adam (train.h gives the contract).
 *
 * Backward through a Linear layer y = a W^T + b with upstream gradient D
 * [rows, out]: dW = D^T a (one SGEMM), db = the column sums of D, and the
 * gradient for the layer below D W (one SGEMM). Through an activation the
 * gradient is multiplied by its derivative, written in terms of the
 * activation's output y (relu: y > 0; tanh: 1 - y^2; sigmoid: y (1 - y)). */
#include "nn/train.h"
#include "core/alloc.h"
#include "core/error.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

anoma_status an_nn_dense_create(an_nn *net, size_t n_features, const size_t *hidden,
                                size_t n_hidden, an_nn_activation activation, an_rng *rng)
{
    memset(net, 0, sizeof *net);
    size_t n = 2 * n_hidden + 1;
    net->layers = AN_NEW_ZEROED(an_nn_layer, n);
    if (!net->layers)
        return an_no_memory();
    net->n_layers = n;
    net->in_steps = net->out_steps = 1;
    net->in_features = net->out_features = n_features;
    size_t width = n_features;
    for (size_t k = 0; k < n; k++) {
        an_nn_layer *l = &net->layers[k];
        l->in = width;
        if (k % 2) { /* an activation between two Linear layers */
            l->kind = AN_NN_ACTIVATION;
            l->out = width;
            l->activation = activation;
            continue;
        }
        l->kind = AN_NN_LINEAR;
        l->out = k / 2 < n_hidden ? hidden[k / 2] : n_features;
        l->w_ih = AN_NEW_ARRAY(float, l->out * l->in);
        l->b_ih = AN_NEW_ARRAY(float, l->out);
        if (!l->w_ih || !l->b_ih) {
            an_nn_free(net);
            return an_no_memory();
        }
        /* nn.Linear.reset_parameters: kaiming_uniform_(a = sqrt(5)) gives
         * the bound 1 / sqrt(in), as the bias's */
        double bound = 1 / sqrt((double)l->in);
        for (size_t i = 0; i < l->out * l->in; i++)
            l->w_ih[i] = (float)((2 * an_rng_uniform(rng) - 1) * bound);
        for (size_t i = 0; i < l->out; i++)
            l->b_ih[i] = (float)((2 * an_rng_uniform(rng) - 1) * bound);
        net->n_params += l->out * l->in + l->out;
        width = l->out;
    }
    return ANOMA_OK;
}

anoma_status an_nn_trainer_init(an_nn_trainer *t, an_nn *net, size_t max_rows, double lr)
{
    memset(t, 0, sizeof *t);
    t->net = net;
    t->max_rows = max_rows;
    t->lr = lr;
    t->beta1 = 0.9;
    t->beta2 = 0.999;
    t->eps = 1e-8;
    size_t widest = net->in_features;
    for (size_t k = 0; k < net->n_layers; k++)
        widest = net->layers[k].out > widest ? net->layers[k].out : widest;
    t->out = AN_NEW_ZEROED(float *, net->n_layers);
    t->delta[0] = an_malloc_array(max_rows, widest * sizeof(float));
    t->delta[1] = an_malloc_array(max_rows, widest * sizeof(float));
    t->grad = AN_NEW_ZEROED(float, net->n_params);
    t->m = AN_NEW_ZEROED(float, net->n_params);
    t->v = AN_NEW_ZEROED(float, net->n_params);
    int ok = t->out && t->delta[0] && t->delta[1] && t->grad && t->m && t->v;
    for (size_t k = 0; ok && k < net->n_layers; k++)
        ok = (t->out[k] = an_malloc_array(max_rows, net->layers[k].out * sizeof(float))) != NULL;
    if (!ok) {
        an_nn_trainer_free(t);
        return an_no_memory();
    }
    return ANOMA_OK;
}

void an_nn_trainer_free(an_nn_trainer *t)
{
    for (size_t k = 0; t->out && k < t->net->n_layers; k++)
        an_free(t->out[k]);
    an_free(t->out);
    an_free(t->delta[0]);
    an_free(t->delta[1]);
    an_free(t->grad);
    an_free(t->m);
    an_free(t->v);
    memset(t, 0, sizeof *t);
}

/* Every layer's output for x, kept for the backward pass. */
static void forward(an_nn_trainer *t, const float *x, size_t rows)
{
    const float *in = x;
    for (size_t k = 0; k < t->net->n_layers; k++) {
        const an_nn_layer *l = &t->net->layers[k];
        if (l->kind == AN_NN_LINEAR) {
            an_nn_linear(l, in, rows, t->out[k]);
        } else {
            memcpy(t->out[k], in, rows * l->out * sizeof(float));
            an_nn_activate(l->activation, t->out[k], rows * l->out);
        }
        in = t->out[k];
    }
}

/* Mean squared error of the last output against x, and into d its
 * gradient 2 (y - x) / (rows F), as nn.MSELoss's backward gives it. */
static double loss_of(const an_nn_trainer *t, const float *x, size_t rows, float *d)
{
    size_t n = rows * t->net->out_features;
    const float *y = t->out[t->net->n_layers - 1];
    double sum = 0;
    for (size_t i = 0; i < n; i++) {
        float e = y[i] - x[i];
        sum += (double)e * e;
        if (d)
            d[i] = 2.0f * e / (float)n;
    }
    return sum / (double)n;
}

double an_nn_reconstruction_loss(an_nn_trainer *t, const float *x, size_t rows)
{
    forward(t, x, rows);
    return loss_of(t, x, rows, NULL);
}

/* The derivative of the activation at output y, times d, in place. */
static void activation_backward(an_nn_activation a, const float *y, float *d, size_t n)
{
    switch (a) {
    case AN_NN_RELU:
        for (size_t i = 0; i < n; i++)
            d[i] = y[i] > 0 ? d[i] : 0.0f;
        break;
    case AN_NN_TANH:
        for (size_t i = 0; i < n; i++)
            d[i] *= 1.0f - y[i] * y[i];
        break;
    case AN_NN_SIGMOID:
        for (size_t i = 0; i < n; i++)
            d[i] *= y[i] * (1.0f - y[i]);
        break;
    case AN_NN_IDENTITY:
        break;
    }
}

/* Gradients of every parameter into t->grad, from d = dLoss/dOutput. */
static void backward(an_nn_trainer *t, const float *x, size_t rows)
{
    an_nn *net = t->net;
    float *d = t->delta[0], *below = t->delta[1];
    size_t offset = net->n_params;
    for (size_t k = net->n_layers; k-- > 0;) {
        const an_nn_layer *l = &net->layers[k];
        const float *in = k ? t->out[k - 1] : x;
        if (l->kind == AN_NN_ACTIVATION) {
            activation_backward(l->activation, t->out[k], d, rows * l->out);
            continue;
        }
        size_t o = l->out, i = l->in;
        offset -= o * i + o;
        float *gw = t->grad + offset, *gb = gw + o * i;
        /* dW [o, i] = D^T [o, rows] a [rows, i] */
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)o, (int)i, (int)rows, 1.0f, d,
                    (int)o, in, (int)i, 0.0f, gw, (int)i);
        for (size_t j = 0; j < o; j++) {
            double sum = 0; /* rows in order: a fixed reduction */
            for (size_t r = 0; r < rows; r++)
                sum += d[r * o + j];
            gb[j] = (float)sum;
        }
        if (k == 0)
            break;
        /* below [rows, i] = D [rows, o] W [o, i] */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)rows, (int)i, (int)o, 1.0f,
                    d, (int)o, l->w_ih, (int)i, 0.0f, below, (int)i);
        float *swap = d;
        d = below;
        below = swap;
    }
}

/* torch.optim.Adam's step (single-tensor form, no weight decay or amsgrad):
 * moments in float32, the bias corrections in double. */
static void adam(an_nn_trainer *t)
{
    t->steps++;
    double c1 = 1 - pow(t->beta1, (double)t->steps), c2 = 1 - pow(t->beta2, (double)t->steps);
    float step = (float)(t->lr / c1), root = (float)sqrt(c2), eps = (float)t->eps;
    float b1 = (float)t->beta1, b2 = (float)t->beta2;
    float a1 = (float)(1 - t->beta1), a2 = (float)(1 - t->beta2);
    size_t offset = 0;
    for (size_t k = 0; k < t->net->n_layers; k++) {
        an_nn_layer *l = &t->net->layers[k];
        if (l->kind != AN_NN_LINEAR)
            continue;
        float *params[2] = {l->w_ih, l->b_ih};
        size_t sizes[2] = {l->out * l->in, l->out};
        for (int a = 0; a < 2; a++) {
            float *p = params[a], *g = t->grad + offset, *m = t->m + offset, *v = t->v + offset;
            for (size_t i = 0; i < sizes[a]; i++) {
                m[i] = m[i] * b1 + g[i] * a1;
                v[i] = v[i] * b2 + g[i] * g[i] * a2;
                float denom = sqrtf(v[i]) / root + eps;
                p[i] += -step * m[i] / denom;
            }
            offset += sizes[a];
        }
    }
}

double an_nn_gradients(an_nn_trainer *t, const float *x, size_t rows)
{
    forward(t, x, rows);
    double loss = loss_of(t, x, rows, t->delta[0]);
    backward(t, x, rows);
    return loss;
}

double an_nn_train_step(an_nn_trainer *t, const float *x, size_t rows)
{
    double loss = an_nn_gradients(t, x, rows);
    adam(t);
    return loss;
}

void an_nn_params_get(const an_nn *net, float *flat)
{
    for (size_t k = 0; k < net->n_layers; k++) {
        const an_nn_layer *l = &net->layers[k];
        if (l->kind != AN_NN_LINEAR)
            continue;
        memcpy(flat, l->w_ih, l->out * l->in * sizeof *flat);
        flat += l->out * l->in;
        memcpy(flat, l->b_ih, l->out * sizeof *flat);
        flat += l->out;
    }
}

void an_nn_params_set(an_nn *net, const float *flat)
{
    for (size_t k = 0; k < net->n_layers; k++) {
        an_nn_layer *l = &net->layers[k];
        if (l->kind != AN_NN_LINEAR)
            continue;
        memcpy(l->w_ih, flat, l->out * l->in * sizeof *flat);
        flat += l->out * l->in;
        memcpy(l->b_ih, flat, l->out * sizeof *flat);
        flat += l->out;
    }
}
