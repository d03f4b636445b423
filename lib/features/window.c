/* window: features of a series from its own recent past, per entity, with
 * pandas' definitions (docs/features.md has the formulas):
 *
 *   lags=1,2         x[t-k]                                 s.shift(k)
 *   diff=1           x[t] - x[t-k]                          s.diff(k)
 *   rolling=10       mean, std (ddof 1), min, max, median    s.rolling(w, min_periods)
 *                    of x[t-w+1 .. t]
 *   deviation=true   (x[t] - mean) / std of x[t-w .. t-1]   with s.shift(1).rolling(w)
 *   ewma_alpha=0.3   exponentially weighted mean             s.ewm(alpha, adjust)
 *   ewma_span=10     the same with alpha = 2 / (span + 1)
 *
 * With entity=COL every entity (user, sensor) is its own series, in input
 * order (pandas' groupby(COL, dropna=False)); without it the whole input is
 * one series. Too little history gives NaN, as in pandas.
 *
 * The step is stateful: the executor hands each row its entity's state, a
 * block of plain bytes of fixed size (see the layout below), which a stream
 * can keep, save and restore. The inputs are read, not consumed; the
 * outputs go after every other column. */
#include "features/step.h"
#include "core/alloc.h"
#include "core/error.h"
#include "core/quoting.h"
#include "core/stats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Far beyond any useful window; bounds an entity's state. */
enum { MAX_SPAN = 100000, MAX_ITEMS = 64 };

enum stat { STAT_MEAN, STAT_STD, STAT_MIN, STAT_MAX, STAT_MEDIAN, N_STATS };
static const char *const stat_names[N_STATS] = {"mean", "std", "min", "max", "median"};

static const anoma_param_info window_params[] = {
    {"columns", ANOMA_PARAM_TEXT, 0, 0, "", "",
     "number columns, comma-separated (default: every number column but the entity)"},
    {"entity", ANOMA_PARAM_TEXT, 0, 0, "", "",
     "column whose value names the series a row belongs to (default: one series)"},
    {"lags", ANOMA_PARAM_TEXT, 0, 0, "", "", "lags, such as 1,2: x[t-k]"},
    {"diff", ANOMA_PARAM_TEXT, 0, 0, "", "", "differences, such as 1: x[t] - x[t-k]"},
    {"rolling", ANOMA_PARAM_TEXT, 0, 0, "", "", "rolling window lengths, such as 10"},
    {"stats", ANOMA_PARAM_TEXT, 0, 0, "mean,std", "",
     "rolling statistics: mean, std, min, max, median"},
    {"min_periods", ANOMA_PARAM_INT, 0, MAX_SPAN, "0", "",
     "values a rolling window needs, else NaN (0: the window's length, as pandas)"},
    {"deviation", ANOMA_PARAM_BOOL, 0, 0, "false", "",
     "per rolling window: (x - mean) / std of the previous w values"},
    {"ewma_alpha", ANOMA_PARAM_TEXT, 0, 0, "", "",
     "exponentially weighted means with these smoothing factors in (0, 1]"},
    {"ewma_span", ANOMA_PARAM_TEXT, 0, 0, "", "",
     "exponentially weighted means with these spans >= 1: alpha = 2 / (span + 1)"},
    {"adjust", ANOMA_PARAM_BOOL, 0, 0, "true", "", "pandas' ewm adjust: weights of the whole past"},
};

typedef struct ewma {
    double alpha;
    double span; /* 0 when given as alpha: names the output */
} ewma;

typedef struct window_state {
    char *columns, *entity;
    size_t lags[MAX_ITEMS], n_lags;
    size_t diffs[MAX_ITEMS], n_diffs;
    size_t windows[MAX_ITEMS], n_windows;
    enum stat stats[N_STATS];
    size_t n_stats;
    size_t min_periods; /* 0: each window's length */
    int deviation, adjust;
    ewma ewmas[2 * MAX_ITEMS];
    size_t n_ewmas;
    /* fitted */
    size_t n;          /* columns */
    int has_entity;    /* the entity is input n */
    size_t history;    /* values kept per column: the longest look back, >= 1 */
    size_t n_outputs;  /* per column */
} window_state;

