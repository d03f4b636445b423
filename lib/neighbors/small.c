/* The queries of a small indexed set without a heap, its self-query,
 * batches of new rows and the single new row of the row scorer (a new
 * row leaves no row out): for each query,
 * every row's exact squared distance, a bound T known to be at least the
 * k-th smallest of them, the rows within T kept as candidates, and the
 * candidates put in (distance, index) order by counting, each written
 * straight to its place in the answer.
 *
 * Exactness. The distances are an_sq_dist's: sum_j (q_j - x_j)^2 in
 * column order, the same operations in the same order in every lane (no
 * fused multiply-add), so the same bits as every other search. T is the
 * k-th smallest distance of k distinct rows other than the query, so at
 * least k rows other than the query lie at or within T: the k-th
 * smallest distance over all rows is at most T, and every row of the
 * answer is a candidate, as is every row ordered before one of them. A
 * candidate's rank among the candidates (how many come strictly before
 * it in (distance, index) order) is then its rank among all rows, and
 * the ranks below k are the answer in order, ties by the lower index, as
 * the heap gives it.
 *
 * Where T comes from. The rows are split into 32 or more groups (a row's
 * position modulo 32 within a stripe of rows); the first pass keeps each
 * group's least distance (the query itself left out), and T is the k-th
 * smallest of those minima: k groups, so k distinct rows, at or within
 * it. The k nearest rows mostly fall in different groups, so T is close
 * to the answer's own k-th distance (breastw: 46 candidates a query, 32
 * rows within the true k-th). With fewer groups than k, T is the k-th
 * smallest distance to the previous query's k neighbours and that query
 * itself (a self-query's rows go in index order, new rows in their own
 * order; the first of a chunk, and a single row, are bounded by rows 0
 * to k). A poor T only costs time: beyond RANK_LIMIT candidates they go
 * through a heap. (More groups than k is the rule: the groups are about
 * 1.5 k, at most one a padded row.)
 *
 * With AVX-512 the first pass is in single precision, a filter with a
 * proven error bound (below, "the single-precision filter"): its
 * candidates' exact distances are then computed from the rows, so the
 * answer is the same, bit for bit. A third of the double pass's
 * operations, four queries a read of the copy: pima's new rows 1.84 ->
 * 1.03 us a query, thyroid's 3772 x 6 self-query 0.78x the KD-tree's.
 *
 * Why: on a small set (breastw, 683 x 9 integer values) a KD-tree prunes
 * little and most of its time went to heap offers of near-equal pairs
 * (docs/neighbors.md, "small"), new rows' as much as the self-query's
 * (breastw's 2000 novelty rows: 5.5 us a query in the tree, 1.9 us
 * here). The rows are stored column by column in index order, padded
 * with NaN rows (never a candidate) to a multiple of BLOCK_ROWS, so that
 * candidates come out in index order; that copy is the whole index
 * (an_small_build), built once at fit.
 *
 * The row scorer's single row goes through the same scan in the caller's
 * scratch (an_small_row_scratch_bytes: about 3 n doubles): on these sets
 * it is faster than a KD-tree's walk (pima 2.3 -> 0.85 us a row, breastw
 * 4.2 -> 1.2, wbc 2.8 -> 0.45; docs/neighbors.md), so no tree is built
 * for it. */
#include "neighbors/knn.h"
#include "core/alloc.h"
#include "core/clones.h"
#include "core/error.h"
#include "core/threads.h"

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <string.h>
#if defined(__GNUC__) && defined(__x86_64__)
#include <immintrin.h>
#define AN_SMALL_HAVE_AVX512 1
#endif

/* Rows a distance pass takes at a time (four 8-lane sums in flight). */
enum { BLOCK_ROWS = 32 };
/* Candidates ordered by counting (quadratic) at most; more go through a heap. */
enum { RANK_LIMIT = 192 };
/* Queries whose float pass shares one read of the copy (AVX-512): one
 * query a pass waited on the loads once the copy is past the first-level
 * cache (pima's 768 x 8 is 48 KiB as doubles, ionosphere's 351 x 32 90). */
enum { PASS_QUERIES = 4 };
/* Queries per chunk below which a thread costs more than it saves. */
enum { MIN_SMALL_QUERIES = 64 };

/* Where row i's value j sits in the index's copy: tiles of BLOCK_ROWS
 * rows, each column by column, so that a pass over the rows reads one
 * stream in order (column after column over the whole set, d streams,
 * ran at 2.6 times the arithmetic's floor on ionosphere's 351 x 32). */
static inline size_t tile_at(size_t i, size_t j, size_t d)
{
    return i / BLOCK_ROWS * BLOCK_ROWS * d + j * BLOCK_ROWS + i % BLOCK_ROWS;
}

typedef struct small_job {
    const an_knn_index *ix;
    const double *q; /* m new rows; NULL: self-query of rows [first, first + m) */
    size_t first, m, k;
    size_t stripe_rows, n_groups; /* the groups whose least distances bound T */
    int kernel;
    unsigned char *work; /* per worker: worker_bytes */
    size_t worker_bytes;
    double *dist;
    size_t *index;
} small_job;

