/* The exact k-nearest-neighbour engine shared by the distance detectors.
 *
 * An index is built over n rows of d doubles (row-major, contiguous, no
 * NaN: the detectors refuse missing values before they get here) which it
 * does not own: the matrix belongs to whoever stores it (a detector's
 * fitted state today, a model's shared resource later), so one matrix can
 * serve several indexes and detectors. The index adds what searching
 * needs: for "brute", the column means, a scale and the squared norms
 * of the centred, scaled rows; for "kd_tree", a tree over a permutation of the rows;
 * for the small sets' scan, a copy of the rows in tiles of 32.
 *
 * Every answer is exact and the same for every algorithm and thread count:
 * the k rows with the smallest squared Euclidean distance, computed as
 * sum_j (q_j - x_j)^2 in column order, ties resolved by the lower row
 * index, listed in increasing (distance, index) order. Self-queries (the
 * indexed rows against themselves) leave out each row itself but keep its
 * duplicates, as scikit-learn's kneighbors(None) does. docs/neighbors.md
 * explains the tie rule, the GEMM guard and the algorithm choice.
 *
 *   heap.h     the bounded (distance, index) max-heap both searches fill
 *   index.c    build, free, memory, algorithm choice, the row query
 *   brute.c    blocked batch search: GEMM distances, a guarded candidate
 *              filter, exact recomputation of the candidates
 *   kdtree.c   the KD-tree: build and search
 *   sorted.c   one column: a sorted order searched outwards from the query
 *   small.c    a small set's queries (self, new rows, one row): every
 *              distance, a bound, no heap */
#ifndef AN_NEIGHBORS_KNN_H
#define AN_NEIGHBORS_KNN_H

#include "anoma/common.h"

#include <stddef.h>
#include <stdint.h>

/* The order of the "algorithm" choices of detectors that search. */
/* AN_KNN_SORTED is what auto takes for one column, not a parameter
 * choice: on one column a KD-tree has nothing to split but the order.
 * AN_KNN_SMALL, what auto takes for a small set of a few columns, and
 * AN_KNN_SMALL_WIDE, what it takes for a small set of 10 or more
 * columns, are the same index: a column copy of the rows, every query
 * (self-queries, new rows, the row query) through small.c's exact scan.
 * Two names because auto's limits differ (rows for small, values for
 * small_wide) and the tests ask for each. */
typedef enum an_knn_algorithm {
    AN_KNN_AUTO = 0,
    AN_KNN_BRUTE = 1,
    AN_KNN_KD_TREE = 2,
    AN_KNN_SORTED = 3,
    AN_KNN_SMALL = 4,
    AN_KNN_SMALL_WIDE = 5
} an_knn_algorithm;
enum { AN_KNN_ALGORITHMS = 6 };

/* The schema entry of every detector that searches ("algorithm"). */
#define AN_KNN_ALGORITHM_PARAM                                                   \
    {"algorithm", ANOMA_PARAM_CHOICE, 0, 0, "auto", "auto|brute|kd_tree",         \
     "neighbour search: auto = a sorted column for 1 feature, kd_tree up to 9 "    \
     "(at most 4000 rows, 2000 on 2 features: an exact scan), "                  \
     "else brute (GEMM; up to 4000 rows and 100000 values an exact scan); "       \
     "every choice gives the same neighbours"}

/* Widest data auto gives a KD-tree: beyond it a tree prunes too little. */
enum { AN_KNN_KD_MAX_FEATURES = 9 };
/* Most rows for which auto takes AN_KNN_SMALL on 3 to 9 features, and on
 * 2 (where a tree prunes best) (docs/neighbors.md, auto). */
enum { AN_KNN_SMALL_MAX_ROWS = 4000, AN_KNN_SMALL_MAX_ROWS_2D = 2000 };
/* Most values (n x d) for which auto takes AN_KNN_SMALL_WIDE on 10 or more
 * columns (and at most AN_KNN_SMALL_MAX_ROWS rows): the scan's n^2 d
 * distances against the GEMM's, measured (docs/neighbors.md, auto). */
enum { AN_KNN_SMALL_WIDE_MAX_VALUES = 100000 };

typedef struct an_kd_node {
    size_t begin, end; /* rows perm[begin, end) */
    size_t left;       /* index of the left child (right = left + 1); 0 = leaf */
    size_t min_index;  /* the lowest row index in it: a row at the bound enters only
                          on a lower index than the worst kept pair's */
    int same_point;    /* a leaf whose rows are all one point, in index order */
    size_t blocks;     /* a leaf of at most 64 rows: its place in block_bounds */
} an_kd_node;

