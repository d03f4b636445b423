/* Scoring: s(x) = 2^(-E[h(x)] / c(psi)), h(x) = depth of the leaf x reaches
 * + c(n_leaf), as scikit-learn 1.2's score_samples (negated: higher = more
 * anomalous). Path values are precomputed per leaf, added in tree order and
 * divided by n_trees * c(psi): scikit-learn's own arithmetic.
 *
 * Forests of axis-parallel splits (training's default, and every imported
 * forest) are walked LANES at a time in lock step: a single row walks 16
 * trees side by side in the node array, a batch walks 16 rows down one tree
 * in its heap layout (heap.c). One walk alone is a chain of dependent loads;
 * interleaved independent walks let the loads overlap. A leaf is a fixed
 * point of the node step (threshold +inf, left child = itself), and the heap
 * layout pads short paths with pass-through slots, so the lanes simply take
 * as many steps as the deepest leaf of their trees, with no test for leaves
 * and no branch in the step; rows without missing values take a step
 * without the missing-value test. Forests with extended splits walk one tree
 * at a time. Batches go in blocks of rows, tree by tree, so a tree stays in
 * cache while the block walks it; blocks are split across threads. Whatever
 * the route, a row's path values are added in tree order, so batch and
 * single-row scores are the same bits. Nothing here allocates.
 *
 * Why 16 lanes, and a padded copy of each block: a step is a ~15-cycle chain
 * of loads, so 8 lanes leave the core waiting (measured 1.46x slower than
 * 16 on the heap walk; 12, 20 and 24 lanes were slower too). 16 lanes pay
 * only if their state stays in registers, which it does when each lane
 * finds its row at a constant offset instead of through a row pointer of its
 * own: a batch's rows of up to PADDED features are copied, block by block,
 * with a fixed stride (measured on 100 trees of 256 rows, 10 features: ~745
 * -> ~570 ns per row, batch; ~1.0 -> ~0.83 us, one row). The copy of a
 * float32 forest's block holds (double)(float)x, so its walks compare as a
 * plain forest's do.
 *
 * Why the heap layout for batches: its step, slot i to 2i + (x > t), loads
 * the feature, the threshold and x, where the node array's also loads the
 * child index and masks the flags off the feature: 10 instructions a lane
 * step there, 4 to 5 here with the carry trick of walk_heap_plain (callgrind:
 * 379 -> 195 million instructions for 20000 rows scored twice; ~520 -> ~440
 * ns per row on 100 trees of 256 rows, 10 features). The single-row walk
 * keeps the node array: its 16 lanes are 16 trees, and per-lane tree
 * pointers would not fit in registers.
 *
 * Vector gathers (AVX2, AVX-512) were tried and measured slower than these
 * scalar steps on AMD Zen 4 (a gather of 8 doubles costs ~12 cycles there). */
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
#ifndef HEAP_LANES
#define HEAP_LANES 16
#endif

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

/* LANES walks down heap-layout tree h (heap.c) of depth `steps`, lane k
 * reading the row at row + k * stride; each adds its path value to sum[k]. */
WALK_INLINE void walk_heap(const an_if_heap_tree *h, uint32_t steps, const double *row,
                           size_t stride, int float32, int missing, double *sum)
{
    const double *value = h->value;
    const uint32_t *feature = h->feature;
    uint32_t i[LANES];
    for (size_t k = 0; k < LANES; k++)
        i[k] = 1;
    for (uint32_t s = 0; s < steps; s++)
        for (size_t k = 0; k < LANES; k++) {
            double v = row[k * stride + feature[i[k]]];
            if (float32)
                v = (double)(float)v;
            uint32_t right = (uint32_t)(v > value[i[k]]);
            if (missing)
                right |= (uint32_t)(v != v) & h->miss_right[i[k]];
            i[k] = 2 * i[k] + right;
        }
    for (size_t k = 0; k < LANES; k++)
        sum[k] += value[i[k]];
}

/* The same for rows without missing values and plain comparisons, the
 * common case: slot i to 2i + (x > threshold). */