/* Pass one: every row's squared distance from q into d2 (NaN for `self`
 * and the padding), and the least of each group into gmin. Group g of
 * the n_groups = 32 * stripes: the rows r with r % 32 == g % 32 in the
 * stripe g / 32 of stripe_rows rows (a multiple of 32). */
static void distances_generic(const double *cols, size_t n_pad, size_t d, const double *q,
                              size_t self, size_t stripe_rows, double *d2, double *gmin,
                              size_t n_groups)
{
    for (size_t g = 0; g < n_groups; g++)
        gmin[g] = INFINITY;
    for (size_t b = 0; b < n_pad; b += 8) {
        double s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
        for (size_t j = 0; j < d; j++) {
            const double *col = cols + tile_at(b, j, d);
            for (size_t l = 0; l < 8; l++) {
                double u = q[j] - col[l];
                s[l] += u * u;
            }
        }
        for (size_t l = 0; l < 8; l++) {
            size_t r = b + l, g = r / stripe_rows * 32 + r % 32;
            double v = r == self ? NAN : s[l];
            d2[r] = v;
            gmin[g] = v < gmin[g] ? v : gmin[g]; /* NaN never less */
        }
    }
}

/* Pass two: the rows at most t (never NaN), in index order, their
 * distances into cd2 and indices into cidx; returns how many. */
static size_t compress_generic(const double *d2, size_t n_pad, double t, double *cd2,
                               size_t *cidx)
{
    size_t c = 0;
    for (size_t r = 0; r < n_pad; r++) { /* no branch on the values */
        cd2[c] = d2[r];
        cidx[c] = r;
        c += d2[r] <= t;
    }
    return c;
}

#ifdef AN_SMALL_HAVE_AVX512
__attribute__((target("avx512f"))) static void fill_groups(double *gmin, size_t n_groups)
{
    for (size_t g = 0; g < n_groups; g += 8)
        _mm512_storeu_pd(gmin + g, _mm512_set1_pd(INFINITY));
}

__attribute__((target("avx512f"))) static void
distances_avx512(const double *cols, size_t n_pad, size_t d, const double *q, size_t self,
                 size_t stripe_rows, double *d2, double *gmin, size_t n_groups)
{
    fill_groups(gmin, n_groups);
    for (size_t b = 0; b < n_pad; b += BLOCK_ROWS) {
        __m512d s0 = _mm512_setzero_pd(), s1 = s0, s2 = s0, s3 = s0;
        for (size_t j = 0; j < d; j++) {
            const double *col = cols + tile_at(b, j, d);
            __m512d qj = _mm512_set1_pd(q[j]);
            __m512d u0 = _mm512_sub_pd(qj, _mm512_loadu_pd(col));
            __m512d u1 = _mm512_sub_pd(qj, _mm512_loadu_pd(col + 8));
            __m512d u2 = _mm512_sub_pd(qj, _mm512_loadu_pd(col + 16));
            __m512d u3 = _mm512_sub_pd(qj, _mm512_loadu_pd(col + 24));
            s0 = _mm512_add_pd(s0, _mm512_mul_pd(u0, u0));
            s1 = _mm512_add_pd(s1, _mm512_mul_pd(u1, u1));
            s2 = _mm512_add_pd(s2, _mm512_mul_pd(u2, u2));
            s3 = _mm512_add_pd(s3, _mm512_mul_pd(u3, u3));
        }
        __m512d s[4] = {s0, s1, s2, s3};
        if (self - b < BLOCK_ROWS) {
            size_t v = (self - b) / 8;
            s[v] = _mm512_mask_mov_pd(s[v], (__mmask8)(1u << ((self - b) % 8)),
                                      _mm512_set1_pd(NAN));
        }
        double *m = gmin + b / stripe_rows * 32;
        for (size_t v = 0; v < 4; v++) {
            _mm512_storeu_pd(d2 + b + 8 * v, s[v]);
            /* min_pd gives its second operand where either is NaN */
            _mm512_storeu_pd(m + 8 * v, _mm512_min_pd(s[v], _mm512_loadu_pd(m + 8 * v)));
        }
    }
}

/* The same, sixteen rows at a time: the kept rows' numbers compressed as
 * 32-bit lanes into rows (n_pad + 16 slots), then their distances
 * gathered and the numbers widened, eight at a time. Compressing the
 * distances and the 64-bit numbers eight rows at a time took two
 * compresses a step on the one port that also compares (17 % of pima's
 * fit); most steps keep nothing, so the candidates' own pass is short. */
