/* The one-class SVM ("ocsvm") through the public API: a closed-form
 * two-point problem, scores against the dual (sum a_i = nu l), missing
 * values, sample weights, the cache bound, thread and path independence,
 * parameter errors and hostile payloads. Agreement with scikit-learn on
 * real data is tests/python/test_ocsvm.py. */
#include "testing.h"

#include "core/alloc.h"
#include "detectors/ocsvm/ocsvm.h"

#include <stdlib.h>
#include <string.h>

static anoma_model *fit_model(const char *params, const double *x, size_t rows, size_t cols,
                              const double *weights)
{
    anoma_model *m = NULL;
    CHECK_OK(anoma_model_create("n_threads=1", &m));
    CHECK_OK(anoma_model_add_detector(m, "ocsvm", params, NULL));
    anoma_matrix view = anoma_matrix_f64(x, rows, cols);
    CHECK_OK(anoma_model_fit(m, &view, NULL, weights));
    return m;
}

static double score_one(const anoma_model *m, const double *row, size_t cols)
{
    double s = NAN;
    anoma_matrix view = anoma_matrix_f64(row, 1, cols);
    CHECK_OK(anoma_model_score_detector(m, 0, &view, &s));
    return s;
}

/* Two points, nu = 0.5: by symmetry a = (1/2, 1/2), both free, so rho is
 * their mean gradient (1 + k) / 2 with k = K(x1, x2), and the score of x is
 * (1 + k) / 2 - (K(x, x1) + K(x, x2)) / 2: 0 at both points. The solver
 * holds k as float32 (libsvm's Qfloat), hence the tolerance. */
static void test_two_points_closed_form(void)
{
    const double x[] = {0.0, 0.0, 1.0, 2.0};
    const double gamma = 0.3, d2 = 1.0 + 4.0;
    anoma_model *m = fit_model("gamma=0.3 nu=0.5", x, 2, 2, NULL);
    double k = exp(-gamma * d2), rho = (1 + k) / 2;
    CHECK(test_close(score_one(m, x, 2), 0, 1e-7));
    CHECK(test_close(score_one(m, x + 2, 2), 0, 1e-7));
    const double mid[] = {0.5, 1.0}, far[] = {10, -3};
    CHECK(test_close(score_one(m, mid, 2), rho - exp(-gamma * d2 / 4), 1e-7));
    double far_k = (exp(-gamma * (100 + 9)) + exp(-gamma * (81 + 25))) / 2;
    CHECK(test_close(score_one(m, far, 2), rho - far_k, 1e-7));
    char text[1024];
    CHECK_OK(anoma_model_describe(m, text, sizeof text, NULL));
    CHECK(strstr(text, "support vectors: 2") && strstr(text, "kernel: rbf, gamma: 0.29999"));
    /* the detector's own threshold: outside the region = above 0 */
    double t = -1;
    CHECK_OK(anoma_model_auto_threshold(m, &t));
    CHECK(t == 0);
    anoma_model_free(m);

    /* linear kernel on two orthonormal points: K = I, a = (1/2, 1/2), G =
     * Ka = (1/2, 1/2), both free, rho = 1/2; score = 1/2 - (x.e1 + x.e2) / 2 */
    const double basis[] = {1, 0, 0, 1}, probe[] = {2, 1};
    m = fit_model("kernel=linear nu=0.5", basis, 2, 2, NULL);
    CHECK(test_close(score_one(m, probe, 2), 0.5 - 0.5 * 3, 1e-12));
    CHECK(test_close(score_one(m, basis, 2), 0, 1e-12));
    anoma_model_free(m);
}

enum { ROWS = 400, COLS = 3 };

static double *make_data(void)
{
    double *x = malloc(ROWS * COLS * sizeof *x);
    test_fill(x, ROWS * COLS, 12, 2000, 400.0);
    for (size_t i = 0; i < ROWS; i += 37)
        x[i * COLS] += 12; /* a few far rows */
    return x;
}

