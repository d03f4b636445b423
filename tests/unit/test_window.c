/* The window step and the executor's stateful path: hand-computed lags,
 * differences, rolling statistics, EWMA and deviation per entity; batch,
 * row by row and after save/load agree to the bit; entity state saves and
 * restores; bad parameters. The comparison with pandas (groupby + shift,
 * diff, rolling, ewm) is in tests/python/test_window_features.py. */
#include "testing.h"

#include "core/alloc.h"
#include "core/error.h"
#include "features/entity_map.h"
#include "features/pipeline.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* user a: 1, 2, NaN, 4, 8; user b: 10, 20, 40 (interleaved). */
enum { N = 8 };
static const char *const user[N] = {"a", "b", "a", "a", "b", "a", "b", "a"};
static const double value[N] = {1, 10, 2, NAN, 20, 4, 40, 8};
static const char *const names[2] = {"user", "value"};
static const an_cell_type types[2] = {AN_CELL_TEXT, AN_CELL_NUMBER};

static anoma_status fit(an_pipeline *p, const char *params, double **x)
{
    *p = (an_pipeline){0};
    *x = NULL;
    AN_TRY(an_pipeline_set_input(p, 2, names, types));
    AN_TRY(an_pipeline_add(p, "window", params));
    AN_TRY(an_pipeline_add(p, "select", "drop=user"));
    an_input_column cols[2] = {{ANOMA_COL_STRING, user}, {ANOMA_COL_DOUBLE, value}};
    an_input in = {NULL, cols, N};
    return an_pipeline_fit(p, &in, 1, x);
}

static const char *output_name(const an_pipeline *p, size_t k)
{
    return p->slot_names[p->stage_slots[p->stage_begin[p->n_steps] + k]];
}

/* NaN-aware equality to a tolerance. */
static int same(double got, double want, double tol)
{
    return isnan(want) ? isnan(got) : fabs(got - want) <= tol;
}

static void test_lags_diff_rolling_by_hand(void)
{
    an_pipeline p;
    double *x;
    CHECK_OK(fit(&p, "entity=user lags=1,2 diff=1 rolling=3 stats=mean,std,min,max,median "
                     "min_periods=2", &x));
    const char *want_names[] = {"value", "value_lag_1", "value_lag_2", "value_diff_1",
                                "value_rolling_mean_3", "value_rolling_std_3",
                                "value_rolling_min_3", "value_rolling_max_3",
                                "value_rolling_median_3"};
    CHECK(p.n_outputs == 9);
    for (size_t k = 0; k < 9 && k < p.n_outputs; k++)
        CHECK(!strcmp(output_name(&p, k), want_names[k]));
    /* per row: lag1 lag2 diff1 mean std min max median, worked out by hand
     * from each user's own series (a: 1 2 NaN 4 8, b: 10 20 40) */
    const double want[N][8] = {
        {NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN},             /* a 1: one value < 2 */
        {NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN},             /* b 10 */
        {1, NAN, 1, 1.5, sqrt(0.5), 1, 2, 1.5},               /* a 2: {1, 2} */
        {2, 1, NAN, 1.5, sqrt(0.5), 1, 2, 1.5},               /* a NaN: {1, 2, NaN} */
        {10, NAN, 10, 15, sqrt(50), 10, 20, 15},              /* b 20: {10, 20} */
        {NAN, 2, NAN, 3, sqrt(2), 2, 4, 3},                   /* a 4: {2, NaN, 4} */
        {20, 10, 20, 70.0 / 3, sqrt(1400.0 / 6), 10, 40, 20}, /* b 40: {10, 20, 40} */
        {4, NAN, 4, 6, sqrt(8), 4, 8, 6},                     /* a 8: {NaN, 4, 8} */
    };
    for (size_t i = 0; i < N; i++) {
        CHECK(same(x[i * 9], value[i], 0));
        for (size_t k = 0; k < 8; k++)
            if (!same(x[i * 9 + 1 + k], want[i][k], 1e-14))
                test_fail(__FILE__, __LINE__, "row %zu, %s: %.17g, want %.17g", i,
                          want_names[k + 1], x[i * 9 + 1 + k], want[i][k]);
    }
    an_free(x);
    an_pipeline_free(&p);
}

