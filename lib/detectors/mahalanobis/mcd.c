/* FastMCD (Rousseeuw and Van Driessen 1999) as scikit-learn 1.2's fast_mcd,
 * then MinCovDet's consistency correction and reweighting.
 *
 * A C-step moves a support of h rows to the h rows nearest (Mahalanobis) to
 * the support's own mean and covariance, which never raises the
 * determinant. One feature: the shortest half. More features, up to 500
 * rows: 30 random supports, 2 C-steps each, the 10 of least determinant
 * carried on to convergence (at most 30 steps), the best kept. More than
 * 500 rows: subsets of about 300 rows (500 random starts in all, 10 kept per
 * subset, 2 steps each), pooled on a random 1500 rows (10 kept if there are
 * more rows, else 1), then on the whole data. One generator (seed, stream
 * 0) draws every permutation in order, so a seed gives one result whatever
 * the thread count (the work runs on the calling thread).
 *
 * The determinant of a singular support counts as 0 (log -inf), as
 * scikit-learn's fast_logdet: such a support stops its C-steps and wins.
 * Distances use the factor of mahalanobis.h (with its ridge). Then: raw
 * distances d_i of every row, correction c = median(d) / chi2(p).isf(0.5),
 * and the rows with d_i / c < chi2(p).isf(0.025) make the final location
 * and covariance. */
#include "detectors/mahalanobis/mahalanobis.h"
#include "core/alloc.h"
#include "core/chi2.h"
#include "core/error.h"
#include "core/stats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct ranked {
    double dist;
    size_t row;
} ranked;

/* What the C-steps share: buffers sized for all n rows. */
typedef struct mcd {
    size_t d;
    an_rng rng;
    ranked *ranks;  /* n */
    size_t *rows;   /* n: a support, or a permutation being drawn */
    double *work;   /* n x d */
    an_ellipsoid cur, prev, start;
} mcd;

/* A set of candidates: k locations, covariances and log-determinants. */
typedef struct candidates {
    size_t k;
    double *mean, *cov, *log_det;
} candidates;

static anoma_status candidates_alloc(candidates *c, size_t k, size_t d)
{
    c->k = k;
    c->mean = an_malloc_array(k, d * sizeof(double));
    c->cov = an_malloc_array(k, d * d * sizeof(double));
    c->log_det = AN_NEW_ARRAY(double, k);
    return c->mean && c->cov && c->log_det ? ANOMA_OK : an_no_memory();
}

static void candidates_free(candidates *c)
{
    an_free(c->mean);
    an_free(c->cov);
    an_free(c->log_det);
    memset(c, 0, sizeof *c);
}

static void candidates_put(candidates *c, size_t i, const an_ellipsoid *e)
{
    size_t d = e->d;
    memcpy(c->mean + i * d, e->mean, d * sizeof(double));
    memcpy(c->cov + i * d * d, e->cov, d * d * sizeof(double));
    c->log_det[i] = e->log_det;
}

static int by_distance(const void *a, const void *b)
{
    const ranked *x = a, *y = b;
    if (x->dist != y->dist)
        return x->dist < y->dist ? -1 : 1;
    return x->row < y->row ? -1 : x->row > y->row;
}

/* m->rows[0..h) = the h rows of x (m_rows of them) nearest to e. */
static void nearest(mcd *m, const an_ellipsoid *e, const double *x, size_t m_rows, size_t h)
{
    for (size_t i = 0; i < m_rows; i++) {
        m->ranks[i].dist = an_ellipsoid_distance(e, x + i * m->d, m->work);
        m->ranks[i].row = i;
    }
    qsort(m->ranks, m_rows, sizeof *m->ranks, by_distance);
    for (size_t i = 0; i < h; i++)
        m->rows[i] = m->ranks[i].row;
}

/* The first h of a uniformly random permutation of m_rows rows. */
static void random_support(mcd *m, size_t m_rows, size_t h)
{
    for (size_t i = 0; i < m_rows; i++)
        m->rows[i] = i;
    for (size_t i = 0; i < h; i++) { /* partial Fisher-Yates */
        size_t j = i + (size_t)an_rng_below(&m->rng, m_rows - i);
        size_t t = m->rows[i];
        m->rows[i] = m->rows[j];
        m->rows[j] = t;
    }
}

static int allclose(double a, double b)
{
    return fabs(a - b) <= 1e-8 + 1e-5 * fabs(b);
}

