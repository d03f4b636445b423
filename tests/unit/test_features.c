/* Pipeline steps and the executor, through the internal interface:
 * hand-computed values, column placement, the block and single-row paths,
 * save/load, bad input and allocation failures. The comparisons with
 * scikit-learn on real data are in tests/python/test_pipeline.py. */
#include "testing.h"

#include "core/alloc.h"
#include "core/error.h"
#include "features/pipeline.h"

#include <float.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A small mixed table: amount (double, with a NaN), device (text, with a
 * missing value), clicks (int64). */
enum { N = 6 };
static const double amount[N] = {1, 2, NAN, 4, 5, 6};
static const char *const device[N] = {"web", "ios", "web", NULL, "android", "web"};
static const int64_t clicks[N] = {10, 20, 30, 40, 50, 60};
static const char *const names[3] = {"amount", "device", "clicks"};
static const an_cell_type types[3] = {AN_CELL_NUMBER, AN_CELL_TEXT, AN_CELL_NUMBER};

static an_input table_input(an_input_column *cols, size_t rows)
{
    cols[0] = (an_input_column){ANOMA_COL_DOUBLE, amount};
    cols[1] = (an_input_column){ANOMA_COL_STRING, device};
    cols[2] = (an_input_column){ANOMA_COL_INT64, clicks};
    return (an_input){NULL, cols, rows};
}

/* A pipeline with the table's schema and the given steps ("name params"). */
static anoma_status build(an_pipeline *p, const char *const *steps, size_t n)
{
    *p = (an_pipeline){0};
    AN_TRY(an_pipeline_set_input(p, 3, names, types));
    for (size_t s = 0; s < n; s++) {
        const char *space = strchr(steps[s], ' ');
        char name[64];
        size_t len = space ? (size_t)(space - steps[s]) : strlen(steps[s]);
        memcpy(name, steps[s], len);
        name[len] = '\0';
        AN_TRY(an_pipeline_add(p, name, space ? space + 1 : NULL));
    }
    return ANOMA_OK;
}

/* Each one-step pipeline text is refused as a bad value of key, named in the message. */
static void check_refused(const char *const *texts, size_t n, const char *key)
{
    an_pipeline p;
    for (size_t b = 0; b < n; b++) {
        CHECK_STATUS(build(&p, texts + b, 1), ANOMA_ERR_PARAM_VALUE);
        CHECK(strstr(anoma_last_error(), key) != NULL);
        an_pipeline_free(&p);
    }
}


static const char *output_name(const an_pipeline *p, size_t k)
{
    return p->slot_names[p->stage_slots[p->stage_begin[p->n_steps] + k]];
}

static void test_scaler_and_one_hot_by_hand(void)
{
    an_pipeline p;
    const char *steps[] = {"one_hot", "standard_scaler columns=amount,clicks"};
    CHECK_OK(build(&p, steps, 2));
    an_input_column cols[3];
    an_input in = table_input(cols, N);
    double *x = NULL;
    CHECK_OK(an_pipeline_fit(&p, &in, 1, &x));
    /* one_hot replaces device where it was; the scaler's outputs go where
     * amount was, so: amount, clicks, then device's columns. */
    const char *want[] = {"amount", "clicks", "device=android", "device=ios", "device=web",
                          "device=<missing>", "device=<unseen>"};
    CHECK(p.n_outputs == 7);
    for (size_t k = 0; k < 7 && k < p.n_outputs; k++)
        CHECK(!strcmp(output_name(&p, k), want[k]));
    /* amount without the NaN: 1 2 4 5 6, mean 3.6, population variance
     * (6.76 + 2.56 + 0.16 + 1.96 + 5.76) / 5 = 3.44. */
    double sd_a = sqrt(3.44), sd_c = sqrt(1750.0 / 6); /* clicks: mean 35 */
    for (size_t i = 0; i < N; i++) {
        const double *row = x + i * 7;
        if (i == 2)
            CHECK(isnan(row[0]));
        else
            CHECK_NEAR(row[0], (amount[i] - 3.6) / sd_a, 1e-14);
        CHECK_NEAR(row[1], ((double)clicks[i] - 35) / sd_c, 1e-14);
        double sum = 0;
        for (size_t k = 2; k < 7; k++)
            sum += row[k];
        CHECK(sum == 1);
        CHECK(row[6] == 0); /* nothing unseen in training */
    }
    CHECK(x[0 * 7 + 4] == 1 && x[1 * 7 + 3] == 1 && x[3 * 7 + 5] == 1 && x[4 * 7 + 2] == 1);
    an_free(x);
    an_pipeline_free(&p);
}

