/* Brute-force batch search: for a block of queries against a block of
 * indexed rows, one single-precision GEMM on centred, scaled rows gives
 * q.x - (1 - c) ||x||^2 / 2 (the last column of the indexed block holds
 * -(1 - c) ||x||^2 / 2, so no pass over the block is needed to add the
 * norms), and so a value v = ||q||^2 - 2 (that) close to the squared
 * distance D = ||q - x||^2 minus c ||x||^2.
 *
 * Those values are fast but not exact: single precision, and a formula
 * that cancels. They are used only to filter candidates, through bounds.
 * The float conversion and the float GEMM of d + 1 terms err by at most
 * e = c (||q||^2 + ||x||^2) + a, with c = 8 (d + 8) FLT_EPSILON and an
 * absolute term a for values that underflow. So D >= v - c ||q||^2 - a,
 * a lower bound L that needs nothing of the row but its GEMM value (the
 * c ||x||^2 folded into the GEMM column is what makes it so), and D <= U =
 * L + 2 (c ||q||^2 + a) + 2 c ||x||^2. Each query keeps as its limit the
 * k-th smallest upper bound of the rows offered so far (taken by a
 * selection over its candidate list whenever the list fills): it is never
 * below the true k-th distance, so a row whose lower bound is above it
 * cannot be a neighbour, and every other row is kept as a candidate. The
 * survivors' distances are then recomputed exactly in double (heap.h,
 * an_sq_dist) and the k best pairs kept, so the answer is the exact one,
 * ties by index included. The bounds use each row's own norm, so a few
 * far outliers do not widen every query's filter. Rows are centred on the
 * column means (data far from the origin would otherwise cancel every
 * digit) and scaled by a power of two (exact) that brings every indexed
 * value into [-1, 1], so that nothing overflows single precision; a query
 * too far out for it (||q||^2 above 2^100 in those units, or infinite) is
 * answered by the exact scan instead.
 *
 * Why single precision: the GEMM and the filter both stream the
 * QUERY_BLOCK x INDEX_BLOCK block, and at 10 features writing and reading
 * that block, not the arithmetic, is the cost; half the bytes is half the
 * time, and at 100 features the float GEMM is twice the double one. The
 * bounds are wider by the float error, which on real data is far below
 * the gap between a row's k-th and (k+1)-th neighbour.
 *
 * Memory is bounded by the blocks: per worker a QUERY_BLOCK x INDEX_BLOCK
 * float block, the converted group of queries and indexed block, the
 * candidate lists of one group, never n x n. Threads take
 * whole groups of queries, so each query's answer is computed the same
 * way whatever the thread count. */
#include "neighbors/knn.h"
#include "core/alloc.h"
#include "core/error.h"
#include "core/stats.h"
#include "core/threads.h"

#include <float.h>
#include <math.h>
#if defined(__GNUC__) && defined(__x86_64__)
#include <immintrin.h>
#define AN_BRUTE_HAVE_AVX512 1
#endif
#include <stdint.h>
#include <string.h>

/* Queries and indexed rows per product block: a 256 x 1024 float block
 * (1 MiB) stays near the core while it is filtered. A worker takes 1024
 * queries at a time (a group), which share each conversion of an indexed
 * block: with the product's own kernel (gram.c) the conversions, once per
 * 256 queries, were a tenth of a 20000 x 100 fit. */
enum { QUERY_BLOCK = 256, QUERY_GROUP = 1024, INDEX_BLOCK = 1024 };

/* The most neighbours a query's survivors are put in order for by
 * insertion (heap.h, an_nb_sorted_push); more go through the heap. */
enum { SORTED_MAX_K = 64 };

/* A query whose scaled squared norm is above this is answered exactly:
 * its float products could overflow. */
#define FAR_QUERY 0x1p100

/* One query's candidates: lower bounds (scaled units) and row indices. */
typedef struct cand_list {
    double *lower;
    size_t *index;
    size_t count, cap;
} cand_list;

typedef struct worker {
    float *qc;     /* QUERY_GROUP x (d + 1): centred, scaled queries, then 1 */
    double *qn;    /* their squared norms (scaled units, double) */
    float *xc;     /* INDEX_BLOCK x (d + 1): centred, scaled rows, then -(1 - c) ||x||^2 / 2 */
    float *gram;   /* QUERY_BLOCK x INDEX_BLOCK, and the kernel's padding rows */
    float *pack;   /* (d + 1) x AN_GRAM_COL_PAD: the product's work space */
    cand_list lists[QUERY_GROUP];
    double *sel;   /* 3 sel_cap: the upper bounds of a candidate list, and the
                      selection's work space */
    size_t sel_cap;
    an_nb *heap;   /* k: the exact search of the survivors */
    int failed;
} worker;