/* scikit-learn's _c_step on x (m_rows x d): from a random support, or from
 * the rows nearest to `start`; the result in *result (cur or prev). */
static anoma_status c_step(mcd *m, const double *x, size_t m_rows, size_t h, int from_start,
                           int n_iter, const an_ellipsoid **result)
{
    if (from_start)
        nearest(m, &m->start, x, m_rows, h);
    else
        random_support(m, m_rows, h);
    AN_TRY(an_ellipsoid_estimate(&m->cur, x, m->rows, h, m->work));
    double previous = INFINITY;
    int left = n_iter;
    while (m->cur.log_det < previous && left > 0 && isfinite(m->cur.log_det)) {
        an_ellipsoid_copy(&m->prev, &m->cur);
        previous = m->cur.log_det;
        nearest(m, &m->prev, x, m_rows, h);
        AN_TRY(an_ellipsoid_estimate(&m->cur, x, m->rows, h, m->work));
        left--;
    }
    double det = m->cur.log_det;
    int went_up = left > 0 && isfinite(det) && det > previous && !allclose(det, previous);
    *result = went_up ? &m->prev : &m->cur;
    return ANOMA_OK;
}

/* scikit-learn's select_candidates: n_trials C-steps on x (random starts
 * when from is NULL, else from each of its candidates), the `out->k` of
 * least determinant into out (ties: the earlier trial). */
static anoma_status select_best(mcd *m, const double *x, size_t m_rows, size_t h,
                                size_t n_trials, const candidates *from, int n_iter,
                                candidates *out)
{
    candidates all = {0};
    size_t *order = AN_NEW_ARRAY(size_t, n_trials);
    anoma_status st = order ? candidates_alloc(&all, n_trials, m->d) : an_no_memory();
    size_t d = m->d;
    for (size_t t = 0; t < n_trials && st == ANOMA_OK; t++) {
        if (from) {
            memcpy(m->start.mean, from->mean + t * d, d * sizeof(double));
            memcpy(m->start.cov, from->cov + t * d * d, d * d * sizeof(double));
            st = an_ellipsoid_factor(&m->start);
        }
        const an_ellipsoid *result = NULL;
        if (st == ANOMA_OK)
            st = c_step(m, x, m_rows, h, from != NULL, n_iter, &result);
        if (st == ANOMA_OK)
            candidates_put(&all, t, result);
    }
    /* a stable selection of the out->k least determinants */
    for (size_t t = 0; t < n_trials && st == ANOMA_OK; t++)
        order[t] = t;
    for (size_t i = 0; i < out->k && st == ANOMA_OK; i++) {
        size_t best = i;
        for (size_t t = i + 1; t < n_trials; t++)
            if (all.log_det[order[t]] < all.log_det[order[best]] ||
                (all.log_det[order[t]] == all.log_det[order[best]] && order[t] < order[best]))
                best = t;
        size_t chosen = order[best];
        memmove(order + i + 1, order + i, (best - i) * sizeof *order);
        order[i] = chosen;
        memcpy(out->mean + i * d, all.mean + chosen * d, d * sizeof(double));
        memcpy(out->cov + i * d * d, all.cov + chosen * d * d, d * d * sizeof(double));
        out->log_det[i] = all.log_det[chosen];
    }
    candidates_free(&all);
    an_free(order);
    return st;
}

/* x's rows rows[0..count) copied into dst, contiguous. */
static void gather(const double *x, size_t d, const size_t *rows, size_t count, double *dst)
{
    for (size_t i = 0; i < count; i++)
        memcpy(dst + i * d, x + rows[i] * d, d * sizeof(double));
}

static size_t ceil_share(size_t m, size_t h, size_t n)
{
    return (size_t)ceil((double)m * ((double)h / (double)n));
}

