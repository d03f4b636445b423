/* A score distribution as quantile knots, and ranks within it.
 *
 * Why knots and not every calibration score: a rank needs only the shape of
 * the distribution, and 100000 sorted doubles per member would make a model
 * file of a few kilobytes weigh megabytes. 1025 knots keep ranks within
 * 1/1024 of the exact ones; a sample that small is kept whole, so small
 * data has exact ranks. */
#include "model/score_distribution.h"
#include "core/alloc.h"
#include "core/error.h"
#include "core/order.h"
#include "core/radix_sort.h"
#include "core/stats.h"

#include <math.h>
#include <string.h>

/* Many scores (a fit's calibration rows, 10^5 by default) are sorted in
 * linear time; a fit would otherwise spend more on this sort than on
 * scoring them. */
static anoma_status sort_scores(double *v, size_t n)
{
    if (n < 4096) {
        an_sort_doubles(v, n);
        return ANOMA_OK;
    }
    uint64_t *scratch = an_malloc_array(n, 2 * sizeof *scratch);
    if (!scratch)
        return an_no_memory();
    an_radix_sort_doubles(v, n, scratch);
    an_free(scratch);
    return ANOMA_OK;
}

/* The knots of kept (>= 1) ascending scores: a copy of the scores
 * themselves when few, else their quantiles. */
static anoma_status knots_of_sorted(an_distribution *d, const double *sorted, size_t kept)
{
    size_t n = kept <= AN_DISTRIBUTION_KNOTS ? kept : AN_DISTRIBUTION_KNOTS;
    d->knots = AN_NEW_ARRAY(double, n);
    if (!d->knots)
        return an_no_memory();
    if (n == kept)
        memcpy(d->knots, sorted, kept * sizeof(double));
    else
        for (size_t j = 0; j < n; j++)
            d->knots[j] = an_quantile_sorted(sorted, kept, (double)j / (double)(n - 1));
    d->n = n;
    return ANOMA_OK;
}

anoma_status an_distribution_learn(an_distribution *d, const double *scores, size_t n)
{
    an_distribution_free(d);
    double *sorted = AN_NEW_ARRAY(double, n ? n : 1);
    if (!sorted)
        return an_no_memory();
    size_t kept = 0;
    for (size_t i = 0; i < n; i++)
        if (!isnan(scores[i]))
            sorted[kept++] = scores[i];
    anoma_status st = kept ? sort_scores(sorted, kept) : ANOMA_OK;
    if (st == ANOMA_OK && kept)
        st = knots_of_sorted(d, sorted, kept);
    an_free(sorted);
    return st;
}

anoma_status an_distribution_learn_sorting(an_distribution *d, double *scores, size_t n)
{
    an_distribution_free(d);
    if (!n)
        return ANOMA_OK;
    AN_TRY(sort_scores(scores, n));
    return knots_of_sorted(d, scores, n);
}

double an_distribution_rank(const an_distribution *d, double s)
{
    const double *k = d->knots;
    size_t n = d->n;
    if (isnan(s))
        return s;
    if (s < k[0])
        return 0;
    if (s >= k[n - 1])
        return 1;
    /* the last knot at or below s: k[lo] <= s < k[hi] */
    size_t hi = an_upper_bound(k, n, s), lo = hi - 1;
    return ((double)lo + (s - k[lo]) / (k[hi] - k[lo])) / (double)(n - 1);
}

void an_distribution_free(an_distribution *d)
{
    an_free(d->knots);
    d->knots = NULL;
    d->n = 0;
}

void an_distribution_save(const an_distribution *d, an_writer *w)
{
    an_put_u64(w, d->n);
    an_put_f64_array(w, d->knots, d->n);
}

anoma_status an_distribution_load(an_distribution *d, an_reader *r, const char *what)
{
    an_distribution_free(d);
    size_t n = an_get_count(r, AN_DISTRIBUTION_KNOTS, sizeof(double));
    AN_TRY(an_reader_status(r));
    if (!n)
        return ANOMA_OK;
    d->knots = AN_NEW_ARRAY(double, n);
    if (!d->knots)
        return an_no_memory();
    d->n = n;
    an_get_f64_array(r, d->knots, n);
    anoma_status st = an_reader_status(r);
    for (size_t j = 0; st == ANOMA_OK && j < n; j++)
        if (!isfinite(d->knots[j]) || (j && d->knots[j] < d->knots[j - 1]))
            st = an_error(ANOMA_ERR_FORMAT, "model file: %s: knot %zu of %zu is %s", what, j, n,
                          isfinite(d->knots[j]) ? "below the one before it" : "not finite");
    if (st != ANOMA_OK)
        an_distribution_free(d);
    return st;
}
