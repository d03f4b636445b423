/* The k-NN index: build, free, memory, the algorithm choice, and the
 * queries that go row by row (KD-tree batches, the allocation-free row
 * query). The brute-force batch search is brute.c. */
#include "neighbors/knn.h"
#include "core/alloc.h"
#include "core/error.h"
#include "core/threads.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

an_knn_algorithm an_knn_resolve(an_knn_algorithm choice, size_t n, size_t d)
{
    if (choice == AN_KNN_SORTED)
        return d == 1 ? AN_KNN_SORTED : AN_KNN_KD_TREE;
    if (choice != AN_KNN_AUTO)
        return choice;
    if (d == 1)
        return AN_KNN_SORTED;
    if (d <= AN_KNN_KD_MAX_FEATURES &&
        n <= (d == 2 ? AN_KNN_SMALL_MAX_ROWS_2D : AN_KNN_SMALL_MAX_ROWS))
        return AN_KNN_SMALL;
    if (d > AN_KNN_KD_MAX_FEATURES && n <= AN_KNN_SMALL_MAX_ROWS &&
        n * d <= AN_KNN_SMALL_WIDE_MAX_VALUES)
        return AN_KNN_SMALL_WIDE;
    return d <= AN_KNN_KD_MAX_FEATURES ? AN_KNN_KD_TREE : AN_KNN_BRUTE;
}

void an_knn_free(an_knn_index *ix)
{
    if (!ix)
        return;
    an_free(ix->mean);
    an_free(ix->norms);
    an_free(ix->perm);
    an_free(ix->values);
    an_free(ix->nodes);
    an_free(ix->bounds);
    an_free(ix->block_bounds);
    an_free(ix->cols);
    an_free(ix->fcols);
    memset(ix, 0, sizeof *ix);
}

size_t an_knn_memory(const an_knn_index *ix)
{
    size_t bytes = 0;
    if (ix->mean)
        bytes += (ix->d + ix->n) * sizeof(double);
    if (ix->perm) /* the row order, and the rows (or values) copied in it */
        bytes += ix->n * (sizeof(size_t) + ix->d * sizeof(double));
    if (ix->nodes)
        bytes += ix->n_nodes * (sizeof(an_kd_node) + 2 * ix->d * sizeof(double));
    bytes += ix->n_block_leaves * 2 * ix->d * 8 * sizeof(double);
    if (ix->cols)
        bytes += ix->n_pad * ix->d * sizeof(double);
    if (ix->fcols)
        bytes += ix->n_pad * ix->d * sizeof(float);
    return bytes;
}

anoma_status an_knn_centre(an_knn_index *ix)
{
    size_t n = ix->n, d = ix->d;
    ix->mean = AN_NEW_ZEROED(double, d);
    ix->norms = AN_NEW_ARRAY(double, n);
    if (!ix->mean || !ix->norms)
        return an_no_memory();
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < d; j++)
            ix->mean[j] += ix->x[i * d + j];
    for (size_t j = 0; j < d; j++)
        ix->mean[j] /= (double)n;
    double widest = 0;
    for (size_t i = 0; i < n * d; i++) { /* a compare: libm's fmax is a call a value */
        double t = fabs(ix->x[i] - ix->mean[i % d]);
        widest = t > widest ? t : widest;
    }
    int e = 0;
    if (widest > 0)
        frexp(widest, &e); /* widest < 2^e */
    /* at most 2^900: values near the bottom of double's range would take
     * the scale to infinity (their float values underflow instead, an
     * error the filters' absolute term covers) */
    ix->scale = ldexp(1.0, e < -900 ? 900 : -e);
    for (size_t i = 0; i < n; i++) {
        double s = 0;
        for (size_t j = 0; j < d; j++) {
            double t = (ix->x[i * d + j] - ix->mean[j]) * ix->scale;
            s += t * t;
        }
        ix->norms[i] = s;
        ix->max_norm = s > ix->max_norm ? s : ix->max_norm;
    }
    return ANOMA_OK;
}

anoma_status an_knn_build(an_knn_index *ix, const double *x, size_t n, size_t d,
                          an_knn_algorithm choice)
{
    memset(ix, 0, sizeof *ix);
    ix->x = x;
    ix->n = n;
    ix->d = d;
    ix->algorithm = an_knn_resolve(choice, n, d);
    anoma_status st = ix->algorithm == AN_KNN_BRUTE     ? an_knn_centre(ix)
                      : ix->algorithm == AN_KNN_SORTED ? an_sorted_build(ix)
                      : an_knn_is_small(ix)            ? an_small_build(ix)
                                                       : an_kd_build(ix);
    if (st != ANOMA_OK)
        an_knn_free(ix);
    return st;
}

