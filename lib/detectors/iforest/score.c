/* Scoring: s(x) = 2^(-E[h(x)] / c(psi)), h(x) = depth of the leaf x reaches
 * + c(n_leaf), as scikit-learn 1.2's score_samples (negated: higher = more
 * anomalous). Path values are precomputed per leaf, added in tree order and
 * divided by n_trees * c(psi): scikit-learn's own arithmetic.
 *
 * Forests of axis-parallel splits (training's default, and every imported
 * forest) are walked LANES at a time in lock step: a single row walks 16
 * trees side by side, a batch walks 16 rows down one tree. One walk alone is
 * a chain of dependent loads; interleaved independent walks let the loads
 * overlap. A leaf is a fixed point of the step (threshold +inf, left child =
 * itself), so the lanes simply take as many steps as the deepest of their
 * trees, with no test for leaves and no branch in the step; rows without
 * missing values take a step without the missing-value test. Forests with
 * extended splits walk one tree at a time. Batches go in blocks of rows,
 * tree by tree, so a tree's nodes stay in cache while the block walks it;
 * blocks are split across threads. Whatever the route, a row's path values
 * are added in tree order, so batch and single-row scores are the same bits.
 * Nothing here allocates.
 *
 * Why 16 lanes, and a padded copy of each block: a step is ~10 instructions
 * on a ~20-cycle chain of loads, so 8 lanes leave the core waiting. 16 lanes
 * pay only if their node indexes stay in registers, which they do when each
 * lane finds its row at a constant offset instead of through a row pointer
 * of its own: a batch's rows of up to PADDED features are copied, block by
 * block, with a fixed stride (measured on 100 trees of 256 rows, 10
 * features: ~745 -> ~570 ns per row, batch; ~1.0 -> ~0.83 us, one row).
 * Vector gathers (AVX2, AVX-512) were tried and measured slower than this
 * scalar step on AMD Zen 4 (a gather of 8 doubles costs ~12 cycles there). */
#include "detectors/iforest/iforest.h"
#include "core/threads.h"

#include <string.h>

/* Rows that walk a tree together before moving to the next tree. */
enum { BLOCK = 128 };
/* Blocks per thread below which starting a thread costs more than it saves. */
enum { MIN_BLOCKS_PER_THREAD = 2 };
/* Walks done side by side. */
enum { LANES = 16 };
/* Rows of up to PADDED features are copied into a block buffer with this
 * fixed stride (16 KiB of stack for the block). */
enum { PADDED = 16 };

/* The walk's flags and stride are constants at each call, and each variant
 * only compiles to the fast step if they reach it: inline it always (clang
 * otherwise keeps one shared copy with a variable stride). */
#define WALK_INLINE static inline __attribute__((always_inline))

/* One walk of any tree, to the leaf's path value. */
static inline double walk_one(const an_iforest *f, uint32_t root, const double *row)
{
    const an_if_node *n = f->nodes + root;
    while (!(n->info & AN_IF_LEAF))
        n = f->nodes + an_iforest_child(f, n, row);
    return f->leaf_value[n - f->nodes];
}

/* `steps` steps of LANES walks of axis-parallel trees, lane k reading the row
 * at row + k * stride (stride 0: one row down LANES trees). float32 and
 * missing are constants at each call, and so is the stride on the single-row
 * and padded routes, so each variant compiles on its own. */
WALK_INLINE void walk_lanes(const an_if_node *nodes, uint32_t *idx, const double *row,
                            size_t stride, uint32_t steps, int float32, int missing)
{
    for (uint32_t s = 0; s < steps; s++)
        for (size_t k = 0; k < LANES; k++) {
            const an_if_node *n = nodes + idx[k];
            uint32_t info = n->info;
            double v = row[k * stride + (info & AN_IF_INDEX_MASK)];
            if (float32)
                v = (double)(float)v;
            /* right when v > threshold, or when v is missing and the node
             * says so (never at a leaf: +inf and no flag) */
            uint32_t right = (uint32_t)(v > n->value);
            if (missing)
                right |= (uint32_t)(v != v) & (info >> 29) & 1u;
            idx[k] = n->left + right;
        }
}