static void test_one_hot_rare_and_unseen(void)
{
    /* web 3, ios 1, android 1, missing 1: min_frequency=2 leaves web alone. */
    an_pipeline p;
    const char *steps[] = {"one_hot min_frequency=2 unseen=ignore", "select drop=amount"};
    CHECK_OK(build(&p, steps, 2));
    an_input_column cols[3];
    an_input in = table_input(cols, N);
    double *x = NULL;
    CHECK_OK(an_pipeline_fit(&p, &in, 1, &x));
    CHECK(p.n_outputs == 3);
    CHECK(!strcmp(output_name(&p, 0), "device=web"));
    CHECK(!strcmp(output_name(&p, 1), "device=<infrequent>"));
    CHECK(!strcmp(output_name(&p, 2), "clicks"));
    for (size_t i = 0; i < N; i++)
        CHECK(x[i * 3 + 0] + x[i * 3 + 1] == 1 && x[i * 3 + 0] == (i == 0 || i == 2 || i == 5));
    an_free(x);
    /* an unseen value with unseen=ignore: all zeros */
    const char *other[N] = {"tv", "web", "web", "web", "web", "web"};
    cols[1].values = other;
    double out[N * 3];
    CHECK_OK(an_pipeline_transform(&p, &in, 1, out));
    CHECK(out[0] == 0 && out[1] == 0 && out[2] == 10);
    an_pipeline_free(&p);

    /* max_categories=2: one frequent category (web, the most common) + infrequent */
    const char *steps2[] = {"one_hot max_categories=2 unseen=error", "select types=number"};
    CHECK_OK(build(&p, steps2, 2));
    cols[1].values = device;
    CHECK_OK(an_pipeline_fit(&p, &in, 1, &x));
    CHECK(p.n_outputs == 4);
    CHECK(!strcmp(output_name(&p, 1), "device=web"));
    CHECK(!strcmp(output_name(&p, 2), "device=<infrequent>"));
    an_free(x);
    cols[1].values = other;
    CHECK_STATUS(an_pipeline_transform(&p, &in, 1, out), ANOMA_ERR_INVALID_ARGUMENT);
    CHECK(strstr(anoma_last_error(), "'device'") && strstr(anoma_last_error(), "'tv'") &&
          strstr(anoma_last_error(), "row 0"));
    an_pipeline_free(&p);
}

static void test_ties_in_max_categories(void)
{
    /* a 2, b 2, c 1: max_categories=2 keeps one; the stable order of counts
     * demotes c, then a (scikit-learn: argsort(kind="mergesort")). */
    static const char *const t[5] = {"b", "a", "c", "a", "b"};
    static const char *const nm[1] = {"t"};
    static const an_cell_type ty[1] = {AN_CELL_TEXT};
    an_pipeline p = {0};
    CHECK_OK(an_pipeline_set_input(&p, 1, nm, ty));
    CHECK_OK(an_pipeline_add(&p, "one_hot", "max_categories=2 unseen=ignore"));
    an_input_column col = {ANOMA_COL_STRING, t};
    an_input in = {NULL, &col, 5};
    double *x = NULL;
    CHECK_OK(an_pipeline_fit(&p, &in, 1, &x));
    CHECK(p.n_outputs == 2);
    CHECK(!strcmp(output_name(&p, 0), "t=b"));
    an_free(x);
    an_pipeline_free(&p);
}

static void test_select(void)
{
    an_pipeline p;
    const char *steps[] = {"select columns=clicks,amount"};
    CHECK_OK(build(&p, steps, 1));
    an_input_column cols[3];
    an_input in = table_input(cols, N);
    double *x = NULL;
    CHECK_OK(an_pipeline_fit(&p, &in, 1, &x));
    CHECK(p.n_outputs == 2 && !strcmp(output_name(&p, 0), "clicks"));
    CHECK(x[0] == 10 && x[1] == 1 && x[2 * 2] == 30 && isnan(x[2 * 2 + 1]));
    an_free(x);
    an_pipeline_free(&p);
    const char *bad_type[] = {"select types=number,date"};
    check_refused(bad_type, 1, "date");
}

static void test_fit_errors_name_the_column(void)
{
    an_pipeline p;
    an_input_column cols[3];
    an_input in = table_input(cols, N);
    double *x = NULL;
    const char *left_text[] = {"standard_scaler"};
    CHECK_OK(build(&p, left_text, 1));
    CHECK_STATUS(an_pipeline_fit(&p, &in, 1, &x), ANOMA_ERR_INVALID_ARGUMENT);
    CHECK(strstr(anoma_last_error(), "'device'") && strstr(anoma_last_error(), "one_hot") &&
          strstr(anoma_last_error(), "drop=device"));
    CHECK(!p.fitted && x == NULL);
    an_pipeline_free(&p);
    const char *missing[] = {"standard_scaler columns=amount,price"};
    CHECK_OK(build(&p, missing, 1));
    CHECK_STATUS(an_pipeline_fit(&p, &in, 1, &x), ANOMA_ERR_INVALID_ARGUMENT);
    CHECK(strstr(anoma_last_error(), "'price'") != NULL);
    an_pipeline_free(&p);
    const char *wrong[] = {"standard_scaler columns=device"};
    CHECK_OK(build(&p, wrong, 1));
    CHECK_STATUS(an_pipeline_fit(&p, &in, 1, &x), ANOMA_ERR_INVALID_ARGUMENT);
    CHECK(strstr(anoma_last_error(), "'device' is text") != NULL);
    an_pipeline_free(&p);
    /* a frame column of the wrong type, and an infinite number */
    const char *fine[] = {"one_hot"};
    CHECK_OK(build(&p, fine, 1));
    cols[1] = (an_input_column){ANOMA_COL_DOUBLE, amount};
    CHECK_STATUS(an_pipeline_fit(&p, &in, 1, &x), ANOMA_ERR_INVALID_ARGUMENT);
    CHECK(strstr(anoma_last_error(), "'device'") && strstr(anoma_last_error(), "text"));
    cols[1] = (an_input_column){ANOMA_COL_STRING, device};
    double inf_amount[N] = {1, 2, 3, INFINITY, 5, 6};
    cols[0].values = inf_amount;
    CHECK_STATUS(an_pipeline_fit(&p, &in, 1, &x), ANOMA_ERR_NONFINITE);
    CHECK(strstr(anoma_last_error(), "'amount', row 3") != NULL);
    an_pipeline_free(&p);
}