static void test_ewma_and_deviation_by_hand(void)
{
    an_pipeline p;
    double *x;
    /* alpha 0.5, adjust: weights 1, 1/2, 1/4 ... over the past, a NaN
     * still ages the older values (pandas' ignore_na=False) */
    CHECK_OK(fit(&p, "entity=user ewma_alpha=0.5 ewma_span=3 rolling=2 stats=mean deviation=true",
                 &x));
    CHECK(p.n_outputs == 5);
    CHECK(!strcmp(output_name(&p, 2), "value_deviation_2"));
    CHECK(!strcmp(output_name(&p, 3), "value_ewma_alpha_0.5"));
    CHECK(!strcmp(output_name(&p, 4), "value_ewma_span_3")); /* span 3 is alpha 0.5 too */
    /* a: 1; 2 -> (0.5*1 + 2)/1.5 = 5/3; NaN -> 5/3; 4 -> weights of 1, 2, 4:
     * 1/8, 1/4 (NaN: 1/2 unused), 1 -> (1/8 + 2/4 + 4)/(1/8 + 1/4 + 1) = 37/11;
     * 8 -> (1/16 + 2/8 + 4/2 + 8)/(1/16 + 1/8 + 1/2 + 1) = 165/27 */
    const double ewma_a[] = {1, 5.0 / 3, 5.0 / 3, 37.0 / 11, 165.0 / 27};
    /* b: 10; 20 -> (5 + 20)/1.5 = 50/3; 40 -> (2.5 + 10 + 40)/1.75 = 30 */
    const double ewma_b[] = {10, 50.0 / 3, 30};
    /* deviation over the previous 2 values (min_periods = 2):
     * a 4: previous {2, NaN}: one value -> NaN; a 8: previous {NaN, 4} -> NaN;
     * b 40: previous {10, 20}: (40 - 15) / sqrt(50) */
    size_t ia = 0, ib = 0;
    for (size_t i = 0; i < N; i++) {
        double e = user[i][0] == 'a' ? ewma_a[ia++] : ewma_b[ib++];
        CHECK(same(x[i * 5 + 3], e, 1e-14));
        CHECK(same(x[i * 5 + 4], e, 1e-14));
        CHECK(same(x[i * 5 + 2], i == 6 ? 25 / sqrt(50) : NAN, 1e-14));
    }
    an_free(x);
    an_pipeline_free(&p);
    /* adjust=false: y = (1 - a) y + a x, a NaN ages y's weight:
     * a: 1, 1.5, 1.5, then weights 0.25 and 0.5: (0.25*1.5 + 0.5*4)/0.75 = 19/6,
     * then (0.5*19/6 + 0.5*8)/1 = 67/12 */
    CHECK_OK(fit(&p, "entity=user ewma_alpha=0.5 adjust=false", &x));
    const double want[] = {1, 1.5, 1.5, 19.0 / 6, 67.0 / 12};
    for (size_t i = 0, k = 0; i < N; i++)
        if (user[i][0] == 'a')
            CHECK(same(x[i * 2 + 1], want[k++], 1e-14));
    an_free(x);
    an_pipeline_free(&p);
}

static void test_one_series_without_entity(void)
{
    an_pipeline p;
    double *x;
    CHECK_OK(fit(&p, "lags=1 rolling=2 stats=max min_periods=1", &x));
    for (size_t i = 1; i < N; i++) {
        CHECK(same(x[i * 3 + 1], value[i - 1], 0));
        double m = isnan(value[i]) ? value[i - 1] : isnan(value[i - 1]) ? value[i]
                                                  : fmax(value[i], value[i - 1]);
        CHECK(same(x[i * 3 + 2], m, 0));
    }
    an_free(x);
    an_pipeline_free(&p);
}

/* A longer interleaved series: the batch, one row at a time through one
 * work (the row scorer's path), and a reloaded pipeline agree to the bit;
 * saving each entity's state and restoring it into a fresh map continues
 * the series exactly. */
enum { BIG = 3000, USERS = 37 };
static char big_names[USERS][8];
static const char *big_user[BIG];
static double big_value[BIG];

/* A long series of USERS interleaved users, with missing values. */
static void make_series(size_t rows, const char **users, double *values)
{
    for (size_t u = 0; u < USERS; u++)
        snprintf(big_names[u], sizeof big_names[u], "u%zu", u);
    for (size_t i = 0; i < rows; i++) {
        users[i] = big_names[(i * 7 + i / 13) % USERS];
        values[i] = i % 23 == 5 ? NAN : sin((double)i) * 100 + (double)(i % 11);
    }
}

