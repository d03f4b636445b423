/* CSV reader: syntax, missing values, errors with line and column, files. */
#include "testing.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Read text in memory; NULL on error (the status is checked by the caller). */
static anoma_status read_text(const char *text, const char *options, anoma_frame **f)
{
    return anoma_csv_read_memory(text, strlen(text), options, f);
}

static const double *dcol(const anoma_frame *f, const char *name)
{
    size_t i;
    const void *v = NULL;
    anoma_column_type type = ANOMA_COL_INT64;
    if (anoma_frame_find_column(f, name, &i) != ANOMA_OK ||
        anoma_frame_column(f, i, &type, &v) != ANOMA_OK || type != ANOMA_COL_DOUBLE)
        return NULL;
    return v;
}

static const char *const *scol(const anoma_frame *f, const char *name)
{
    size_t i;
    const void *v = NULL;
    anoma_column_type type = ANOMA_COL_INT64;
    if (anoma_frame_find_column(f, name, &i) != ANOMA_OK ||
        anoma_frame_column(f, i, &type, &v) != ANOMA_OK || type != ANOMA_COL_STRING)
        return NULL;
    return v;
}

static const int64_t *lcol(const anoma_frame *f, const char *name)
{
    size_t i;
    const void *v = NULL;
    anoma_column_type type = ANOMA_COL_DOUBLE;
    if (anoma_frame_find_column(f, name, &i) != ANOMA_OK ||
        anoma_frame_column(f, i, &type, &v) != ANOMA_OK || type != ANOMA_COL_INT64)
        return NULL;
    return v;
}

/* An error whose message contains every given piece. */
static int message_has(const char *a, const char *b, const char *c)
{
    const char *m = anoma_last_error();
    return strstr(m, a) && (!b || strstr(m, b)) && (!c || strstr(m, c));
}

static void test_numbers(void)
{
    anoma_frame *f = NULL;
    CHECK_OK(read_text("a,b,c\n1,2.5,-3e2\n+4, .5 ,1e-3\n", NULL, &f));
    CHECK(anoma_frame_rows(f) == 2 && anoma_frame_cols(f) == 3);
    CHECK(!strcmp(anoma_frame_column_name(f, 2), "c"));
    const double *a = dcol(f, "a"), *b = dcol(f, "b"), *c = dcol(f, "c");
    CHECK(a && b && c);
    if (a && b && c) {
        CHECK(a[0] == 1 && b[0] == 2.5 && c[0] == -300);
        CHECK(a[1] == 4 && b[1] == 0.5 && c[1] == 1e-3);
    }
    anoma_frame_free(f);
}

static void test_missing(void)
{
    anoma_frame *f = NULL;
    CHECK_OK(read_text("a,b\n,NA\nNaN,nan\nN/A,null\n\"\", 7 \n", NULL, &f));
    CHECK(anoma_frame_rows(f) == 4);
    const double *a = dcol(f, "a"), *b = dcol(f, "b");
    if (a && b) {
        CHECK(isnan(a[0]) && isnan(b[0]) && isnan(a[1]) && isnan(b[1]));
        CHECK(isnan(a[2]) && isnan(b[2]) && isnan(a[3]) && b[3] == 7);
    }
    anoma_frame_free(f);
}

