/* The k-NN engine against a plain reference (testing.h,
 * test_knn_reference): every distance computed, then a full insertion sort
 * by (distance, index). Data with
 * small integer coordinates make exact ties everywhere, and duplicated
 * rows; every algorithm (brute, kd_tree, sorted), batch and self-queries,
 * the row query, several
 * thread counts, data far from the origin (where the GEMM formula cancels)
 * and allocation failures. */
#include "testing.h"

#include "core/alloc.h"
#include "neighbors/knn.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static int same_answer(const double *da, const size_t *ia, const double *db, const size_t *ib,
                       size_t count)
{
    for (size_t t = 0; t < count; t++)
        if (ia[t] != ib[t] || da[t] != db[t])
            return 0;
    return 1;
}

/* The KD-tree's group search with a chosen kernel, every kernel the
 * processor can run (an_knn_self_query and an_knn_query take the best):
 * the self-query in groups along the tree's order, as the batch search
 * forms them, and the queries in groups of any rows, of 1 to AN_KD_GROUP
 * queries (exact whatever the group's box). */
static void check_group_kernels(const an_knn_index *ix, const double *q, size_t m, size_t k,
                                const double *rd, const size_t *ri, const double *qrd,
                                const size_t *qri)
{
    size_t n = ix->n, d = ix->d;
    double *dist = malloc(n * k * sizeof *dist), *qdist = malloc(m * k * sizeof *qdist);
    size_t *index = malloc(n * k * sizeof *index), *qindex = malloc(m * k * sizeof *qindex);
    an_nb *heaps = malloc(AN_KD_GROUP * k * sizeof *heaps);
    double *work = malloc(AN_KD_GROUP_WORK(d) * sizeof *work);
    an_kd_group g;
    g.lo = work;
    g.hi = g.lo + d;
    g.centre = g.hi + d;
    g.columns = g.centre + d;
    for (int kernel = AN_KD_GENERIC; kernel <= an_kd_kernel_best(); kernel++) {
        for (size_t pos = 0; pos < n;) { /* self-query, the tree's groups */
            size_t stop = an_kd_group_end(ix, pos);
            stop = stop - pos > AN_KD_GROUP ? pos + AN_KD_GROUP : stop;
            g.count = stop - pos;
            for (size_t t = 0; t < g.count; t++) {
                size_t i = ix->perm[pos + t];
                g.rows[t] = ix->x + i * d;
                g.exclude[t] = i;
                an_nb_heap_init(&g.heaps[t], heaps + t * k, k);
            }
            an_kd_search_group_with(kernel, ix, &g);
            for (size_t t = 0; t < g.count; t++) {
                size_t i = ix->perm[pos + t];
                an_nb_heap_drain(&g.heaps[t], dist + i * k, index + i * k);
            }
            pos = stop;
        }
        if (!same_answer(dist, index, rd, ri, n * k))
            test_fail(__FILE__, __LINE__, "group self-query kernel=%d n=%zu d=%zu k=%zu", kernel,
                      n, d, k);
        size_t sizes[] = {1, AN_KD_GROUP, 7, 13, AN_KD_GROUP - 1, 2};
        for (size_t pos = 0, s = 0; pos < m; s++) { /* queries, groups of any rows */
            size_t size = sizes[s % (sizeof sizes / sizeof sizes[0])];
            g.count = m - pos < size ? m - pos : size;
            for (size_t t = 0; t < g.count; t++) {
                g.rows[t] = q + (pos + t) * d;
                g.exclude[t] = SIZE_MAX;
                an_nb_heap_init(&g.heaps[t], heaps + t * k, k);
            }
            an_kd_search_group_with(kernel, ix, &g);
            for (size_t t = 0; t < g.count; t++)
                an_nb_heap_drain(&g.heaps[t], qdist + (pos + t) * k, qindex + (pos + t) * k);
            pos += g.count;
        }
        if (!same_answer(qdist, qindex, qrd, qri, m * k))
            test_fail(__FILE__, __LINE__, "group query kernel=%d n=%zu d=%zu k=%zu", kernel, n, d,
                      k);
    }
    free(dist);
    free(qdist);
    free(index);
    free(qindex);
    free(heaps);
    free(work);
}

