/* Conventions a user relies on: one source for the threshold (contamination
 * or threshold, not both), labels and weights never silently ignored, and
 * contamination=auto as each detector's classic rule. References are
 * computed here from the definitions (mean, standard deviation, quartiles). */
#include "testing.h"

#include <stdlib.h>
#include <string.h>

enum { ROWS = 200, COLS = 3 };
static double data[ROWS * COLS];

static void make_data(void)
{
    test_fill(data, ROWS * COLS, 4242u, 10000, 1000.0);
    data[3 * COLS + 0] = 40; /* a few values far out */
    data[90 * COLS + 2] = -30;
    data[150 * COLS + 1] = 25;
}

static anoma_model *model_with(const char *model_params, const char *detector,
                               const char *params)
{
    anoma_model *m = NULL;
    CHECK_OK(anoma_model_create(model_params, &m));
    CHECK_OK(anoma_model_add_detector(m, detector, params, NULL));
    return m;
}

static int params_have(const anoma_model *m, const char *text)
{
    char buf[1024];
    CHECK_OK(anoma_model_params(m, buf, sizeof buf, NULL));
    return strstr(buf, text) != NULL;
}

/* ---- contamination and threshold: one of them ---- */

static void test_contamination_and_threshold_refused_together(void)
{
    anoma_model *m = NULL;
    CHECK_STATUS(anoma_model_create("contamination=0.05 threshold=2", &m), ANOMA_ERR_PARAM_VALUE);
    CHECK(strstr(anoma_last_error(), "contamination=0.05") &&
          strstr(anoma_last_error(), "threshold=2"));
    CHECK(m == NULL);

    /* either order through set_param: the second is refused, nothing changes */
    CHECK_OK(anoma_model_create(NULL, &m));
    CHECK_OK(anoma_model_set_param(m, "contamination", "0.05"));
    CHECK_STATUS(anoma_model_set_param(m, "threshold", "2"), ANOMA_ERR_PARAM_VALUE);
    CHECK(strstr(anoma_last_error(), "contamination") && strstr(anoma_last_error(), "threshold"));
    CHECK(params_have(m, "contamination=0.05 threshold=auto"));
    anoma_model_free(m);

    CHECK_OK(anoma_model_create(NULL, &m));
    CHECK_OK(anoma_model_set_param(m, "threshold", "2"));
    CHECK_STATUS(anoma_model_set_param(m, "contamination", "0.05"), ANOMA_ERR_PARAM_VALUE);
    CHECK_STATUS(anoma_model_set_param(m, "contamination", "auto"), ANOMA_ERR_PARAM_VALUE);
    CHECK(params_have(m, "contamination=0.1 threshold=2"));
    /* switching: put the other back first */
    CHECK_OK(anoma_model_set_param(m, "threshold", "auto"));
    CHECK_OK(anoma_model_set_param(m, "contamination", "0.05"));
    anoma_model_free(m);
}

static void test_default_contamination_leaves_threshold(void)
{
    /* the default rate, even written out, is no conflict: the threshold rules */
    anoma_model *m = model_with("contamination=0.1 threshold=2.5", "zscore", NULL);
    anoma_matrix x = anoma_matrix_f64(data, ROWS, COLS);
    CHECK_OK(anoma_model_fit(m, &x, NULL, NULL));
    double t = 0;
    CHECK_OK(anoma_model_threshold(m, &t));
    CHECK(t == 2.5);
    anoma_model_free(m);
}

static void test_threshold_replaced_on_fitted_model(void)
{
    anoma_model *m = model_with("contamination=0.05", "zscore", NULL);
    anoma_matrix x = anoma_matrix_f64(data, ROWS, COLS);
    CHECK_OK(anoma_model_fit(m, &x, NULL, NULL));
    CHECK_OK(anoma_model_set_param(m, "threshold", "1.5"));
    double t = 0;
    CHECK_OK(anoma_model_threshold(m, &t));
    CHECK(t == 1.5);
    /* the parameters say how the threshold is made now, and make a model */
    CHECK(params_have(m, "contamination=0.1 threshold=1.5"));
    CHECK_STATUS(anoma_model_set_param(m, "threshold", "auto"), ANOMA_ERR_UNSUPPORTED);
    CHECK_OK(anoma_model_threshold(m, &t));
    CHECK(t == 1.5);
    anoma_model_free(m);
}

