#include "metrics/threshold_rule.h"
#include "core/error.h"
#include "core/params.h"
#include "metrics/ranking.h"

#include <float.h>
#include <math.h>
#include <string.h>

anoma_status an_threshold_rule_parse(const char *fn, const char *text, an_threshold_rule *out)
{
    if (!text)
        return an_error(ANOMA_ERR_INVALID_ARGUMENT, "%s: NULL rule", fn);
    if (!strcmp(text, "best_f1")) {
        *out = (an_threshold_rule){AN_GOAL_BEST_F1, 0.0};
        return ANOMA_OK;
    }
    static const char precision[] = "precision=", recall[] = "recall=";
    const char *value = NULL;
    an_threshold_goal goal = AN_GOAL_PRECISION;
    if (!strncmp(text, precision, sizeof precision - 1)) {
        value = text + sizeof precision - 1;
    } else if (!strncmp(text, recall, sizeof recall - 1)) {
        value = text + sizeof recall - 1;
        goal = AN_GOAL_RECALL;
    } else {
        return an_error(ANOMA_ERR_PARAM_VALUE, "%s: rule '%s': expected best_f1, precision=P or "
                        "recall=R (P, R in (0, 1])", fn, text);
    }
    double target;
    if (!an_parse_double(value, &target) || !(target > 0.0 && target <= 1.0))
        return an_error(ANOMA_ERR_PARAM_VALUE, "%s: rule '%s': the target must be a number in "
                        "(0, 1]", fn, text);
    *out = (an_threshold_rule){goal, target};
    return ANOMA_OK;
}

static double precision_at(const an_curve_point *p)
{
    return (double)p->tp / (double)(p->tp + p->fp);
}

/* The point a rule chooses, or an error for an unreachable precision. A
 * recall target is always reached: the last point flags every row. */
static anoma_status choose_point(const char *fn, const an_threshold_rule *rule,
                                 const an_curve *c, size_t *chosen)
{
    if (rule->goal == AN_GOAL_BEST_F1) {
        double f1;
        *chosen = an_curve_best_f1(c, &f1);
        return ANOMA_OK;
    }
    if (rule->goal == AN_GOAL_RECALL) {
        /* tp grows with k: the first point reaching the recall is the highest cut */
        size_t k = 0;
        while ((double)c->points[k].tp / (double)c->positives < rule->target)
            k++;
        *chosen = k;
        return ANOMA_OK;
    }
    /* precision: the last point reaching it flags the most anomalies */
    size_t found = c->n_points, best_k = 0;
    double best = -1.0;
    for (size_t k = 0; k < c->n_points; k++) {
        double p = precision_at(&c->points[k]);
        if (p >= rule->target)
            found = k;
        if (p > best) {
            best = p;
            best_k = k;
        }
    }
    if (found == c->n_points)
        return an_error(ANOMA_ERR_INVALID_ARGUMENT, "%s: precision=%g is not reachable on these "
                        "labels: the best precision is %.6g (flagging the %zu highest-scored "
                        "rows)", fn, rule->target, best,
                        c->points[best_k].tp + c->points[best_k].fp);
    *chosen = found;
    return ANOMA_OK;
}

anoma_status an_threshold_rule_apply(const char *fn, const an_threshold_rule *rule,
                                     const double *scores, const int *labels, size_t n,
                                     double *threshold)
{
    size_t positives, negatives;
    AN_TRY(an_scored_check(fn, scores, labels, n, &positives, &negatives));
    if (positives == 0)
        return an_error(ANOMA_ERR_INVALID_ARGUMENT, "%s: no anomaly (label 1) among the %zu "
                        "labels: no threshold can be chosen", fn, n);
    an_curve c;
    AN_TRY(an_curve_make(scores, labels, n, &c));
    size_t k = 0;
    anoma_status st = choose_point(fn, rule, &c, &k);
    if (st == ANOMA_OK) {
        double t = an_curve_cut(&c, k);
        /* Every row flagged and the smallest score 0: the double below 0 is
         * subnormal, which a parameter text refuses; -DBL_MIN flags the
         * same rows. */
        if (t < 0 && t > -DBL_MIN && k + 1 == c.n_points)
            t = -DBL_MIN;
        *threshold = t;
    }
    an_curve_free(&c);
    return st;
}