/* Every algorithm against the reference on n x d rows x and m queries q
 * (the first of them equal to row 5). */
static void check_data(const double *x, size_t n, size_t d, const double *q, size_t m, size_t k)
{
    double *rd = malloc(n * k * sizeof *rd), *ed = malloc(n * k * sizeof *ed);
    size_t *ri = malloc(n * k * sizeof *ri), *ei = malloc(n * k * sizeof *ei);
    for (size_t i = 0; i < n; i++)
        test_knn_reference(x, n, d, x + i * d, i, k, rd + i * k, ri + i * k);
    for (int alg = AN_KNN_BRUTE; alg <= AN_KNN_SMALL_WIDE; alg++) {
        if (alg == AN_KNN_SORTED && d != 1)
            continue;
        an_knn_index ix;
        CHECK_OK(an_knn_build(&ix, x, n, d, (an_knn_algorithm)alg));
        for (size_t threads = 1; threads <= 3; threads++) {
            CHECK_OK(an_knn_self_query(&ix, 0, n, k, threads, ed, ei));
            if (!same_answer(ed, ei, rd, ri, n * k))
                test_fail(__FILE__, __LINE__, "self-query n=%zu d=%zu k=%zu alg=%d threads=%zu",
                          n, d, k, alg, threads);
            /* in two parts: rows [0, 70) then the rest (over a cleared answer) */
            size_t part = n < 70 ? n : 70;
            memset(ed, 0xff, n * k * sizeof *ed);
            memset(ei, 0xff, n * k * sizeof *ei);
            CHECK_OK(an_knn_self_query(&ix, 0, part, k, threads, ed, ei));
            CHECK_OK(an_knn_self_query(&ix, part, n - part, k, threads, ed + part * k,
                                       ei + part * k));
            if (!same_answer(ed, ei, rd, ri, n * k))
                test_fail(__FILE__, __LINE__, "self-query n=%zu d=%zu k=%zu alg=%d threads=%zu",
                          n, d, k, alg, threads);
        }
        /* the brute filter's generic scan too, where the processor has a faster one */
        if (alg == AN_KNN_BRUTE && an_brute_filter_best() != AN_BRUTE_FILTER_GENERIC) {
            CHECK_OK(an_knn_brute_query_with(AN_BRUTE_FILTER_GENERIC, &ix, NULL, 0, n, k, 2, ed,
                                             ei));
            if (!same_answer(ed, ei, rd, ri, n * k))
                test_fail(__FILE__, __LINE__, "generic filter n=%zu d=%zu k=%zu", n, d, k);
        }
        /* the small-set scan's generic kernels too, where it has faster ones */
        if ((alg == AN_KNN_SMALL || alg == AN_KNN_SMALL_WIDE) &&
            an_small_kernel_best() != AN_SMALL_GENERIC) {
            CHECK_OK(an_small_self_query_with(AN_SMALL_GENERIC, &ix, 0, n, k, 2, ed, ei));
            if (!same_answer(ed, ei, rd, ri, n * k))
                test_fail(__FILE__, __LINE__, "generic small scan n=%zu d=%zu k=%zu", n, d, k);
        }
        double *qd = malloc(m * k * sizeof *qd), *qrd = malloc(m * k * sizeof *qrd);
        size_t *qi = malloc(m * k * sizeof *qi), *qri = malloc(m * k * sizeof *qri);
        void *scratch = malloc(an_knn_row_scratch_bytes(&ix, k));
        for (size_t i = 0; i < m; i++)
            test_knn_reference(x, n, d, q + i * d, SIZE_MAX, k, qrd + i * k, qri + i * k);
        CHECK_OK(an_knn_query(&ix, q, m, k, 2, qd, qi));
        if (!same_answer(qd, qi, qrd, qri, m * k))
            test_fail(__FILE__, __LINE__, "query n=%zu d=%zu k=%zu alg=%d", n, d, k, alg);
        if (alg == AN_KNN_KD_TREE)
            check_group_kernels(&ix, q, m, k, rd, ri, qrd, qri);
        for (size_t i = 0; i < m; i++) {
            an_knn_query_row(&ix, q + i * d, k, scratch, qd, qi);
            if (!same_answer(qd, qi, qrd + i * k, qri + i * k, k))
                test_fail(__FILE__, __LINE__, "row query %zu n=%zu d=%zu alg=%d", i, n, d, alg);
        }
        CHECK(qrd[0] == 0); /* the query equal to row 5 finds it (or an earlier copy) at 0 */
        free(scratch);
        free(qd);
        free(qrd);
        free(qi);
        free(qri);
        an_knn_free(&ix);
    }
    free(rd);
    free(ed);
    free(ri);
    free(ei);
}

