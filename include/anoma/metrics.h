/**
 * @file metrics.h
 * @brief Evaluation metrics for anomaly scores against 0/1 labels.
 *
 * Scores follow the library convention (higher = more anomalous); labels are
 * 1 for an anomaly and 0 for a normal row. Ties are handled exactly as
 * scikit-learn's `roc_auc_score` and `average_precision_score` handle them.
 * NaN or +-Inf scores, labels other than 0/1 and NULL pointers (result
 * pointers included) are errors. All functions are thread-safe and allocate
 * only temporary memory.
 */
#ifndef ANOMA_METRICS_H
#define ANOMA_METRICS_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * @brief Area under the ROC curve.
 *
 * The trapezoidal area under the curve through one point per distinct score
 * (tied scores move together), which equals the probability that a random
 * anomaly outscores a random normal row, counting ties as one half.
 * @param scores @p n scores, higher = more anomalous.
 * @param labels @p n labels, 1 = anomaly, 0 = normal.
 * @param n number of rows.
 * @param auc receives the area in [0, 1].
 * @return ::ANOMA_OK; ::ANOMA_ERR_EMPTY (n = 0); ::ANOMA_ERR_INVALID_ARGUMENT
 *         (a label not 0/1, or only one class present: the area is undefined);
 *         ::ANOMA_ERR_NONFINITE; ::ANOMA_ERR_NO_MEMORY.
 * @since 0.1.0
 */
ANOMA_API anoma_status anoma_roc_auc(const double *scores, const int *labels, size_t n,
                                     double *auc);

/**
 * @brief Average precision (area under the precision-recall curve as a step sum).
 *
 * AP = sum over distinct score thresholds t, from high to low, of
 * (R(t) - R(previous t)) * P(t), where P and R are the precision and recall
 * of predicting "anomaly" for score >= t.
 * @param scores @p n scores, higher = more anomalous.
 * @param labels @p n labels, 1 = anomaly, 0 = normal.
 * @param n number of rows.
 * @param ap receives the value in [0, 1].
 * @return as anoma_roc_auc(), except that all-anomaly labels are accepted;
 *         all-normal labels give ::ANOMA_ERR_INVALID_ARGUMENT (scikit-learn
 *         warns and returns 0 there: the value is undefined).
 * @since 0.1.0
 */
ANOMA_API anoma_status anoma_average_precision(const double *scores, const int *labels,
                                               size_t n, double *ap);

/** Confusion counts and the rates derived from them. Frozen layout. @since 0.1.0 */
typedef struct anoma_confusion {
    size_t tp;        /**< anomalies flagged */
    size_t fp;        /**< normal rows flagged */
    size_t tn;        /**< normal rows not flagged */
    size_t fn;        /**< anomalies not flagged */
    double precision; /**< tp / (tp + fp), 0 when nothing is flagged */
    double recall;    /**< tp / (tp + fn), 0 when there is no anomaly */
    double f1;        /**< 2 tp / (2 tp + fp + fn), 0 when that is 0/0 */
    double accuracy;  /**< (tp + tn) / n */
} anoma_confusion;

/**
 * @brief Confusion counts and rates when rows with score > @p threshold are flagged.
 * @param scores @p n scores, higher = more anomalous.
 * @param labels @p n labels, 1 = anomaly, 0 = normal.
 * @param n number of rows.
 * @param threshold rows with a score above it are flagged.
 * @param out receives the counts and rates.
 * @return ::ANOMA_OK; ::ANOMA_ERR_EMPTY; ::ANOMA_ERR_INVALID_ARGUMENT (label
 *         not 0/1, NaN threshold); ::ANOMA_ERR_NONFINITE (score).
 * @since 0.1.0
 */
ANOMA_API anoma_status anoma_confusion_at(const double *scores, const int *labels, size_t n,
                                          double threshold, anoma_confusion *out);

/**
 * @brief The threshold with the best F1 score.
 *
 * Among all ways to flag the rows whose score is above some cut, the one
 * with the highest F1 (the highest cut wins a tie). @p threshold receives the
 * largest score that stays unflagged, so that "score > threshold" flags
 * exactly that set, or the next double below the smallest score when every
 * row is flagged.
 * @param scores @p n scores, higher = more anomalous.
 * @param labels @p n labels, 1 = anomaly, 0 = normal.
 * @param n number of rows.
 * @param threshold receives the cut.
 * @param f1 receives the F1 at that cut (may be NULL).
 * @return as anoma_average_precision().
 * @since 0.1.0
 */
ANOMA_API anoma_status anoma_best_f1(const double *scores, const int *labels, size_t n,
                                     double *threshold, double *f1);

/**
 * One point of the ROC and precision-recall curves: flagging the rows with a
 * score >= @c threshold flags @c tp anomalies and @c fp normal rows. Frozen
 * layout.
 * @since 0.2.0
 */
typedef struct anoma_curve_point {
    double threshold; /**< a score of the data: rows scoring at least this are flagged */
    size_t tp;        /**< anomalies flagged */
    size_t fp;        /**< normal rows flagged */
} anoma_curve_point;

/**
 * @brief The points of the ROC and precision-recall curves, thinned to a
 *        stated error.
 *
 * The full curve has one point per distinct score, from the highest score
 * down (tied rows move together), the last one flagging every row: the
 * points of scikit-learn's `roc_curve(drop_intermediate=False)` (without its
 * first point, (0, 0)) and of `precision_recall_curve`, the ones
 * anoma_roc_auc() and anoma_average_precision() sum over. With
 * @p tolerance > 0 a point is kept only when its true-positive rate
 * (tp / anomalies, the recall), false-positive rate (fp / normal rows) or
 * precision (tp / (tp + fp)) differs by more than @p tolerance from the
 * last point kept; the first and the last points are always kept. So every
 * point left out lies within @p tolerance, in each of the three, of a point
 * kept (the last one kept before it), and a curve drawn through the kept
 * points is within @p tolerance of every point of the full one, whatever
 * n is. A rate whose denominator is 0 (no anomaly, no normal row) counts
 * as 0. With @p tolerance 0 every point is kept.
 *
 * Sized as snprintf(): @p n_points receives the number of points kept,
 * and the first min(@p cap, that number) are written to @p points (which
 * may be NULL when @p cap is 0): call with @p cap 0 to learn the size.
 * @param scores @p n scores, higher = more anomalous.
 * @param labels @p n labels, 1 = anomaly, 0 = normal.
 * @param n number of rows.
 * @param tolerance the largest change of a rate or the precision left out
 *        between kept points, in [0, 1].
 * @param points caller-owned room for @p cap points, in curve order.
 * @param cap number of points @p points holds.
 * @param n_points receives the number of points kept (never more than n).
 * @return ::ANOMA_OK; ::ANOMA_ERR_EMPTY (n = 0); ::ANOMA_ERR_INVALID_ARGUMENT
 *         (a label not 0/1, a NULL pointer, @p tolerance outside [0, 1] or
 *         NaN); ::ANOMA_ERR_NONFINITE (a score); ::ANOMA_ERR_NO_MEMORY.
 *         Nothing is written on error.
 * @note Thread-safe; allocates only temporary memory (n points).
 * @since 0.2.0
 */
ANOMA_API anoma_status anoma_curve_points(const double *scores, const int *labels, size_t n,
                                          double tolerance, anoma_curve_point *points,
                                          size_t cap, size_t *n_points);

#ifdef __cplusplus
}
#endif
#endif /* ANOMA_METRICS_H */
