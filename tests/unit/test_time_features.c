/* time_features against hand-computed calendars: leap days (2024, 2000 and
 * the non-leap 2100), year ends, offsets across midnight and the date line,
 * times before 1970, the business-hours and night windows, missing
 * timestamps, seconds since an entity's previous row (batch, row by row and
 * after save/load), and bad parameters. The comparison with pandas' dt
 * accessors is in tests/python/test_time_features.py. */
#include "testing.h"

#include "anoma/data.h"
#include "core/alloc.h"
#include "core/error.h"
#include "features/pipeline.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* One row: the timestamp and its local calendar, worked out by hand. */
typedef struct day_case {
    int64_t ts;
    const char *offset;
    double second; /* of the local day */
    int weekday;   /* Monday = 0 */
    int day, days_in_month, month;
    int business, night;
} day_case;

static const day_case cases[] = {
    /* 2024-02-29 23:30 UTC, a Thursday of a leap February */
    {1709249400, "+00:00", 23 * 3600 + 1800, 3, 29, 29, 2, 0, 1},
    /* the same instant at +01:00 is Friday 2024-03-01 00:30 */
    {1709249400, "+01:00", 1800, 4, 1, 31, 3, 0, 1},
    /* ... and at -10:00 Thursday 13:30 (business hours) */
    {1709249400, "-10:00", 13 * 3600 + 1800, 3, 29, 29, 2, 1, 0},
    /* 2023-12-31 23:59:59 UTC, a Sunday; at -05:00 18:59:59 */
    {1704067199, "+00:00", 86399, 6, 31, 31, 12, 0, 1},
    {1704067199, "-18000", 18 * 3600 + 3599, 6, 31, 31, 12, 0, 0},
    /* one second later: Monday 2024-01-01 00:00 UTC; at +14:00 14:00 */
    {1704067200, "+00:00", 0, 0, 1, 31, 1, 0, 1},
    {1704067200, "+14:00", 14 * 3600, 0, 1, 31, 1, 1, 0},
    /* 1969-12-31 12:00 UTC, a Wednesday before the epoch */
    {-43200, "+00:00", 12 * 3600, 2, 31, 31, 12, 1, 0},
    /* 2100-02-28 10:00 UTC, a Sunday; 2100 is not a leap year */
    {4107492000, "+00:00", 10 * 3600, 6, 28, 28, 2, 0, 0},
    /* 2000-02-29 09:00 UTC, a Tuesday; 2000 is (divisible by 400) */
    {951814800, "+00:00", 9 * 3600, 1, 29, 29, 2, 1, 0},
    /* Monday 2024-01-08 17:00: business hours end at 17:00 exactly */
    {1704733200, "+00:00", 17 * 3600, 0, 8, 31, 1, 0, 0},
};

static const char *const ts_name[1] = {"ts"};
static const an_cell_type ts_type[1] = {AN_CELL_TIMESTAMP};

static int near(double got, double want)
{
    return fabs(got - want) <= 1e-15;
}

static void check_row(const double *x, const day_case *c, size_t index)
{
    const double circles[4] = {c->second / 86400, c->weekday / 7.0,
                               (c->day - 1) / (double)c->days_in_month, (c->month - 1) / 12.0};
    for (int k = 0; k < 4; k++)
        if (!near(x[2 * k], sin(2 * M_PI * circles[k])) ||
            !near(x[2 * k + 1], cos(2 * M_PI * circles[k])))
            test_fail(__FILE__, __LINE__, "case %zu: circle %d is (%.17g, %.17g)", index, k,
                      x[2 * k], x[2 * k + 1]);
    if (x[8] != (c->weekday >= 5) || x[9] != c->business || x[10] != c->night)
        test_fail(__FILE__, __LINE__, "case %zu: flags %g %g %g", index, x[8], x[9], x[10]);
}

static void test_calendar_by_hand(void)
{
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        an_pipeline p = {0};
        CHECK_OK(an_pipeline_set_input(&p, 1, ts_name, ts_type));
        char params[96];
        snprintf(params, sizeof params, "column=ts utc_offset=%s", cases[k].offset);
        CHECK_OK(an_pipeline_add(&p, "time_features", params));
        int64_t ts[2] = {cases[k].ts, ANOMA_TIMESTAMP_MISSING};
        an_input_column col = {ANOMA_COL_TIMESTAMP, ts};
        an_input in = {NULL, &col, 2};
        double *x = NULL;
        CHECK_OK(an_pipeline_fit(&p, &in, 1, &x));
        CHECK(p.n_outputs == 11 && !an_pipeline_is_stateful(&p));
        if (p.n_outputs == 11) {
            check_row(x, &cases[k], k);
            for (size_t j = 0; j < 11; j++)
                CHECK(isnan(x[11 + j])); /* the missing timestamp */
        }
        an_free(x);
        an_pipeline_free(&p);
    }
}