/* Per-entity state, plain bytes (all 8-byte fields, native byte order;
 * state_save writes them little-endian):
 *   uint64 rows                       rows of this entity seen so far
 *   per column, in `columns` order:
 *     double ring[history]            the last values, row r at ring[r % history], NaN = missing
 *     per ewma: double weighted, double old_weight, uint64 observations
 *                                     pandas' ewm recurrence */
typedef struct ewma_cell {
    double weighted, old_weight;
    uint64_t observations;
} ewma_cell;

static size_t column_bytes(const window_state *s)
{
    return s->history * sizeof(double) + s->n_ewmas * sizeof(ewma_cell);
}

/* ---- parameters ---- */

static anoma_status parse_spans(const char *key, const char *text, size_t *out, size_t *n)
{
    *n = 0;
    for (const char *p = text; *p;) {
        char *end;
        long v = strtol(p, &end, 10);
        if (end == p || (*end && *end != ',') || v < 1 || v > MAX_SPAN)
            return an_error(ANOMA_ERR_PARAM_VALUE, "window: %s=%s: expected whole numbers from 1 "
                            "to %d, comma-separated", key, text, MAX_SPAN);
        if (*n == MAX_ITEMS)
            return an_error(ANOMA_ERR_PARAM_VALUE, "window: %s: at most %d values", key, MAX_ITEMS);
        out[(*n)++] = (size_t)v;
        p = *end ? end + 1 : end;
    }
    return ANOMA_OK;
}

static anoma_status parse_ewmas(window_state *s, const char *key, const char *text, int is_span)
{
    for (const char *p = text; *p;) {
        char *end;
        double v = an_strtod(p, &end);
        int ok = end != p && (!*end || *end == ',') &&
                 (is_span ? v >= 1 && v <= MAX_SPAN : v > 0 && v <= 1);
        if (!ok)
            return an_error(ANOMA_ERR_PARAM_VALUE, "window: %s=%s: expected %s, comma-separated",
                            key, text, is_span ? "spans >= 1" : "smoothing factors in (0, 1]");
        if (s->n_ewmas == 2 * MAX_ITEMS)
            return an_error(ANOMA_ERR_PARAM_VALUE, "window: at most %d ewma values", 2 * MAX_ITEMS);
        s->ewmas[s->n_ewmas++] = (ewma){is_span ? 2 / (v + 1) : v, is_span ? v : 0};
        p = *end ? end + 1 : end;
    }
    return ANOMA_OK;
}

static anoma_status parse_stats(window_state *s, const char *text)
{
    s->n_stats = 0;
    for (const char *p = text; *p;) {
        size_t len = strcspn(p, ",");
        int found = -1;
        for (int k = 0; k < N_STATS; k++)
            if (strlen(stat_names[k]) == len && !strncmp(stat_names[k], p, len))
                found = k;
        for (size_t k = 0; found >= 0 && k < s->n_stats; k++)
            if (s->stats[k] == (enum stat)found)
                found = -2;
        if (found < 0)
            return an_error(ANOMA_ERR_PARAM_VALUE, "window: stats=%s: '%.*s' is %s", text,
                            (int)len, p, found == -2 ? "listed twice"
                                                     : "not one of mean, std, min, max, median");
        s->stats[s->n_stats++] = (enum stat)found;
        p += len + (p[len] == ',');
    }
    return ANOMA_OK;
}

static void window_destroy(void *state)
{
    window_state *s = state;
    an_free(s->columns);
    an_free(s->entity);
    an_free(s);
}