__attribute__((target("avx512f"))) static size_t compress_avx512(const double *d2, size_t n_pad,
                                                                 double t, uint32_t *rows,
                                                                 double *cd2, size_t *cidx)
{
    size_t c = 0;
    const __m512d bound = _mm512_set1_pd(t);
    __m512i at = _mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);
    const __m512i sixteen = _mm512_set1_epi32(16);
    for (size_t r = 0; r < n_pad; r += 16) { /* n_pad: a multiple of BLOCK_ROWS */
        __mmask16 keep =
            _mm512_kunpackb(_mm512_cmp_pd_mask(_mm512_loadu_pd(d2 + r + 8), bound, _CMP_LE_OQ),
                            _mm512_cmp_pd_mask(_mm512_loadu_pd(d2 + r), bound, _CMP_LE_OQ));
        _mm512_storeu_si512(rows + c, _mm512_maskz_compress_epi32(keep, at));
        c += (size_t)__builtin_popcount(keep);
        at = _mm512_add_epi32(at, sixteen);
    }
    for (size_t p = 0; p < c; p += 8) { /* lanes past c: no memory touched through them */
        __mmask8 in = (__mmask8)(c - p >= 8 ? 0xff : (1u << (c - p)) - 1);
        __m512i r64 = _mm512_maskz_mov_epi64(
            in, _mm512_cvtepu32_epi64(_mm256_loadu_si256((const __m256i *)(const void *)(rows + p))));
        _mm512_storeu_si512(cidx + p, r64);
        _mm512_storeu_pd(cd2 + p, _mm512_mask_i64gather_pd(_mm512_setzero_pd(), in, r64, d2, 8));
    }
    return c;
}
#endif

#ifdef AN_SMALL_HAVE_AVX512
/* ---- the single-precision filter (AVX-512 only) ----
 *
 * The first pass in single precision: the index's rows centred on the
 * column means and scaled by a power of two into [-1, 1] (fcols, as the
 * brute filter's rows), the query the same, sixteen rows a register and
 * a fused multiply-add a column: a third of the double pass's operations.
 * The float value f of a row errs from the exact scaled distance D' by
 * at most E = c (|q'|^2 + max_norm) + (d + 8) 2^-120, c = 8 (d + 8)
 * FLT_EPSILON: each centred value is converted with relative error u =
 * FLT_EPSILON / 2 (2^-149 absolute where it underflows), so each
 * difference errs by at most 1.01 u (|q'_j| + |x'_j|) + 2^-148; the
 * subtraction, the square and the sum add one rounding each a term
 * (d + 2 in all), and sum_j (|q'_j| + |x'_j|)^2 <= 2 (|q'|^2 + |x'|^2): about
 * 4 (d + 6) FLT_EPSILON (|q'|^2 + |x'|^2) and far less than the absolute
 * term for the underflows, both below E. The double distance the answer
 * uses (an_sq_dist) differs from D' / scale^2 by (d + 2) double roundings,
 * a relative 2^-40 covers it.
 *
 * So with Tf the k-th smallest of the groups' least f (k distinct rows
 * with f <= Tf), the true k-th smallest distance is at most Tf + E (scaled),
 * and every row at or within it has f <= Tf + 2E: those rows (every row
 * of the answer, and every row ordered before one) are the candidates,
 * their exact double distances computed from the rows, and ranked as the
 * double pass's candidates are. The exact answer, ties by index included;
 * a wider E only costs candidates. A query too far out (|q'|^2 above
 * 2^100, where a float could overflow) takes the double pass. */
#define FAR_QUERY 0x1p100

/* A tile's two float sums of one query: f (NaN at `self`) and its groups'
 * least, widened to double (the k-th's selection is kth_avx512). */
__attribute__((target("avx512f"), always_inline)) static inline void
float_tile_done(__m512 s0, __m512 s1, size_t b, size_t self, size_t stripe_rows, float *f,
                double *gmin)
{
    __m512 s[2] = {s0, s1};
    if (self - b < BLOCK_ROWS) {
        size_t v = (self - b) / 16;
        s[v] = _mm512_mask_mov_ps(s[v], (__mmask16)(1u << ((self - b) % 16)),
                                  _mm512_set1_ps(NAN));
    }
    double *m = gmin + b / stripe_rows * 32;
    for (size_t v = 0; v < 2; v++) {
        _mm512_storeu_ps(f + b + 16 * v, s[v]);
        __m512d lo = _mm512_cvtps_pd(_mm512_castps512_ps256(s[v]));
        __m512d hi = _mm512_cvtps_pd(
            _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(s[v]), 1)));
        /* min_pd gives its second operand where either is NaN */
        _mm512_storeu_pd(m + 16 * v, _mm512_min_pd(lo, _mm512_loadu_pd(m + 16 * v)));
        _mm512_storeu_pd(m + 16 * v + 8, _mm512_min_pd(hi, _mm512_loadu_pd(m + 16 * v + 8)));
    }
}

/* The float pass of `count` queries (a constant where it is inlined, so
 * that the sums stay in registers): qf[a] the query's d scaled values. */
__attribute__((target("avx512f"), always_inline)) static inline void
float_pass(const float *fcols, size_t n_pad, size_t d, size_t count, const float *const *qf,
           const size_t *self, size_t stripe_rows, float *const *f, double *const *gmin,
           size_t n_groups)
{
    for (size_t a = 0; a < count; a++)
        fill_groups(gmin[a], n_groups);
    for (size_t b = 0; b < n_pad; b += BLOCK_ROWS) {
        __m512 s[PASS_QUERIES][2];
        for (size_t a = 0; a < count; a++)
            s[a][0] = s[a][1] = _mm512_setzero_ps();
        for (size_t j = 0; j < d; j++) {
            const float *col = fcols + tile_at(b, j, d);
            __m512 x0 = _mm512_loadu_ps(col), x1 = _mm512_loadu_ps(col + 16);
            for (size_t a = 0; a < count; a++) {
                __m512 qj = _mm512_set1_ps(qf[a][j]);
                __m512 u0 = _mm512_sub_ps(qj, x0), u1 = _mm512_sub_ps(qj, x1);
                s[a][0] = _mm512_fmadd_ps(u0, u0, s[a][0]);
                s[a][1] = _mm512_fmadd_ps(u1, u1, s[a][1]);
            }
        }
        for (size_t a = 0; a < count; a++)
            float_tile_done(s[a][0], s[a][1], b, self[a], stripe_rows, f[a], gmin[a]);
    }
}

