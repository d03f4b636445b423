/* The KD-tree: a binary tree over a permutation of the indexed rows, each
 * node split at the median of its most varying column, with each node's exact
 * bounding box for pruning.
 *
 * Exactness: a node is skipped only when the squared distance from the
 * query to its box is strictly above the worst kept pair's, or equal to it
 * with every row of the node at a higher index (each node keeps its lowest
 * row index). Rounding is monotone, so no row inside the box can compute to
 * a smaller distance than the box does; a row at an equal distance may
 * still win on its lower index, which is why equality alone does not
 * prune. With the heap's (distance, index) order this gives exactly the
 * brute-force answer.
 *
 * The rows are also kept copied in the tree's order (ix->values), each
 * leaf's rows as one block stored column by column, so that a leaf's scan
 * reads contiguous memory and computes its distances four or eight rows at
 * a time (AVX2 where the processor has it) with, for each row, the same
 * operations in the same order as an_sq_dist: the same bits. A leaf of rows that are all one point (duplicates the median
 * cannot split) keeps its rows in index order: they are all at one
 * distance, so the scan offers them lowest index first and stops at the
 * first the heap refuses, instead of computing every copy (mammography
 * has one point 3329 times). */
#include "neighbors/knn.h"
#include "core/alloc.h"
#include "core/clones.h"
#include "core/error.h"
#include "core/order.h"

#include <stddef.h>
#include <stdint.h>
#if defined(__GNUC__) && defined(__x86_64__)
#include <immintrin.h>
#define AN_KD_HAVE_AVX512 1
#endif


/* Rows per leaf: large enough that a leaf's scan (vectorised) outweighs
 * the descent, small enough to prune well in 2 to 9 dimensions. 64
 * measured against 16, 32 and 128 on shuttle and mammography (docs/neighbors.md). */
enum { LEAF_ROWS = 64 };
/* A leaf's rows in blocks of 8, each with its box: one AVX-512 register
 * holds a value of each block's box, or of each row of a block. */
enum { BLOCK_ROWS = 8, LEAF_BLOCKS = LEAF_ROWS / BLOCK_ROWS };

typedef struct builder {
    an_knn_index *ix;
    size_t cap; /* nodes allocated */
} builder;

static double key(const an_knn_index *ix, size_t slot, size_t col)
{
    return ix->x[ix->perm[slot] * ix->d + col];
}

/* Reorder perm[begin, end) so that the slot nth holds the row a sort by
 * column col would put there, no larger key before it, no smaller after.
 * Each round splits the range three ways (below the pivot, equal, above),
 * so that many equal keys (duplicate rows, lab values) cost no more than
 * distinct ones, in two passes with no branch on the keys: each row is
 * swapped to the front of the rest and the front advances by the
 * comparison. The branch per key mispredicted for half of them (a random
 * order): this selection was 57 % of thyroid's build. */
static void select_nth(an_knn_index *ix, size_t begin, size_t end, size_t nth, size_t col)
{
    size_t *perm = ix->perm, d = ix->d;
    const double *x = ix->x + col;
    while (end - begin > 1) {
        double a = key(ix, begin, col), b = key(ix, begin + (end - begin) / 2, col),
               c = key(ix, end - 1, col);
        double pivot = a < b ? (b < c ? b : a < c ? c : a) : (a < c ? a : b < c ? c : b);
        size_t lt = begin; /* [begin, lt) < pivot */
        for (size_t i = begin; i < end; i++) {
            size_t row = perm[i];
            size_t below = x[row * d] < pivot;
            perm[i] = perm[lt];
            perm[lt] = row;
            lt += below;
        }
        if (nth < lt) {
            end = lt;
            continue;
        }
        size_t gt = lt; /* [lt, gt) == pivot: at least the pivot's row */
        for (size_t i = lt; i < end; i++) {
            size_t row = perm[i];
            size_t equal = x[row * d] == pivot;
            perm[i] = perm[gt];
            perm[gt] = row;
            gt += equal;
        }
        if (nth < gt)
            return;
        begin = gt;
    }
}

static anoma_status new_nodes(builder *b, size_t count, size_t *first)
{
    an_knn_index *ix = b->ix;
    if (ix->n_nodes + count > b->cap) {
        size_t cap = 2 * b->cap + count;
        an_kd_node *nodes = an_realloc_array(ix->nodes, cap, sizeof *nodes);
        if (!nodes)
            return an_no_memory();
        ix->nodes = nodes;
        double *bounds = an_realloc_array(ix->bounds, cap, 2 * ix->d * sizeof(double));
        if (!bounds)
            return an_no_memory();
        ix->bounds = bounds;
        b->cap = cap;
    }
    *first = ix->n_nodes;
    ix->n_nodes += count;
    return ANOMA_OK;
}

