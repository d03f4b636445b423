/* Training a dense graph (Linear and activation layers, one step) as an
 * autoencoder: mini-batch forward and backward passes through SGEMM, the
 * mean squared error of the reconstruction as the loss, and Adam.
 *
 * Everything matches PyTorch's defaults so that a network trained here is
 * the one torch would train from the same weights: nn.Linear's initial
 * weights and biases uniform in (-1/sqrt(in), 1/sqrt(in)); nn.MSELoss (mean
 * over rows and features); torch.optim.Adam (betas 0.9/0.999, eps 1e-8,
 * float32 moments, bias corrections in double). The reduction order is
 * fixed by the loops here and by the GEMMs, which sum each output over its
 * full inner dimension whatever BLAS's thread count: results do not depend
 * on the library's thread count. */
#ifndef AN_NN_TRAIN_H
#define AN_NN_TRAIN_H

#include "core/rng.h"
#include "nn/nn.h"

/* A dense graph for F features: Linear(F, h[0]), activation, ...,
 * Linear(h[n-1], F), weights drawn as nn.Linear draws them (the bound
 * 1/sqrt(in) for weights and biases alike) from rng. */
anoma_status an_nn_dense_create(an_nn *net, size_t n_features, const size_t *hidden,
                                size_t n_hidden, an_nn_activation activation, an_rng *rng);

typedef struct an_nn_trainer {
    an_nn *net;
    size_t max_rows;
    float **out;      /* per layer: its output for the batch [max_rows, out] */
    float *delta[2];  /* gradients flowing back, [max_rows, widest] each */
    float *grad;      /* n_params: gradients, each Linear's weight then bias */
    float *m, *v;     /* n_params: Adam's moments */
    uint64_t steps;   /* Adam steps taken */
    double lr, beta1, beta2, eps;
} an_nn_trainer;

/* Buffers for batches of up to max_rows rows, Adam at learning rate lr. */
anoma_status an_nn_trainer_init(an_nn_trainer *t, an_nn *net, size_t max_rows, double lr);
void an_nn_trainer_free(an_nn_trainer *t);

/* The loss of the reconstruction of x [rows, F] (rows <= max_rows) and
 * its gradient with respect to every parameter into t->grad (laid out as
 * an_nn_params_get lays out the parameters). */
double an_nn_gradients(an_nn_trainer *t, const float *x, size_t rows);
/* One Adam step on the reconstruction of x [rows, F] (rows <= max_rows);
 * returns the batch's loss before the step. */
double an_nn_train_step(an_nn_trainer *t, const float *x, size_t rows);
/* The loss of x [rows, F] without training (rows <= max_rows). */
double an_nn_reconstruction_loss(an_nn_trainer *t, const float *x, size_t rows);

/* The network's parameters to and from a flat array of n_params floats
 * (each Linear's weight then bias, layer by layer). */
void an_nn_params_get(const an_nn *net, float *flat);
void an_nn_params_set(an_nn *net, const float *flat);

#endif
