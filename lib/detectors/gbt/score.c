/* Scoring: margin = base margin + the sum of the row's leaf values over the
 * trees, in tree order; score = 1 / (1 + exp(-margin)) for binary:logistic,
 * the margin for reg:squarederror.
 *
 * Two layouts, the same answers. A forest at most AN_GBT_COMPLETE_DEPTH
 * deep is scored in the complete layout: each tree padded to the forest's
 * depth D as a complete binary tree of 8-byte tests (node i's children at
 * 2i + 1 and 2i + 2, so a step is index arithmetic and no child is
 * stored), then its 2^D leaf values. A leaf above depth D becomes tests
 * that always go right (threshold NaN: no value is below it) and its value
 * sits in the rightmost leaf below it. A walk is exactly D steps.
 *
 * A row is first converted to float32 twice over, side by side: as it is,
 * where a missing value (NaN) is below no threshold and goes right, and
 * with a missing value as -inf, below every threshold, where it goes left.
 * A test reads the copy that sends a missing value its split's default way
 * (the value index is n_features + feature for a default-left split), so a
 * step is one comparison with no test for missing values. (A default-left
 * split at threshold -inf would see -inf as a value: an_gbt_layout keeps
 * such a forest in the node layout.)
 *
 * Deeper forests are walked over their nodes (an_gbt_step) from the rows
 * as they are, a leaf a fixed point of the step.
 *
 * Independent walks go in lock step so that their chains of loads overlap
 * (the isolation forest's reasoning, lib/detectors/iforest/score.c): in
 * the complete layout a single row walks two groups of LANES trees side by
 * side, and a batch goes in blocks of rows, two trees at a time, LANES rows
 * walking each (rows of more than NARROW / 2 values: one tree at a time);
 * over nodes, LANES trees or rows. Blocks are split across threads. (16
 * walks is what fits in the registers; AVX2 gathers measured 2.5 times
 * slower than these scalar steps.) The step has no branch:
 * whether a value is below a threshold is a coin toss the branch predictor
 * loses half the time. A row's leaf values are added in tree order on
 * every route, so batch and single-row scores are the same bits. Scoring
 * allocates only a batch's per-thread blocks of converted rows. */
#include "detectors/gbt/gbt.h"
#include "core/alloc.h"
#include "core/error.h"
#include "core/threads.h"

#include <string.h>

/* Walks in lock step, and rows per block. */
#define LANES AN_GBT_LANES
#define BLOCK 64
/* Rows of at most NARROW / 2 values have their copies NARROW floats apart
 * in a block, so that a lane's row is a constant offset from the first. */
#define NARROW 64

/* ---- the complete layout ---- */

/* Place the subtree of node at position at (depth deep) of lane l's tree
 * of a group whose tests and leaves start there. */
static void place(an_gbt_forest *f, an_gbt_test *tests, double *leaves, size_t l, uint32_t node,
                  size_t at, size_t depth)
{
    size_t inner = ((size_t)1 << f->complete_depth) - 1;
    an_gbt_node n = f->nodes[node];
    if (n.info & AN_GBT_LEAF) { /* the tests below stay NaN: always right */
        for (; depth < f->complete_depth; depth++)
            at = 2 * at + 2;
        leaves[(at - inner) * LANES + l] = f->leaf[node];
        return;
    }
    uint32_t feature = n.info & AN_GBT_FEATURE_MASK;
    if (n.info & AN_GBT_DEFAULT_LEFT)
        feature += (uint32_t)f->n_features;
    tests[at * LANES + l] = (an_gbt_test){n.threshold, feature};
    place(f, tests, leaves, l, n.left, 2 * at + 1, depth + 1);
    place(f, tests, leaves, l, n.left + 1, 2 * at + 2, depth + 1);
}