/* The column a node splits on: the one whose values vary most (sum of
 * squared deviations from the mean, each value taken from the box's
 * lower corner so that large offsets cancel nothing). The widest range,
 * which one far row sets, gave boxes that a query reached more often:
 * shuttle's self-query scanned 60 leaves a query, 50 with the variance
 * (docs/neighbors.md). Only the tree's shape depends on it, never an
 * answer. */
static size_t split_column(const an_knn_index *ix, size_t begin, size_t end, const double *lo)
{
    size_t best = 0;
    double best_spread = -1, count = (double)(end - begin);
    for (size_t j = 0; j < ix->d; j++) {
        double sum = 0, squares = 0;
        for (size_t i = begin; i < end; i++) {
            double v = key(ix, i, j) - lo[j];
            sum += v;
            squares += v * v;
        }
        double spread = squares - sum * sum / count;
        spread = spread < INFINITY ? spread : INFINITY; /* overflow (or inf - inf) */
        if (spread > best_spread) {
            best_spread = spread;
            best = j;
        }
    }
    return best;
}

/* Order a leaf's rows [begin, end) so that each block of BLOCK_ROWS rows
 * (counted from begin) holds nearby rows: split as the tree splits, at a
 * multiple of BLOCK_ROWS near the middle, down to single blocks. A
 * block's box (build_block_bounds) is then small, and a query skips the
 * blocks outside its bound; in the order the parent's split left them, a
 * block's box was nearly the leaf's. Only the order within the leaf
 * changes, never an answer (ties go by index, not by position). */
static void order_blocks(an_knn_index *ix, size_t begin, size_t end)
{
    size_t blocks = (end - begin + BLOCK_ROWS - 1) / BLOCK_ROWS;
    if (blocks < 2)
        return;
    /* the first row as the offset of the deviations: a point of the box,
     * as its lower corner is */
    const double *offset = ix->x + ix->perm[begin] * ix->d;
    size_t mid = begin + (blocks + 1) / 2 * BLOCK_ROWS;
    select_nth(ix, begin, end, mid, split_column(ix, begin, end, offset));
    order_blocks(ix, begin, mid);
    order_blocks(ix, mid, end);
}

static anoma_status build_node(builder *b, size_t node, size_t begin, size_t end, size_t depth)
{
    an_knn_index *ix = b->ix;
    size_t d = ix->d;
    double *lo = ix->bounds + node * 2 * d, *hi = lo + d;
    size_t min_index = ix->perm[begin];
    for (size_t j = 0; j < d; j++)
        lo[j] = hi[j] = key(ix, begin, j);
    for (size_t i = begin + 1; i < end; i++) {
        min_index = ix->perm[i] < min_index ? ix->perm[i] : min_index;
        for (size_t j = 0; j < d; j++) {
            double v = key(ix, i, j);
            lo[j] = v < lo[j] ? v : lo[j];
            hi[j] = v > hi[j] ? v : hi[j];
        }
    }
    ix->nodes[node] = (an_kd_node){begin, end, 0, min_index, 0, 0};
    ix->depth = depth > ix->depth ? depth : ix->depth;
    int one_point = 1;
    for (size_t j = 0; j < d; j++)
        one_point &= hi[j] == lo[j];
    if (one_point) { /* every row the same point */
        ix->nodes[node].same_point = 1;
        /* one value for all, so in index order */
        return an_sort_rows_by_value(ix->perm + begin, end - begin, ix->x, d, NULL);
    }
    if (end - begin <= LEAF_ROWS) {
        order_blocks(ix, begin, end);
        return ANOMA_OK;
    }
    size_t mid = begin + (end - begin) / 2, left;
    select_nth(ix, begin, end, mid, split_column(ix, begin, end, lo));
    AN_TRY(new_nodes(b, 2, &left)); /* may move ix->nodes and ix->bounds */
    ix->nodes[node].left = left;
    AN_TRY(build_node(b, left, begin, mid, depth + 1));
    return build_node(b, left + 1, mid, end, depth + 1);
}

/* A leaf of rows that are not all one point: at most LEAF_ROWS rows. */
static int blocked_leaf(const an_kd_node *nd)
{
    return !nd->left && !nd->same_point;
}

/* The box of each block of BLOCK_ROWS rows of each leaf (blocked_leaf),
 * from the rows as ix->values holds them: a query within its bound of a
 * leaf's box is often not within it of most of the leaf's rows (shuttle:
 * 50 leaves scanned a query, 20 holding a candidate), and eight blocks'
 * boxes are checked in one pass (scan_leaf_avx512). */