static void check_queries(size_t n, size_t d, int levels, double offset, size_t k, size_t m,
                          uint64_t seed)
{
    double *x = test_tied_rows(n, d, levels, offset, seed);
    double *q = test_tied_rows(m, d, levels, offset, seed + 1);
    memcpy(q, x + 5 * d, d * sizeof *q); /* a query equal to an indexed row */
    check_data(x, n, d, q, m, k);
    free(x);
    free(q);
}

static void check_case(size_t n, size_t d, int levels, double offset, size_t k, uint64_t seed)
{
    check_queries(n, d, levels, offset, k, 37, seed);
}

/* Many more queries than a leaf holds: a KD-tree searches the queries
 * that fall in one part of the tree as a group, so several groups per
 * leaf, groups cut by the threads' chunks, and queries on a grid coarse
 * enough that whole groups are duplicates. */
static void test_many_queries(void)
{
    check_queries(2500, 5, 5, 0, 10, 900, 21);
    check_queries(600, 3, 3, 0, 30, 1000, 22);
    check_queries(800, 9, 2, 0, 4, 500, 23);
}

static void test_ties_and_duplicates(void)
{
    /* coarse grid: ties everywhere, within the KD-tree's first leaf too
     * (its rows ranked by counting: the tie goes by index, not place) */
    check_case(300, 3, 4, 0, 5, 1);
    check_case(500, 2, 3, 0, 20, 2);    /* more duplicates of a point than k */
    check_case(2500, 5, 5, 0, 10, 3);   /* several index blocks */
    check_case(400, 20, 3, 0, 7, 4);    /* wide data */
    check_case(200, 4, 4, 0, 199, 5);   /* k = n - 1: a first leaf of fewer than k rows */
    check_case(150, 1, 6, 0, 1, 6);     /* one column, k = 1 */
    check_case(700, 1, 9, 0, 25, 10);   /* one column, runs of equal values longer than k */
    check_case(300, 1, 40, 0, 299, 11); /* one column, k = n - 1 */
}

/* One point repeated over many leaves, mixed leaves and leaves of
 * copies alone (as mammography's 3329 copies): a query at it fills its
 * heap with copies at distance 0, and every node holding a copy is at
 * distance 0 too; only the copies of lower index than the worst kept may
 * still enter, and the search skips nodes by their lowest index. */
static void test_many_copies(void)
{
    size_t n = 2000, d = 4;
    double *x = test_tied_rows(n, d, 6, 0, 15), *q = test_tied_rows(40, d, 6, 0, 16);
    for (size_t i = 7; i < n; i += 3)
        memcpy(x + i * d, x + 5 * d, d * sizeof *x);
    memcpy(q, x + 5 * d, d * sizeof *q);
    check_data(x, n, d, q, 40, 20);
    check_data(x, n, d, q, 40, 3);
    free(x);
    free(q);
}

