/* The quoting rule of parameter text (include/anoma/params.h): column names
 * with a space, a comma or '=' given to pipeline steps and the CSV reader,
 * checked against hand-made expectations, and hostile text refused with a
 * message that names the key and leaves the model as it was. */
#include "testing.h"
#include "core/alloc.h"
#include "core/params.h"
#include "core/quoting.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const anoma_param_info schema[] = {
    {"columns", ANOMA_PARAM_TEXT, 0, 0, "", "", "names"},
    {"n", ANOMA_PARAM_INT, 1, 10, "3", "", "count"},
};

/* The items of a list, joined with '|' to compare in one string. */
static void items_of(const char *value, char *out, size_t cap)
{
    an_strbuf item = {0};
    size_t n = 0, items = 0;
    out[0] = '\0';
    for (const char *p = value; an_list_next(&p, &item);)
        n += (size_t)snprintf(out + n, cap - n, "%s%s", items++ ? "|" : "", item.data);
    an_strbuf_free(&item);
}

static void test_list_items(void)
{
    char got[256];
    items_of("a,b", got, sizeof got);
    CHECK(!strcmp(got, "a|b"));
    items_of("\"device type\",\"a,b\",x=y", got, sizeof got);
    CHECK(!strcmp(got, "device type|a,b|x=y"));
    items_of("\"say \\\"hi\\\"\",\"back\\\\slash\"", got, sizeof got);
    CHECK(!strcmp(got, "say \"hi\"|back\\slash"));
    items_of("\"\",b", got, sizeof got); /* an empty name, quoted */
    CHECK(!strcmp(got, "|b"));
    CHECK(an_list_length("") == 0);
    CHECK(an_list_length("\"a,b\"") == 1);
    CHECK(an_list_length("a,\"b,c\",d") == 3);

    /* an_quote_item writes what an_list_next reads back */
    static const char *const names[] = {"plain", "device type", "a,b", "say \"hi\"",
                                        "back\\slash", "", "x=y", "tab\there"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        an_strbuf quoted = {0}, item = {0};
        an_quote_item(&quoted, names[i]);
        const char *p = quoted.data;
        CHECK(an_quoting_problem(p) == NULL);
        CHECK(an_list_next(&p, &item) && !strcmp(item.data, names[i]) && !*p);
        an_strbuf_free(&quoted);
        an_strbuf_free(&item);
    }

    char *single = an_unquote("\"not given\",x");
    CHECK(single && !strcmp(single, "not given,x")); /* commas kept */
    an_free(single);
}

static void test_quoting_problems(void)
{
    static const char *const good[] = {"", "a", "a,b", "\"a b\"", "\"a,b\",c", "x=y", "\"\"",
                                       "\"\\\\\"", "\"\\\"\""};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++)
        CHECK(an_quoting_problem(good[i]) == NULL);
    struct {
        const char *value, *says;
    } bad[] = {
        {"\"device type", "unterminated quote"},
        {"\"ends in a backslash\\", "unterminated quote"},
        {"\"a\\nb\"", "stray backslash"},
        {"a\\b", "backslash escapes only inside quotes"},
        {"de\"vice\"", "a quote may only open an item"},
        {"\"device\"type", "a closing quote must end the item"},
        {"a b", "whitespace outside quotes"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        const char *problem = an_quoting_problem(bad[i].value);
        CHECK(problem && strstr(problem, bad[i].says));
    }
}

static void test_params_text(void)
{
    an_params p;
    CHECK_OK(an_params_init(&p, "thing", schema, 2));
    /* whitespace inside quotes belongs to the value; the value is kept as written */
    CHECK_OK(an_params_parse(&p, "columns=\"device type\",\"a,b\"  n=4"));
    CHECK(!strcmp(an_params_text(&p, "columns"), "\"device type\",\"a,b\""));
    CHECK(an_params_int(&p, "n") == 4);
    an_strbuf sb = {0};
    an_params_format(&p, &sb);
    CHECK(!strcmp(sb.data, "columns=\"device type\",\"a,b\" n=4"));
    an_strbuf_free(&sb);

    /* hostile text: an error naming the key, and nothing changed */
    static const char *const hostile[] = {"n=5 columns=\"device type", "columns=\"a\\x\" n=5",
                                          "columns=a\\b n=5", "n=5 columns=\"a\"b",
                                          "n=5 columns=de\"vice"};
    for (size_t i = 0; i < sizeof hostile / sizeof *hostile; i++) {
        CHECK_STATUS(an_params_parse(&p, hostile[i]), ANOMA_ERR_PARAM_VALUE);
        CHECK(strstr(anoma_last_error(), "thing: columns=") != NULL);
        CHECK(an_params_int(&p, "n") == 4);
    }
    CHECK_STATUS(an_params_set(&p, "columns", "\"open"), ANOMA_ERR_PARAM_VALUE);
    CHECK(strstr(anoma_last_error(), "unterminated quote") != NULL);
    CHECK(!strcmp(an_params_text(&p, "columns"), "\"device type\",\"a,b\""));
    an_params_free(&p);
}