anoma_status an_gbt_layout(an_gbt_forest *f)
{
    if (f->max_depth > AN_GBT_COMPLETE_DEPTH)
        return ANOMA_OK;
    for (size_t i = 0; i < f->n_nodes; i++)
        if ((f->nodes[i].info & (AN_GBT_LEAF | AN_GBT_DEFAULT_LEFT)) == AN_GBT_DEFAULT_LEFT &&
            f->nodes[i].threshold == -INFINITY)
            return ANOMA_OK;
    f->complete_depth = f->max_depth > 0 ? f->max_depth : 1; /* a walk takes a first step */
    size_t leaves = (size_t)1 << f->complete_depth, inner = leaves - 1;
    size_t groups = (f->n_trees + LANES - 1) / LANES;
    f->tests = an_malloc_array(groups * inner * LANES + 1, sizeof *f->tests);
    f->leaves = AN_NEW_ZEROED(double, groups * leaves * LANES + 1);
    if (!f->tests || !f->leaves) {
        an_free(f->tests);
        an_free(f->leaves);
        f->tests = NULL;
        f->leaves = NULL;
        return an_no_memory();
    }
    for (size_t i = 0; i < groups * inner * LANES; i++)
        f->tests[i] = (an_gbt_test){NAN, 0};
    for (size_t t = 0; t < f->n_trees; t++) {
        size_t g = t / LANES;
        place(f, f->tests + g * inner * LANES, f->leaves + g * leaves * LANES, t % LANES,
              f->roots[t], 0, 0);
    }
    return ANOMA_OK;
}

/* The row's n values as float32, twice over (see the top of the file):
 * value j at v[j * stride], value n + j at v[(n + j) * stride]. */
static void two_copies(const double *row, size_t n, float *v, size_t stride)
{
    for (size_t j = 0; j < n; j++) {
        float x = (float)row[j];
        v[j * stride] = x;
        v[(n + j) * stride] = x != x ? -INFINITY : x;
    }
}

/* A walk's position is its node's index times LANES (an offset into its
 * group's interleaved tests), and a step from a test on value v goes to
 * node 2i + 1 (left) or 2i + 2: */
static inline uint32_t step(uint32_t at, an_gbt_test n, float v)
{
    return 2 * at + LANES + LANES * !(v < n.threshold);
}

/* One row (its two copies v) through every tree, two groups of LANES
 * trees side by side (a single row has no other independent walks). */
static double complete_margin(const an_gbt_forest *f, const float *v)
{
    size_t depth = f->complete_depth, leaves = (size_t)1 << depth, inner = leaves - 1;
    size_t group = inner * LANES;
    double sum = f->base_margin;
    for (size_t t = 0; t < f->n_trees; t += 2 * LANES) {
        const an_gbt_test *tests = f->tests + t * inner;
        /* a last single group walks the padding after it: one group of tests */
        const an_gbt_test *next = t + LANES < f->n_trees ? tests + group : tests;
        uint32_t at[LANES], at2[LANES];
        for (size_t l = 0; l < LANES; l++) {
            at[l] = step(0, tests[l], v[tests[l].value]);
            at2[l] = step(0, next[l], v[next[l].value]);
        }
        for (size_t d = 1; d < depth; d++)
            for (size_t l = 0; l < LANES; l++) {
                an_gbt_test n = tests[at[l] + l], n2 = next[at2[l] + l];
                at[l] = step(at[l], n, v[n.value]);
                at2[l] = step(at2[l], n2, v[n2.value]);
            }
        const double *leaf = f->leaves + t * leaves;
        size_t lanes = f->n_trees - t < 2 * LANES ? f->n_trees - t : 2 * LANES;
        for (size_t l = 0; l < lanes && l < LANES; l++)
            sum += leaf[at[l] - group + l];
        for (size_t l = LANES; l < lanes; l++)
            sum += leaf[leaves * LANES + at2[l - LANES] - group + l - LANES];
    }
    return sum;
}

/* complete_block's walks for rows of at most NARROW / 2 values (lane k's
 * value j at v[k NARROW + j]): two trees at a time (neighbours in a group,
 * their tests a constant offset apart), LANES rows each. */
