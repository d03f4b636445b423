/* time_features: calendar features of a timestamp column, and the seconds
 * since the previous row of the same entity (docs/features.md has the exact
 * formulas).
 *
 * The local time is the UTC timestamp plus a fixed offset (utc_offset=);
 * from it: the time of day, day of week (Monday = 0), day of month and
 * month, each as a point on a circle (sin, cos) so that 23:59 is next to
 * 00:00; weekend, business-hours and night flags; and, with since_previous,
 * the UTC seconds since the entity's previous row. The timestamp column is
 * consumed (its features take its place); the entity column is read only.
 * A missing timestamp gives NaN in every output.
 *
 * Only since_previous needs state: one double per entity, the entity's
 * previous timestamp in seconds (NaN when none). Without it the step is
 * stateless (state_bytes = 0) and runs by blocks. */
#include "features/step.h"
#include "anoma/data.h"
#include "core/alloc.h"
#include "core/error.h"
#include "core/quoting.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define TWO_PI 6.283185307179586476925286766559

enum feature {
    F_HOUR,
    F_DAY_OF_WEEK,
    F_DAY_OF_MONTH,
    F_MONTH,
    F_WEEKEND,
    F_BUSINESS,
    F_NIGHT,
    F_SINCE_PREVIOUS,
    N_FEATURES
};
static const char *const feature_names[N_FEATURES] = {
    "hour", "day_of_week", "day_of_month", "month", "weekend", "business_hours", "night",
    "since_previous"};

/* Timestamps further than this from 1970 are refused: far beyond any date,
 * and it keeps the day arithmetic clear of overflow. */
static const double MAX_SECONDS = 4611686018427387904.0; /* 2^62 */

static const anoma_param_info time_params[] = {
    {"column", ANOMA_PARAM_TEXT, 0, 0, "", "",
     "the timestamp column (a timestamp, or a number of seconds since 1970 UTC)"},
    {"utc_offset", ANOMA_PARAM_TEXT, 0, 0, "+00:00", "",
     "local time = UTC + offset: +HH:MM, -HH:MM, or seconds (whole minutes)"},
    {"features", ANOMA_PARAM_TEXT, 0, 0, "", "",
     "comma-separated: hour, day_of_week, day_of_month, month, weekend, business_hours, night, "
     "since_previous (default: all, since_previous only with entity=)"},
    {"business_hours", ANOMA_PARAM_TEXT, 0, 0, "09:00-17:00", "",
     "start-end of business hours on Monday to Friday, HH[:MM]-HH[:MM]"},
    {"night_hours", ANOMA_PARAM_TEXT, 0, 0, "22:00-06:00", "",
     "start-end of the night, HH[:MM]-HH[:MM] (may wrap past midnight)"},
    {"entity", ANOMA_PARAM_TEXT, 0, 0, "", "",
     "column naming the entity for since_previous (default: the whole input is one series)"},
};

/* A point on the unit circle: the (sin, cos) pair of a cyclical feature. */
typedef struct circle_point {
    double sin, cos;
} circle_point;

typedef struct time_state {
    char *column, *entity;
    char *column_name; /* column= unquoted, for messages and describe */
    int64_t offset;            /* seconds */
    int on[N_FEATURES];        /* which features, in feature order */
    double business[2], night[2]; /* seconds of the day: [start, end) */
    /* fitted */
    an_cell_type ts_type; /* timestamp, or number of seconds */
    int has_entity;       /* the entity is input 1 */
    size_t n_outputs;
    /* The points of the discrete features, computed once at create with the
     * formula a row would use (the same values to the bit): only the time of
     * day needs sin and cos per row. */
    circle_point weekday[7], month[12];
    circle_point day[4][31]; /* [days in the month - 28][day - 1] */
} time_state;

/* ---- parameters ---- */