__attribute__((target("avx512f,fma"))) static void
float_pass_all(const float *fcols, size_t n_pad, size_t d, const float *const *qf,
               const size_t *self, size_t stripe_rows, float *const *f, double *const *gmin,
               size_t n_groups)
{
    float_pass(fcols, n_pad, d, PASS_QUERIES, qf, self, stripe_rows, f, gmin, n_groups);
}

__attribute__((target("avx512f,fma"))) static void
float_pass_one(const float *fcols, size_t n_pad, size_t d, const float *qf, size_t self,
               size_t stripe_rows, float *f, double *gmin, size_t n_groups)
{
    float_pass(fcols, n_pad, d, 1, &qf, &self, stripe_rows, &f, &gmin, n_groups);
}

/* The rows whose f is at most t (never NaN), in index order, into rows;
 * returns how many. */
__attribute__((target("avx512f"))) static size_t compress_float_avx512(const float *f,
                                                                       size_t n_pad, float t,
                                                                       uint32_t *rows)
{
    size_t c = 0;
    const __m512 bound = _mm512_set1_ps(t);
    __m512i at = _mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);
    const __m512i sixteen = _mm512_set1_epi32(16);
    for (size_t r = 0; r < n_pad; r += 16) {
        __mmask16 keep = _mm512_cmp_ps_mask(_mm512_loadu_ps(f + r), bound, _CMP_LE_OQ);
        _mm512_storeu_si512(rows + c, _mm512_maskz_compress_epi32(keep, at));
        c += (size_t)__builtin_popcount(keep);
        at = _mm512_add_epi32(at, sixteen);
    }
    return c;
}

/* The least float at or above t >= 0 (+inf past FLT_MAX). */
static float float_at_least(double t)
{
    if (!(t <= FLT_MAX))
        return INFINITY;
    float f = (float)t;
    if ((double)f < t) { /* the next float up, from its bits: f >= 0 is finite */
        uint32_t bits;
        memcpy(&bits, &f, sizeof bits);
        bits++;
        memcpy(&f, &bits, sizeof f);
    }
    return f;
}

/* The exact (an_sq_dist) distances of the c candidate rows from q. */
static void exact_distances(const an_knn_index *ix, const double *q, const uint32_t *rows,
                            size_t c, double *cd2, size_t *cidx)
{
    size_t d = ix->d, p = 0;
    for (; p + 4 <= c; p += 4) {
        const double *x = ix->x;
        an_sq_dist4(q, x + rows[p] * d, x + rows[p + 1] * d, x + rows[p + 2] * d,
                    x + rows[p + 3] * d, d, cd2 + p);
        for (size_t t = 0; t < 4; t++)
            cidx[p + t] = rows[p + t];
    }
    for (; p < c; p++) {
        cd2[p] = an_sq_dist(q, ix->x + rows[p] * d, d);
        cidx[p] = rows[p];
    }
}
#endif

/* For each of the c candidates (in index order) the number before it in
 * (distance, index) order; those below k go straight to the answer. */
AN_VECTOR_CLONES static void rank_generic(const double *cd2, const size_t *cidx, size_t c,
                                          size_t k, double *dist, size_t *index)
{
    for (size_t a = 0; a < c; a++) {
        double x = cd2[a];
        size_t r = 0;
        for (size_t b = 0; b < c; b++)
            r += (cd2[b] < x) | ((cd2[b] == x) & (b < a));
        if (r < k) {
            dist[r] = sqrt(x);
            index[r] = cidx[a];
        }
    }
}

#ifdef AN_SMALL_HAVE_AVX512
/* The same, eight candidates at a time with their counts in the lanes;
 * cd2 holds NaN from c up to the next multiple of 8 (never counted, and
 * never written: a NaN lane's count is c or more, at least k). */