typedef struct brute_job {
    const an_knn_index *ix;
    const double *q; /* NULL: self-query of rows [first, first + m) */
    size_t first, m, k;
    size_t group;    /* queries per group: QUERY_GROUP, or fewer (group_size) */
    double c;        /* the relative error bound, 8 (d + 8) FLT_EPSILON */
    int filter;      /* AN_BRUTE_FILTER_*: how a row's block is scanned */
    worker *workers;
    double *dist;
    size_t *index;
} brute_job;

static int grow(cand_list *c, size_t cap)
{
    double *a = an_realloc_array(c->lower, cap, sizeof(double));
    if (!a)
        return 0;
    c->lower = a;
    size_t *i = an_realloc_array(c->index, cap, sizeof(size_t));
    if (!i)
        return 0;
    c->index = i;
    c->cap = cap;
    return 1;
}

/* Drop the candidates whose lower bound is above limit; grow the list
 * when most of it survives (many near ties, or rows the limit left in). */
static int compact(cand_list *c, double limit)
{
    size_t kept = 0;
    for (size_t i = 0; i < c->count; i++) { /* no branch on the values */
        c->lower[kept] = c->lower[i];
        c->index[kept] = c->index[i];
        kept += c->lower[i] <= limit;
    }
    c->count = kept;
    return kept <= c->cap / 2 || grow(c, 2 * c->cap);
}

/* The smallest float GEMM value a candidate can have under `limit`:
 * qn - 2 g <= limit  <=>  g >= (qn - limit) / 2, rounded down so that the
 * float comparison keeps every row the double one would. */
static float floor_threshold(double qn, double limit)
{
    double t = (qn - limit) / 2;
    if (!(t > -FLT_MAX))
        return -INFINITY;
    float f = (float)t;
    if (!((double)f > t))
        return f;
    /* the next float down, from its bits (nextafterf is a libm call,
     * and this runs after every offer): f is finite, as |t| < FLT_MAX */
    uint32_t bits;
    memcpy(&bits, &f, sizeof bits);
    bits = f > 0 ? bits - 1 : f < 0 ? bits + 1 : 0x80000001u; /* 0: -FLT_TRUE_MIN */
    memcpy(&f, &bits, sizeof f);
    return f;
}

/* Whether one of the 8 values at a is >= t, four at a time with the
 * compiler's vector extensions (SSE or NEON, both baseline), without a
 * branch per value: the filter's inner loop. */
typedef float v4f __attribute__((vector_size(16)));
typedef int v4i __attribute__((vector_size(16)));

static inline int any_at_least(const float *a, float t)
{
    v4f lim = {t, t, t, t}, x0, x1;
    memcpy(&x0, a, sizeof x0);
    memcpy(&x1, a + 4, sizeof x1);
    v4i m = (x0 >= lim) | (x1 >= lim);
    return (m[0] | m[1] | m[2] | m[3]) != 0;
}

/* rows x (d + 1) floats: (x - mean) * scale, then `last` of each row
 * (1 for queries, -||x||^2 / 2 for indexed rows); norms: the scaled
 * squared norms in double (queries only). */
static void convert(const an_knn_index *ix, const double *x, size_t rows, float *out,
                    double *norms)
{
    size_t d = ix->d;
    for (size_t i = 0; i < rows; i++) {
        float *o = out + i * (d + 1);
        double s = 0;
        for (size_t j = 0; j < d; j++) {
            double t = (x[i * d + j] - ix->mean[j]) * ix->scale;
            o[j] = (float)t;
            s += t * t;
        }
        if (norms) {
            norms[i] = s;
            o[d] = 1.0f;
        }
    }
}

static void index_block(const brute_job *job, size_t first, size_t rows, float *out)
{
    const an_knn_index *ix = job->ix;
    size_t d = ix->d;
    convert(ix, ix->x + first * d, rows, out, NULL);
    for (size_t i = 0; i < rows; i++)
        out[i * (d + 1) + d] = (float)(-0.5 * (1 - job->c) * ix->norms[first + i]);
}

