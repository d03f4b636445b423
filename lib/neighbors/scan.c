/* The exact scan: every indexed row's exact distance, with no filter and
 * no tree, for sets small enough that pruning costs more than it saves
 * (breastw, 683 x 9: a KD-tree query took 5.5 us, most of it deciding
 * which leaves to skip).
 *
 * The rows are copied in blocks of SCAN_BLOCK rows, each stored column by
 * column, so that a block's distances are one vectorised pass per column
 * (an_knn_block_distances) with, for each row, the operations of
 * an_sq_dist in its order: the same bits. The heap's (distance, index)
 * order makes the answer independent of the order rows are offered in. */
#include "neighbors/knn.h"
#include "core/alloc.h"
#include "core/clones.h"
#include "core/error.h"

/* Rows per block: enough rows that a block's own bound (below) is
 * tight; its distances (8 KiB) stay in the first-level cache. */
enum { SCAN_BLOCK = 1024 };

AN_VECTOR_CLONES size_t an_knn_block_distances(const double *block, size_t m, size_t d,
                                               const double *q, double bound, double *out)
{
    for (size_t r = 0; r < m; r++)
        out[r] = 0;
    for (size_t j = 0; j < d; j++) {
        const double *col = block + j * m;
        double qj = q[j];
        for (size_t r = 0; r < m; r++) {
            double t = qj - col[r];
            out[r] += t * t;
        }
    }
    size_t within = 0;
    for (size_t r = 0; r < m; r++)
        within += out[r] <= bound;
    return within;
}

anoma_status an_scan_build(an_knn_index *ix)
{
    size_t n = ix->n, d = ix->d;
    ix->values = an_malloc_array(n, d * sizeof(double));
    if (!ix->values)
        return an_no_memory();
    for (size_t begin = 0; begin < n; begin += SCAN_BLOCK) {
        size_t m = n - begin < SCAN_BLOCK ? n - begin : SCAN_BLOCK;
        for (size_t r = 0; r < m; r++)
            for (size_t j = 0; j < d; j++)
                ix->values[begin * d + j * m + r] = ix->x[(begin + r) * d + j];
    }
    return ANOMA_OK;
}

/* An upper bound of the k-th smallest of the m values d2 (k <= m): split
 * them into k disjoint groups (value i in group i mod k), and k distinct
 * rows lie at or below the largest of the groups' minima. Vectorised and
 * with no branch on the values, where a heap fed every row in index order
 * pays a push for each new best (k ln(m / k) of them) and a mispredicted
 * branch for most. */
static double group_bound(const double *d2, size_t m, size_t k, double *mins)
{
    for (size_t i = 0; i < k; i++)
        mins[i] = d2[i];
    for (size_t base = k; base < m; base += k) {
        size_t count = m - base < k ? m - base : k;
        const double *v = d2 + base;
        for (size_t i = 0; i < count; i++)
            mins[i] = v[i] < mins[i] ? v[i] : mins[i];
    }
    double bound = mins[0];
    for (size_t i = 1; i < k; i++)
        bound = mins[i] > bound ? mins[i] : bound;
    return bound;
}

void an_scan_search(const an_knn_index *ix, const double *row, size_t exclude, an_nb_heap *h)
{
    size_t n = ix->n, d = ix->d, k = h->cap;
    double d2[SCAN_BLOCK], mins[SCAN_BLOCK];
    unsigned short candidates[SCAN_BLOCK];
    for (size_t begin = 0; begin < n; begin += SCAN_BLOCK) {
        size_t m = n - begin < SCAN_BLOCK ? n - begin : SCAN_BLOCK;
        double bound = an_nb_heap_bound(h);
        if (!an_knn_block_distances(ix->values + begin * d, m, d, row, bound, d2))
            continue;
        if (exclude - begin < m) /* the query itself: no candidate, no group's minimum */
            d2[exclude - begin] = INFINITY;
        if (k && m >= k) {
            double own = group_bound(d2, m, k, mins);
            bound = own < bound ? own : bound;
        }
        size_t count = 0;
        for (size_t r = 0; r < m; r++) { /* no branch: most rows are not candidates */
            candidates[count] = (unsigned short)r;
            count += d2[r] <= bound;
        }
        for (size_t t = 0; t < count; t++) {
            size_t r = candidates[t];
            if (begin + r != exclude)
                an_nb_heap_push(h, d2[r], begin + r);
        }
    }
}