void an_knn_scan_row(const an_knn_index *ix, const double *row, size_t exclude, an_nb_heap *h)
{
    size_t d = ix->d, i = 0;
    for (; i + 4 <= ix->n; i += 4) {
        const double *x = ix->x + i * d;
        double d2[4];
        an_sq_dist4(row, x, x + d, x + 2 * d, x + 3 * d, d, d2);
        for (size_t t = 0; t < 4; t++)
            if (d2[t] <= an_nb_heap_bound(h) && i + t != exclude)
                an_nb_heap_push(h, d2[t], i + t);
    }
    for (; i < ix->n; i++) {
        double d2 = an_sq_dist(row, ix->x + i * d, d);
        if (d2 <= an_nb_heap_bound(h) && i != exclude)
            an_nb_heap_push(h, d2, i);
    }
}

static void search_row(const an_knn_index *ix, const double *row, size_t exclude, an_nb_heap *h)
{
    if (ix->algorithm == AN_KNN_KD_TREE)
        an_kd_search(ix, row, exclude, h);
    else if (ix->algorithm == AN_KNN_SORTED)
        an_sorted_search(ix, row, exclude, h);
    else /* brute */
        an_knn_scan_row(ix, row, exclude, h);
}

size_t an_knn_row_scratch_bytes(const an_knn_index *ix, size_t k)
{
    if (ix && an_knn_is_small(ix))
        return an_small_row_scratch_bytes(ix, k);
    return k * sizeof(an_nb); /* the heap (no index: no row query) */
}

void an_knn_query_row(const an_knn_index *ix, const double *row, size_t k, void *scratch,
                      double *dist, size_t *index)
{
    if (ix->algorithm == AN_KNN_SORTED &&
        an_sorted_search_direct(ix, row, SIZE_MAX, k, dist, index))
        return;
    if (an_knn_is_small(ix)) {
        an_small_query_row(ix, row, k, scratch, dist, index);
        return;
    }
    an_nb_heap h;
    an_nb_heap_init(&h, scratch, k);
    search_row(ix, row, SIZE_MAX, &h);
    an_nb_heap_drain(&h, dist, index);
}

/* KD-tree and sorted batches, each worker with its own heaps. A KD-tree
 * takes its queries in groups that share a leaf (kdtree.c searches a
 * group in one walk); the sorted column goes row by row. */
typedef struct tree_job {
    const an_knn_index *ix;
    const double *q; /* NULL: self-query of rows [first, first + m) */
    size_t first, m, k;
    const size_t *order; /* KD-tree: queries in leaf order (NULL: row by row) */
    const size_t *leaf;  /* the leaf of each query (NULL: order is the tree's own
                            order of its rows, leaves found from the positions) */
    an_nb *heaps;  /* per worker: k (row by row) or AN_KD_GROUP k (groups) */
    double *work;  /* per worker AN_KD_GROUP_WORK(d): a group's box, centre, columns */
    double *dist;
    size_t *index;
} tree_job;

static void row_by_row(const tree_job *job, size_t begin, size_t end, size_t worker)
{
    const an_knn_index *ix = job->ix;
    an_nb_heap h;
    /* A self-query of every row goes in the index's row order: each query
     * then starts where the previous one ended, in memory the cache still
     * holds. The answers are the same in any order. */
    int in_order = !job->q && job->m == ix->n;
    for (size_t slot = begin; slot < end; slot++) {
        size_t i = in_order ? ix->perm[slot] : slot;
        size_t self = job->q ? SIZE_MAX : job->first + i;
        const double *row = job->q ? job->q + i * ix->d : ix->x + self * ix->d;
        if (ix->algorithm == AN_KNN_SORTED &&
            an_sorted_search_direct(ix, row, self, job->k, job->dist + i * job->k,
                                    job->index + i * job->k))
            continue;
        an_nb_heap_init(&h, job->heaps + worker * job->k, job->k);
        search_row(ix, row, self, &h);
        an_nb_heap_drain(&h, job->dist + i * job->k, job->index + i * job->k);
    }
}

/* The end of the group that starts at position `pos` of the order. */
static size_t group_end(const tree_job *job, size_t pos, size_t end)
{
    size_t stop = end - pos < AN_KD_GROUP ? end : pos + AN_KD_GROUP;
    if (!job->leaf) {
        size_t leaf_end = an_kd_group_end(job->ix, pos);
        return leaf_end < stop ? leaf_end : stop;
    }
    size_t e = pos + 1;
    while (e < stop && job->leaf[job->order[e]] == job->leaf[job->order[pos]])
        e++;
    return e;
}

