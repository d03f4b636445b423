/* The pca step on closed-form cases: points on a line and on an ellipse
 * with known axes, the sign rule, whitening, the explained-variance
 * fraction, wide data (fewer rows than columns), batch = row = after
 * save/load, and bad input. The comparison with scikit-learn's PCA is in
 * tests/python/test_pca.py. */
#include "testing.h"

#include "core/alloc.h"
#include "core/error.h"
#include "features/pipeline.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *output_name(const an_pipeline *p, size_t k)
{
    return p->slot_names[p->stage_slots[p->stage_begin[p->n_steps] + k]];
}

static anoma_status fit_xy(an_pipeline *p, const char *params, const double *x, const double *y,
                           size_t n, double **out)
{
    static const char *const nm[2] = {"x", "y"};
    static const an_cell_type ty[2] = {AN_CELL_NUMBER, AN_CELL_NUMBER};
    *p = (an_pipeline){0};
    AN_TRY(an_pipeline_set_input(p, 2, nm, ty));
    AN_TRY(an_pipeline_add(p, "pca", params));
    an_input_column cols[2] = {{ANOMA_COL_DOUBLE, x}, {ANOMA_COL_DOUBLE, y}};
    an_input in = {NULL, cols, n};
    return an_pipeline_fit(p, &in, 1, out);
}

static void test_points_on_a_line(void)
{
    /* (t, -2t + 1) for t = 0..4: one component, direction (1, -2)/sqrt 5,
     * flipped so its largest entry (-2) is positive: (-1, 2)/sqrt 5; scores
     * -(t - 2) sqrt 5; explained variance 5 var(t) = 5 * 2.5 = 12.5 */
    const double x[5] = {0, 1, 2, 3, 4}, y[5] = {1, -1, -3, -5, -7};
    an_pipeline p;
    double *out;
    CHECK_OK(fit_xy(&p, "n_components=1", x, y, 5, &out));
    CHECK(p.n_outputs == 1 && !strcmp(output_name(&p, 0), "pca0"));
    for (size_t i = 0; i < 5; i++)
        CHECK_NEAR(out[i], -(x[i] - 2) * sqrt(5), 1e-13);
    an_free(out);
    an_pipeline_free(&p);
    /* whitened: divided by sqrt(12.5) */
    CHECK_OK(fit_xy(&p, "n_components=1 whiten=true", x, y, 5, &out));
    for (size_t i = 0; i < 5; i++)
        CHECK_NEAR(out[i], -(x[i] - 2) * sqrt(5) / sqrt(12.5), 1e-13);
    an_free(out);
    an_pipeline_free(&p);
    /* all components: the second has zero variance; whitening clips its
     * scale at eps instead of dividing by zero */
    CHECK_OK(fit_xy(&p, "whiten=true", x, y, 5, &out));
    CHECK(p.n_outputs == 2);
    for (size_t i = 0; i < 10; i++)
        CHECK(isfinite(out[i]));
    an_free(out);
    an_pipeline_free(&p);
}

static void test_axes_of_an_ellipse(void)
{
    /* 8 points at angles k pi/4 on the ellipse (3 cos a, sin a), rotated by
     * 30 degrees: component 1 along (cos 30, sin 30) with variance
     * 9 * 4 / 7 (sum of cos^2 over the 8 angles is 4), component 2 along
     * (-sin 30, cos 30), variance 4 / 7. */
    double x[8], y[8];
    double c = cos(M_PI / 6), s = sin(M_PI / 6);
    for (int k = 0; k < 8; k++) {
        double u = 3 * cos(k * M_PI / 4), v = sin(k * M_PI / 4);
        x[k] = 10 + c * u - s * v;
        y[k] = -5 + s * u + c * v;
    }
    an_pipeline p;
    double *out;
    CHECK_OK(fit_xy(&p, "", x, y, 8, &out));
    CHECK(p.n_outputs == 2);
    /* scores are the ellipse coordinates, up to the sign rule: component 1
     * (c, s) has its largest entry positive already; component 2 (-s, c)
     * too (c > s), so y0 = u and y1 = v */
    for (int k = 0; k < 8; k++) {
        CHECK_NEAR(out[2 * k], 3 * cos(k * M_PI / 4), 1e-13);
        CHECK_NEAR(out[2 * k + 1], sin(k * M_PI / 4), 1e-13);
    }
    an_free(out);
    an_pipeline_free(&p);
    /* explained variance ratio of the first component: 9 / 10, so a
     * fraction of 0.95 needs both components ... */
    CHECK_OK(fit_xy(&p, "n_components=0.95", x, y, 8, &out));
    CHECK(p.n_outputs == 2);
    an_free(out);
    an_pipeline_free(&p);
    /* ... and 0.85 one */
    CHECK_OK(fit_xy(&p, "n_components=0.85", x, y, 8, &out));
    CHECK(p.n_outputs == 1);
    an_free(out);
    an_pipeline_free(&p);
}