static int parse_offset(const char *text, int64_t *out)
{
    char *end;
    if (text[0] == '+' || text[0] == '-') {
        int sign = text[0] == '-' ? -1 : 1;
        if (strlen(text) == 6 && text[3] == ':') {
            long h = strtol(text + 1, &end, 10);
            if (end != text + 3)
                return 0;
            long m = strtol(text + 4, &end, 10);
            if (*end || h > 23 || m > 59 || h < 0 || m < 0)
                return 0;
            *out = sign * (h * 3600 + m * 60);
            return 1;
        }
    }
    /* seconds: every real offset is a whole number of minutes, and this
     * refuses "+5" (hours, surely) instead of reading 5 seconds */
    long long s = strtoll(text, &end, 10);
    if (end == text || *end || s < -86400 || s > 86400 || s % 60)
        return 0;
    *out = s;
    return 1;
}

/* "HH[:MM]" into seconds of the day, 0 .. 24:00. */
static const char *parse_clock(const char *p, double *seconds)
{
    char *end;
    long h = strtol(p, &end, 10);
    if (end == p || h < 0 || h > 24)
        return NULL;
    long m = 0;
    if (*end == ':') {
        const char *q = end + 1;
        m = strtol(q, &end, 10);
        if (end != q + 2 || m < 0 || m > 59)
            return NULL;
    }
    if (h * 60 + m > 24 * 60)
        return NULL;
    *seconds = (double)(h * 3600 + m * 60);
    return end;
}

static int parse_range(const char *text, double range[2])
{
    const char *p = parse_clock(text, &range[0]);
    if (!p || *p != '-')
        return 0;
    p = parse_clock(p + 1, &range[1]);
    return p && !*p;
}

static anoma_status parse_features(time_state *s, const char *text)
{
    for (const char *p = text; *p;) {
        size_t len = strcspn(p, ",");
        int found = -1;
        for (int f = 0; f < N_FEATURES; f++)
            if (strlen(feature_names[f]) == len && !strncmp(feature_names[f], p, len))
                found = f;
        if (found < 0 || s->on[found])
            return an_error(ANOMA_ERR_PARAM_VALUE, "time_features: features=%s: '%.*s' is %s",
                            text, (int)len, p, found < 0 ? "not a known feature" : "listed twice");
        s->on[found] = 1;
        p += len + (p[len] == ',');
    }
    return ANOMA_OK;
}

static void time_destroy(void *state)
{
    time_state *s = state;
    an_free(s->column);
    an_free(s->column_name);
    an_free(s->entity);
    an_free(s);
}

static anoma_status check_params(time_state *s, const an_params *params)
{
    const char *offset = an_params_text(params, "utc_offset");
    if (!parse_offset(offset, &s->offset))
        return an_error(ANOMA_ERR_PARAM_VALUE, "time_features: utc_offset=%s: expected +HH:MM, "
                        "-HH:MM or a number of seconds (whole minutes) within a day", offset);
    const char *keys[2] = {"business_hours", "night_hours"};
    double *ranges[2] = {s->business, s->night};
    for (int k = 0; k < 2; k++)
        if (!parse_range(an_params_text(params, keys[k]), ranges[k]))
            return an_error(ANOMA_ERR_PARAM_VALUE, "time_features: %s=%s: expected "
                            "HH[:MM]-HH[:MM], such as 09:00-17:30", keys[k],
                            an_params_text(params, keys[k]));
    const char *features = an_params_text(params, "features");
    const char *entity = an_params_text(params, "entity");
    if (*features) {
        AN_TRY(parse_features(s, features));
    } else {
        for (int f = 0; f < F_SINCE_PREVIOUS; f++)
            s->on[f] = 1;
        s->on[F_SINCE_PREVIOUS] = *entity != 0;
    }
    if (*entity && !s->on[F_SINCE_PREVIOUS])
        return an_error(ANOMA_ERR_PARAM_VALUE, "time_features: entity=%s is used only by "
                        "since_previous, which features= leaves out", entity);
    if (!*an_params_text(params, "column"))
        return an_error(ANOMA_ERR_PARAM_VALUE, "time_features: column= names the timestamp "
                        "column and is required");
    return ANOMA_OK;
}

/* The point a fraction of a full turn lands on. */
static circle_point circle_at(double fraction)
{
    return (circle_point){sin(TWO_PI * fraction), cos(TWO_PI * fraction)};
}