/* Every kernel: scores equal rho - sum a_i K(sv_i, x) with the a_i summing
 * to nu * l and each in [0, 1] (the constraints of the dual); batch, row
 * scorer and thread counts give the same bits. */
static void test_dual_constraints_and_paths(void)
{
    double *x = make_data();
    static const char *const kernels[] = {"kernel=rbf", "kernel=linear",
                                          "kernel=poly degree=2 coef0=1 gamma=0.1",
                                          "kernel=sigmoid gamma=0.01 coef0=0.5"};
    for (size_t k = 0; k < 4; k++) {
        char params[128];
        snprintf(params, sizeof params, "%s nu=0.2", kernels[k]);
        anoma_model *m = fit_model(params, x, ROWS, COLS, NULL);
        size_t size = 0;
        unsigned char *p = test_detector_payload(m, 0, &size);
        CHECK(p != NULL);
        uint64_t n_sv;
        memcpy(&n_sv, p + 4 + 4 + 24 + 8, 8);
        const double *coef = (const double *)(p + 48 + COLS * 8);
        double sum = 0;
        int bounded = 1;
        for (size_t s = 0; s < n_sv; s++) {
            sum += coef[s];
            bounded &= coef[s] > 0 && coef[s] <= 1;
        }
        CHECK(bounded);
        CHECK(test_close(sum, 0.2 * ROWS, 1e-9));
        CHECK(n_sv >= (uint64_t)(0.2 * ROWS)); /* nu bounds the share of support vectors */
        free(p);

        anoma_matrix view = anoma_matrix_f64(x, ROWS, COLS);
        double one[ROWS], all[ROWS], three[ROWS], rows[ROWS];
        CHECK_OK(anoma_model_score_detector(m, 0, &view, one));
        CHECK_OK(anoma_model_set_n_threads(m, 0));
        CHECK_OK(anoma_model_score_detector(m, 0, &view, all));
        CHECK_OK(anoma_model_set_n_threads(m, 3));
        CHECK_OK(anoma_model_score_detector(m, 0, &view, three));
        anoma_row_scorer *rs = NULL;
        CHECK_OK(anoma_row_scorer_create(m, &rs));
        for (size_t i = 0; i < ROWS; i++)
            CHECK_OK(anoma_row_scorer_score(rs, x + i * COLS, COLS, &rows[i], NULL));
        anoma_row_scorer_free(rs);
        CHECK(!memcmp(one, all, sizeof one) && !memcmp(one, three, sizeof one));
        CHECK(!memcmp(one, rows, sizeof one));
        anoma_model_free(m);
    }
    free(x);
}

/* The status of a default ocsvm's fit on ROWS x COLS values. */
static anoma_status fit_status(const double *x, const double *weights)
{
    anoma_model *m = NULL;
    CHECK_OK(anoma_model_create(NULL, &m));
    CHECK_OK(anoma_model_add_detector(m, "ocsvm", NULL, NULL));
    anoma_matrix view = anoma_matrix_f64(x, ROWS, COLS);
    anoma_status st = anoma_model_fit(m, &view, NULL, weights);
    anoma_model_free(m);
    return st;
}

/* A missing value is its feature's training mean, in fitting and scoring. */
static void test_missing_values(void)
{
    double *x = make_data(), *filled = malloc(ROWS * COLS * sizeof *x);
    double mean1 = 0;
    x[7 * COLS + 1] = NAN;
    for (size_t i = 0; i < ROWS; i++)
        if (i != 7)
            mean1 += x[i * COLS + 1];
    memcpy(filled, x, ROWS * COLS * sizeof *x);
    anoma_model *with_nan = fit_model("nu=0.3", x, ROWS, COLS, NULL);
    double row[COLS] = {1, NAN, 2};
    double nan_score = score_one(with_nan, row, COLS);
    /* the same model from the filled data: fill with the mean the library
     * computes (numpy's pairwise mean; a plain sum is within rounding) */
    mean1 /= ROWS - 1;
    filled[7 * COLS + 1] = mean1;
    anoma_model *plain = fit_model("nu=0.3", filled, ROWS, COLS, NULL);
    row[1] = mean1;
    CHECK(test_close(nan_score, score_one(plain, row, COLS), 1e-9));
    anoma_model_free(with_nan);
    anoma_model_free(plain);
    /* a feature with no value at all */
    for (size_t i = 0; i < ROWS; i++)
        x[i * COLS + 2] = NAN;
    CHECK_STATUS(fit_status(x, NULL), ANOMA_ERR_EMPTY);
    CHECK(strstr(anoma_last_error(), "feature 2") != NULL);
    free(filled);
    free(x);
}