static void tree_range(void *ctx, size_t begin, size_t end, size_t worker)
{
    const tree_job *job = ctx;
    if (!job->order) {
        row_by_row(job, begin, end, worker);
        return;
    }
    const an_knn_index *ix = job->ix;
    size_t d = ix->d, k = job->k;
    an_kd_group g;
    g.lo = job->work + worker * AN_KD_GROUP_WORK(d);
    g.hi = g.lo + d;
    g.centre = g.hi + d;
    g.columns = g.centre + d;
    an_nb *heaps = job->heaps + worker * AN_KD_GROUP * k;
    for (size_t pos = begin; pos < end;) {
        size_t stop = group_end(job, pos, end);
        g.count = stop - pos;
        for (size_t t = 0; t < g.count; t++) {
            size_t i = job->order[pos + t];
            size_t self = job->q ? SIZE_MAX : job->first + i;
            g.rows[t] = job->q ? job->q + i * d : ix->x + self * d;
            g.exclude[t] = self;
            an_nb_heap_init(&g.heaps[t], heaps + t * k, k);
        }
        an_kd_search_group(ix, &g);
        for (size_t t = 0; t < g.count; t++) {
            size_t i = job->order[pos + t];
            an_nb_sorted_drain(&g.heaps[t], job->dist + i * k, job->index + i * k);
        }
        pos = stop;
    }
}

/* Sort the m queries by the leaf each falls in (a counting sort by leaf
 * node, stable): order[] the queries, leaf[] the leaf of each query. */
static anoma_status leaf_order(const an_knn_index *ix, const double *q, size_t first, size_t m,
                               size_t *order, size_t *leaf)
{
    size_t *count = AN_NEW_ZEROED(size_t, ix->n_nodes + 1);
    if (!count)
        return an_no_memory();
    for (size_t i = 0; i < m; i++) {
        const double *row = q ? q + i * ix->d : ix->x + (first + i) * ix->d;
        leaf[i] = an_kd_group_of(ix, row);
        count[leaf[i] + 1]++;
    }
    for (size_t v = 0; v < ix->n_nodes; v++)
        count[v + 1] += count[v];
    for (size_t i = 0; i < m; i++)
        order[count[leaf[i]]++] = i;
    an_free(count);
    return ANOMA_OK;
}

/* Queries per chunk below which a thread costs more than it saves. */
enum { MIN_TREE_QUERIES = 64 };

static anoma_status query(const an_knn_index *ix, const double *q, size_t first, size_t m,
                          size_t k, size_t n_threads, double *dist, size_t *index)
{
    if (!m)
        return ANOMA_OK;
    if (ix->algorithm == AN_KNN_BRUTE)
        return an_knn_brute_query(ix, q, first, m, k, n_threads, dist, index);
    if (an_knn_is_small(ix))
        return q ? an_small_query(ix, q, m, k, n_threads, dist, index)
                 : an_small_self_query(ix, first, m, k, n_threads, dist, index);
    size_t workers = an_parallel_workers(m, n_threads, MIN_TREE_QUERIES);
    int groups = ix->algorithm == AN_KNN_KD_TREE;
    tree_job job = {ix, q, first, m, k, NULL, NULL, NULL, NULL, dist, index};
    size_t *order = NULL, *leaf = NULL;
    anoma_status st = ANOMA_OK;
    if (groups) {
        job.heaps = an_malloc_array(workers, AN_KD_GROUP * k * sizeof(an_nb));
        job.work = an_malloc_array(workers, AN_KD_GROUP_WORK(ix->d) * sizeof(double));
        if (!q && first == 0 && m == ix->n) {
            /* every indexed row: the tree's own order holds them by leaf */
            job.order = ix->perm;
        } else {
            order = AN_NEW_ARRAY(size_t, m);
            leaf = AN_NEW_ARRAY(size_t, m);
            st = order && leaf ? leaf_order(ix, q, first, m, order, leaf) : an_no_memory();
            job.order = order;
            job.leaf = leaf;
        }
        if (!job.heaps || !job.work || !job.order)
            st = an_no_memory();
    } else {
        job.heaps = an_malloc_array(workers, k * sizeof(an_nb));
        if (!job.heaps)
            st = an_no_memory();
    }
    if (st == ANOMA_OK)
        an_parallel_for(m, workers, MIN_TREE_QUERIES, tree_range, &job);
    an_free(job.heaps);
    an_free(job.work);
    an_free(order);
    an_free(leaf);
    return st;
}

anoma_status an_knn_query(const an_knn_index *ix, const double *q, size_t m, size_t k,
                          size_t n_threads, double *dist, size_t *index)
{
    return query(ix, q, 0, m, k, n_threads, dist, index);
}

anoma_status an_knn_self_query(const an_knn_index *ix, size_t first, size_t m, size_t k,
                               size_t n_threads, double *dist, size_t *index)
{
    return query(ix, NULL, first, m, k, n_threads, dist, index);
}
