/* A model's anomaly probability: how a score becomes a number in [0, 1]
 * (docs/model.md, "Probability"). */
#ifndef AN_MODEL_PROBABILITY_H
#define AN_MODEL_PROBABILITY_H

#include "model/score_distribution.h"

typedef enum an_probability_method {
    AN_PROBABILITY_NONE = 0,         /* nothing learned: no training score, no labels */
    AN_PROBABILITY_DISTRIBUTION = 1, /* the rank among the calibration scores */
    AN_PROBABILITY_LOGISTIC = 2,     /* Platt's logistic fit on labelled rows */
} an_probability_method;

typedef struct an_probability {
    an_probability_method method;
    /* the model's scores on its calibration rows (kept once learned, also
     * when a logistic fit later takes over) */
    an_distribution scores;
    /* LOGISTIC: p = 1 / (1 + exp(-(slope * score + intercept))), slope >= 0 */
    double slope, intercept;
} an_probability;

/* Platt's fit of P(anomaly | score) on n labelled scores (no NaN; labels
 * 0/1 with both present): the logistic regression on the scores with his
 * smoothed targets (N+ + 1) / (N+ + 2) and 1 / (N- + 2), by Newton's method
 * with a backtracking line search (Lin, Lin and Weng, 2007). */
anoma_status an_probability_fit_logistic(const double *scores, const int *labels, size_t n,
                                         double *slope, double *intercept);

/* The probability of a score (NaN for NaN, and for NONE). */
double an_probability_of(const an_probability *p, double score);

void an_probability_free(an_probability *p);

/* The PROBABILITY section's payload, and back with every value checked. */
void an_probability_save(const an_probability *p, an_writer *w);
anoma_status an_probability_load(an_probability *p, an_reader *r);

#endif