static anoma_status check_params(window_state *s, const an_params *params)
{
    AN_TRY(parse_spans("lags", an_params_text(params, "lags"), s->lags, &s->n_lags));
    AN_TRY(parse_spans("diff", an_params_text(params, "diff"), s->diffs, &s->n_diffs));
    AN_TRY(parse_spans("rolling", an_params_text(params, "rolling"), s->windows, &s->n_windows));
    AN_TRY(parse_stats(s, an_params_text(params, "stats")));
    AN_TRY(parse_ewmas(s, "ewma_alpha", an_params_text(params, "ewma_alpha"), 0));
    AN_TRY(parse_ewmas(s, "ewma_span", an_params_text(params, "ewma_span"), 1));
    s->min_periods = (size_t)an_params_int(params, "min_periods");
    s->deviation = an_params_bool(params, "deviation");
    s->adjust = an_params_bool(params, "adjust");
    for (size_t k = 0; k < s->n_windows; k++)
        if (s->min_periods > s->windows[k])
            return an_error(ANOMA_ERR_PARAM_VALUE, "window: min_periods=%zu is longer than the "
                            "rolling window %zu (pandas refuses it too)", s->min_periods,
                            s->windows[k]);
    if (s->n_windows && !s->n_stats && !s->deviation)
        return an_error(ANOMA_ERR_PARAM_VALUE, "window: rolling= needs stats= or deviation=true");
    if (!s->n_lags && !s->n_diffs && !s->n_windows && !s->n_ewmas)
        return an_error(ANOMA_ERR_PARAM_VALUE, "window: nothing to compute: give lags=, diff=, "
                        "rolling=, ewma_alpha= or ewma_span=");
    return ANOMA_OK;
}

static anoma_status window_create(const an_params *params, void **state)
{
    window_state *s = AN_NEW_ZEROED(window_state, 1);
    if (!s)
        return an_no_memory();
    anoma_status st = check_params(s, params);
    if (st == ANOMA_OK) {
        s->columns = an_strdup(an_params_text(params, "columns"));
        s->entity = an_unquote(an_params_text(params, "entity"));
        if (!s->columns || !s->entity)
            st = an_no_memory();
    }
    if (st != ANOMA_OK) {
        window_destroy(s);
        return st;
    }
    *state = s;
    return ANOMA_OK;
}

/* ---- fit: columns, history, output names ---- */

/* The longest look back any feature needs (a rolling window of w looks
 * back w - 1 rows; its deviation w rows), at least 1. */
static size_t history_of(const window_state *s)
{
    size_t h = 1;
    for (size_t k = 0; k < s->n_lags; k++)
        h = s->lags[k] > h ? s->lags[k] : h;
    for (size_t k = 0; k < s->n_diffs; k++)
        h = s->diffs[k] > h ? s->diffs[k] : h;
    for (size_t k = 0; k < s->n_windows; k++) {
        size_t w = s->deviation ? s->windows[k] : s->windows[k] - 1;
        h = w > h ? w : h;
    }
    return h;
}

static anoma_status declare_outputs(const window_state *s, const char *col, an_step_io *io)
{
    for (size_t k = 0; k < s->n_lags; k++)
        AN_TRY(an_step_io_add_output(io, AN_CELL_NUMBER, "%s_lag_%zu", col, s->lags[k]));
    for (size_t k = 0; k < s->n_diffs; k++)
        AN_TRY(an_step_io_add_output(io, AN_CELL_NUMBER, "%s_diff_%zu", col, s->diffs[k]));
    for (size_t k = 0; k < s->n_windows; k++) {
        for (size_t t = 0; t < s->n_stats; t++)
            AN_TRY(an_step_io_add_output(io, AN_CELL_NUMBER, "%s_rolling_%s_%zu", col,
                                         stat_names[s->stats[t]], s->windows[k]));
        if (s->deviation)
            AN_TRY(an_step_io_add_output(io, AN_CELL_NUMBER, "%s_deviation_%zu", col,
                                         s->windows[k]));
    }
    for (size_t k = 0; k < s->n_ewmas; k++) {
        if (s->ewmas[k].span)
            AN_TRY(an_step_io_add_output(io, AN_CELL_NUMBER, "%s_ewma_span_%g", col,
                                         s->ewmas[k].span));
        else
            AN_TRY(an_step_io_add_output(io, AN_CELL_NUMBER, "%s_ewma_alpha_%g", col,
                                         s->ewmas[k].alpha));
    }
    return ANOMA_OK;
}

static size_t outputs_per_column(const window_state *s)
{
    return s->n_lags + s->n_diffs + s->n_windows * (s->n_stats + (size_t)s->deviation) +
           s->n_ewmas;
}

