/* The "kmeans" detector on a case computed by hand and under allocation
 * failures; the comparison with scikit-learn's KMeans is
 * tests/python/test_kmeans.py. */
#include "testing.h"

#include <math.h>
#include <string.h>

/* Two tight groups on a line, {0, 1, 2} and {10, 11, 12}: every k-means++
 * start with k = 2 ends at centres 1 and 11 (inertia 4). A point at 5 is
 * 4 from the nearest centre. */
static anoma_status fit_score_save(void *ctx)
{
    const char *params = ctx;
    const double x[6] = {0, 1, 2, 10, 11, 12};
    anoma_model *m = NULL;
    anoma_status st = anoma_model_create("contamination=0.2 n_threads=2", &m);
    if (st == ANOMA_OK)
        st = anoma_model_add_detector(m, "kmeans", params, NULL);
    anoma_matrix mx = anoma_matrix_f64(x, 6, 1);
    if (st == ANOMA_OK)
        st = anoma_model_fit(m, &mx, NULL, NULL);
    const double q[2] = {5, 11.5};
    anoma_matrix mq = anoma_matrix_f64(q, 2, 1);
    double s[2] = {0, 0};
    if (st == ANOMA_OK)
        st = anoma_model_score(m, &mq, s);
    if (st == ANOMA_OK && !strstr(params, "mahalanobis"))
        CHECK(test_close(s[0], 4, 1e-12) && test_close(s[1], 0.5, 1e-12));
    if (st == ANOMA_OK && strstr(params, "mahalanobis")) /* variance 2/3 in each group */
        CHECK(test_close(s[1], 0.5 / sqrt(2.0 / 3.0), 1e-12));
    unsigned char buf[1 << 12];
    size_t size;
    if (st == ANOMA_OK)
        st = anoma_model_save_memory(m, buf, sizeof buf, &size);
    anoma_model *back = NULL;
    if (st == ANOMA_OK)
        st = anoma_model_load_memory(buf, size, &back);
    double again[2] = {0, 0};
    if (st == ANOMA_OK)
        st = anoma_model_score(back, &mq, again);
    if (st == ANOMA_OK)
        CHECK(again[0] == s[0] && again[1] == s[1]);
    anoma_model_free(back);
    anoma_model_free(m);
    return st;
}

static void test_by_hand(void)
{
    CHECK_OK(fit_score_save("n_clusters=2"));
    CHECK_OK(fit_score_save("n_clusters=2 distance=mahalanobis n_init=3 seed=5"));
}

static void test_bad_parameters(void)
{
    anoma_model *m = NULL;
    CHECK_OK(anoma_model_create("contamination=0.1", &m));
    CHECK_STATUS(anoma_model_add_detector(m, "kmeans", "n_clusters=0", NULL),
                 ANOMA_ERR_PARAM_VALUE);
    CHECK_STATUS(anoma_model_add_detector(m, "kmeans", "distance=cosine", NULL),
                 ANOMA_ERR_PARAM_VALUE);
    CHECK_OK(anoma_model_add_detector(m, "kmeans", "n_clusters=5", NULL));
    const double x[4] = {0, 1, 2, 3};
    anoma_matrix mx = anoma_matrix_f64(x, 4, 1);
    CHECK_OK(anoma_model_fit(m, &mx, NULL, NULL)); /* capped at 4 clusters, one per row */
    double s[4];
    CHECK_OK(anoma_model_score(m, &mx, s));
    CHECK(s[0] == 0 && s[1] == 0 && s[2] == 0 && s[3] == 0);
    anoma_model_free(m);
}

static void test_allocation_failures(void)
{
    CHECK_ALLOC_FAILURES(fit_score_save, "n_clusters=2 n_init=2");
    CHECK_ALLOC_FAILURES(fit_score_save, "n_clusters=2 n_init=2 distance=mahalanobis");
}

int main(void)
{
    RUN(test_by_hand);
    RUN(test_bad_parameters);
    RUN(test_allocation_failures);
    return test_summary();
}
