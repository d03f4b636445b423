/* Brute-force batch search: distances of a block of queries to a block of
 * indexed rows by one GEMM, ||a||^2 + ||b||^2 - 2ab on centred rows.
 *
 * Those distances are fast but not exact: the formula cancels, so two rows
 * at the same distance may compute to different values and a true
 * neighbour may compute slightly farther than a false one. They are used
 * only to filter candidates. Each query keeps every row whose GEMM value is
 * within a guard of its current k-th smallest; the guard bounds the
 * formula's rounding error, 16 (d + 4) eps (||q||^2 + max ||x||^2), twice
 * (once for the candidate, once for the k-th). The survivors' distances are
 * then recomputed exactly (heap.h, an_sq_dist) and the k best pairs kept,
 * so the answer is the exact one, ties by index included. A negative GEMM
 * value (cancellation below zero) is harmless: it only keeps a candidate.
 *
 * Memory is bounded by the blocks: per worker a QUERY_BLOCK x INDEX_BLOCK
 * Gram block, the two centred blocks and the candidate lists, never n x n.
 * Threads take whole query blocks, so each query's answer is computed the
 * same way whatever the thread count. */
#include "neighbors/knn.h"
#include "core/alloc.h"
#include "core/error.h"
#include "core/stats.h"
#include "core/threads.h"

#include <cblas.h>
#include <float.h>
#include <math.h>
#include <string.h>

/* Queries and indexed rows per GEMM block: a 64 x 2048 Gram block (1 MiB)
 * stays in a core's L2 cache while its values are filtered. */
enum { QUERY_BLOCK = 64, INDEX_BLOCK = 2048 };

/* One query's candidates: GEMM values and row indices. */
typedef struct cand_list {
    double *approx;
    size_t *index;
    size_t count, cap;
    double limit; /* keep a row whose GEMM value is <= limit */
} cand_list;

typedef struct worker {
    double *qc, *qn;   /* centred query block and its squared norms */
    double *xc, *gram; /* centred index block, Gram block */
    cand_list lists[QUERY_BLOCK];
    double *tmp;       /* selection buffer, as large as the largest list */
    size_t tmp_cap;
    an_nb *heap;       /* k */
    int failed;
} worker;

typedef struct brute_job {
    const an_knn_index *ix;
    const double *q; /* NULL: self-query of rows [first, first + m) */
    size_t first, m, k;
    worker *workers;
    double *dist;
    size_t *index;
} brute_job;

static int grow(cand_list *c, size_t cap)
{
    double *a = an_realloc_array(c->approx, cap, sizeof(double));
    if (!a)
        return 0;
    c->approx = a;
    size_t *i = an_realloc_array(c->index, cap, sizeof(size_t));
    if (!i)
        return 0;
    c->index = i;
    c->cap = cap;
    return 1;
}

/* Drop the candidates beyond the guard of the k-th smallest GEMM value;
 * grow the list when most of it survives (many near ties). */
static int compact(worker *w, cand_list *c, size_t k, double guard)
{
    if (w->tmp_cap < c->count) {
        double *t = an_realloc_array(w->tmp, c->count, sizeof(double));
        if (!t)
            return 0;
        w->tmp = t;
        w->tmp_cap = c->count;
    }
    memcpy(w->tmp, c->approx, c->count * sizeof(double));
    an_select_doubles(w->tmp, c->count, k - 1);
    c->limit = w->tmp[k - 1] + 2 * guard;
    size_t kept = 0;
    for (size_t i = 0; i < c->count; i++)
        if (c->approx[i] <= c->limit) {
            c->approx[kept] = c->approx[i];
            c->index[kept++] = c->index[i];
        }
    c->count = kept;
    return kept <= c->cap / 2 || grow(c, 2 * c->cap);
}

/* Whether one of the 8 values at a is <= limit, two at a time with the
 * compiler's vector extensions (SSE2 or NEON, both baseline), without a
 * branch per value: the filter's inner loop. */
typedef double v2d __attribute__((vector_size(16)));
typedef long long v2l __attribute__((vector_size(16)));

static inline int any_at_most(const double *a, double limit)
{
    v2d lim = {limit, limit}, x0, x1, x2, x3;
    memcpy(&x0, a, sizeof x0);
    memcpy(&x1, a + 2, sizeof x1);
    memcpy(&x2, a + 4, sizeof x2);
    memcpy(&x3, a + 6, sizeof x3);
    v2l m = (x0 <= lim) | (x1 <= lim) | (x2 <= lim) | (x3 <= lim);
    return (m[0] | m[1]) != 0;
}

static void centre(const double *x, const double *mean, size_t rows, size_t d, double *out,
                   double *norms)
{
    for (size_t i = 0; i < rows; i++) {
        double s = 0;
        for (size_t j = 0; j < d; j++) {
            double t = x[i * d + j] - mean[j];
            out[i * d + j] = t;
            s += t * t;
        }
        if (norms)
            norms[i] = s;
    }
}