static void test_batch_rows_and_file_agree(void)
{
    make_series(BIG, big_user, big_value);
    an_input_column cols[2] = {{ANOMA_COL_STRING, big_user}, {ANOMA_COL_DOUBLE, big_value}};
    an_input in = {NULL, cols, BIG};
    an_pipeline p = {0};
    CHECK_OK(an_pipeline_set_input(&p, 2, names, types));
    CHECK_OK(an_pipeline_add(&p, "window", "entity=user lags=1,3 diff=2 rolling=5,9 "
                                           "stats=median,mean,std,min,max deviation=true "
                                           "ewma_span=4 ewma_alpha=0.2"));
    CHECK_OK(an_pipeline_add(&p, "select", "drop=user"));
    double *fit_out = NULL;
    CHECK_OK(an_pipeline_fit(&p, &in, 2, &fit_out));
    CHECK(an_pipeline_is_stateful(&p));
    size_t w = p.n_outputs;
    double *batch = CHECK_PIPELINE_AGREES(&p, &in, fit_out, 4);
    an_free(fit_out);
    if (!batch) {
        an_pipeline_free(&p);
        return;
    }

    /* entity state to bytes and back, halfway through the series */
    const an_step_vtable *vt = p.steps[0].vt;
    const void *st = p.steps[0].state;
    an_entity_map *first = NULL, *second = NULL;
    CHECK_OK(an_pipeline_step_map(&p, 0, &first));
    CHECK_OK(an_pipeline_step_map(&p, 0, &second));
    an_input_column half_cols[2];
    const an_cell *in_cells[2];
    an_cell *out_cells[64];
    an_cell out_store[64];
    double scratch[64];
    for (size_t k = 0; k < 64; k++)
        out_cells[k] = &out_store[k];
    (void)half_cols;
    for (size_t i = 0; i < BIG / 2; i++) {
        an_cell key = {.text = big_user[i]}, v = {.num = big_value[i]};
        in_cells[0] = &v;
        in_cells[1] = &key;
        void *es;
        CHECK_OK(an_entity_map_state(first, AN_CELL_TEXT, key, &es));
        an_step_fault fault = {0};
        CHECK_OK(vt->entity_transform(st, es, in_cells, out_cells, scratch, &fault));
    }
    CHECK(an_entity_map_count(first) == USERS);
    for (size_t u = 0; u < USERS; u++) {
        an_cell key = {.text = big_names[u]};
        void *from, *to;
        CHECK_OK(an_entity_map_state(first, AN_CELL_TEXT, key, &from));
        an_writer bytes = {0};
        CHECK_OK(vt->entity_save(st, from, &bytes));
        CHECK_OK(an_entity_map_state(second, AN_CELL_TEXT, key, &to));
        an_reader rb = an_reader_make(bytes.data, bytes.len, "entity state");
        CHECK_OK(vt->entity_restore(st, to, &rb));
        CHECK(rb.pos == rb.len && bytes.len == vt->entity_bytes(st));
        an_writer_free(&bytes);
    }
    for (size_t i = BIG / 2; i < BIG; i++) {
        an_cell key = {.text = big_user[i]}, v = {.num = big_value[i]};
        in_cells[0] = &v;
        in_cells[1] = &key;
        void *es;
        CHECK_OK(an_entity_map_state(second, AN_CELL_TEXT, key, &es));
        an_step_fault fault = {0};
        CHECK_OK(vt->entity_transform(st, es, in_cells, out_cells, scratch, &fault));
        /* the window's outputs come after the value column in the batch */
        for (size_t k = 0; k + 1 < w; k++)
            if (memcmp(&out_store[k].num, &batch[i * w + 1 + k], sizeof(double)))
                test_fail(__FILE__, __LINE__, "row %zu output %zu differs after restore", i, k);
    }
    an_entity_map_free(first);
    an_entity_map_free(second);
    an_pipeline_free(&p);
    free(batch);
}

/* Steps before the first stateful one run in parallel over blocks, the rest
 * in order: the same bits as one thread and as row by row, over enough
 * blocks for several chunks, and an error in the parallel part names its
 * row. */
static void test_threads_before_the_window(void)
{
    enum { ROWS = 40000 };
    static const char *users[ROWS];
    static double values[ROWS];
    make_series(ROWS, users, values);
    an_input_column cols[2] = {{ANOMA_COL_STRING, users}, {ANOMA_COL_DOUBLE, values}};
    an_input in = {NULL, cols, ROWS};
    an_pipeline p = {0};
    CHECK_OK(an_pipeline_set_input(&p, 2, names, types));
    CHECK_OK(an_pipeline_add(&p, "standard_scaler", "columns=value"));
    CHECK_OK(an_pipeline_add(&p, "window", "entity=user lags=1 rolling=4 stats=mean,max"));
    CHECK_OK(an_pipeline_add(&p, "select", "drop=user"));
    double *fit_out = NULL;
    CHECK_OK(an_pipeline_fit(&p, &in, 1, &fit_out));
    size_t w = p.n_outputs;
    double *one = malloc(ROWS * w * sizeof(double)), *many = malloc(ROWS * w * sizeof(double));
    double *rows = malloc(ROWS * w * sizeof(double));
    CHECK_OK(an_pipeline_transform(&p, &in, 1, one));
    CHECK_OK(an_pipeline_transform(&p, &in, 4, many));
    an_pipeline_work *work = NULL;
    CHECK_OK(an_pipeline_work_create(&p, 1, &work));
    for (size_t i = 0; i < ROWS; i++)
        CHECK_OK(an_pipeline_run_block(&p, work, &in, i, 1, rows + i * w));
    an_pipeline_work_free(work);
    CHECK(!memcmp(fit_out, one, ROWS * w * sizeof(double)));
    CHECK(!memcmp(one, many, ROWS * w * sizeof(double)));
    CHECK(!memcmp(one, rows, ROWS * w * sizeof(double)));
    values[31234] = INFINITY;
    CHECK_STATUS(an_pipeline_transform(&p, &in, 4, many), ANOMA_ERR_NONFINITE);
    CHECK(strstr(anoma_last_error(), "'value', row 31234") != NULL);
    an_pipeline_free(&p);
    an_free(fit_out);
    free(one);
    free(many);
    free(rows);
}