/* Cases for the small-set scan's bound and ranking (every case above
 * runs it too): n = k + 1, k = n - 1 on more rows than its counting
 * ranks (a heap then), breastw's shape (683 x 9, values 1..10), one
 * column, and every row the same point (all candidates tied at 0). */
static void test_small_scan_edges(void)
{
    check_case(21, 3, 3, 0, 20, 41);   /* n = k + 1 */
    check_case(300, 3, 3, 0, 299, 42); /* k = n - 1, more candidates than ranked */
    check_case(683, 9, 10, 0, 20, 43); /* breastw's shape */
    check_case(120, 1, 5, 0, 7, 44);   /* one column */
    /* small_wide (no tree: index order): ionosphere's shape, fewer groups
     * than k (T from the previous query's neighbours), k = n - 1 */
    check_case(351, 32, 4, 0, 20, 47);
    check_case(100, 12, 3, 0, 60, 48);
    check_case(200, 12, 3, 0, 199, 49);
    for (size_t n = 40; n <= 400; n += 360) {
        size_t d = 2;
        double *x = test_tied_rows(n, d, 3, 0, 45), *q = test_tied_rows(37, d, 3, 0, 46);
        for (size_t i = 1; i < n; i++) /* one row repeated */
            memcpy(x + i * d, x, d * sizeof *x);
        memcpy(q, x + 5 * d, d * sizeof *q);
        check_data(x, n, d, q, 37, 9);
        check_data(x, n, d, q, 37, n - 1);
        free(x);
        free(q);
    }
}

/* The small scan's single-precision filter (small.c) where single
 * precision cannot tell rows apart, every algorithm against the
 * reference: columns sixteen orders of magnitude apart with steps of
 * 1e-9 in the small one, values near the bottom of double's range (a
 * scale of 2^-e would be infinite: the filters' values underflow), queries far out (|q'|^2 past
 * 2^100: the double pass) and out but within the filter (its error bound
 * wider than the rows' spacing: every row a candidate). */
static void test_small_float_filter(void)
{
    size_t n = 600, d = 3, m = 12;
    double *x = test_tied_rows(n, d, 4, 0, 90), *q = test_tied_rows(m, d, 4, 0, 91);
    for (size_t i = 0; i < n + m; i++) {
        double *r = i < n ? x + i * d : q + (i - n) * d;
        r[0] *= 1e8;
        r[1] += (double)(i % 7) * 1e-9;
    }
    memcpy(q, x + 5 * d, d * sizeof *q);
    q[1 * d] = 1e150; /* far out: the double pass */
    q[2 * d + 1] = -3e149;
    q[3 * d] = 1e12; /* out, within the filter */
    q[4 * d + 2] = -5e11;
    check_data(x, n, d, q, m, 20);
    check_data(x, n, d, q, m, 1);
    for (size_t i = 0; i < n * d; i++) /* the bottom of double's range */
        x[i] *= 1e-316;
    for (size_t i = 0; i < m * d; i++)
        q[i] *= 1e-316;
    memcpy(q, x + 5 * d, d * sizeof *q);
    check_data(x, n, d, q, m, 20);
    free(x);
    free(q);
}

/* m new rows q through a small or small_wide index, every thread count
 * and kernel, against the reference answer rd, ri (ed, ei: work). */
