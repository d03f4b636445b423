/* One CSV field as a typed value, and the type inferred for a column.
 *
 * Decisions (documented in csv.h and docs/cli.md):
 * - Missing markers: an empty field, NA, NaN, nan, N/A, null (after
 *   trimming spaces and tabs). In text columns a quoted field is kept as
 *   written: `"NA"` is the text NA.
 * - Numbers are decimal: strtod's syntax without hex, inf or nan words, in
 *   the C locale; a number too large for a double is an error.
 * - Integers are an optional sign and digits that fit int64.
 * - Timestamps are ISO-8601 dates (2024-02-29) or date-times
 *   (2024-02-29T13:05:09, a space instead of T, optional seconds, optional
 *   fraction, optional Z or +hh:mm / +hhmm / +hh offset) read as UTC seconds;
 *   a fraction is dropped toward the past, so the second that contains the
 *   instant is kept. Epoch seconds (a plain number) count as a timestamp
 *   only in a column declared timestamp or, when every value is a whole
 *   number, named like one (see names_a_time below): a number column is far
 *   more often a measurement than a time, and a wrong guess would drop a
 *   feature. */
#include "io/csv_internal.h"
#include "core/params.h"

#include <errno.h>
#include <math.h>
#include <string.h>
#include <strings.h>

static int is_blank(char ch) { return ch == ' ' || ch == '\t'; }

char *csv_trim(char *text, size_t *len)
{
    while (*len && is_blank(*text)) {
        text++;
        (*len)--;
    }
    while (*len && is_blank(text[*len - 1]))
        (*len)--;
    return text;
}

int csv_is_missing(const char *text, size_t len)
{
    static const char *const markers[] = {"", "NA", "NaN", "nan", "N/A", "null"};
    for (size_t i = 0; i < sizeof markers / sizeof *markers; i++)
        if (strlen(markers[i]) == len && !memcmp(text, markers[i], len))
            return 1;
    return 0;
}

static int is_number_char(char ch)
{
    return (ch >= '0' && ch <= '9') || ch == '.' || ch == '-' || ch == '+' || ch == 'e' ||
           ch == 'E';
}

/* The field is followed by a blank or its NUL, where strtod stops: no copy
 * is needed. The character check keeps out what strtod also accepts but a
 * data file should not contain: hex, inf, nan(...), locale-only text. */
const char *csv_parse_number(const char *text, size_t len, double *out)
{
    size_t i = 0;
    while (i < len && is_number_char(text[i]))
        i++;
    if (i != len) {
        size_t sign = *text == '+' || *text == '-';
        if ((len - sign == 3 && !strncasecmp(text + sign, "inf", 3)) ||
            (len - sign == 8 && !strncasecmp(text + sign, "infinity", 8)))
            return " (infinite values are not accepted)";
        return "";
    }
    char *end;
    errno = 0;
    double v = an_strtod(text, &end);
    if (len == 0 || end != text + len)
        return "";
    if (errno == ERANGE && isinf(v))
        return " (out of the range of a double)";
    *out = v;
    return NULL;
}

const char *csv_parse_integer(const char *text, size_t len, int64_t *out)
{
    if (len == 0)
        return "";
    size_t i = text[0] == '+' || text[0] == '-';
    int negative = text[0] == '-';
    if (i == len)
        return "";
    uint64_t v = 0, limit = negative ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    for (; i < len; i++) {
        if (text[i] < '0' || text[i] > '9')
            return "";
        unsigned d = (unsigned)(text[i] - '0');
        if (v > (limit - d) / 10)
            return " (out of the range of a 64-bit integer)";
        v = v * 10 + d;
    }
    *out = negative ? (int64_t)(0 - v) : (int64_t)v; /* two's complement: INT64_MIN fits */
    return NULL;
}

/* ---- ISO-8601 -------------------------------------------------------------- */

/* Exactly n digits at text[*i]; -1 when not. */
static long digits(const char *text, size_t len, size_t *i, size_t n)
{
    long v = 0;
    for (size_t k = 0; k < n; k++, (*i)++) {
        if (*i >= len || text[*i] < '0' || text[*i] > '9')
            return -1;
        v = v * 10 + (text[*i] - '0');
    }
    return v;
}

