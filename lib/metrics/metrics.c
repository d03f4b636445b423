/* ROC AUC, average precision, confusion counts and the best-F1 cut.
 *
 * The threshold-free metrics follow scikit-learn 1.2 (roc_curve,
 * precision_recall_curve, average_precision_score) point for point; they
 * differ only in how the sums are rounded, never by more than a few ulps:
 * - ROC AUC is the trapezoid area summed in integer counts, (fp_k -
 *   fp_{k-1}) * (tp_k + tp_{k-1}), divided once by 2 P N at the end: exact
 *   while 2 P N < 2^53. scikit-learn's dropping of collinear points does not
 *   change that area.
 * - Average precision sums (tp_k - tp_{k-1}) * precision_k with compensated
 *   summation and divides by P once.
 * Deliberate difference: with no anomaly at all, scikit-learn warns and
 * returns 0 for average precision (recall is set to 1); here that is
 * ANOMA_ERR_INVALID_ARGUMENT, because the value means nothing. All-anomaly
 * labels give 1, as in scikit-learn. */
#include "anoma/metrics.h"
#include "core/error.h"
#include "metrics/ranking.h"

#include <math.h>

/* Inputs checked and ranked; `need_negatives` for metrics that are
 * undefined without normal rows. */
static anoma_status ranked(const char *fn, const double *scores, const int *labels, size_t n,
                           const void *result, int need_negatives, an_curve *curve)
{
    size_t positives, negatives;
    AN_TRY(an_scored_check(fn, scores, labels, n, &positives, &negatives));
    if (!result)
        return an_error(ANOMA_ERR_INVALID_ARGUMENT, "%s: NULL result pointer", fn);
    if (positives == 0)
        return an_error(ANOMA_ERR_INVALID_ARGUMENT,
                        "%s: no anomaly among the %zu labels: the metric is undefined", fn, n);
    if (need_negatives && negatives == 0)
        return an_error(ANOMA_ERR_INVALID_ARGUMENT,
                        "%s: only anomalies among the %zu labels: the metric is undefined", fn, n);
    return an_curve_make(scores, labels, n, curve);
}

anoma_status anoma_roc_auc(const double *scores, const int *labels, size_t n, double *auc)
{
    an_curve c;
    AN_TRY(ranked("anoma_roc_auc", scores, labels, n, auc, 1, &c));
    an_sum area2 = {0}; /* twice the area, in counts */
    size_t tp_prev = 0, fp_prev = 0;
    for (size_t k = 0; k < c.n_points; k++) {
        const an_curve_point *p = &c.points[k];
        an_sum_add(&area2, (double)(p->fp - fp_prev) * (double)(p->tp + tp_prev));
        tp_prev = p->tp;
        fp_prev = p->fp;
    }
    *auc = an_sum_value(&area2) / (2.0 * (double)c.positives * (double)c.negatives);
    an_curve_free(&c);
    return ANOMA_OK;
}

anoma_status anoma_average_precision(const double *scores, const int *labels, size_t n,
                                     double *ap)
{
    an_curve c;
    AN_TRY(ranked("anoma_average_precision", scores, labels, n, ap, 0, &c));
    an_sum sum = {0};
    size_t tp_prev = 0;
    for (size_t k = 0; k < c.n_points; k++) {
        const an_curve_point *p = &c.points[k];
        if (p->tp > tp_prev)
            an_sum_add(&sum, (double)(p->tp - tp_prev) * ((double)p->tp / (double)(p->tp + p->fp)));
        tp_prev = p->tp;
    }
    *ap = an_sum_value(&sum) / (double)c.positives;
    an_curve_free(&c);
    return ANOMA_OK;
}

anoma_status anoma_confusion_at(const double *scores, const int *labels, size_t n,
                                double threshold, anoma_confusion *out)
{
    static const char fn[] = "anoma_confusion_at";
    size_t positives, negatives;
    AN_TRY(an_scored_check(fn, scores, labels, n, &positives, &negatives));
    if (!out)
        return an_error(ANOMA_ERR_INVALID_ARGUMENT, "%s: NULL result pointer", fn);
    if (isnan(threshold))
        return an_error(ANOMA_ERR_INVALID_ARGUMENT, "%s: the threshold is NaN", fn);
    size_t tp = 0, fp = 0;
    for (size_t i = 0; i < n; i++) {
        if (scores[i] > threshold) {
            tp += (size_t)labels[i];
            fp += (size_t)(1 - labels[i]);
        }
    }
    anoma_confusion c = {0};
    c.tp = tp;
    c.fp = fp;
    c.fn = positives - tp;
    c.tn = negatives - fp;
    c.precision = tp + fp ? (double)tp / (double)(tp + fp) : 0.0;
    c.recall = positives ? (double)tp / (double)positives : 0.0;
    size_t f1_den = 2 * tp + fp + c.fn;
    c.f1 = f1_den ? 2.0 * (double)tp / (double)f1_den : 0.0;
    c.accuracy = (double)(tp + c.tn) / (double)n;
    *out = c;
    return ANOMA_OK;
}

anoma_status anoma_best_f1(const double *scores, const int *labels, size_t n, double *threshold,
                           double *f1)
{
    an_curve c;
    AN_TRY(ranked("anoma_best_f1", scores, labels, n, threshold, 0, &c));
    double best;
    size_t best_k = an_curve_best_f1(&c, &best);
    *threshold = an_curve_cut(&c, best_k);
    if (f1)
        *f1 = best;
    an_curve_free(&c);
    return ANOMA_OK;
}