static anoma_status build_block_bounds(an_knn_index *ix)
{
    size_t d = ix->d, leaves = 0;
    for (size_t i = 0; i < ix->n_nodes; i++)
        leaves += blocked_leaf(&ix->nodes[i]);
    ix->block_bounds = an_malloc_array(leaves, 2 * d * LEAF_BLOCKS * sizeof(double));
    if (!ix->block_bounds && leaves)
        return an_no_memory();
    ix->n_block_leaves = leaves;
    size_t leaf = 0;
    for (size_t i = 0; i < ix->n_nodes; i++) {
        an_kd_node *nd = &ix->nodes[i];
        if (!blocked_leaf(nd))
            continue;
        nd->blocks = leaf;
        double *lo = ix->block_bounds + leaf++ * 2 * d * LEAF_BLOCKS, *hi = lo + d * LEAF_BLOCKS;
        size_t m = nd->end - nd->begin;
        for (size_t j = 0; j < d; j++) {
            const double *col = ix->values + nd->begin * d + j * m;
            for (size_t b = 0; b < LEAF_BLOCKS; b++) {
                size_t r = b * BLOCK_ROWS, stop = r + BLOCK_ROWS < m ? r + BLOCK_ROWS : m;
                double l = r < m ? col[r] : 0, h = l; /* blocks past the leaf: unused */
                for (; r < stop; r++) {
                    l = col[r] < l ? col[r] : l;
                    h = col[r] > h ? col[r] : h;
                }
                lo[j * LEAF_BLOCKS + b] = l;
                hi[j * LEAF_BLOCKS + b] = h;
            }
        }
    }
    return ANOMA_OK;
}

anoma_status an_kd_build(an_knn_index *ix)
{
    ix->perm = AN_NEW_ARRAY(size_t, ix->n);
    if (!ix->perm)
        return an_no_memory();
    for (size_t i = 0; i < ix->n; i++)
        ix->perm[i] = i;
    builder b = {ix, 0};
    size_t root;
    AN_TRY(new_nodes(&b, 1, &root));
    AN_TRY(build_node(&b, root, 0, ix->n, 0));
    size_t d = ix->d;
    ix->values = an_malloc_array(ix->n, d * sizeof(double));
    if (!ix->values)
        return an_no_memory();
    for (size_t i = 0; i < ix->n_nodes; i++) { /* each leaf's block, column by column */
        const an_kd_node *nd = &ix->nodes[i];
        size_t m = nd->end - nd->begin;
        for (size_t r = 0; !nd->left && r < m; r++)
            for (size_t j = 0; j < d; j++)
                ix->values[nd->begin * d + j * m + r] = ix->x[ix->perm[nd->begin + r] * d + j];
    }
    return build_block_bounds(ix);
}

/* Squared distances from q to the m rows of a leaf block (column by
 * column): out[r] = sum_j (q_j - x_rj)^2 in column order, as an_sq_dist.
 * Returns how many are at most `bound`: most leaves a search scans hold
 * none, and the caller then skips the row-by-row offers. */