static void fill_circles(time_state *s)
{
    for (int k = 0; k < 7; k++)
        s->weekday[k] = circle_at(k / 7.0);
    for (int k = 0; k < 12; k++)
        s->month[k] = circle_at(k / 12.0);
    for (int days = 28; days <= 31; days++)
        for (int k = 0; k < days; k++)
            s->day[days - 28][k] = circle_at(k / (double)days);
}

static anoma_status time_create(const an_params *params, void **state)
{
    time_state *s = AN_NEW_ZEROED(time_state, 1);
    if (!s)
        return an_no_memory();
    fill_circles(s);
    anoma_status st = check_params(s, params);
    if (st == ANOMA_OK) {
        s->column = an_strdup(an_params_text(params, "column"));
        s->column_name = an_unquote(an_params_text(params, "column"));
        s->entity = an_unquote(an_params_text(params, "entity"));
        if (!s->column || !s->column_name || !s->entity)
            st = an_no_memory();
    }
    if (st != ANOMA_OK) {
        time_destroy(s);
        return st;
    }
    *state = s;
    return ANOMA_OK;
}

/* ---- fit ---- */

static long find_column(const an_schema *schema, const char *name)
{
    for (size_t j = 0; j < schema->n; j++)
        if (!strcmp(schema->names[j], name))
            return (long)j;
    return -1;
}

static size_t count_outputs(const time_state *s)
{
    size_t n = 0;
    for (int f = 0; f < N_FEATURES; f++)
        n += s->on[f] ? (f <= F_MONTH ? 2 : 1) : 0;
    return n;
}

static anoma_status time_fit(void *state, const an_step_fit_data *data, an_step_io *io)
{
    time_state *s = state;
    AN_TRY(an_step_resolve_columns("time_features", s->column, data->schema,
                                   1u << AN_CELL_TIMESTAMP | 1u << AN_CELL_NUMBER, 1, io));
    if (io->n_inputs != 1)
        return an_error(ANOMA_ERR_INVALID_ARGUMENT, "time_features: column= takes one column");
    if (*s->entity) {
        long e = find_column(data->schema, s->entity);
        if (e < 0)
            return an_error(ANOMA_ERR_INVALID_ARGUMENT, "time_features: entity: no column '%s' "
                            "at this step", s->entity);
        if ((size_t)e == io->inputs[0])
            return an_error(ANOMA_ERR_INVALID_ARGUMENT, "time_features: the entity cannot be "
                            "the timestamp column '%s'", s->entity);
        AN_TRY(an_step_io_add_input(io, (size_t)e, 1));
        s->has_entity = 1;
    }
    const char *col = data->schema->names[io->inputs[0]];
    s->ts_type = data->schema->types[io->inputs[0]];
    for (int f = 0; f < N_FEATURES; f++) {
        if (!s->on[f])
            continue;
        if (f <= F_MONTH) {
            AN_TRY(an_step_io_add_output(io, AN_CELL_NUMBER, "%s_%s_sin", col, feature_names[f]));
            AN_TRY(an_step_io_add_output(io, AN_CELL_NUMBER, "%s_%s_cos", col, feature_names[f]));
        } else {
            AN_TRY(an_step_io_add_output(io, AN_CELL_NUMBER, "%s_%s", col, feature_names[f]));
        }
    }
    s->n_outputs = count_outputs(s);
    return ANOMA_OK;
}

/* ---- the calendar ---- */

/* Year, month (1-12) and day (1-31) of a count of days since 1970-01-01,
 * proleptic Gregorian (H. Hinnant's civil_from_days). */
static void civil_from_days(int64_t z, int64_t *year, int *month, int *day)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;                                  /* [0, 146096] */
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365; /* [0, 399] */
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);           /* [0, 365] */
    int64_t mp = (5 * doy + 2) / 153;                                /* [0, 11], from March */
    *day = (int)(doy - (153 * mp + 2) / 5 + 1);
    *month = (int)(mp < 10 ? mp + 3 : mp - 9);
    *year = yoe + era * 400 + (*month <= 2);
}