enum { ROWS = 6 };
static const char *const device_type[ROWS] = {"web", "tv", "web", "ios", "tv", "web"};
static const char *const comma_col[ROWS] = {"p", "q", "q", "p", "p", "q"};
static const double equals_col[ROWS] = {1, 2, 3, 4, 5, 6};
static const double plain[ROWS] = {10, 20, 30, 40, 50, 60};

static anoma_frame *awkward_frame(void)
{
    anoma_frame *f = NULL;
    CHECK_OK(anoma_frame_create(ROWS, &f));
    CHECK_OK(anoma_frame_add_column(f, "device type", ANOMA_COL_STRING, device_type));
    CHECK_OK(anoma_frame_add_column(f, "a,b", ANOMA_COL_STRING, comma_col));
    CHECK_OK(anoma_frame_add_column(f, "x=y", ANOMA_COL_DOUBLE, equals_col));
    CHECK_OK(anoma_frame_add_column(f, "plain", ANOMA_COL_DOUBLE, plain));
    return f;
}

/* one_hot and select on names with a space, a comma and '=': the outputs
 * are the one-hot columns computed by hand, and the model keeps the text as
 * written through a save and a load. */
static void test_steps_with_awkward_names(void)
{
    anoma_model *m = NULL;
    CHECK_OK(anoma_model_create("", &m));
    CHECK_OK(anoma_model_add_detector(m, "zscore", "", NULL));
    CHECK_OK(anoma_model_add_step(m, "select", "columns=\"x=y\",\"a,b\",\"device type\"", NULL));
    CHECK_OK(anoma_model_add_step(m, "one_hot", "columns=\"device type\",\"a,b\" unseen=ignore",
                                  NULL));
    anoma_frame *f = awkward_frame();
    CHECK_OK(anoma_model_fit_frame(m, f, NULL, NULL));

    /* select's order (x=y, a,b, device type); one_hot's outputs take the
     * place of its first column, categories sorted */
    static const char *const names[] = {"x=y", "device type=ios", "device type=tv",
                                        "device type=web", "a,b=p", "a,b=q"};
    size_t n = anoma_model_n_outputs(m);
    CHECK(n == 6);
    if (n != 6)
        return;
    for (size_t k = 0; k < n; k++)
        if (strcmp(anoma_model_output_name(m, k), names[k]))
            test_fail(__FILE__, __LINE__, "output %zu is '%s', expected '%s'", k,
                      anoma_model_output_name(m, k), names[k]);
    double out[ROWS * 6];
    CHECK_OK(anoma_model_transform_frame(m, f, out));
    for (size_t i = 0; i < ROWS; i++) {
        double want[6] = {equals_col[i], !strcmp(device_type[i], "ios"),
                          !strcmp(device_type[i], "tv"), !strcmp(device_type[i], "web"),
                          !strcmp(comma_col[i], "p"), !strcmp(comma_col[i], "q")};
        for (size_t k = 0; k < 6; k++)
            CHECK(out[i * 6 + k] == want[k]);
    }

    char params[256];
    CHECK_OK(anoma_model_step_params(m, 1, params, sizeof params, NULL));
    CHECK(strstr(params, "columns=\"device type\",\"a,b\"") != NULL);

    anoma_model *back = TEST_RELOADED(m, NULL, NULL);
    double again[ROWS * 6];
    CHECK_OK(anoma_model_transform_frame(back, f, again));
    CHECK(!memcmp(out, again, sizeof out));
    anoma_model_free(back);
    anoma_frame_free(f);
    anoma_model_free(m);
}

