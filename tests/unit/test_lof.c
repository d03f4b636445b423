/* The "lof" detector through the public API, on cases computed by hand; the
 * comparison with scikit-learn on the shared data is tests/python/test_lof.py.
 * Here: outlier and novelty scores of a tiny line, the threshold rules,
 * batch = row scorer = saved and reloaded model, every truncation of the
 * saved bytes refused, missing values refused by name, allocation failures. */
#include "testing.h"
#include "anoma/stream.h"

#include <stdlib.h>
#include <string.h>

static const double G = 1e-10; /* scikit-learn's guard in the lrd */

/* Points 0, 1, 3, k = 1: neighbours 1, 0, 1; k-distances 1, 1, 2; reach
 * distances 1, 1, 2; LOF 1, 1, (2 + g)/(1 + g). A new point 6: neighbour 3
 * at 3, reach max(3, 2) = 3, LOF (3 + g)/(2 + g); a new point 0.5: neighbour
 * 0 (a tie with 1: the lower index) at 0.5, reach max(0.5, 1) = 1, LOF 1. */
static void test_line_by_hand(void)
{
    const double x[3] = {0, 1, 3};
    anoma_model *m = test_fit_one("contamination=auto", "lof", "n_neighbors=1", x, 3, 1);
    double train[3], needed_check[1];
    size_t needed = 0;
    CHECK_OK(anoma_model_training_scores(m, 0, NULL, 0, &needed));
    CHECK(needed == 3);
    CHECK_STATUS(anoma_model_training_scores(m, 1, train, 3, NULL), ANOMA_ERR_INVALID_ARGUMENT);
    CHECK_OK(anoma_model_training_scores(m, 0, needed_check, 1, &needed)); /* too small: untouched */
    CHECK_OK(anoma_model_training_scores(m, 0, train, 3, NULL));
    CHECK(test_close(train[0], 1, 1e-15) && test_close(train[1], 1, 1e-15));
    CHECK(test_close(train[2], (2 + G) / (1 + G), 1e-15));
    const double q[2] = {6, 0.5};
    anoma_matrix mq = {q, 2, 1, 1, ANOMA_F64};
    double s[2];
    CHECK_OK(anoma_model_score(m, &mq, s));
    CHECK(test_close(s[0], (3 + G) / (2 + G), 1e-15));
    CHECK(test_close(s[1], 1, 1e-15));
    double t;
    CHECK_OK(anoma_model_threshold(m, &t));
    CHECK(t == 1.5); /* scikit-learn's contamination="auto": offset_ = -1.5 */
    anoma_model_free(m);
}

/* A contamination rate takes its quantile from the training rows' own
 * scores (outlier mode), not from scoring them afresh: with 1/3 the
 * threshold is the linear quantile at 2/3 of {1, 1, 2.0000000001}. */
static void test_rate_uses_outlier_mode(void)
{
    const double x[3] = {0, 1, 3};
    anoma_model *m = test_fit_one("contamination=0.3333333333333333", "lof", "n_neighbors=1", x, 3, 1);
    double t;
    CHECK_OK(anoma_model_threshold(m, &t));
    CHECK(test_close(t, 1 + (2.0 - 2.0 * 0.3333333333333333 - 1) * ((2 + G) / (1 + G) - 1), 1e-12));
    anoma_model_free(m);
}

/* keep_rows=false on the line of test_line_by_hand: the same training
 * scores and threshold from a fit that copies nothing (the caller's buffer
 * is overwritten right after fit and nothing changes), scoring refused by
 * every path with the reason, and the same after a save and load. */
