/* The feature cuts and the binned matrix.
 *
 * Values are taken as float32, as XGBoost takes them. A feature with at
 * most max_bin distinct values gets a bin per value: its cuts are the
 * distinct values but the smallest, then one above the largest
 * (max + |max| + 1e-5, XGBoost's final cut), so a split falls between two
 * neighbouring values, exactly as XGBoost's cuts put it. A feature with
 * more distinct values is cut at its weighted quantiles: cut i (1 <= i <
 * max_bin) is the smallest distinct value with at least i / max_bin of the
 * total weight below it, and repeats are dropped. XGBoost gets these from
 * its streaming quantile sketch, whose cuts are within a rank tolerance of
 * the same quantiles; we sort each column instead, which is exact and, for
 * the columns a model holds in memory, as fast. Weights are the sample
 * weights (all 1 without them).
 *
 * A column is sorted by a stable radix sort of its values' bits
 * (lib/core/radix_sort.c, the one the calibration scores use; rows of
 * equal values stay in row order, so weights add up in row order), and its
 * rows get their bins in one walk of the sorted values beside the cuts. The
 * columns are gathered GATHER at a time, so that each pass over the
 * row-major input reads whole cache lines; the bins are written column by
 * column, then transposed into the row-major matrix training reads. */
#include "detectors/gbt/gbt.h"
#include "core/alloc.h"
#include "core/error.h"
#include "core/radix_sort.h"
#include "core/threads.h"

#include <string.h>

/* Columns gathered in one pass over the rows. */
#define GATHER 4
/* Rows transposed together: their bins stay in L1. */
#define TILE 256

/* One entry of a weighted quantile summary (Chen and Guestrin, appendix):
 * a value and the least and most weight that can lie below it. Ranks are
 * float32, as XGBoost's WQSummary<float, float> keeps them. */
typedef struct summary_entry {
    float rmin, rmax, wmin;
    float value;
} summary_entry;

void an_gbt_cuts_free(an_gbt_cuts *cuts)
{
    if (!cuts)
        return;
    an_free(cuts->offset);
    an_free(cuts->slot);
    an_free(cuts->values);
    an_free(cuts->min_value);
    *cuts = (an_gbt_cuts){0};
}

void an_gbt_bins_free(an_gbt_bins *bins)
{
    if (!bins)
        return;
    an_free(bins->u8);
    an_free(bins->u16);
    *bins = (an_gbt_bins){0};
}

typedef struct cut_job {
    const double *x;
    size_t rows, cols;
    const double *weights;
    size_t max_bin;
    uint64_t *items;          /* per worker: (GATHER + 1) x rows sort keys */
    summary_entry *summaries; /* rows per worker */
    float *cut_values;        /* max_bin per feature */
    size_t *n_cuts;           /* per feature */
    float *min_value;
    uint8_t *has_missing; /* per feature */
    uint16_t *columns;    /* cols x rows, column-major: bins, AN_GBT_MISSING_BIN when missing */
} cut_job;

/* A float's bits as an unsigned key in the float order (-0 as +0). An
 * item is its key above its row. */
static uint32_t key_of(float v)
{
    uint32_t b;
    memcpy(&b, &v, sizeof b);
    if (b == 0x80000000u)
        b = 0;
    return b & 0x80000000u ? ~b : b | 0x80000000u;
}

static float value_of(uint32_t key)
{
    uint32_t b = key & 0x80000000u ? key & 0x7FFFFFFFu : ~key;
    float v;
    memcpy(&v, &b, sizeof v);
    return v;
}

/* XGBoost's WQSummary::SetPrune: at most maxsize entries of src (size n)
 * spread evenly over its ranks, into out; returns their count. */
static size_t prune(const summary_entry *src, size_t size, size_t maxsize, summary_entry *out)
{
    if (size <= maxsize) {
        memmove(out, src, size * sizeof *src);
        return size;
    }
    float begin = src[0].rmax, range = src[size - 1].rmin - src[0].rmax;
    size_t n = maxsize - 1, count = 1, i = 1, last = 0;
    summary_entry first = src[0];
    for (size_t k = 1; k < n; k++) {
        float dx2 = 2 * (((float)k * range) / (float)n + begin);
        while (i < size - 1 && dx2 >= src[i + 1].rmax + src[i + 1].rmin)
            i++;
        if (i == size - 1)
            break;
        size_t pick = dx2 < (src[i].rmin + src[i].wmin) + (src[i + 1].rmax - src[i + 1].wmin)
                          ? i
                          : i + 1;
        if (pick != last)
            out[count++] = src[pick], last = pick;
    }
    if (last != size - 1)
        out[count++] = src[size - 1];
    out[0] = first;
    return count;
}