/* ratio names one column each, quoted when it holds a comma or a space */
static void test_ratio_with_awkward_names(void)
{
    anoma_model *m = NULL;
    CHECK_OK(anoma_model_create("", &m));
    CHECK_OK(anoma_model_add_detector(m, "zscore", "", NULL));
    CHECK_OK(anoma_model_add_step(m, "select", "columns=plain,\"x=y\"", NULL));
    CHECK_OK(anoma_model_add_step(m, "ratio", "numerator=plain denominator=\"x=y\" "
                                              "name=\"plain per x\"", NULL));
    anoma_frame *f = awkward_frame();
    CHECK_OK(anoma_model_fit_frame(m, f, NULL, NULL));
    CHECK(anoma_model_n_outputs(m) == 3);
    CHECK(!strcmp(anoma_model_output_name(m, 2), "plain per x"));
    double out[ROWS * 3];
    CHECK_OK(anoma_model_transform_frame(m, f, out));
    for (size_t i = 0; i < ROWS; i++)
        CHECK(out[i * 3 + 2] == 10.0);
    anoma_frame_free(f);
    anoma_model_free(m);

    CHECK_OK(anoma_model_create("", &m));
    CHECK_STATUS(anoma_model_add_step(m, "ratio", "numerator=plain,x denominator=y", NULL),
                 ANOMA_ERR_PARAM_VALUE);
    CHECK(strstr(anoma_last_error(), "one column each") != NULL);
    anoma_model_free(m);
}

/* Hostile step text through the public API: refused, naming the step and
 * the key, and no step is added. */