/* Rows of a larger table: blocks of 256, of 1, several threads, and after
 * save/load give the same bytes. */
enum { BIG = 1000 };
static double big_amount[BIG];
static const char *big_device[BIG];
static int64_t big_clicks[BIG];

/* Fit the steps on the big table, then check that blocks of 256, blocks of
 * 1, several threads and a save/load round trip give the same bytes, and
 * that every truncated or corrupted image fails cleanly. */
static void check_paths_agree(const char *const *steps, size_t n_steps);

static void test_block_row_and_file_agree(void)
{
    const char *steps[] = {"one_hot min_frequency=0.21", "standard_scaler"};
    check_paths_agree(steps, 2);
}

static void check_paths_agree(const char *const *steps, size_t n_steps)
{
    static const char *const kinds[] = {"web", "ios", "android", "tv", NULL};
    for (size_t i = 0; i < BIG; i++) {
        big_amount[i] = i % 17 == 3 ? NAN : (double)((i * 7919) % 1000) / 7.0;
        big_device[i] = kinds[(i * 31) % 5];
        big_clicks[i] = (int64_t)((i * 104729) % 97);
    }
    an_input_column cols[3] = {{ANOMA_COL_DOUBLE, big_amount},
                               {ANOMA_COL_STRING, big_device},
                               {ANOMA_COL_INT64, big_clicks}};
    an_input in = {NULL, cols, BIG};
    an_pipeline p;
    CHECK_OK(build(&p, steps, n_steps));
    double *fit_out = NULL;
    CHECK_OK(an_pipeline_fit(&p, &in, 1, &fit_out));
    free(CHECK_PIPELINE_AGREES(&p, &in, fit_out, 3));
    /* every single-byte change: an error or a valid pipeline, never a crash
     * (the sanitizer build checks the memory) */
    an_writer image = {0};
    an_pipeline_save(&p, &image);
    CHECK_OK(an_writer_status(&image));
    for (size_t at = 0; at < image.len; at++) {
        unsigned char *copy = malloc(image.len);
        memcpy(copy, image.data, image.len);
        copy[at] ^= 0x5a;
        an_pipeline q = {0};
        an_reader rc = an_reader_make(copy, image.len, "pipeline");
        if (an_pipeline_load(&q, &rc) == ANOMA_OK && q.n_outputs) {
            double out[16 * 64];
            an_input small = {NULL, cols, 16};
            if (q.n_outputs <= 64)
                an_pipeline_transform(&q, &small, 1, out);
        }
        an_pipeline_free(&q);
        free(copy);
    }
    an_writer_free(&image);
    an_pipeline_free(&p);
    an_free(fit_out);
}

typedef struct step_list {
    const char *const *steps;
    size_t n;
} step_list;

/* Build, fit and run these steps, then free everything. */
static anoma_status build_fit_transform(void *ctx)
{
    const step_list *list = ctx;
    an_pipeline p;
    an_input_column cols[3];
    an_input in = table_input(cols, N);
    double *x = NULL, out[N * 16];
    anoma_status st = build(&p, list->steps, list->n);
    if (st == ANOMA_OK)
        st = an_pipeline_fit(&p, &in, 1, &x);
    if (st == ANOMA_OK)
        st = an_pipeline_transform(&p, &in, 1, out);
    an_free(x);
    an_pipeline_free(&p);
    return st;
}

/* Every allocation of building, fitting and running these steps fails in
 * turn: an out-of-memory status and nothing leaked, every time. */
static void check_allocation_failures(const char *const *steps, size_t n_steps)
{
    step_list list = {steps, n_steps};
    CHECK_ALLOC_FAILURES(build_fit_transform, &list);
}