static int is_leap(long y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar
 * (Howard Hinnant's days_from_civil). */
static int64_t days_from_civil(long y, long m, long d)
{
    y -= m <= 2;
    long era = (y >= 0 ? y : y - 399) / 400;
    long yoe = y - era * 400;
    long doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return (int64_t)era * 146097 + doe - 719468;
}

static const char *parse_iso(const char *text, size_t len, int64_t *out)
{
    static const int month_days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    size_t i = 0;
    long y = digits(text, len, &i, 4);
    if (y < 0 || i >= len || text[i++] != '-')
        return "";
    long mo = digits(text, len, &i, 2);
    if (mo < 0 || i >= len || text[i++] != '-')
        return "";
    long d = digits(text, len, &i, 2);
    if (d < 0)
        return "";
    if (mo < 1 || mo > 12 || d < 1 || d > month_days[mo - 1] + (mo == 2 && is_leap(y)))
        return " (no such date)";
    long h = 0, mi = 0, s = 0, offset = 0;
    if (i < len) {
        if (text[i] != 'T' && text[i] != ' ')
            return "";
        i++;
        h = digits(text, len, &i, 2);
        if (h < 0 || i >= len || text[i++] != ':')
            return "";
        mi = digits(text, len, &i, 2);
        if (mi < 0)
            return "";
        if (i < len && text[i] == ':') {
            i++;
            if ((s = digits(text, len, &i, 2)) < 0)
                return "";
            if (i < len && (text[i] == '.' || text[i] == ',')) {
                size_t start = ++i;
                while (i < len && text[i] >= '0' && text[i] <= '9')
                    i++;
                if (i == start)
                    return "";
            }
        }
        if (h > 23 || mi > 59 || s > 59)
            return " (no such time of day)";
        if (i < len && text[i] == 'Z') {
            i++;
        } else if (i < len && (text[i] == '+' || text[i] == '-')) {
            long sign = text[i++] == '-' ? -1 : 1;
            long oh = digits(text, len, &i, 2), om = 0;
            if (oh < 0)
                return "";
            if (i < len && text[i] == ':')
                i++;
            if (i < len && (om = digits(text, len, &i, 2)) < 0)
                return "";
            if (oh > 23 || om > 59)
                return " (no such UTC offset)";
            offset = sign * (oh * 3600 + om * 60);
        }
        if (i != len)
            return "";
    }
    *out = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s - offset;
    return NULL;
}

const char *csv_parse_timestamp(const char *text, size_t len, int allow_epoch, int64_t *out)
{
    const char *why = parse_iso(text, len, out);
    if (!why || !allow_epoch || *why)
        return why;
    double v;
    if (csv_parse_number(text, len, &v) || !(fabs(v) < 9.2e18))
        return " (neither an ISO-8601 date-time nor seconds since 1970)";
    *out = (int64_t)floor(v);
    return NULL;
}

/* ---- inference ------------------------------------------------------------- */

int csv_classify(const char *text, size_t len)
{
    int64_t i;
    double v;
    if (csv_is_missing(text, len))
        return CSV_SEEN_MISSING;
    if (!csv_parse_integer(text, len, &i))
        return CSV_SEEN_INTEGER;
    if (!csv_parse_number(text, len, &v))
        return CSV_SEEN_NUMBER;
    if (!parse_iso(text, len, &i))
        return CSV_SEEN_TIMESTAMP;
    return CSV_SEEN_TEXT;
}

/* Names that say "a point in time": time, timestamp, datetime, date, ts,
 * epoch, or a name ending in _time, _timestamp, _ts, _date, _at (created_at),
 * in any case. */
static int names_a_time(const char *name)
{
    static const char *const whole[] = {"time", "timestamp", "datetime", "date", "ts", "epoch"};
    static const char *const ends[] = {"_time", "_timestamp", "_ts", "_date", "_at"};
    size_t len = strlen(name);
    for (size_t k = 0; k < sizeof whole / sizeof *whole; k++)
        if (!strcasecmp(name, whole[k]))
            return 1;
    for (size_t k = 0; k < sizeof ends / sizeof *ends; k++) {
        size_t n = strlen(ends[k]);
        if (len > n && !strcasecmp(name + len - n, ends[k]))
            return 1;
    }
    return 0;
}

anoma_column_type csv_infer_type(int seen, const char *name)
{
    int values = seen & ~CSV_SEEN_MISSING;
    if (values & CSV_SEEN_TEXT)
        return ANOMA_COL_STRING;
    if (values & CSV_SEEN_TIMESTAMP) /* dates mixed with numbers: text */
        return values == CSV_SEEN_TIMESTAMP ? ANOMA_COL_TIMESTAMP : ANOMA_COL_STRING;
    if (values == CSV_SEEN_INTEGER && names_a_time(name))
        return ANOMA_COL_TIMESTAMP;
    /* int64 cannot hold a missing value: whole numbers with gaps are doubles */
    if (values == CSV_SEEN_INTEGER && !(seen & CSV_SEEN_MISSING))
        return ANOMA_COL_INT64;
    return ANOMA_COL_DOUBLE;
}

/* ---- conversion ------------------------------------------------------------ */

const char *csv_convert(anoma_column_type type, char *raw, size_t raw_len, int quoted,
                        anoma_csv_value *out)
{
    size_t len = raw_len;
    const char *text = csv_trim(raw, &len);
    out->text = raw;
    out->len = raw_len;
    out->number = NAN;
    out->integer = 0;
    out->missing = csv_is_missing(text, len) && !(quoted && type == ANOMA_COL_STRING);
    if (out->missing) {
        if (type == ANOMA_COL_TIMESTAMP)
            out->integer = ANOMA_TIMESTAMP_MISSING;
        if (type == ANOMA_COL_INT64)
            return " (an integer column cannot hold a missing value; declare it a number)";
        return NULL;
    }
    switch (type) {
    case ANOMA_COL_DOUBLE: return csv_parse_number(text, len, &out->number);
    case ANOMA_COL_INT64: return csv_parse_integer(text, len, &out->integer);
    case ANOMA_COL_TIMESTAMP: return csv_parse_timestamp(text, len, 1, &out->integer);
    case ANOMA_COL_STRING: return NULL;
    }
    return "";
}

static const char *const type_names[] = {"number", "integer", "text", "timestamp"};

const char *csv_type_name(anoma_column_type type)
{
    return (unsigned)type < 4 ? type_names[type] : "?";
}

int csv_type_from_name(const char *name, size_t len)
{
    for (int t = 0; t < 4; t++)
        if (strlen(type_names[t]) == len && !memcmp(name, type_names[t], len))
            return t;
    return -1;
}