static void test_names_numbers_and_windows(void)
{
    /* a number column of seconds with a fraction; custom windows; some features */
    static const char *const nm[1] = {"t"};
    static const an_cell_type ty[1] = {AN_CELL_NUMBER};
    an_pipeline p = {0};
    CHECK_OK(an_pipeline_set_input(&p, 1, nm, ty));
    CHECK_OK(an_pipeline_add(&p, "time_features", "column=t features=hour,business_hours,night "
                                                  "business_hours=08:30-12 night_hours=01-05"));
    /* 1970-01-01 (Thursday) 08:29:59.5, 08:30, 04:59, 05:00, and Saturday 10:00 */
    const double t[5] = {8 * 3600 + 29 * 60 + 59.5, 8 * 3600 + 1800, 4 * 3600 + 59 * 60,
                         5 * 3600, 2 * 86400 + 10 * 3600};
    an_input_column col = {ANOMA_COL_DOUBLE, t};
    an_input in = {NULL, &col, 5};
    double *x = NULL;
    CHECK_OK(an_pipeline_fit(&p, &in, 1, &x));
    const char *want[] = {"t_hour_sin", "t_hour_cos", "t_business_hours", "t_night"};
    CHECK(p.n_outputs == 4);
    for (size_t k = 0; k < 4 && k < p.n_outputs; k++)
        CHECK(!strcmp(p.slot_names[p.stage_slots[p.stage_begin[1] + k]], want[k]));
    CHECK(near(x[0], sin(2 * M_PI * t[0] / 86400)));
    const double flags[5][2] = {{0, 0}, {1, 0}, {0, 1}, {0, 0}, {0, 0}};
    for (size_t i = 0; i < 5; i++)
        CHECK(x[i * 4 + 2] == flags[i][0] && x[i * 4 + 3] == flags[i][1]);
    an_free(x);
    an_pipeline_free(&p);
}

/* since_previous per entity: user a at 100, 160, (missing), 200; b at 150, 150. */
enum { N = 6 };
static const char *const user[N] = {"a", "b", "a", "a", "a", "b"};
static const int64_t when[N] = {100, 150, 160, ANOMA_TIMESTAMP_MISSING, 200, 150};

static void test_since_previous_per_entity(void)
{
    static const char *const nm[2] = {"user", "ts"};
    static const an_cell_type ty[2] = {AN_CELL_TEXT, AN_CELL_TIMESTAMP};
    an_pipeline p = {0};
    CHECK_OK(an_pipeline_set_input(&p, 2, nm, ty));
    CHECK_OK(an_pipeline_add(&p, "time_features", "column=ts entity=user utc_offset=3600"));
    CHECK_OK(an_pipeline_add(&p, "select", "drop=user"));
    an_input_column cols[2] = {{ANOMA_COL_STRING, user}, {ANOMA_COL_TIMESTAMP, when}};
    an_input in = {NULL, cols, N};
    double *x = NULL;
    CHECK_OK(an_pipeline_fit(&p, &in, 1, &x));
    CHECK(an_pipeline_is_stateful(&p) && p.n_outputs == 12);
    CHECK(!strcmp(p.slot_names[p.stage_slots[p.stage_begin[2] + 11]], "ts_since_previous"));
    const double want[N] = {NAN, NAN, 60, NAN, 40, 0};
    for (size_t i = 0; i < N; i++) {
        double got = x[i * 12 + 11];
        CHECK(isnan(want[i]) ? isnan(got) : got == want[i]);
    }
    /* the row path (one work, rows in order) and a reloaded pipeline agree */
    double rows[N * 12], loaded[N * 12];
    an_pipeline_work *work = NULL;
    CHECK_OK(an_pipeline_work_create(&p, 1, &work));
    for (size_t i = 0; i < N; i++)
        CHECK_OK(an_pipeline_run_block(&p, work, &in, i, 1, rows + i * 12));
    an_pipeline_work_free(work);
    an_writer image = {0};
    an_pipeline_save(&p, &image);
    an_pipeline back = {0};
    an_reader r = an_reader_make(image.data, image.len, "pipeline");
    CHECK_OK(an_pipeline_load(&back, &r));
    CHECK_OK(an_pipeline_transform(&back, &in, 1, loaded));
    CHECK(!memcmp(x, rows, sizeof rows) && !memcmp(x, loaded, sizeof loaded));
    for (size_t cut = 0; cut < image.len; cut++) {
        an_pipeline q = {0};
        an_reader rc = an_reader_make(image.data, cut, "pipeline");
        CHECK(an_pipeline_load(&q, &rc) != ANOMA_OK || rc.pos < rc.len);
        an_pipeline_free(&q);
    }
    an_writer_free(&image);
    an_pipeline_free(&back);
    an_free(x);
    an_pipeline_free(&p);

    /* without entity= but with since_previous: the whole input is one series */
    CHECK_OK(an_pipeline_set_input(&p, 2, nm, ty));
    CHECK_OK(an_pipeline_add(&p, "time_features", "column=ts features=since_previous"));
    CHECK_OK(an_pipeline_add(&p, "select", "drop=user"));
    CHECK_OK(an_pipeline_fit(&p, &in, 1, &x));
    CHECK(p.n_outputs == 1);
    const double one[N] = {NAN, 50, 10, NAN, 40, -50};
    for (size_t i = 0; i < N; i++)
        CHECK(isnan(one[i]) ? isnan(x[i]) : x[i] == one[i]);
    an_free(x);
    an_pipeline_free(&p);
}