/* One query's state while it scans the blocks of products. Its candidate
 * list holds every row offered whose upper bound may still be among the k
 * smallest, so the k-th smallest upper bound in the list is the k-th of
 * all rows offered: the limit. It is taken (a selection) only when the
 * list is full, not after every offer: a heap of the k smallest, updated
 * at each offer, tightened the limit sooner, but its dependent compares
 * and the threshold after each were most of the filter's time (satellite:
 * 135 offers a query at ~100 cycles each). A stale limit only lets more
 * rows in, each a few stores. */
typedef struct row_scan {
    cand_list *c;
    worker *w;
    double base, slack, limit; /* L = base - 2 a; limit: +inf until k rows are in */
    float t;                   /* the smallest product a candidate can have */
    size_t self;               /* the query's own row (self-query), else SIZE_MAX */
} row_scan;

/* The k-th smallest (k from 0) of v[0, n), n > k, with lo and hi n
 * doubles of work space (v is overwritten): a quickselect whose
 * partition writes each value to both sides and advances one count, no
 * branch on the values, values equal to the pivot counted apart (so
 * duplicates end it). A list holds some 20 to 200 values: the library's
 * introselect, branching on each comparison, was a quarter of satellite's
 * self-query. After 32 rounds (a pivot run unlucky) it finishes the job. */
static double kth_smallest(double *v, size_t n, size_t k, double *lo, double *hi)
{
    for (int round = 0; round < 32; round++) {
        double a = v[0], b = v[n / 2], c = v[n - 1];
        double p = a < b ? (b < c ? b : a < c ? c : a) : (a < c ? a : b < c ? c : b);
        size_t nl = 0, nh = 0;
        for (size_t i = 0; i < n; i++) {
            double x = v[i];
            lo[nl] = x;
            hi[nh] = x;
            nl += x < p;
            nh += x > p;
        }
        if (k < nl) {
            double *t = v;
            v = lo;
            lo = t;
            n = nl;
        } else if (k < n - nh) {
            return p;
        } else {
            k -= n - nh;
            double *t = v;
            v = hi;
            hi = t;
            n = nh;
        }
    }
    an_select_doubles(v, n, k);
    return v[k];
}

/* The limit from the list's upper bounds U = L + 2 slack + 2 c ||x||^2
 * (their k-th smallest), then the rows whose lower bound is above it
 * dropped; the list grows when most of it survives (many near ties). */
static int tighten(const brute_job *job, row_scan *s)
{
    cand_list *c = s->c;
    worker *w = s->w;
    size_t k = job->k;
    if (c->count >= k) {
        if (w->sel_cap < c->count) {
            double *v = an_realloc_array(w->sel, c->cap, 3 * sizeof(double));
            if (!v)
                return 0;
            w->sel = v;
            w->sel_cap = c->cap;
        }
        const double *norms = job->ix->norms;
        double add = 2 * s->slack, c2 = 2 * job->c;
        for (size_t i = 0; i < c->count; i++)
            w->sel[i] = c->lower[i] + add + c2 * norms[c->index[i]];
        double kth = kth_smallest(w->sel, c->count, k - 1, w->sel + w->sel_cap,
                                  w->sel + 2 * w->sel_cap);
        if (kth < s->limit)
            s->limit = kth;
        s->t = floor_threshold(s->base, s->limit);
    }
    return compact(c, s->limit);
}

/* Groups of a block's columns (column j in group j % STARTER_GROUPS)
 * whose best rows give a query its first limit. */
enum { STARTER_GROUPS = 32 };

/* A first limit for a query that has none yet, from the block it visits
 * first, before any row is offered: without one the block's first rows
 * all went in and the limit came down by one selection after another
 * (cardio, 1831 x 21: a third of the search in those selections). Each
 * group's largest product a[j] (column `skip`, the query's own row,
 * left out) belongs to a row whose distance is at most its upper bound,
 * and that bound is at most base - 2 a[j] + 2 slack + 2 c max_norm; the
 * k-th smallest of the groups' bounds is that of k distinct rows, so at
 * least the k-th distance. An empty group gives +inf; with k above the
 * group count the query starts with no limit, as before. */