static void check_small_index(const an_knn_index *ix, const double *q, size_t m, size_t k,
                              const double *rd, const size_t *ri, double *ed, size_t *ei)
{
    for (size_t threads = 1; threads <= 3; threads++) {
        memset(ei, 0xff, m * k * sizeof *ei);
        CHECK_OK(an_knn_query(ix, q, m, k, threads, ed, ei));
        if (!same_answer(ed, ei, rd, ri, m * k))
            test_fail(__FILE__, __LINE__, "small new rows n=%zu d=%zu k=%zu alg=%d threads=%zu",
                      ix->n, ix->d, k, (int)ix->algorithm, threads);
    }
    for (int kernel = AN_SMALL_GENERIC; kernel <= an_small_kernel_best(); kernel++) {
        memset(ei, 0xff, m * k * sizeof *ei);
        CHECK_OK(an_small_query_with(kernel, ix, q, m, k, 2, ed, ei));
        if (!same_answer(ed, ei, rd, ri, m * k))
            test_fail(__FILE__, __LINE__, "small new rows n=%zu d=%zu k=%zu alg=%d kernel=%d",
                      ix->n, ix->d, k, (int)ix->algorithm, kernel);
    }
}

/* New rows through the small-set scan (an_knn_query on a small index,
 * each kernel) against the reference: k up to n itself (no row left out,
 * so k = n is allowed where a self-query stops at n - 1), k near n (more
 * candidates than the counting ranks), tied and duplicated rows, queries
 * equal to indexed rows and queries beyond the data, more queries than
 * a thread's chunk, one to three threads. */
static void check_small_new_rows(const double *x, size_t n, size_t d, const double *q, size_t m,
                                 size_t k)
{
    double *rd = malloc(m * k * sizeof *rd), *ed = malloc(m * k * sizeof *ed);
    size_t *ri = malloc(m * k * sizeof *ri), *ei = malloc(m * k * sizeof *ei);
    for (size_t i = 0; i < m; i++)
        test_knn_reference(x, n, d, q + i * d, SIZE_MAX, k, rd + i * k, ri + i * k);
    for (int alg = AN_KNN_SMALL; alg <= AN_KNN_SMALL_WIDE; alg++) {
        an_knn_index ix;
        CHECK_OK(an_knn_build(&ix, x, n, d, (an_knn_algorithm)alg));
        check_small_index(&ix, q, m, k, rd, ri, ed, ei);
        /* the row query: the same scan for one row in the caller's scratch */
        void *scratch = malloc(an_knn_row_scratch_bytes(&ix, k));
        for (size_t i = 0; i < m; i++) {
            an_knn_query_row(&ix, q + i * d, k, scratch, ed, ei);
            if (!same_answer(ed, ei, rd + i * k, ri + i * k, k))
                test_fail(__FILE__, __LINE__, "small row query %zu n=%zu d=%zu k=%zu alg=%d", i,
                          n, d, k, alg);
        }
        free(scratch);
        an_knn_free(&ix);
    }
    free(rd);
    free(ed);
    free(ri);
    free(ei);
}

static void test_small_new_rows(void)
{
    size_t sizes[][2] = {{21, 3}, {200, 4}, {683, 9}, {1000, 2}, {351, 32}};
    for (size_t c = 0; c < sizeof sizes / sizeof sizes[0]; c++) {
        size_t n = sizes[c][0], d = sizes[c][1], m = 150;
        double *x = test_tied_rows(n, d, 4, 0, 60 + c);
        double *q = test_tied_rows(m, d, 5, -0.5, 70 + c); /* some beyond the data */
        for (size_t i = 0; i < 20; i++) /* queries equal to indexed rows */
            memcpy(q + i * d, x + (i * 7 % n) * d, d * sizeof *q);
        size_t ks[] = {1, 5, 20, n - 2, n - 1, n};
        for (size_t t = 0; t < sizeof ks / sizeof ks[0]; t++)
            if (ks[t] >= 1 && ks[t] <= n)
                check_small_new_rows(x, n, d, q, m, ks[t]);
        free(x);
        free(q);
    }
    /* every indexed row the same point: every distance tied */
    size_t n = 300, d = 2;
    double *x = test_tied_rows(n, d, 3, 0, 80), *q = test_tied_rows(40, d, 3, 0, 81);
    for (size_t i = 1; i < n; i++)
        memcpy(x + i * d, x, d * sizeof *x);
    memcpy(q, x, d * sizeof *q);
    check_small_new_rows(x, n, d, q, 40, 9);
    check_small_new_rows(x, n, d, q, 40, n);
    free(x);
    free(q);
}

