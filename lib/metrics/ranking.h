/* The ranking behind every threshold-free metric: rows sorted by score from
 * high to low, collapsed to one point per distinct score, as scikit-learn's
 * _binary_clf_curve does. */
#ifndef AN_METRICS_RANKING_H
#define AN_METRICS_RANKING_H

#include "anoma/common.h"

/* Check the inputs every metric shares and count the classes: n > 0,
 * non-NULL arrays, labels 0/1, finite scores. `fn` names the caller in
 * messages, which also name the first bad index. */
anoma_status an_scored_check(const char *fn, const double *scores, const int *labels, size_t n,
                             size_t *positives, size_t *negatives);

/* Predicting "anomaly" for score >= `score` flags tp anomalies and fp
 * normal rows. */
typedef struct an_curve_point {
    double score;
    size_t tp, fp;
} an_curve_point;

typedef struct an_curve {
    an_curve_point *points; /* distinct scores, descending; the last one flags every row */
    size_t n_points;
    size_t positives, negatives;
} an_curve;

/* Build the curve of checked input (call an_scored_check first). */
anoma_status an_curve_make(const double *scores, const int *labels, size_t n, an_curve *out);
void an_curve_free(an_curve *curve);

/* The threshold that flags exactly points 0..k under "score > threshold":
 * the largest score left unflagged, or the next double below the smallest
 * score when every row is flagged. */
double an_curve_cut(const an_curve *curve, size_t k);

/* The point with the highest F1 (the highest cut among equals); its F1 in
 * *f1. Needs positives > 0. */
size_t an_curve_best_f1(const an_curve *curve, double *f1);

/* Neumaier's compensated sum: sums of many small terms that stay within
 * an ulp or so of the exact value, whatever n is. */
typedef struct an_sum {
    double sum, carry;
} an_sum;

static inline void an_sum_add(an_sum *s, double x)
{
    double t = s->sum + x;
    if ((s->sum >= 0 ? s->sum : -s->sum) >= (x >= 0 ? x : -x))
        s->carry += (s->sum - t) + x;
    else
        s->carry += (x - t) + s->sum;
    s->sum = t;
}

static inline double an_sum_value(const an_sum *s) { return s->sum + s->carry; }

#endif
