/* A small float32 layer graph for inference: recurrent layers (LSTM, GRU,
 * Elman RNN), Linear per time step, RepeatVector and element-wise
 * activations, run on batches of sequences.
 *
 * Data flows as [batch, steps, features], row-major, float32. Each layer
 * maps (steps, features) to a new (steps, features):
 *   - LSTM / GRU / RNN (in -> hidden): all steps (`sequences`) or the last
 *     state only (1 step);
 *   - LINEAR (in -> out) on each step;
 *   - REPEAT: a 1-step input repeated `count` times (RepeatVector);
 *   - ACTIVATION: tanh, sigmoid, relu or identity, element-wise.
 * The equations are PyTorch's (nn.LSTM gates i, f, g, o; nn.GRU r, z, n
 * with the reset applied to W_hn h + b_hn, or optionally to h before the
 * product as Keras's reset_after=False; nn.RNN tanh), with zero initial
 * states; docs/detectors/seq_autoencoder.md gives them and the layout of
 * the weights, which is the one the payload (net_io.c) stores.
 *
 * Speed (layers.c): a recurrent layer projects the inputs of all steps with
 * one SGEMM, then each step is one SGEMM of the hidden states over the
 * batch (at batch 1 the packed product of matvec.c) followed by the fused,
 * vectorised gate non-linearities (gates.c). Buffers are sized once
 * per call (an_nn_scratch_floats) and the batch is cut into blocks run in
 * parallel (forward.c). */
#ifndef AN_NN_NN_H
#define AN_NN_NN_H

#include "anoma/common.h"
#include "core/strbuf.h"
#include "io/bytes.h"

#include <stddef.h>
#include <stdint.h>

typedef enum an_nn_kind {
    AN_NN_LSTM = 1,
    AN_NN_GRU = 2,
    AN_NN_RNN = 3,
    AN_NN_LINEAR = 4,
    AN_NN_REPEAT = 5,
    AN_NN_ACTIVATION = 6,
} an_nn_kind;

typedef enum an_nn_activation {
    AN_NN_IDENTITY = 0,
    AN_NN_TANH = 1,
    AN_NN_SIGMOID = 2,
    AN_NN_RELU = 3,
} an_nn_activation;

/* Bounds a payload is checked against before anything is sized from it. */
enum {
    AN_NN_MAX_LAYERS = 64,
    AN_NN_MAX_WIDTH = 1 << 16, /* features or hidden units of a layer */
    AN_NN_MAX_STEPS = 1 << 20, /* steps of a sequence */
};

typedef struct an_nn_layer {
    an_nn_kind kind;
    size_t in, out;   /* features per step in and out (out = hidden size) */
    int sequences;    /* recurrent: 1 = every step's state, 0 = the last */
    /* GRU: the reset multiplies h before the recurrent product,
     * n = tanh(W_in x + b_in + W_hn (r h) + b_hn) (Keras reset_after=False) */
    int reset_before;
    size_t count;     /* REPEAT: the number of steps made */
    an_nn_activation activation; /* ACTIVATION */
    /* recurrent: w_ih [gates * out, in], w_hh [gates * out, out], b_ih and
     * b_hh [gates * out]; LINEAR: w_ih [out, in], b_ih [out]; else NULL */
    float *w_ih, *w_hh, *b_ih, *b_hh;
    /* recurrent: w_hh in the order an_nn_matvec reads it, made at load
     * (an_nn_pack); NULL elsewhere, where batch 1 uses a GEMV instead */
    float *w_hh_packed;
} an_nn_layer;

typedef struct an_nn {
    an_nn_layer *layers;
    size_t n_layers;
    size_t in_steps, in_features;   /* the input a window gives */
    size_t out_steps, out_features; /* what the graph answers */
    size_t n_params;
} an_nn;

/* Gate blocks of a recurrent kind (4, 3, 1), 0 for others. */
size_t an_nn_gates(an_nn_kind kind);
const char *an_nn_kind_name(an_nn_kind kind);
const char *an_nn_activation_name(an_nn_activation a);