WALK_INLINE void walk_lanes_any(const an_iforest *f, uint32_t *idx, const double *row,
                                size_t stride, uint32_t steps, int missing)
{
    if (f->float32) {
        if (missing)
            walk_lanes(f->nodes, idx, row, stride, steps, 1, 1);
        else
            walk_lanes(f->nodes, idx, row, stride, steps, 1, 0);
    } else {
        if (missing)
            walk_lanes(f->nodes, idx, row, stride, steps, 0, 1);
        else
            walk_lanes(f->nodes, idx, row, stride, steps, 0, 0);
    }
}

static inline int any_missing(const double *x, size_t n)
{
    int nan = 0;
    for (size_t j = 0; j < n; j++)
        nan |= x[j] != x[j];
    return nan;
}

double an_iforest_path_sum(const an_iforest *f, const double *row)
{
    double sum = 0;
    size_t t = 0;
    if (!f->has_extended) {
        int missing = any_missing(row, f->n_features);
        for (; t < f->n_trees; t += LANES) {
            /* a last group of fewer trees fills its spare lanes with its
             * last tree again (a cheaper way to walk them than one by one)
             * and adds only the real ones */
            size_t m = f->n_trees - t < LANES ? f->n_trees - t : LANES;
            uint32_t idx[LANES], steps = 0;
            for (size_t k = 0; k < LANES; k++) {
                size_t tree = t + (k < m ? k : m - 1);
                idx[k] = f->roots[tree];
                steps = f->depths[tree] > steps ? f->depths[tree] : steps;
            }
            walk_lanes_any(f, idx, row, 0, steps, missing);
            for (size_t k = 0; k < m; k++)
                sum += f->leaf_value[idx[k]];
        }
    }
    for (; t < f->n_trees; t++)
        sum += walk_one(f, f->roots[t], row);
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
    int padded = cols <= PADDED;
    double sum[BLOCK];
    int missing[BLOCK / LANES];
    double pad[BLOCK * PADDED]; /* the block, one row every PADDED values */
    for (size_t b = begin; b < end; b++) {
        size_t first = b * BLOCK;
        size_t n = job->rows - first < BLOCK ? job->rows - first : BLOCK;
        const double *x = job->x + first * cols;
        /* rows walked in lanes: in the padded copy, all of them (the spare
         * lanes of the last group walk rows of zeros, and are ignored) */
        size_t grouped = f->has_extended ? 0 : padded ? (n + LANES - 1) / LANES * LANES
                                                      : n - n % LANES;
        for (size_t i = 0; i < n; i++)
            sum[i] = 0;
        for (size_t g = 0; g < grouped / LANES; g++) {
            size_t rows = n - g * LANES < LANES ? n - g * LANES : LANES;
            missing[g] = any_missing(x + g * LANES * cols, rows * cols);
        }
        if (padded && grouped) {
            for (size_t i = 0; i < n; i++)
                memcpy(pad + i * PADDED, x + i * cols, cols * sizeof *x);
            for (size_t i = n; i < grouped; i++)
                memset(pad + i * PADDED, 0, cols * sizeof *x);
        }
        for (size_t t = 0; t < f->n_trees; t++) {
            uint32_t root = f->roots[t];
            for (size_t i = 0; i < grouped; i += LANES) {
                uint32_t idx[LANES];
                for (size_t k = 0; k < LANES; k++)
                    idx[k] = root;
                /* two calls, so that the padded one sees a constant stride */
                if (padded)
                    walk_lanes_any(f, idx, pad + i * PADDED, PADDED, f->depths[t],
                                   missing[i / LANES]);
                else
                    walk_lanes_any(f, idx, x + i * cols, cols, f->depths[t], missing[i / LANES]);
                size_t rows = n - i < LANES ? n - i : LANES;
                for (size_t k = 0; k < rows; k++)
                    sum[i + k] += f->leaf_value[idx[k]];
            }
            for (size_t i = grouped; i < n; i++)
                sum[i] += walk_one(f, root, x + i * cols);
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