/* Weights: a row of weight 0 is left out (with a numeric gamma, as "scale"
 * is computed over every row, as scikit-learn computes it); weight 1 is no
 * weight; all zero is an error. */
static void test_sample_weights(void)
{
    double *x = make_data(), w[ROWS];
    for (size_t i = 0; i < ROWS; i++)
        w[i] = i % 4 == 1 ? 0 : 1;
    double kept[ROWS * COLS];
    size_t n = 0;
    for (size_t i = 0; i < ROWS; i++)
        if (w[i] > 0)
            memcpy(kept + COLS * n++, x + i * COLS, COLS * sizeof *x);
    anoma_model *weighted = fit_model("gamma=0.5 nu=0.25", x, ROWS, COLS, w);
    anoma_model *removed = fit_model("gamma=0.5 nu=0.25", kept, n, COLS, NULL);
    size_t a_size = 0, b_size = 0;
    unsigned char *a = test_detector_payload(weighted, 0, &a_size);
    unsigned char *b = test_detector_payload(removed, 0, &b_size);
    /* the same solution; only the fill values (means over all rows) and the
     * support vectors' training rows (which count the left-out rows) differ */
    uint64_t n_sv;
    memcpy(&n_sv, a + 40, 8);
    size_t solution = a_size - 48 - COLS * 8 - 8 - n_sv * 8;
    CHECK(a_size == b_size && !memcmp(a + 48 + COLS * 8, b + 48 + COLS * 8, solution));
    free(a);
    free(b);
    for (size_t i = 0; i < ROWS; i++)
        w[i] = 1;
    anoma_model *ones = fit_model("gamma=0.5 nu=0.25", x, ROWS, COLS, w);
    anoma_model *none = fit_model("gamma=0.5 nu=0.25", x, ROWS, COLS, NULL);
    CHECK(score_one(ones, x, COLS) == score_one(none, x, COLS));
    memset(w, 0, sizeof w);
    CHECK_STATUS(fit_status(x, w), ANOMA_ERR_INVALID_ARGUMENT);
    CHECK(strstr(anoma_last_error(), "weight") != NULL);
    anoma_model_free(weighted);
    anoma_model_free(removed);
    anoma_model_free(ones);
    anoma_model_free(none);
    free(x);
}

/* An allocator that counts the bytes alive and their peak (a 16-byte
 * header before each block keeps its size). */
static size_t bytes_live, bytes_peak;

static void *sized(unsigned char *block, size_t size)
{
    if (!block)
        return NULL;
    memcpy(block, &size, sizeof size);
    bytes_live += size;
    bytes_peak = bytes_live > bytes_peak ? bytes_live : bytes_peak;
    return block + 16;
}

static void *peak_malloc(void *user, size_t size)
{
    (void)user;
    return sized(malloc(size + 16), size);
}

static void *peak_realloc(void *user, void *ptr, size_t size)
{
    (void)user;
    if (!ptr)
        return peak_malloc(user, size);
    unsigned char *block = (unsigned char *)ptr - 16;
    size_t old;
    memcpy(&old, block, sizeof old);
    unsigned char *grown = realloc(block, size + 16);
    if (!grown)
        return NULL;
    bytes_live -= old;
    return sized(grown, size);
}

