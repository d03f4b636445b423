#include "metrics/ranking.h"
#include "core/alloc.h"
#include "core/error.h"

#include <math.h>
#include <string.h>

anoma_status an_scored_check(const char *fn, const double *scores, const int *labels, size_t n,
                             size_t *positives, size_t *negatives)
{
    if (n == 0)
        return an_error(ANOMA_ERR_EMPTY, "%s: no rows (n = 0)", fn);
    if (!scores || !labels)
        return an_error(ANOMA_ERR_INVALID_ARGUMENT, "%s: NULL %s for n = %zu", fn,
                        !scores ? "scores" : "labels", n);
    size_t pos = 0;
    for (size_t i = 0; i < n; i++) {
        if (labels[i] != 0 && labels[i] != 1)
            return an_error(ANOMA_ERR_INVALID_ARGUMENT, "%s: labels[%zu] = %d; expected 0 or 1",
                            fn, i, labels[i]);
        if (!isfinite(scores[i]))
            return an_error(ANOMA_ERR_NONFINITE, "%s: scores[%zu] is %s", fn, i,
                            isnan(scores[i]) ? "NaN" : scores[i] > 0 ? "+Inf" : "-Inf");
        pos += (size_t)labels[i];
    }
    *positives = pos;
    *negatives = n - pos;
    return ANOMA_OK;
}

typedef struct scored {
    double score;
    int label;
} scored;

/* Merge the sorted runs src[lo, mid) and src[mid, hi) into dst, higher
 * scores first, the left run first among equals (stable). */
static void merge(const scored *src, scored *dst, size_t lo, size_t mid, size_t hi)
{
    size_t i = lo, j = mid, k = lo;
    while (i < mid && j < hi)
        dst[k++] = src[i].score >= src[j].score ? src[i++] : src[j++];
    while (i < mid)
        dst[k++] = src[i++];
    while (j < hi)
        dst[k++] = src[j++];
}

/* Bottom-up merge sort by descending score, O(n log n) in every case.
 * Own code rather than qsort: glibc's qsort allocates with malloc behind
 * the host allocator's back. Stability is not needed for the results
 * (tied scores collapse into one curve point) but costs nothing. */
static anoma_status sort_descending(scored *rows, size_t n)
{
    scored *tmp = AN_NEW_ARRAY(scored, n);
    if (!tmp)
        return an_no_memory();
    scored *src = rows, *dst = tmp;
    for (size_t width = 1; width < n; width *= 2) {
        for (size_t lo = 0; lo < n; lo += 2 * width) {
            size_t mid = lo + width < n ? lo + width : n;
            size_t hi = mid + width < n ? mid + width : n;
            merge(src, dst, lo, mid, hi);
        }
        scored *swap = src;
        src = dst;
        dst = swap;
    }
    if (src != rows)
        memcpy(rows, src, n * sizeof *rows);
    an_free(tmp);
    return ANOMA_OK;
}

anoma_status an_curve_make(const double *scores, const int *labels, size_t n, an_curve *out)
{
    *out = (an_curve){0};
    scored *rows = AN_NEW_ARRAY(scored, n);
    if (!rows)
        return an_no_memory();
    for (size_t i = 0; i < n; i++)
        rows[i] = (scored){scores[i], labels[i]};
    anoma_status st = sort_descending(rows, n);
    if (st != ANOMA_OK) {
        an_free(rows);
        return st;
    }
    an_curve_point *points = AN_NEW_ARRAY(an_curve_point, n);
    if (!points) {
        an_free(rows);
        return an_no_memory();
    }
    /* A point closes each run of equal scores ("==": -0.0 ties with 0.0,
     * as in numpy's diff). */
    size_t tp = 0, k = 0;
    for (size_t i = 0; i < n; i++) {
        tp += (size_t)rows[i].label;
        if (i + 1 == n || rows[i + 1].score != rows[i].score)
            points[k++] = (an_curve_point){rows[i].score, tp, i + 1 - tp};
    }
    an_free(rows);
    out->points = points;
    out->n_points = k;
    out->positives = tp;
    out->negatives = n - tp;
    return ANOMA_OK;
}

void an_curve_free(an_curve *curve)
{
    an_free(curve->points);
    *curve = (an_curve){0};
}

double an_curve_cut(const an_curve *curve, size_t k)
{
    return k + 1 < curve->n_points ? curve->points[k + 1].score
                                   : nextafter(curve->points[k].score, -INFINITY);
}

size_t an_curve_best_f1(const an_curve *curve, double *f1)
{
    /* Flagging the first k+1 points: F1 = 2 tp / (2 tp + fp + fn) with
     * fn = P - tp. Flagging nothing scores 0 and never wins, since P > 0.
     * Strict ">" keeps the highest cut among equal F1. */
    double best = -1.0;
    size_t best_k = 0;
    for (size_t k = 0; k < curve->n_points; k++) {
        const an_curve_point *p = &curve->points[k];
        double f = 2.0 * (double)p->tp / (double)(p->tp + p->fp + curve->positives);
        if (f > best) {
            best = f;
            best_k = k;
        }
    }
    *f1 = best;
    return best_k;
}