static anoma_status window_fit(void *state, const an_step_fit_data *data, an_step_io *io)
{
    window_state *s = state;
    const an_schema *schema = data->schema;
    long entity = -1;
    if (*s->entity) {
        for (size_t j = 0; j < schema->n; j++)
            if (!strcmp(schema->names[j], s->entity))
                entity = (long)j;
        if (entity < 0)
            return an_error(ANOMA_ERR_INVALID_ARGUMENT, "window: entity: no column '%s' at this "
                            "step", s->entity);
    }
    AN_TRY(an_step_resolve_columns("window", s->columns, schema, 1u << AN_CELL_NUMBER, 0, io));
    /* by default the entity is not one of the series */
    size_t kept = 0;
    for (size_t k = 0; k < io->n_inputs; k++)
        if (*s->columns || (long)io->inputs[k] != entity)
            io->inputs[kept++] = io->inputs[k];
    io->n_inputs = kept;
    for (size_t k = 0; k < io->n_inputs; k++) {
        if ((long)io->inputs[k] == entity)
            return an_error(ANOMA_ERR_INVALID_ARGUMENT, "window: '%s' is the entity and cannot "
                            "also be a series", s->entity);
        io->keep[k] = 1;
    }
    if (!io->n_inputs)
        return an_error(ANOMA_ERR_INVALID_ARGUMENT, "window: no number column to work on");
    s->n = io->n_inputs;
    s->has_entity = entity >= 0;
    if (s->has_entity)
        AN_TRY(an_step_io_add_input(io, (size_t)entity, 1));
    s->history = history_of(s);
    s->n_outputs = outputs_per_column(s);
    for (size_t k = 0; k < s->n; k++)
        AN_TRY(declare_outputs(s, schema->names[io->inputs[k]], io));
    return ANOMA_OK;
}

/* ---- the stateful transform ---- */

static size_t window_scratch(const void *state, size_t block_rows)
{
    (void)block_rows;
    const window_state *s = state;
    return (s->history + 1) * sizeof(double);
}

static size_t window_state_bytes(const void *state)
{
    const window_state *s = state;
    return sizeof(uint64_t) + s->n * column_bytes(s);
}

static void window_state_init(const void *state, void *entity_state)
{
    const window_state *s = state;
    unsigned char *b = entity_state;
    *(uint64_t *)b = 0;
    for (size_t c = 0; c < s->n; c++) {
        double *ring = (double *)(b + sizeof(uint64_t) + c * column_bytes(s));
        for (size_t k = 0; k < s->history; k++)
            ring[k] = NAN;
        ewma_cell *e = (ewma_cell *)(ring + s->history);
        for (size_t k = 0; k < s->n_ewmas; k++)
            e[k] = (ewma_cell){NAN, 1, 0};
    }
}

static size_t window_entity(const void *state)
{
    const window_state *s = state;
    return s->has_entity ? s->n : AN_STEP_NO_ENTITY;
}

/* The value `back` rows before the current one (1 <= back <= history), NaN
 * when the entity has no such row. */
static double past(const double *ring, size_t history, uint64_t rows, size_t back)
{
    return rows >= back ? ring[(rows - back) % history] : NAN;
}

/* Non-missing values among x (when include_current) and the `back` rows
 * before it, oldest first, into v; their count. */
static size_t gather(const double *ring, size_t history, uint64_t rows, double x, size_t first,
                     size_t last, double *v)
{
    size_t n = 0;
    for (size_t back = last; back >= first && back > 0; back--) {
        double p = past(ring, history, rows, back);
        if (!isnan(p))
            v[n++] = p;
    }
    if (first == 0 && !isnan(x))
        v[n++] = x;
    return n;
}

static double sample_std(const double *v, size_t n, double mean)
{
    if (n < 2)
        return NAN;
    double ss = 0;
    for (size_t i = 0; i < n; i++)
        ss += (v[i] - mean) * (v[i] - mean);
    return sqrt(ss / (double)(n - 1));
}

