/* The "mahalanobis" detector on cases computed by hand, the chi-squared
 * quantile it relies on against scipy.stats.chi2.isf, and allocation
 * failures; the comparison with scikit-learn is
 * tests/python/test_mahalanobis.py. */
#include "testing.h"
#include "core/chi2.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* scipy.stats.chi2(k).isf(q), printed by scipy 1.10. */
static void test_chi2_quantiles(void)
{
    static const struct { double k, q, x; } cases[] = {
        {1, 0.5, 0.4549364231195724},  {2, 0.025, 7.3777589082278725},
        {9, 0.5, 8.342832692252955},   {9, 0.025, 19.022767798641638},
        {36, 0.025, 54.43729363181322}, {36, 0.5, 35.335572835576905},
        {100, 0.025, 129.5611971858366},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        CHECK(test_close(an_chi2_isf(cases[i].q, cases[i].k), cases[i].x, 1e-13));
}

/* Four points (0,0), (2,0), (0,2), (2,2): mean (1,1), covariance diag(1,1)
 * (divided by 4). The point (3,1) is at squared distance 4, split (4, 0);
 * with the second column doubled the covariance is diag(1,4): (1,5) is at
 * 0 + 16/4 = 4, split (0, 4). */
static void test_by_hand(void)
{
    const double x[8] = {0, 0, 2, 0, 0, 2, 2, 2};
    anoma_model *m = test_fit_one("contamination=0.25", "mahalanobis", NULL, x, 4, 2);
    const double q[2] = {3, 1};
    anoma_matrix mq = anoma_matrix_f64(q, 1, 2);
    double s, f[2];
    CHECK_OK(anoma_model_score(m, &mq, &s));
    CHECK(test_close(s, 4, 1e-15));
    CHECK_OK(anoma_model_feature_scores(m, 0, &mq, f));
    CHECK(test_close(f[0], 4, 1e-15) && fabs(f[1]) < 1e-15);
    anoma_model_free(m);

    const double y[8] = {0, 0, 2, 0, 0, 4, 2, 4};
    m = test_fit_one("contamination=0.25", "mahalanobis", NULL, y, 4, 2);
    const double r[2] = {1, 6};
    anoma_matrix mr = anoma_matrix_f64(r, 1, 2);
    CHECK_OK(anoma_model_score(m, &mr, &s));
    CHECK(test_close(s, 4, 1e-15));
    anoma_model_free(m);
}

static void test_bad_parameters(void)
{
    anoma_model *m = NULL;
    CHECK_OK(anoma_model_create("contamination=auto", &m));
    CHECK_STATUS(anoma_model_add_detector(m, "mahalanobis", "support_fraction=0", NULL),
                 ANOMA_ERR_PARAM_VALUE);
    CHECK(strstr(anoma_last_error(), "support_fraction") != NULL);
    CHECK_STATUS(anoma_model_add_detector(m, "mahalanobis", "support_fraction=1.5", NULL),
                 ANOMA_ERR_PARAM_VALUE);
    CHECK_OK(anoma_model_add_detector(m, "mahalanobis", NULL, NULL));
    const double x[4] = {0, 1, 2, 3};
    anoma_matrix mx = anoma_matrix_f64(x, 4, 1);
    CHECK_STATUS(anoma_model_fit(m, &mx, NULL, NULL), ANOMA_ERR_PARAM_VALUE); /* no rule */
    anoma_model_free(m);
}

static void test_allocation_failures(void)
{
    double *x = test_tied_rows(100, 3, 11, 0, 41);
    test_reload_case c = {"contamination=0.1 n_threads=2", {"mahalanobis"}, {""}, x, 100, 3, NULL};
    CHECK_ALLOC_FAILURES(test_fit_reload, &c);
    c.params[0] = "robust=true";
    CHECK_ALLOC_FAILURES(test_fit_reload, &c);
    free(x);
}

int main(void)
{
    RUN(test_chi2_quantiles);
    RUN(test_by_hand);
    RUN(test_bad_parameters);
    RUN(test_allocation_failures);
    return test_summary();
}