/* Read a graph for inputs of in_steps x in_features: layer records as
 * docs/detectors/seq_autoencoder.md describes, every shape checked (the
 * chain of widths, REPEAT on one step, bounds, bytes left) before anything
 * is allocated from it. ANOMA_ERR_FORMAT naming the layer on a bad one. */
anoma_status an_nn_read(an_nn *net, an_reader *r, size_t in_steps, size_t in_features);
void an_nn_write(const an_nn *net, an_writer *w);
void an_nn_free(an_nn *net);
size_t an_nn_memory_bytes(const an_nn *net);
/* The layer graph, one line per layer, and the parameter count. */
void an_nn_describe(const an_nn *net, an_strbuf *out);

/* Floats of scratch a forward pass of `batch` sequences needs (0 when the
 * count overflows: the caller refuses such a batch). */
size_t an_nn_scratch_floats(const an_nn *net, size_t batch);
/* The graph on x [batch, in_steps, in_features] into out [batch, out_steps,
 * out_features], with caller scratch of an_nn_scratch_floats(net, batch)
 * floats; allocates nothing, one thread. */
void an_nn_forward_block(const an_nn *net, const float *x, size_t batch, float *out,
                         float *scratch);
/* The same over any batch: blocks of sequences in parallel on up to
 * n_threads threads (0 = all cores), buffers allocated once per call. */
anoma_status an_nn_forward(const an_nn *net, const float *x, size_t batch, size_t n_threads,
                           float *out);

/* One recurrent or linear layer (layers.c), on `batch` sequences of `steps`
 * steps; work holds an_nn_layer_work_floats(layer, batch, steps) floats.
 * A recurrent layer's x holds x_steps steps per sequence: `steps`, or 1 for
 * the same input at every step (a RepeatVector before it), which is then
 * projected once instead of at each step. */
size_t an_nn_layer_work_floats(const an_nn_layer *layer, size_t batch, size_t steps);
void an_nn_recurrent(const an_nn_layer *layer, const float *x, size_t batch, size_t steps,
                     size_t x_steps, float *out, float *work);
void an_nn_linear(const an_nn_layer *layer, const float *x, size_t rows, float *out);
void an_nn_activate(an_nn_activation a, float *x, size_t n);

/* The recurrent product of one sequence (matvec.c): y [rows] = W x, W
 * [rows, cols] given as an_nn_pack made it from its row-major form, in
 * an_nn_packed_floats(rows, cols) floats. */
size_t an_nn_packed_floats(size_t rows, size_t cols);
void an_nn_pack(const float *w, size_t rows, size_t cols, float *packed);
void an_nn_matvec(const float *packed, size_t rows, size_t cols, const float *x, float *y);

/* Vectorised non-linearities (gates.c), in place, within 3 ulp of the
 * exact values. */
void an_nn_sigmoid(float *x, size_t n);
void an_nn_tanh(float *x, size_t n);

/* One step of a recurrent cell for `batch` sequences (gates.c): xp holds
 * each sequence's input side of the gates at this step (rows xp_stride
 * apart, biases folded in), hp [batch, gates * hidden] the recurrent side
 * h W_hh^T (zeros at the first step), which the step overwrites; h (and c)
 * [batch, hidden] are updated in place. GRU: b_hn is the recurrent bias of
 * n, inside the reset. GRU with the reset before the product: gates makes
 * r and z from hrz [batch, 2 hidden] (z stays there) and rh = r h; the
 * caller computes hn = rh W_hn^T [batch, hidden] (zeros at the first
 * step); update finishes h. */
void an_nn_lstm_step(size_t batch, size_t hidden, const float *xp, size_t xp_stride, float *hp,
                     float *h, float *c);
void an_nn_gru_step(size_t batch, size_t hidden, const float *xp, size_t xp_stride, float *hp,
                    const float *b_hn, float *h);
void an_nn_gru_reset_gates(size_t batch, size_t hidden, const float *xp, size_t xp_stride,
                           float *hrz, const float *h, float *rh);
void an_nn_gru_reset_update(size_t batch, size_t hidden, const float *xp, size_t xp_stride,
                            const float *hrz, float *hn, float *h);
void an_nn_rnn_step(size_t batch, size_t hidden, const float *xp, size_t xp_stride,
                    const float *hp, float *h);

#endif