/* Rows over 500: subsets, then a merged set, then (over 1500) all rows. */
static anoma_status fast_mcd_large(mcd *m, const double *x, size_t n, size_t h,
                                   candidates *best)
{
    size_t d = m->d;
    size_t n_subsets = n / 300, per_subset = n / n_subsets;
    size_t h_subset = ceil_share(per_subset, h, n);
    size_t n_trials = 500 / n_subsets > 10 ? 500 / n_subsets : 10;
    size_t keep = 10;
    candidates pooled = {0}, sub = {0}, merged = {0};
    size_t *shuffle = AN_NEW_ARRAY(size_t, n);
    double *subset = an_malloc_array(n, d * sizeof(double));
    anoma_status st = shuffle && subset ? candidates_alloc(&pooled, n_subsets * keep, d)
                                        : an_no_memory();
    if (st == ANOMA_OK)
        st = candidates_alloc(&sub, keep, d);
    if (st == ANOMA_OK) {
        random_support(m, n, n); /* a full permutation */
        memcpy(shuffle, m->rows, n * sizeof *shuffle);
    }
    for (size_t i = 0; i < n_subsets && st == ANOMA_OK; i++) {
        gather(x, d, shuffle + i * per_subset, per_subset, subset);
        st = select_best(m, subset, per_subset, h_subset, n_trials, NULL, 2, &sub);
        for (size_t c = 0; c < keep && st == ANOMA_OK; c++) {
            memcpy(pooled.mean + (i * keep + c) * d, sub.mean + c * d, d * sizeof(double));
            memcpy(pooled.cov + (i * keep + c) * d * d, sub.cov + c * d * d,
                   d * d * sizeof(double));
            pooled.log_det[i * keep + c] = sub.log_det[c];
        }
    }
    size_t n_merged = n < 1500 ? n : 1500;
    size_t h_merged = ceil_share(n_merged, h, n);
    if (st == ANOMA_OK)
        st = candidates_alloc(&merged, n > 1500 ? 10 : 1, d);
    if (st == ANOMA_OK) {
        random_support(m, n, n_merged);
        memcpy(shuffle, m->rows, n_merged * sizeof *shuffle);
        gather(x, d, shuffle, n_merged, subset);
        st = select_best(m, subset, n_merged, h_merged, pooled.k, &pooled, 30, &merged);
    }
    if (st == ANOMA_OK && n >= 1500)
        st = select_best(m, x, n, h, merged.k, &merged, 30, best);
    else if (st == ANOMA_OK)
        candidates_put(best, 0, &(an_ellipsoid){.d = d, .mean = merged.mean, .cov = merged.cov,
                                                .log_det = merged.log_det[0]});
    candidates_free(&pooled);
    candidates_free(&sub);
    candidates_free(&merged);
    an_free(shuffle);
    an_free(subset);
    return st;
}

/* One feature: the mid-point of the shortest half (the mean of the
 * mid-points when several are shortest), the variance of the h rows
 * nearest to it. */
static anoma_status shortest_half(mcd *m, const double *x, size_t n, size_t h, an_ellipsoid *e)
{
    double *sorted = m->work;
    memcpy(sorted, x, n * sizeof(double));
    an_sort_doubles(sorted, n);
    double location = 0; /* set when h < n, the only case that reads it */
    if (h < n) {
        double shortest = INFINITY, sum = 0;
        size_t count = 0;
        for (size_t i = 0; i + h < n; i++)
            shortest = fmin(shortest, sorted[i + h] - sorted[i]);
        for (size_t i = 0; i + h < n; i++)
            if (sorted[i + h] - sorted[i] == shortest) {
                sum += 0.5 * (sorted[i + h] + sorted[i]);
                count++;
            }
        location = sum / (double)count;
        for (size_t i = 0; i < n; i++) {
            m->ranks[i].dist = fabs(x[i] - location);
            m->ranks[i].row = i;
        }
        qsort(m->ranks, n, sizeof *m->ranks, by_distance);
        for (size_t i = 0; i < h; i++)
            m->rows[i] = m->ranks[i].row;
    } else {
        for (size_t i = 0; i < n; i++)
            m->rows[i] = i;
    }
    AN_TRY(an_ellipsoid_estimate(e, x, m->rows, h, m->work));
    if (h < n) {
        e->mean[0] = location;
        AN_TRY(an_ellipsoid_factor(e));
    }
    return ANOMA_OK;
}