typedef struct an_knn_index {
    const double *x; /* n x d, borrowed */
    size_t n, d;
    an_knn_algorithm algorithm; /* brute or kd_tree once built */
    /* brute */
    double *mean;  /* d column means: rows are centred before the GEMM */
    double scale;  /* a power of two: centred values times it lie in [-1, 1] */
    double max_norm; /* the largest of norms (brute.c's starting limit) */
    double *norms; /* n squared norms of the centred, scaled rows */
    /* kd_tree and sorted */
    size_t *perm;        /* n row indices, each node's rows contiguous (sorted: by value) */
    double *values;      /* sorted: the n values in perm's order; kd_tree: the n x d
                            rows in perm's order, so that a leaf's rows are contiguous */
    an_kd_node *nodes;
    double *bounds;      /* per node 2 * d: lower corner then upper corner */
    double *block_bounds; /* per leaf of at most 64 rows 2 d x 8: the boxes of its
                             blocks of 8 rows, lower corners then upper, column by
                             column, 8 blocks a column (kdtree.c) */
    size_t n_nodes, depth, n_block_leaves;
    /* small and small_wide */
    double *cols; /* the rows in index order, n_pad of them (NaN past n), in
                     tiles of 32 rows stored column by column (small.c) */
    size_t n_pad; /* n rounded up to small.c's block of rows */
    float *fcols; /* with AVX-512: cols centred and scaled (mean, scale), in single
                     precision, the same tiles (small.c's filter) */
} an_knn_index;

/* Whether ix is the small sets' scan (small or small_wide: one index). */
static inline int an_knn_is_small(const an_knn_index *ix)
{
    return ix->algorithm == AN_KNN_SMALL || ix->algorithm == AN_KNN_SMALL_WIDE;
}

/* The algorithm a choice resolves to for n x d data: auto gives
 * AN_KNN_SORTED for d == 1, AN_KNN_SMALL for 3 to 9 columns and at most
 * AN_KNN_SMALL_MAX_ROWS rows (2 columns: AN_KNN_SMALL_MAX_ROWS_2D),
 * AN_KNN_SMALL_WIDE for 10 or more columns, at most AN_KNN_SMALL_MAX_ROWS
 * rows and AN_KNN_SMALL_WIDE_MAX_VALUES values; AN_KNN_SORTED for d > 1 gives a KD-tree;
 * AN_KNN_SMALL stays itself whatever the shape (the tests ask for it). */
an_knn_algorithm an_knn_resolve(an_knn_algorithm choice, size_t n, size_t d);

/* Build an index over x (n >= 1 rows of d >= 1 finite values, kept
 * borrowed: it must outlive the index). */
anoma_status an_knn_build(an_knn_index *ix, const double *x, size_t n, size_t d,
                          an_knn_algorithm choice);
void an_knn_free(an_knn_index *ix);
size_t an_knn_memory(const an_knn_index *ix);

/* The k nearest indexed rows of each of m query rows (m x d, contiguous).
 * k <= n. dist and index receive m x k values: Euclidean distances,
 * ascending, and row indices. Parallel over blocks of queries (n_threads
 * 0 = all cores); the same answer whatever n_threads. Fails only for lack
 * of memory. */
anoma_status an_knn_query(const an_knn_index *ix, const double *q, size_t m, size_t k,
                          size_t n_threads, double *dist, size_t *index);

/* The same for the indexed rows [first, first + m) themselves, each
 * leaving itself out (self-query; k <= n - 1), so that a caller can go
 * through the training rows a block at a time. */
anoma_status an_knn_self_query(const an_knn_index *ix, size_t first, size_t m, size_t k,
                               size_t n_threads, double *dist, size_t *index);

/* Scratch bytes (aligned as a double) an_knn_query_row needs for k on ix
 * (the small scan's grow with n; NULL ix: the least any index needs). */
size_t an_knn_row_scratch_bytes(const an_knn_index *ix, size_t k);

/* The k nearest indexed rows of one row, allocating nothing: dist and
 * index receive k values as an_knn_query gives them. */
void an_knn_query_row(const an_knn_index *ix, const double *row, size_t k, void *scratch,
                      double *dist, size_t *index);

/* ---- between the files of lib/neighbors ---- */

#include "neighbors/heap.h"

/* The brute-force batch search (brute.c). */
/* q NULL: the self-query of rows [first, first + m). */
anoma_status an_knn_brute_query(const an_knn_index *ix, const double *q, size_t first, size_t m,
                                size_t k, size_t n_threads, double *dist, size_t *index);
/* The same with a chosen scan of the product blocks (the tests try each
 * the processor can run; an_knn_brute_query takes the best). */
enum { AN_BRUTE_FILTER_GENERIC = 0, AN_BRUTE_FILTER_AVX512 = 1 };
int an_brute_filter_best(void);
anoma_status an_knn_brute_query_with(int filter, const an_knn_index *ix, const double *q,
                                     size_t first, size_t m, size_t k, size_t n_threads,
                                     double *dist, size_t *index);
/* gram = q x^T (gram.c): q rows x ld, x cols x ld, out rows x ldo floats.
 * q and out must have room for rows rounded up to a multiple of
 * AN_GRAM_ROW_PAD (those extra rows of q finite, their products unused),
 * ldo a multiple of AN_GRAM_COL_PAD and at least cols rounded up to it,
 * pack ld x AN_GRAM_COL_PAD floats of work space. */
enum { AN_GRAM_ROW_PAD = 6, AN_GRAM_COL_PAD = 32 };
void an_knn_gram(const float *q, size_t rows, const float *x, size_t cols, size_t ld,
                 float *pack, float *out, size_t ldo);