__attribute__((target("avx512f"))) static void rank_avx512(const double *cd2, const size_t *cidx,
                                                           size_t c, size_t k, double *dist,
                                                           size_t *index)
{
    const __m512i one = _mm512_set1_epi64(1), need = _mm512_set1_epi64((long long)k);
    const __m512i lanes = _mm512_set_epi64(7, 6, 5, 4, 3, 2, 1, 0);
    for (size_t a = 0; a < c; a += 8) {
        __m512d x = _mm512_loadu_pd(cd2 + a);
        __m512i r = _mm512_setzero_si512();
        size_t b = 0;
        for (; b < a; b++) { /* lower indices: before on equal distances too */
            __mmask8 m = _mm512_cmp_pd_mask(_mm512_set1_pd(cd2[b]), x, _CMP_LE_OQ);
            r = _mm512_mask_add_epi64(r, m, r, one);
        }
        for (; b < a + 8 && b < c; b++) { /* the block's own: lanes after b tie-break */
            __m512d y = _mm512_set1_pd(cd2[b]);
            __mmask8 after = _mm512_cmp_epi64_mask(lanes, _mm512_set1_epi64((long long)(b - a)),
                                                   _MM_CMPINT_NLE);
            __mmask8 m = _mm512_cmp_pd_mask(y, x, _CMP_LT_OQ) |
                         _mm512_mask_cmp_pd_mask(after, y, x, _CMP_EQ_OQ);
            r = _mm512_mask_add_epi64(r, m, r, one);
        }
        for (; b < c; b++) { /* higher indices: before only when nearer */
            __mmask8 m = _mm512_cmp_pd_mask(_mm512_set1_pd(cd2[b]), x, _CMP_LT_OQ);
            r = _mm512_mask_add_epi64(r, m, r, one);
        }
        __mmask8 in = (__mmask8)(c - a >= 8 ? 0xff : (1u << (c - a)) - 1);
        __mmask8 keep = _mm512_mask_cmp_epi64_mask(in, r, need, _MM_CMPINT_LT);
        _mm512_mask_i64scatter_pd(dist, keep, r, _mm512_sqrt_pd(x), 8);
        _mm512_mask_i64scatter_epi64(index, keep, r, _mm512_loadu_si512(cidx + a), 8);
    }
}
#endif

/* The k-th smallest of v[0..n) (n >= k >= 1, no NaN, n a multiple of
 * 8), by counting: the value with fewer than k below it and at least k
 * at or below it. Branch-free, where a selection mispredicts its way
 * through a few dozen values. */
static double kth_generic(const double *v, size_t n, size_t k)
{
    double t = INFINITY;
    for (size_t a = 0; a < n; a++) {
        size_t le = 0;
        for (size_t b = 0; b < n; b++)
            le += v[b] <= v[a];
        t = le >= k && v[a] < t ? v[a] : t;
    }
    return t;
}

#ifdef AN_SMALL_HAVE_AVX512
/* The same eight candidates at a time, their counts in the lanes. */
__attribute__((target("avx512f"))) static double kth_avx512(const double *v, size_t n, size_t k)
{
    __m512d t = _mm512_set1_pd(INFINITY);
    const __m512i one = _mm512_set1_epi64(1), need = _mm512_set1_epi64((long long)k);
    for (size_t a = 0; a < n; a += 8) {
        __m512d x = _mm512_loadu_pd(v + a);
        __m512i le = _mm512_setzero_si512();
        for (size_t b = 0; b < n; b++) {
            __mmask8 m = _mm512_cmp_pd_mask(_mm512_set1_pd(v[b]), x, _CMP_LE_OQ);
            le = _mm512_mask_add_epi64(le, m, le, one);
        }
        t = _mm512_mask_min_pd(t, _mm512_cmp_epi64_mask(le, need, _MM_CMPINT_NLT), t, x);
    }
    return _mm512_reduce_min_pd(t);
}
#endif

/* T: the k-th smallest distance from q to the `count` rows `near` (all
 * distinct), leaving out `self`; count is k + 1 (k when no row is left
 * out), so at least k remain. */
static double bound_from(const an_knn_index *ix, const double *q, const size_t *near,
                         size_t count, size_t self, size_t k)
{
    /* the k-th smallest of k values is the largest, of k + 1 the second largest */
    double first = -INFINITY, second = -INFINITY;
    size_t used = 0;
    for (size_t t = 0; t < count; t++) {
        if (near[t] == self)
            continue;
        double v = an_sq_dist(q, ix->x + near[t] * ix->d, ix->d);
        second = v > first ? first : v > second ? v : second;
        first = v > first ? v : first;
        used++;
    }
    return used > k ? second : first;
}

/* A query's work space, carved from one block of query_bytes(). */
typedef struct query_space {
    double *d2;   /* n_pad: every row's distance */
    double *gmin; /* n_groups: each group's least */
    double *cd2;  /* n_pad + 8: the candidates' distances (8 NaN past them) */
    size_t *cidx; /* n_pad + 8: their rows */
    an_nb *heap;  /* k: beyond RANK_LIMIT candidates */
    uint32_t *rows; /* n_pad + 16: the AVX-512 compression's row numbers */
} query_space;

/* The groups whose least distances bound T: about 1.5 k (32 at least),
 * in whole stripes of whole blocks. On breastw (k = 20) 64 groups cut
 * the candidates from 46 to 39 a query but cost more in the selection of
 * T than that saved. */
static void plan_groups(size_t n_pad, size_t k, size_t *stripe_rows, size_t *n_groups)
{
    size_t blocks = n_pad / BLOCK_ROWS, stripes = (3 * k / 2 + 31) / 32;
    stripes = stripes < blocks ? stripes : blocks;
    *stripe_rows = (blocks + stripes - 1) / stripes * BLOCK_ROWS;
    stripes = (n_pad + *stripe_rows - 1) / *stripe_rows;
    *n_groups = 32 * stripes;
}