static int days_in_month(int64_t year, int month)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    return month == 2 ? 28 + leap : days[month - 1];
}

/* UTC seconds of a cell as a double; 0 (with *missing) for a missing one. */
static double seconds_of(const an_cell *c, an_cell_type type, int *missing)
{
    if (type == AN_CELL_TIMESTAMP) {
        *missing = c->i64 == ANOMA_TIMESTAMP_MISSING;
        return *missing ? 0 : (double)c->i64;
    }
    *missing = isnan(c->num);
    return *missing ? 0 : c->num;
}

static void put_point(an_cell *const *out, size_t *o, size_t row, circle_point p)
{
    out[(*o)++][row].num = p.sin;
    out[(*o)++][row].num = p.cos;
}

static int in_range(const double range[2], double second)
{
    return range[0] <= range[1] ? range[0] <= second && second < range[1]
                                : second >= range[0] || second < range[1];
}

/* The calendar outputs of one row (all but since_previous). */
static anoma_status calendar_row(const time_state *s, an_cell_type type, const an_cell *ts,
                                 an_cell *const *out, size_t row, an_step_fault *fault)
{
    int missing;
    double utc = seconds_of(ts, type, &missing);
    size_t o = 0;
    if (missing) {
        for (int f = 0; f < F_SINCE_PREVIOUS; f++)
            for (int k = 0; s->on[f] && k < (f <= F_MONTH ? 2 : 1); k++)
                out[o++][row].num = NAN;
        return ANOMA_OK;
    }
    if (!(fabs(utc) < MAX_SECONDS)) {
        fault->row = row;
        return an_error(ANOMA_ERR_INVALID_ARGUMENT, "time_features: column '%s': timestamp %.17g "
                        "is out of range", s->column_name, utc);
    }
    /* days and seconds of the local day, exact for whole-second timestamps */
    int64_t days;
    double second;
    if (type == AN_CELL_TIMESTAMP) {
        int64_t local = ts->i64 + s->offset;
        days = local / 86400 - (local % 86400 < 0);
        second = (double)(local - days * 86400);
    } else {
        double local = utc + (double)s->offset;
        days = (int64_t)floor(local / 86400);
        second = local - (double)days * 86400;
        if (second >= 86400) { /* rounding just below the next midnight */
            days++;
            second = 0;
        }
    }
    int64_t year;
    int month, day;
    civil_from_days(days, &year, &month, &day);
    int weekday = (int)(((days + 3) % 7 + 7) % 7); /* 1970-01-01 was a Thursday; Monday = 0 */
    if (s->on[F_HOUR])
        put_point(out, &o, row, circle_at(second / 86400));
    if (s->on[F_DAY_OF_WEEK])
        put_point(out, &o, row, s->weekday[weekday]);
    if (s->on[F_DAY_OF_MONTH])
        put_point(out, &o, row, s->day[days_in_month(year, month) - 28][day - 1]);
    if (s->on[F_MONTH])
        put_point(out, &o, row, s->month[month - 1]);
    if (s->on[F_WEEKEND])
        out[o++][row].num = weekday >= 5;
    if (s->on[F_BUSINESS])
        out[o++][row].num = weekday < 5 && in_range(s->business, second);
    if (s->on[F_NIGHT])
        out[o++][row].num = in_range(s->night, second);
    return ANOMA_OK;
}

static anoma_status time_transform(const void *state, const an_cell *const *in,
                                   an_cell *const *out, size_t rows, void *scratch,
                                   an_step_fault *fault)
{
    (void)scratch;
    const time_state *s = state;
    for (size_t i = 0; i < rows; i++)
        AN_TRY(calendar_row(s, s->ts_type, &in[0][i], out, i, fault));
    return ANOMA_OK;
}

/* ---- since_previous: the stateful part ---- */

static size_t time_state_bytes(const void *state)
{
    const time_state *s = state;
    return s->on[F_SINCE_PREVIOUS] ? sizeof(double) : 0;
}