/* Wide data through dgesdd directly, and batch = row = after save/load. */
enum { ROWS = 700, COLS = 6 };
static double data[COLS][ROWS];

static void test_batch_rows_file_and_wide(void)
{
    static const char *const nm[COLS] = {"a", "b", "c", "d", "e", "f"};
    static const an_cell_type ty[COLS] = {0};
    for (size_t j = 0; j < COLS; j++)
        for (size_t i = 0; i < ROWS; i++)
            data[j][i] = sin((double)(i * (j + 1))) * (double)(j + 1) + (double)(i % (j + 2));
    an_input_column cols[COLS];
    for (size_t j = 0; j < COLS; j++)
        cols[j] = (an_input_column){ANOMA_COL_DOUBLE, data[j]};
    an_pipeline p = {0};
    CHECK_OK(an_pipeline_set_input(&p, COLS, nm, ty));
    CHECK_OK(an_pipeline_add(&p, "pca", "columns=b,c,d,e n_components=3 whiten=true"));
    an_input in = {NULL, cols, ROWS};
    double *fit_out = NULL;
    CHECK_OK(an_pipeline_fit(&p, &in, 1, &fit_out));
    /* a stays, pca0..2 take b's place, f stays */
    CHECK(p.n_outputs == 5 && !strcmp(output_name(&p, 1), "pca0") &&
          !strcmp(output_name(&p, 4), "f"));
    size_t w = p.n_outputs;
    double *batch = CHECK_PIPELINE_AGREES(&p, &in, fit_out, 3);
    /* whitened training scores: mean 0, variance 1 (ddof 1), uncorrelated */
    for (size_t a = 1; batch && a <= 3; a++)
        for (size_t b = a; b <= 3; b++) {
            double sab = 0;
            for (size_t i = 0; i < ROWS; i++)
                sab += batch[i * w + a] * batch[i * w + b];
            CHECK_NEAR(sab / (ROWS - 1), a == b ? 1.0 : 0.0, 1e-10);
        }
    an_pipeline_free(&p);
    an_free(fit_out);
    free(batch);

    /* 4 rows of 6 columns: at most 4 components, the last with no variance */
    CHECK_OK(an_pipeline_set_input(&p, COLS, nm, ty));
    CHECK_OK(an_pipeline_add(&p, "pca", ""));
    in.rows = 4;
    CHECK_OK(an_pipeline_fit(&p, &in, 1, &fit_out));
    CHECK(p.n_outputs == 4);
    for (size_t i = 0; i < 4; i++)
        CHECK_NEAR(fit_out[i * 4 + 3], 0, 1e-12);
    an_free(fit_out);
    an_pipeline_free(&p);
}