static void test_quotes(void)
{
    const char *text = "name,x\n"
                       "\"hello, world\",1\n"
                       "\"say \"\"hi\"\"\",2\n"
                       "\"multi\nline\",3\n"
                       "plain,\"4\"\n"
                       ",5\n"
                       "\"NA\",6\n"
                       "\"\",7\n";
    anoma_frame *f = NULL;
    CHECK_OK(read_text(text, "text=name", &f));
    CHECK(anoma_frame_rows(f) == 7);
    const char *const *name = scol(f, "name");
    const double *x = dcol(f, "x");
    CHECK(name && x);
    if (name && x) {
        CHECK(!strcmp(name[0], "hello, world"));
        CHECK(!strcmp(name[1], "say \"hi\""));
        CHECK(!strcmp(name[2], "multi\nline"));
        CHECK(!strcmp(name[3], "plain"));
        CHECK(name[4] == NULL);          /* missing */
        CHECK(!strcmp(name[5], "NA"));   /* quoted: kept as written */
        CHECK(!strcmp(name[6], ""));
        CHECK(x[2] == 3 && x[3] == 4 && x[6] == 7);
    }
    anoma_frame_free(f);

    /* Line numbers count the newlines inside quoted fields. */
    CHECK_STATUS(read_text("name,x\n\"a\nb\",1\nc,oops\n", "text=name", &f), ANOMA_ERR_PARSE);
    CHECK(message_has("line 4", "'x'", "'oops'"));
    CHECK(f == NULL);

    CHECK_STATUS(read_text("a,b\n\"1,2\n", NULL, &f), ANOMA_ERR_PARSE);
    CHECK(message_has("line 2", "not closed", NULL));
    CHECK_STATUS(read_text("a,b\n\"1\"x,2\n", NULL, &f), ANOMA_ERR_PARSE);
    CHECK(message_has("line 2", "closing quote", NULL));
    /* Quoted header names. */
    CHECK_OK(read_text("\"a,1\",\"b\"\"\"\n1,2", NULL, &f));
    CHECK(dcol(f, "a,1") && dcol(f, "b\""));
    anoma_frame_free(f);
}

static void test_line_ends(void)
{
    static const char *texts[] = {
        "a,b\r\n1,2\r\n3,4\r\n", "a,b\r\n1,2\r\n3,4", "a,b\n1,2\n3,4",
        "a,b\n1,2\n3,4\n\n\n",   "a,b\r\n1,2\r\n3,4\r\n\r\n", "\xEF\xBB\xBF" "a,b\n1,2\n3,4\n",
    };
    for (size_t k = 0; k < sizeof texts / sizeof *texts; k++) {
        anoma_frame *f = NULL;
        CHECK_OK(read_text(texts[k], NULL, &f));
        CHECK(anoma_frame_rows(f) == 2 && anoma_frame_cols(f) == 2);
        const double *a = dcol(f, "a"), *b = dcol(f, "b");
        CHECK(a && b && a[1] == 3 && b[1] == 4);
        anoma_frame_free(f);
    }
    /* One column: an empty line inside the data is a missing value. */
    anoma_frame *f = NULL;
    CHECK_OK(read_text("a\n1\n\n2\n\n", NULL, &f));
    CHECK(anoma_frame_rows(f) == 3);
    const double *a = dcol(f, "a");
    CHECK(a && a[0] == 1 && isnan(a[1]) && a[2] == 2);
    anoma_frame_free(f);
    /* Several columns: it is a row with too few fields. */
    CHECK_STATUS(read_text("a,b\r\n1,2\r\n\r\n3,4\r\n", NULL, &f), ANOMA_ERR_PARSE);
    CHECK(message_has("line 3", "expected 2 fields, found 1", "empty line"));
}

static void test_delimiter(void)
{
    anoma_frame *f = NULL;
    CHECK_OK(read_text("a;b\nx,y;2\n", "delimiter=; text=a", &f));
    const char *const *a = scol(f, "a");
    CHECK(anoma_frame_cols(f) == 2 && a && !strcmp(a[0], "x,y"));
    anoma_frame_free(f);
    CHECK_OK(read_text("a\tb\n1\t2\n", "delimiter=tab", &f));
    const double *b = dcol(f, "b");
    CHECK(b && b[0] == 2);
    anoma_frame_free(f);
    CHECK_STATUS(read_text("a,b\n", "delimiter=ab", &f), ANOMA_ERR_PARAM_VALUE);
    CHECK_STATUS(read_text("a,b\n", "delimiter=\"", &f), ANOMA_ERR_PARAM_VALUE);
}

