/**
 * @file sequence.h
 * @brief Batch scoring of series with a sequence detector ("seq_autoencoder"):
 * the network's output for windows, per-window scores and per-point scores.
 *
 * A "seq_autoencoder" detector is imported with anoma_model_import_detector()
 * (its payload layout is in docs/detectors/seq_autoencoder.md). It is
 * stateful, so anoma_model_score() refuses it; a stream scores a series
 * point by point, and the calls below score windows or whole series at
 * once. They need a model whose detector @p index is a "seq_autoencoder"
 * and that has no pipeline steps (the series is the network's input
 * before its scaling). Scores are higher = more anomalous: a window's
 * weighted mean squared error (reconstruction, forecast) or the network's
 * probability (classification); a window holding a missing (NaN) or
 * infinite value scores NaN.
 *
 * Thread safety: these calls only read the model; many threads may call
 * them at once. They use the model's thread count (anoma_model_set_n_threads()).
 */
#ifndef ANOMA_SEQUENCE_H
#define ANOMA_SEQUENCE_H

#include "common.h"
#include "data.h"
#include "model.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * @brief The shapes of a sequence detector.
 * @param model a fitted model.
 * @param index the detector's position in the model.
 * @param window receives T, the points the network reads (may be NULL).
 * @param length receives the points one scored window spans: T, or T +
 *        horizon for a forecast (may be NULL).
 * @param n_outputs receives the floats the network gives per window (may be NULL).
 * @return ::ANOMA_OK; ::ANOMA_ERR_INVALID_ARGUMENT (NULL model, index out of
 *         range, or not a sequence detector); ::ANOMA_ERR_NOT_FITTED.
 * @since 0.2.0
 */
ANOMA_API anoma_status anoma_model_sequence_shape(const anoma_model *model, size_t index,
                                                  size_t *window, size_t *length,
                                                  size_t *n_outputs);

/**
 * @brief The network's output for windows, as the trained network computes it.
 *
 * Each window is scaled by the detector's scaling ((x - center) / scale)
 * and run through the network in float32.
 * @param model a fitted model.
 * @param index the detector's position in the model.
 * @param windows n_windows x T x F doubles, row-major (F = the model's
 *        features), in the series' units.
 * @param n_windows number of windows (0 is allowed).
 * @param out receives n_windows x n_outputs floats (caller-owned).
 * @param cap floats @p out holds.
 * @param needed receives n_windows x n_outputs (may be NULL): call with
 *        cap 0 to learn it.
 * @return ::ANOMA_OK; ::ANOMA_ERR_BUFFER_TOO_SMALL (needed set);
 *         ::ANOMA_ERR_NONFINITE naming the window with a missing or infinite
 *         value; ::ANOMA_ERR_INVALID_ARGUMENT; ::ANOMA_ERR_NOT_FITTED;
 *         ::ANOMA_ERR_UNSUPPORTED (model with pipeline steps); ::ANOMA_ERR_NO_MEMORY.
 * @since 0.2.0
 */
ANOMA_API anoma_status anoma_model_predict_windows(const anoma_model *model, size_t index,
                                                   const double *windows, size_t n_windows,
                                                   float *out, size_t cap, size_t *needed);

/**
 * @brief The score of each window, in the detector's mode.
 * @param model a fitted model.
 * @param index the detector's position in the model.
 * @param windows n_windows x length x F doubles (length from
 *        anoma_model_sequence_shape(): a forecast window holds the T points
 *        read and then the horizon points predicted).
 * @param n_windows number of windows.
 * @param scores receives n_windows values (caller-owned).
 * @return ::ANOMA_OK; ::ANOMA_ERR_INVALID_ARGUMENT; ::ANOMA_ERR_NOT_FITTED;
 *         ::ANOMA_ERR_UNSUPPORTED (pipeline steps); ::ANOMA_ERR_NO_MEMORY.
 * @since 0.2.0
 */
ANOMA_API anoma_status anoma_model_window_scores(const anoma_model *model, size_t index,
                                                 const double *windows, size_t n_windows,
                                                 double *scores);

/**
 * @brief Per-point scores of a series.
 *
 * Windows of `length` points start every `stride` points (the detector's
 * parameter). With `point_score=mean` a point's score is the mean of the
 * scores of the windows covering it (NaN windows left out; NaN when none
 * covers it); with `point_score=last` it is the score of the window that
 * ends at it, which is what a stream gives, and the first length - 1 points
 * are NaN (not ready).
 * @param model a fitted model.
 * @param index the detector's position in the model.
 * @param series rows x F values, one row per time point in order.
 * @param scores receives series->rows values (caller-owned).
 * @return ::ANOMA_OK; ::ANOMA_ERR_SHAPE (width not the model's);
 *         ::ANOMA_ERR_INVALID_ARGUMENT; ::ANOMA_ERR_NOT_FITTED;
 *         ::ANOMA_ERR_UNSUPPORTED (pipeline steps); ::ANOMA_ERR_NO_MEMORY.
 * @since 0.2.0
 */
ANOMA_API anoma_status anoma_model_series_scores(const anoma_model *model, size_t index,
                                                 const anoma_matrix *series, double *scores);

#ifdef __cplusplus
}
#endif

#endif /* ANOMA_SEQUENCE_H */