static void test_number_and_missing_entities(void)
{
    /* a number entity: 1.0 and -0.0/0.0 keys, and NaN (missing) as one group */
    static const double key[6] = {1, 0.0, NAN, 1, -0.0, NAN};
    static const double v[6] = {5, 6, 7, 8, 9, 10};
    static const char *const nm[2] = {"sensor", "v"};
    static const an_cell_type ty[2] = {AN_CELL_NUMBER, AN_CELL_NUMBER};
    an_pipeline p = {0};
    CHECK_OK(an_pipeline_set_input(&p, 2, nm, ty));
    CHECK_OK(an_pipeline_add(&p, "window", "entity=sensor lags=1"));
    an_input_column cols[2] = {{ANOMA_COL_DOUBLE, key}, {ANOMA_COL_DOUBLE, v}};
    an_input in = {NULL, cols, 6};
    double *x = NULL;
    CHECK_OK(an_pipeline_fit(&p, &in, 1, &x));
    /* outputs: sensor, v, v_lag_1 (the entity is not a series by default) */
    CHECK(p.n_outputs == 3 && !strcmp(output_name(&p, 2), "v_lag_1"));
    const double want[6] = {NAN, NAN, NAN, 5, 6, 7};
    for (size_t i = 0; i < 6; i++)
        CHECK(same(x[i * 3 + 2], want[i], 0));
    an_free(x);
    an_pipeline_free(&p);
}

static void test_bad_parameters_and_columns(void)
{
    an_pipeline p = {0};
    const char *bad[] = {"lags=0", "lags=1,x", "rolling=3 min_periods=4", "stats=mean,avg",
                         "stats=mean,mean rolling=2", "ewma_alpha=1.5", "ewma_span=0.5", "",
                         "entity=user"};
    for (size_t k = 0; k < sizeof bad / sizeof *bad; k++) {
        CHECK_STATUS(an_pipeline_add(&p, "window", bad[k]), ANOMA_ERR_PARAM_VALUE);
        CHECK(strstr(anoma_last_error(), "window") != NULL);
    }
    CHECK(p.n_steps == 0);
    double *x;
    CHECK_STATUS(fit(&p, "entity=account lags=1", &x), ANOMA_ERR_INVALID_ARGUMENT);
    CHECK(strstr(anoma_last_error(), "'account'") != NULL);
    an_pipeline_free(&p);
    CHECK_STATUS(fit(&p, "columns=user lags=1", &x), ANOMA_ERR_INVALID_ARGUMENT);
    CHECK(strstr(anoma_last_error(), "'user' is text") != NULL);
    an_pipeline_free(&p);
}

static anoma_status fit_transform_and_free(void *ctx)
{
    (void)ctx;
    an_pipeline p;
    double *x = NULL, out[N * 4];
    anoma_status st = fit(&p, "entity=user lags=1 rolling=2 stats=median", &x);
    if (st == ANOMA_OK) {
        an_input_column cols[2] = {{ANOMA_COL_STRING, user}, {ANOMA_COL_DOUBLE, value}};
        an_input in = {NULL, cols, N};
        st = an_pipeline_transform(&p, &in, 1, out);
    }
    an_free(x);
    an_pipeline_free(&p);
    return st;
}

static void test_allocation_failures(void)
{
    CHECK_ALLOC_FAILURES(fit_transform_and_free, NULL);
}

int main(void)
{
    RUN(test_lags_diff_rolling_by_hand);
    RUN(test_ewma_and_deviation_by_hand);
    RUN(test_one_series_without_entity);
    RUN(test_batch_rows_and_file_agree);
    RUN(test_threads_before_the_window);
    RUN(test_number_and_missing_entities);
    RUN(test_bad_parameters_and_columns);
    RUN(test_allocation_failures);
    return test_summary();
}
