/* What the payloads of the neural detectors ("autoencoder" on rows,
 * "seq_autoencoder" on windows) share after their own header fields: the
 * input scaling, the per-feature weights of the error and the layer graph.
 * Read, checked, written, measured and released here, once for both.
 *
 * Stored form: center, scale and weights (F f64 each), then the graph
 * (net_io.c). docs/detectors/autoencoder.md and seq_autoencoder.md give
 * each detector's whole payload. */
#ifndef AN_NN_PAYLOAD_H
#define AN_NN_PAYLOAD_H

#include "nn/nn.h"

typedef struct an_nn_payload {
    size_t n_features;      /* F */
    double *center, *scale; /* F each: network input = (x - center) / scale */
    double *weights;        /* F: per-feature weights of the error, as imported */
    double weight_total;    /* their sum (> 0): the error divides by it */
    an_nn net;
} an_nn_payload;

/* center, scale and weights for f features, uninitialised (a native fit
 * fills them); p released first. */
anoma_status an_nn_payload_alloc(an_nn_payload *p, size_t f);
/* The scaling, the weights and the graph for inputs of in_steps x f, each
 * field checked before anything is sized from it; ANOMA_ERR_FORMAT as
 * "<who>: <what>" on a bad one. On error p is released. */
anoma_status an_nn_payload_read(an_nn_payload *p, an_reader *r, size_t f, size_t in_steps,
                                const char *who);
void an_nn_payload_write(const an_nn_payload *p, an_writer *w);
/* Bytes held: the scaling, the weights and the graph. */
size_t an_nn_payload_memory_bytes(const an_nn_payload *p);
/* Frees everything; p is empty after (and may be released again). */
void an_nn_payload_release(an_nn_payload *p);

#endif