static void test_bad_input(void)
{
    an_pipeline p = {0};
    const char *bad[] = {"n_components=0", "n_components=1.5", "n_components=-2",
                         "n_components=most", "whiten=maybe"};
    for (size_t k = 0; k < sizeof bad / sizeof *bad; k++) {
        CHECK_STATUS(an_pipeline_add(&p, "pca", bad[k]), ANOMA_ERR_PARAM_VALUE);
        CHECK(strstr(anoma_last_error(), "pca") != NULL);
    }
    const double x[3] = {1, 2, 3}, y[3] = {1, NAN, 2};
    double *out = NULL;
    CHECK_STATUS(fit_xy(&p, "", x, y, 3, &out), ANOMA_ERR_INVALID_ARGUMENT);
    CHECK(strstr(anoma_last_error(), "'y', row 1") != NULL);
    an_pipeline_free(&p);
    CHECK_STATUS(fit_xy(&p, "n_components=3", x, x, 3, &out), ANOMA_ERR_INVALID_ARGUMENT);
    CHECK(strstr(anoma_last_error(), "n_components=3") != NULL);
    an_pipeline_free(&p);
    CHECK_STATUS(fit_xy(&p, "", x, x, 1, &out), ANOMA_ERR_EMPTY);
    an_pipeline_free(&p);
    /* a missing value at transform time names the column and the row */
    CHECK_OK(fit_xy(&p, "", x, x, 3, &out));
    an_free(out);
    an_input_column cols[2] = {{ANOMA_COL_DOUBLE, x}, {ANOMA_COL_DOUBLE, y}};
    an_input in = {NULL, cols, 3};
    double t[6];
    CHECK_STATUS(an_pipeline_transform(&p, &in, 1, t), ANOMA_ERR_INVALID_ARGUMENT);
    CHECK(strstr(anoma_last_error(), "'y'") && strstr(anoma_last_error(), "row 1"));
    an_pipeline_free(&p);
}

static anoma_status fit_and_free(void *ctx)
{
    (void)ctx;
    const double x[5] = {0, 1, 2, 3, 4}, y[5] = {1, 0, -3, -5, -7};
    an_pipeline p;
    double *out = NULL;
    anoma_status st = fit_xy(&p, "n_components=0.5", x, y, 5, &out);
    an_free(out);
    an_pipeline_free(&p);
    return st;
}

static void test_allocation_failures(void)
{
    CHECK_ALLOC_FAILURES(fit_and_free, NULL);
}

/* The "pca" detector (detectors/pca.c, on the same axes code): points on
 * the line y = 2x plus one off it. With one axis kept, (0, 5) is at squared
 * distance (5 - 2 * 0)^2 / 5 = 5 from the line through the mean (0, 0). */
static anoma_status detector_fit_score_save(void *ctx)
{
    const char *params = ctx;
    const double x[10] = {-2, -4, -1, -2, 0, 0, 1, 2, 2, 4};
    anoma_model *m = NULL;
    anoma_status st = anoma_model_create("contamination=0.2", &m);
    if (st == ANOMA_OK)
        st = anoma_model_add_detector(m, "pca", params, NULL);
    anoma_matrix mx = anoma_matrix_f64(x, 5, 2);
    if (st == ANOMA_OK)
        st = anoma_model_fit(m, &mx, NULL, NULL);
    const double q[2] = {0, 5};
    anoma_matrix mq = anoma_matrix_f64(q, 1, 2);
    double s = 0;
    if (st == ANOMA_OK)
        st = anoma_model_score(m, &mq, &s);
    if (st == ANOMA_OK && strstr(params, "reconstruction"))
        CHECK(test_close(s, 5, 1e-12));
    unsigned char buf[1 << 12];
    size_t size;
    if (st == ANOMA_OK)
        st = anoma_model_save_memory(m, buf, sizeof buf, &size);
    anoma_model *back = NULL;
    if (st == ANOMA_OK)
        st = anoma_model_load_memory(buf, size, &back);
    double again = 0;
    if (st == ANOMA_OK)
        st = anoma_model_score(back, &mq, &again);
    if (st == ANOMA_OK)
        CHECK(again == s);
    anoma_model_free(back);
    anoma_model_free(m);
    return st;
}

static void test_detector(void)
{
    CHECK_OK(detector_fit_score_save("n_components=1 method=reconstruction"));
    CHECK_ALLOC_FAILURES(detector_fit_score_save, "n_components=1 method=reconstruction");
    CHECK_ALLOC_FAILURES(detector_fit_score_save, "n_components=1 method=minor");
}

int main(void)
{
    RUN(test_points_on_a_line);
    RUN(test_detector);
    RUN(test_axes_of_an_ellipse);
    RUN(test_batch_rows_file_and_wide);
    RUN(test_bad_input);
    RUN(test_allocation_failures);
    return test_summary();
}
