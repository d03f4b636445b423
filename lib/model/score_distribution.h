/* A distribution of scores, kept as at most AN_DISTRIBUTION_KNOTS quantiles
 * of a calibration sample, and the rank of a score within it: the rank
 * normalisation of an ensemble member and the model's default probability
 * (docs/model.md, "Ensembles" and "Probability"). */
#ifndef AN_MODEL_SCORE_DISTRIBUTION_H
#define AN_MODEL_SCORE_DISTRIBUTION_H

#include "anoma/common.h"
#include "io/bytes.h"

#include <stddef.h>

/* 1025 knots: ranks between them are within 1/1024 + 1/n of the share of
 * the n calibration scores at or below a score, in 8 KiB of model file. */
enum { AN_DISTRIBUTION_KNOTS = 1025 };

typedef struct an_distribution {
    double *knots; /* n non-decreasing finite values; NULL when none learned */
    size_t n;
} an_distribution;

/* Learn from n scores (NaN scores are left out): the sorted scores when at
 * most AN_DISTRIBUTION_KNOTS remain, else their quantiles at j / 1024
 * (NumPy's linear rule). No score left: an empty distribution. */
anoma_status an_distribution_learn(an_distribution *d, const double *scores, size_t n);
/* The same from n scores without NaN that the caller no longer needs in
 * their order: sorts them in place (they are then ascending) instead of
 * sorting a copy, the same knots. */
anoma_status an_distribution_learn_sorting(an_distribution *d, double *scores, size_t n);

/* The rank of s in [0, 1]: 0 below the first knot, 1 at or above the last,
 * else (j + (s - k[j]) / (k[j+1] - k[j])) / (n - 1) with j the last knot at
 * or below s. Non-decreasing in s; NaN for NaN. Needs n >= 1. */
double an_distribution_rank(const an_distribution *d, double s);

void an_distribution_free(an_distribution *d);

/* u64 count, then the knots. */
void an_distribution_save(const an_distribution *d, an_writer *w);
/* Read what an_distribution_save wrote, checking the count (at most
 * AN_DISTRIBUTION_KNOTS), finiteness and order; `what` names it in errors. */
anoma_status an_distribution_load(an_distribution *d, an_reader *r, const char *what);

#endif