static void peak_free(void *user, void *ptr)
{
    (void)user;
    if (!ptr)
        return;
    unsigned char *block = (unsigned char *)ptr - 16;
    size_t size;
    memcpy(&size, block, sizeof size);
    bytes_live -= size;
    free(block);
}

/* cache_size bounds the memory of a fit: with 0.5 MB its peak stays below
 * 0.5 MB plus the data's own arrays, where the whole kernel matrix would
 * take 16 MB, and with 200 MB it keeps far more; columns computed again
 * rather than kept give the same bits, and two columns are the least kept.
 * Shrinking changes the path, not the solution (within tol). */
static void test_cache_bound(void)
{
    enum { N = 2000, D = 2 };
    double *x = malloc(N * D * sizeof *x);
    test_fill(x, N * D, 5, 1000, 100.0);
    static double scores[4][N];
    const double mb[] = {200, 0.5, 0.000001, 200};
    /* the data's arrays: two copies of x, ten of l values, the cache's
     * index arrays */
    const size_t data_bytes = (2 * N * D + 16 * N) * sizeof(double);
    static const anoma_allocator peak = {peak_malloc, peak_realloc, peak_free, NULL};
    for (size_t k = 0; k < 4; k++) {
        /* training alone (the model's scoring of its training rows has
         * blocks of its own) */
        an_ocsvm_config cfg = {.kernel = AN_OCSVM_RBF, .degree = 3, .gamma_rule = 1, .nu = 0.5,
                               .tol = 1e-3, .max_iter = -1, .cache_mb = mb[k],
                               .shrinking = k != 3};
        an_fit_data data = {.x = x, .rows = N, .cols = D, .n_threads = 1};
        an_ocsvm svm;
        bytes_live = bytes_peak = 0;
        anoma_set_allocator(&peak);
        CHECK_OK(an_ocsvm_train(&cfg, &data, &svm));
        if (k == 0)
            CHECK(bytes_peak > 4 * 1048576); /* > 500 columns kept */
        if (k == 1)
            CHECK(bytes_peak <= 524288 + data_bytes);
        if (k == 2)
            CHECK(bytes_peak <= 2 * N * sizeof(float) + data_bytes);
        for (size_t i = 0; i < N; i++) {
            double scratch[1024];
            CHECK(an_ocsvm_scratch_bytes(&svm) <= sizeof scratch);
            an_ocsvm_score_row(&svm, x + i * D, scratch, &scores[k][i]);
        }
        an_ocsvm_free(&svm);
        anoma_set_allocator(NULL);
        CHECK(bytes_live == 0);
    }
    CHECK(!memcmp(scores[0], scores[1], sizeof scores[0]));
    CHECK(!memcmp(scores[0], scores[2], sizeof scores[0]));
    for (size_t i = 0; i < N; i++)
        CHECK(fabs(scores[3][i] - scores[0][i]) < 1e-2);
    free(x);
}

/* Every allocation failing in turn, in fitting: each is an error that
 * frees what it took, or (for a cache column) only slows the fit. */
static anoma_status fit_small(void *ctx)
{
    (void)ctx;
    double x[60];
    test_fill(x, 60, 3, 100, 10.0);
    an_ocsvm_config cfg = {.kernel = AN_OCSVM_RBF, .gamma_rule = 1, .nu = 0.5, .tol = 1e-3,
                           .max_iter = -1, .cache_mb = 200, .shrinking = 1};
    an_fit_data data = {.x = x, .rows = 30, .cols = 2, .n_threads = 1};
    an_ocsvm svm;
    anoma_status st = an_ocsvm_train(&cfg, &data, &svm);
    if (st == ANOMA_OK)
        an_ocsvm_free(&svm);
    return st;
}

static void test_allocation_failures(void)
{
    CHECK_ALLOC_FAILURES(fit_small, NULL);
}

