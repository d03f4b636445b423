/* Scoring: s(x) = 2^(-E[h(x)] / c(psi)), h(x) = depth of the leaf x reaches
 * + c(n_leaf), as scikit-learn 1.2's score_samples (negated: higher = more
 * anomalous). Leaves hold depth + c(n_leaf) already, so a tree is a walk and
 * one add; path values are summed in tree order and divided by
 * n_trees * c(psi), scikit-learn's own arithmetic.
 *
 * Forests of axis-parallel splits (training's default, and every imported
 * forest) are walked LANES at a time in lock step: a single row walks 8
 * trees side by side, a batch walks 8 rows down one tree. Forests with
 * extended splits walk one tree at a time. Batches go in blocks of rows,
 * tree by tree, so a tree's nodes stay in cache while the block walks it;
 * blocks are split across threads. Whatever the route, each row's path
 * values are added in tree order, so batch and single-row scores are the
 * same bits. Nothing here allocates. */
#include "detectors/iforest/iforest.h"
#include "core/threads.h"

#include <math.h>

/* Rows that walk a tree together before moving to the next tree. */
enum { BLOCK = 64 };
/* Blocks per thread below which starting a thread costs more than it saves. */
enum { MIN_BLOCKS_PER_THREAD = 4 };
/* Walks done side by side (see walk_lanes). */
enum { LANES = 8 };

/* Leaf value of the leaf row reaches in an axis-parallel float64 tree. */
static inline double walk_axis(const an_if_node *nodes, uint32_t root, const double *row)
{
    const an_if_node *n = nodes + root;
    uint32_t info;
    while (!((info = n->info) & AN_IF_LEAF)) {
        double v = row[info & AN_IF_INDEX_MASK];
        /* right when v > threshold, or when v is missing and the node says so */
        uint32_t right = (uint32_t)(v > n->value) | ((uint32_t)(v != v) & (info >> 29) & 1u);
        n = nodes + n->left + right;
    }
    return n->value;
}

/* LANES walks of axis-parallel trees in lock step, lane k reading the row at
 * row + k * stride (stride 0: one row down LANES trees). A single walk is a
 * chain of dependent loads ending in a mispredicted exit; independent walks
 * interleaved without branches let the loads overlap, which is most of the
 * single-row speed. A lane that reached its leaf stays there. */
static inline void walk_lanes(const an_if_node *nodes, uint32_t *idx, const double *row,
                              size_t stride, int float32)
{
    for (;;) {
        uint32_t active = 0;
        for (size_t k = 0; k < LANES; k++) {
            const an_if_node *n = nodes + idx[k];
            uint32_t info = n->info;
            double v = row[k * stride + (info & AN_IF_INDEX_MASK)];
            if (float32)
                v = (double)(float)v;
            uint32_t right = (uint32_t)(v > n->value) | ((uint32_t)(v != v) & (info >> 29) & 1u);
            /* stay = all ones at a leaf: keep idx (a mask, not a branch) */
            uint32_t stay = 0u - (info >> 31);
            idx[k] = (idx[k] & stay) | ((n->left + right) & ~stay);
            active |= ~stay;
        }
        if (!active)
            break;
    }
}

static inline double walk_any(const an_iforest *f, uint32_t root, const double *row)
{
    const an_if_node *n = f->nodes + root;
    while (!(n->info & AN_IF_LEAF))
        n = f->nodes + an_iforest_child(f, n, row);
    return n->value;
}

/* Forests without extended splits take the lock-step walks. */
static inline int is_axis(const an_iforest *f) { return !f->has_extended; }

/* Sum of the path values of trees [t, t + LANES), added in tree order. */
static inline double lanes_of_trees(const an_iforest *f, size_t t, const double *row, double sum)
{
    uint32_t idx[LANES];
    for (size_t k = 0; k < LANES; k++)
        idx[k] = f->roots[t + k];
    if (f->float32)
        walk_lanes(f->nodes, idx, row, 0, 1);
    else
        walk_lanes(f->nodes, idx, row, 0, 0);
    for (size_t k = 0; k < LANES; k++)
        sum += f->nodes[idx[k]].value;
    return sum;
}

double an_iforest_path_sum(const an_iforest *f, const double *row)
{
    double sum = 0;
    size_t t = 0;
    if (is_axis(f))
        for (; t + LANES <= f->n_trees; t += LANES)
            sum = lanes_of_trees(f, t, row, sum);
    for (; t < f->n_trees; t++)
        sum += f->float32 || f->has_extended ? walk_any(f, f->roots[t], row)
                                             : walk_axis(f->nodes, f->roots[t], row);
    return sum;
}

double an_iforest_score_of_sum(const an_iforest *f, double sum)
{
    /* scikit-learn: a zero denominator (max_samples_ = 1) gives 2^-1 */
    if (f->denominator == 0)
        return 0.5;
    return pow(2.0, -(sum / f->denominator));
}

double an_iforest_score_row(const an_iforest *f, const double *row)
{
    return an_iforest_score_of_sum(f, an_iforest_path_sum(f, row));
}

typedef struct batch_job {
    const an_iforest *f;
    const double *x;
    size_t rows;
    double *scores;
} batch_job;

static void score_blocks(void *ctx, size_t begin, size_t end, size_t worker)
{
    (void)worker;
    const batch_job *job = ctx;
    const an_iforest *f = job->f;
    size_t cols = f->n_features;
    double sum[BLOCK];
    for (size_t b = begin; b < end; b++) {
        size_t first = b * BLOCK;
        size_t n = job->rows - first < BLOCK ? job->rows - first : BLOCK;
        const double *x = job->x + first * cols;
        for (size_t i = 0; i < n; i++)
            sum[i] = 0;
        /* Same additions in the same (tree) order as an_iforest_path_sum,
         * so batch and single-row scores are identical. */
        for (size_t t = 0; t < f->n_trees; t++) {
            uint32_t root = f->roots[t];
            size_t i = 0;
            if (is_axis(f))
                for (; i + LANES <= n; i += LANES) {
                    uint32_t idx[LANES];
                    for (size_t k = 0; k < LANES; k++)
                        idx[k] = root;
                    if (f->float32)
                        walk_lanes(f->nodes, idx, x + i * cols, cols, 1);
                    else
                        walk_lanes(f->nodes, idx, x + i * cols, cols, 0);
                    for (size_t k = 0; k < LANES; k++)
                        sum[i + k] += f->nodes[idx[k]].value;
                }
            for (; i < n; i++)
                sum[i] += walk_any(f, root, x + i * cols);
        }
        for (size_t i = 0; i < n; i++)
            job->scores[first + i] = an_iforest_score_of_sum(f, sum[i]);
    }
}

void an_iforest_score_rows(const an_iforest *f, const double *x, size_t rows, size_t n_threads,
                           double *scores)
{
    batch_job job = {f, x, rows, scores};
    size_t blocks = (rows + BLOCK - 1) / BLOCK;
    an_parallel_for(blocks, n_threads, MIN_BLOCKS_PER_THREAD, score_blocks, &job);
}