AN_VECTOR_CLONES static size_t leaf_distances(const double *block, size_t m, size_t d,
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

/* Squared distance from q to the box; never above that of a row inside. */
static double box_d2(const double *lo, const double *hi, const double *q, size_t d)
{
    double s = 0;
    for (size_t j = 0; j < d; j++) {
        double t = q[j] < lo[j] ? lo[j] - q[j] : q[j] > hi[j] ? q[j] - hi[j] : 0;
        s += t * t;
    }
    return s;
}

/* The index a row at exactly the heap's bound must be below to enter. */
static size_t worst_index(const an_nb_heap *h)
{
    return h->size < h->cap ? SIZE_MAX : h->v[0].index;
}

/* Whether a node at squared distance node_d2 (never above any of its
 * rows' distances) may hold a row the heap takes: one nearer than its
 * worst pair, or at the same distance with a lower index. On a point
 * repeated many times (mammography: 3329 copies) a query at it fills its
 * heap with copies at distance 0, and every other node holding a copy is
 * at distance 0 too: the index tells which can still hold a lower one. */
static int may_enter(const an_nb_heap *h, double node_d2, size_t min_index)
{
    double bound = an_nb_heap_bound(h);
    return node_d2 < bound || (node_d2 == bound && min_index < worst_index(h));
}

/* The KD-tree's heaps are kept sorted, worst pair first (heap.h,
 * an_nb_sorted_push): breastw's queries let 65 pairs in each, shuttle's
 * 108, and the sift-down of a heap mispredicts at most of its levels. */

/* Offer the rows of leaf nd (but `exclude`) to h. */
static void scan_leaf(const an_knn_index *ix, const an_kd_node *nd, const double *row,
                      size_t exclude, an_nb_heap *h)
{
    const size_t *p = ix->perm;
    size_t s = nd->begin, d = ix->d;
    if (nd->same_point) {
        double d2 = an_sq_dist(row, ix->x + p[s] * d, d);
        for (; s < nd->end; s++) {
            if (p[s] == exclude)
                continue;
            if (h->size == h->cap && !an_nb_less((an_nb){d2, p[s]}, h->v[0]))
                return; /* and so every later copy: a higher index */
            an_nb_sorted_push(h, d2, p[s]);
        }
        return;
    }
    double d2[LEAF_ROWS]; /* a leaf of more rows is one point, above */
    unsigned char candidates[LEAF_ROWS];
    size_t m = nd->end - s, count = 0;
    double bound = an_nb_heap_bound(h);
    if (!leaf_distances(ix->values + s * d, m, d, row, bound, d2))
        return;
    for (size_t r = 0; r < m; r++) { /* no branch on the values: few are candidates */
        candidates[count] = (unsigned char)r;
        count += d2[r] <= bound;
    }
    for (size_t t = 0; t < count; t++) { /* the heap refuses what its pushes made too far */
        size_t r = candidates[t];
        if (p[s + r] != exclude)
            an_nb_sorted_push(h, d2[r], p[s + r]);
    }
}

#ifdef AN_KD_HAVE_AVX512
/* The rows of a leaf of m rows in its block from row r0 (8 or fewer). */
static __mmask8 block_rows(size_t m, size_t r0)
{
    return m - r0 >= BLOCK_ROWS ? 0xff : (__mmask8)((1u << (m - r0)) - 1);
}

/* The squared distances from q to the rows `rows` of the block from r0 of
 * a leaf of m rows (column by column): leaf_distances' operations in its
 * order, so the same bits; 0 in the other lanes. */
__attribute__((target("avx512f"))) static inline __m512d
block_distances(const double *block, size_t m, size_t d, const double *q, size_t r0,
                __mmask8 rows)
{
    __m512d sum = _mm512_setzero_pd();
    for (size_t j = 0; j < d; j++) {
        __m512d t = _mm512_sub_pd(_mm512_set1_pd(q[j]),
                                  _mm512_maskz_loadu_pd(rows, block + j * m + r0));
        sum = _mm512_add_pd(sum, _mm512_mul_pd(t, t));
    }
    return sum;
}

/* ranks[a]: for each row of block a, how many of the leaf's m rows in d2
 * are strictly nearer (NaN: none, and counted by none). Each row's
 * distance is broadcast once and compared with all `blocks` blocks held
 * in registers; blocks is a constant where this is inlined. */
__attribute__((target("avx512f"), always_inline)) static inline void
rank_nearer_avx512(const double *d2, size_t m, size_t blocks, __m512i *ranks)
{
    const __m512i one = _mm512_set1_epi64(1);
    __m512d x[LEAF_BLOCKS];
    __m512i r[LEAF_BLOCKS];
    for (size_t a = 0; a < blocks; a++) {
        x[a] = _mm512_loadu_pd(d2 + a * BLOCK_ROWS);
        r[a] = _mm512_setzero_si512();
    }
    for (size_t b = 0; b < m; b++) {
        __m512d y = _mm512_set1_pd(d2[b]);
        for (size_t a = 0; a < blocks; a++)
            r[a] = _mm512_mask_add_epi64(r[a], _mm512_cmp_pd_mask(y, x[a], _CMP_LT_OQ), r[a], one);
    }
    for (size_t a = 0; a < blocks; a++)
        ranks[a] = r[a];
}

/* Adds to ranks[a], for each row of block a, how many of the leaf's m
 * rows are at the same distance with a lower index p, as
 * rank_nearer_avx512 counts (n_blocks of the leaf's rows in p). */
__attribute__((target("avx512f"), always_inline)) static inline void
rank_tied_lower_avx512(const double *d2, const long long *p, size_t m, size_t blocks,
                       size_t n_blocks, __m512i *ranks)
{
    const __m512i one = _mm512_set1_epi64(1);
    __m512d x[LEAF_BLOCKS];
    __m512i xi[LEAF_BLOCKS];
    for (size_t a = 0; a < blocks; a++) {
        size_t r0 = a * BLOCK_ROWS;
        x[a] = _mm512_loadu_pd(d2 + r0);
        xi[a] = _mm512_maskz_loadu_epi64(a < n_blocks ? block_rows(m, r0) : 0, p + r0);
    }
    for (size_t b = 0; b < m; b++) {
        __m512d y = _mm512_set1_pd(d2[b]);
        __m512i yi = _mm512_set1_epi64(p[b]);
        for (size_t a = 0; a < blocks; a++) {
            __mmask8 lower = _mm512_cmp_epu64_mask(yi, xi[a], _MM_CMPINT_LT);
            ranks[a] = _mm512_mask_add_epi64(
                ranks[a], _mm512_mask_cmp_pd_mask(lower, y, x[a], _CMP_EQ_OQ), ranks[a], one);
        }
    }
}

/* The first leaf a query scans, its heap still empty: every row of the
 * leaf would be offered (the bound is +inf until k rows are in), some
 * forty pushes of about nine shifts and a mispredicted end each, the
 * larger part of a thyroid query's offers. Instead every row's distance
 * (scan_leaf_avx512's operations, so the same bits), then each row's rank
 * by counting the rows before it in (distance, index) order, and the
 * min(k, rows) first written straight to their places in the sorted heap
 * (worst first). The excluded row and the lanes past the leaf are NaN,
 * which no compare counts, as a NaN distance is never offered. The rows
 * strictly nearer are counted first (one compare a row); tied rows then
 * share a rank, which the ranks' sum shows (below the 0 + 1 + ... +
 * (rows - 1) of distinct ranks), and only then are the tied rows of lower
 * index added (two compares a row). */
_Static_assert(sizeof(an_nb) == 16 && offsetof(an_nb, index) == 8,
               "the first leaf's scatter places pairs 16 bytes apart, the index at 8");
__attribute__((target("avx512f"))) static void
fill_from_leaf_avx512(const an_knn_index *ix, const an_kd_node *nd, const double *row,
                      size_t exclude, an_nb_heap *h)
{
    size_t d = ix->d, s = nd->begin, m = nd->end - s;
    size_t n_blocks = (m + BLOCK_ROWS - 1) / BLOCK_ROWS;
    const double *block = ix->values + s * d;
    const long long *p = (const long long *)(const void *)(ix->perm + s);
    double d2[LEAF_ROWS];
    for (size_t r = n_blocks * BLOCK_ROWS; r < LEAF_ROWS; r++) /* blocks past the leaf */
        d2[r] = NAN;
    __m512i excluded = _mm512_set1_epi64((long long)exclude);
    size_t valid = 0;
    for (size_t b = 0; b < n_blocks; b++) {
        size_t r0 = b * BLOCK_ROWS;
        __mmask8 rows = block_rows(m, r0);
        __m512d sum = block_distances(block, m, d, row, r0, rows);
        __m512i index = _mm512_maskz_loadu_epi64(rows, p + r0);
        __mmask8 out = (__mmask8)~rows | _mm512_mask_cmpeq_epi64_mask(rows, index, excluded);
        sum = _mm512_mask_blend_pd(out, sum, _mm512_set1_pd(NAN));
        valid += (size_t)__builtin_popcount(_mm512_cmp_pd_mask(sum, sum, _CMP_ORD_Q));
        _mm512_storeu_pd(d2 + r0, sum);
    }
    __m512i ranks[LEAF_BLOCKS];
    if (n_blocks <= LEAF_BLOCKS / 2)
        rank_nearer_avx512(d2, m, LEAF_BLOCKS / 2, ranks);
    else
        rank_nearer_avx512(d2, m, LEAF_BLOCKS, ranks);
    __m512i total = _mm512_setzero_si512();
    for (size_t a = 0; a < n_blocks; a++)
        total = _mm512_add_epi64(total, ranks[a]);
    if ((size_t)_mm512_reduce_add_epi64(total) != valid * (valid - (valid > 0)) / 2) {
        if (n_blocks <= LEAF_BLOCKS / 2) /* tied rows: the lower index first */
            rank_tied_lower_avx512(d2, p, m, LEAF_BLOCKS / 2, n_blocks, ranks);
        else
            rank_tied_lower_avx512(d2, p, m, LEAF_BLOCKS, n_blocks, ranks);
    }
    size_t size = valid < h->cap ? valid : h->cap;
    __m512i last = _mm512_set1_epi64((long long)size - 1);
    for (size_t a = 0; a < n_blocks; a++) {
        __m512d x = _mm512_loadu_pd(d2 + a * BLOCK_ROWS);
        __mmask8 keep = _mm512_mask_cmp_epi64_mask(_mm512_cmp_pd_mask(x, x, _CMP_ORD_Q), ranks[a],
                                                   last, _MM_CMPINT_LE);
        /* worst first: rank r at place size - 1 - r, an_nb's bytes apart */
        __m512i at = _mm512_slli_epi64(_mm512_sub_epi64(last, ranks[a]), 4);
        _mm512_mask_i64scatter_pd(&h->v[0].d2, keep, at, x, 1);
        _mm512_mask_i64scatter_epi64(&h->v[0].index, keep, at,
                                     _mm512_maskz_loadu_epi64(keep, p + a * BLOCK_ROWS), 1);
    }
    h->size = size;
}

/* scan_leaf, a block of 8 rows at a time, only the blocks whose box is
 * within the heap's bound (at it too: a row there may win on its index).
 * The distances have leaf_distances' operations in its order: the same
 * bits. Shuttle's queries reach 298 blocks each, 129 within the bound.
 * Each block is checked again against the bound its predecessors' offers
 * left (mammography's search 0.96 to 0.98x). */
__attribute__((target("avx512f"))) static void
scan_leaf_avx512(const an_knn_index *ix, const an_kd_node *nd, const double *row,
                 size_t exclude, an_nb_heap *h)
{
    if (nd->same_point) {
        scan_leaf(ix, nd, row, exclude, h);
        return;
    }
    if (h->size == 0) {
        fill_from_leaf_avx512(ix, nd, row, exclude, h);
        return;
    }
    size_t d = ix->d, s = nd->begin, m = nd->end - s;
    double bound = an_nb_heap_bound(h);
    const double *lo = ix->block_bounds + nd->blocks * 2 * d * LEAF_BLOCKS;
    const double *hi = lo + d * LEAF_BLOCKS;
    __m512d zero = _mm512_setzero_pd(), box = zero;
    for (size_t j = 0; j < d; j++) {
        __m512d q = _mm512_set1_pd(row[j]);
        __m512d below = _mm512_max_pd(_mm512_sub_pd(_mm512_loadu_pd(lo + j * LEAF_BLOCKS), q), zero);
        __m512d above = _mm512_max_pd(_mm512_sub_pd(q, _mm512_loadu_pd(hi + j * LEAF_BLOCKS)), zero);
        __m512d gap = _mm512_add_pd(below, above);
        box = _mm512_add_pd(box, _mm512_mul_pd(gap, gap));
    }
    size_t n_blocks = (m + BLOCK_ROWS - 1) / BLOCK_ROWS;
    __mmask8 blocks = _mm512_mask_cmp_pd_mask((__mmask8)((1u << n_blocks) - 1), box,
                                              _mm512_set1_pd(bound), _CMP_LE_OQ);
    const double *block = ix->values + s * d;
    const size_t *p = ix->perm + s;
    double box_d2s[LEAF_BLOCKS];
    _mm512_storeu_pd(box_d2s, box);
    for (; blocks; blocks &= blocks - 1) {
        size_t b = (size_t)__builtin_ctz(blocks), r0 = b * BLOCK_ROWS;
        bound = an_nb_heap_bound(h); /* the offers so far may have lowered it */
        if (box_d2s[b] > bound)
            continue;
        __mmask8 rows = block_rows(m, r0);
        __m512d sum = block_distances(block, m, d, row, r0, rows);
        double d2[BLOCK_ROWS];
        _mm512_storeu_pd(d2, sum);
        /* the heap refuses what its own pushes made too far */
        for (__mmask8 in = _mm512_mask_cmp_pd_mask(rows, sum, _mm512_set1_pd(bound), _CMP_LE_OQ);
             in; in &= in - 1) {
            size_t r = (size_t)__builtin_ctz(in);
            if (p[r0 + r] != exclude)
                an_nb_sorted_push(h, d2[r], p[r0 + r]);
        }
    }
}
#endif

static void visit(const an_knn_index *ix, size_t node, double node_d2, const double *row,
                  size_t exclude, an_nb_heap *h)
{
    const an_kd_node *nd = &ix->nodes[node];
    if (!may_enter(h, node_d2, nd->min_index))
        return;
    size_t d = ix->d;
    if (!nd->left) {
        scan_leaf(ix, nd, row, exclude, h);
        return;
    }
    size_t a = nd->left, b = nd->left + 1;
    double da = box_d2(ix->bounds + a * 2 * d, ix->bounds + a * 2 * d + d, row, d);
    double db = box_d2(ix->bounds + b * 2 * d, ix->bounds + b * 2 * d + d, row, d);
    if (db < da) {
        visit(ix, b, db, row, exclude, h);
        visit(ix, a, da, row, exclude, h);
    } else {
        visit(ix, a, da, row, exclude, h);
        visit(ix, b, db, row, exclude, h);
    }
}

void an_kd_search(const an_knn_index *ix, const double *row, size_t exclude, an_nb_heap *h)
{
    visit(ix, 0, box_d2(ix->bounds, ix->bounds + ix->d, row, ix->d), row, exclude, h);
}

/* ---- groups of nearby queries searched together ----
 *
 * Queries that fall in one leaf have nearly the same candidate leaves, so
 * a group of them walks the tree once: a node is skipped for the whole
 * group when the squared distance from the group's bounding box to the
 * node's box is strictly above the worst kept pair of every query in the
 * group. Exact for each query: the box-to-box distance, computed with
 * the same monotone operations, is never above the distance from any
 * query inside the group's box to the node's box (and so to any row in
 * it). Each query also checks its own distance to every node's box the
 * group reaches, and only the queries within their bound go down to the
 * children, so a query scans no more rows than alone and a leaf's check
 * costs the queries still near it, not the whole group (the group's
 * vectorised check of every query at every leaf it reached was a quarter
 * of shuttle's CPU); what the group saves is the walk through the inner
 * nodes, done once for up to AN_KD_GROUP queries instead of once each. */

/* Squared distance between the boxes [alo, ahi] and [blo, bhi]: never
 * above box_d2 of a point of the first box to the second. */
static double box_box_d2(const double *alo, const double *ahi, const double *blo,
                         const double *bhi, size_t d)
{
    double s = 0;
    for (size_t j = 0; j < d; j++) {
        double t = blo[j] > ahi[j] ? blo[j] - ahi[j] : alo[j] > bhi[j] ? alo[j] - bhi[j] : 0;
        s += t * t;
    }
    return s;
}

/* The worst kept pair over the group: what a node must not exceed. */
static double group_bound(const an_kd_group *g)
{
    double b = 0;
    for (size_t i = 0; i < g->count; i++)
        b = g->bounds[i] > b ? g->bounds[i] : b;
    return b;
}

/* Queries of a group as a set: bit i for the group's query i. */
typedef uint64_t query_set;
_Static_assert(AN_KD_GROUP <= 64, "a group's queries must fit in a query_set");

/* The queries of `active` whose box_d2 to [lo, hi] may enter their heap
 * (may_enter), one by one: the sum stops once it passes the query's bound
 * (the partial sums only grow, so the decision is the same). */
static query_set enter_generic(const an_kd_group *g, const double *lo, const double *hi,
                               size_t d, size_t min_index, query_set active)
{
    query_set still = 0;
    for (query_set a = active; a; a &= a - 1) {
        size_t i = (size_t)__builtin_ctzll(a);
        double bound = g->bounds[i], s = 0;
        const double *q = g->rows[i];
        for (size_t j = 0; j < d && s <= bound; j++) {
            double t = q[j] < lo[j] ? lo[j] - q[j] : q[j] > hi[j] ? q[j] - hi[j] : 0;
            s += t * t;
        }
        if (may_enter(&g->heaps[i], s, min_index))
            still |= (query_set)1 << i;
    }
    return still;
}

#ifdef AN_KD_HAVE_AVX512
/* The same, eight queries at a time from the group's rows column by
 * column, with no branch on the values: the gap below the box plus the
 * gap above (each kept only where positive, one of them 0) is box_d2's
 * value, and the sums go in box_d2's order. One by one, the checks'
 * mispredicted branches took a third of shuttle's search
 * (docs/neighbors.md). */
__attribute__((target("avx512f"))) static query_set
enter_avx512(const an_kd_group *g, const double *lo, const double *hi, size_t d,
             size_t min_index, query_set active)
{
    query_set still = 0;
    __m512d zero = _mm512_setzero_pd();
    for (size_t c = 0; c < AN_KD_GROUP; c += 8) {
        __mmask8 in = (__mmask8)(active >> c);
        if (!in)
            continue;
        __m512d s = zero;
        for (size_t j = 0; j < d; j++) {
            __m512d q = _mm512_loadu_pd(g->columns + j * AN_KD_GROUP + c);
            __m512d below = _mm512_max_pd(_mm512_sub_pd(_mm512_set1_pd(lo[j]), q), zero);
            __m512d above = _mm512_max_pd(_mm512_sub_pd(q, _mm512_set1_pd(hi[j])), zero);
            __m512d gap = _mm512_add_pd(below, above);
            s = _mm512_add_pd(s, _mm512_mul_pd(gap, gap));
        }
        __m512d bound = _mm512_loadu_pd(g->bounds + c);
        query_set enters = _mm512_mask_cmp_pd_mask(in, s, bound, _CMP_LT_OQ);
        /* at exactly the bound, the node's lowest index decides */
        for (__mmask8 eq = _mm512_mask_cmp_pd_mask(in, s, bound, _CMP_EQ_OQ); eq; eq &= eq - 1) {
            size_t i = (size_t)__builtin_ctz(eq);
            enters |= (query_set)(min_index < worst_index(&g->heaps[c + i])) << i;
        }
        still |= enters << c;
    }
    return still;
}
#endif

/* active: the group's queries still within their bound of the parent's
 * box; a node's box lies inside its parent's, so its distance is never
 * smaller, and a query out at a node stays out below it (its bound only
 * shrinks). */
static void visit_group(const an_knn_index *ix, an_kd_group *g, size_t node, double node_d2,
                        query_set active)
{
    if (node_d2 > g->bound)
        return;
    const an_kd_node *nd = &ix->nodes[node];
    size_t d = ix->d;
    const double *lo = ix->bounds + node * 2 * d, *hi = lo + d;
#ifdef AN_KD_HAVE_AVX512
    query_set still = g->kernel == AN_KD_AVX512 ? enter_avx512(g, lo, hi, d, nd->min_index, active)
                                : enter_generic(g, lo, hi, d, nd->min_index, active);
#else
    query_set still = enter_generic(g, lo, hi, d, nd->min_index, active);
#endif
    if (!still)
        return;
    if (!nd->left) {
        for (query_set a = still; a; a &= a - 1) {
            size_t i = (size_t)__builtin_ctzll(a);
#ifdef AN_KD_HAVE_AVX512
            if (g->kernel == AN_KD_AVX512)
                scan_leaf_avx512(ix, nd, g->rows[i], g->exclude[i], &g->heaps[i]);
            else
#endif
                scan_leaf(ix, nd, g->rows[i], g->exclude[i], &g->heaps[i]);
            g->bounds[i] = an_nb_heap_bound(&g->heaps[i]);
        }
        g->bound = group_bound(g);
        return;
    }
    size_t a = nd->left, b = nd->left + 1;
    const double *alo = ix->bounds + a * 2 * d, *blo = ix->bounds + b * 2 * d;
    double da = box_box_d2(g->lo, g->hi, alo, alo + d, d);
    double db = box_box_d2(g->lo, g->hi, blo, blo + d, d);
    /* nearer box first; on a tie (the group overlaps both), the one
     * nearer the group's centre */
    if (db < da || (db == da && box_d2(blo, blo + d, g->centre, d) <
                                    box_d2(alo, alo + d, g->centre, d))) {
        visit_group(ix, g, b, db, still);
        visit_group(ix, g, a, da, still);
    } else {
        visit_group(ix, g, a, da, still);
        visit_group(ix, g, b, db, still);
    }
}

int an_kd_kernel_best(void)
{
#ifdef AN_KD_HAVE_AVX512
    /* libgcc fills in the processor model in a constructor, before any call */
    if (__builtin_cpu_supports("avx512f"))
        return AN_KD_AVX512;
#endif
    return AN_KD_GENERIC;
}

void an_kd_search_group(const an_knn_index *ix, an_kd_group *g)
{
    an_kd_search_group_with(an_kd_kernel_best(), ix, g);
}

void an_kd_search_group_with(int kernel, const an_knn_index *ix, an_kd_group *g)
{
    size_t d = ix->d;
    /* the block of eight holding the last query filled with copies of it */
    size_t lanes = (g->count + 7) / 8 * 8;
    for (size_t j = 0; j < d; j++) {
        double lo = g->rows[0][j], hi = lo;
        for (size_t i = 0; i < lanes; i++) {
            double v = g->rows[i < g->count ? i : g->count - 1][j];
            lo = v < lo ? v : lo;
            hi = v > hi ? v : hi;
            g->columns[j * AN_KD_GROUP + i] = v;
        }
        g->lo[j] = lo;
        g->hi[j] = hi;
        g->centre[j] = lo + (hi - lo) / 2;
    }
    for (size_t i = 0; i < AN_KD_GROUP; i++)
        g->bounds[i] = i < g->count ? an_nb_heap_bound(&g->heaps[i]) : 0;
    g->kernel = kernel;
    g->bound = group_bound(g);
    query_set all = g->count < AN_KD_GROUP ? ((query_set)1 << g->count) - 1 : ~(query_set)0;
    visit_group(ix, g, 0, box_box_d2(g->lo, g->hi, ix->bounds, ix->bounds + d, d), all);
}

/* A group's node: the first on the way down of at most AN_KD_GROUP rows
 * (or a leaf), so that a group spans a few small leaves. */
static int group_node(const an_kd_node *nd)
{
    return !nd->left || nd->end - nd->begin <= AN_KD_GROUP;
}

size_t an_kd_group_end(const an_knn_index *ix, size_t slot)
{
    const an_kd_node *nd = &ix->nodes[0];
    while (!group_node(nd)) {
        const an_kd_node *a = &ix->nodes[nd->left];
        nd = slot < a->end ? a : a + 1;
    }
    return nd->end;
}

size_t an_kd_group_of(const an_knn_index *ix, const double *row)
{
    size_t node = 0, d = ix->d;
    while (!group_node(&ix->nodes[node])) {
        size_t a = ix->nodes[node].left;
        const double *alo = ix->bounds + a * 2 * d, *blo = alo + 2 * d;
        node = box_d2(blo, blo + d, row, d) < box_d2(alo, alo + d, row, d) ? a + 1 : a;
    }
    return node;
}
