/* Statistics of double arrays without NaN, as numpy computes them. */
#ifndef AN_CORE_STATS_H
#define AN_CORE_STATS_H

#include <stddef.h>

/* numpy's pairwise summation (the algorithm of np.sum on a contiguous
 * double array), so means and variances agree with numpy to the last bit. */
double an_sum(const double *v, size_t n);
/* np.mean: an_sum / n (n >= 1). */
double an_mean(const double *v, size_t n);
/* Whether v[0..n) holds a NaN or an infinity: a quick scan that
 * vectorises, to search exactly only where it finds one (a test of each
 * value with an exit took a tenth of a Mahalanobis fit over 100000 rows). */
int an_any_nonfinite(const double *v, size_t n);
/* Ascending sort in place; allocates nothing. */
void an_sort_doubles(double *v, size_t n);
/* Reorder v so that v[k] holds what a full sort would put there, with no
 * larger value before it and no smaller one after; expected O(n). */
void an_select_doubles(double *v, size_t n, size_t k);
/* np.median(v) (n >= 1), by selection; reorders v. */
double an_median(double *v, size_t n);
/* np.percentile(v, 100 q), 'linear' (n >= 1, q in [0, 1]), by selection;
 * reorders v. */
double an_quantile(double *v, size_t n, double q);
/* np.median of sorted values (n >= 1). */
double an_median_sorted(const double *sorted, size_t n);
/* np.percentile(values, 100 q) with the default 'linear' method, of sorted
 * values (n >= 1, q in [0, 1]). */
double an_quantile_sorted(const double *sorted, size_t n, double q);

#endif