/* Cuts of column f from its n values as sorted items; returns their count. */
static size_t column_cuts(const cut_job *job, size_t f, const uint64_t *items, size_t n,
                          float *cuts, summary_entry *summary)
{
    if (n == 0) { /* every value missing: one bin that no value reaches */
        cuts[0] = 0;
        job->min_value[f] = 1e-5f;
        return 1;
    }
    /* the exact summary: one entry per distinct value, with its weight */
    size_t k = 0, max_bin = job->max_bin;
    float below = 0;
    for (size_t i = 0; i < n;) {
        uint32_t key = (uint32_t)(items[i] >> 32);
        float w = 0;
        size_t j = i;
        for (; j < n && (uint32_t)(items[j] >> 32) == key; j++)
            w += job->weights ? (float)job->weights[(uint32_t)items[j]] : 1.0f;
        /* the value as the first of its rows holds it (its sign of 0) */
        float v = (float)job->x[(size_t)(uint32_t)items[i] * job->cols + f];
        summary[k++] = (summary_entry){below, below + w, w, v};
        below += w;
        i = j;
    }
    /* XGBoost prunes its summary twice: to max_bin * 8 entries when it
     * gathers the column, then to max_bin + 1 when it makes the cuts */
    size_t intermediate = n < 8 * max_bin ? n : 8 * max_bin;
    k = prune(summary, k, intermediate, summary);
    size_t bins = intermediate < max_bin ? intermediate : max_bin;
    k = prune(summary, k, bins + 1, summary);
    size_t required = k < bins ? k : bins, n_cuts = 0;
    for (size_t i = 1; i < required; i++)
        if (i == 1 || summary[i].value > cuts[n_cuts - 1])
            cuts[n_cuts++] = summary[i].value;
    float hi = summary[k - 1].value, lo = summary[0].value;
    cuts[n_cuts++] = hi + (fabsf(hi) + 1e-5f);
    job->min_value[f] = lo - (fabsf(lo) + 1e-5f);
    return n_cuts;
}

/* Each row's bin of column f: the number of cuts <= its value (the last
 * bin above them), found walking the sorted values beside the cuts. */
static void column_bins(const cut_job *job, size_t f, const uint64_t *items, size_t n,
                        const float *cuts, size_t n_cuts)
{
    uint16_t *bins = job->columns + f * job->rows;
    size_t b = 0;
    for (size_t i = 0; i < n; i++) {
        float v = value_of((uint32_t)(items[i] >> 32));
        while (b < n_cuts && cuts[b] <= v)
            b++;
        bins[(uint32_t)items[i]] = (uint16_t)(b < n_cuts ? b : n_cuts - 1);
    }
}

static void cut_columns(void *ctx, size_t begin, size_t end, size_t worker)
{
    cut_job *job = ctx;
    size_t rows = job->rows;
    uint64_t *items = job->items + worker * (GATHER + 1) * rows;
    summary_entry *summary = job->summaries + worker * rows;
    for (size_t f0 = begin; f0 < end; f0 += GATHER) {
        size_t nf = end - f0 < GATHER ? end - f0 : GATHER, n[GATHER] = {0};
        for (size_t r = 0; r < rows; r++) {
            const double *row = job->x + r * job->cols + f0;
            for (size_t k = 0; k < nf; k++) {
                if (row[k] == row[k])
                    items[k * rows + n[k]++] = (uint64_t)key_of((float)row[k]) << 32 | r;
                else
                    job->columns[(f0 + k) * rows + r] = AN_GBT_MISSING_BIN;
            }
        }
        for (size_t k = 0; k < nf; k++) {
            size_t f = f0 + k;
            /* by the key (upper 32 bits); the row rides below it */
            const uint64_t *sorted =
                an_radix_sort_u64(items + k * rows, items + GATHER * rows, n[k], 32, 32);
            float *cuts = job->cut_values + f * job->max_bin;
            job->n_cuts[f] = column_cuts(job, f, sorted, n[k], cuts, summary);
            job->has_missing[f] = n[k] < rows;
            column_bins(job, f, sorted, n[k], cuts, job->n_cuts[f]);
        }
    }
}

typedef struct transpose_job {
    const uint16_t *columns;
    const an_gbt_cuts *cuts;
    an_gbt_bins *bins;
} transpose_job;

/* Rows [begin, end) of the column-major bins into the row-major matrix, a
 * missing value into its feature's missing slot. */