static void test_without_rows(void)
{
    double x[3] = {0, 1, 3};
    anoma_model *m = NULL;
    CHECK_OK(anoma_model_create("contamination=auto", &m));
    CHECK_OK(anoma_model_add_detector(m, "lof", "n_neighbors=1 keep_rows=false", NULL));
    anoma_matrix mx = {x, 3, 1, 1, ANOMA_F64};
    CHECK_OK(anoma_model_fit(m, &mx, NULL, NULL));
    x[0] = x[1] = x[2] = 1e300; /* the caller's again: the model must not read it */
    const double q[1] = {6};
    anoma_matrix mq = {q, 1, 1, 1, ANOMA_F64};
    for (int round = 0; round < 2; round++) {
        double train[3], s[1], t;
        CHECK_OK(anoma_model_training_scores(m, 0, train, 3, NULL));
        CHECK(test_close(train[0], 1, 1e-15) && test_close(train[1], 1, 1e-15));
        CHECK(test_close(train[2], (2 + G) / (1 + G), 1e-15));
        CHECK_OK(anoma_model_threshold(m, &t));
        CHECK(t == 1.5);
        CHECK_STATUS(anoma_model_score(m, &mq, s), ANOMA_ERR_UNSUPPORTED);
        CHECK(strstr(anoma_last_error(), "keep_rows=false") != NULL);
        anoma_row_scorer *rs = NULL;
        CHECK_STATUS(anoma_row_scorer_create(m, &rs), ANOMA_ERR_UNSUPPORTED);
        CHECK(rs == NULL && strstr(anoma_last_error(), "keep_rows=false") != NULL);
        anoma_stream *st = NULL;
        CHECK_STATUS(anoma_stream_create(m, NULL, &st), ANOMA_ERR_UNSUPPORTED);
        CHECK(st == NULL);
        char text[2048];
        size_t needed = 0;
        CHECK_OK(anoma_model_describe(m, text, sizeof text, &needed));
        CHECK(strstr(text, "none kept") != NULL);
        size_t size = 0;
        unsigned char *bytes = TEST_SAVED_BYTES(m, &size);
        for (size_t cut = 0; cut < size; cut++) { /* every truncation refused */
            anoma_model *bad = NULL;
            if (anoma_model_load_memory(bytes, cut, &bad) == ANOMA_OK) {
                test_fail(__FILE__, __LINE__, "a model cut at %zu of %zu bytes loaded", cut, size);
                anoma_model_free(bad);
            }
        }
        anoma_model *back = NULL;
        CHECK_OK(anoma_model_load_memory(bytes, size, &back));
        free(bytes);
        anoma_model_free(m);
        m = back; /* the second round checks the loaded model */
    }
    anoma_model_free(m);
}

static void test_row_batch_and_reload_agree(void)
{
    size_t rows = 300, cols = 3;
    double *x = test_tied_rows(rows, cols, 7, 0, 31);
    anoma_model *m = test_fit_one("contamination=0.1", "lof", "n_neighbors=7", x, rows, cols);
    anoma_matrix mx = {x, rows, cols, cols, ANOMA_F64};
    double *batch = malloc(rows * sizeof *batch), *again = malloc(rows * sizeof *again);
    CHECK_OK(anoma_model_score(m, &mx, batch));
    anoma_row_scorer *rs = NULL;
    CHECK_OK(anoma_row_scorer_create(m, &rs));
    for (size_t i = 0; i < rows; i++) {
        double s;
        int flag;
        CHECK_OK(anoma_row_scorer_score(rs, x + i * cols, cols, &s, &flag));
        if (s != batch[i])
            test_fail(__FILE__, __LINE__, "row %zu: row scorer %.17g, batch %.17g", i, s, batch[i]);
    }
    double nan_row[3] = {1, NAN, 2}, s;
    int flag;
    CHECK_OK(anoma_row_scorer_score(rs, nan_row, 3, &s, &flag));
    CHECK(isnan(s)); /* the row path cannot fail: a missing value scores NaN */
    anoma_row_scorer_free(rs);
    size_t size = 0;
    unsigned char *bytes = NULL;
    anoma_model *back = TEST_RELOADED(m, &bytes, &size);
    CHECK_OK(anoma_model_score(back, &mx, again));
    CHECK(!memcmp(batch, again, rows * sizeof *batch));
    CHECK_OK(anoma_model_training_scores(back, 0, again, rows, NULL));
    CHECK_OK(anoma_model_training_scores(m, 0, batch, rows, NULL));
    CHECK(!memcmp(batch, again, rows * sizeof *batch));
    for (size_t cut = 0; cut < size; cut += 7) {
        anoma_model *bad = NULL;
        if (anoma_model_load_memory(bytes, cut, &bad) == ANOMA_OK) {
            test_fail(__FILE__, __LINE__, "a model cut at %zu of %zu bytes loaded", cut, size);
            anoma_model_free(bad);
        }
    }
    char text[2048];
    CHECK_OK(anoma_model_describe(m, text, sizeof text, NULL));
    CHECK(strstr(text, "k = 7 neighbours") && strstr(text, "search: small-set scan"));
    CHECK(anoma_model_memory_bytes(m) > rows * cols * sizeof(double));
    anoma_model_free(back);
    anoma_model_free(m);
    free(bytes);
    free(batch);
    free(again);
    free(x);
}