static double statistic(enum stat which, double *v, size_t n, double mean)
{
    double r = v[0];
    switch (which) {
    case STAT_MEAN:
        return mean;
    case STAT_STD:
        return sample_std(v, n, mean);
    case STAT_MIN:
        for (size_t i = 1; i < n; i++)
            r = v[i] < r ? v[i] : r;
        return r;
    case STAT_MAX:
        for (size_t i = 1; i < n; i++)
            r = v[i] > r ? v[i] : r;
        return r;
    case STAT_MEDIAN:
        an_sort_doubles(v, n); /* v is last used here: see the order of stats below */
        return an_median_sorted(v, n);
    case N_STATS:
        break;
    }
    return NAN;
}

/* pandas' ewm mean recurrence (ignore_na=False), one row. */
static double ewma_step(ewma_cell *e, double alpha, int adjust, double x)
{
    int observed = !isnan(x);
    e->observations += (uint64_t)observed;
    if (!isnan(e->weighted)) {
        e->old_weight *= 1 - alpha;
        if (observed) {
            double new_weight = adjust ? 1 : alpha;
            if (e->weighted != x) /* pandas: keeps a constant series exact */
                e->weighted = (e->old_weight * e->weighted + new_weight * x) /
                              (e->old_weight + new_weight);
            e->old_weight = adjust ? e->old_weight + new_weight : 1;
        }
    } else if (observed) {
        e->weighted = x;
    }
    return e->observations ? e->weighted : NAN;
}

static anoma_status window_transform_row(const void *state, void *entity_state,
                                         const an_cell *const *in, an_cell *const *out,
                                         void *scratch, an_step_fault *fault)
{
    (void)fault;
    const window_state *s = state;
    unsigned char *b = entity_state;
    uint64_t rows = *(const uint64_t *)b;
    double *v = scratch;
    size_t o = 0;
    for (size_t c = 0; c < s->n; c++) {
        double *ring = (double *)(b + sizeof(uint64_t) + c * column_bytes(s));
        ewma_cell *ew = (ewma_cell *)(ring + s->history);
        double x = in[c][0].num;
        for (size_t k = 0; k < s->n_lags; k++)
            out[o++][0].num = past(ring, s->history, rows, s->lags[k]);
        for (size_t k = 0; k < s->n_diffs; k++)
            out[o++][0].num = x - past(ring, s->history, rows, s->diffs[k]);
        for (size_t k = 0; k < s->n_windows; k++) {
            size_t w = s->windows[k], need = s->min_periods ? s->min_periods : w;
            size_t n = gather(ring, s->history, rows, x, 0, w - 1, v);
            double mean = n ? an_sum(v, n) / (double)n : NAN;
            int enough = n && n >= need;
            /* the median sorts v, so it comes after the others */
            for (size_t t = 0; t < s->n_stats; t++)
                if (s->stats[t] != STAT_MEDIAN)
                    out[o + t][0].num = enough ? statistic(s->stats[t], v, n, mean) : NAN;
            for (size_t t = 0; t < s->n_stats; t++)
                if (s->stats[t] == STAT_MEDIAN)
                    out[o + t][0].num = enough ? statistic(STAT_MEDIAN, v, n, mean) : NAN;
            o += s->n_stats;
            if (s->deviation) {
                /* the previous w values only: the entity's own baseline */
                size_t m = gather(ring, s->history, rows, x, 1, w, v);
                double base = m ? an_sum(v, m) / (double)m : NAN;
                double sd = m >= need ? sample_std(v, m, base) : NAN;
                out[o++][0].num = sd > 0 ? (x - base) / sd : NAN;
            }
        }
        for (size_t k = 0; k < s->n_ewmas; k++)
            out[o++][0].num = ewma_step(&ew[k], s->ewmas[k].alpha, s->adjust, x);
        ring[rows % s->history] = x;
    }
    *(uint64_t *)b = rows + 1;
    return ANOMA_OK;
}

/* ---- entity state to and from bytes ---- */