static double starting_limit(const brute_job *job, float *a, size_t cols, size_t skip,
                             double base, double slack)
{
    if (job->k > STARTER_GROUPS)
        return INFINITY;
    float own = skip < cols ? a[skip] : 0;
    if (skip < cols)
        a[skip] = -INFINITY; /* put back below */
    float best[STARTER_GROUPS];
    for (size_t g = 0; g < STARTER_GROUPS; g++)
        best[g] = -INFINITY;
    size_t whole = cols / STARTER_GROUPS * STARTER_GROUPS;
    for (size_t j0 = 0; j0 < whole; j0 += STARTER_GROUPS)
        for (size_t g = 0; g < STARTER_GROUPS; g++) /* vectorised */
            best[g] = a[j0 + g] > best[g] ? a[j0 + g] : best[g];
    for (size_t j = whole; j < cols; j++)
        best[j - whole] = a[j] > best[j - whole] ? a[j] : best[j - whole];
    if (skip < cols)
        a[skip] = own;
    double bound[STARTER_GROUPS], lo[STARTER_GROUPS], hi[STARTER_GROUPS];
    double add = 2 * slack + 2 * job->c * job->ix->max_norm;
    for (size_t g = 0; g < STARTER_GROUPS; g++)
        bound[g] = best[g] == -INFINITY ? INFINITY : base - 2.0 * (double)best[g] + add;
    return kth_smallest(bound, STARTER_GROUPS, job->k - 1, lo, hi);
}

/* Keep row `at` (lower bound base - 2 v) as a candidate. 0: out of memory. */
static inline int take(const brute_job *job, row_scan *s, float v, size_t at)
{
    cand_list *c = s->c;
    if (c->count == c->cap && !tighten(job, s))
        return 0;
    c->lower[c->count] = s->base - 2.0 * (double)v;
    c->index[c->count++] = at;
    return 1;
}

/* The products a[0, cols) of rows b, b + 1, ... against one query, 8 at
 * a time: most groups of 8 hold no candidate, one test for them. */
static int scan_generic(const brute_job *job, row_scan *s, const float *a, size_t cols, size_t b)
{
    for (size_t j0 = 0; j0 < cols; j0 += 8) {
        size_t j1 = cols - j0 < 8 ? cols : j0 + 8;
        if (j1 - j0 == 8 && !any_at_least(a + j0, s->t))
            continue;
        for (size_t j = j0; j < j1; j++)
            if (a[j] >= s->t && b + j != s->self && !take(job, s, a[j], b + j))
                return 0;
    }
    return 1;
}

#ifdef AN_BRUTE_HAVE_AVX512
/* The same, 32 products a step as two masks of 16 comparisons, visiting
 * only the set bits: the generic scan's test of each value of a group of
 * 8 that holds a candidate is a mispredicted branch for most of them. A
 * bit set before the limit tightened is tested again. */
__attribute__((target("avx512f"))) static int scan_avx512(const brute_job *job, row_scan *s,
                                                          const float *a, size_t cols, size_t b)
{
    for (size_t j0 = 0; j0 < cols; j0 += 32) {
        size_t left = cols - j0;
        __mmask16 in0 = left >= 16 ? 0xffff : (__mmask16)((1u << left) - 1);
        __mmask16 in1 = left >= 32   ? 0xffff
                        : left <= 16 ? 0
                                     : (__mmask16)((1u << (left - 16)) - 1);
        __m512 t = _mm512_set1_ps(s->t);
        uint32_t m = _mm512_mask_cmp_ps_mask(in0, _mm512_maskz_loadu_ps(in0, a + j0), t,
                                             _CMP_GE_OQ);
        m |= (uint32_t)_mm512_mask_cmp_ps_mask(in1, _mm512_maskz_loadu_ps(in1, a + j0 + 16), t,
                                               _CMP_GE_OQ)
             << 16;
        while (m) {
            size_t j = j0 + (size_t)__builtin_ctz(m);
            m &= m - 1;
            if (a[j] >= s->t && b + j != s->self && !take(job, s, a[j], b + j))
                return 0;
        }
    }
    return 1;
}
#endif

static int scan_block_row(const brute_job *job, row_scan *s, const float *a, size_t cols,
                          size_t b)
{
#ifdef AN_BRUTE_HAVE_AVX512
    if (job->filter == AN_BRUTE_FILTER_AVX512)
        return scan_avx512(job, s, a, cols, b);
#endif
    return scan_generic(job, s, a, cols, b);
}