/* A model of one detector ("lof" or "knn") with `params`, fitted on x,
 * or NULL with the fit's status in *st. */
static anoma_model *fit_with(const char *detector, const char *params, const anoma_matrix *x,
                             anoma_status *st)
{
    anoma_model *m = NULL;
    CHECK_OK(anoma_model_create("contamination=0.1 n_threads=2", &m));
    CHECK_OK(anoma_model_add_detector(m, detector, params, NULL));
    *st = anoma_model_fit(m, x, NULL, NULL);
    if (*st != ANOMA_OK) {
        anoma_model_free(m);
        return NULL;
    }
    return m;
}

/* rows=borrow: the model references the caller's matrix instead of a
 * copy. Against a copying model fitted on the same rows: the same scores,
 * training scores and threshold bit for bit, in both search algorithms;
 * the same saved bytes (the rows written, "rows" not saved), so the
 * loaded model owns its rows: it scores the same after the caller's
 * matrix is overwritten; and the rows not counted in its memory. */
static void test_borrowed_rows_agree_with_a_copy(void)
{
    size_t rows = 400, cols = 3, q = 60;
    double *x = test_tied_rows(rows, cols, 5, 0, 41), *y = test_tied_rows(q, cols, 7, 0.25, 42);
    anoma_matrix mx = {x, rows, cols, cols, ANOMA_F64}, my = {y, q, cols, cols, ANOMA_F64};
    const char *algorithms[2] = {"algorithm=brute", "algorithm=kd_tree"};
    for (int a = 0; a < 2; a++) {
        char copy_params[128], borrow_params[128];
        snprintf(copy_params, sizeof copy_params, "n_neighbors=9 %s", algorithms[a]);
        snprintf(borrow_params, sizeof borrow_params, "n_neighbors=9 %s rows=borrow", algorithms[a]);
        anoma_status st;
        anoma_model *copy = fit_with("lof", copy_params, &mx, &st);
        anoma_model *borrowed = fit_with("lof", borrow_params, &mx, &st);
        CHECK(copy && borrowed);
        if (!copy || !borrowed)
            break;
        double s1[60], s2[60], t1[400], t2[400], th1, th2;
        CHECK_OK(anoma_model_score(copy, &my, s1));
        CHECK_OK(anoma_model_score(borrowed, &my, s2));
        CHECK(!memcmp(s1, s2, sizeof s1));
        CHECK_OK(anoma_model_training_scores(copy, 0, t1, rows, NULL));
        CHECK_OK(anoma_model_training_scores(borrowed, 0, t2, rows, NULL));
        CHECK(!memcmp(t1, t2, sizeof t1));
        CHECK_OK(anoma_model_threshold(copy, &th1));
        CHECK_OK(anoma_model_threshold(borrowed, &th2));
        CHECK(th1 == th2);
        CHECK(anoma_model_memory_bytes(borrowed) + rows * cols * sizeof(double) <=
              anoma_model_memory_bytes(copy));
        char text[4096];
        CHECK_OK(anoma_model_describe(borrowed, text, sizeof text, NULL));
        CHECK(strstr(text, "borrowed") != NULL);
        size_t n1 = 0, n2 = 0;
        unsigned char *b1 = TEST_SAVED_BYTES(copy, &n1), *b2 = TEST_SAVED_BYTES(borrowed, &n2);
        CHECK(n1 == n2 && !memcmp(b1, b2, n1));
        anoma_model_free(borrowed); /* the rows are the caller's again */
        double *keep = malloc(rows * cols * sizeof *keep);
        memcpy(keep, x, rows * cols * sizeof *x);
        for (size_t i = 0; i < rows * cols; i++)
            x[i] = 1e300;
        anoma_model *back = NULL;
        CHECK_OK(anoma_model_load_memory(b2, n2, &back));
        CHECK_OK(anoma_model_score(back, &my, s2));
        CHECK(!memcmp(s1, s2, sizeof s1));
        CHECK_OK(anoma_model_describe(back, text, sizeof text, NULL));
        CHECK(strstr(text, "borrowed") == NULL && strstr(text, "rows=copy") != NULL);
        memcpy(x, keep, rows * cols * sizeof *x);
        free(keep);
        anoma_model_free(back);
        anoma_model_free(copy);
        free(b1);
        free(b2);
    }
    free(x);
    free(y);
}