static void transpose_rows(void *ctx, size_t begin, size_t end, size_t worker)
{
    (void)worker;
    const transpose_job *job = ctx;
    an_gbt_bins *out = job->bins;
    size_t rows = out->rows, cols = out->cols;
    for (size_t r0 = begin; r0 < end; r0 += TILE) {
        size_t r1 = end - r0 < TILE ? end : r0 + TILE;
        for (size_t f = 0; f < cols; f++) {
            const uint16_t *col = job->columns + f * rows;
            uint16_t missing = (uint16_t)(job->cuts->offset[f + 1] - job->cuts->offset[f]);
            for (size_t r = r0; r < r1; r++) {
                uint16_t b = col[r] == AN_GBT_MISSING_BIN ? missing : col[r];
                if (out->u8)
                    out->u8[r * cols + f] = (uint8_t)b;
                else
                    out->u16[r * cols + f] = b;
            }
        }
    }
}

/* The layout of the cuts from each feature's count, and the binned matrix
 * (u8 when every feature's bins and missing slot fit in a byte). */
static anoma_status lay_out(const cut_job *job, size_t n_threads, an_gbt_cuts *cuts,
                            an_gbt_bins *bins)
{
    size_t rows = job->rows, cols = job->cols;
    cuts->offset[0] = cuts->slot[0] = 0;
    int narrow = 1;
    for (size_t f = 0; f < cols; f++) {
        cuts->offset[f + 1] = cuts->offset[f] + job->n_cuts[f];
        cuts->slot[f + 1] = cuts->slot[f] + job->n_cuts[f] + 1;
        if (job->n_cuts[f] + job->has_missing[f] > 256)
            narrow = 0;
    }
    cuts->values = AN_NEW_ARRAY(float, cuts->offset[cols] ? cuts->offset[cols] : 1);
    if (!cuts->values)
        return an_no_memory();
    for (size_t f = 0; f < cols; f++)
        memcpy(cuts->values + cuts->offset[f], job->cut_values + f * job->max_bin,
               job->n_cuts[f] * sizeof(float));
    cuts->n_features = cols;
    *bins = (an_gbt_bins){.rows = rows, .cols = cols};
    size_t cells = rows * cols > 0 ? rows * cols : 1;
    if (narrow)
        bins->u8 = an_malloc_array(cells, sizeof *bins->u8);
    else
        bins->u16 = an_malloc_array(cells, sizeof *bins->u16);
    if (!bins->u8 && !bins->u16)
        return an_no_memory();
    transpose_job t = {job->columns, cuts, bins};
    an_parallel_for(rows, n_threads, 4 * TILE, transpose_rows, &t);
    return ANOMA_OK;
}

anoma_status an_gbt_cuts_make(const double *x, size_t rows, size_t cols, const double *weights,
                              size_t max_bin, size_t n_threads, an_gbt_cuts *cuts,
                              an_gbt_bins *bins)
{
    *cuts = (an_gbt_cuts){0};
    *bins = (an_gbt_bins){0};
    size_t workers = an_parallel_workers(cols, n_threads, 1), r1 = rows ? rows : 1;
    cut_job job = {.x = x, .rows = rows, .cols = cols, .weights = weights, .max_bin = max_bin};
    job.items = an_malloc_array(workers * (GATHER + 1), r1 * sizeof *job.items);
    job.summaries = an_malloc_array(workers * r1, sizeof *job.summaries);
    job.cut_values = AN_NEW_ARRAY(float, cols * max_bin);
    job.n_cuts = AN_NEW_ARRAY(size_t, cols);
    job.min_value = AN_NEW_ARRAY(float, cols);
    job.has_missing = AN_NEW_ARRAY(uint8_t, cols);
    job.columns = an_malloc_array(cols * rows, sizeof *job.columns);
    cuts->offset = AN_NEW_ARRAY(size_t, cols + 1);
    cuts->slot = AN_NEW_ARRAY(size_t, cols + 1);
    anoma_status st = ANOMA_OK;
    if (!job.items || !job.summaries || !job.cut_values || !job.n_cuts || !job.min_value ||
        !job.has_missing || !job.columns || !cuts->offset || !cuts->slot) {
        st = an_no_memory();
        goto done;
    }
    an_parallel_for(cols, n_threads, 1, cut_columns, &job);
    st = lay_out(&job, n_threads, cuts, bins);
    if (st == ANOMA_OK) {
        cuts->min_value = job.min_value;
        job.min_value = NULL;
    }
done:
    an_free(job.items);
    an_free(job.summaries);
    an_free(job.cut_values);
    an_free(job.n_cuts);
    an_free(job.min_value);
    an_free(job.has_missing);
    an_free(job.columns);
    if (st != ANOMA_OK) {
        an_gbt_cuts_free(cuts);
        an_gbt_bins_free(bins);
    }
    return st;
}