static void narrow_block(const an_gbt_forest *f, const float *v, size_t n, double *sum)
{
    size_t depth = f->complete_depth, leaves = (size_t)1 << depth, inner = leaves - 1;
    for (size_t t = 0; t < f->n_trees; t += 2) {
        size_t l = t % LANES;
        const an_gbt_test *tests = f->tests + (t - l) * inner + l;
        const double *leaf = f->leaves + (t - l) * leaves + l;
        /* the second tree of a pair; a last odd tree walks its padding lane */
        an_gbt_test root = tests[0], root2 = tests[1];
        for (size_t i = 0; i < n; i += LANES) {
            const float *row = v + i * NARROW;
            uint32_t at[LANES], at2[LANES];
            for (size_t k = 0; k < LANES; k++) {
                at[k] = step(0, root, row[k * NARROW + root.value]);
                at2[k] = step(0, root2, row[k * NARROW + root2.value]);
            }
            for (size_t d = 1; d < depth; d++)
                for (size_t k = 0; k < LANES; k++) {
                    an_gbt_test node = tests[at[k]], node2 = tests[at2[k] + 1];
                    at[k] = step(at[k], node, row[k * NARROW + node.value]);
                    at2[k] = step(at2[k], node2, row[k * NARROW + node2.value]);
                }
            size_t lanes = n - i < LANES ? n - i : LANES;
            for (size_t k = 0; k < lanes; k++) {
                sum[i + k] += leaf[at[k] - inner * LANES];
                if (t + 1 < f->n_trees)
                    sum[i + k] += leaf[at2[k] - inner * LANES + 1];
            }
        }
    }
}

/* Rows [begin, begin + n) (n at most BLOCK) through every tree, tree by
 * tree, LANES rows side by side; v holds BLOCK rows' two copies. */
static void complete_block(const an_gbt_forest *f, const double *x, size_t begin, size_t n,
                           float *v, double *sum)
{
    size_t cols = f->n_features, depth = f->complete_depth, leaves = (size_t)1 << depth;
    size_t inner = leaves - 1;
    size_t stride = 2 * cols <= NARROW ? NARROW : 2 * cols;
    const float *rows[BLOCK];
    for (size_t i = 0; i < n; i++) {
        rows[i] = v + i * stride;
        two_copies(x + (begin + i) * cols, cols, v + i * stride, 1);
        sum[i] = f->base_margin;
    }
    for (size_t i = n; i < BLOCK && i % LANES; i++) { /* a short block's last lanes: zeros */
        rows[i] = v + i * stride;
        memset(v + i * stride, 0, 2 * cols * sizeof *v);
    }
    if (2 * cols <= NARROW) {
        narrow_block(f, v, n, sum);
        return;
    }
    for (size_t t = 0; t < f->n_trees; t++) {
        size_t l = t % LANES;
        const an_gbt_test *tests = f->tests + (t - l) * inner + l;
        const double *leaf = f->leaves + (t - l) * leaves + l;
        for (size_t i = 0; i < n; i += LANES) {
            const float *const *row = rows + i;
            uint32_t at[LANES];
            an_gbt_test root = tests[0]; /* every lane's first step reads it */
            for (size_t k = 0; k < LANES; k++)
                at[k] = step(0, root, row[k][root.value]);
            for (size_t d = 1; d < depth; d++)
                for (size_t k = 0; k < LANES; k++) {
                    an_gbt_test node = tests[at[k]];
                    at[k] = step(at[k], node, row[k][node.value]);
                }
            size_t lanes = n - i < LANES ? n - i : LANES;
            for (size_t k = 0; k < lanes; k++)
                sum[i + k] += leaf[at[k] - inner * LANES];
        }
    }
}

/* ---- the node layout (deeper forests) ---- */

/* One row walks LANES trees side by side, as many steps as the deepest of
 * them (a leaf stays put), then adds their leaves in tree order. */
