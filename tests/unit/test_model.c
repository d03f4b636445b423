/* The model bundle: building, bad input, thresholds, ensembles, files, row
 * scoring, allocation failures. Detector maths is tested per detector; here
 * the statistical detectors serve as simple, exactly known scorers. */
#include "testing.h"

#include "core/alloc.h"
#include "io/format.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { ROWS = 200, COLS = 3 };
static double data[ROWS * COLS];

static void make_data(void)
{
    /* Deterministic, irregular values with a few planted outliers. */
    test_fill(data, ROWS * COLS, 12345u, 10000, 1000.0);
    data[7 * COLS + 1] = 80;
    data[50 * COLS + 0] = -40;
}

static anoma_model *fitted(const char *model_params, const char *detector, const char *params)
{
    return test_fit_one(model_params, detector, params, data, ROWS, COLS);
}

static void test_bad_construction(void)
{
    anoma_model *m = NULL;
    CHECK_STATUS(anoma_model_create("contamination=0.7", &m), ANOMA_ERR_PARAM_VALUE);
    CHECK(strstr(anoma_last_error(), "contamination") != NULL);
    CHECK(m == NULL);
    CHECK_STATUS(anoma_model_create("n_trees=5", &m), ANOMA_ERR_UNKNOWN_PARAM);
    CHECK(strstr(anoma_last_error(), "n_trees") != NULL);
    CHECK_OK(anoma_model_create(NULL, &m));
    CHECK_STATUS(anoma_model_add_detector(m, "no_such", NULL, NULL), ANOMA_ERR_UNKNOWN_NAME);
    CHECK(strstr(anoma_last_error(), "zscore") != NULL); /* lists the known ones */
    CHECK_STATUS(anoma_model_add_detector(m, "zscore", "bogus=1", NULL), ANOMA_ERR_UNKNOWN_PARAM);
    CHECK(anoma_model_n_detectors(m) == 0);
    anoma_matrix x = anoma_matrix_f64(data, ROWS, COLS);
    CHECK_STATUS(anoma_model_fit(m, &x, NULL, NULL), ANOMA_ERR_EMPTY);
    size_t index = 99;
    CHECK_OK(anoma_model_add_detector(m, "zscore", NULL, &index));
    CHECK(index == 0);
    CHECK_STATUS(anoma_model_set_detector_param(m, 0, "combine", "median"), ANOMA_ERR_PARAM_VALUE);
    CHECK_STATUS(anoma_model_set_detector_param(m, 3, "combine", "max"), ANOMA_ERR_INVALID_ARGUMENT);
    CHECK_OK(anoma_model_set_detector_param(m, 0, "combine", "mean"));
    char text[256];
    size_t needed = 0;
    CHECK_OK(anoma_model_detector_params(m, 0, text, sizeof text, &needed));
    CHECK(!strcmp(text, "ddof=0 combine=mean"));
    CHECK(needed == strlen(text));
    CHECK_OK(anoma_model_params(m, text, 8, &needed)); /* cut to fit, full length reported */
    CHECK(strlen(text) == 7 && needed > 7);
    CHECK_STATUS(anoma_model_detector_params(m, 1, text, sizeof text, NULL), ANOMA_ERR_INVALID_ARGUMENT);
    anoma_model_free(m);
    anoma_model_free(NULL);
}

