/* The "knn" detector through the public API on cases computed by hand and
 * against the brute-force reference on tied data; the comparison with the
 * NumPy definition on the shared data is tests/python/test_knn.py. */
#include "testing.h"

#include <stdlib.h>
#include <string.h>

/* Points 0, 1, 3, 3 on a line. k = 2, training rows left out of their own
 * neighbours: 0 -> {1, 3}, 1 -> {0, 3}, 3 -> {3 (its copy), 1}: largest
 * 3, 2, 2, 2; mean 2, 1.5, 1, 1; median = mean for two. A new point 6:
 * {3, 3} -> 3 and 3; the training row 1 scored again: {1 itself, 0} -> 1. */
static void test_line_by_hand(void)
{
    const double x[4] = {0, 1, 3, 3};
    const double expect_largest[4] = {3, 2, 2, 2}, expect_mean[4] = {2, 1.5, 1, 1};
    static const char *const params[3] = {"n_neighbors=2", "n_neighbors=2 method=mean",
                                          "n_neighbors=2 method=median"};
    for (int p = 0; p < 3; p++) {
        anoma_model *m = test_fit_one("contamination=0.25", "knn", params[p], x, 4, 1);
        double train[4], s[2];
        CHECK_OK(anoma_model_training_scores(m, 0, train, 4, NULL));
        CHECK(!memcmp(train, p ? expect_mean : expect_largest, sizeof train));
        const double q[2] = {6, 1};
        anoma_matrix mq = {q, 2, 1, 1, ANOMA_F64};
        CHECK_OK(anoma_model_score(m, &mq, s));
        CHECK(s[0] == 3 && s[1] == (p ? 0.5 : 1));
        double t;
        CHECK_OK(anoma_model_threshold(m, &t)); /* the 0.75 quantile of the training scores */
        CHECK(test_close(t, p ? 1.625 : 2.25, 1e-15));
        anoma_model_free(m);
    }
}

static void test_bad_input(void)
{
    anoma_model *m = NULL;
    CHECK_OK(anoma_model_create("contamination=auto", &m));
    CHECK_OK(anoma_model_add_detector(m, "knn", "", NULL));
    const double x[4] = {0, 1, 2, 3};
    anoma_matrix mx = {x, 4, 1, 1, ANOMA_F64};
    CHECK_STATUS(anoma_model_fit(m, &mx, NULL, NULL), ANOMA_ERR_PARAM_VALUE); /* no rule */
    CHECK_STATUS(anoma_model_set_detector_param(m, 0, "method", "max"), ANOMA_ERR_PARAM_VALUE);
    anoma_model_free(m);
}

/* The largest, mean and median of the k reference distances, on rows full
 * of ties and duplicates: training rows leaving themselves out, new rows
 * not; both search algorithms. */
static void test_brute_force_reference(void)
{
    size_t n = 240, d = 3, m = 31, k = 6;
    double *x = test_tied_rows(n, d, 4, 0, 21), *q = test_tied_rows(m, d, 4, 0, 22);
    double *train = malloc(n * sizeof *train), *scores = malloc(m * sizeof *scores);
    double dist[6];
    size_t index[6];
    static const char *const methods[3] = {"largest", "mean", "median"};
    static const char *const algorithms[2] = {"brute", "kd_tree"};
    for (int a = 0; a < 2; a++)
        for (int e = 0; e < 3; e++) {
            char params[96];
            snprintf(params, sizeof params, "n_neighbors=6 method=%s algorithm=%s", methods[e],
                     algorithms[a]);
            anoma_model *model = test_fit_one("contamination=0.1", "knn", params, x, n, d);
            CHECK_OK(anoma_model_training_scores(model, 0, train, n, NULL));
            anoma_matrix mq = anoma_matrix_f64(q, m, d);
            CHECK_OK(anoma_model_score(model, &mq, scores));
            for (size_t i = 0; i < n + m; i++) {
                int is_train = i < n;
                const double *row = is_train ? x + i * d : q + (i - n) * d;
                test_knn_reference(x, n, d, row, is_train ? i : SIZE_MAX, k, dist, index);
                double sum = 0; /* numpy's mean of 6: a plain sum */
                for (size_t t = 0; t < k; t++)
                    sum += dist[t];
                double expect = e == 0 ? dist[k - 1] : e == 1 ? sum / 6 : (dist[2] + dist[3]) / 2;
                double got = is_train ? train[i] : scores[i - n];
                if (!test_close(got, expect, 1e-14))
                    test_fail(__FILE__, __LINE__, "%s: row %zu scores %.17g, reference %.17g",
                              params, i, got, expect);
            }
            anoma_model_free(model);
        }
    free(x);
    free(q);
    free(train);
    free(scores);
}

static void test_allocation_failures(void)
{
    double *x = test_tied_rows(100, 2, 11, 0, 23);
    test_reload_case c = {"contamination=0.1 n_threads=2", {"knn"},
                              {"n_neighbors=3 method=mean algorithm=brute"}, x, 100, 2, NULL};
    CHECK_ALLOC_FAILURES(test_fit_reload, &c);
    free(x);
}

int main(void)
{
    RUN(test_line_by_hand);
    RUN(test_bad_input);
    RUN(test_brute_force_reference);
    RUN(test_allocation_failures);
    return test_summary();
}
