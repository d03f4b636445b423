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

/* Row i of a number column, double or int64 (NaN when there is none). */
static double num(const anoma_frame *f, const char *name, size_t row)
{
    const double *d = dcol(f, name);
    const int64_t *l = lcol(f, name);
    return row >= anoma_frame_rows(f) ? NAN : d ? d[row] : l ? (double)l[row] : NAN;
}

/* The type of the named column, or -1. */
static int type_of(const anoma_frame *f, const char *name)
{
    size_t i;
    anoma_column_type type;
    if (anoma_frame_find_column(f, name, &i) != ANOMA_OK ||
        anoma_frame_column(f, i, &type, NULL) != ANOMA_OK)
        return -1;
    return (int)type;
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
    /* whole numbers are int64; any other number makes the column double */
    const int64_t *a = lcol(f, "a");
    const double *b = dcol(f, "b"), *c = dcol(f, "c");
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
    const int64_t *x = lcol(f, "x");
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
    CHECK_STATUS(read_text("name,x\n\"a\nb\",1\nc,oops\n", "text=name types=x:number", &f),
                 ANOMA_ERR_PARSE);
    CHECK(message_has("line 4", "'x'", "'oops'"));
    CHECK(f == NULL);

    CHECK_STATUS(read_text("a,b\n\"1,2\n", NULL, &f), ANOMA_ERR_PARSE);
    CHECK(message_has("line 2", "not closed", NULL));
    CHECK_STATUS(read_text("a,b\n\"1\"x,2\n", NULL, &f), ANOMA_ERR_PARSE);
    CHECK(message_has("line 2", "closing quote", NULL));
    /* Quoted header names. */
    CHECK_OK(read_text("\"a,1\",\"b\"\"\"\n1,2", NULL, &f));
    CHECK(num(f, "a,1", 0) == 1 && num(f, "b\"", 0) == 2);
    anoma_frame_free(f);
}

