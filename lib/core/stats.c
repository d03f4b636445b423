/* Statistics of double arrays (no NaN), computed exactly as numpy does so
 * that results agree with numpy to the last bit. */
#include "core/stats.h"

#include <math.h>
#include <stdlib.h>

/* numpy's pairwise_sum for doubles (numpy/core/src/umath/loops_utils.h.src):
 * plain below 8 values, eight accumulators up to 128, halves above. */
double an_sum(const double *v, size_t n)
{
    if (n < 8) {
        double res = 0.;
        for (size_t i = 0; i < n; i++)
            res += v[i];
        return res;
    }
    if (n <= 128) {
        double r[8];
        for (int k = 0; k < 8; k++)
            r[k] = v[k];
        size_t i;
        for (i = 8; i < n - (n % 8); i += 8)
            for (int k = 0; k < 8; k++)
                r[k] += v[i + (size_t)k];
        double res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for (; i < n; i++)
            res += v[i];
        return res;
    }
    size_t n2 = n / 2;
    n2 -= n2 % 8;
    return an_sum(v, n2) + an_sum(v + n2, n - n2);
}

double an_mean(const double *v, size_t n) { return an_sum(v, n) / (double)n; }

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

void an_sort_doubles(double *v, size_t n) { qsort(v, n, sizeof *v, compare_doubles); }

double an_median_sorted(const double *sorted, size_t n)
{
    if (n % 2)
        return sorted[n / 2];
    /* numpy takes the mean of the middle two, (a + b) / 2; halving each
     * first gives the same double (halving is exact) without overflowing. */
    return 0.5 * sorted[n / 2 - 1] + 0.5 * sorted[n / 2];
}

double an_quantile_sorted(const double *sorted, size_t n, double q)
{
    double pos = (double)(n - 1) * q; /* numpy: (n - 1) * quantiles */
    if (pos >= (double)(n - 1))
        return sorted[n - 1];
    size_t lo = (size_t)floor(pos);
    double t = pos - (double)lo;
    double a = sorted[lo], b = sorted[lo + 1], diff = b - a;
    /* numpy's _lerp: from the nearer end, so that t = 1 would give b exactly */
    return t >= 0.5 ? b - diff * (1 - t) : a + diff * t;
}