static void test_bad_input(void)
{
    anoma_model *m = NULL;
    CHECK_OK(anoma_model_create(NULL, &m));
    CHECK_OK(anoma_model_add_detector(m, "zscore", NULL, NULL));
    anoma_matrix x = anoma_matrix_f64(data, 0, COLS);
    CHECK_STATUS(anoma_model_fit(m, &x, NULL, NULL), ANOMA_ERR_EMPTY);
    x = anoma_matrix_f64(data, ROWS, 0);
    CHECK_STATUS(anoma_model_fit(m, &x, NULL, NULL), ANOMA_ERR_EMPTY);
    x = anoma_matrix_f64(NULL, ROWS, COLS);
    CHECK_STATUS(anoma_model_fit(m, &x, NULL, NULL), ANOMA_ERR_INVALID_ARGUMENT);
    x = anoma_matrix_f64(data, ROWS, COLS);
    x.row_stride = 2;
    CHECK_STATUS(anoma_model_fit(m, &x, NULL, NULL), ANOMA_ERR_SHAPE);
    CHECK_STATUS(anoma_model_fit(m, NULL, NULL, NULL), ANOMA_ERR_INVALID_ARGUMENT);

    double bad[6] = {1, 2, 3, INFINITY, 5, 6};
    x = anoma_matrix_f64(bad, 2, 3);
    CHECK_STATUS(anoma_model_fit(m, &x, NULL, NULL), ANOMA_ERR_NONFINITE);
    CHECK(strstr(anoma_last_error(), "row 1") != NULL);
    int labels[2] = {0, 2};
    double ok[6] = {1, 2, 3, 4, 5, 6};
    x = anoma_matrix_f64(ok, 2, 3);
    CHECK_STATUS(anoma_model_fit(m, &x, labels, NULL), ANOMA_ERR_INVALID_ARGUMENT);
    double weights[2] = {1, -1};
    CHECK_STATUS(anoma_model_fit(m, &x, NULL, weights), ANOMA_ERR_INVALID_ARGUMENT);
    CHECK(!anoma_model_is_fitted(m));

    double scores[ROWS];
    x = anoma_matrix_f64(data, ROWS, COLS);
    CHECK_STATUS(anoma_model_score(m, &x, scores), ANOMA_ERR_NOT_FITTED);
    double t;
    CHECK_STATUS(anoma_model_threshold(m, &t), ANOMA_ERR_NOT_FITTED);
    CHECK_OK(anoma_model_fit(m, &x, NULL, NULL)); /* still fittable after the errors */
    CHECK_STATUS(anoma_model_fit(m, &x, NULL, NULL), ANOMA_ERR_UNSUPPORTED);
    x = anoma_matrix_f64(data, ROWS / 2, 2);
    CHECK_STATUS(anoma_model_score(m, &x, scores), ANOMA_ERR_SHAPE);
    x = anoma_matrix_f64(bad, 2, 3);
    CHECK_STATUS(anoma_model_score(m, &x, scores), ANOMA_ERR_NONFINITE);
    CHECK_STATUS(anoma_model_add_detector(m, "mad", NULL, NULL), ANOMA_ERR_UNSUPPORTED);
    CHECK_STATUS(anoma_model_set_param(m, "contamination", "0.2"), ANOMA_ERR_UNSUPPORTED);
    anoma_model_free(m);
}

