/* The "seq_autoencoder" detector: a recurrent network (lib/nn) scoring
 * windows of a multivariate series, imported with its weights.
 *
 * File map:
 *   detector.c  parameters, payload, the vtable and the stream's state
 *   windows.c   windows to network input, the three scores, series scoring
 * docs/detectors/seq_autoencoder.md is the user's page (modes, payload
 * layout, scores, streaming). */
#ifndef AN_DETECTORS_SEQ_AUTOENCODER_H
#define AN_DETECTORS_SEQ_AUTOENCODER_H

#include "detectors/detector.h"
#include "nn/payload.h"

#define AN_SEQ_PAYLOAD_VERSION 1

typedef enum an_seq_mode {
    AN_SEQ_RECONSTRUCTION = 0, /* output = the window; score = weighted MSE */
    AN_SEQ_FORECAST = 1,       /* output = the next `horizon` points; score = their MSE */
    AN_SEQ_CLASSIFICATION = 2, /* output = one probability; score = it */
} an_seq_mode;

typedef struct an_seq {
    an_seq_mode mode;
    size_t window;     /* T: steps the network reads */
    size_t horizon;    /* forecast: points predicted; 0 otherwise */
    size_t length;     /* points a scored window spans: T, or T + horizon */
    an_nn_payload nn;  /* F features: scaling, weights and the graph */
    /* parameters */
    size_t stride;
    int point_last; /* point_score=last */
    int fitted;
} an_seq;

extern const an_detector_vtable an_seq_autoencoder_detector;

/* The detector's state inside a model, or NULL when vt is another detector. */
const an_seq *an_seq_of(const an_detector_vtable *vt, const void *state);

/* Floats of scratch a single window needs (network input, output, graph). */
size_t an_seq_window_floats(const an_seq *s);
/* The score of one window given the network's output for it and the
 * window's points (length x F doubles, series units). */
double an_seq_window_score(const an_seq *s, const double *window, const float *out);
/* One window of `length` points: its score, allocating nothing. */
double an_seq_score_one(const an_seq *s, const double *window, float *scratch);

/* Network output [n, out_steps * out_features] of n windows [n, T, F]
 * (series units). */
anoma_status an_seq_predict(const an_seq *s, const double *windows, size_t n, size_t n_threads,
                            float *out);
/* Scores of n windows [n, length, F]. */
anoma_status an_seq_window_scores(const an_seq *s, const double *windows, size_t n,
                                  size_t n_threads, double *scores);
/* Per-point scores of a series [rows, F] (contiguous). */
anoma_status an_seq_series_scores(const an_seq *s, const double *x, size_t rows,
                                  size_t n_threads, double *scores);

#endif