static void test_allocation_failures(void)
{
    const char *steps[] = {"one_hot", "standard_scaler", "select drop=clicks"};
    check_allocation_failures(steps, 3);
    const char *more[][3] = {
        {"imputer add_indicator=true strategy=median", "minmax_scaler", "ordinal"},
        {"missing_indicator", "imputer columns=device strategy=most_frequent", "frequency"},
        {"ratio numerator=clicks denominator=amount", "robust_scaler", "one_hot"},
        {"maxabs_scaler", "normalizer", "select drop=device"},
    };
    for (size_t k = 0; k < sizeof more / sizeof *more; k++)
        check_allocation_failures(more[k], 3);
}

static void test_steps_are_listed(void)
{
    size_t n = 0;
    for (; anoma_component_name(ANOMA_KIND_STEP, n); n++)
        CHECK(an_step_find(anoma_component_name(ANOMA_KIND_STEP, n)) != NULL);
    CHECK(n >= 3);
    CHECK(anoma_component_summary(ANOMA_KIND_STEP, "one_hot") != NULL);
    anoma_param_info info;
    CHECK_OK(anoma_component_param(ANOMA_KIND_STEP, "one_hot", 3, &info));
    CHECK(!strcmp(info.key, "unseen") && !strcmp(info.default_value, "bucket"));
    CHECK_STATUS(anoma_component_param(ANOMA_KIND_STEP, "nope", 0, &info), ANOMA_ERR_UNKNOWN_NAME);
    an_pipeline p = {0};
    CHECK_STATUS(an_pipeline_add(&p, "robust_scalar", NULL), ANOMA_ERR_UNKNOWN_NAME);
    CHECK(strstr(anoma_last_error(), "standard_scaler") != NULL); /* lists the known ones */
    CHECK_STATUS(an_pipeline_add(&p, "one_hot", "unseen=maybe"), ANOMA_ERR_PARAM_VALUE);
    CHECK_STATUS(an_pipeline_add(&p, "one_hot", "max_categories=1"), ANOMA_ERR_PARAM_VALUE);
    CHECK(p.n_steps == 0);
    an_pipeline_free(&p);
}

/* Fit the steps on the small table (amount, device, clicks) and return the
 * output, rows x p->n_outputs; the pipeline stays fitted. */
static double *fit_table(an_pipeline *p, const char *const *steps, size_t n)
{
    double *x = NULL;
    CHECK_OK(build(p, steps, n));
    an_input_column cols[3];
    an_input in = table_input(cols, N);
    CHECK_OK(an_pipeline_fit(p, &in, 1, &x));
    return x;
}

static void test_minmax_scaler_by_hand(void)
{
    /* amount without the NaN: 1 2 4 5 6 -> min 1, range 5; clicks: min 10, range 50 */
    an_pipeline p;
    const char *steps[] = {"minmax_scaler feature_range=-1,3 clip=true", "select drop=device"};
    double *x = fit_table(&p, steps, 2);
    CHECK(p.n_outputs == 2 && !strcmp(output_name(&p, 0), "amount") &&
          !strcmp(output_name(&p, 1), "clicks"));
    for (size_t i = 0; i < N; i++) {
        if (i == 2)
            CHECK(isnan(x[i * 2]));
        else
            CHECK_NEAR(x[i * 2], -1 + 4 * (amount[i] - 1) / 5, 1e-15);
        CHECK_NEAR(x[i * 2 + 1], -1 + 4 * ((double)clicks[i] - 10) / 50, 1e-15);
    }
    an_free(x);
    /* outside the training range: clipped to [-1, 3] */
    const double far[N] = {-100, 100, 6, 1, NAN, 3.5};
    an_input_column cols[3];
    an_input in = table_input(cols, N);
    cols[0].values = far;
    double out[N * 2];
    CHECK_OK(an_pipeline_transform(&p, &in, 1, out));
    CHECK(out[0] == -1 && out[2] == 3 && fabs(out[4] - 3) < 1e-15 && fabs(out[6] + 1) < 1e-15 &&
          isnan(out[8]));
    CHECK_NEAR(out[10], -1 + 4 * 2.5 / 5, 1e-15);
    an_pipeline_free(&p);
    /* a constant column: range 0 -> scale 1, so every value maps to low */
    static const double flat[4] = {7, 7, NAN, 7};
    static const char *const nm[1] = {"flat"};
    static const an_cell_type ty[1] = {AN_CELL_NUMBER};
    an_pipeline q = {0};
    CHECK_OK(an_pipeline_set_input(&q, 1, nm, ty));
    CHECK_OK(an_pipeline_add(&q, "minmax_scaler", "feature_range=2,5"));
    an_input_column col = {ANOMA_COL_DOUBLE, flat};
    an_input fin = {NULL, &col, 4};
    CHECK_OK(an_pipeline_fit(&q, &fin, 1, &x));
    CHECK(x[0] == 2 && x[1] == 2 && isnan(x[2]) && x[3] == 2);
    an_free(x);
    an_pipeline_free(&q);
    const char *bad[] = {"minmax_scaler feature_range=1,1", "minmax_scaler feature_range=0",
                         "minmax_scaler feature_range=a,1"};
    check_refused(bad, 3, "feature_range");
}