static void query_block(const brute_job *job, worker *w, size_t first)
{
    const an_knn_index *ix = job->ix;
    size_t d = ix->d, n = ix->n, k = job->k, ld = d + 1;
    size_t rows = job->m - first < job->group ? job->m - first : job->group;
    const double *q = job->q ? job->q + first * d : ix->x + (job->first + first) * d;
    convert(ix, q, rows, w->qc, w->qn);
    double slack[QUERY_GROUP]; /* c ||q||^2 + a: L = v - slack */
    unsigned char far[QUERY_GROUP];
    double limit[QUERY_GROUP]; /* each query's limit (row_scan) between blocks */
    for (size_t r = 0; r < rows; r++) {
        far[r] = !(w->qn[r] <= FAR_QUERY);
        if (far[r]) /* zeros: its GEMM row is harmless, and unused */
            memset(w->qc + r * ld, 0, ld * sizeof(float));
        slack[r] = job->c * w->qn[r] + (double)(d + 8) * 0x1p-120;
        w->lists[r].count = 0;
        limit[r] = INFINITY;
    }
    /* A self-query visits the block that holds its own rows first, then
     * the others in order, wrapping round: data are often stored with
     * near rows near (on satellite 46 % of the neighbours lie within 1024
     * rows, 32 % in a random order), and bounds found early leave fewer
     * rows to offer. The answer does not depend on the
     * order: every row that can be a neighbour survives the filter. */
    size_t span = (n + INDEX_BLOCK - 1) / INDEX_BLOCK * INDEX_BLOCK;
    size_t start = job->q ? 0 : (job->first + first) / INDEX_BLOCK * INDEX_BLOCK;
    for (size_t visit = 0; visit < n; visit += INDEX_BLOCK) {
        size_t b = start + visit < span ? start + visit : start + visit - span;
        size_t cols = n - b < INDEX_BLOCK ? n - b : INDEX_BLOCK;
        index_block(job, b, cols, w->xc);
        /* the group's queries, QUERY_BLOCK at a time, against this block */
        for (size_t s0 = 0; s0 < rows; s0 += QUERY_BLOCK) {
            size_t s1 = rows - s0 < QUERY_BLOCK ? rows : s0 + QUERY_BLOCK;
            an_knn_gram(w->qc + s0 * ld, s1 - s0, w->xc, cols, ld, w->pack, w->gram, INDEX_BLOCK);
            for (size_t r = s0; r < s1; r++) {
                if (far[r])
                    continue;
                row_scan rs = {&w->lists[r], w, w->qn[r] - slack[r], slack[r], limit[r], 0,
                               job->q ? SIZE_MAX : job->first + first + r};
                if (rs.limit == INFINITY) {
                    size_t skip = rs.self - b < cols ? rs.self - b : SIZE_MAX;
                    rs.limit = starting_limit(job, w->gram + (r - s0) * INDEX_BLOCK, cols, skip,
                                              rs.base, rs.slack);
                }
                rs.t = floor_threshold(rs.base, rs.limit);
                if (!scan_block_row(job, &rs, w->gram + (r - s0) * INDEX_BLOCK, cols, b)) {
                    w->failed = 1;
                    return;
                }
                limit[r] = rs.limit;
            }
        }
    }
    /* the survivors by exact distance */
    for (size_t r = 0; r < rows; r++) {
        cand_list *c = &w->lists[r];
        row_scan rs = {c, w, w->qn[r] - slack[r], slack[r], limit[r], 0, SIZE_MAX};
        if (!far[r] && !tighten(job, &rs)) {
            w->failed = 1;
            return;
        }
        an_nb_heap h;
        an_nb_heap_init(&h, w->heap, k);
        if (far[r]) {
            an_knn_scan_row(ix, q + r * d, job->q ? SIZE_MAX : job->first + first + r, &h);
            an_nb_heap_drain(&h, job->dist + (first + r) * k, job->index + (first + r) * k);
            continue;
        }
        /* about k survivors once the limit is tight: kept sorted, unless
         * k is large enough for a shift to cost more than a sift-down */
        int sorted = k <= SORTED_MAX_K;
        for (size_t i = 0; i < c->count; i++) {
            size_t at = c->index[i];
            if (c->lower[i] > rs.limit)
                continue;
            double d2 = an_sq_dist(q + r * d, ix->x + at * d, d);
            if (sorted)
                an_nb_sorted_push(&h, d2, at);
            else
                an_nb_heap_push(&h, d2, at);
        }
        if (sorted)
            an_nb_sorted_drain(&h, job->dist + (first + r) * k, job->index + (first + r) * k);
        else
            an_nb_heap_drain(&h, job->dist + (first + r) * k, job->index + (first + r) * k);
    }
}