/* The kernels, best last; an_knn_gram takes the best the processor has
 * (an_knn_gram_best), an_knn_gram_with any up to it (the tests try each). */
enum { AN_GRAM_SGEMM = 0, AN_GRAM_AVX2 = 1, AN_GRAM_AVX512 = 2 };
int an_knn_gram_best(void);
void an_knn_gram_with(int kernel, const float *q, size_t rows, const float *x, size_t cols,
                      size_t ld, float *pack, float *out, size_t ldo);
/* Offer every indexed row but `exclude` (SIZE_MAX: none) to h, by exact
 * distance (index.c), or those a KD-tree cannot rule out (kdtree.c). */
void an_knn_scan_row(const an_knn_index *ix, const double *row, size_t exclude, an_nb_heap *h);
void an_kd_search(const an_knn_index *ix, const double *row, size_t exclude, an_nb_heap *h);
anoma_status an_kd_build(an_knn_index *ix);

/* Up to AN_KD_GROUP queries searched together (kdtree.c): the caller sets
 * count, rows, exclude and the heaps (initialised) and gives lo, hi and
 * centre d doubles each and columns AN_KD_GROUP d doubles of work space
 * (AN_KD_GROUP_WORK(d) in all, lo first, the rest following it). */
enum { AN_KD_GROUP = 64 };
#define AN_KD_GROUP_WORK(d) ((3 + (size_t)AN_KD_GROUP) * (d))
typedef struct an_kd_group {
    size_t count;
    const double *rows[AN_KD_GROUP];
    size_t exclude[AN_KD_GROUP];
    an_nb_heap heaps[AN_KD_GROUP];
    double *lo, *hi, *centre;
    double *columns;           /* the rows column by column, AN_KD_GROUP a column */
    double bounds[AN_KD_GROUP]; /* each heap's bound */
    double bound;              /* the largest of them */
    int kernel;                /* AN_KD_*: set by the search */
} an_kd_group;
void an_kd_search_group(const an_knn_index *ix, an_kd_group *g);
/* The same with a chosen kernel for the node checks and leaf scans (the
 * tests try each the processor can run; an_kd_search_group takes the best). */
enum { AN_KD_GENERIC = 0, AN_KD_AVX512 = 1 };
int an_kd_kernel_best(void);
void an_kd_search_group_with(int kernel, const an_knn_index *ix, an_kd_group *g);
/* Groups follow the tree: the rows of a node of at most AN_KD_GROUP rows.
 * The end of the group that holds position `slot` of the tree's order: */
size_t an_kd_group_end(const an_knn_index *ix, size_t slot);
/* The group node a row falls in (the nearer box at each level). */
size_t an_kd_group_of(const an_knn_index *ix, const double *row);
void an_sorted_search(const an_knn_index *ix, const double *row, size_t exclude, an_nb_heap *h);
anoma_status an_sorted_build(an_knn_index *ix);
/* The self-query of rows [first, first + m) of a small (or small_wide)
 * index by small.c's scan (the same answer as an_knn_self_query); _with a chosen kernel (the
 * tests try each the processor can run). */
enum { AN_SMALL_GENERIC = 0, AN_SMALL_AVX512 = 1 };
int an_small_kernel_best(void);
anoma_status an_small_self_query(const an_knn_index *ix, size_t first, size_t m, size_t k,
                                 size_t n_threads, double *dist, size_t *index);
anoma_status an_small_self_query_with(int kernel, const an_knn_index *ix, size_t first, size_t m,
                                      size_t k, size_t n_threads, double *dist, size_t *index);
/* The same scan for m new rows q (no row left out, k <= n): the same
 * answer as an_knn_query. */
anoma_status an_small_query(const an_knn_index *ix, const double *q, size_t m, size_t k,
                            size_t n_threads, double *dist, size_t *index);
anoma_status an_small_query_with(int kernel, const an_knn_index *ix, const double *q, size_t m,
                                 size_t k, size_t n_threads, double *dist, size_t *index);
/* The column copy the scan reads (an_knn_build for small and small_wide). */
anoma_status an_small_build(an_knn_index *ix);
/* Column means, the power-of-two scale that brings every centred value
 * into [-1, 1], and the scaled squared norms of the centred rows and the
 * largest of them (the brute filter's and the small scan's single
 * precision, brute.c and small.c say why they centre and scale). */
anoma_status an_knn_centre(an_knn_index *ix);
/* One new row through the same scan, allocating nothing: the row query of
 * small and small_wide, with an_small_row_scratch_bytes of scratch. */
size_t an_small_row_scratch_bytes(const an_knn_index *ix, size_t k);
void an_small_query_row(const an_knn_index *ix, const double *row, size_t k, void *scratch,
                        double *dist, size_t *index);
/* The k nearest (k <= n, one fewer with exclude) straight into dist and
 * index, as an_knn_query gives them; 0 (and nothing usable written) when
 * a tie at the k-th distance needs the heap search instead. */
int an_sorted_search_direct(const an_knn_index *ix, const double *row, size_t exclude, size_t k,
                            double *dist, size_t *index);

#endif