static void test_robust_scaler_by_hand(void)
{
    /* amount 1 2 4 5 6: median 4; percentile 25 at (5 - 1) 0.25 = 1 -> 2,
     * percentile 75 at 3 -> 5: scale 3. clicks 10 .. 60: median 35;
     * percentile 25 at 1.25 -> 22.5, 75 at 3.75 -> 47.5: scale 25. */
    an_pipeline p;
    const char *steps[] = {"robust_scaler", "select drop=device"};
    double *x = fit_table(&p, steps, 2);
    for (size_t i = 0; i < N; i++) {
        if (i != 2)
            CHECK_NEAR(x[i * 2], (amount[i] - 4) / 3, 1e-15);
        CHECK_NEAR(x[i * 2 + 1], ((double)clicks[i] - 35) / 25, 1e-15);
    }
    CHECK(isnan(x[2 * 2]));
    an_free(x);
    an_pipeline_free(&p);
    /* percentiles 10 and 90 of clicks: at 0.5 -> 15 and 4.5 -> 55; no centring */
    const char *wide[] = {"robust_scaler columns=clicks quantile_range=10,90 with_centering=false",
                          "select drop=device,amount"};
    x = fit_table(&p, wide, 2);
    for (size_t i = 0; i < N; i++)
        CHECK_NEAR(x[i], (double)clicks[i] / 40, 1e-15);
    an_free(x);
    an_pipeline_free(&p);
    const char *bad[] = {"robust_scaler quantile_range=80,20", "robust_scaler quantile_range=-1,50",
                         "robust_scaler quantile_range=25,101"};
    check_refused(bad, 3, "quantile_range");
}

static void test_maxabs_and_normalizer_by_hand(void)
{
    an_pipeline p;
    const char *steps[] = {"maxabs_scaler columns=clicks", "select drop=device"};
    double *x = fit_table(&p, steps, 2);
    CHECK(!strcmp(output_name(&p, 1), "clicks"));
    for (size_t i = 0; i < N; i++)
        CHECK(x[i * 2 + 1] == (double)clicks[i] / 60 &&
              (i == 2 ? isnan(x[i * 2]) : x[i * 2] == amount[i]));
    an_free(x);
    an_pipeline_free(&p);
    /* rows of (amount, clicks): the NaN of row 2 is left out of its norm */
    static const char *const norms[] = {"l2", "l1", "max"};
    for (int k = 0; k < 3; k++) {
        char text[64];
        snprintf(text, sizeof text, "normalizer norm=%s", norms[k]);
        const char *nsteps[] = {text, "select drop=device"};
        x = fit_table(&p, nsteps, 2);
        for (size_t i = 0; i < N; i++) {
            double a = i == 2 ? 0 : amount[i], c = (double)clicks[i];
            double norm = k == 0 ? sqrt(a * a + c * c) : k == 1 ? a + c : c;
            if (i == 2)
                CHECK(isnan(x[i * 2]));
            else
                CHECK_NEAR(x[i * 2], a / norm, 1e-15);
            CHECK_NEAR(x[i * 2 + 1], c / norm, 1e-15);
        }
        an_free(x);
        an_pipeline_free(&p);
    }
    /* an all-zero row stays zero */
    static const double zeros[2] = {0, 0};
    static const char *const nm[2] = {"a", "b"};
    static const an_cell_type ty[2] = {AN_CELL_NUMBER, AN_CELL_NUMBER};
    CHECK_OK(an_pipeline_set_input(&p, 2, nm, ty));
    CHECK_OK(an_pipeline_add(&p, "normalizer", NULL));
    an_input_column zc[2] = {{ANOMA_COL_DOUBLE, zeros}, {ANOMA_COL_DOUBLE, zeros}};
    an_input zin = {NULL, zc, 2};
    CHECK_OK(an_pipeline_fit(&p, &zin, 1, &x));
    CHECK(x[0] == 0 && x[1] == 0 && x[2] == 0 && x[3] == 0);
    an_free(x);
    an_pipeline_free(&p);
}

static void test_scalers_agree_on_every_path(void)
{
    const char *steps[][2] = {{"minmax_scaler clip=true feature_range=-2,2", "one_hot"},
                              {"robust_scaler quantile_range=5,95", "one_hot"},
                              {"maxabs_scaler", "one_hot unseen=ignore"},
                              {"normalizer norm=l1", "one_hot"},
                              {"normalizer norm=max columns=clicks", "one_hot"}};
    for (size_t k = 0; k < sizeof steps / sizeof *steps; k++)
        check_paths_agree(steps[k], 2);
}

/* A pipeline over one or two number columns named a and b. */
static void fit_numbers(an_pipeline *p, const char *step, const char *params, const double *a,
                        const double *b, size_t rows, double **x)
{
    static const char *const nm[2] = {"a", "b"};
    static const an_cell_type ty[2] = {AN_CELL_NUMBER, AN_CELL_NUMBER};
    *p = (an_pipeline){0};
    CHECK_OK(an_pipeline_set_input(p, b ? 2 : 1, nm, ty));
    CHECK_OK(an_pipeline_add(p, step, params));
    an_input_column cols[2] = {{ANOMA_COL_DOUBLE, a}, {ANOMA_COL_DOUBLE, b}};
    an_input in = {NULL, cols, rows};
    CHECK_OK(an_pipeline_fit(p, &in, 1, x));
}