static anoma_status window_state_save(const void *state, const void *entity_state, an_writer *w)
{
    const window_state *s = state;
    const unsigned char *b = entity_state;
    an_put_u64(w, *(const uint64_t *)b);
    for (size_t c = 0; c < s->n; c++) {
        const double *ring = (const double *)(b + sizeof(uint64_t) + c * column_bytes(s));
        an_put_f64_array(w, ring, s->history);
        const ewma_cell *e = (const ewma_cell *)(ring + s->history);
        for (size_t k = 0; k < s->n_ewmas; k++) {
            an_put_f64(w, e[k].weighted);
            an_put_f64(w, e[k].old_weight);
            an_put_u64(w, e[k].observations);
        }
    }
    return an_writer_status(w);
}

static anoma_status window_state_load(const void *state, void *entity_state, an_reader *r)
{
    const window_state *s = state;
    unsigned char *b = entity_state;
    *(uint64_t *)b = an_get_u64(r);
    for (size_t c = 0; c < s->n; c++) {
        double *ring = (double *)(b + sizeof(uint64_t) + c * column_bytes(s));
        an_get_f64_array(r, ring, s->history);
        ewma_cell *e = (ewma_cell *)(ring + s->history);
        for (size_t k = 0; k < s->n_ewmas; k++) {
            e[k].weighted = an_get_f64(r);
            e[k].old_weight = an_get_f64(r);
            e[k].observations = an_get_u64(r);
        }
    }
    return an_reader_status(r);
}

/* ---- the fitted step in a model file ---- */

static anoma_status window_save(const void *state, an_writer *w)
{
    const window_state *s = state;
    an_put_u64(w, s->n);
    an_put_u8(w, (uint8_t)s->has_entity);
    return ANOMA_OK;
}

static anoma_status window_load(void *state, an_reader *r, uint32_t version,
                                const an_schema *schema, const an_step_io *io)
{
    window_state *s = state;
    if (version != 1)
        return an_error(ANOMA_ERR_VERSION, "window: payload version %u is not known", version);
    uint64_t n = an_get_u64(r);
    uint8_t has_entity = an_get_u8(r);
    AN_TRY(an_reader_status(r));
    s->history = history_of(s);
    s->n_outputs = outputs_per_column(s);
    if (has_entity > 1 || has_entity != (*s->entity != 0) || n == 0 ||
        n != io->n_inputs - has_entity || io->n_inputs < has_entity ||
        io->n_outputs != n * s->n_outputs)
        return an_error(ANOMA_ERR_FORMAT, "model file: window: the payload does not match the "
                        "step's columns");
    for (size_t k = 0; k < io->n_inputs; k++)
        if (!io->keep[k] || (k < n && schema->types[io->inputs[k]] != AN_CELL_NUMBER))
            return an_error(ANOMA_ERR_FORMAT, "model file: window: input %zu is not a kept "
                            "number column", k);
    for (size_t k = 0; k < io->n_outputs; k++)
        if (io->output_types[k] != AN_CELL_NUMBER)
            return an_error(ANOMA_ERR_FORMAT, "model file: window: output %zu is not a number", k);
    s->n = (size_t)n;
    s->has_entity = has_entity;
    return ANOMA_OK;
}

static size_t window_memory(const void *state)
{
    (void)state;
    return sizeof(window_state);
}

static void window_describe(const void *state, an_strbuf *out)
{
    const window_state *s = state;
    an_strbuf_printf(out, "    %zu columns, %zu features each, %s; %zu bytes of state per "
                     "entity\n", s->n, s->n_outputs,
                     s->has_entity ? "per entity" : "one series", window_state_bytes(s));
}

const an_step_vtable an_window_step = {
    .name = "window",
    .summary = "lags, differences, rolling statistics, EWMA and baseline deviation, per entity",
    .params = window_params,
    .n_params = sizeof window_params / sizeof *window_params,
    .flags = ANOMA_FLAG_STATEFUL,
    .payload_version = 1,
    .create = window_create,
    .destroy = window_destroy,
    .fit = window_fit,
    .scratch_bytes = window_scratch,
    .save = window_save,
    .load = window_load,
    .memory_bytes = window_memory,
    .describe = window_describe,
    .entity_bytes = window_state_bytes,
    .entity_align = sizeof(double),
    .entity_init = window_state_init,
    .entity_transform = window_transform_row,
    .entity_input = window_entity,
    .entity_save = window_state_save,
    .entity_restore = window_state_load,
};