static void test_field_count(void)
{
    anoma_frame *f = NULL;
    CHECK_STATUS(read_text("a,b\n1,2\n3\n", NULL, &f), ANOMA_ERR_PARSE);
    CHECK(message_has("line 3", "expected 2 fields, found 1", NULL));
    CHECK_STATUS(read_text("a,b\n1,2\n3,4,5\n6,7\n", NULL, &f), ANOMA_ERR_PARSE);
    CHECK(message_has("line 3", "expected 2 fields, found 3", NULL));
    /* A trailing delimiter is one more (empty) field. */
    CHECK_STATUS(read_text("a,b\n1,2,", NULL, &f), ANOMA_ERR_PARSE);
    CHECK(message_has("line 2", "found 3", NULL));
    CHECK(f == NULL);
}

static void test_bad_numbers(void)
{
    anoma_frame *f = NULL;
    CHECK_STATUS(read_text("a,b\n1,2\n3,abc\n", NULL, &f), ANOMA_ERR_PARSE);
    CHECK(message_has("line 3, column 'b' (field 2)", "cannot read 'abc' as a number", NULL));
    static const char *bad[] = {"1.5x", "inf", "-Infinity", "0x10", "1e999", "NAN", "1,5",
                                "--1",  "e5",  ".",         "1e",   "nan(1)"};
    for (size_t k = 0; k < sizeof bad / sizeof *bad; k++) {
        char text[64];
        snprintf(text, sizeof text, "a;b\n1;%s\n", bad[k]);
        CHECK_STATUS(read_text(text, "delimiter=;", &f), ANOMA_ERR_PARSE);
        CHECK(message_has("line 2", "'b'", bad[k]));
    }
    CHECK_STATUS(read_text("a\ninf\n", NULL, &f), ANOMA_ERR_PARSE);
    CHECK(message_has("infinite", NULL, NULL));
    /* Long fields are cut in the message. */
    char text[400] = "a\n";
    memset(text + 2, '7', 300);
    text[302] = 'x';
    CHECK_STATUS(read_text(text, NULL, &f), ANOMA_ERR_PARSE);
    CHECK(message_has("...'", NULL, NULL));
    /* Underflow is a tiny number, not an error. */
    CHECK_OK(read_text("a\n1e-400\n", NULL, &f));
    const double *a = dcol(f, "a");
    CHECK(a && a[0] >= 0 && a[0] < 1e-300);
    anoma_frame_free(f);
}

static void test_label_and_text_options(void)
{
    anoma_frame *f = NULL;
    CHECK_OK(read_text("x,y,kind\n0.5,1,a\n0.25,0.0,b\n", "label=y text=kind", &f));
    const int64_t *y = lcol(f, "y");
    const char *const *kind = scol(f, "kind");
    CHECK(y && y[0] == 1 && y[1] == 0);
    CHECK(kind && !strcmp(kind[1], "b"));
    CHECK(dcol(f, "x") != NULL);
    anoma_frame_free(f);

    CHECK_STATUS(read_text("x,y\n0.5,2\n", "label=y", &f), ANOMA_ERR_PARSE);
    CHECK(message_has("line 2", "'y'", "0 or 1"));
    CHECK_STATUS(read_text("x,y\n0.5,1\n0.5,NA\n", "label=y", &f), ANOMA_ERR_PARSE);
    CHECK(message_has("line 3", "'y'", "0 or 1"));
    CHECK_STATUS(read_text("x,y\n0.5,0.5\n", "label=y", &f), ANOMA_ERR_PARSE);
    CHECK_STATUS(read_text("x,y\n0.5,1\n", "label=z", &f), ANOMA_ERR_UNKNOWN_NAME);
    CHECK(message_has("'z'", NULL, NULL));
    CHECK_STATUS(read_text("x,y\n0.5,1\n", "text=x,q", &f), ANOMA_ERR_UNKNOWN_NAME);
    CHECK(message_has("'q'", NULL, NULL));
    CHECK_STATUS(read_text("x,y\n0.5,1\n", "label=y text=y", &f), ANOMA_ERR_PARAM_VALUE);
    CHECK_STATUS(read_text("x,y\n0.5,1\n", "text=x,,y", &f), ANOMA_ERR_PARAM_VALUE);
    CHECK_STATUS(read_text("x,y\n0.5,1\n", "delim=;", &f), ANOMA_ERR_UNKNOWN_PARAM);
    CHECK(message_has("delim", NULL, NULL));
    CHECK(f == NULL);
}