/* Brute self-queries of row ranges that start inside later index blocks
 * (each group of queries visits its own block first, then wraps round to
 * block 0): ranges cut at odd rows, the last index block a partial one,
 * tied and duplicated rows, one and two threads. */
static void test_self_query_ranges(void)
{
    size_t n = 2300, d = 4, k = 12;
    size_t cuts[] = {0, 1, 1030, 2057, 2299, 2300};
    double *x = test_tied_rows(n, d, 3, 0, 31);
    double *rd = malloc(n * k * sizeof *rd), *ed = malloc(n * k * sizeof *ed);
    size_t *ri = malloc(n * k * sizeof *ri), *ei = malloc(n * k * sizeof *ei);
    for (size_t i = 0; i < n; i++)
        test_knn_reference(x, n, d, x + i * d, i, k, rd + i * k, ri + i * k);
    an_knn_index ix;
    CHECK_OK(an_knn_build(&ix, x, n, d, AN_KNN_BRUTE));
    for (size_t threads = 1; threads <= 2; threads++) {
        memset(ei, 0xff, n * k * sizeof *ei);
        for (size_t c = 0; c + 1 < sizeof cuts / sizeof cuts[0]; c++)
            CHECK_OK(an_knn_self_query(&ix, cuts[c], cuts[c + 1] - cuts[c], k, threads,
                                       ed + cuts[c] * k, ei + cuts[c] * k));
        if (!same_answer(ed, ei, rd, ri, n * k))
            test_fail(__FILE__, __LINE__, "self-query in ranges, threads=%zu", threads);
    }
    an_knn_free(&ix);
    free(x);
    free(rd);
    free(ed);
    free(ri);
    free(ei);
}

/* One column of distinct values: the sorted search then answers most
 * queries by its direct merge, and falls back on the heap only where a
 * row left out ties the k-th distance (a query halfway between two
 * values; values on a grid, so such ties are exact). */
static void test_distinct_column(void)
{
    size_t n = 1009, m = 60;
    double *x = malloc(n * sizeof *x), *q = malloc(m * sizeof *q);
    for (size_t i = 0; i < n; i++)
        x[i] = 0.25 * (double)((i * 7919) % n); /* a permutation of the grid */
    for (size_t i = 0; i < m; i++)
        q[i] = i % 2 ? 0.125 + 0.25 * (double)((i * 31) % n) : 0.25 * (double)(i * 17) + 0.01;
    q[0] = x[5];
    check_data(x, n, 1, q, m, 1);
    check_data(x, n, 1, q, m, 8);
    check_data(x, n, 1, q, m, 30);
    free(x);
    free(q);
}

/* Far from the origin the GEMM formula would cancel without centring and
 * the guard: ties must still come out exactly. */
static void test_far_from_origin(void)
{
    check_case(600, 3, 5, 1.5e9, 8, 7);
    check_case(300, 18, 4, -3e7, 6, 8);
    check_case(400, 1, 7, 1.5e9, 6, 12); /* one column */
}

/* The brute filter bounds each row's error by that row's own norm: rows
 * near the centre beside a few rows a million times farther out (whose
 * norms once set every query's bound) must still give the exact answer,
 * ties included. */
static void test_far_outliers(void)
{
    size_t n = 900, d = 4, m = 37;
    double *x = test_tied_rows(n, d, 4, 0, 13), *q = test_tied_rows(m, d, 4, 0, 14);
    for (size_t i = 0; i < n; i += 97)
        for (size_t j = 0; j < d; j++)
            x[i * d + j] *= 1e6;
    memcpy(q, x + 5 * d, d * sizeof *q);
    check_data(x, n, d, q, m, 9);
    free(x);
    free(q);
}

