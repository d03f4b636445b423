/* chi2.isf by bisection on the regularised upper incomplete gamma function
 * Q(k/2, x/2), computed by its series below a + 1 and by its continued
 * fraction (modified Lentz) above, as in Numerical Recipes' gammq. */
#include "core/chi2.h"

#include <float.h>
#include <math.h>

enum { MAX_TERMS = 1000 };

/* Q(a, x) for a > 0, x >= 0. */
static double upper_gamma(double a, double x)
{
    if (x <= 0)
        return 1;
    double log_prefix = a * log(x) - x - lgamma(a);
    if (x < a + 1) { /* P by its series, Q = 1 - P */
        double term = 1 / a, sum = term;
        for (int n = 1; n < MAX_TERMS && fabs(term) > fabs(sum) * DBL_EPSILON; n++) {
            term *= x / (a + n);
            sum += term;
        }
        return 1 - sum * exp(log_prefix);
    }
    double tiny = DBL_MIN / DBL_EPSILON;
    double b = x + 1 - a, c = 1 / tiny, d = 1 / b, h = d;
    for (int i = 1; i < MAX_TERMS; i++) {
        double an = -i * (i - a);
        b += 2;
        d = an * d + b;
        d = fabs(d) < tiny ? tiny : d;
        c = b + an / c;
        c = fabs(c) < tiny ? tiny : c;
        d = 1 / d;
        double step = d * c;
        h *= step;
        if (fabs(step - 1) <= DBL_EPSILON)
            break;
    }
    return exp(log_prefix) * h;
}

double an_chi2_isf(double q, double k)
{
    double a = k / 2, lo = 0, hi = k + 1;
    while (upper_gamma(a, hi / 2) > q)
        hi *= 2;
    /* Q decreases in x: halve [lo, hi] until it cannot shrink */
    for (int i = 0; i < 200 && hi - lo > hi * DBL_EPSILON; i++) {
        double mid = lo + (hi - lo) / 2;
        if (upper_gamma(a, mid / 2) > q)
            lo = mid;
        else
            hi = mid;
    }
    return lo + (hi - lo) / 2;
}