static size_t query_bytes(size_t n_pad, size_t n_groups, size_t k)
{
    return (2 * n_pad + n_groups + 8) * sizeof(double) + (n_pad + 8) * sizeof(size_t) +
           k * sizeof(an_nb) + (n_pad + 16) * sizeof(uint32_t);
}

static query_space carve(void *block, size_t n_pad, size_t n_groups, size_t k)
{
    query_space w;
    w.d2 = block;
    w.gmin = w.d2 + n_pad;
    w.cd2 = w.gmin + n_groups;
    w.cidx = (size_t *)(void *)(w.cd2 + n_pad + 8);
    w.heap = (an_nb *)(void *)(w.cidx + n_pad + 8);
    w.rows = (uint32_t *)(void *)(w.heap + k);
    return w;
}

/* Pass one of one query: every row's distance into w.d2, each group's
 * least into w.gmin. */
static void distances_one(int kernel, const an_knn_index *ix, const double *q, size_t self,
                          size_t stripe_rows, size_t n_groups, query_space w)
{
#ifdef AN_SMALL_HAVE_AVX512
    if (kernel == AN_SMALL_AVX512) {
        distances_avx512(ix->cols, ix->n_pad, ix->d, q, self, stripe_rows, w.d2, w.gmin,
                         n_groups);
        return;
    }
#endif
    distances_generic(ix->cols, ix->n_pad, ix->d, q, self, stripe_rows, w.d2, w.gmin, n_groups);
}

/* The c candidates (cd2, cidx in index order: every row ordered before
 * one of the answer's among them) into the k nearest, in order. */
static void order_candidates(int kernel, query_space w, size_t c, size_t k, double *dist,
                             size_t *index)
{
    if (c <= RANK_LIMIT) {
        for (size_t p = 0; p < 8; p++)
            w.cd2[c + p] = NAN;
#ifdef AN_SMALL_HAVE_AVX512
        if (kernel == AN_SMALL_AVX512)
            rank_avx512(w.cd2, w.cidx, c, k, dist, index);
        else
#endif
            rank_generic(w.cd2, w.cidx, c, k, dist, index);
    } else {
        an_nb_heap h;
        an_nb_heap_init(&h, w.heap, k);
        for (size_t p = 0; p < c; p++)
            if (w.cd2[p] <= an_nb_heap_bound(&h))
                an_nb_heap_push(&h, w.cd2[p], w.cidx[p]);
        an_nb_heap_drain(&h, dist, index);
    }
}

/* The rest of query q (leaving out row `self`, SIZE_MAX for none) after
 * its pass one, into dist and index. `near` holds n_near distinct rows,
 * k + 1 with a row left out and k without, for T when there are fewer
 * groups than k. */
static void finish_query(int kernel, const an_knn_index *ix, const double *q, size_t self,
                         size_t k, size_t n_groups, const size_t *near, size_t n_near,
                         query_space w, double *dist, size_t *index)
{
    size_t n_pad = ix->n_pad, c;
    double t; /* k groups' least rows: k rows within their k-th */
#ifdef AN_SMALL_HAVE_AVX512
    if (kernel == AN_SMALL_AVX512 && n_groups >= k)
        t = kth_avx512(w.gmin, n_groups, k);
    else
#endif
        t = n_groups >= k ? kth_generic(w.gmin, n_groups, k)
                          : bound_from(ix, q, near, n_near, self, k);
#ifdef AN_SMALL_HAVE_AVX512
    if (kernel == AN_SMALL_AVX512)
        c = compress_avx512(w.d2, n_pad, t, w.rows, w.cd2, w.cidx);
    else
#endif
        c = compress_generic(w.d2, n_pad, t, w.cd2, w.cidx);
    order_candidates(kernel, w, c, k, dist, index);
}

#ifdef AN_SMALL_HAVE_AVX512
/* The rest of query q after its float pass (f in w.d2's bytes, the
 * groups' least in w.gmin, n_groups >= k), e its error bound. */
static void finish_filtered(const an_knn_index *ix, const double *q, size_t k, size_t n_groups,
                            double e, query_space w, double *dist, size_t *index)
{
    double tf = kth_avx512(w.gmin, n_groups, k);
    float t = float_at_least((tf + 2 * e) * (1 + 0x1p-40));
    size_t c = compress_float_avx512((const float *)(void *)w.d2, ix->n_pad, t, w.rows);
    exact_distances(ix, q, w.rows, c, w.cd2, w.cidx);
    order_candidates(AN_SMALL_AVX512, w, c, k, dist, index);
}
#endif

/* A worker's space: one query_space, the d2 and gmin of PASS_QUERIES - 1
 * more queries (a shared float pass), k + 1 rows `near`, and the
 * PASS_QUERIES queries' scaled values in single precision. */
static size_t worker_bytes_for(size_t n_pad, size_t n_groups, size_t k, size_t d)
{
    return query_bytes(n_pad, n_groups, k) +
           (PASS_QUERIES - 1) * (n_pad + n_groups) * sizeof(double) +
           (k + 1) * sizeof(size_t) + PASS_QUERIES * d * sizeof(float);
}

/* Query `slot` of the job: its row, and the row it leaves out. */
static const double *job_query(const small_job *job, size_t slot, size_t *self)
{
    *self = job->q ? SIZE_MAX : job->first + slot;
    return job->q ? job->q + slot * job->ix->d : job->ix->x + *self * job->ix->d;
}