/* max_iter stops the solver (and describe says so); 0 keeps the start. */
static void test_max_iter(void)
{
    double *x = make_data();
    anoma_model *m = fit_model("max_iter=3", x, ROWS, COLS, NULL);
    char text[1024];
    CHECK_OK(anoma_model_describe(m, text, sizeof text, NULL));
    CHECK(strstr(text, "solver iterations: 3 (stopped at max_iter)") != NULL);
    anoma_model_free(m);
    m = fit_model("max_iter=-1 nu=0.1", x, ROWS, COLS, NULL);
    CHECK_OK(anoma_model_describe(m, text, sizeof text, NULL));
    CHECK(strstr(text, "stopped") == NULL && strstr(text, "kernel: rbf") != NULL);
    anoma_model_free(m);
    free(x);
}

static void test_bad_parameters(void)
{
    static const test_bad_param bad[] = {
        {"kernel=precomputed", "kernel"}, {"gamma=0", "gamma"},       {"gamma=-1", "gamma"},
        {"gamma=big", "gamma"},           {"nu=0", "nu"},             {"nu=1.5", "nu"},
        {"tol=0", "tol"},                 {"cache_size=0", "cache_size"},
        {"degree=-1", "degree"},          {"max_iter=-2", "max_iter"}, {"shrinking=maybe", "shrinking"},
        {"coef0=nan", "coef0"},           {"C=1", "C"},
    };
    CHECK_BAD_DETECTOR_PARAMS("ocsvm", bad);
}

/* ---- payloads ---- */

/* Every field checked: codes, numbers, counts, values; every truncation. */
static void test_hostile_payloads(void)
{
    double *x = make_data();
    anoma_model *m = fit_model("nu=0.05", x, ROWS, COLS, NULL);
    size_t size = 0;
    unsigned char *good = test_detector_payload(m, 0, &size);
    uint64_t n_sv;
    memcpy(&n_sv, good + 40, 8);
    size_t rows_at = size - 8 * n_sv; /* the support vectors' training rows */
    const test_payload_edit edits[] = {
        {0, TEST_U32, 4, "kernel code"},     {4, TEST_U32, 1001, "degree"},
        {8, TEST_F64, 0, "gamma"},           {8, TEST_F64, -1, "gamma"},
        {8, TEST_F64, NAN, "gamma"},         {16, TEST_F64, INFINITY, "coef0"},
        {24, TEST_F64, NAN, "rho"},          {40, TEST_U64, 0, "no support vector"},
        {40, TEST_U64, 1e18, "detector"},    {40, TEST_U64, 4294967297.0, "detector"},
        {48, TEST_F64, NAN, "fill value of feature 0"},
        {48 + COLS * 8, TEST_F64, INFINITY, "dual coefficient of support vector 0"},
        {rows_at - 16, TEST_F64, NAN, "support vector"},
        {rows_at - 8, TEST_U64, 1, "support-vector rows"},
        {rows_at + 8, TEST_U64, 0, "training row of support vector 1"},
    };
    CHECK_HOSTILE_PAYLOAD("ocsvm", good, size, COLS, 97, edits);
    free(good);
    anoma_model_free(m);
    free(x);
}

/* Each support vector keeps its row in the training data, rows of weight
 * 0 counted (the payload's last block); a version-1 payload, without that
 * block, still loads, with the rows unknown. */
