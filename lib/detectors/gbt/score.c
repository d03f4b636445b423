/* Scoring: margin = base margin + the sum of the row's leaf values over the
 * trees, in tree order; score = 1 / (1 + exp(-margin)) for binary:logistic,
 * the margin for reg:squarederror.
 *
 * A step reads one node: (float)x < threshold goes left, a larger value
 * right, a missing one the node's default way; a leaf is a fixed point
 * (threshold +inf, default left, left = itself), so a tree is walked in
 * exactly its depth's steps with no test for leaves. Independent walks
 * go LANES at a time in lock step so that their chains of loads overlap
 * (the isolation forest's reasoning, lib/detectors/iforest/score.c): a
 * single row walks LANES trees side by side; batches go in blocks of rows,
 * tree by tree, LANES rows walking a tree together, blocks split across
 * threads. The step has no branch (measured: 35 -> 7 us a row for 100
 * trees of depth 6 on 20 features, bench/gbt.py's shape, machine loaded). A row's leaf values are added in tree order on every route, so
 * batch and single-row scores are the same bits. Nothing here allocates. */
#include "detectors/gbt/gbt.h"
#include "core/threads.h"

/* Rows that walk a tree together, and rows per block. */
#define LANES 8
#define BLOCK 64

/* One row walks LANES trees side by side, as many steps as the deepest of
 * them (a leaf stays put), then adds their leaves in tree order. */
double an_gbt_margin(const an_gbt_forest *f, const double *row)
{
    double sum = f->base_margin;
    size_t t = 0;
    for (; t + LANES <= f->n_trees; t += LANES) {
        uint32_t at[LANES], depth = 0;
        for (int l = 0; l < LANES; l++) {
            at[l] = f->roots[t + (size_t)l];
            depth = f->depths[t + (size_t)l] > depth ? f->depths[t + (size_t)l] : depth;
        }
        for (uint32_t d = 0; d < depth; d++)
            for (int l = 0; l < LANES; l++)
                at[l] = an_gbt_step(f->nodes, at[l], row);
        for (int l = 0; l < LANES; l++)
            sum += f->leaf[at[l]];
    }
    for (; t < f->n_trees; t++) {
        uint32_t i = f->roots[t];
        for (uint32_t d = f->depths[t]; d > 0; d--)
            i = an_gbt_step(f->nodes, i, row);
        sum += f->leaf[i];
    }
    return sum;
}

double an_gbt_score_of_margin(const an_gbt_forest *f, double margin)
{
    return f->objective == AN_GBT_LOGISTIC ? 1.0 / (1.0 + exp(-margin)) : margin;
}

double an_gbt_score_row(const an_gbt_forest *f, const double *row)
{
    return an_gbt_score_of_margin(f, an_gbt_margin(f, row));
}

typedef struct batch_job {
    const an_gbt_forest *f;
    const double *x;
    size_t rows;
    double *scores;
} batch_job;

/* Rows [begin, end) (at most BLOCK) through every tree. */
static void score_block(const an_gbt_forest *f, const double *x, size_t begin, size_t end,
                        double *scores)
{
    size_t cols = f->n_features, n = end - begin;
    double sum[BLOCK];
    for (size_t i = 0; i < n; i++)
        sum[i] = f->base_margin;
    for (size_t t = 0; t < f->n_trees; t++) {
        uint32_t root = f->roots[t], depth = f->depths[t];
        size_t i = 0;
        for (; i + LANES <= n; i += LANES) {
            uint32_t at[LANES];
            const double *row[LANES];
            for (int l = 0; l < LANES; l++) {
                at[l] = root;
                row[l] = x + (begin + i + (size_t)l) * cols;
            }
            for (uint32_t d = 0; d < depth; d++)
                for (int l = 0; l < LANES; l++)
                    at[l] = an_gbt_step(f->nodes, at[l], row[l]);
            for (int l = 0; l < LANES; l++)
                sum[i + (size_t)l] += f->leaf[at[l]];
        }
        for (; i < n; i++) {
            uint32_t at = root;
            const double *row = x + (begin + i) * cols;
            for (uint32_t d = 0; d < depth; d++)
                at = an_gbt_step(f->nodes, at, row);
            sum[i] += f->leaf[at];
        }
    }
    for (size_t i = 0; i < n; i++)
        scores[begin + i] = an_gbt_score_of_margin(f, sum[i]);
}

static void score_blocks(void *ctx, size_t begin, size_t end, size_t worker)
{
    (void)worker;
    const batch_job *job = ctx;
    for (size_t b = begin; b < end; b++) {
        size_t lo = b * BLOCK, hi = lo + BLOCK < job->rows ? lo + BLOCK : job->rows;
        score_block(job->f, job->x, lo, hi, job->scores);
    }
}

void an_gbt_score_rows(const an_gbt_forest *f, const double *x, size_t rows, size_t n_threads,
                       double *scores)
{
    batch_job job = {f, x, rows, scores};
    an_parallel_for((rows + BLOCK - 1) / BLOCK, n_threads, 4, score_blocks, &job);
}