static void time_state_init(const void *state, void *entity_state)
{
    (void)state;
    *(double *)entity_state = NAN;
}

static size_t time_entity(const void *state)
{
    const time_state *s = state;
    return s->has_entity ? 1 : AN_STEP_NO_ENTITY;
}

static anoma_status time_transform_row(const void *state, void *entity_state,
                                       const an_cell *const *in, an_cell *const *out,
                                       void *scratch, an_step_fault *fault)
{
    (void)scratch;
    const time_state *s = state;
    AN_TRY(calendar_row(s, s->ts_type, &in[0][0], out, 0, fault));
    int missing;
    double utc = seconds_of(&in[0][0], s->ts_type, &missing);
    double *previous = entity_state;
    out[s->n_outputs - 1][0].num = missing ? NAN : utc - *previous;
    if (!missing)
        *previous = utc;
    return ANOMA_OK;
}

static anoma_status time_state_save(const void *state, const void *entity_state, an_writer *w)
{
    (void)state;
    an_put_f64(w, *(const double *)entity_state);
    return an_writer_status(w);
}

static anoma_status time_state_load(const void *state, void *entity_state, an_reader *r)
{
    (void)state;
    *(double *)entity_state = an_get_f64(r);
    return an_reader_status(r);
}

/* ---- the fitted step in a model file ---- */

static anoma_status time_save(const void *state, an_writer *w)
{
    const time_state *s = state;
    an_put_u8(w, (uint8_t)s->has_entity);
    return ANOMA_OK;
}

static anoma_status time_load(void *state, an_reader *r, uint32_t version,
                              const an_schema *schema, const an_step_io *io)
{
    time_state *s = state;
    if (version != 1)
        return an_error(ANOMA_ERR_VERSION, "time_features: payload version %u is not known",
                        version);
    uint8_t has_entity = an_get_u8(r);
    AN_TRY(an_reader_status(r));
    s->n_outputs = count_outputs(s);
    int ok = has_entity == (*s->entity != 0) && io->n_inputs == 1u + has_entity &&
             !io->keep[0] && io->n_outputs == s->n_outputs &&
             (schema->types[io->inputs[0]] == AN_CELL_TIMESTAMP ||
              schema->types[io->inputs[0]] == AN_CELL_NUMBER) &&
             (!has_entity || io->keep[1]);
    for (size_t k = 0; ok && k < io->n_outputs; k++)
        ok = io->output_types[k] == AN_CELL_NUMBER;
    if (!ok)
        return an_error(ANOMA_ERR_FORMAT, "model file: time_features: the payload does not "
                        "match the step's columns");
    s->has_entity = has_entity;
    s->ts_type = schema->types[io->inputs[0]];
    return ANOMA_OK;
}

static size_t time_memory(const void *state)
{
    (void)state;
    return sizeof(time_state);
}

static void time_describe(const void *state, an_strbuf *out)
{
    const time_state *s = state;
    an_strbuf_printf(out, "    %s (UTC%+lld s): %zu features%s\n", s->column_name,
                     (long long)s->offset, s->n_outputs,
                     s->on[F_SINCE_PREVIOUS] ? (s->has_entity ? ", since_previous per entity"
                                                               : ", since_previous")
                                             : "");
}

const an_step_vtable an_time_features_step = {
    .name = "time_features",
    .refuses_rows = 1,
    .summary = "cyclical hour/day/month, weekend, business hours, night; seconds since the "
               "entity's previous row",
    .params = time_params,
    .n_params = sizeof time_params / sizeof *time_params,
    .flags = ANOMA_FLAG_STATEFUL,
    .payload_version = 1,
    .create = time_create,
    .destroy = time_destroy,
    .fit = time_fit,
    .transform = time_transform,
    .save = time_save,
    .load = time_load,
    .memory_bytes = time_memory,
    .describe = time_describe,
    .entity_bytes = time_state_bytes,
    .entity_align = sizeof(double),
    .entity_init = time_state_init,
    .entity_transform = time_transform_row,
    .entity_input = time_entity,
    .entity_save = time_state_save,
    .entity_restore = time_state_load,
};
