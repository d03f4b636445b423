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

/* Sorting and selection in place, allocating nothing: glibc's qsort may
 * call malloc, which would bypass the host's allocator. Quicksort with a
 * median-of-three pivot, insertion sort for short ranges, and heapsort once
 * the recursion is deeper than 2 log2 n, so the worst case stays n log n. */

static void swap(double *a, double *b)
{
    double t = *a;
    *a = *b;
    *b = t;
}

static void insertion_sort(double *v, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        double x = v[i];
        size_t j = i;
        for (; j > 0 && v[j - 1] > x; j--)
            v[j] = v[j - 1];
        v[j] = x;
    }
}

static void sift_down(double *v, size_t root, size_t n)
{
    for (size_t child; (child = 2 * root + 1) < n; root = child) {
        if (child + 1 < n && v[child + 1] > v[child])
            child++;
        if (!(v[child] > v[root]))
            return;
        swap(&v[root], &v[child]);
    }
}

static void heap_sort(double *v, size_t n)
{
    for (size_t i = n / 2; i-- > 0;)
        sift_down(v, i, n);
    for (size_t end = n; end-- > 1;) {
        swap(&v[0], &v[end]);
        sift_down(v, 0, end);
    }
}

/* Hoare partition around the median of three; returns p with v[0..p] <=
 * pivot <= v[p+1..n). n >= 3. */
static size_t partition(double *v, size_t n)
{
    size_t mid = n / 2;
    if (v[mid] < v[0])
        swap(&v[mid], &v[0]);
    if (v[n - 1] < v[0])
        swap(&v[n - 1], &v[0]);
    if (v[n - 1] < v[mid])
        swap(&v[n - 1], &v[mid]);
    double pivot = v[mid];
    size_t i = 0, j = n - 1;
    for (;;) {
        while (v[i] < pivot)
            i++;
        while (v[j] > pivot)
            j--;
        if (i >= j)
            return j;
        swap(&v[i++], &v[j--]);
    }
}

static size_t depth_limit(size_t n)
{
    size_t d = 0;
    while (n >>= 1)
        d += 2;
    return d;
}

/* Sort v; with want < n, only as much as needed to place v[want]. */
static void intro(double *v, size_t n, size_t want, size_t depth)
{
    while (n > 16) {
        if (depth-- == 0) {
            heap_sort(v, n);
            return;
        }
        size_t p = partition(v, n);
        if (want < n) { /* selection: keep the side holding want */
            if (want <= p)
                n = p + 1;
            else {
                v += p + 1;
                want -= p + 1;
                n -= p + 1;
            }
            continue;
        }
        intro(v, p + 1, want, depth); /* sorting: recurse on one side, loop on the other */
        v += p + 1;
        n -= p + 1;
    }
    insertion_sort(v, n);
}

int an_any_nonfinite(const double *v, size_t n)
{
    /* x * 0 is 0 for a finite x and NaN otherwise, and a NaN stays in a
     * sum: four sums, as a compiler keeps no comparison-and-or reduction
     * of doubles in vector registers */
    double m[4] = {0, 0, 0, 0};
    size_t i = 0;
    for (; i + 4 <= n; i += 4)
        for (size_t k = 0; k < 4; k++)
            m[k] += v[i + k] * 0.0;
    for (; i < n; i++)
        m[0] += v[i] * 0.0;
    return isnan(m[0] + m[1] + m[2] + m[3]);
}

void an_sort_doubles(double *v, size_t n) { intro(v, n, n, depth_limit(n)); }

void an_select_doubles(double *v, size_t n, size_t k)
{
    if (k < n)
        intro(v, n, k, depth_limit(n));
}

static double min_of(const double *v, size_t n)
{
    double m = v[0];
    for (size_t i = 1; i < n; i++)
        m = v[i] < m ? v[i] : m;
    return m;
}

double an_median(double *v, size_t n)
{
    an_select_doubles(v, n, n / 2);
    if (n % 2)
        return v[n / 2];
    double lower = v[0]; /* the largest value below the upper middle */
    for (size_t i = 1; i < n / 2; i++)
        lower = v[i] > lower ? v[i] : lower;
    return 0.5 * lower + 0.5 * v[n / 2];
}

double an_quantile(double *v, size_t n, double q)
{
    double pos = (double)(n - 1) * q;
    size_t lo = pos >= (double)(n - 1) ? n - 1 : (size_t)floor(pos);
    an_select_doubles(v, n, lo);
    if (lo == n - 1)
        return v[n - 1];
    double t = pos - (double)lo;
    double a = v[lo], b = min_of(v + lo + 1, n - lo - 1), diff = b - a;
    return t >= 0.5 ? b - diff * (1 - t) : a + diff * t;
}

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