/* Allocations of one single-threaded fit of `detector` with `params`. */
static long fit_allocations(const char *detector, const char *params, const anoma_matrix *x)
{
    anoma_model *m = NULL;
    CHECK_OK(anoma_model_create("contamination=0.1 n_threads=1", &m));
    CHECK_OK(anoma_model_add_detector(m, detector, params, NULL));
    test_alloc_install(-1);
    CHECK_OK(anoma_model_fit(m, x, NULL, NULL));
    long made = test_alloc_made();
    test_alloc_restore();
    anoma_model_free(m);
    return made;
}

/* rows=copy searches the caller's rows, then copies them: the index the
 * fit searched moves to the copy instead of being built again on it, so
 * the fit allocates what a borrowing one does plus the copy's two blocks
 * (its record and its values), for lof and knn and each index kind. The
 * moved index answers as one built afresh: the copying model scores new
 * rows as its saved and loaded self does (loading builds the index), and
 * saves the bytes a borrowing model saves. */
static void test_copy_keeps_the_searched_index(void)
{
    size_t rows = 300, cols = 3, q = 40;
    double *x = test_tied_rows(rows, cols, 5, 0, 45), *y = test_tied_rows(q, cols, 7, 0.25, 46);
    anoma_matrix mx = {x, rows, cols, cols, ANOMA_F64}, my = {y, q, cols, cols, ANOMA_F64};
    const char *detectors[2] = {"lof", "knn"};
    /* auto: 300 x 3 is a small set, whose index is a KD-tree of its own kind */
    const char *algorithms[3] = {"algorithm=brute", "algorithm=kd_tree", "algorithm=auto"};
    for (int det = 0; det < 2; det++)
        for (int a = 0; a < 3; a++) {
            char copy_params[64], borrow_params[64];
            snprintf(copy_params, sizeof copy_params, "%s rows=copy", algorithms[a]);
            snprintf(borrow_params, sizeof borrow_params, "%s rows=borrow", algorithms[a]);
            long copying = fit_allocations(detectors[det], copy_params, &mx);
            long borrowing = fit_allocations(detectors[det], borrow_params, &mx);
            if (copying != borrowing + 2)
                test_fail(__FILE__, __LINE__, "%s %s: rows=copy fit made %ld allocations, "
                          "rows=borrow %ld: expected 2 more", detectors[det], algorithms[a],
                          copying, borrowing);
            anoma_status st;
            anoma_model *copy = fit_with(detectors[det], copy_params, &mx, &st);
            anoma_model *borrowed = fit_with(detectors[det], borrow_params, &mx, &st);
            unsigned char *saved = NULL, *lent = NULL;
            size_t n_saved = 0, n_lent = 0;
            anoma_model *back = copy ? TEST_RELOADED(copy, &saved, &n_saved) : NULL;
            CHECK(copy && borrowed && back);
            if (copy && borrowed && back) {
                double s1[40], s2[40];
                CHECK_OK(anoma_model_score(copy, &my, s1));
                CHECK_OK(anoma_model_score(back, &my, s2));
                CHECK(!memcmp(s1, s2, sizeof s1));
                lent = TEST_SAVED_BYTES(borrowed, &n_lent);
                CHECK(n_saved == n_lent && lent && !memcmp(saved, lent, n_saved));
            }
            free(saved);
            free(lent);
            anoma_model_free(back);
            anoma_model_free(borrowed);
            anoma_model_free(copy);
        }
    free(x);
    free(y);
}