static int compare(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void test_threshold_and_predict(void)
{
    anoma_model *m = fitted("contamination=0.05", "zscore", NULL);
    anoma_matrix x = anoma_matrix_f64(data, ROWS, COLS);
    double scores[ROWS], sorted[ROWS], t;
    int flags[ROWS];
    CHECK_OK(anoma_model_score(m, &x, scores));
    CHECK_OK(anoma_model_threshold(m, &t));
    /* numpy.percentile(scores, 95): position 0.95 * 199 = 189.05 */
    memcpy(sorted, scores, sizeof sorted);
    qsort(sorted, ROWS, sizeof *sorted, compare);
    CHECK_NEAR(t, sorted[189] + (sorted[190] - sorted[189]) * 0.05, 1e-15);
    CHECK_OK(anoma_model_predict(m, &x, flags));
    size_t flagged = 0;
    for (size_t i = 0; i < ROWS; i++) {
        CHECK(flags[i] == (scores[i] > t));
        flagged += (size_t)flags[i];
    }
    CHECK(flagged == 10); /* 5% of 200: positions 190..199 lie above */
    CHECK(flags[7] && flags[50]);
    /* A fixed threshold replaces the quantile, even after fitting. */
    CHECK_OK(anoma_model_set_param(m, "threshold", "1e9"));
    CHECK_OK(anoma_model_threshold(m, &t));
    CHECK(t == 1e9);
    CHECK_OK(anoma_model_predict(m, &x, flags));
    for (size_t i = 0; i < ROWS; i++)
        CHECK(flags[i] == 0);
    anoma_model_free(m);
}

static void test_ensemble(void)
{
    /* ensemble=mean over standardised scores, checked against the two
     * one-detector models' raw scores. */
    anoma_model *a = fitted(NULL, "zscore", NULL);
    anoma_model *b = fitted(NULL, "mad", NULL);
    anoma_model *e = NULL;
    CHECK_OK(anoma_model_create("ensemble=mean", &e));
    CHECK_OK(anoma_model_add_detector(e, "zscore", NULL, NULL));
    CHECK_OK(anoma_model_add_detector(e, "mad", NULL, NULL));
    anoma_matrix x = anoma_matrix_f64(data, ROWS, COLS);
    CHECK_OK(anoma_model_fit(e, &x, NULL, NULL));
    double sa[ROWS], sb[ROWS], se[ROWS], raw[ROWS];
    CHECK_OK(anoma_model_score(a, &x, sa));
    CHECK_OK(anoma_model_score(b, &x, sb));
    CHECK_OK(anoma_model_score(e, &x, se));
    CHECK_OK(anoma_model_score_detector(e, 1, &x, raw));
    double ma = 0, mb = 0, va = 0, vb = 0;
    for (size_t i = 0; i < ROWS; i++) {
        ma += sa[i] / ROWS;
        mb += sb[i] / ROWS;
        CHECK(raw[i] == sb[i]);
    }
    for (size_t i = 0; i < ROWS; i++) {
        va += (sa[i] - ma) * (sa[i] - ma) / ROWS;
        vb += (sb[i] - mb) * (sb[i] - mb) / ROWS;
    }
    for (size_t i = 0; i < ROWS; i++)
        CHECK_NEAR(se[i], ((sa[i] - ma) / sqrt(va) + (sb[i] - mb) / sqrt(vb)) / 2, 1e-12);
    anoma_model_free(a);
    anoma_model_free(b);
    anoma_model_free(e);
}

static void test_views_and_threads(void)
{
    anoma_model *m1 = fitted("n_threads=1", "iqr", NULL);
    anoma_model *m4 = fitted("n_threads=4", "iqr", NULL);
    float f32[ROWS * COLS];
    double wide[ROWS * (COLS + 2)];
    for (size_t i = 0; i < ROWS; i++)
        for (size_t j = 0; j < COLS; j++) {
            f32[i * COLS + j] = (float)data[i * COLS + j];
            wide[i * (COLS + 2) + j] = data[i * COLS + j];
        }
    anoma_matrix x = anoma_matrix_f64(data, ROWS, COLS);
    anoma_matrix strided = {wide, ROWS, COLS, COLS + 2, ANOMA_F64};
    double s1[ROWS], s4[ROWS], ss[ROWS], sf[ROWS], sf_ref[ROWS];
    CHECK_OK(anoma_model_score(m1, &x, s1));
    CHECK_OK(anoma_model_score(m4, &x, s4));
    CHECK_OK(anoma_model_score(m1, &strided, ss));
    CHECK(!memcmp(s1, s4, sizeof s1));
    CHECK(!memcmp(s1, ss, sizeof s1));
    /* n_threads is how a process runs a model, not part of it: same bytes. */
    unsigned char b1[4096], b4[4096];
    size_t n1 = 0, n4 = 0;
    CHECK_OK(anoma_model_save_memory(m1, b1, sizeof b1, &n1));
    CHECK_OK(anoma_model_save_memory(m4, b4, sizeof b4, &n4));
    CHECK(n1 == n4 && !memcmp(b1, b4, n1));
    /* float input equals the same values given as doubles */
    double widened[ROWS * COLS];
    for (size_t i = 0; i < ROWS * COLS; i++)
        widened[i] = f32[i];
    anoma_matrix xf = anoma_matrix_f32(f32, ROWS, COLS), xw = anoma_matrix_f64(widened, ROWS, COLS);
    CHECK_OK(anoma_model_score(m1, &xf, sf));
    CHECK_OK(anoma_model_score(m1, &xw, sf_ref));
    CHECK(!memcmp(sf, sf_ref, sizeof sf));
    anoma_model_free(m1);
    anoma_model_free(m4);
}

static void test_row_scorer(void)
{
    anoma_model *m = fitted(NULL, "mad", "combine=l2");
    anoma_matrix x = anoma_matrix_f64(data, ROWS, COLS);
    double scores[ROWS], t;
    int flags[ROWS];
    CHECK_OK(anoma_model_score(m, &x, scores));
    CHECK_OK(anoma_model_predict(m, &x, flags));
    CHECK_OK(anoma_model_threshold(m, &t));
    anoma_row_scorer *s = NULL;
    CHECK_OK(anoma_row_scorer_create(m, &s));
    for (size_t i = 0; i < ROWS; i++) {
        double score;
        int flag;
        CHECK_OK(anoma_row_scorer_score(s, data + i * COLS, COLS, &score, &flag));
        CHECK(score == scores[i] && flag == flags[i]);
    }
    /* per-feature scores of one row equal the batch call's */
    double per_batch[ROWS * COLS], per_row[COLS];
    CHECK_OK(anoma_model_feature_scores(m, 0, &x, per_batch));
    for (size_t i = 0; i < ROWS; i++) {
        CHECK_OK(anoma_row_scorer_feature_scores(s, 0, data + i * COLS, COLS, per_row));
        CHECK(!memcmp(per_row, per_batch + i * COLS, sizeof per_row));
    }
    CHECK_STATUS(anoma_row_scorer_feature_scores(s, 1, data, COLS, per_row),
                 ANOMA_ERR_INVALID_ARGUMENT);
    double row[COLS] = {1, INFINITY, 2}, score;
    CHECK_STATUS(anoma_row_scorer_feature_scores(s, 0, row, COLS, per_row), ANOMA_ERR_NONFINITE);
    CHECK_STATUS(anoma_row_scorer_score(s, row, COLS, &score, NULL), ANOMA_ERR_NONFINITE);
    CHECK_STATUS(anoma_row_scorer_score(s, row, COLS - 1, &score, NULL), ANOMA_ERR_SHAPE);
    CHECK_STATUS(anoma_row_scorer_score(s, NULL, COLS, &score, NULL), ANOMA_ERR_INVALID_ARGUMENT);
    anoma_row_scorer_free(s);
    anoma_row_scorer_free(NULL);
    anoma_model *unfitted = NULL;
    CHECK_OK(anoma_model_create(NULL, &unfitted));
    CHECK_STATUS(anoma_row_scorer_create(unfitted, &s), ANOMA_ERR_NOT_FITTED);
    anoma_model_free(unfitted);
    anoma_model_free(m);
}

static void test_feature_scores(void)
{
    anoma_model *m = fitted(NULL, "zscore", "combine=max");
    anoma_matrix x = anoma_matrix_f64(data, ROWS, COLS);
    double per[ROWS * COLS], scores[ROWS];
    CHECK_OK(anoma_model_feature_scores(m, 0, &x, per));
    CHECK_OK(anoma_model_score(m, &x, scores));
    for (size_t i = 0; i < ROWS; i++) {
        double max = per[i * COLS];
        for (size_t j = 1; j < COLS; j++)
            max = fmax(max, per[i * COLS + j]);
        CHECK(max == scores[i]);
    }
    CHECK_STATUS(anoma_model_feature_scores(m, 1, &x, per), ANOMA_ERR_INVALID_ARGUMENT);
    anoma_model_free(m);
}

/* Save to memory and to a file; both load and score bit-identically. */
static void test_save_load(void)
{
    anoma_model *e = NULL;
    CHECK_OK(anoma_model_create("ensemble=max normalize=minmax contamination=0.02", &e));
    CHECK_OK(anoma_model_add_detector(e, "zscore", "ddof=1", NULL));
    CHECK_OK(anoma_model_add_detector(e, "iqr", NULL, NULL));
    const char *names[COLS] = {"temperature", "pressure", "flow"};
    CHECK_OK(anoma_model_set_feature_names(e, names, COLS));
    anoma_matrix x = anoma_matrix_f64(data, ROWS, COLS);
    CHECK_OK(anoma_model_fit(e, &x, NULL, NULL));

    size_t size = 0;
    CHECK_OK(anoma_model_save_memory(e, NULL, 0, &size));
    CHECK(size > 24);
    unsigned char *buf = malloc(size);
    size_t small = 0;
    CHECK_STATUS(anoma_model_save_memory(e, buf, size - 1, &small), ANOMA_ERR_BUFFER_TOO_SMALL);
    CHECK(small == size);
    CHECK_OK(anoma_model_save_memory(e, buf, size, &size));

    anoma_model *back = NULL;
    CHECK_OK(anoma_model_load_memory(buf, size, &back));
    char path[] = "/tmp/anoma_test_model_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    close(fd);
    CHECK_OK(anoma_model_save(e, path));
    anoma_model *from_file = NULL;
    CHECK_OK(anoma_model_load(path, &from_file));
    unlink(path);

    double s0[ROWS], s1[ROWS], s2[ROWS], t0, t1;
    CHECK_OK(anoma_model_score(e, &x, s0));
    CHECK_OK(anoma_model_score(back, &x, s1));
    CHECK_OK(anoma_model_score(from_file, &x, s2));
    CHECK(!memcmp(s0, s1, sizeof s0) && !memcmp(s0, s2, sizeof s0));
    CHECK_OK(anoma_model_threshold(e, &t0));
    CHECK_OK(anoma_model_threshold(back, &t1));
    CHECK(t0 == t1);
    CHECK(anoma_model_n_features(back) == COLS && anoma_model_n_detectors(back) == 2);
    CHECK(!strcmp(anoma_model_feature_name(back, 2), "flow"));
    CHECK(!strcmp(anoma_model_detector_name(back, 1), "iqr"));

    /* The description says what the model holds. */
    size_t needed = 0;
    CHECK_OK(anoma_model_describe(back, NULL, 0, &needed));
    char *text = malloc(needed + 1);
    CHECK_OK(anoma_model_describe(back, text, needed + 1, &needed));
    CHECK(strstr(text, "iqr") && strstr(text, "pressure") && strstr(text, "ddof=1"));
    free(text);

    /* Every truncation and every single-bit flip is refused cleanly. */
    for (size_t n = 0; n < size; n++) {
        anoma_model *bad = NULL;
        CHECK(anoma_model_load_memory(buf, n, &bad) != ANOMA_OK && bad == NULL);
    }
    int accepted_flips = 0;
    for (size_t bit = 0; bit < size * 8; bit++) {
        buf[bit / 8] ^= (unsigned char)(1u << (bit % 8));
        anoma_model *bad = NULL;
        if (anoma_model_load_memory(buf, size, &bad) == ANOMA_OK) {
            accepted_flips++;
            anoma_model_free(bad);
        }
        buf[bit / 8] ^= (unsigned char)(1u << (bit % 8));
    }
    CHECK(accepted_flips == 0);
    anoma_model *missing = NULL;
    CHECK_STATUS(anoma_model_load("/nonexistent/model.anoma", &missing), ANOMA_ERR_IO);
    CHECK(missing == NULL);
    free(buf);
    anoma_model_free(e);
    anoma_model_free(from_file);
    anoma_model_free(back);
}

static void test_import_detector(void)
{
    anoma_model *source = fitted(NULL, "iqr", "combine=mean");
    size_t size = 0;
    unsigned char *payload = test_detector_payload(source, 0, &size);
    CHECK(payload != NULL);

    anoma_model *m = NULL;
    CHECK_OK(anoma_model_create(NULL, &m));
    CHECK_STATUS(anoma_model_import_detector(m, "iqr", "combine=mean", payload, size, COLS),
                 ANOMA_ERR_UNSUPPORTED); /* no threshold to use */
    CHECK_OK(anoma_model_set_param(m, "threshold", "0.75"));
    CHECK_STATUS(anoma_model_import_detector(m, "iqr", NULL, payload, size - 1, COLS),
                 ANOMA_ERR_FORMAT);
    CHECK_STATUS(anoma_model_import_detector(m, "iqr", NULL, payload, size, COLS + 1),
                 ANOMA_ERR_FORMAT);
    CHECK_STATUS(anoma_model_import_detector(m, "nope", NULL, payload, size, COLS),
                 ANOMA_ERR_UNKNOWN_NAME);
    CHECK(!anoma_model_is_fitted(m) && anoma_model_n_detectors(m) == 0);
    CHECK_OK(anoma_model_import_detector(m, "iqr", "combine=mean", payload, size, COLS));
    CHECK(anoma_model_is_fitted(m) && anoma_model_n_features(m) == COLS);

    anoma_matrix x = anoma_matrix_f64(data, ROWS, COLS);
    double s0[ROWS], s1[ROWS], t;
    int flags[ROWS];
    CHECK_OK(anoma_model_score(source, &x, s0));
    CHECK_OK(anoma_model_score(m, &x, s1));
    CHECK(!memcmp(s0, s1, sizeof s0));
    CHECK_OK(anoma_model_threshold(m, &t));
    CHECK(t == 0.75);
    CHECK_OK(anoma_model_predict(m, &x, flags));
    for (size_t i = 0; i < ROWS; i++)
        CHECK(flags[i] == (s1[i] > 0.75));
    CHECK_STATUS(anoma_model_import_detector(m, "iqr", NULL, payload, size, COLS),
                 ANOMA_ERR_UNSUPPORTED); /* already fitted */
    free(payload);
    anoma_model_free(m);
    anoma_model_free(source);
}

/* anoma_model_detector_payload gives the bytes of the model file's
 * detector section (read by the test's own decoder), sized as snprintf. */
static anoma_status copy_payload(void *ctx)
{
    unsigned char buf[4096];
    size_t size = 0;
    return anoma_model_detector_payload(ctx, 0, buf, sizeof buf, &size);
}

static void test_detector_payload_export(void)
{
    anoma_model *m = NULL;
    size_t size = 0, again = 0;
    CHECK_OK(anoma_model_create("ensemble=max", &m));
    CHECK_OK(anoma_model_add_detector(m, "zscore", "ddof=1", NULL));
    CHECK_OK(anoma_model_add_detector(m, "iforest", "n_trees=5", NULL));
    anoma_matrix x = anoma_matrix_f64(data, ROWS, COLS);
    CHECK_OK(anoma_model_fit(m, &x, NULL, NULL));
    for (size_t k = 0; k < 2; k++) {
        size_t want_size = 0;
        uint32_t want_version = 0, version = 0;
        unsigned char *want = test_detector_payload_versioned(m, k, &want_size, &want_version);
        /* the version of the bytes: the one the file records beside them */
        CHECK_OK(anoma_model_detector_payload_version(m, k, &version));
        CHECK(version == want_version && version >= 1);
        CHECK_OK(anoma_model_detector_payload(m, k, NULL, 0, &size));
        if (!want || size != want_size) {
            test_fail(__FILE__, __LINE__, "detector %zu: %zu bytes, the file holds %zu", k, size,
                      want_size);
            free(want);
            continue;
        }
        unsigned char *got = malloc(size);
        CHECK_STATUS(anoma_model_detector_payload(m, k, got, size - 1, &again),
                     ANOMA_ERR_BUFFER_TOO_SMALL);
        CHECK(again == size);
        CHECK_OK(anoma_model_detector_payload(m, k, got, size, &again));
        CHECK(again == size && !memcmp(got, want, size));
        free(got);
        free(want);
    }
    CHECK_STATUS(anoma_model_detector_payload(m, 2, NULL, 0, &size), ANOMA_ERR_INVALID_ARGUMENT);
    CHECK(strstr(anoma_last_error(), "index 2") != NULL);
    CHECK_STATUS(anoma_model_detector_payload(m, 0, NULL, 0, NULL), ANOMA_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(anoma_model_detector_payload(NULL, 0, NULL, 0, &size),
                 ANOMA_ERR_INVALID_ARGUMENT);
    uint32_t version = 0;
    CHECK_STATUS(anoma_model_detector_payload_version(m, 2, &version),
                 ANOMA_ERR_INVALID_ARGUMENT);
    CHECK(strstr(anoma_last_error(), "detector index 2: the model has 2") != NULL);
    CHECK_STATUS(anoma_model_detector_payload_version(m, 0, NULL), ANOMA_ERR_INVALID_ARGUMENT);
    long failures = test_alloc_failures(__FILE__, __LINE__, copy_payload, m);
    CHECK(failures >= 1);
    anoma_model_free(m);

    CHECK_OK(anoma_model_create(NULL, &m));
    CHECK_OK(anoma_model_add_detector(m, "zscore", NULL, NULL));
    CHECK_STATUS(anoma_model_detector_payload(m, 0, NULL, 0, &size), ANOMA_ERR_NOT_FITTED);
    anoma_model_free(m);
    m = fitted(NULL, "lof", "n_neighbors=5");
    CHECK_STATUS(anoma_model_detector_payload(m, 0, NULL, 0, &size), ANOMA_ERR_UNSUPPORTED);
    CHECK(strstr(anoma_last_error(), "lof") != NULL);
    anoma_model_free(m);
}

/* Run the whole life of a model with allocation k failing, for every k
 * until one run needs no failure: each run must fail cleanly, not leak. */
static void test_allocation_failures(void)
{
    int completed = 0;
    for (long k = 0; k < 10000 && !completed; k++) {
        test_alloc_install(k);
        anoma_model *m = NULL, *back = NULL;
        anoma_row_scorer *s = NULL;
        anoma_matrix x = anoma_matrix_f64(data, ROWS, COLS);
        double scores[ROWS], score;
        unsigned char buf[8192];
        size_t size = 0;
        anoma_status st = anoma_model_create("ensemble=max", &m);
        if (st == ANOMA_OK)
            st = anoma_model_add_detector(m, "zscore", NULL, NULL);
        if (st == ANOMA_OK)
            st = anoma_model_add_detector(m, "mad", NULL, NULL);
        if (st == ANOMA_OK)
            st = anoma_model_fit(m, &x, NULL, NULL);
        if (st == ANOMA_OK)
            st = anoma_model_score(m, &x, scores);
        if (st == ANOMA_OK)
            st = anoma_model_save_memory(m, buf, sizeof buf, &size);
        if (st == ANOMA_OK)
            st = anoma_model_load_memory(buf, size, &back);
        if (st == ANOMA_OK)
            st = anoma_row_scorer_create(back, &s);
        if (st == ANOMA_OK)
            st = anoma_row_scorer_score(s, data, COLS, &score, NULL);
        if (st != ANOMA_OK && st != ANOMA_ERR_NO_MEMORY)
            test_fail(__FILE__, __LINE__, "k=%ld: %s: %s", k, anoma_status_str(st), anoma_last_error());
        completed = st == ANOMA_OK;
        anoma_row_scorer_free(s);
        anoma_model_free(back);
        anoma_model_free(m);
        if (test_alloc_live() != 0)
            test_fail(__FILE__, __LINE__, "k=%ld: %ld blocks leaked", k, test_alloc_live());
        test_alloc_restore();
    }
    CHECK(completed);
    anoma_allocator incomplete = {NULL, NULL, NULL, NULL};
    CHECK_STATUS(anoma_set_allocator(&incomplete), ANOMA_ERR_INVALID_ARGUMENT);
}

static void test_components(void)
{
    CHECK(!strcmp(anoma_component_name(ANOMA_KIND_MODEL, 0), "model"));
    CHECK(anoma_component_name(ANOMA_KIND_MODEL, 1) == NULL);
    int found = 0;
    for (size_t i = 0; anoma_component_name(ANOMA_KIND_DETECTOR, i); i++)
        found += !strcmp(anoma_component_name(ANOMA_KIND_DETECTOR, i), "zscore");
    CHECK(found == 1);
    anoma_param_info info;
    size_t n = 0;
    while (anoma_component_param(ANOMA_KIND_MODEL, "model", n, &info) == ANOMA_OK) {
        CHECK(info.key && info.doc && *info.doc && info.default_value);
        n++;
    }
    CHECK(n >= 4);
    CHECK_STATUS(anoma_component_param(ANOMA_KIND_DETECTOR, "nope", 0, &info), ANOMA_ERR_UNKNOWN_NAME);
    CHECK(anoma_component_summary(ANOMA_KIND_DETECTOR, "mad") != NULL);
}

int main(void)
{
    make_data();
    RUN(test_bad_construction);
    RUN(test_bad_input);
    RUN(test_threshold_and_predict);
    RUN(test_ensemble);
    RUN(test_views_and_threads);
    RUN(test_row_scorer);
    RUN(test_feature_scores);
    RUN(test_save_load);
    RUN(test_import_detector);
    RUN(test_detector_payload_export);
    RUN(test_allocation_failures);
    RUN(test_components);
    return test_summary();
}