#ifdef AN_SMALL_HAVE_AVX512
/* q centred and scaled into qf (single precision); returns the bound E
 * of its float distances' error, or -1 for a query too far out. */
static double scale_query(const an_knn_index *ix, const double *q, float *qf)
{
    size_t d = ix->d;
    double qn = 0;
    for (size_t j = 0; j < d; j++) {
        double t = (q[j] - ix->mean[j]) * ix->scale;
        qf[j] = (float)t;
        qn += t * t;
    }
    if (!(qn <= FAR_QUERY))
        return -1;
    return 8.0 * (double)(d + 8) * FLT_EPSILON * (qn + ix->max_norm) +
           (double)(d + 8) * 0x1p-120;
}

/* Queries [slot, end) of the job through the float filter, up to
 * PASS_QUERIES at a time; returns how many were answered (0 when the
 * first is too far out for it). */
static size_t filtered_queries(const small_job *job, size_t slot, size_t end, query_space *w,
                               float *qf)
{
    const an_knn_index *ix = job->ix;
    size_t d = ix->d, k = job->k, take = 0;
    const double *q[PASS_QUERIES];
    const float *qfs[PASS_QUERIES];
    size_t self[PASS_QUERIES];
    double e[PASS_QUERIES];
    while (take < PASS_QUERIES && slot + take < end) {
        q[take] = job_query(job, slot + take, &self[take]);
        qfs[take] = qf + take * d;
        e[take] = scale_query(ix, q[take], qf + take * d);
        if (e[take] < 0)
            break;
        take++;
    }
    float *f[PASS_QUERIES];
    double *gmin[PASS_QUERIES];
    for (size_t a = 0; a < take; a++) {
        f[a] = (float *)(void *)w[a].d2;
        gmin[a] = w[a].gmin;
    }
    if (take == PASS_QUERIES)
        float_pass_all(ix->fcols, ix->n_pad, d, qfs, self, job->stripe_rows, f, gmin,
                       job->n_groups);
    else
        for (size_t a = 0; a < take; a++)
            float_pass_one(ix->fcols, ix->n_pad, d, qfs[a], self[a], job->stripe_rows, f[a],
                           gmin[a], job->n_groups);
    for (size_t a = 0; a < take; a++)
        finish_filtered(ix, q[a], k, job->n_groups, e[a], w[a], job->dist + (slot + a) * k,
                        job->index + (slot + a) * k);
    return take;
}
#endif

static void small_range(void *ctx, size_t begin, size_t end, size_t worker)
{
    const small_job *job = ctx;
    const an_knn_index *ix = job->ix;
    size_t n = ix->n, n_pad = ix->n_pad, n_groups = job->n_groups, k = job->k;
    unsigned char *block = job->work + worker * job->worker_bytes;
    query_space w[PASS_QUERIES];
    w[0] = carve(block, n_pad, n_groups, k);
    double *more = (double *)(void *)(block + query_bytes(n_pad, n_groups, k));
    for (size_t a = 1; a < PASS_QUERIES; a++) { /* the rest shared: used one query at a time */
        w[a] = w[0];
        w[a].d2 = more + (a - 1) * (n_pad + n_groups);
        w[a].gmin = w[a].d2 + n_pad;
    }
    size_t *near = (size_t *)(void *)(more + (PASS_QUERIES - 1) * (n_pad + n_groups)); /* k + 1 */
    float *qf = (float *)(void *)(near + k + 1);
    int have_near = 0;
    /* new rows leave out no row, so k rows bound T where a self-query needs k + 1 */
    size_t n_near = job->q ? k : k + 1;
    for (size_t slot = begin; slot < end;) {
#ifdef AN_SMALL_HAVE_AVX512
        if (job->kernel == AN_SMALL_AVX512 && ix->fcols && n_groups >= k) {
            size_t done = filtered_queries(job, slot, end, w, qf);
            slot += done;
            if (done)
                continue;
        }
#endif
        /* the double pass: the generic kernel, fewer groups than k, a far query */
        size_t i;
        const double *q = job_query(job, slot, &i);
        if (!have_near && job->q) { /* any k rows */
            for (size_t t = 0; t < k; t++)
                near[t] = t;
        } else if (!have_near) { /* the k + 1 rows next to it in index order */
            size_t s0 = i < n - (k + 1) ? i : n - (k + 1);
            for (size_t t = 0; t <= k; t++)
                near[t] = s0 + t;
        }
        double *dist = job->dist + slot * k;
        size_t *index = job->index + slot * k;
        distances_one(job->kernel, ix, q, i, job->stripe_rows, n_groups, w[0]);
        finish_query(job->kernel, ix, q, i, k, n_groups, near, n_near, w[0], dist, index);
        memcpy(near, index, k * sizeof *near);
        near[k] = i;
        have_near = 1;
        slot++;
    }
}

int an_small_kernel_best(void)
{
#ifdef AN_SMALL_HAVE_AVX512
    if (__builtin_cpu_supports("avx512f"))
        return AN_SMALL_AVX512;
#endif
    return AN_SMALL_GENERIC;
}

