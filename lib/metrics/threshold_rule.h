/* A threshold chosen on labelled scores by a rule: the best F1, a target
 * precision or a target recall, read from the same ranking (curve) as
 * every other metric. */
#ifndef AN_METRICS_THRESHOLD_RULE_H
#define AN_METRICS_THRESHOLD_RULE_H

#include "anoma/common.h"

#include <stddef.h>

typedef enum an_threshold_goal {
    AN_GOAL_BEST_F1,
    AN_GOAL_PRECISION, /* the lowest cut whose precision >= target */
    AN_GOAL_RECALL,    /* the highest cut whose recall >= target */
} an_threshold_goal;

typedef struct an_threshold_rule {
    an_threshold_goal goal;
    double target; /* in (0, 1]; unused for best_f1 */
} an_threshold_rule;

/* Read "best_f1", "precision=P" or "recall=R" (P, R in (0, 1]); `fn` names
 * the caller in messages. */
anoma_status an_threshold_rule_parse(const char *fn, const char *text, an_threshold_rule *out);

/* The threshold t such that "score > t" flags exactly the rows the rule
 * chose. Checks the scores and labels as every metric does; no anomaly
 * among the labels, or a precision no cut reaches, is an error (the latter
 * names the best precision reachable). */
anoma_status an_threshold_rule_apply(const char *fn, const an_threshold_rule *rule,
                                     const double *scores, const int *labels, size_t n,
                                     double *threshold);

#endif
