/* The ROC and precision-recall curves as points, thinned to a stated error
 * (anoma_curve_points, metrics.h): the ranking the metrics use, handed out,
 * so a report draws the curves the numbers were computed from. */
#include "anoma/metrics.h"
#include "core/error.h"
#include "metrics/ranking.h"

#include <math.h>

/* x / d, 0 when d is 0: a rate of a class that is absent. */
static double rate(size_t x, size_t d)
{
    return d ? (double)x / (double)d : 0.0;
}

/* Does p move away from the last kept point k by more than tolerance in
 * the true-positive rate, false-positive rate or precision? */
static int moves(const an_curve *c, const an_curve_point *k, const an_curve_point *p,
                 double tolerance)
{
    return fabs(rate(p->tp, c->positives) - rate(k->tp, c->positives)) > tolerance ||
           fabs(rate(p->fp, c->negatives) - rate(k->fp, c->negatives)) > tolerance ||
           fabs(rate(p->tp, p->tp + p->fp) - rate(k->tp, k->tp + k->fp)) > tolerance;
}

anoma_status anoma_curve_points(const double *scores, const int *labels, size_t n,
                                double tolerance, anoma_curve_point *points, size_t cap,
                                size_t *n_points)
{
    static const char fn[] = "anoma_curve_points";
    size_t positives, negatives;
    AN_TRY(an_scored_check(fn, scores, labels, n, &positives, &negatives));
    if (!n_points || (cap > 0 && !points))
        return an_error(ANOMA_ERR_INVALID_ARGUMENT, "%s: NULL %s", fn,
                        !n_points ? "n_points" : "points with cap > 0");
    if (!(tolerance >= 0 && tolerance <= 1))
        return an_error(ANOMA_ERR_INVALID_ARGUMENT, "%s: tolerance = %g; expected a number in "
                        "[0, 1]", fn, tolerance);
    an_curve c;
    AN_TRY(an_curve_make(scores, labels, n, &c));
    size_t kept = 0;
    const an_curve_point *last = NULL;
    for (size_t k = 0; k < c.n_points; k++) {
        const an_curve_point *p = &c.points[k];
        if (last && k + 1 < c.n_points && !moves(&c, last, p, tolerance))
            continue;
        if (kept < cap)
            points[kept] = (anoma_curve_point){p->score, p->tp, p->fp};
        kept++;
        last = p;
    }
    *n_points = kept;
    an_curve_free(&c);
    return ANOMA_OK;
}