/* Borrowing is refused where the detector sees a copy the model frees
 * after fit: a pipeline's output, a float32 matrix, a row stride other
 * than the column count; the message names rows=borrow and the way out. */
static void test_borrowing_refused_where_unsafe(void)
{
    size_t rows = 50, cols = 2;
    double *x = test_tied_rows(rows, 2 * cols, 5, 0, 43);
    float *xf = malloc(rows * cols * sizeof *xf);
    for (size_t i = 0; i < rows * cols; i++)
        xf[i] = (float)x[i];
    anoma_matrix strided = {x, rows, cols, 2 * cols, ANOMA_F64};
    anoma_matrix single = {xf, rows, cols, cols, ANOMA_F32};
    anoma_status st;
    const anoma_matrix *bad[2] = {&strided, &single};
    for (int i = 0; i < 2; i++) {
        for (int d = 0; d < 2; d++) {
            anoma_model *m = fit_with(d ? "knn" : "lof", "rows=borrow", bad[i], &st);
            CHECK(m == NULL && st == ANOMA_ERR_UNSUPPORTED);
            CHECK(strstr(anoma_last_error(), "rows=borrow") &&
                  strstr(anoma_last_error(), "rows=copy"));
            anoma_model_free(m);
            m = fit_with(d ? "knn" : "lof", "rows=copy", bad[i], &st); /* the default copies */
            CHECK(m != NULL);
            anoma_model_free(m);
        }
    }
    anoma_model *m = NULL;
    CHECK_OK(anoma_model_create("contamination=0.1", &m));
    CHECK_OK(anoma_model_add_step(m, "minmax_scaler", "", NULL));
    CHECK_OK(anoma_model_add_detector(m, "lof", "rows=borrow", NULL));
    anoma_matrix mx = {x, rows, 2 * cols, 2 * cols, ANOMA_F64};
    CHECK_STATUS(anoma_model_fit(m, &mx, NULL, NULL), ANOMA_ERR_UNSUPPORTED);
    CHECK(strstr(anoma_last_error(), "pipeline"));
    CHECK(!anoma_model_is_fitted(m));
    anoma_model_free(m);
    CHECK_STATUS(anoma_model_create("", &m), ANOMA_OK);
    CHECK_STATUS(anoma_model_add_detector(m, "lof", "rows=lend", NULL), ANOMA_ERR_PARAM_VALUE);
    anoma_model_free(m);
    free(xf);
    free(x);
}

/* lof and knn on the same rows in one model: two that borrow share the
 * caller's matrix; one that copies does not take a borrowed matrix (it did
 * not make the caller's promise), and keeps its own copy, shared with
 * nobody that borrows; every detector scores as alone. */