static void test_line_ends(void)
{
    /* The last text starts with a UTF-8 byte order mark, written in octal:
     * a hex escape would swallow the 'a' after it ("\xBFa"), which is why
     * it was once a separate literal that clang took for a missing comma. */
    static const char *texts[] = {
        "a,b\r\n1,2\r\n3,4\r\n", "a,b\r\n1,2\r\n3,4", "a,b\n1,2\n3,4",
        "a,b\n1,2\n3,4\n\n\n",   "a,b\r\n1,2\r\n3,4\r\n\r\n", "\357\273\277a,b\n1,2\n3,4\n",
    };
    for (size_t k = 0; k < sizeof texts / sizeof *texts; k++) {
        anoma_frame *f = NULL;
        CHECK_OK(read_text(texts[k], NULL, &f));
        CHECK(anoma_frame_rows(f) == 2 && anoma_frame_cols(f) == 2);
        CHECK(num(f, "a", 1) == 3 && num(f, "b", 1) == 4);
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
    CHECK(num(f, "b", 0) == 2);
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
    CHECK_STATUS(read_text("a,b\n1,2\n3,abc\n", "types=b:number", &f), ANOMA_ERR_PARSE);
    CHECK(message_has("line 3, column 'b' (field 2)", "cannot read 'abc' as a number", NULL));
    static const char *bad[] = {"1.5x", "inf", "-Infinity", "0x10", "1e999", "NAN", "1,5",
                                "--1",  "e5",  ".",         "1e",   "nan(1)"};
    for (size_t k = 0; k < sizeof bad / sizeof *bad; k++) {
        char text[64];
        snprintf(text, sizeof text, "a;b\n1;%s\n", bad[k]);
        CHECK_STATUS(read_text(text, "delimiter=; types=b:number", &f), ANOMA_ERR_PARSE);
        CHECK(message_has("line 2", "'b'", bad[k]));
    }
    CHECK_STATUS(read_text("a\ninf\n", "types=a:number", &f), ANOMA_ERR_PARSE);
    CHECK(message_has("infinite", NULL, NULL));
    /* Long fields are cut in the message. */
    char text[400] = "a\n";
    memset(text + 2, '7', 300);
    text[302] = 'x';
    CHECK_STATUS(read_text(text, "types=a:number", &f), ANOMA_ERR_PARSE);
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
    CHECK(num(f, "c299", 1999) == (1999 + 299) % 1000);
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
    CHECK_STATUS(anoma_csv_read(path, "label=label types=x:number", &f), ANOMA_ERR_PARSE);
    CHECK(message_has(path, "line 4", "'bad'"));
    /* source= names the input instead of the path. */
    CHECK_STATUS(anoma_csv_read(path, "types=x:number source=stdin", &f), ANOMA_ERR_PARSE);
    CHECK(message_has("stdin: line 4", NULL, NULL) && !strstr(anoma_last_error(), path));
    /* ... read as every parameter value is: quotes are not part of it */
    CHECK_STATUS(anoma_csv_read(path, "types=x:number source=\"my data\"", &f), ANOMA_ERR_PARSE);
    CHECK(message_has("my data: line 4", NULL, NULL) && !strstr(anoma_last_error(), "\""));
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

/* Issue 9: each column's type inferred from all its values. */
static void test_type_inference(void)
{
    const char *text = "id,amount,city,when,day,created_at,count,gap,mixed,empty\n"
                       "1,2.5,Paris,2024-02-29T00:00:00Z,2000-01-01,1709164800,3,1,1,\n"
                       "2,3,Lyon,1969-12-31 23:59:59,2024-02-29,946684800,4,,2024-01-01,NA\n"
                       "9007199254740993,NA,\"NA\",2024-12-31T23:59:59+01:00,NA,-1,5,2,x,\n";
    anoma_frame *f = NULL;
    CHECK_OK(read_text(text, NULL, &f));
    CHECK(type_of(f, "id") == ANOMA_COL_INT64);
    CHECK(type_of(f, "amount") == ANOMA_COL_DOUBLE);
    CHECK(type_of(f, "city") == ANOMA_COL_STRING);
    CHECK(type_of(f, "when") == ANOMA_COL_TIMESTAMP);
    CHECK(type_of(f, "day") == ANOMA_COL_TIMESTAMP);
    CHECK(type_of(f, "created_at") == ANOMA_COL_TIMESTAMP); /* epoch seconds by name */
    CHECK(type_of(f, "count") == ANOMA_COL_INT64);
    CHECK(type_of(f, "gap") == ANOMA_COL_DOUBLE);   /* whole numbers with a gap */
    CHECK(type_of(f, "mixed") == ANOMA_COL_STRING); /* numbers, a date and text */
    CHECK(type_of(f, "empty") == ANOMA_COL_DOUBLE);
    const int64_t *id = lcol(f, "id");
    CHECK(id && id[2] == 9007199254740993LL); /* exact beyond 2^53 */
    CHECK(isnan(num(f, "amount", 2)) && isnan(num(f, "gap", 1)));
    const char *const *city = scol(f, "city");
    CHECK(city && !strcmp(city[2], "NA"));
    /* Expected seconds from Python's datetime.fromisoformat(...).timestamp(). */
    size_t i;
    const void *v;
    CHECK_OK(anoma_frame_find_column(f, "when", &i));
    CHECK_OK(anoma_frame_column(f, i, NULL, &v));
    const int64_t *when = v;
    CHECK(when[0] == 1709164800 && when[1] == -1 && when[2] == 1735685999);
    CHECK_OK(anoma_frame_find_column(f, "day", &i));
    CHECK_OK(anoma_frame_column(f, i, NULL, &v));
    const int64_t *day = v;
    CHECK(day[0] == 946684800 && day[1] == 1709164800 && day[2] == ANOMA_TIMESTAMP_MISSING);
    CHECK_OK(anoma_frame_find_column(f, "created_at", &i));
    CHECK_OK(anoma_frame_column(f, i, NULL, &v));
    CHECK(((const int64_t *)v)[2] == -1);
    anoma_frame_free(f);

    /* A number column named like a time that is not whole stays a number. */
    CHECK_OK(read_text("time,x\n0.5,1\n1.5,2\n", NULL, &f));
    CHECK(type_of(f, "time") == ANOMA_COL_DOUBLE);
    anoma_frame_free(f);
    /* More ISO forms (fractions drop toward the past, offsets, leap days). */
    CHECK_OK(read_text("t\n2100-03-01T00:00\n1900-02-28T12:30:00-05:30\n"
                       "2020-03-09T10:14:33.999Z\n2020-03-09T10:14:33+0000\n"
                       "2020-03-09T11:14:33+01\n", NULL, &f));
    CHECK_OK(anoma_frame_column(f, 0, NULL, &v));
    const int64_t *t = v;
    CHECK(type_of(f, "t") == ANOMA_COL_TIMESTAMP);
    CHECK(t[0] == 4107542400 && t[1] == -2203912800);
    CHECK(t[2] == 1583748873 && t[3] == 1583748873 && t[4] == 1583748873);
    anoma_frame_free(f);
    /* Impossible dates are not timestamps: the column is text. */
    static const char *not_dates[] = {"2023-02-29", "2024-13-01", "2024-04-31", "2024-01-01T24:00",
                                      "2024-1-01",  "2024-01-01T10", "2024-01-01X"};
    for (size_t k = 0; k < sizeof not_dates / sizeof *not_dates; k++) {
        char line[64];
        snprintf(line, sizeof line, "t\n2024-01-01\n%s\n", not_dates[k]);
        CHECK_OK(read_text(line, NULL, &f));
        CHECK(type_of(f, "t") == ANOMA_COL_STRING);
        anoma_frame_free(f);
    }
}

static void test_declared_types(void)
{
    anoma_frame *f = NULL;
    const char *text = "n,i,s,t,e\n1,2,3,2024-02-29,1709164800.9\n4,5,6,NA,0\n";
    CHECK_OK(read_text(text, "types=n:number,i:integer,s:text,e:timestamp", &f));
    CHECK(type_of(f, "n") == ANOMA_COL_DOUBLE && type_of(f, "i") == ANOMA_COL_INT64);
    CHECK(type_of(f, "s") == ANOMA_COL_STRING && type_of(f, "t") == ANOMA_COL_TIMESTAMP);
    CHECK(type_of(f, "e") == ANOMA_COL_TIMESTAMP);
    const char *const *str = scol(f, "s");
    CHECK(str && !strcmp(str[1], "6"));
    size_t i;
    const void *v;
    CHECK_OK(anoma_frame_find_column(f, "e", &i));
    CHECK_OK(anoma_frame_column(f, i, NULL, &v));
    CHECK(((const int64_t *)v)[0] == 1709164800 && ((const int64_t *)v)[1] == 0);
    anoma_frame_free(f);
    /* A name may hold ':' (the last one ends it). */
    CHECK_OK(read_text("a:b,c\n1,2\n", "types=a:b:text", &f));
    CHECK(type_of(f, "a:b") == ANOMA_COL_STRING);
    anoma_frame_free(f);

    /* A value that does not fit its declared type names line and column. */
    CHECK_STATUS(read_text("a,b\n1,2\n3,x\n", "types=b:number", &f), ANOMA_ERR_PARSE);
    CHECK(message_has("line 3, column 'b'", "'x' as a number", NULL));
    CHECK_STATUS(read_text("a,b\n1,2.5\n", "types=b:integer", &f), ANOMA_ERR_PARSE);
    CHECK(message_has("line 2, column 'b'", "as an integer", NULL));
    CHECK_STATUS(read_text("a,b\n1,NA\n", "types=b:integer", &f), ANOMA_ERR_PARSE);
    CHECK(message_has("line 2, column 'b'", "missing", NULL));
    CHECK_STATUS(read_text("a,b\n1,9223372036854775808\n", "types=b:integer", &f),
                 ANOMA_ERR_PARSE);
    CHECK(message_has("64-bit", NULL, NULL));
    CHECK_STATUS(read_text("a,b\n1,2024-02-30\n", "types=b:timestamp", &f), ANOMA_ERR_PARSE);
    CHECK(message_has("line 2, column 'b'", "no such date", NULL));
    CHECK_STATUS(read_text("a,b\n1,soon\n", "types=b:timestamp", &f), ANOMA_ERR_PARSE);
    CHECK(message_has("as a timestamp", NULL, NULL));
    /* Bad declarations. */
    CHECK_STATUS(read_text("a,b\n1,2\n", "types=b:float", &f), ANOMA_ERR_PARAM_VALUE);
    CHECK(message_has("b:float", NULL, NULL));
    CHECK_STATUS(read_text("a,b\n1,2\n", "types=b", &f), ANOMA_ERR_PARAM_VALUE);
    CHECK_STATUS(read_text("a,b\n1,2\n", "types=z:text", &f), ANOMA_ERR_UNKNOWN_NAME);
    CHECK(message_has("'z'", NULL, NULL));
    CHECK_STATUS(read_text("a,b\n1,0\n", "types=b:text label=b", &f), ANOMA_ERR_PARAM_VALUE);
    CHECK(message_has("'b'", "two types", NULL));
    CHECK_STATUS(read_text("a,b\n1,0\n", "types=a:text,a:number", &f), ANOMA_ERR_PARAM_VALUE);
    CHECK(f == NULL);
}

static void test_no_header(void)
{
    anoma_frame *f = NULL;
    CHECK_OK(read_text("1,2.5\n3,x\n", "header=false", &f));
    CHECK(anoma_frame_rows(f) == 2 && anoma_frame_cols(f) == 2);
    CHECK(!strcmp(anoma_frame_column_name(f, 0), "f0") && num(f, "f0", 1) == 3);
    CHECK(type_of(f, "f1") == ANOMA_COL_STRING);
    anoma_frame_free(f);
    CHECK_STATUS(read_text("", "header=false", &f), ANOMA_ERR_EMPTY);
}

/* The per-line parser reads what the file reader reads. */
static void test_row_parser(void)
{
    anoma_csv_parser *p = NULL;
    const char *header = "\xEF\xBB\xBF" "id,\"x,1\",when,n";
    CHECK_OK(anoma_csv_parser_create(header, strlen(header), NULL, &p));
    if (!p)
        return;
    CHECK(anoma_csv_parser_cols(p) == 4);
    CHECK(!strcmp(anoma_csv_parser_column_name(p, 1), "x,1"));
    CHECK(anoma_csv_parser_column_name(p, 4) == NULL);
    size_t i = 9;
    CHECK_OK(anoma_csv_parser_find_column(p, "when", &i));
    CHECK(i == 2);
    CHECK_STATUS(anoma_csv_parser_find_column(p, "nope", &i), ANOMA_ERR_UNKNOWN_NAME);
    CHECK_OK(anoma_csv_parser_set_type(p, 1, ANOMA_COL_DOUBLE));
    CHECK_OK(anoma_csv_parser_set_type(p, 2, ANOMA_COL_TIMESTAMP));
    CHECK_OK(anoma_csv_parser_set_type(p, 3, ANOMA_COL_INT64));
    CHECK_STATUS(anoma_csv_parser_set_type(p, 4, ANOMA_COL_INT64), ANOMA_ERR_INVALID_ARGUMENT);

    anoma_csv_value v[4];
    const char *line = "\"a \"\"b\"\"\", 2.5 ,2024-02-29T00:00:00Z,7";
    CHECK_OK(anoma_csv_parse_row(p, line, strlen(line), v, 4));
    CHECK(!strcmp(v[0].text, "a \"b\"") && v[0].len == 5 && !v[0].missing);
    CHECK(v[1].number == 2.5 && !strcmp(v[1].text, " 2.5 "));
    CHECK(v[2].integer == 1709164800 && v[3].integer == 7);
    line = "NA,NA,,8";
    CHECK_OK(anoma_csv_parse_row(p, line, strlen(line), v, 4));
    CHECK(v[0].missing && !strcmp(v[0].text, "NA"));
    CHECK(v[1].missing && isnan(v[1].number));
    CHECK(v[2].missing && v[2].integer == ANOMA_TIMESTAMP_MISSING);

    /* Errors name the column and field; the caller adds the line. */
    line = "a,oops,2024-01-01,1";
    CHECK_STATUS(anoma_csv_parse_row(p, line, strlen(line), v, 4), ANOMA_ERR_PARSE);
    CHECK(message_has("column 'x,1' (field 2)", "'oops' as a number", NULL));
    CHECK_STATUS(anoma_csv_parse_row(p, "a,1", 3, v, 4), ANOMA_ERR_PARSE);
    CHECK(message_has("expected 4 fields, found 2", NULL, NULL));
    CHECK_STATUS(anoma_csv_parse_row(p, "\"a,1,2,3", 8, v, 4), ANOMA_ERR_PARSE);
    CHECK(message_has("not closed", NULL, NULL) && !strstr(anoma_last_error(), "line"));
    CHECK_STATUS(anoma_csv_parse_row(p, "a,1,2\n,3", 9, v, 4), ANOMA_ERR_PARSE);
    CHECK_STATUS(anoma_csv_parse_row(p, "a,1,2,3", 7, v, 3), ANOMA_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(anoma_csv_parse_row(p, "a,1,2,3", 7, NULL, 4), ANOMA_ERR_INVALID_ARGUMENT);
    anoma_csv_parser_free(p);

    /* No header: columns=N, named f0, f1, ...; a tab delimiter. */
    CHECK_OK(anoma_csv_parser_create(NULL, 0, "columns=2 delimiter=tab", &p));
    CHECK(!strcmp(anoma_csv_parser_column_name(p, 1), "f1"));
    CHECK_OK(anoma_csv_parser_set_type(p, 0, ANOMA_COL_DOUBLE));
    CHECK_OK(anoma_csv_parse_row(p, "1e3\tx,y", 7, v, 2));
    CHECK(v[0].number == 1000 && !strcmp(v[1].text, "x,y"));
    anoma_csv_parser_free(p);
    anoma_csv_parser_free(NULL);

    CHECK_STATUS(anoma_csv_parser_create(NULL, 0, NULL, &p), ANOMA_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(anoma_csv_parser_create("a,a", 3, NULL, &p), ANOMA_ERR_PARSE);
    CHECK(message_has("header", "both named 'a'", NULL));
    CHECK_STATUS(anoma_csv_parser_create("a,,b", 4, NULL, &p), ANOMA_ERR_PARSE);
    CHECK_STATUS(anoma_csv_parser_create("a", 1, "columns=1", &p), ANOMA_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(anoma_csv_parser_create("a", 1, "nope=1", &p), ANOMA_ERR_UNKNOWN_PARAM);
    CHECK(p == NULL);
}

/* The line parser frees what it took on every failure, and once its buffer
 * has grown a line costs no allocation. */
static void test_row_parser_memory(void)
{
    const char *header = "a,\"b,c\",d";
    int done = 0;
    for (long k = 0; k < 100 && !done; k++) {
        anoma_csv_parser *p = NULL;
        test_alloc_install(k);
        anoma_status st = anoma_csv_parser_create(header, strlen(header), NULL, &p);
        anoma_csv_value v[3];
        if (st == ANOMA_OK)
            st = anoma_csv_parse_row(p, "1,\"x\"\"y\",2", 11, v, 3);
        CHECK(st == ANOMA_OK || st == ANOMA_ERR_NO_MEMORY);
        anoma_csv_parser_free(p);
        CHECK(test_alloc_live() == 0);
        test_alloc_restore();
        done = st == ANOMA_OK;
    }
    CHECK(done);
    anoma_csv_parser *p = NULL;
    CHECK_OK(anoma_csv_parser_create(header, strlen(header), NULL, &p));
    anoma_csv_value v[3];
    CHECK_OK(anoma_csv_parse_row(p, "1,22222222,3", 12, v, 3));
    test_alloc_install(0); /* no allocation may succeed from here */
    for (int i = 0; i < 1000; i++)
        CHECK_OK(anoma_csv_parse_row(p, "4,\"5,6\",7", 9, v, 3));
    test_alloc_restore();
    CHECK(!strcmp(v[1].text, "5,6"));
    anoma_csv_parser_free(p);
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
    RUN(test_type_inference);
    RUN(test_declared_types);
    RUN(test_no_header);
    RUN(test_row_parser);
    RUN(test_row_parser_memory);
    RUN(test_out_of_memory);
    return test_summary();
}
