/* The SGD one-class SVM ("ocsvm_sgd"): its maps against their closed
 * forms (Nystroem reproduces the kernel on its basis; random Fourier
 * features approach it), a closed-form SGD run, thread and path
 * independence, parameter errors and hostile payloads. Agreement with
 * scikit-learn's SGDOneClassSVM is tests/python/test_ocsvm_sgd.py. */
#include "testing.h"

#include "core/alloc.h"
#include "detectors/ocsvm_sgd/ocsvm_sgd.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { ROWS = 300, COLS = 3 };

static double *make_data(void)
{
    double *x = malloc(ROWS * COLS * sizeof *x);
    test_fill(x, ROWS * COLS, 5, 2000, 1000.0);
    for (size_t i = 0; i < ROWS; i += 29)
        x[i * COLS + 1] += 4; /* a few far rows */
    return x;
}

static anoma_model *fit_model(const char *params, const double *x, size_t rows)
{
    anoma_model *m = NULL;
    CHECK_OK(anoma_model_create("n_threads=1", &m));
    CHECK_OK(anoma_model_add_detector(m, "ocsvm_sgd", params, NULL));
    anoma_matrix view = anoma_matrix_f64(x, rows, COLS);
    CHECK_OK(anoma_model_fit(m, &view, NULL, NULL));
    return m;
}

/* max |z(a).z(b) - exp(-gamma |a - b|^2)| over the rows' pairs. */
static double kernel_error(const an_sgd_map *map, const double *x, size_t rows, double gamma)
{
    double *z = malloc(rows * map->m * sizeof *z);
    double *scratch = malloc((an_sgd_map_scratch(map, rows) + 1) * sizeof *scratch);
    an_sgd_map_rows(map, x, rows, z, scratch);
    double worst = 0;
    for (size_t i = 0; i < rows; i++)
        for (size_t j = 0; j < rows; j++) {
            double dot = 0, d2 = 0;
            for (size_t k = 0; k < map->m; k++)
                dot += z[i * map->m + k] * z[j * map->m + k];
            for (size_t k = 0; k < COLS; k++)
                d2 += (x[i * COLS + k] - x[j * COLS + k]) * (x[i * COLS + k] - x[j * COLS + k]);
            double e = fabs(dot - exp(-gamma * d2));
            worst = e > worst ? e : worst;
        }
    free(z);
    free(scratch);
    return worst;
}

/* Nystroem with every row in its basis is the kernel exactly on the rows;
 * random Fourier features approach it as 1 / sqrt(m). */
static void test_maps_against_the_kernel(void)
{
    double *x = make_data();
    enum { N = 40 };
    an_sgd_map map;
    CHECK_OK(an_sgd_map_fit(&map, AN_SGD_MAP_NYSTROEM, 1000, 0.5, 3, x, N, COLS));
    CHECK(map.m == N); /* at most the rows */
    CHECK(kernel_error(&map, x, N, 0.5) < 1e-8);
    an_sgd_map_free(&map);
    CHECK_OK(an_sgd_map_fit(&map, AN_SGD_MAP_RFF, 20000, 0.5, 3, x, N, COLS));
    double e = kernel_error(&map, x, N, 0.5);
    CHECK(e < 0.05 && e > 1e-4); /* a random approximation: close, not exact */
    an_sgd_map_free(&map);
    CHECK_OK(an_sgd_map_fit(&map, AN_SGD_MAP_NONE, 7, 0.5, 3, x, N, COLS));
    CHECK(map.m == COLS);
    an_sgd_map_free(&map);
    free(x);
}

/* One row x = (1, 0), no shuffling, constant step eta, alpha = nu / 2:
 * from w = 0, intercept 1, the first prediction is 1 (<= 1: a step): w
 * shrinks (0 stays 0), then w = eta x and intercept = 1 + eta - 2 eta
 * alpha; the second prediction is 1 + eta (2 - 2 alpha) > 1 (no step): w
 * *= 1 - eta alpha, intercept -= 2 eta alpha. */