static void test_borrowed_rows_in_the_shared_table(void)
{
    size_t rows = 200, cols = 3;
    double *x = test_tied_rows(rows, cols, 5, 0, 44);
    anoma_matrix mx = {x, rows, cols, cols, ANOMA_F64};
    anoma_status st;
    anoma_model *lof = fit_with("lof", "", &mx, &st), *knn = fit_with("knn", "", &mx, &st);
    double both[400], lof_alone[200], knn_alone[200];
    CHECK_OK(anoma_model_score(lof, &mx, lof_alone));
    CHECK_OK(anoma_model_score(knn, &mx, knn_alone));
    const char *knn_params[2] = {"rows=borrow", "rows=copy"};
    for (int i = 0; i < 2; i++) {
        anoma_model *m = NULL;
        CHECK_OK(anoma_model_create("contamination=0.1", &m));
        CHECK_OK(anoma_model_add_detector(m, "lof", "rows=borrow", NULL));
        CHECK_OK(anoma_model_add_detector(m, "knn", knn_params[i], NULL));
        CHECK_OK(anoma_model_fit(m, &mx, NULL, NULL));
        char text[4096];
        CHECK_OK(anoma_model_describe(m, text, sizeof text, NULL));
        CHECK((strstr(text, "shared training rows 1") != NULL) == (i == 1));
        CHECK(strstr(text, "shared training rows 0: 200 x 3 (borrowed") != NULL);
        CHECK_OK(anoma_model_member_scores(m, &mx, both, NULL));
        for (size_t r = 0; r < rows; r++)
            if (both[2 * r] != lof_alone[r] || both[2 * r + 1] != knn_alone[r])
                test_fail(__FILE__, __LINE__, "row %zu: a shared borrowed matrix changed a score",
                          r);
        anoma_model_free(m);
    }
    anoma_model_free(lof);
    anoma_model_free(knn);
    free(x);
}

static void test_bad_input(void)
{
    double x[8] = {0, 1, 2, NAN, 4, 5, 6, 7};
    anoma_model *m = NULL;
    CHECK_OK(anoma_model_create("contamination=auto", &m));
    CHECK_OK(anoma_model_add_detector(m, "lof", "", NULL));
    anoma_matrix mx = {x, 4, 2, 2, ANOMA_F64};
    CHECK_STATUS(anoma_model_fit(m, &mx, NULL, NULL), ANOMA_ERR_INVALID_ARGUMENT);
    CHECK(strstr(anoma_last_error(), "feature 1 of row 1") && strstr(anoma_last_error(), "imputer"));
    anoma_matrix one = {x, 1, 2, 2, ANOMA_F64};
    CHECK_STATUS(anoma_model_fit(m, &one, NULL, NULL), ANOMA_ERR_EMPTY);
    CHECK_STATUS(anoma_model_set_detector_param(m, 0, "n_neighbors", "0"), ANOMA_ERR_PARAM_VALUE);
    CHECK_STATUS(anoma_model_set_detector_param(m, 0, "algorithm", "ball_tree"),
                 ANOMA_ERR_PARAM_VALUE);
    anoma_model_free(m);
    /* a detector without training scores of its own */
    double y[6] = {0, 1, 2, 3, 4, 5};
    anoma_model *z = NULL;
    CHECK_OK(anoma_model_create("", &z));
    CHECK_OK(anoma_model_add_detector(z, "zscore", "", NULL));
    anoma_matrix my = {y, 6, 1, 1, ANOMA_F64};
    CHECK_OK(anoma_model_fit(z, &my, NULL, NULL));
    CHECK_STATUS(anoma_model_training_scores(z, 0, y, 6, NULL), ANOMA_ERR_UNSUPPORTED);
    anoma_model_free(z);
}

static void test_allocation_failures(void)
{
    double *x = test_tied_rows(120, 3, 7, 0, 32);
    test_reload_case c = {"contamination=0.1 n_threads=2", {"lof"}, {"n_neighbors=5"}, x,
                              120, 3, NULL};
    CHECK_ALLOC_FAILURES(test_fit_reload, &c);
    test_reload_case borrowing = {"contamination=0.1 n_threads=2", {"lof", "knn"},
                                  {"n_neighbors=5 rows=borrow", "rows=borrow"}, x, 120, 3, NULL};
    CHECK_ALLOC_FAILURES(test_fit_reload, &borrowing);
    free(x);
}

int main(void)
{
    RUN(test_line_by_hand);
    RUN(test_rate_uses_outlier_mode);
    RUN(test_without_rows);
    RUN(test_row_batch_and_reload_agree);
    RUN(test_borrowed_rows_agree_with_a_copy);
    RUN(test_copy_keeps_the_searched_index);
    RUN(test_borrowing_refused_where_unsafe);
    RUN(test_borrowed_rows_in_the_shared_table);
    RUN(test_bad_input);
    RUN(test_allocation_failures);
    return test_summary();
}