/* The self-query (q NULL) of rows [first, first + m) in index order, or
 * the query of m new rows q in their own order. */
static anoma_status scan(int kernel, const an_knn_index *ix, const double *q, size_t first,
                         size_t m, size_t k, size_t n_threads, double *dist, size_t *index)
{
    if (!m)
        return ANOMA_OK;
    if (!k) /* nothing to write; the bound needs k + 1 <= n rows (k for new rows) */
        return ANOMA_OK;
    size_t workers = an_parallel_workers(m, n_threads, MIN_SMALL_QUERIES);
    size_t stripe_rows, n_groups;
    plan_groups(ix->n_pad, k, &stripe_rows, &n_groups);
    size_t worker_bytes = worker_bytes_for(ix->n_pad, n_groups, k, ix->d);
    unsigned char *work = an_malloc_array(workers, worker_bytes);
    if (!work)
        return an_no_memory();
    small_job job = {ix,     q,    first,        m,    k,    stripe_rows, n_groups,
                     kernel, work, worker_bytes, dist, index};
    an_parallel_for(m, workers, MIN_SMALL_QUERIES, small_range, &job);
    an_free(work);
    return ANOMA_OK;
}

anoma_status an_small_build(an_knn_index *ix)
{
    size_t n = ix->n, d = ix->d, n_pad = (n + BLOCK_ROWS - 1) / BLOCK_ROWS * BLOCK_ROWS;
    if (n_pad > UINT32_MAX) /* the compression numbers rows in 32 bits */
        return an_error(ANOMA_ERR_INVALID_ARGUMENT,
                        "neighbour search: %zu rows is beyond the small-set scan; take "
                        "algorithm=kd_tree or brute", n);
    ix->cols = an_malloc_array(n_pad, d * sizeof(double));
    if (!ix->cols)
        return an_no_memory();
    ix->n_pad = n_pad;
    /* row by row: the reads in order, d write streams (column by column
     * read every row's line d times over: ionosphere's 351 x 32 took 16 us) */
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < d; j++)
            ix->cols[tile_at(i, j, d)] = ix->x[i * d + j];
    for (size_t i = n; i < n_pad; i++)
        for (size_t j = 0; j < d; j++)
            ix->cols[tile_at(i, j, d)] = NAN;
    if (an_small_kernel_best() != AN_SMALL_AVX512)
        return ANOMA_OK;
    /* the float filter's copy: centred, scaled, single precision */
    AN_TRY(an_knn_centre(ix));
    ix->fcols = an_malloc_array(n_pad, d * sizeof(float));
    if (!ix->fcols)
        return an_no_memory();
    for (size_t i = 0; i < n_pad; i++)
        for (size_t j = 0; j < d; j++)
            ix->fcols[tile_at(i, j, d)] =
                i < n ? (float)((ix->x[i * d + j] - ix->mean[j]) * ix->scale) : NAN;
    return ANOMA_OK;
}

size_t an_small_row_scratch_bytes(const an_knn_index *ix, size_t k)
{
    size_t stripe_rows, n_groups;
    plan_groups(ix->n_pad, k, &stripe_rows, &n_groups);
    return query_bytes(ix->n_pad, n_groups, k) + k * sizeof(size_t);
}

void an_small_query_row(const an_knn_index *ix, const double *row, size_t k, void *scratch,
                        double *dist, size_t *index)
{
    if (!k)
        return;
    size_t stripe_rows, n_groups;
    plan_groups(ix->n_pad, k, &stripe_rows, &n_groups);
    query_space w = carve(scratch, ix->n_pad, n_groups, k);
    /* any k rows bound T where there are fewer groups than k */
    size_t *near = (size_t *)(void *)((unsigned char *)scratch +
                                      query_bytes(ix->n_pad, n_groups, k));
    if (n_groups < k)
        for (size_t t = 0; t < k; t++)
            near[t] = t;
    int kernel = an_small_kernel_best();
    distances_one(kernel, ix, row, SIZE_MAX, stripe_rows, n_groups, w);
    finish_query(kernel, ix, row, SIZE_MAX, k, n_groups, near, k, w, dist, index);
}

anoma_status an_small_self_query_with(int kernel, const an_knn_index *ix, size_t first, size_t m,
                                      size_t k, size_t n_threads, double *dist, size_t *index)
{
    return scan(kernel, ix, NULL, first, m, k, n_threads, dist, index);
}

anoma_status an_small_self_query(const an_knn_index *ix, size_t first, size_t m, size_t k,
                                 size_t n_threads, double *dist, size_t *index)
{
    return scan(an_small_kernel_best(), ix, NULL, first, m, k, n_threads, dist, index);
}

anoma_status an_small_query_with(int kernel, const an_knn_index *ix, const double *q, size_t m,
                                 size_t k, size_t n_threads, double *dist, size_t *index)
{
    return scan(kernel, ix, q, 0, m, k, n_threads, dist, index);
}

anoma_status an_small_query(const an_knn_index *ix, const double *q, size_t m, size_t k,
                            size_t n_threads, double *dist, size_t *index)
{
    return scan(an_small_kernel_best(), ix, q, 0, m, k, n_threads, dist, index);
}