WALK_INLINE void walk_heap_plain(const an_if_heap_tree *h, uint32_t steps, const double *row,
                                 size_t stride, double *sum)
{
    const double *value = h->value;
    const uint32_t *feature = h->feature;
    uint64_t i[LANES];
    for (size_t k = 0; k < LANES; k++)
        i[k] = 1;
    for (uint32_t s = 0; s < steps; s++)
        for (size_t k = 0; k < LANES; k++) {
#if defined(__x86_64__) && defined(__GNUC__)
            /* comisd sets the carry flag when the threshold is below x (or
             * when either is NaN, which this path never sees), and adc
             * doubles i and adds the carry: 4 instructions a step where the
             * compiler's seta/movzx/lea take 6. */
            double t = value[i[k]];
            __asm__("comisd %[x], %[t]\n\tadc %[i], %[i]"
                    : [i] "+r"(i[k])
                    : [t] "x"(t), [x] "m"(row[k * stride + feature[i[k]]])
                    : "cc");
#else
            i[k] = 2 * i[k] + (uint64_t)(row[k * stride + feature[i[k]]] > value[i[k]]);
#endif
        }
    for (size_t k = 0; k < LANES; k++)
        sum[k] += value[i[k]];
}

WALK_INLINE void walk_heap_any(const an_if_heap_tree *h, uint32_t steps, const double *row,
                               size_t stride, int float32, int missing, double *sum)
{
    if (float32) {
        if (missing)
            walk_heap(h, steps, row, stride, 1, 1, sum);
        else
            walk_heap(h, steps, row, stride, 1, 0, sum);
    } else {
        if (missing)
            walk_heap(h, steps, row, stride, 0, 1, sum);
        else
            walk_heap_plain(h, steps, row, stride, sum);
    }
}

/* LANES walks down the nodes of tree t, each adding its path value to
 * sum[k] (trees without a heap layout). */
WALK_INLINE void walk_nodes(const an_iforest *f, size_t t, const double *row, size_t stride,
                            int missing, double *sum)
{
    uint32_t idx[LANES];
    for (size_t k = 0; k < LANES; k++)
        idx[k] = f->roots[t];
    walk_lanes_any(f, idx, row, stride, f->depths[t], missing);
    for (size_t k = 0; k < LANES; k++)
        sum[k] += f->leaf_value[idx[k]];
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
        for (size_t i = 0; i < n || i < grouped; i++)
            sum[i] = 0;
        for (size_t g = 0; g < grouped / LANES; g++) {
            size_t rows = n - g * LANES < LANES ? n - g * LANES : LANES;
            missing[g] = any_missing(x + g * LANES * cols, rows * cols);
        }
        /* the padded copy of a float32 forest holds (double)(float)x: the
         * walks then compare as for any forest */
        if (padded && grouped) {
            for (size_t i = 0; i < n; i++) {
                double *to = pad + i * PADDED;
                const double *from = x + i * cols;
                if (f->float32)
                    for (size_t j = 0; j < cols; j++)
                        to[j] = (double)(float)from[j];
                else
                    memcpy(to, from, cols * sizeof *x);
            }
            for (size_t i = n; i < grouped; i++)
                memset(pad + i * PADDED, 0, cols * sizeof *x);
        }
        for (size_t t = 0; t < f->n_trees; t++) {
            const an_if_heap_tree *h = f->heap.trees ? &f->heap.trees[t] : NULL;
            uint32_t steps = f->depths[t];
            /* separate calls, so that the padded ones see a constant stride */
            for (size_t i = 0; i < grouped; i += LANES) {
                int miss = missing[i / LANES];
                if (h && h->value) {
                    if (padded)
                        walk_heap_any(h, steps, pad + i * PADDED, PADDED, 0, miss, sum + i);
                    else
                        walk_heap_any(h, steps, x + i * cols, cols, f->float32, miss, sum + i);
                } else {
                    if (padded)
                        walk_nodes(f, t, pad + i * PADDED, PADDED, miss, sum + i);
                    else
                        walk_nodes(f, t, x + i * cols, cols, miss, sum + i);
                }
            }
            for (size_t i = grouped; i < n; i++)
                sum[i] += walk_one(f, f->roots[t], x + i * cols);
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