static double node_margin(const an_gbt_forest *f, const double *row)
{
    double sum = f->base_margin;
    for (size_t t = 0; t < f->n_trees; t += LANES) {
        size_t lanes = f->n_trees - t < LANES ? f->n_trees - t : LANES;
        uint32_t at[LANES], depth = 0;
        for (size_t l = 0; l < lanes; l++) {
            at[l] = f->roots[t + l];
            depth = f->depths[t + l] > depth ? f->depths[t + l] : depth;
        }
        for (uint32_t d = 0; d < depth; d++)
            for (size_t l = 0; l < lanes; l++)
                at[l] = an_gbt_step(f->nodes, at[l], row);
        for (size_t l = 0; l < lanes; l++)
            sum += f->leaf[at[l]];
    }
    return sum;
}

/* Rows [begin, begin + n) (n at most BLOCK) through every tree. */
static void node_block(const an_gbt_forest *f, const double *x, size_t begin, size_t n,
                       double *sum)
{
    size_t cols = f->n_features;
    for (size_t i = 0; i < n; i++)
        sum[i] = f->base_margin;
    for (size_t t = 0; t < f->n_trees; t++) {
        uint32_t root = f->roots[t], depth = f->depths[t];
        for (size_t i = 0; i < n; i += LANES) {
            size_t lanes = n - i < LANES ? n - i : LANES;
            uint32_t at[LANES];
            const double *row[LANES];
            for (size_t l = 0; l < lanes; l++) {
                at[l] = root;
                row[l] = x + (begin + i + l) * cols;
            }
            for (uint32_t d = 0; d < depth; d++)
                for (size_t l = 0; l < lanes; l++)
                    at[l] = an_gbt_step(f->nodes, at[l], row[l]);
            for (size_t l = 0; l < lanes; l++)
                sum[i + l] += f->leaf[at[l]];
        }
    }
}

/* ---- scoring ---- */

double an_gbt_score_of_margin(const an_gbt_forest *f, double margin)
{
    return f->objective == AN_GBT_LOGISTIC ? 1.0 / (1.0 + exp(-margin)) : margin;
}

size_t an_gbt_score_scratch_bytes(const an_gbt_forest *f)
{
    return f->tests ? 2 * f->n_features * sizeof(float) : 0;
}

double an_gbt_score_row(const an_gbt_forest *f, const double *row, void *scratch)
{
    if (!f->tests)
        return an_gbt_score_of_margin(f, node_margin(f, row));
    two_copies(row, f->n_features, scratch, 1);
    return an_gbt_score_of_margin(f, complete_margin(f, scratch));
}

typedef struct batch_job {
    const an_gbt_forest *f;
    const double *x;
    size_t rows;
    float *copies; /* per worker: BLOCK rows' two copies */
    double *scores;
} batch_job;

static void score_blocks(void *ctx, size_t begin, size_t end, size_t worker)
{
    const batch_job *job = ctx;
    const an_gbt_forest *f = job->f;
    size_t stride = 2 * f->n_features <= NARROW ? NARROW : 2 * f->n_features;
    float *v = job->copies ? job->copies + worker * BLOCK * stride : NULL;
    double sum[BLOCK];
    for (size_t b = begin; b < end; b++) {
        size_t lo = b * BLOCK, n = job->rows - lo < BLOCK ? job->rows - lo : BLOCK;
        if (f->tests)
            complete_block(f, job->x, lo, n, v, sum);
        else
            node_block(f, job->x, lo, n, sum);
        for (size_t i = 0; i < n; i++)
            job->scores[lo + i] = an_gbt_score_of_margin(f, sum[i]);
    }
}

anoma_status an_gbt_score_rows(const an_gbt_forest *f, const double *x, size_t rows,
                               size_t n_threads, double *scores)
{
    size_t blocks = (rows + BLOCK - 1) / BLOCK;
    size_t workers = an_parallel_workers(blocks, n_threads, 4);
    batch_job job = {f, x, rows, NULL, scores};
    if (f->tests && rows) {
        size_t stride = 2 * f->n_features <= NARROW ? NARROW : 2 * f->n_features;
        job.copies = an_malloc_array(workers * BLOCK, stride * sizeof(float));
        if (!job.copies)
            return an_no_memory();
    }
    an_parallel_for(blocks, workers, 4, score_blocks, &job);
    an_free(job.copies);
    return ANOMA_OK;
}