static void query_block(const brute_job *job, worker *w, size_t first)
{
    const an_knn_index *ix = job->ix;
    size_t d = ix->d, n = ix->n, k = job->k;
    size_t rows = job->m - first < QUERY_BLOCK ? job->m - first : QUERY_BLOCK;
    const double *q = job->q ? job->q + first * d : ix->x + (job->first + first) * d;
    centre(q, ix->mean, rows, d, w->qc, w->qn);
    double guard[QUERY_BLOCK];
    for (size_t r = 0; r < rows; r++) {
        guard[r] = 16.0 * (double)(d + 4) * DBL_EPSILON * (w->qn[r] + ix->max_norm);
        w->lists[r].count = 0;
        w->lists[r].limit = INFINITY;
    }
    for (size_t b = 0; b < n; b += INDEX_BLOCK) {
        size_t cols = n - b < INDEX_BLOCK ? n - b : INDEX_BLOCK;
        centre(ix->x + b * d, ix->mean, cols, d, w->xc, NULL);
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)rows, (int)cols, (int)d, 1.0,
                    w->qc, (int)d, w->xc, (int)d, 0.0, w->gram, (int)cols);
        for (size_t r = 0; r < rows; r++) {
            cand_list *c = &w->lists[r];
            double *a = w->gram + r * cols;
            const double *xn = ix->norms + b;
            double qn = w->qn[r];
            for (size_t j = 0; j < cols; j++) /* vectorised: the GEMM values */
                a[j] = (qn + xn[j]) - 2.0 * a[j];
            size_t self = job->q ? SIZE_MAX : job->first + first + r;
            double limit = c->limit;
            for (size_t j0 = 0; j0 < cols; j0 += 8) {
                size_t j1 = cols - j0 < 8 ? cols : j0 + 8;
                /* most groups of 8 hold no candidate: one test for them */
                if (j1 - j0 == 8 && !any_at_most(a + j0, limit))
                    continue;
                for (size_t j = j0; j < j1; j++) {
                    if (!(a[j] <= limit) || b + j == self)
                        continue;
                    if (c->count == c->cap) {
                        if (!compact(w, c, k, guard[r])) {
                            w->failed = 1;
                            return;
                        }
                        limit = c->limit;
                        if (!(a[j] <= limit))
                            continue;
                    }
                    c->approx[c->count] = a[j];
                    c->index[c->count++] = b + j;
                }
            }
        }
    }
    /* the survivors by exact distance */
    for (size_t r = 0; r < rows; r++) {
        const cand_list *c = &w->lists[r];
        an_nb_heap h;
        an_nb_heap_init(&h, w->heap, k);
        for (size_t i = 0; i < c->count; i++) {
            size_t at = c->index[i];
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
        query_block(job, w, blk * QUERY_BLOCK);
}

static void worker_free(worker *w)
{
    an_free(w->qc);
    an_free(w->qn);
    an_free(w->xc);
    an_free(w->gram);
    an_free(w->tmp);
    an_free(w->heap);
    for (size_t r = 0; r < QUERY_BLOCK; r++) {
        an_free(w->lists[r].approx);
        an_free(w->lists[r].index);
    }
}

static int worker_init(worker *w, size_t d, size_t k)
{
    memset(w, 0, sizeof *w);
    w->qc = an_malloc_array(QUERY_BLOCK, d * sizeof(double));
    w->qn = AN_NEW_ARRAY(double, QUERY_BLOCK);
    w->xc = an_malloc_array(INDEX_BLOCK, d * sizeof(double));
    w->gram = AN_NEW_ARRAY(double, (size_t)QUERY_BLOCK * INDEX_BLOCK);
    w->heap = AN_NEW_ARRAY(an_nb, k);
    if (!w->qc || !w->qn || !w->xc || !w->gram || !w->heap)
        return 0;
    for (size_t r = 0; r < QUERY_BLOCK; r++)
        if (!grow(&w->lists[r], 4 * k + 64))
            return 0;
    return 1;
}

anoma_status an_knn_brute_query(const an_knn_index *ix, const double *q, size_t first, size_t m,
                                size_t k, size_t n_threads, double *dist, size_t *index)
{
    size_t blocks = (m + QUERY_BLOCK - 1) / QUERY_BLOCK;
    size_t workers = an_parallel_workers(blocks, n_threads, 1);
    brute_job job = {ix, q, first, m, k, AN_NEW_ZEROED(worker, workers), dist, index};
    if (!job.workers)
        return an_no_memory();
    int ok = 1;
    for (size_t t = 0; t < workers; t++)
        ok = worker_init(&job.workers[t], ix->d, k) && ok;
    if (ok)
        an_parallel_for(blocks, workers, 1, brute_range, &job);
    for (size_t t = 0; t < workers; t++) {
        ok = ok && !job.workers[t].failed;
        worker_free(&job.workers[t]);
    }
    an_free(job.workers);
    return ok ? ANOMA_OK : an_no_memory();
}