static void test_imputer_by_hand(void)
{
    /* amount without the NaN: 1 2 4 5 6: mean 3.6, median 4, every value
     * once so most_frequent takes the smallest, 1 */
    static const char *const strategies[] = {"mean", "median", "most_frequent",
                                             "constant fill_value=-7"};
    static const double fills[] = {3.6, 4, 1, -7};
    for (size_t k = 0; k < 4; k++) {
        char text[80];
        snprintf(text, sizeof text, "imputer add_indicator=true strategy=%s", strategies[k]);
        const char *steps[] = {text, "select drop=device"};
        an_pipeline p;
        double *x = fit_table(&p, steps, 2);
        /* clicks has nothing missing: no indicator for it */
        CHECK(p.n_outputs == 3 && !strcmp(output_name(&p, 0), "amount") &&
              !strcmp(output_name(&p, 1), "clicks") &&
              !strcmp(output_name(&p, 2), "amount_missing"));
        for (size_t i = 0; i < N; i++) {
            CHECK(x[i * 3] == (i == 2 ? fills[k] : amount[i]));
            CHECK(x[i * 3 + 1] == (double)clicks[i] && x[i * 3 + 2] == (i == 2));
        }
        an_free(x);
        an_pipeline_free(&p);
    }
    /* text: most_frequent fills "web" (3 of 5), constant "missing_value";
     * the ordinal codes that follow show what was filled */
    const char *mf[] = {"imputer columns=device strategy=most_frequent", "ordinal"};
    an_pipeline p;
    double *x = fit_table(&p, mf, 2);
    CHECK(x[3 * 3 + 1] == 2 && x[4 * 3 + 1] == 0); /* android 0, ios 1, web 2 */
    an_free(x);
    an_pipeline_free(&p);
    const char *cst[] = {"imputer columns=device,amount strategy=constant", "ordinal"};
    x = fit_table(&p, cst, 2);
    /* outputs in the order named, where amount (the first in the table) was */
    CHECK(!strcmp(output_name(&p, 0), "device") && !strcmp(output_name(&p, 1), "amount"));
    CHECK(x[3 * 3] == 2 && x[0 * 3] == 3 && x[2 * 3 + 1] == 0); /* ..., missing_value 2, web 3 */
    an_free(x);
    an_pipeline_free(&p);

    /* a column with no value: dropped (scikit-learn 1.2), or 0 when kept,
     * or the constant; its indicator stays */
    static const double empty[3] = {NAN, NAN, NAN}, b[3] = {1, NAN, 3};
    fit_numbers(&p, "imputer", "add_indicator=true", empty, b, 3, &x);
    CHECK(p.n_outputs == 3 && !strcmp(output_name(&p, 0), "b") &&
          !strcmp(output_name(&p, 1), "a_missing") && !strcmp(output_name(&p, 2), "b_missing"));
    CHECK(x[0] == 1 && x[3] == 2 && x[6] == 3 && x[1] == 1 && x[5] == 1 && x[2] == 0);
    an_free(x);
    an_pipeline_free(&p);
    fit_numbers(&p, "imputer", "keep_empty_features=true strategy=median", empty, b, 3, &x);
    CHECK(p.n_outputs == 2 && x[0] == 0 && x[2] == 0 && x[3] == 2);
    an_free(x);
    an_pipeline_free(&p);
    fit_numbers(&p, "imputer", "strategy=constant fill_value=2.5", empty, NULL, 3, &x);
    CHECK(p.n_outputs == 1 && x[0] == 2.5 && x[2] == 2.5);
    an_free(x);
    an_pipeline_free(&p);

    /* bad input: mean of text, a text fill for numbers */
    an_input_column cols[3];
    an_input in = table_input(cols, N);
    const char *bad[] = {"imputer columns=device", "imputer strategy=constant fill_value=abc"};
    const char *want[] = {"'device' is text", "'amount'"};
    for (size_t k = 0; k < 2; k++) {
        CHECK_OK(build(&p, bad + k, 1));
        CHECK_STATUS(an_pipeline_fit(&p, &in, 1, &x), ANOMA_ERR_INVALID_ARGUMENT);
        CHECK(strstr(anoma_last_error(), want[k]) != NULL);
        an_pipeline_free(&p);
    }
}

