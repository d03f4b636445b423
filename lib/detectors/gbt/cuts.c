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
 * weights (all 1 without them). */
#include "detectors/gbt/gbt.h"
#include "core/alloc.h"
#include "core/error.h"
#include "core/threads.h"

#include <stdlib.h>
#include <string.h>

typedef struct weighted_value {
    float value;
    double weight;
} weighted_value;

/* One entry of a weighted quantile summary (Chen and Guestrin, appendix):
 * a value and the least and most weight that can lie below it. Ranks are
 * float32, as XGBoost's WQSummary<float, float> keeps them. */
typedef struct summary_entry {
    float rmin, rmax, wmin;
    float value;
} summary_entry;

static int by_value(const void *a, const void *b)
{
    float x = ((const weighted_value *)a)->value, y = ((const weighted_value *)b)->value;
    return (x > y) - (x < y);
}

void an_gbt_cuts_free(an_gbt_cuts *cuts)
{
    if (!cuts)
        return;
    an_free(cuts->offset);
    an_free(cuts->values);
    an_free(cuts->min_value);
    *cuts = (an_gbt_cuts){0};
}

typedef struct cut_job {
    const double *x;
    size_t rows, cols;
    const double *weights;
    size_t max_bin;
    weighted_value *scratch; /* rows per worker */
    summary_entry *summaries; /* rows per worker */
    float *cut_values;       /* max_bin per feature */
    size_t *n_cuts;          /* per feature */
    float *min_value;
    uint16_t *bins;
} cut_job;

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

/* Cuts of one column (v: its n values, reordered here); returns their count. */
static size_t column_cuts(weighted_value *v, size_t n, size_t max_bin, float *cuts, float *min,
                          summary_entry *summary)
{
    if (n == 0) { /* every value missing: one bin that no value reaches */
        cuts[0] = 0;
        *min = 1e-5f;
        return 1;
    }
    qsort(v, n, sizeof *v, by_value);
    /* the exact summary: one entry per distinct value, with its weight */
    size_t k = 0;
    float below = 0;
    for (size_t i = 0; i < n;) {
        float w = 0;
        size_t j = i;
        for (; j < n && v[j].value == v[i].value; j++)
            w += (float)v[j].weight;
        summary[k++] = (summary_entry){below, below + w, w, v[i].value};
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
    *min = lo - (fabsf(lo) + 1e-5f);
    return n_cuts;
}

/* The bin of v: the number of cuts <= v. */
static uint16_t bin_of(const float *cuts, size_t n, float v)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (cuts[mid] <= v)
            lo = mid + 1;
        else
            hi = mid;
    }
    return (uint16_t)(lo < n ? lo : n - 1);
}

static void cut_columns(void *ctx, size_t begin, size_t end, size_t worker)
{
    cut_job *job = ctx;
    weighted_value *v = job->scratch + worker * job->rows;
    summary_entry *summary = job->summaries + worker * job->rows;
    for (size_t f = begin; f < end; f++) {
        size_t n = 0;
        for (size_t r = 0; r < job->rows; r++) {
            double x = job->x[r * job->cols + f];
            if (x == x)
                v[n++] = (weighted_value){(float)x, job->weights ? job->weights[r] : 1.0};
        }
        float *cuts = job->cut_values + f * job->max_bin;
        size_t n_cuts = column_cuts(v, n, job->max_bin, cuts, &job->min_value[f], summary);
        job->n_cuts[f] = n_cuts;
        uint16_t *bins = job->bins + f * job->rows;
        for (size_t r = 0; r < job->rows; r++) {
            double x = job->x[r * job->cols + f];
            bins[r] = x == x ? bin_of(cuts, n_cuts, (float)x) : AN_GBT_MISSING_BIN;
        }
    }
}

anoma_status an_gbt_cuts_make(const double *x, size_t rows, size_t cols, const double *weights,
                              size_t max_bin, size_t n_threads, an_gbt_cuts *cuts,
                              uint16_t **bins_out)
{
    *cuts = (an_gbt_cuts){0};
    *bins_out = NULL;
    size_t workers = an_parallel_workers(cols, n_threads, 1);
    cut_job job = {x, rows, cols, weights, max_bin, NULL, NULL, NULL, NULL, NULL, NULL};
    job.scratch = an_malloc_array(workers * (rows ? rows : 1), sizeof *job.scratch);
    job.summaries = an_malloc_array(workers * (rows ? rows : 1), sizeof *job.summaries);
    job.cut_values = AN_NEW_ARRAY(float, cols * max_bin);
    job.n_cuts = AN_NEW_ARRAY(size_t, cols);
    job.min_value = AN_NEW_ARRAY(float, cols);
    job.bins = an_malloc_array(cols * rows, sizeof *job.bins);
    cuts->offset = AN_NEW_ARRAY(size_t, cols + 1);
    anoma_status st = ANOMA_OK;
    if (!job.scratch || !job.summaries || !job.cut_values || !job.n_cuts || !job.min_value || !job.bins ||
        !cuts->offset) {
        st = an_no_memory();
        goto done;
    }
    an_parallel_for(cols, n_threads, 1, cut_columns, &job);
    cuts->offset[0] = 0;
    for (size_t f = 0; f < cols; f++)
        cuts->offset[f + 1] = cuts->offset[f] + job.n_cuts[f];
    cuts->values = AN_NEW_ARRAY(float, cuts->offset[cols]);
    if (!cuts->values) {
        st = an_no_memory();
        goto done;
    }
    for (size_t f = 0; f < cols; f++)
        memcpy(cuts->values + cuts->offset[f], job.cut_values + f * max_bin,
               job.n_cuts[f] * sizeof(float));
    cuts->n_features = cols;
    cuts->min_value = job.min_value;
    job.min_value = NULL;
    *bins_out = job.bins;
    job.bins = NULL;
done:
    an_free(job.scratch);
    an_free(job.summaries);
    an_free(job.cut_values);
    an_free(job.n_cuts);
    an_free(job.min_value);
    an_free(job.bins);
    if (st != ANOMA_OK)
        an_gbt_cuts_free(cuts);
    return st;
}