static void test_bad_input(void)
{
    an_pipeline p = {0};
    const char *bad[] = {"column=ts utc_offset=+1:00", "column=ts utc_offset=+25:00",
                         "column=ts utc_offset=90000", "column=ts utc_offset=+5",
                         "column=ts business_hours=9",
                         "column=ts night_hours=22:61-06", "column=ts features=hour,year",
                         "column=ts features=hour,hour", "utc_offset=+01:00",
                         "column=ts entity=user features=hour"};
    for (size_t k = 0; k < sizeof bad / sizeof *bad; k++) {
        CHECK_STATUS(an_pipeline_add(&p, "time_features", bad[k]), ANOMA_ERR_PARAM_VALUE);
        CHECK(strstr(anoma_last_error(), "time_features") != NULL);
    }
    /* a text column, an unknown one, and a timestamp out of range */
    static const char *const nm[2] = {"user", "ts"};
    static const an_cell_type ty[2] = {AN_CELL_TEXT, AN_CELL_TIMESTAMP};
    const char *fit_bad[] = {"column=user", "column=when", "column=ts entity=who"};
    const char *names_in_error[] = {"'user' is text", "'when'", "'who'"};
    an_input_column cols[2] = {{ANOMA_COL_STRING, user}, {ANOMA_COL_TIMESTAMP, when}};
    an_input in = {NULL, cols, N};
    double *x = NULL;
    for (size_t k = 0; k < 3; k++) {
        CHECK_OK(an_pipeline_set_input(&p, 2, nm, ty));
        CHECK_OK(an_pipeline_add(&p, "time_features", fit_bad[k]));
        CHECK_STATUS(an_pipeline_fit(&p, &in, 1, &x), ANOMA_ERR_INVALID_ARGUMENT);
        CHECK(strstr(anoma_last_error(), names_in_error[k]) != NULL);
        an_pipeline_free(&p);
    }
    int64_t far[N] = {0, 0, 0, INT64_MAX, 0, 0};
    cols[1].values = far;
    CHECK_OK(an_pipeline_set_input(&p, 2, nm, ty));
    CHECK_OK(an_pipeline_add(&p, "time_features", "column=ts"));
    CHECK_OK(an_pipeline_add(&p, "select", "drop=user"));
    CHECK_STATUS(an_pipeline_fit(&p, &in, 1, &x), ANOMA_ERR_INVALID_ARGUMENT);
    CHECK(strstr(anoma_last_error(), "'ts'") && strstr(anoma_last_error(), "row 3"));
    an_pipeline_free(&p);
}

/* A column whose name needs quotes is named as it is, not as written in
 * column=, in messages and in the description. */
static void test_quoted_column_named_plainly(void)
{
    static const char *const nm[1] = {"event time"};
    int64_t far[N] = {0, 0, INT64_MAX, 0, 0, 0};
    an_input_column cols[1] = {{ANOMA_COL_TIMESTAMP, far}};
    an_input in = {NULL, cols, N};
    an_pipeline p = {0};
    double *x = NULL;
    CHECK_OK(an_pipeline_set_input(&p, 1, nm, ts_type));
    CHECK_OK(an_pipeline_add(&p, "time_features", "column=\"event time\""));
    CHECK_STATUS(an_pipeline_fit(&p, &in, 1, &x), ANOMA_ERR_INVALID_ARGUMENT);
    CHECK(strstr(anoma_last_error(), "column 'event time'") != NULL);
    an_pipeline_free(&p);

    far[2] = 0;
    CHECK_OK(an_pipeline_set_input(&p, 1, nm, ts_type));
    CHECK_OK(an_pipeline_add(&p, "time_features", "column=\"event time\""));
    CHECK_OK(an_pipeline_fit(&p, &in, 1, &x));
    an_strbuf text = {0};
    an_pipeline_describe(&p, &text);
    CHECK(text.data && strstr(text.data, "    event time (UTC+0 s)") != NULL);
    an_strbuf_free(&text);
    an_free(x);
    an_pipeline_free(&p);
}

int main(void)
{
    RUN(test_calendar_by_hand);
    RUN(test_names_numbers_and_windows);
    RUN(test_since_previous_per_entity);
    RUN(test_bad_input);
    RUN(test_quoted_column_named_plainly);
    return test_summary();
}
