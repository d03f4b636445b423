/* Scoring: rho - sum_s coef_s K(sv_s, x), higher = more anomalous.
 *
 * Rows go in blocks of ROWS; each block meets the support vectors a tile
 * at a time: one GEMM gives the tile's dot products with every row of the
 * block, then the kernel of each (an_ocsvm_kernel_of_dot: for rbf
 * |x|^2 + |s|^2 - 2 x.s) is weighted and added in support-vector order. A
 * single row is a block of one through the same code, so a row scores the
 * same bits alone as in a batch (OpenBLAS's GEMM kernels add the products
 * of an entry in the same order whatever the block's height; the unit
 * tests check it on the OpenBLAS in use), and so does a batch on any
 * number of threads (blocks are split across them, each writing its own
 * rows). A missing value is replaced by the feature's
 * training mean in a copy of the row: nothing is allocated per row.
 *
 * Tiles keep rows x tile x features at or below 2^18 multiply-adds:
 * OpenBLAS (in its default build) runs a GEMM above that size on its own
 * threads, which would compete with the library's. */
#include "detectors/ocsvm/ocsvm.h"
#include "core/alloc.h"
#include "core/error.h"
#include "core/threads.h"
#include "detectors/mean_fill.h"

#include <cblas.h>
#include <string.h>

enum { ROWS = 32 };
/* Blocks per thread below which a thread costs more than it saves. */
enum { MIN_BLOCKS_PER_THREAD = 2 };
enum { SINGLE_THREAD_GEMM = 1 << 18 };

/* Support vectors per tile. */
static size_t tile_size(const an_ocsvm *m)
{
    size_t t = SINGLE_THREAD_GEMM / (ROWS * m->n_features);
    t = t < 8 ? 8 : t - t % 8;
    return t < m->n_sv ? t : m->n_sv;
}

/* Doubles of scratch for a block of `rows` rows. */
static size_t block_doubles(const an_ocsvm *m, size_t rows)
{
    /* the filled rows, their squared norms and sums, one tile of dots */
    return rows * (m->n_features + 2 + tile_size(m));
}

size_t an_ocsvm_scratch_bytes(const an_ocsvm *m)
{
    return block_doubles(m, 1) * sizeof(double);
}

/* sum_s coef_s K(sv_s, x) over the t support vectors from s0, from their
 * dot products with x (overwritten with the kernel values) and |x|^2. */
static double weighted_sum(const an_ocsvm *m, double *k, size_t s0, size_t t, double sq)
{
    const double *coef = m->coef + s0, *sv_sq = m->sv_sq + s0;
    if (m->kernel.type == AN_OCSVM_RBF) {
        double g = -m->kernel.gamma;
        for (size_t s = 0; s < t; s++)
            k[s] = g * (sq + sv_sq[s] - 2 * k[s]);
        an_ocsvm_exp(k, t);
    } else {
        for (size_t s = 0; s < t; s++)
            k[s] = an_ocsvm_kernel_of_dot(&m->kernel, k[s], sq, sv_sq[s]);
    }
    /* four running sums, added in a fixed order: the same bits on every path */
    double acc[4] = {0, 0, 0, 0};
    size_t s = 0;
    for (; s + 4 <= t; s += 4)
        for (size_t q = 0; q < 4; q++)
            acc[q] += coef[s + q] * k[s + q];
    for (; s < t; s++)
        acc[s % 4] += coef[s] * k[s];
    return (acc[0] + acc[1]) + (acc[2] + acc[3]);
}

/* Scores of n <= ROWS rows into scores, with the scratch of block_doubles(m, n). */
static void score_block(const an_ocsvm *m, const double *x, size_t n, double *work,
                        double *scores)
{
    size_t d = m->n_features, tile = tile_size(m);
    double *rows = work, *sq = rows + n * d, *sum = sq + n, *dots = sum + n;
    an_mean_fill_rows(m->fill, x, n, d, rows);
    for (size_t r = 0; r < n; r++) {
        sq[r] = an_ocsvm_dot(rows + r * d, rows + r * d, d);
        sum[r] = 0;
    }
    for (size_t s0 = 0; s0 < m->n_sv; s0 += tile) {
        size_t t = m->n_sv - s0 < tile ? m->n_sv - s0 : tile;
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, (int)t, (int)d, 1.0, rows,
                    (int)d, m->sv + s0 * d, (int)d, 0.0, dots, (int)t);
        for (size_t r = 0; r < n; r++)
            sum[r] += weighted_sum(m, dots + r * t, s0, t, sq[r]);
    }
    for (size_t r = 0; r < n; r++)
        scores[r] = m->rho - sum[r];
}

void an_ocsvm_score_row(const an_ocsvm *m, const double *row, void *scratch, double *score)
{
    score_block(m, row, 1, scratch, score);
}

typedef struct batch_job {
    const an_ocsvm *m;
    const double *x;
    size_t rows;
    double *scores;
    double *work; /* one block's scratch per worker */
    size_t work_doubles;
} batch_job;

static void score_blocks(void *ctx, size_t begin, size_t end, size_t worker)
{
    const batch_job *job = ctx;
    double *work = job->work + worker * job->work_doubles;
    size_t d = job->m->n_features;
    for (size_t b = begin; b < end; b++) {
        size_t first = b * ROWS;
        size_t n = job->rows - first < ROWS ? job->rows - first : ROWS;
        score_block(job->m, job->x + first * d, n, work, job->scores + first);
    }
}

anoma_status an_ocsvm_score_rows(const an_ocsvm *m, const double *x, size_t rows,
                                 size_t n_threads, double *scores)
{
    size_t blocks = (rows + ROWS - 1) / ROWS;
    size_t workers = an_parallel_workers(blocks, n_threads, MIN_BLOCKS_PER_THREAD);
    size_t per = block_doubles(m, ROWS);
    double *work = an_malloc_array(workers ? workers : 1, per * sizeof(double));
    if (!work)
        return an_no_memory();
    batch_job job = {m, x, rows, scores, work, per};
    an_parallel_for(blocks, n_threads, MIN_BLOCKS_PER_THREAD, score_blocks, &job);
    an_free(work);
    return ANOMA_OK;
}