static void test_missing_indicator_by_hand(void)
{
    /* amount and device have missing values, clicks none: two indicators at
     * the end, the columns stay for the steps after */
    const char *steps[] = {"missing_indicator", "select drop=device"};
    an_pipeline p;
    double *x = fit_table(&p, steps, 2);
    CHECK(p.n_outputs == 4 && !strcmp(output_name(&p, 0), "amount") &&
          !strcmp(output_name(&p, 2), "amount_missing") &&
          !strcmp(output_name(&p, 3), "device_missing"));
    for (size_t i = 0; i < N; i++)
        CHECK(x[i * 4 + 2] == (i == 2) && x[i * 4 + 3] == (i == 3) &&
              x[i * 4 + 1] == (double)clicks[i]);
    an_free(x);
    an_pipeline_free(&p);
    const char *all[] = {"missing_indicator features=all", "select drop=device"};
    x = fit_table(&p, all, 2);
    CHECK(p.n_outputs == 5 && !strcmp(output_name(&p, 4), "clicks_missing") && x[4] == 0);
    an_free(x);
    an_pipeline_free(&p);
    /* a missing value where training had none: an error naming column and row */
    static const double full[3] = {1, 2, 3}, holed[3] = {1, NAN, 3};
    fit_numbers(&p, "missing_indicator", NULL, full, NULL, 3, &x);
    CHECK(p.n_outputs == 1);
    an_free(x);
    an_input_column col = {ANOMA_COL_DOUBLE, holed};
    an_input in = {NULL, &col, 3};
    double out[3];
    CHECK_STATUS(an_pipeline_transform(&p, &in, 1, out), ANOMA_ERR_INVALID_ARGUMENT);
    CHECK(strstr(anoma_last_error(), "'a'") && strstr(anoma_last_error(), "row 1"));
    an_pipeline_free(&p);
    fit_numbers(&p, "missing_indicator", "error_on_new=false", full, NULL, 3, &x);
    an_free(x);
    CHECK_OK(an_pipeline_transform(&p, &in, 1, out));
    CHECK(isnan(out[1]));
    an_pipeline_free(&p);
}

static void test_ordinal_by_hand(void)
{
    /* android 0, ios 1, web 2; missing seen in training -> NaN */
    const char *steps[] = {"ordinal"};
    an_pipeline p;
    double *x = fit_table(&p, steps, 1);
    CHECK(p.n_outputs == 3 && !strcmp(output_name(&p, 1), "device"));
    const double want[N] = {2, 1, 2, NAN, 0, 2};
    for (size_t i = 0; i < N; i++)
        CHECK(i == 3 ? isnan(x[i * 3 + 1]) : x[i * 3 + 1] == want[i]);
    an_free(x);
    /* unseen: the bucket is the cardinality, 4 (missing counts) */
    const char *other[N] = {"tv", "web", NULL, "ios", "android", "radio"};
    an_input_column cols[3];
    an_input in = table_input(cols, N);
    cols[1].values = other;
    double out[N * 3];
    CHECK_OK(an_pipeline_transform(&p, &in, 1, out));
    CHECK(out[1] == 4 && out[4] == 2 && isnan(out[7]) && out[10] == 1 && out[16] == 4);
    an_pipeline_free(&p);
    const char *coded[] = {"ordinal handle_unknown=use_encoded_value unknown_value=-1 "
                           "encoded_missing_value=-2"};
    x = fit_table(&p, coded, 1);
    CHECK(x[3 * 3 + 1] == -2);
    an_free(x);
    CHECK_OK(an_pipeline_transform(&p, &in, 1, out));
    CHECK(out[1] == -1 && out[7] == -2 && out[16] == -1);
    an_pipeline_free(&p);
    const char *strict[] = {"ordinal handle_unknown=error"};
    x = fit_table(&p, strict, 1);
    an_free(x);
    CHECK_STATUS(an_pipeline_transform(&p, &in, 1, out), ANOMA_ERR_INVALID_ARGUMENT);
    CHECK(strstr(anoma_last_error(), "'device'") && strstr(anoma_last_error(), "'tv'") &&
          strstr(anoma_last_error(), "row 0"));
    an_pipeline_free(&p);
    /* codes that collide with a training category's code (0 .. 3) */
    const char *clash[] = {"ordinal handle_unknown=use_encoded_value unknown_value=3",
                           "ordinal encoded_missing_value=1"};
    for (size_t k = 0; k < 2; k++) {
        an_input good = table_input(cols, N);
        CHECK_OK(build(&p, clash + k, 1));
        CHECK_STATUS(an_pipeline_fit(&p, &good, 1, &x), ANOMA_ERR_INVALID_ARGUMENT);
        CHECK(strstr(anoma_last_error(), "'device'") != NULL);
        an_pipeline_free(&p);
    }
    const char *frac[] = {"ordinal unknown_value=0.5"};
    CHECK_STATUS(build(&p, frac, 1), ANOMA_ERR_PARAM_VALUE);
    an_pipeline_free(&p);
}

