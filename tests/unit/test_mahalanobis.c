/* The "mahalanobis" detector on cases computed by hand, the chi-squared
 * quantile it relies on against scipy.stats.chi2.isf, and allocation
 * failures; the comparison with scikit-learn is
 * tests/python/test_mahalanobis.py. */
#include "testing.h"
#include "core/chi2.h"
#include "detectors/detector.h"
#include "core/strbuf.h"
#include "io/bytes.h"

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

/* A robust fit's payload (version 2) ends with its raw estimate; the same
 * bytes without it are a version-1 payload, which still loads, scores the
 * same and describes itself as robust, and which version 2 refuses as
 * truncated. */
static void test_version_1_payload(void)
{
    enum { N = 120, D = 3, V1 = 33 + 8 * (D + D * D) };
    double *x = test_tied_rows(N, D, 50, 0, 5);
    anoma_model *m = test_fit_one("contamination=0.1", "mahalanobis", "robust=true", x, N, D);
    size_t size = 0;
    unsigned char *p = test_detector_payload(m, 0, &size);
    CHECK(size == V1 + 1 + 8 * (D + D * D) && p[V1] == 1);
    const an_detector_vtable *vt = an_detector_find("mahalanobis");
    an_params params;
    void *state = NULL;
    CHECK_OK(an_params_init(&params, "mahalanobis", vt->params, vt->n_params));
    CHECK_OK(vt->create(&params, &state));
    an_reader r = an_reader_make(p, V1, "version 1");
    CHECK_OK(vt->load(state, &r, D, 1));
    double work[D], a, b;
    vt->score_row(state, x, work, &a);
    anoma_matrix row = anoma_matrix_f64(x, 1, D);
    CHECK_OK(anoma_model_score(m, &row, &b));
    CHECK(a == b);
    an_strbuf text = {0}; /* robust, with nothing to say of the raw support */
    vt->describe(state, &text);
    CHECK(strstr(text.data, "robust covariance") && !strstr(text.data, "empirical") &&
          !strstr(text.data, "raw support covariance"));
    an_strbuf_free(&text);
    r = an_reader_make(p, V1, "version 2 without its raw estimate");
    CHECK(vt->load(state, &r, D, 2) != ANOMA_OK);
    r = an_reader_make(p, size, "version 2");
    CHECK_OK(vt->load(state, &r, D, 2));
    vt->destroy(state);
    an_params_free(&params);
    free(p);
    anoma_model_free(m);
    free(x);
}

/* The first missing value is named by its row and column wherever it lies:
 * the scan for one goes by blocks of rows, here past the first blocks and
 * with a second NaN later in the same block. */
static void test_missing_value_far_down(void)
{
    enum { ROWS = 3000, COLS = 3 };
    double *x = malloc(ROWS * COLS * sizeof *x);
    CHECK(x != NULL);
    if (!x)
        return;
    for (size_t i = 0; i < ROWS * COLS; i++)
        x[i] = (double)(i % 7) + 0.1 * (double)(i % 11);
    x[2049 * COLS + 2] = NAN;
    x[2050 * COLS + 0] = NAN;
    anoma_model *m = NULL;
    CHECK_OK(anoma_model_create("contamination=0.1", &m));
    CHECK_OK(anoma_model_add_detector(m, "mahalanobis", NULL, NULL));
    anoma_matrix mx = anoma_matrix_f64(x, ROWS, COLS);
    CHECK_STATUS(anoma_model_fit(m, &mx, NULL, NULL), ANOMA_ERR_INVALID_ARGUMENT);
    CHECK(strstr(anoma_last_error(), "feature 2 of row 2049 is missing") != NULL);
    x[2049 * COLS + 2] = 1;
    x[2050 * COLS + 0] = 1;
    CHECK_OK(anoma_model_fit(m, &mx, NULL, NULL));
    x[ROWS * COLS - 1] = NAN; /* the last value of the last, partial block */
    double *s = malloc(ROWS * sizeof *s);
    CHECK(s != NULL);
    if (s) {
        CHECK_STATUS(anoma_model_score(m, &mx, s), ANOMA_ERR_INVALID_ARGUMENT);
        CHECK(strstr(anoma_last_error(), "feature 2 of row 2999 is missing") != NULL);
    }
    free(s);
    free(x);
    anoma_model_free(m);
}

int main(void)
{
    RUN(test_chi2_quantiles);
    RUN(test_by_hand);
    RUN(test_bad_parameters);
    RUN(test_allocation_failures);
    RUN(test_version_1_payload);
    RUN(test_missing_value_far_down);
    return test_summary();
}