/* The KD-tree splits a node on its most varying column: a column whose
 * range one far row sets but whose values barely vary must not fool it,
 * and columns whose variance overflows (values near 1e200) must still
 * give a tree that answers exactly. */
static void test_split_columns(void)
{
    size_t n = 1200, d = 3, m = 37;
    double *x = test_tied_rows(n, d, 5, 0, 17), *q = test_tied_rows(m, d, 5, 0, 18);
    for (size_t i = 0; i < n; i++)
        x[i * d] = (double)(i % 2);
    x[600 * d] = 1e6; /* the widest range, almost no variance */
    memcpy(q, x + 5 * d, d * sizeof *q);
    check_data(x, n, d, q, m, 12);
    for (size_t i = 0; i < n; i += 3)
        x[i * d + 1] = i % 2 ? 1e200 : -1e200; /* (x - lo)^2 overflows */
    memcpy(q, x + 5 * d, d * sizeof *q);
    check_data(x, n, d, q, m, 12);
    free(x);
    free(q);
}

/* The brute filter works in single precision on rows scaled into [-1, 1]:
 * columns twelve orders of magnitude apart (the small one vanishes in
 * float, leaving ties the exact recomputation must break), values that
 * underflow float, and queries too far out for float (answered by the
 * exact scan) must still give the exact answer. */
static void test_wide_ranges(void)
{
    size_t n = 700, d = 3, m = 37;
    double *x = test_tied_rows(n, d, 4, 0, 11), *q = test_tied_rows(m, d, 4, 0, 12);
    for (size_t i = 0; i < n; i++) {
        x[i * d] *= 1e12;
        x[i * d + 2] *= 1e-300;
    }
    for (size_t i = 0; i < m; i++) {
        q[i * d] *= 1e12;
        q[i * d + 2] *= 1e-300;
    }
    memcpy(q, x + 5 * d, d * sizeof *q);
    q[1 * d] = 1e200;  /* far beyond float once scaled */
    q[2 * d + 1] = -3e40;
    check_data(x, n, d, q, m, 6);
    free(x);
    free(q);
}

