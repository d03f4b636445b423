/* The "autoencoder" detector: a dense encoder/decoder (lib/nn Linear and
 * activation layers) on rows, scored by its reconstruction error.
 *
 * File map:
 *   detector.c  parameters, payload, scoring, feature scores, the vtable
 *   train.c     native training (fit): scaling, split, epochs, early stopping
 *               (the passes and Adam are lib/nn/train.c)
 * docs/detectors/autoencoder.md is the user's page (scores, payload layout,
 * importing from PyTorch). */
#ifndef AN_DETECTORS_AUTOENCODER_H
#define AN_DETECTORS_AUTOENCODER_H

#include "detectors/detector.h"
#include "nn/payload.h"

#define AN_AE_PAYLOAD_VERSION 1
/* Hidden layers at most: 2 n + 1 layers stay within AN_NN_MAX_LAYERS. */
#define AN_AE_MAX_HIDDEN 31

typedef struct an_ae {
    an_nn_payload nn;       /* scaling, weights and the graph: Linear and
                             * activation layers, F -> ... -> F */
    uint32_t epochs;        /* epochs trained natively; 0 when imported */
    double loss;            /* the loss training kept; NaN when imported */
    int fitted;
    /* training parameters */
    size_t hidden[AN_AE_MAX_HIDDEN], n_hidden;
    an_nn_activation activation;
    size_t max_epochs, batch_size, patience;
    double learning_rate, validation_fraction;
    uint64_t seed;
    int standardize;
} an_ae;

extern const an_detector_vtable an_autoencoder_detector;

/* Train s (its parameters set) on the data (train.c). */
anoma_status an_ae_fit(an_ae *s, const an_fit_data *data);
/* Back to unfitted, keeping the parameters. */
void an_ae_release(an_ae *s);

#endif