static void test_hostile_step_text(void)
{
    anoma_model *m = NULL;
    CHECK_OK(anoma_model_create("", &m));
    struct {
        const char *text, *says;
    } bad[] = {
        {"columns=\"device type", "unterminated quote"},
        {"columns=\"device\\ type\"", "stray backslash"},
        {"columns=device\\ type", "backslash"},
        {"columns=device type", "'type' is not of the form key=value"},
        {"columns=\"device\"type", "closing quote"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        CHECK_STATUS(anoma_model_add_step(m, "one_hot", bad[i].text, NULL), ANOMA_ERR_PARAM_VALUE);
        if (!strstr(anoma_last_error(), bad[i].says) || !strstr(anoma_last_error(), "one_hot"))
            test_fail(__FILE__, __LINE__, "%s: %s", bad[i].text, anoma_last_error());
    }
    CHECK(anoma_model_n_steps(m) == 0);
    /* a quoted name that is not a column: the message gives it unquoted */
    CHECK_OK(anoma_model_add_detector(m, "zscore", "", NULL));
    CHECK_OK(anoma_model_add_step(m, "one_hot", "columns=\"device  type\"", NULL));
    anoma_frame *f = awkward_frame();
    CHECK_STATUS(anoma_model_fit_frame(m, f, NULL, NULL), ANOMA_ERR_INVALID_ARGUMENT);
    CHECK(strstr(anoma_last_error(), "no column 'device  type'") != NULL);
    anoma_frame_free(f);
    anoma_model_free(m);
}

/* The CSV reader's label, text and types options take quoted names. */
static void test_csv_options_with_awkward_names(void)
{
    static const char csv[] = "\"is anomaly\",\"device type\",\"a,b\",x\n"
                              "0,web,1,0.5\n"
                              "1,tv,2,0.25\n";
    anoma_frame *f = NULL;
    CHECK_OK(anoma_csv_read_memory(csv, sizeof csv - 1,
                                   "label=\"is anomaly\" text=\"device type\" "
                                   "types=\"a,b:number\"",
                                   &f));
    if (!f)
        return;
    static const anoma_column_type want[] = {ANOMA_COL_INT64, ANOMA_COL_STRING, ANOMA_COL_DOUBLE,
                                             ANOMA_COL_DOUBLE};
    CHECK(anoma_frame_cols(f) == 4);
    for (size_t j = 0; j < 4; j++) {
        anoma_column_type type;
        const void *values;
        CHECK_OK(anoma_frame_column(f, j, &type, &values));
        if (type != want[j])
            test_fail(__FILE__, __LINE__, "column %zu ('%s') has type %d, expected %d", j,
                      anoma_frame_column_name(f, j), (int)type, (int)want[j]);
    }
    anoma_frame_free(f);
    CHECK_STATUS(anoma_csv_read_memory(csv, sizeof csv - 1, "label=\"is anomaly", &f),
                 ANOMA_ERR_PARAM_VALUE);
    CHECK(strstr(anoma_last_error(), "label=") && strstr(anoma_last_error(), "unterminated"));
}

/* window's entity= and a pipeline's own hint take quoted names: per-entity
 * lags by hand, and the "select drop=..." a message suggests works as given. */
static void test_window_entity_with_a_space(void)
{
    static const char *const user[6] = {"u 1", "u,2", "u 1", "u,2", "u 1", "u 1"};
    static const double x[6] = {1, 10, 2, 20, 4, 8};
    static const double lag[6] = {NAN, NAN, 1, 10, 2, 4};
    anoma_frame *f = NULL;
    CHECK_OK(anoma_frame_create(6, &f));
    CHECK_OK(anoma_frame_add_column(f, "user id", ANOMA_COL_STRING, user));
    CHECK_OK(anoma_frame_add_column(f, "x y", ANOMA_COL_DOUBLE, x));

    anoma_model *m = NULL;
    CHECK_OK(anoma_model_create("", &m));
    CHECK_OK(anoma_model_add_detector(m, "zscore", "", NULL));
    CHECK_OK(anoma_model_add_step(m, "window", "columns=\"x y\" entity=\"user id\" lags=1", NULL));
    CHECK_STATUS(anoma_model_fit_frame(m, f, NULL, NULL), ANOMA_ERR_INVALID_ARGUMENT);
    const char *hint = strstr(anoma_last_error(), "select drop=\"user id\")");
    CHECK(hint != NULL);
    CHECK_OK(anoma_model_add_step(m, "select", "drop=\"user id\"", NULL));
    CHECK_OK(anoma_model_fit_frame(m, f, NULL, NULL));
    CHECK(anoma_model_n_outputs(m) == 2);
    if (anoma_model_n_outputs(m) == 2) {
        CHECK(!strcmp(anoma_model_output_name(m, 1), "x y_lag_1"));
        double out[12];
        CHECK_OK(anoma_model_transform_frame(m, f, out));
        for (size_t i = 0; i < 6; i++)
            CHECK(out[2 * i] == x[i] && (isnan(lag[i]) ? isnan(out[2 * i + 1])
                                                       : out[2 * i + 1] == lag[i]));
    }
    anoma_model_free(m);
    anoma_frame_free(f);
}

/* The public reader: the same items, snprintf-style sizing, clear errors. */
static void test_public_list_item(void)
{
    const char *list = "\"device type\",\"a,b\",x=y,,\"say \\\"hi\\\"\"";
    static const char *const want[] = {"device type", "a,b", "x=y", "", "say \"hi\""};
    char item[32];
    size_t length = 99;
    for (size_t i = 0; i < 5; i++) {
        CHECK_OK(anoma_param_list_item(list, i, item, sizeof item, &length));
        CHECK(!strcmp(item, want[i]) && length == strlen(want[i]));
    }
    CHECK_STATUS(anoma_param_list_item(list, 5, item, sizeof item, NULL),
                 ANOMA_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(anoma_param_list_item(list, 0, item, 11, &length), ANOMA_ERR_BUFFER_TOO_SMALL);
    CHECK(length == 11); /* "device type" needs 12 bytes */
    CHECK_STATUS(anoma_param_list_item(list, 0, NULL, 0, &length), ANOMA_ERR_BUFFER_TOO_SMALL);
    CHECK_STATUS(anoma_param_list_item("a,\"b", 0, item, sizeof item, NULL),
                 ANOMA_ERR_PARAM_VALUE); /* a broken list gives no item at all */
    CHECK(strstr(anoma_last_error(), "unterminated quote") != NULL);
    CHECK_STATUS(anoma_param_list_item("", 0, item, sizeof item, NULL),
                 ANOMA_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(anoma_param_list_item(NULL, 0, item, sizeof item, NULL),
                 ANOMA_ERR_INVALID_ARGUMENT);
}

int main(void)
{
    RUN(test_list_items);
    RUN(test_public_list_item);
    RUN(test_quoting_problems);
    RUN(test_params_text);
    RUN(test_steps_with_awkward_names);
    RUN(test_ratio_with_awkward_names);
    RUN(test_hostile_step_text);
    RUN(test_csv_options_with_awkward_names);
    RUN(test_window_entity_with_a_space);
    return test_summary();
}