static void test_header(void)
{
    anoma_frame *f = NULL;
    CHECK_STATUS(read_text("", NULL, &f), ANOMA_ERR_EMPTY);
    CHECK_STATUS(read_text("\r\n\n", NULL, &f), ANOMA_ERR_EMPTY);
    CHECK_STATUS(anoma_csv_read_memory(NULL, 0, NULL, &f), ANOMA_ERR_EMPTY);
    CHECK_STATUS(read_text("a,,b\n1,2,3\n", NULL, &f), ANOMA_ERR_PARSE);
    CHECK(message_has("line 1", "column 2", "empty name"));
    CHECK_STATUS(read_text("a,b,a\n1,2,3\n", NULL, &f), ANOMA_ERR_PARSE);
    CHECK(message_has("line 1", "columns 1 and 3", "'a'"));
    CHECK_STATUS(anoma_csv_read_memory("a\0b\n1\n", 6, NULL, &f), ANOMA_ERR_PARSE);

    /* One byte-order mark is skipped; a second one (issue 7 item 8: it became
     * part of the first name) is a malformed header. */
    CHECK_OK(read_text("\xEF\xBB\xBF" "a,b\n1,2\n", NULL, &f));
    CHECK(!strcmp(anoma_frame_column_name(f, 0), "a"));
    anoma_frame_free(f);
    CHECK_STATUS(read_text("\xEF\xBB\xBF\xEF\xBB\xBF" "a,b\n1,2\n", NULL, &f), ANOMA_ERR_PARSE);
    CHECK(message_has("line 1", "byte-order mark", NULL));
    CHECK(f == NULL);

    /* Header only: a frame with no rows. */
    CHECK_OK(read_text("a,b\n", "label=b", &f));
    CHECK(anoma_frame_rows(f) == 0 && anoma_frame_cols(f) == 2);
    CHECK(dcol(f, "a") != NULL && lcol(f, "b") != NULL);
    anoma_frame_free(f);
    CHECK_OK(read_text("a,b", "text=a", &f));
    CHECK(anoma_frame_rows(f) == 0 && scol(f, "a") != NULL);
    anoma_frame_free(f);

    CHECK_STATUS(anoma_csv_read_memory("a", 1, NULL, NULL), ANOMA_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(anoma_csv_read_memory(NULL, 3, NULL, &f), ANOMA_ERR_INVALID_ARGUMENT);
}

static void test_wide_and_long(void)
{
    /* Many columns (the name table) and many rows. */
    enum { COLS = 300, ROWS = 2000 };
    size_t cap = (size_t)COLS * 8 + (size_t)ROWS * COLS * 6;
    char *text = malloc(cap), *p = text;
    for (int j = 0; j < COLS; j++)
        p += sprintf(p, "%sc%d", j ? "," : "", j);
    *p++ = '\n';
    for (int i = 0; i < ROWS; i++) {
        for (int j = 0; j < COLS; j++)
            p += sprintf(p, "%s%d", j ? "," : "", (i + j) % 1000);
        *p++ = '\n';
    }
    anoma_frame *f = NULL;
    CHECK_OK(anoma_csv_read_memory(text, (size_t)(p - text), NULL, &f));
    CHECK(anoma_frame_rows(f) == ROWS && anoma_frame_cols(f) == COLS);
    const double *c = dcol(f, "c299");
    CHECK(c && c[1999] == (1999 + 299) % 1000);
    anoma_frame_free(f);
    free(text);
}

/* Issue 7 item 3: a header of 100,000 columns read in linear time (the
 * frame's duplicate check was a linear search per column). No time is
 * asserted; the quadratic code would only run into the test's timeout. */
static void test_many_columns(void)
{
    enum { COLS = 100000 };
    char *text = malloc((size_t)COLS * 16), *p = text;
    for (int j = 0; j < COLS; j++)
        p += sprintf(p, "%sv%d", j ? "," : "", j);
    *p++ = '\n';
    for (int j = 0; j < COLS; j++)
        p += sprintf(p, "%s%d.5", j ? "," : "", j % 10);
    *p++ = '\n';
    anoma_frame *f = NULL;
    CHECK_OK(anoma_csv_read_memory(text, (size_t)(p - text), NULL, &f));
    CHECK(anoma_frame_rows(f) == 1 && anoma_frame_cols(f) == COLS);
    const double *c = dcol(f, "v99999");
    CHECK(c && c[0] == 9.5);
    anoma_frame_free(f);
    free(text);
}

static void test_files(void)
{
    anoma_frame *f = NULL;
    CHECK_STATUS(anoma_csv_read("/nonexistent/x.csv", NULL, &f), ANOMA_ERR_IO);
    CHECK(message_has("/nonexistent/x.csv", NULL, NULL));
    CHECK_STATUS(anoma_csv_read("/", NULL, &f), ANOMA_ERR_IO);
    CHECK_STATUS(anoma_csv_read(NULL, NULL, &f), ANOMA_ERR_INVALID_ARGUMENT);

    char path[] = "/tmp/anoma_test_csv_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    if (fd < 0)
        return;
    const char text[] = "x,label\n1.5,0\n2.5,1\nbad,0\n";
    CHECK(write(fd, text, sizeof text - 1) == (ssize_t)(sizeof text - 1));
    close(fd);
    /* Messages start with the path. */
    CHECK_STATUS(anoma_csv_read(path, "label=label", &f), ANOMA_ERR_PARSE);
    CHECK(message_has(path, "line 4", "'bad'"));
    unlink(path);
}

static void test_cardio(void)
{
    char path[1024];
    if (!test_data_path("cardio.csv", path, sizeof path)) {
        test_skip("shared data folder not found");
        return;
    }
    anoma_frame *f = NULL;
    CHECK_OK(anoma_csv_read(path, "label=label", &f));
    CHECK(anoma_frame_rows(f) == 1831);
    CHECK(anoma_frame_cols(f) == 22);
    const int64_t *y = lcol(f, "label");
    CHECK(y != NULL);
    if (y) {
        int64_t anomalies = 0;
        for (size_t i = 0; i < anoma_frame_rows(f); i++)
            anomalies += y[i];
        CHECK(anomalies == 176);
    }
    anoma_frame_free(f);
}

static void test_out_of_memory(void)
{
    const char *text = "name,x,label\n\"a, b\",1,0\nc,NA,1\n,3,0\n";
    int done = 0;
    for (long k = 0; k < 200 && !done; k++) {
        anoma_frame *f = NULL;
        test_alloc_install(k);
        anoma_status st = read_text(text, "text=name label=label", &f);
        CHECK(st == ANOMA_OK || st == ANOMA_ERR_NO_MEMORY);
        CHECK((st == ANOMA_OK) == (f != NULL));
        anoma_frame_free(f);
        CHECK(test_alloc_live() == 0);
        test_alloc_restore();
        done = st == ANOMA_OK;
    }
    CHECK(done);
}

int main(void)
{
    RUN(test_numbers);
    RUN(test_missing);
    RUN(test_quotes);
    RUN(test_line_ends);
    RUN(test_delimiter);
    RUN(test_field_count);
    RUN(test_bad_numbers);
    RUN(test_label_and_text_options);
    RUN(test_header);
    RUN(test_wide_and_long);
    RUN(test_many_columns);
    RUN(test_files);
    RUN(test_cardio);
    RUN(test_out_of_memory);
    return test_summary();
}