static void test_auto_rule(void)
{
    CHECK(an_knn_resolve(AN_KNN_AUTO, 1000, AN_KNN_KD_MAX_FEATURES) == AN_KNN_SMALL);
    CHECK(an_knn_resolve(AN_KNN_AUTO, AN_KNN_SMALL_MAX_ROWS, 3) == AN_KNN_SMALL);
    CHECK(an_knn_resolve(AN_KNN_AUTO, AN_KNN_SMALL_MAX_ROWS_2D, 2) == AN_KNN_SMALL);
    CHECK(an_knn_resolve(AN_KNN_AUTO, AN_KNN_SMALL_MAX_ROWS_2D + 1, 2) == AN_KNN_KD_TREE);
    CHECK(an_knn_resolve(AN_KNN_AUTO, 3772, 6) == AN_KNN_SMALL);   /* thyroid */
    CHECK(an_knn_resolve(AN_KNN_AUTO, 7200, 6) == AN_KNN_KD_TREE); /* annthyroid */
    CHECK(an_knn_resolve(AN_KNN_AUTO, AN_KNN_SMALL_MAX_ROWS + 1, AN_KNN_KD_MAX_FEATURES) ==
          AN_KNN_KD_TREE);
    CHECK(an_knn_resolve(AN_KNN_AUTO, 500, AN_KNN_KD_MAX_FEATURES + 1) == AN_KNN_SMALL_WIDE);
    CHECK(an_knn_resolve(AN_KNN_AUTO, 351, 32) == AN_KNN_SMALL_WIDE);  /* ionosphere */
    CHECK(an_knn_resolve(AN_KNN_AUTO, 1831, 21) == AN_KNN_SMALL_WIDE); /* cardio */
    CHECK(an_knn_resolve(AN_KNN_AUTO, 6435, 36) == AN_KNN_BRUTE);      /* satellite */
    CHECK(an_knn_resolve(AN_KNN_AUTO, 500, 40) == AN_KNN_SMALL_WIDE);
    CHECK(an_knn_resolve(AN_KNN_AUTO, 1000, 20) == AN_KNN_SMALL_WIDE);
    CHECK(an_knn_resolve(AN_KNN_AUTO, 1000, 101) == AN_KNN_BRUTE); /* past the values */
    CHECK(an_knn_resolve(AN_KNN_AUTO, AN_KNN_SMALL_MAX_ROWS + 1, 10) == AN_KNN_BRUTE);
    CHECK(an_knn_resolve(AN_KNN_AUTO, AN_KNN_SMALL_MAX_ROWS, 20) == AN_KNN_SMALL_WIDE);
    CHECK(an_knn_resolve(AN_KNN_AUTO, 600, 200) == AN_KNN_BRUTE);
    CHECK(an_knn_resolve(AN_KNN_SMALL_WIDE, 100000, 2) == AN_KNN_SMALL_WIDE);
    CHECK(an_knn_resolve(AN_KNN_AUTO, 500, 1) == AN_KNN_SORTED);
    CHECK(an_knn_resolve(AN_KNN_AUTO, 1000, AN_KNN_KD_MAX_FEATURES + 1) == AN_KNN_SMALL_WIDE);
    CHECK(an_knn_resolve(AN_KNN_BRUTE, 1000, 2) == AN_KNN_BRUTE);
    CHECK(an_knn_resolve(AN_KNN_KD_TREE, 1000, 50) == AN_KNN_KD_TREE);
    CHECK(an_knn_resolve(AN_KNN_AUTO, 1000, 1) == AN_KNN_SORTED);
    CHECK(an_knn_resolve(AN_KNN_KD_TREE, 1000, 1) == AN_KNN_KD_TREE);
    CHECK(an_knn_resolve(AN_KNN_SORTED, 1000, 2) == AN_KNN_KD_TREE);
}

typedef struct oom_case {
    const double *x;
    size_t n, d, k;
    an_knn_algorithm alg;
} oom_case;

static anoma_status build_and_query(void *ctx)
{
    const oom_case *c = ctx;
    an_knn_index ix;
    anoma_status st = an_knn_build(&ix, c->x, c->n, c->d, c->alg);
    if (st != ANOMA_OK)
        return st;
    double dist[3 * 200];
    size_t index[3 * 200];
    st = an_knn_self_query(&ix, 0, c->n, c->k, 2, dist, index);
    if (st == ANOMA_OK) /* new rows too (some indexed rows as queries) */
        st = an_knn_query(&ix, c->x + 10 * c->d, 150, c->k, 2, dist, index);
    an_knn_free(&ix);
    return st;
}

static void test_allocation_failures(void)
{
    double *x = test_tied_rows(200, 4, 4, 0, 9);
    for (int alg = AN_KNN_BRUTE; alg <= AN_KNN_SMALL_WIDE; alg++) {
        oom_case c = {x, 200, alg == AN_KNN_SORTED ? 1 : 4, 3, (an_knn_algorithm)alg};
        CHECK_ALLOC_FAILURES(build_and_query, &c);
    }
    free(x);
}

int main(void)
{
    RUN(test_ties_and_duplicates);
    RUN(test_many_queries);
    RUN(test_many_copies);
    RUN(test_small_scan_edges);
    RUN(test_small_new_rows);
    RUN(test_small_float_filter);
    RUN(test_self_query_ranges);
    RUN(test_distinct_column);
    RUN(test_far_from_origin);
    RUN(test_wide_ranges);
    RUN(test_far_outliers);
    RUN(test_split_columns);
    RUN(test_auto_rule);
    RUN(test_allocation_failures);
    return test_summary();
}