/* ---- labels and weights ---- */

static void test_unused_labels_and_weights_refused(void)
{
    int labels[ROWS] = {0};
    double weights[ROWS];
    for (size_t i = 0; i < ROWS; i++)
        weights[i] = 1;
    labels[3] = 1;
    anoma_matrix x = anoma_matrix_f64(data, ROWS, COLS);
    anoma_model *m = model_with(NULL, "zscore", NULL);
    CHECK_OK(anoma_model_add_detector(m, "iforest", "n_trees=5", NULL));
    CHECK_STATUS(anoma_model_fit(m, &x, labels, NULL), ANOMA_ERR_INVALID_ARGUMENT);
    CHECK(strstr(anoma_last_error(), "labels") && strstr(anoma_last_error(), "zscore, iforest"));
    CHECK(!anoma_model_is_fitted(m));
    CHECK_STATUS(anoma_model_fit(m, &x, NULL, weights), ANOMA_ERR_INVALID_ARGUMENT);
    CHECK(strstr(anoma_last_error(), "weights") && strstr(anoma_last_error(), "zscore"));
    CHECK(!anoma_model_is_fitted(m));
    CHECK_OK(anoma_model_fit(m, &x, NULL, NULL)); /* nothing lost */
    anoma_model_free(m);

    /* the frame path refuses them the same way */
    anoma_frame *f = NULL;
    double col[ROWS];
    for (size_t i = 0; i < ROWS; i++)
        col[i] = data[i * COLS];
    CHECK_OK(anoma_frame_create(ROWS, &f));
    CHECK_OK(anoma_frame_add_column(f, "a", ANOMA_COL_DOUBLE, col));
    m = model_with(NULL, "mad", NULL);
    CHECK_STATUS(anoma_model_fit_frame(m, f, labels, NULL), ANOMA_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(anoma_model_fit_frame(m, f, NULL, weights), ANOMA_ERR_INVALID_ARGUMENT);
    CHECK_OK(anoma_model_fit_frame(m, f, NULL, NULL));
    anoma_model_free(m);
    anoma_frame_free(f);
}

static void test_weight_flag_declared(void)
{
    /* iforest draws its splits at random: weights would change nothing;
     * ocsvm bounds each row's dual coefficient by its weight (libsvm's
     * instance weights) and gbt scales each row's gradient and hessian by
     * it (XGBoost's sample weights): the detectors of this version that
     * use them */
    for (size_t i = 0; anoma_component_name(ANOMA_KIND_DETECTOR, i); i++) {
        const char *name = anoma_component_name(ANOMA_KIND_DETECTOR, i);
        unsigned flags = 0;
        CHECK_OK(anoma_component_flags(ANOMA_KIND_DETECTOR, name, &flags));
        CHECK(!!(flags & ANOMA_FLAG_SAMPLE_WEIGHTS) ==
              (!strcmp(name, "ocsvm") || !strcmp(name, "gbt")));
    }
}

/* ---- contamination=auto ---- */

static double auto_threshold_of(const char *model_params, const char *detector,
                                const char *params)
{
    anoma_model *m = model_with(model_params, detector, params);
    double t = -1;
    CHECK_OK(anoma_model_auto_threshold(m, &t));
    anoma_model_free(m);
    return t;
}

static void test_auto_threshold_rules(void)
{
    CHECK(auto_threshold_of(NULL, "iforest", NULL) == 0.5);
    CHECK(auto_threshold_of(NULL, "zscore", NULL) == 3);
    CHECK(auto_threshold_of(NULL, "mad", NULL) == 3.5);
    CHECK(auto_threshold_of(NULL, "iqr", NULL) == 0);
    CHECK(auto_threshold_of(NULL, "iqr", "k=3 combine=l2") == 0);
    CHECK(auto_threshold_of("normalize=none", "zscore", NULL) == 3);

    double t;
    anoma_model *m = model_with(NULL, "zscore", "combine=mean");
    CHECK_STATUS(anoma_model_auto_threshold(m, &t), ANOMA_ERR_PARAM_VALUE);
    CHECK(strstr(anoma_last_error(), "combine=max") && strstr(anoma_last_error(), "combine=mean"));
    anoma_model_free(m);
    m = model_with(NULL, "iqr", "combine=mean");
    CHECK_STATUS(anoma_model_auto_threshold(m, &t), ANOMA_ERR_PARAM_VALUE);
    anoma_model_free(m);
    m = model_with("normalize=standard", "iforest", NULL);
    CHECK_STATUS(anoma_model_auto_threshold(m, &t), ANOMA_ERR_PARAM_VALUE);
    CHECK(strstr(anoma_last_error(), "normalize=standard") != NULL);
    anoma_model_free(m);

    /* several detectors: only unscaled, by max, and with one rule */
    m = model_with(NULL, "zscore", NULL);
    CHECK_OK(anoma_model_add_detector(m, "zscore", "ddof=1", NULL));
    CHECK_STATUS(anoma_model_auto_threshold(m, &t), ANOMA_ERR_PARAM_VALUE);
    CHECK(strstr(anoma_last_error(), "normalize=auto") != NULL);
    CHECK_OK(anoma_model_set_param(m, "normalize", "none"));
    CHECK_STATUS(anoma_model_auto_threshold(m, &t), ANOMA_ERR_PARAM_VALUE);
    CHECK(strstr(anoma_last_error(), "ensemble=max") != NULL);
    CHECK_OK(anoma_model_set_param(m, "ensemble", "max"));
    CHECK_OK(anoma_model_auto_threshold(m, &t));
    CHECK(t == 3);
    anoma_model_free(m);
    m = model_with("normalize=none ensemble=max", "zscore", NULL);
    CHECK_OK(anoma_model_add_detector(m, "mad", NULL, NULL));
    CHECK_STATUS(anoma_model_auto_threshold(m, &t), ANOMA_ERR_PARAM_VALUE);
    CHECK(strstr(anoma_last_error(), "3.5") != NULL);
    anoma_model_free(m);

    m = NULL;
    CHECK_OK(anoma_model_create(NULL, &m));
    CHECK_STATUS(anoma_model_auto_threshold(m, &t), ANOMA_ERR_EMPTY);
    CHECK_STATUS(anoma_model_auto_threshold(m, NULL), ANOMA_ERR_INVALID_ARGUMENT);
    anoma_model_free(m);
}

/* numpy.percentile's default ('linear'): position q (n - 1) in sorted order */
static int ascending(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double percentile(const double *v, size_t n, double q)
{
    double *s = malloc(n * sizeof *s);
    memcpy(s, v, n * sizeof *s);
    qsort(s, n, sizeof *s, ascending);
    double pos = q * (double)(n - 1);
    size_t lo = (size_t)pos;
    double r = lo + 1 < n ? s[lo] + (s[lo + 1] - s[lo]) * (pos - (double)lo) : s[lo];
    free(s);
    return r;
}

/* The rows each rule flags, from the definitions, against predict. */
static void test_auto_threshold_flags_by_the_rule(void)
{
    double mean[COLS], sd[COLS], q1[COLS], q3[COLS], column[ROWS];
    for (size_t j = 0; j < COLS; j++) {
        double sum = 0, ss = 0;
        for (size_t i = 0; i < ROWS; i++)
            sum += column[i] = data[i * COLS + j];
        mean[j] = sum / ROWS;
        for (size_t i = 0; i < ROWS; i++)
            ss += (column[i] - mean[j]) * (column[i] - mean[j]);
        sd[j] = sqrt(ss / ROWS);
        q1[j] = percentile(column, ROWS, 0.25);
        q3[j] = percentile(column, ROWS, 0.75);
    }
    anoma_matrix x = anoma_matrix_f64(data, ROWS, COLS);
    anoma_model *z = model_with("contamination=auto", "zscore", NULL);
    anoma_model *q = model_with("contamination=auto", "iqr", "k=1.5");
    CHECK_OK(anoma_model_fit(z, &x, NULL, NULL));
    CHECK_OK(anoma_model_fit(q, &x, NULL, NULL));
    int flag_z[ROWS], flag_q[ROWS];
    CHECK_OK(anoma_model_predict(z, &x, flag_z));
    CHECK_OK(anoma_model_predict(q, &x, flag_q));
    size_t n_z = 0, n_q = 0;
    for (size_t i = 0; i < ROWS; i++) {
        int three_sigma = 0, outside = 0;
        for (size_t j = 0; j < COLS; j++) {
            double v = data[i * COLS + j], iqr = q3[j] - q1[j];
            three_sigma |= fabs(v - mean[j]) / sd[j] > 3;
            outside |= v < q1[j] - 1.5 * iqr || v > q3[j] + 1.5 * iqr;
        }
        CHECK(flag_z[i] == three_sigma);
        CHECK(flag_q[i] == outside);
        n_z += (size_t)three_sigma;
        n_q += (size_t)outside;
    }
    CHECK(n_z == 3 && n_q == 3); /* the planted values, not a rate */
    anoma_model_free(z);
    anoma_model_free(q);

    /* refused before any fitting, and the model stays fittable */
    anoma_model *m = model_with("contamination=auto", "mad", "combine=l2");
    CHECK_STATUS(anoma_model_fit(m, &x, NULL, NULL), ANOMA_ERR_PARAM_VALUE);
    CHECK(!anoma_model_is_fitted(m));
    CHECK_OK(anoma_model_set_detector_param(m, 0, "combine", "max"));
    CHECK_OK(anoma_model_fit(m, &x, NULL, NULL));
    double t;
    CHECK_OK(anoma_model_threshold(m, &t));
    CHECK(t == 3.5);
    anoma_model_free(m);
}

static void test_auto_threshold_on_import(void)
{
    /* an imported detector alone has no training data: the rule needs none */
    anoma_model *fitted = model_with(NULL, "iforest", "n_trees=4 max_samples=32 seed=3");
    anoma_matrix x = anoma_matrix_f64(data, ROWS, COLS);
    CHECK_OK(anoma_model_fit(fitted, &x, NULL, NULL));
    size_t size = 0;
    unsigned char *payload = test_detector_payload(fitted, 0, &size);
    CHECK(payload != NULL);
    anoma_model *m = NULL;
    CHECK_OK(anoma_model_create("contamination=auto", &m));
    CHECK_OK(anoma_model_import_detector(m, "iforest", "n_trees=4 max_samples=32 seed=3", payload,
                                         size, COLS));
    double t = 0;
    CHECK_OK(anoma_model_threshold(m, &t));
    CHECK(t == 0.5);
    anoma_model_free(m);
    m = NULL;
    CHECK_OK(anoma_model_create("contamination=0.05", &m));
    CHECK_STATUS(anoma_model_import_detector(m, "iforest", NULL, payload, size, COLS),
                 ANOMA_ERR_UNSUPPORTED);
    anoma_model_free(m);
    free(payload);
    anoma_model_free(fitted);
}

int main(void)
{
    make_data();
    RUN(test_contamination_and_threshold_refused_together);
    RUN(test_default_contamination_leaves_threshold);
    RUN(test_threshold_replaced_on_fitted_model);
    RUN(test_unused_labels_and_weights_refused);
    RUN(test_weight_flag_declared);
    RUN(test_auto_threshold_rules);
    RUN(test_auto_threshold_flags_by_the_rule);
    RUN(test_auto_threshold_on_import);
    return test_summary();
}
