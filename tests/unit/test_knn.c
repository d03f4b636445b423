/* The "knn" detector through the public API on cases computed by hand; the
 * comparison with the NumPy definition on the shared data is
 * tests/python/test_knn.py. */
#include "testing.h"

#include <stdlib.h>
#include <string.h>

static anoma_model *fit_knn(const char *params, const double *x, size_t rows)
{
    anoma_model *m = NULL;
    CHECK_OK(anoma_model_create("contamination=0.25", &m));
    CHECK_OK(anoma_model_add_detector(m, "knn", params, NULL));
    anoma_matrix mx = {x, rows, 1, 1, ANOMA_F64};
    CHECK_OK(anoma_model_fit(m, &mx, NULL, NULL));
    return m;
}

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
        anoma_model *m = fit_knn(params[p], x, 4);
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

static anoma_status fit_score_save(void *ctx)
{
    const double *x = ctx;
    anoma_model *m = NULL;
    anoma_status st = anoma_model_create("contamination=0.1 n_threads=2", &m);
    if (st == ANOMA_OK)
        st = anoma_model_add_detector(m, "knn", "n_neighbors=3 method=mean algorithm=brute", NULL);
    anoma_matrix mx = {x, 100, 2, 2, ANOMA_F64};
    if (st == ANOMA_OK)
        st = anoma_model_fit(m, &mx, NULL, NULL);
    double scores[100];
    if (st == ANOMA_OK)
        st = anoma_model_score(m, &mx, scores);
    unsigned char buf[1 << 13];
    size_t size;
    if (st == ANOMA_OK)
        st = anoma_model_save_memory(m, buf, sizeof buf, &size);
    anoma_model *back = NULL;
    if (st == ANOMA_OK)
        st = anoma_model_load_memory(buf, size, &back);
    anoma_model_free(back);
    anoma_model_free(m);
    return st;
}

static void test_allocation_failures(void)
{
    double x[200];
    for (size_t i = 0; i < 200; i++)
        x[i] = (double)((i * 7) % 11);
    CHECK_ALLOC_FAILURES(fit_score_save, x);
}

int main(void)
{
    RUN(test_line_by_hand);
    RUN(test_bad_input);
    RUN(test_allocation_failures);
    return test_summary();
}
