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
 * L + 2 (c ||q||^2 + a) + 2 c ||x||^2. Each query keeps the k smallest
 * upper bounds of the rows offered so far (a heap): the k-th is never
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
 * float block, the converted group of queries and indexed block, the bound
 * heaps and the candidate lists of one group, never n x n. Threads take
 * whole groups of queries, so each query's answer is computed the same
 * way whatever the thread count. */
#include "neighbors/knn.h"
#include "core/alloc.h"
#include "core/error.h"
#include "core/threads.h"

#include <float.h>
#include <math.h>
#include <string.h>

/* Queries and indexed rows per product block: a 256 x 1024 float block
 * (1 MiB) stays near the core while it is filtered. A worker takes 1024
 * queries at a time (a group), which share each conversion of an indexed
 * block: with the product's own kernel (gram.c) the conversions, once per
 * 256 queries, were a tenth of a 20000 x 100 fit. */
enum { QUERY_BLOCK = 256, QUERY_GROUP = 1024, INDEX_BLOCK = 1024 };

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
    double *upper; /* QUERY_GROUP x k: each query's heap of the k smallest upper bounds */
    an_nb *heap;   /* k: the exact search of the survivors */
    int failed;
} worker;

typedef struct brute_job {
    const an_knn_index *ix;
    const double *q; /* NULL: self-query of rows [first, first + m) */
    size_t first, m, k;
    size_t group;    /* queries per group: QUERY_GROUP, or fewer (group_size) */
    double c;        /* the relative error bound, 8 (d + 8) FLT_EPSILON */
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
 * when most of it survives (many near ties). */
static int compact(cand_list *c, double limit)
{
    size_t kept = 0;
    for (size_t i = 0; i < c->count; i++)
        if (c->lower[i] <= limit) {
            c->lower[kept] = c->lower[i];
            c->index[kept++] = c->index[i];
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
    return (double)f > t ? nextafterf(f, -INFINITY) : f;
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

/* A max-heap of the k smallest upper bounds offered to one query. Values
 * only: the limit is the k-th smallest value, whichever rows hold it, so
 * a step is one comparison of doubles, not of (distance, index) pairs;
 * at 36 features the pair heap cost more than the product. */
typedef struct bound_heap {
    double *v;
    size_t size, cap;
} bound_heap;

/* +inf until k bounds are in */
static inline double bound_limit(const bound_heap *h)
{
    return h->size < h->cap ? INFINITY : h->v[0];
}

static inline void bound_push(bound_heap *h, double x)
{
    double *v = h->v;
    size_t i;
    if (h->size < h->cap) {
        for (i = h->size++; i > 0 && v[(i - 1) / 2] < x; i = (i - 1) / 2)
            v[i] = v[(i - 1) / 2];
    } else if (x < v[0]) {
        for (i = 0;;) {
            size_t c = 2 * i + 1;
            if (c >= h->size)
                break;
            c += c + 1 < h->size && v[c] < v[c + 1];
            if (!(x < v[c]))
                break;
            v[i] = v[c];
            i = c;
        }
    } else {
        return;
    }
    v[i] = x;
}

/* Offer row `at` to one query: its lower bound (already no more than the
 * query's limit) to the candidates, its upper bound to the heap. */
static int offer(const brute_job *job, cand_list *c, bound_heap *upper, double lower,
                 double slack, size_t at)
{
    bound_push(upper, lower + 2 * slack + 2 * job->c * job->ix->norms[at]);
    if (c->count == c->cap && !compact(c, bound_limit(upper)))
        return 0;
    c->lower[c->count] = lower;
    c->index[c->count++] = at;
    return 1;
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
    bound_heap upper[QUERY_GROUP];
    for (size_t r = 0; r < rows; r++) {
        far[r] = !(w->qn[r] <= FAR_QUERY);
        if (far[r]) /* zeros: its GEMM row is harmless, and unused */
            memset(w->qc + r * ld, 0, ld * sizeof(float));
        slack[r] = job->c * w->qn[r] + (double)(d + 8) * 0x1p-120;
        w->lists[r].count = 0;
        upper[r] = (bound_heap){w->upper + r * k, 0, k};
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
                cand_list *c = &w->lists[r];
                const float *a = w->gram + (r - s0) * INDEX_BLOCK;
                size_t self = job->q ? SIZE_MAX : job->first + first + r;
                double base = w->qn[r] - slack[r]; /* L = base - 2 a */
                double limit = bound_limit(&upper[r]);
                float t = floor_threshold(base, limit);
                for (size_t j0 = 0; j0 < cols; j0 += 8) {
                    size_t j1 = cols - j0 < 8 ? cols : j0 + 8;
                    /* most groups of 8 hold no candidate: one test for them */
                    if (j1 - j0 == 8 && !any_at_least(a + j0, t))
                        continue;
                    for (size_t j = j0; j < j1; j++) {
                        if (!(a[j] >= t) || b + j == self)
                            continue;
                        double lower = base - 2.0 * (double)a[j];
                        if (!(lower <= limit))
                            continue;
                        if (!offer(job, c, &upper[r], lower, slack[r], b + j)) {
                            w->failed = 1;
                            return;
                        }
                        limit = bound_limit(&upper[r]);
                        t = floor_threshold(base, limit);
                    }
                }
            }
        }
    }
    /* the survivors by exact distance */
    for (size_t r = 0; r < rows; r++) {
        cand_list *c = &w->lists[r];
        double limit = bound_limit(&upper[r]);
        an_nb_heap h;
        an_nb_heap_init(&h, w->heap, k);
        if (far[r])
            an_knn_scan_row(ix, q + r * d, job->q ? SIZE_MAX : job->first + first + r, &h);
        for (size_t i = 0; i < c->count; i++) {
            size_t at = c->index[i];
            if (c->lower[i] <= limit)
                an_nb_heap_push(&h, an_sq_dist(q + r * d, ix->x + at * d, d), at);
        }
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
    an_free(w->upper);
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
    w->upper = an_malloc_array(QUERY_GROUP, k * sizeof(double));
    w->heap = AN_NEW_ARRAY(an_nb, k);
    if (!w->qc || !w->qn || !w->xc || !w->gram || !w->pack || !w->upper || !w->heap)
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

anoma_status an_knn_brute_query(const an_knn_index *ix, const double *q, size_t first, size_t m,
                                size_t k, size_t n_threads, double *dist, size_t *index)
{
    size_t group = group_size(m, n_threads);
    size_t blocks = (m + group - 1) / group;
    size_t workers = an_parallel_workers(blocks, n_threads, 1);
    brute_job job = {ix, q, first, m, k, group, 8.0 * (double)(ix->d + 8) * FLT_EPSILON,
                     AN_NEW_ZEROED(worker, workers), dist, index};
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