static void test_support_rows(void)
{
    double *x = make_data(), w[ROWS];
    for (size_t i = 0; i < ROWS; i++)
        w[i] = i % 5 == 1 ? 0.0 : 1.0;
    anoma_model *m = fit_model("nu=0.3", x, ROWS, COLS, w);
    size_t size = 0;
    unsigned char *p = test_detector_payload(m, 0, &size);
    uint64_t n_sv, n_rows;
    memcpy(&n_sv, p + 40, 8);
    size_t sv_at = 48 + COLS * 8 + n_sv * 8, rows_at = sv_at + n_sv * COLS * 8;
    CHECK(rows_at + 8 + n_sv * 8 == size);
    memcpy(&n_rows, p + rows_at, 8);
    CHECK(n_rows == n_sv);
    uint64_t previous = 0;
    for (size_t s = 0; s < n_sv && n_rows == n_sv; s++) {
        uint64_t row;
        memcpy(&row, p + rows_at + 8 + s * 8, 8);
        CHECK(row < ROWS && (s == 0 || row > previous) && w[row] > 0);
        CHECK(!memcmp(p + sv_at + s * COLS * 8, x + row * COLS, COLS * 8));
        previous = row;
    }
    an_ocsvm svm;
    an_reader r = an_reader_make(p, rows_at, "version 1");
    CHECK_OK(an_ocsvm_load(&svm, &r, COLS, 1));
    CHECK(svm.n_sv == n_sv && svm.support == NULL);
    an_ocsvm_free(&svm);
    r = an_reader_make(p, rows_at, "version 2 without rows");
    CHECK(an_ocsvm_load(&svm, &r, COLS, 2) == ANOMA_ERR_FORMAT);
    free(p);
    anoma_model_free(m);
    free(x);
}

/* A saved model loads and scores the same bits; its describe says what a
 * loaded model knows. */
static void test_save_load(void)
{
    double *x = make_data();
    anoma_model *m = fit_model("kernel=poly degree=4 gamma=0.2 coef0=0.5 nu=0.1", x, ROWS, COLS,
                               NULL);
    anoma_model *back = TEST_RELOADED(m, NULL, NULL);
    anoma_matrix view = anoma_matrix_f64(x, ROWS, COLS);
    double a[ROWS], b[ROWS];
    CHECK_OK(anoma_model_score(m, &view, a));
    CHECK_OK(anoma_model_score(back, &view, b));
    CHECK(!memcmp(a, b, sizeof a));
    char text[1024];
    CHECK_OK(anoma_model_describe(back, text, sizeof text, NULL));
    CHECK(strstr(text, "kernel: poly, gamma: 0.2") && strstr(text, "degree: 4") &&
          strstr(text, "coef0: 0.5") && strstr(text, "rho: ") && strstr(text, "memory: "));
    anoma_model_free(back);
    anoma_model_free(m);
    free(x);
}

/* Scoring's exp: within 1e-15 relative of the C library's from -708 to
 * 709, 0 below, and the same bits in a vector body as alone. */
static void test_exp(void)
{
    enum { N = 4001 };
    static double v[N], x[N];
    for (size_t i = 0; i < N; i++)
        x[i] = v[i] = -720.0 + 0.18 * (double)i + 1e-3 * (double)(i % 7);
    an_ocsvm_exp(v, N);
    int close = 1, alone = 1;
    for (size_t i = 0; i < N; i++) {
        double want = x[i] < -708 ? 0 : exp(x[i]);
        close &= fabs(v[i] - want) <= 1e-15 * want;
        double one = x[i];
        an_ocsvm_exp(&one, 1);
        alone &= one == v[i];
    }
    CHECK(close && alone);
    double special[] = {0.0, -0.0, 1e-300, -1e-17, 709.0, -708.0};
    an_ocsvm_exp(special, 6);
    CHECK(special[0] == 1 && special[1] == 1 && special[2] == 1 && special[3] == 1);
    CHECK(fabs(special[4] - exp(709.0)) <= 1e-15 * exp(709.0));
    CHECK(fabs(special[5] - exp(-708.0)) <= 1e-15 * exp(-708.0));
}

int main(void)
{
    RUN(test_two_points_closed_form);
    RUN(test_exp);
    RUN(test_dual_constraints_and_paths);
    RUN(test_missing_values);
    RUN(test_sample_weights);
    RUN(test_cache_bound);
    RUN(test_allocation_failures);
    RUN(test_max_iter);
    RUN(test_bad_parameters);
    RUN(test_hostile_payloads);
    RUN(test_save_load);
    RUN(test_support_rows);
    return test_summary();
}