static void test_two_steps_closed_form(void)
{
    const double x[] = {1, 0};
    const double eta = 0.1, nu = 0.4, alpha = nu / 2;
    an_sgd_problem p = {.z = x, .rows = 1, .m = 2, .nu = nu, .fit_intercept = 1,
                        .max_iter = 2, .tol = -INFINITY, .shuffle = 0, .rate = AN_SGD_CONSTANT,
                        .eta0 = eta};
    double coef[2];
    an_sgd_result r;
    CHECK_OK(an_sgd_one_class(&p, coef, &r));
    double w = eta * (1 - eta * alpha);
    double intercept = 1 + eta - 2 * eta * alpha - 2 * eta * alpha;
    CHECK(test_close(coef[0], w, 1e-14) && coef[1] == 0);
    CHECK(test_close(r.offset, 1 - intercept, 1e-14));
    CHECK(r.n_iter == 2 && r.t == 3);
}

/* Batch, threads and the row scorer give the same bits; a saved model
 * loads and scores the same bits. */
static void test_paths_and_save_load(void)
{
    double *x = make_data();
    static const char *const params[] = {"map=nystroem n_components=30 seed=4",
                                         "map=rff n_components=64 gamma=0.3 average=1",
                                         "map=none nu=0.2"};
    for (size_t k = 0; k < 3; k++) {
        anoma_model *m = fit_model(params[k], x, ROWS);
        anoma_matrix view = anoma_matrix_f64(x, ROWS, COLS);
        double one[ROWS], three[ROWS], rows[ROWS], back_scores[ROWS];
        CHECK_OK(anoma_model_score_detector(m, 0, &view, one));
        CHECK_OK(anoma_model_set_n_threads(m, 3));
        CHECK_OK(anoma_model_score_detector(m, 0, &view, three));
        anoma_row_scorer *rs = NULL;
        CHECK_OK(anoma_row_scorer_create(m, &rs));
        for (size_t i = 0; i < ROWS; i++)
            CHECK_OK(anoma_row_scorer_score(rs, x + i * COLS, COLS, &rows[i], NULL));
        anoma_row_scorer_free(rs);
        CHECK(!memcmp(one, three, sizeof one) && !memcmp(one, rows, sizeof one));
        anoma_model *back = TEST_RELOADED(m, NULL, NULL);
        CHECK_OK(anoma_model_score_detector(back, 0, &view, back_scores));
        CHECK(!memcmp(one, back_scores, sizeof one));
        char text[1024];
        CHECK_OK(anoma_model_describe(m, text, sizeof text, NULL));
        CHECK(strstr(text, "map: ") && strstr(text, "offset: ") && strstr(text, "epochs: "));
        anoma_model_free(back);
        anoma_model_free(m);
    }
    free(x);
}

static void test_bad_parameters(void)
{
    static const test_bad_param bad[] = {
        {"map=kernel", "map"},        {"gamma=0", "gamma"},
        {"gamma=big", "gamma"},       {"nu=0", "nu"},
        {"nu=1.5", "nu"},             {"n_components=0", "n_components"},
        {"max_iter=0", "max_iter"},   {"tol=-1", "tol"},
        {"average=-1", "average"},    {"learning_rate=constant", "eta0"},
        {"seed=-1", "seed"},          {"learning_rate=fast", "learning_rate"},
    };
    CHECK_BAD_DETECTOR_PARAMS("ocsvm_sgd", bad);
}

/* Every field checked; every truncation fails. */
static void test_hostile_payloads(void)
{
    double *x = make_data();
    anoma_model *m = fit_model("map=rff n_components=8", x, ROWS);
    size_t size = 0;
    unsigned char *good = test_detector_payload(m, 0, &size);
    const test_payload_edit edits[] = {
        {0, TEST_U32, 3, "map code"},
        {12, TEST_U64, 0, "n_components"},
        {12, TEST_U64, 1e12, "n_components"},
        {20, TEST_F64, 0, "gamma"},
        {20, TEST_F64, NAN, "gamma"},
        {28, TEST_F64, INFINITY, "offset"},
        {36, TEST_F64, NAN, "fill value of feature 0"},
        {36 + COLS * 8, TEST_F64, NAN, "coefficient 0"},
        {36 + COLS * 8 + 8 * 8, TEST_F64, NAN, "map row 0"},
        {size - 8, TEST_F64, NAN, "phase"},
    };
    CHECK_HOSTILE_PAYLOAD("ocsvm_sgd", good, size, COLS, 37, edits);
    free(good);
    anoma_model_free(m);
    free(x);
}

int main(void)
{
    RUN(test_maps_against_the_kernel);
    RUN(test_two_steps_closed_form);
    RUN(test_paths_and_save_load);
    RUN(test_bad_parameters);
    RUN(test_hostile_payloads);
    return test_summary();
}