static void brute_range(void *ctx, size_t begin, size_t end, size_t worker_id)
{
    const brute_job *job = ctx;
    worker *w = &job->workers[worker_id];
    for (size_t blk = begin; blk < end && !w->failed; blk++)
        query_block(job, w, blk * job->group);
}

static void worker_free(worker *w)
{
    an_free(w->qc);
    an_free(w->qn);
    an_free(w->xc);
    an_free(w->gram);
    an_free(w->pack);
    an_free(w->sel);
    an_free(w->heap);
    for (size_t r = 0; r < QUERY_GROUP; r++) {
        an_free(w->lists[r].lower);
        an_free(w->lists[r].index);
    }
}

/* group: the most queries the worker will hold at once */
static int worker_init(worker *w, size_t d, size_t k, size_t group)
{
    memset(w, 0, sizeof *w);
    /* zeroed: the product reads up to AN_GRAM_ROW_PAD rows past the last
     * query, which must hold finite values */
    w->qc = an_calloc(QUERY_GROUP + AN_GRAM_ROW_PAD, (d + 1) * sizeof(float));
    w->qn = AN_NEW_ARRAY(double, QUERY_GROUP);
    w->xc = an_malloc_array(INDEX_BLOCK, (d + 1) * sizeof(float));
    w->gram = AN_NEW_ARRAY(float, (size_t)(QUERY_BLOCK + AN_GRAM_ROW_PAD) * INDEX_BLOCK);
    w->pack = an_malloc_array(AN_GRAM_COL_PAD, (d + 1) * sizeof(float));
    w->heap = AN_NEW_ARRAY(an_nb, k);
    if (!w->qc || !w->qn || !w->xc || !w->gram || !w->pack || !w->heap)
        return 0;
    for (size_t r = 0; r < group; r++)
        if (!grow(&w->lists[r], 2 * k + 32))
            return 0;
    return 1;
}

/* Queries per group: QUERY_GROUP, or fewer (whole product blocks) when m
 * queries in groups that large would leave a thread idle. */
static size_t group_size(size_t m, size_t n_threads)
{
    size_t threads = an_parallel_workers(m, n_threads, QUERY_BLOCK);
    if (!m || !threads)
        return QUERY_GROUP;
    size_t per = (m + threads - 1) / threads;
    per = (per + QUERY_BLOCK - 1) / QUERY_BLOCK * QUERY_BLOCK;
    return per < QUERY_GROUP ? per : QUERY_GROUP;
}

int an_brute_filter_best(void)
{
#ifdef AN_BRUTE_HAVE_AVX512
    /* libgcc fills in the processor model in a constructor, before any call */
    if (__builtin_cpu_supports("avx512f"))
        return AN_BRUTE_FILTER_AVX512;
#endif
    return AN_BRUTE_FILTER_GENERIC;
}

anoma_status an_knn_brute_query(const an_knn_index *ix, const double *q, size_t first, size_t m,
                                size_t k, size_t n_threads, double *dist, size_t *index)
{
    return an_knn_brute_query_with(an_brute_filter_best(), ix, q, first, m, k, n_threads, dist,
                                   index);
}

anoma_status an_knn_brute_query_with(int filter, const an_knn_index *ix, const double *q,
                                     size_t first, size_t m, size_t k, size_t n_threads,
                                     double *dist, size_t *index)
{
    size_t group = group_size(m, n_threads);
    size_t blocks = (m + group - 1) / group;
    size_t workers = an_parallel_workers(blocks, n_threads, 1);
    brute_job job = {ix, q, first, m, k, group, 8.0 * (double)(ix->d + 8) * FLT_EPSILON,
                     filter, AN_NEW_ZEROED(worker, workers), dist, index};
    if (!job.workers)
        return an_no_memory();
    int ok = 1;
    for (size_t t = 0; t < workers; t++)
        ok = worker_init(&job.workers[t], ix->d, k, m < group ? m : group) && ok;
    if (ok)
        an_parallel_for(blocks, workers, 1, brute_range, &job);
    for (size_t t = 0; t < workers; t++) {
        ok = ok && !job.workers[t].failed;
        worker_free(&job.workers[t]);
    }
    an_free(job.workers);
    return ok ? ANOMA_OK : an_no_memory();
}