/* The raw estimate into e. */
static anoma_status fast_mcd(mcd *m, const double *x, size_t n, size_t h, an_ellipsoid *e)
{
    size_t d = m->d;
    if (d == 1)
        return shortest_half(m, x, n, h, e);
    candidates best = {0}, ten = {0};
    anoma_status st = candidates_alloc(&best, 1, d);
    if (st == ANOMA_OK && n > 500) {
        st = fast_mcd_large(m, x, n, h, &best);
    } else if (st == ANOMA_OK) {
        st = candidates_alloc(&ten, 10, d);
        if (st == ANOMA_OK)
            st = select_best(m, x, n, h, 30, NULL, 2, &ten);
        if (st == ANOMA_OK)
            st = select_best(m, x, n, h, ten.k, &ten, 30, &best);
    }
    if (st == ANOMA_OK) {
        memcpy(e->mean, best.mean, d * sizeof(double));
        memcpy(e->cov, best.cov, d * d * sizeof(double));
        st = an_ellipsoid_factor(e);
    }
    candidates_free(&best);
    candidates_free(&ten);
    return st;
}

static int all_near_zero(const double *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (fabs(v[i]) > 1e-8)
            return 0;
    return 1;
}

/* MinCovDet's correction and reweighting of the raw estimate in e. */
static anoma_status reweight(mcd *m, const double *x, size_t n, size_t h, an_ellipsoid *e,
                             size_t *support)
{
    size_t d = m->d;
    if (h < n && all_near_zero(e->cov, d * d))
        return an_error(ANOMA_ERR_INVALID_ARGUMENT, "mahalanobis: robust: the covariance of "
                        "the support is 0 (most rows are equal); raise support_fraction");
    double *dist = AN_NEW_ARRAY(double, n);
    double *copy = AN_NEW_ARRAY(double, n);
    anoma_status st = dist && copy ? ANOMA_OK : an_no_memory();
    for (size_t i = 0; st == ANOMA_OK && i < n; i++)
        dist[i] = copy[i] = an_ellipsoid_distance(e, x + i * d, m->work);
    double correction = st == ANOMA_OK ? an_median(copy, n) / an_chi2_isf(0.5, (double)d) : 0;
    if (st == ANOMA_OK && !(correction > 0 && isfinite(correction)))
        st = an_error(ANOMA_ERR_INVALID_ARGUMENT, "mahalanobis: robust: half the rows or more "
                      "sit at the robust location, so the consistency correction is 0; use "
                      "robust=false or raise support_fraction");
    size_t kept = 0;
    double cut = st == ANOMA_OK ? an_chi2_isf(0.025, (double)d) : 0;
    for (size_t i = 0; st == ANOMA_OK && i < n; i++)
        if (dist[i] / correction < cut)
            m->rows[kept++] = i;
    if (st == ANOMA_OK && !kept)
        st = an_error(ANOMA_ERR_INVALID_ARGUMENT, "mahalanobis: robust: reweighting kept no row");
    e->skip_constant = 0; /* the final estimate scores with the ridge rule */
    if (st == ANOMA_OK)
        st = an_ellipsoid_estimate(e, x, m->rows, kept, m->work);
    *support = kept;
    an_free(dist);
    an_free(copy);
    return st;
}

anoma_status an_mcd_fit(an_ellipsoid *e, const double *x, size_t n, size_t h, uint64_t seed,
                        double *raw_mean, double *raw_cov, size_t *raw_support,
                        size_t *support)
{
    size_t d = e->d;
    mcd m = {.d = d};
    an_rng_init(&m.rng, seed, 0);
    m.ranks = AN_NEW_ARRAY(ranked, n);
    m.rows = AN_NEW_ARRAY(size_t, n);
    m.work = an_malloc_array(n, d * sizeof(double));
    anoma_status st = m.ranks && m.rows && m.work ? ANOMA_OK : an_no_memory();
    if (st == ANOMA_OK)
        st = an_ellipsoid_alloc(&m.cur, d);
    if (st == ANOMA_OK)
        st = an_ellipsoid_alloc(&m.prev, d);
    if (st == ANOMA_OK)
        st = an_ellipsoid_alloc(&m.start, d);
    m.cur.skip_constant = m.prev.skip_constant = m.start.skip_constant = e->skip_constant = 1;
    if (st == ANOMA_OK)
        st = fast_mcd(&m, x, n, h, e);
    if (st == ANOMA_OK) {
        memcpy(raw_mean, e->mean, d * sizeof(double));
        memcpy(raw_cov, e->cov, d * d * sizeof(double));
        st = reweight(&m, x, n, h, e, support);
    }
    *raw_support = h;
    an_ellipsoid_free(&m.cur);
    an_ellipsoid_free(&m.prev);
    an_ellipsoid_free(&m.start);
    an_free(m.ranks);
    an_free(m.rows);
    an_free(m.work);
    return st;
}