static void test_frequency_by_hand(void)
{
    /* web 3 of 6 rows, ios 1, android 1, missing 1 */
    const char *steps[] = {"frequency"};
    an_pipeline p;
    double *x = fit_table(&p, steps, 1);
    CHECK(p.n_outputs == 3 && !strcmp(output_name(&p, 1), "device_frequency"));
    const double want[N] = {0.5, 1.0 / 6, 0.5, 1.0 / 6, 1.0 / 6, 0.5};
    for (size_t i = 0; i < N; i++)
        CHECK(x[i * 3 + 1] == want[i]);
    an_free(x);
    const char *other[N] = {"tv", "web", NULL, "ios", "android", "radio"};
    an_input_column cols[3];
    an_input in = table_input(cols, N);
    cols[1].values = other;
    double out[N * 3];
    CHECK_OK(an_pipeline_transform(&p, &in, 1, out));
    CHECK(out[1] == 0 && out[4] == 0.5 && out[7] == 1.0 / 6 && out[16] == 0);
    an_pipeline_free(&p);
}

static void test_ratio_by_hand(void)
{
    static const double a[7] = {0, 1, 0, NAN, 1e300, -1e300, 3};
    static const double b[7] = {0, 0, 5, 1, 1e-300, 1e-300, NAN};
    an_pipeline p;
    double *x = NULL;
    fit_numbers(&p, "ratio", "numerator=a denominator=b", a, b, 7, &x);
    CHECK(p.n_outputs == 3 && !strcmp(output_name(&p, 2), "a_per_b"));
    CHECK(x[2] == 0 && isnan(x[5]) && x[8] == 0 && isnan(x[11]) && x[14] == DBL_MAX &&
          x[17] == -DBL_MAX && isnan(x[20]));
    CHECK(x[0] == 0 && x[1] == 0 && x[3] == 1); /* a and b stay in place */
    an_free(x);
    an_pipeline_free(&p);
    fit_numbers(&p, "ratio", "numerator=a denominator=b zero_division=-1 name=rate", a, b, 7, &x);
    CHECK(!strcmp(output_name(&p, 2), "rate") && x[2] == 0 && x[5] == -1);
    an_free(x);
    an_pipeline_free(&p);
    fit_numbers(&p, "ratio", "numerator=b denominator=a op=product", a, b, 7, &x);
    CHECK(!strcmp(output_name(&p, 2), "b_times_a") && x[8] == 0 && x[14] == 1 &&
          isnan(x[11]) && isnan(x[20]));
    an_free(x);
    an_pipeline_free(&p);
    fit_numbers(&p, "ratio", "numerator=a denominator=b op=difference", a, b, 7, &x);
    CHECK(!strcmp(output_name(&p, 2), "a_minus_b") && x[5] == 1 && x[8] == -5);
    an_free(x);
    an_pipeline_free(&p);
    /* bad input */
    CHECK_STATUS(an_pipeline_add(&p, "ratio", "numerator=a"), ANOMA_ERR_PARAM_VALUE);
    CHECK(strstr(anoma_last_error(), "denominator") != NULL);
    an_pipeline_free(&p);
    an_input_column cols[3];
    an_input in = table_input(cols, N);
    const char *bad[] = {"ratio numerator=clicks denominator=device",
                         "ratio numerator=clicks denominator=price",
                         "ratio numerator=clicks denominator=clicks",
                         "ratio numerator=clicks denominator=amount name=amount"};
    const char *want[] = {"'device' is text", "'price'", "'clicks'",
                          "makes a column 'amount' and the input makes one too"};
    for (size_t k = 0; k < 4; k++) {
        CHECK_OK(build(&p, bad + k, 1));
        CHECK_STATUS(an_pipeline_fit(&p, &in, 1, &x), ANOMA_ERR_INVALID_ARGUMENT);
        CHECK(strstr(anoma_last_error(), want[k]) != NULL);
        an_pipeline_free(&p);
    }
}

static void test_imputers_and_encoders_agree_on_every_path(void)
{
    const char *steps[][2] = {
        {"imputer strategy=median add_indicator=true", "one_hot"},
        {"imputer columns=device strategy=most_frequent add_indicator=true", "ordinal"},
        {"missing_indicator", "frequency"},
        {"ratio numerator=clicks denominator=amount zero_division=0", "one_hot"},
        {"ordinal handle_unknown=use_encoded_value unknown_value=-1 encoded_missing_value=-2",
         "imputer"},
    };
    for (size_t k = 0; k < sizeof steps / sizeof *steps; k++)
        check_paths_agree(steps[k], 2);
}

int main(void)
{
    RUN(test_steps_are_listed);
    RUN(test_scaler_and_one_hot_by_hand);
    RUN(test_one_hot_rare_and_unseen);
    RUN(test_ties_in_max_categories);
    RUN(test_select);
    RUN(test_fit_errors_name_the_column);
    RUN(test_block_row_and_file_agree);
    RUN(test_allocation_failures);
    RUN(test_minmax_scaler_by_hand);
    RUN(test_robust_scaler_by_hand);
    RUN(test_maxabs_and_normalizer_by_hand);
    RUN(test_scalers_agree_on_every_path);
    RUN(test_imputer_by_hand);
    RUN(test_missing_indicator_by_hand);
    RUN(test_ordinal_by_hand);
    RUN(test_frequency_by_hand);
    RUN(test_ratio_by_hand);
    RUN(test_imputers_and_encoders_agree_on_every_path);
    return test_summary();
}
