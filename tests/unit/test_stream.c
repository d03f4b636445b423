/* Streams (lib/stream): scores equal the batch scores of each entity's rows
 * in order, across interleaving and a save/restore; eviction; the alert
 * state machine on scripted sequences; hostile states; out of memory. */
#include "testing.h"
#include "model/model.h"

#include <stdlib.h>
#include <string.h>

enum { ENTITIES = 4, PER_ENTITY = 70, COLS = 2, TRAIN = 200 };

static double train[TRAIN * COLS];
static double series[ENTITIES][PER_ENTITY * COLS];
static const char *const keys[ENTITIES] = {"alice", "bob", "sensor 3", ""};

static void make_data(void)
{
    unsigned long long r = 12345;
    for (size_t i = 0; i < TRAIN * COLS; i++) {
        r = r * 6364136223846793005ull + 1442695040888963407ull;
        train[i] = (double)(r >> 40) / (double)(1ull << 24) * 10 + (double)(i % 7);
    }
    for (size_t e = 0; e < ENTITIES; e++)
        for (size_t i = 0; i < PER_ENTITY * COLS; i++) {
            r = r * 6364136223846793005ull + 1442695040888963407ull;
            double v = (double)(r >> 40) / (double)(1ull << 24) * 10 + (double)e;
            series[e][i] = i % 31 == 7 ? NAN : (i % 53 == 11 ? v * 8 : v);
        }
}

/* A window step (of these parameters) feeding an imputer, a scaler and two
 * detectors, fitted on `rows` rows of x. */
static anoma_status make_model_on(const double *x_rows, size_t rows, const char *window,
                                  anoma_model **out)
{
    anoma_model *m = NULL;
    anoma_matrix x = anoma_matrix_f64(x_rows, rows, COLS);
    anoma_status st = anoma_model_create("contamination=0.1", &m);
    if (st == ANOMA_OK)
        st = anoma_model_add_step(m, "window", window, NULL);
    if (st == ANOMA_OK)
        st = anoma_model_add_step(m, "imputer", NULL, NULL);
    if (st == ANOMA_OK)
        st = anoma_model_add_step(m, "standard_scaler", NULL, NULL);
    if (st == ANOMA_OK)
        st = anoma_model_add_detector(m, "iforest", "n_trees=30 seed=3", NULL);
    if (st == ANOMA_OK)
        st = anoma_model_add_detector(m, "zscore", NULL, NULL);
    if (st == ANOMA_OK)
        st = anoma_model_fit(m, &x, NULL, NULL);
    if (st != ANOMA_OK) {
        anoma_model_free(m);
        m = NULL;
    }
    *out = m;
    return st;
}

static const char window_params[] = "lags=1,2 diff=1 rolling=4 stats=mean,std,median "
                                    "deviation=true ewma_alpha=0.3";

static anoma_status make_model(anoma_model **out)
{
    return make_model_on(train, TRAIN, window_params, out);
}

/* The order rows are pushed in: entities interleaved unevenly. */
static void push_order(size_t *entity_of, size_t n)
{
    size_t next[ENTITIES] = {0};
    size_t k = 0;
    for (size_t step = 0; k < n; step++) {
        size_t e = (step * 3 + step / 5) % ENTITIES;
        if (next[e] < PER_ENTITY) {
            entity_of[k++] = e;
            next[e]++;
        }
    }
}

static int same_bits(double a, double b)
{
    return !memcmp(&a, &b, sizeof a);
}

/* Batch scores of each entity's rows in order, then the stream with the
 * entities interleaved, saved to bytes and restored into a new stream
 * halfway: the same bits. */
static void test_stream_equals_batch_per_entity(void)
{
    anoma_model *m = NULL;
    CHECK_OK(make_model(&m));
    if (!m)
        return;
    double batch[ENTITIES][PER_ENTITY], probability[ENTITIES][PER_ENTITY];
    for (size_t e = 0; e < ENTITIES; e++) {
        anoma_matrix x = anoma_matrix_f64(series[e], PER_ENTITY, COLS);
        CHECK_OK(anoma_model_score(m, &x, batch[e]));
        CHECK_OK(anoma_model_probability(m, &x, probability[e], NULL));
    }
    double threshold;
    CHECK_OK(anoma_model_threshold(m, &threshold));
    size_t order[ENTITIES * PER_ENTITY], next[ENTITIES] = {0};
    push_order(order, ENTITIES * PER_ENTITY);
    anoma_stream *s = NULL;
    CHECK_OK(anoma_stream_create(m, "alert_min=2", &s));
    size_t mismatches = 0;
    for (size_t k = 0; s && k < ENTITIES * PER_ENTITY; k++) {
        if (k == ENTITIES * PER_ENTITY / 2) { /* a restart */
            size_t size = 0;
            CHECK_OK(anoma_stream_save(s, NULL, 0, &size));
            unsigned char *bytes = malloc(size);
            CHECK_OK(anoma_stream_save(s, bytes, size, &size));
            anoma_stream_free(s);
            s = NULL;
            CHECK_OK(anoma_stream_create(m, "alert_min=2", &s));
            CHECK_OK(anoma_stream_restore(s, bytes, size));
            CHECK(anoma_stream_n_entities(s) == ENTITIES);
            free(bytes);
            anoma_stream_event ev;
            while (anoma_stream_next_event(s, &ev))
                ;
        }
        size_t e = order[k], i = next[e]++;
        double score, p;
        int flag;
        CHECK_OK(anoma_stream_push(s, keys[e], (double)k, series[e] + i * COLS, COLS, &score, &p,
                                   &flag));
        if (!same_bits(score, batch[e][i]) || flag != (batch[e][i] > threshold) ||
            !same_bits(p, probability[e][i]))
            mismatches++;
    }
    CHECK(mismatches == 0);
    CHECK(anoma_stream_entity_bytes(s) > 0);
    CHECK(anoma_stream_memory_bytes(s) > ENTITIES * anoma_stream_entity_bytes(s));
    anoma_stream_free(s);
    anoma_model_free(m);
}

/* Typed rows: a text entity, a timestamp and a number, through
 * time_features and window steps keyed by the entity column in batch; the
 * stream's key (the same column) gives the batch's scores. */
static void test_typed_rows_equal_batch(void)
{
    enum { N = 120 };
    static const char *users[N];
    static int64_t ts[N];
    static double amount[N];
    static const char *const who[3] = {"u1", "u2", "u3"};
    for (size_t i = 0; i < N; i++) {
        users[i] = who[(i * 7 + i / 4) % 3];
        ts[i] = 1700000000 + (int64_t)(i * 97 + (i % 5) * 3600);
        amount[i] = (double)((i * 37) % 101) + (i % 17 == 3 ? 500 : 0);
    }
    const test_column cols[] = {{"user", ANOMA_COL_STRING, users},
                                {"ts", ANOMA_COL_TIMESTAMP, ts},
                                {"amount", ANOMA_COL_DOUBLE, amount}};
    anoma_frame *f = NULL;
    CHECK_OK(TEST_FRAME_OF(N, cols, &f));
    anoma_model *m = NULL;
    CHECK_OK(anoma_model_create(NULL, &m));
    CHECK_OK(anoma_model_add_step(m, "time_features", "column=ts entity=user "
                                                      "features=hour,since_previous", NULL));
    CHECK_OK(anoma_model_add_step(m, "window", "entity=user columns=amount lags=1 rolling=3",
                                  NULL));
    CHECK_OK(anoma_model_add_step(m, "select", "drop=user", NULL));
    CHECK_OK(anoma_model_add_step(m, "imputer", NULL, NULL));
    CHECK_OK(anoma_model_add_detector(m, "zscore", NULL, NULL));
    CHECK_OK(anoma_model_fit_frame(m, f, NULL, NULL));
    double batch[N];
    CHECK_OK(anoma_model_score_frame(m, f, batch));
    size_t width = anoma_model_n_outputs(m);
    double *explained = malloc(N * width * sizeof *explained), *one = malloc(width * sizeof *one);
    CHECK_OK(anoma_model_feature_scores_frame(m, 0, f, explained));
    anoma_stream *s = NULL;
    CHECK_OK(anoma_stream_create(m, NULL, &s));
    CHECK_STATUS(anoma_stream_last_feature_scores(s, 0, one), ANOMA_ERR_INVALID_ARGUMENT);
    size_t mismatches = 0, explain_mismatches = 0;
    for (size_t i = 0; s && i < N; i++) {
        anoma_value row[3];
        row[0].text = users[i];
        row[1].timestamp = ts[i];
        row[2].number = amount[i];
        double score;
        CHECK_OK(anoma_stream_push_values(s, users[i], (double)ts[i], row, 3, &score, NULL, NULL));
        mismatches += !same_bits(score, batch[i]);
        CHECK_OK(anoma_stream_last_feature_scores(s, 0, one));
        explain_mismatches += memcmp(one, explained + i * width, width * sizeof *one) != 0;
    }
    CHECK(mismatches == 0);
    CHECK(explain_mismatches == 0);
    free(explained);
    free(one);
    CHECK(anoma_stream_n_entities(s) == 3);
    /* a matrix row for a model with text inputs is refused, naming the column */
    double numbers[3] = {0, 0, 0}, score;
    CHECK_STATUS(anoma_stream_push(s, "u1", 0, numbers, 3, &score, NULL, NULL),
                 ANOMA_ERR_INVALID_ARGUMENT);
    CHECK(strstr(anoma_last_error(), "user") != NULL);
    anoma_stream_free(s);
    anoma_model_free(m);
    anoma_frame_free(f);
}

/* A push that fails in a step after a stateful one leaves the entity as it
 * was: the window step has folded the row in when the encoder (unseen
 * categories are errors) refuses it, and the stream must undo that. The
 * next good push then scores as in a stream that never saw the bad row, bit
 * for bit; a new entity whose first push fails is not made. */
static void failed_push_leaves_state(const char *encoder, const char *params)
{
    enum { N = 12 };
    static const char *device[N];
    static double amount[N];
    for (size_t i = 0; i < N; i++) {
        device[i] = i % 2 ? "web" : "ios";
        amount[i] = (double)(i * 13 % 7);
    }
    const test_column cols[] = {{"device", ANOMA_COL_STRING, device},
                                {"amount", ANOMA_COL_DOUBLE, amount}};
    anoma_frame *f = NULL;
    CHECK_OK(TEST_FRAME_OF(N, cols, &f));
    anoma_model *m = NULL;
    CHECK_OK(anoma_model_create("threshold=1", &m));
    CHECK_OK(anoma_model_add_step(m, "window", "columns=amount lags=1,2 rolling=3", NULL));
    CHECK_OK(anoma_model_add_step(m, "imputer", NULL, NULL));
    CHECK_OK(anoma_model_add_step(m, encoder, params, NULL));
    CHECK_OK(anoma_model_add_detector(m, "zscore", NULL, NULL));
    CHECK_OK(anoma_model_fit_frame(m, f, NULL, NULL));
    anoma_stream *s = NULL, *clean = NULL;
    CHECK_OK(anoma_stream_create(m, NULL, &s));
    CHECK_OK(anoma_stream_create(m, NULL, &clean));
    double a, b;
    for (size_t i = 0; s && clean && i < 5; i++) {
        anoma_value row[2] = {{.text = device[i]}, {.number = amount[i]}};
        CHECK_OK(anoma_stream_push_values(s, "e", (double)i, row, 2, &a, NULL, NULL));
        CHECK_OK(anoma_stream_push_values(clean, "e", (double)i, row, 2, &b, NULL, NULL));
    }
    anoma_value bad[2] = {{.text = "tv"}, {.number = 1000}};
    CHECK_STATUS(anoma_stream_push_values(s, "e", 5, bad, 2, &a, NULL, NULL),
                 ANOMA_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(anoma_stream_push_values(s, "new", 5, bad, 2, &a, NULL, NULL),
                 ANOMA_ERR_INVALID_ARGUMENT);
    CHECK(anoma_stream_n_entities(s) == 1);
    anoma_value good[2] = {{.text = "web"}, {.number = 3}};
    CHECK_OK(anoma_stream_push_values(s, "e", 6, good, 2, &a, NULL, NULL));
    CHECK_OK(anoma_stream_push_values(clean, "e", 6, good, 2, &b, NULL, NULL));
    CHECK(same_bits(a, b));
    anoma_stream_free(s);
    anoma_stream_free(clean);
    anoma_model_free(m);
    anoma_frame_free(f);
}

/* Each step that refuses rows, after the stateful one. */
static void test_failed_push_leaves_state(void)
{
    failed_push_leaves_state("one_hot", "columns=device unseen=error");
    failed_push_leaves_state("ordinal", "columns=device handle_unknown=error");
}

/* Keys of every length find their own entity: short ones live in the
 * entity record, from 32 bytes on they are allocated; both survive the
 * record moves of eviction and a save and restore. Each entity's score
 * equals a one-entity stream's, bit for bit. */
static void test_keys_short_and_long(void)
{
    anoma_model *m = NULL;
    CHECK_OK(make_model(&m));
    if (!m)
        return;
    char key[5][256];
    size_t lengths[5] = {1, 31, 32, 100, 255};
    for (size_t e = 0; e < 5; e++) {
        memset(key[e], 'a' + (int)e, lengths[e]);
        key[e][lengths[e]] = '\0';
    }
    anoma_stream *s = NULL, *t = NULL;
    CHECK_OK(anoma_stream_create(m, "max_entities=4", &s));
    CHECK_OK(anoma_stream_create(m, "max_entities=4", &t));
    double got[5][6], want[5][6];
    for (size_t e = 0; e < 5; e++) { /* alone: the reference */
        anoma_stream *one = NULL;
        CHECK_OK(anoma_stream_create(m, NULL, &one));
        for (size_t i = 0; one && i < 6; i++)
            CHECK_OK(anoma_stream_push(one, key[e], (double)i, series[e % ENTITIES] + i * COLS, COLS,
                                       &want[e][i], NULL, NULL));
        anoma_stream_free(one);
    }
    /* entities 1..4 interleaved, 3 pushes each; saved and restored into t */
    for (size_t i = 0; s && i < 3; i++)
        for (size_t e = 1; e < 5; e++)
            CHECK_OK(anoma_stream_push(s, key[e], (double)i, series[e % ENTITIES] + i * COLS, COLS,
                                       &got[e][i], NULL, NULL));
    size_t size = 0;
    CHECK_OK(anoma_stream_save(s, NULL, 0, &size));
    unsigned char *bytes = malloc(size);
    CHECK_OK(anoma_stream_save(s, bytes, size, &size));
    CHECK_OK(anoma_stream_restore(t, bytes, size));
    CHECK(anoma_stream_n_entities(t) == 4);
    for (size_t i = 3; t && i < 6; i++)
        for (size_t e = 1; e < 5; e++)
            CHECK_OK(anoma_stream_push(t, key[e], (double)i, series[e % ENTITIES] + i * COLS, COLS,
                                       &got[e][i], NULL, NULL));
    size_t differ = 0;
    for (size_t e = 1; e < 5; e++)
        for (size_t i = 0; i < 6; i++)
            differ += !same_bits(got[e][i], want[e][i]);
    CHECK(differ == 0);
    /* a fifth entity evicts the least recently pushed (key[1]); the last
     * record moves into its place and keeps being found */
    CHECK_OK(anoma_stream_push(t, key[0], 0, series[0], COLS, &got[0][0], NULL, NULL));
    CHECK(anoma_stream_n_entities(t) == 4 && same_bits(got[0][0], want[0][0]));
    CHECK_OK(anoma_stream_push(t, key[4], 6, series[0] + 6 * COLS, COLS, &got[4][0], NULL,
                               NULL));
    anoma_stream *u = NULL; /* key[4] continues its history: 7 pushes */
    CHECK_OK(anoma_stream_create(m, NULL, &u));
    double again = 0;
    for (size_t i = 0; u && i < 7; i++)
        CHECK_OK(anoma_stream_push(u, key[4], (double)i, series[0] + i * COLS, COLS, &again,
                                   NULL, NULL));
    CHECK(same_bits(got[4][0], again));
    CHECK(anoma_stream_n_entities(t) == 4);
    free(bytes);
    anoma_stream_free(s);
    anoma_stream_free(t);
    anoma_stream_free(u);
    anoma_model_free(m);
}

/* The score of `row` pushed for entity `key` into a stream fed `before`
 * rows of that entity first (a fresh stream per call). */
static double score_after(const anoma_model *m, const double *rows, size_t before,
                          const double *row)
{
    anoma_stream *s = NULL;
    double score = NAN;
    if (anoma_stream_create(m, NULL, &s) != ANOMA_OK)
        return NAN;
    for (size_t i = 0; i < before; i++)
        anoma_stream_push(s, "x", 0, rows + i * COLS, COLS, &score, NULL, NULL);
    anoma_stream_push(s, "x", 0, row, COLS, &score, NULL, NULL);
    anoma_stream_free(s);
    return score;
}

/* max_entities=2, evict=lru: the least recently pushed entity goes and
 * comes back with an empty history; evict=idle drops entities idle too
 * long. */
static void test_eviction(void)
{
    anoma_model *m = NULL;
    CHECK_OK(make_model(&m));
    if (!m)
        return;
    const double *a = series[0], *b = series[1], *c = series[2];
    anoma_stream *s = NULL;
    CHECK_OK(anoma_stream_create(m, "max_entities=2", &s));
    double score;
    CHECK_OK(anoma_stream_push(s, "a", 1, a, COLS, &score, NULL, NULL));
    CHECK_OK(anoma_stream_push(s, "b", 2, b, COLS, &score, NULL, NULL));
    CHECK_OK(anoma_stream_push(s, "a", 3, a + COLS, COLS, &score, NULL, NULL));
    CHECK_OK(anoma_stream_push(s, "c", 4, c, COLS, &score, NULL, NULL)); /* b goes */
    CHECK(anoma_stream_n_entities(s) == 2);
    /* a kept its two rows; b starts again */
    CHECK_OK(anoma_stream_push(s, "a", 5, a + 2 * COLS, COLS, &score, NULL, NULL));
    CHECK(same_bits(score, score_after(m, a, 2, a + 2 * COLS)));
    CHECK_OK(anoma_stream_push(s, "b", 6, b + COLS, COLS, &score, NULL, NULL)); /* c goes */
    CHECK(same_bits(score, score_after(m, b, 0, b + COLS)));
    CHECK(!same_bits(score, score_after(m, b, 1, b + COLS)));
    CHECK_OK(anoma_stream_push(s, "c", 7, c + COLS, COLS, &score, NULL, NULL)); /* a goes */
    CHECK(same_bits(score, score_after(m, c, 0, c + COLS)));
    CHECK(anoma_stream_n_entities(s) == 2);
    anoma_stream_free(s);

    CHECK_OK(anoma_stream_create(m, "evict=idle idle_seconds=10", &s));
    CHECK_OK(anoma_stream_push(s, "a", 0, a, COLS, &score, NULL, NULL));
    CHECK_OK(anoma_stream_push(s, "b", 15, b, COLS, &score, NULL, NULL)); /* a: 15 s idle, goes */
    CHECK(anoma_stream_n_entities(s) == 1);
    CHECK_OK(anoma_stream_push(s, "c", 20, c, COLS, &score, NULL, NULL)); /* b: 5 s, stays */
    CHECK(anoma_stream_n_entities(s) == 2);
    CHECK_OK(anoma_stream_push(s, "c", 30, c + COLS, COLS, &score, NULL, NULL)); /* b: exactly 15 */
    CHECK(anoma_stream_n_entities(s) == 1);
    CHECK_OK(anoma_stream_push(s, "a", 31, a + COLS, COLS, &score, NULL, NULL));
    CHECK(same_bits(score, score_after(m, a, 0, a + COLS)));
    anoma_stream_free(s);

    CHECK_STATUS(anoma_stream_create(m, "evict=oldest", &s), ANOMA_ERR_PARAM_VALUE);
    CHECK_STATUS(anoma_stream_create(m, "max_entities=0", &s), ANOMA_ERR_PARAM_VALUE);
    CHECK_STATUS(anoma_stream_create(m, "alert_min=4 alert_window=3", &s), ANOMA_ERR_PARAM_VALUE);
    CHECK_STATUS(anoma_stream_create(m, "alert_quiet=0", &s), ANOMA_ERR_PARAM_VALUE);
    CHECK_STATUS(anoma_stream_create(m, "speed=3", &s), ANOMA_ERR_UNKNOWN_PARAM);
    anoma_model_free(m);
}

/* A zscore model of one column with mean 0 and standard deviation 1 and a
 * fixed threshold 0.5: a pushed value v scores |v|, anomalous when > 0.5. */
static anoma_model *unit_model(void)
{
    static double x[8] = {-1, 1, -1, 1, -1, 1, -1, 1};
    anoma_matrix view = anoma_matrix_f64(x, 8, 1);
    anoma_model *m = NULL;
    CHECK_OK(anoma_model_create("threshold=0.5", &m));
    CHECK_OK(anoma_model_add_detector(m, "zscore", NULL, NULL));
    CHECK_OK(anoma_model_fit(m, &view, NULL, NULL));
    return m;
}

typedef struct expected_event {
    anoma_alert_kind kind;
    double start, end, peak_time, peak;
    uint64_t n;
    int evicted;
} expected_event;

/* Push values at times 1, 2, ... and compare the events, in order. */
static void check_script(const anoma_model *m, const char *options, const double *values,
                         size_t n, const expected_event *want, size_t n_want)
{
    anoma_stream *s = NULL;
    CHECK_OK(anoma_stream_create(m, options, &s));
    if (!s)
        return;
    anoma_stream_event got[32];
    size_t n_got = 0;
    for (size_t i = 0; i < n; i++) {
        double score;
        CHECK_OK(anoma_stream_push(s, "e", (double)(i + 1), &values[i], 1, &score, NULL, NULL));
        while (n_got < 32 && anoma_stream_next_event(s, &got[n_got]))
            n_got++;
    }
    if (n_got != n_want)
        test_fail(__FILE__, __LINE__, "%s: %zu events, expected %zu", options, n_got, n_want);
    for (size_t k = 0; k < n_got && k < n_want; k++) {
        const anoma_stream_event *g = &got[k];
        const expected_event *w = &want[k];
        if (g->kind != w->kind || g->start_time != w->start || g->end_time != w->end ||
            g->peak_time != w->peak_time || g->peak_score != w->peak ||
            g->n_anomalous != w->n || g->evicted != w->evicted || strcmp(g->entity, "e") ||
            g->n_top != 1 || g->top_feature[0] != 0 || g->top_value[0] != w->peak)
            test_fail(__FILE__, __LINE__, "%s: event %zu: kind %d start %g end %g peak %g at "
                      "%g n %llu", options, k, g->kind, g->start_time, g->end_time,
                      g->peak_score, g->peak_time, (unsigned long long)g->n_anomalous);
    }
    anoma_stream_free(s);
}

static void test_alerts_scripted(void)
{
    anoma_model *m = unit_model();
    if (!m)
        return;
    /* 3 consecutive (the default), quiet after 3 normal */
    const double a[] = {0, 2, 2, 0, 2, 3, 5, 0, 4, 0, 0, 0, 2};
    const expected_event wa[] = {
        {ANOMA_ALERT_OPEN, 5, 7, 7, 5, 1, 0},
        {ANOMA_ALERT_CLOSE, 5, 9, 7, 5, 2, 0},
    };
    check_script(m, "", a, sizeof a / sizeof *a, wa, 2);
    /* 2 of the last 3, quiet after 2; the count starts afresh after a close */
    const double b[] = {0, 2, 0, 3, 6, 0, 0, 2, 0, 2, 0, 0};
    const expected_event wb[] = {
        {ANOMA_ALERT_OPEN, 4, 4, 4, 3, 1, 0},
        {ANOMA_ALERT_CLOSE, 4, 5, 5, 6, 2, 0},
        {ANOMA_ALERT_OPEN, 10, 10, 10, 2, 1, 0},
        {ANOMA_ALERT_CLOSE, 10, 10, 10, 2, 1, 0},
    };
    check_script(m, "alert_min=2 alert_window=3 alert_quiet=2", b, sizeof b / sizeof *b, wb, 4);
    /* one point opens; closes 3 seconds after the last anomalous one */
    const double c[] = {7, 0, 9, 0, 0, 0, 0};
    const expected_event wc[] = {
        {ANOMA_ALERT_OPEN, 1, 1, 1, 7, 1, 0},
        {ANOMA_ALERT_CLOSE, 1, 3, 3, 9, 2, 0},
    };
    check_script(m, "alert_min=1 alert_quiet=0 alert_quiet_seconds=3", c, sizeof c / sizeof *c,
                 wc, 2);

    /* an open alert closes when its entity is evicted */
    anoma_stream *s = NULL;
    CHECK_OK(anoma_stream_create(m, "alert_min=1 max_entities=1", &s));
    double v = 4, score;
    CHECK_OK(anoma_stream_push(s, "e", 1, &v, 1, &score, NULL, NULL));
    CHECK_OK(anoma_stream_push(s, "f", 2, &v, 1, &score, NULL, NULL));
    anoma_stream_event ev;
    CHECK(anoma_stream_next_event(s, &ev) && ev.kind == ANOMA_ALERT_OPEN && !strcmp(ev.entity, "e"));
    CHECK(anoma_stream_next_event(s, &ev) && ev.kind == ANOMA_ALERT_CLOSE && ev.evicted &&
          !strcmp(ev.entity, "e") && ev.end_time == 1);
    CHECK(anoma_stream_next_event(s, &ev) && ev.kind == ANOMA_ALERT_OPEN && !strcmp(ev.entity, "f"));
    CHECK(!anoma_stream_next_event(s, &ev));
    anoma_stream_free(s);

    /* a full queue drops the oldest and the next event counts it */
    CHECK_OK(anoma_stream_create(m, "alert_min=1 alert_quiet=1 max_events=2", &s));
    const double d[] = {4, 0, 4, 0, 4}; /* open, close, open, close, open */
    for (size_t i = 0; i < 5; i++)
        CHECK_OK(anoma_stream_push(s, "e", (double)i, &d[i], 1, &score, NULL, NULL));
    CHECK(anoma_stream_next_event(s, &ev) && ev.kind == ANOMA_ALERT_CLOSE && ev.dropped == 3);
    CHECK(anoma_stream_next_event(s, &ev) && ev.kind == ANOMA_ALERT_OPEN && ev.dropped == 0);
    CHECK(!anoma_stream_next_event(s, &ev));
    anoma_stream_free(s);
    anoma_model_free(m);
}

static int callback_calls;
static void count_event(void *user, const anoma_stream_event *ev)
{
    (void)ev;
    *(int *)user += 1;
}

static void test_alert_callback(void)
{
    anoma_model *m = unit_model();
    anoma_stream *s = NULL;
    CHECK_OK(anoma_stream_create(m, "alert_min=1 alert_quiet=1", &s));
    anoma_stream_set_callback(s, count_event, &callback_calls);
    double v[] = {4, 0}, score;
    for (size_t i = 0; i < 2; i++)
        CHECK_OK(anoma_stream_push(s, "e", (double)i, &v[i], 1, &score, NULL, NULL));
    anoma_stream_event ev;
    CHECK(callback_calls == 2 && !anoma_stream_next_event(s, &ev));
    anoma_stream_free(s);
    anoma_model_free(m);
}

/* States are refused whole: another model's, truncated, any byte changed,
 * too many entities; the stream keeps going as it was. */
static void test_bad_states_refused(void)
{
    anoma_model *m = NULL, *other = unit_model();
    CHECK_OK(make_model(&m));
    if (!m || !other)
        return;
    anoma_stream *s = NULL, *t = NULL, *o = NULL;
    CHECK_OK(anoma_stream_create(m, NULL, &s));
    CHECK_OK(anoma_stream_create(m, NULL, &t));
    CHECK_OK(anoma_stream_create(other, NULL, &o));
    double score;
    for (size_t e = 0; e < ENTITIES; e++)
        for (size_t i = 0; i < 5; i++)
            CHECK_OK(anoma_stream_push(s, keys[e], (double)i, series[e] + i * COLS, COLS, &score, NULL,
                                       NULL));
    size_t size = 0;
    CHECK_OK(anoma_stream_save(s, NULL, 0, &size));
    unsigned char *bytes = malloc(size), small[8];
    CHECK_STATUS(anoma_stream_save(s, small, sizeof small, &size), ANOMA_ERR_BUFFER_TOO_SMALL);
    CHECK_OK(anoma_stream_save(s, bytes, size, &size));

    CHECK_STATUS(anoma_stream_restore(o, bytes, size), ANOMA_ERR_INVALID_ARGUMENT);
    CHECK(strstr(anoma_last_error(), "another model") != NULL);
    CHECK(anoma_stream_n_entities(o) == 0);
    for (size_t cut = 0; cut < size; cut++)
        if (anoma_stream_restore(t, bytes, cut) != ANOMA_ERR_FORMAT)
            test_fail(__FILE__, __LINE__, "cut at %zu of %zu not refused as FORMAT", cut, size);
    size_t accepted = 0;
    for (size_t at = 0; at < size; at++) {
        for (int bit = 0; bit < 8; bit += 3) {
            bytes[at] ^= (unsigned char)(1u << bit);
            accepted += anoma_stream_restore(t, bytes, size) == ANOMA_OK;
            bytes[at] ^= (unsigned char)(1u << bit);
        }
    }
    CHECK(accepted == 0);
    CHECK(anoma_stream_n_entities(t) == 0);
    anoma_stream *few = NULL;
    CHECK_OK(anoma_stream_create(m, "max_entities=3", &few));
    CHECK_STATUS(anoma_stream_restore(few, bytes, size), ANOMA_ERR_INVALID_ARGUMENT);
    CHECK(strstr(anoma_last_error(), "max_entities") != NULL);
    CHECK_OK(anoma_stream_restore(t, bytes, size));
    CHECK(anoma_stream_n_entities(t) == ENTITIES);
    /* both continue alike */
    double a, b;
    CHECK_OK(anoma_stream_push(s, keys[1], 9, series[1] + 5 * COLS, COLS, &a, NULL, NULL));
    CHECK_OK(anoma_stream_push(t, keys[1], 9, series[1] + 5 * COLS, COLS, &b, NULL, NULL));
    CHECK(same_bits(a, b));

    /* bad pushes change nothing */
    char long_key[ANOMA_STREAM_MAX_KEY + 2];
    memset(long_key, 'k', sizeof long_key - 1);
    long_key[sizeof long_key - 1] = '\0';
    double inf_row[COLS] = {1, INFINITY};
    size_t before = anoma_stream_n_entities(s);
    CHECK_STATUS(anoma_stream_push(s, long_key, 0, series[0], COLS, &a, NULL, NULL),
                 ANOMA_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(anoma_stream_push(s, "new", NAN, series[0], COLS, &a, NULL, NULL), ANOMA_ERR_NONFINITE);
    CHECK_STATUS(anoma_stream_push(s, keys[2], 0, inf_row, COLS, &a, NULL, NULL), ANOMA_ERR_NONFINITE);
    CHECK_STATUS(anoma_stream_push(s, keys[2], 0, series[0], 1, &a, NULL, NULL), ANOMA_ERR_SHAPE);
    CHECK(anoma_stream_n_entities(s) == before);
    CHECK_OK(anoma_stream_push(s, keys[2], 9, series[2] + 5 * COLS, COLS, &a, NULL, NULL));
    CHECK_OK(anoma_stream_push(t, keys[2], 9, series[2] + 5 * COLS, COLS, &b, NULL, NULL));
    CHECK(same_bits(a, b));
    free(bytes);
    anoma_stream_free(few);
    anoma_stream_free(s);
    anoma_stream_free(t);
    anoma_stream_free(o);
    anoma_model_free(m);
    anoma_model_free(other);
}

/* The state of s as malloc'd bytes. */
static unsigned char *saved_state(const anoma_stream *s, size_t *size)
{
    *size = 0;
    CHECK_OK(anoma_stream_save(s, NULL, 0, size));
    unsigned char *bytes = malloc(*size + 1);
    CHECK_OK(anoma_stream_save(s, bytes, *size, size));
    return bytes;
}

/* A model retrained on other rows (another scaler, forest, threshold) with
 * the same schema and window step has the same fingerprint and takes the
 * old model's state: the entities then score on it exactly as its batch
 * scores of their whole rows, as if it had seen them from the start. */
static void test_retrained_model_continues_states(void)
{
    static double retrain[TRAIN * COLS];
    for (size_t i = 0; i < TRAIN * COLS; i++)
        retrain[i] = train[(i * 7) % (TRAIN * COLS)] * 1.5 + 2;
    anoma_model *m = NULL, *r = NULL;
    CHECK_OK(make_model(&m));
    CHECK_OK(make_model_on(retrain, TRAIN, window_params, &r));
    if (!m || !r)
        goto done;
    uint64_t fm = 0, fr = 1;
    CHECK_OK(anoma_stream_fingerprint(m, &fm));
    CHECK_OK(anoma_stream_fingerprint(r, &fr));
    CHECK(fm == fr);
    double batch[ENTITIES][PER_ENTITY], old_first;
    for (size_t e = 0; e < ENTITIES; e++) {
        anoma_matrix x = anoma_matrix_f64(series[e], PER_ENTITY, COLS);
        CHECK_OK(anoma_model_score(r, &x, batch[e]));
    }
    anoma_matrix one = anoma_matrix_f64(series[0], 1, COLS);
    CHECK_OK(anoma_model_score(m, &one, &old_first));
    CHECK(!same_bits(old_first, batch[0][0])); /* r is another model indeed */
    size_t order[ENTITIES * PER_ENTITY], next[ENTITIES] = {0}, half = ENTITIES * PER_ENTITY / 2;
    push_order(order, ENTITIES * PER_ENTITY);
    anoma_stream *s = NULL, *t = NULL;
    CHECK_OK(anoma_stream_create(m, NULL, &s));
    CHECK_OK(anoma_stream_create(r, NULL, &t));
    double score;
    for (size_t k = 0; s && k < half; k++) {
        size_t e = order[k], i = next[e]++;
        CHECK_OK(anoma_stream_push(s, keys[e], (double)k, series[e] + i * COLS, COLS, &score,
                                   NULL, NULL));
    }
    size_t size;
    unsigned char *bytes = saved_state(s, &size);
    CHECK_OK(anoma_stream_restore(t, bytes, size));
    CHECK(anoma_stream_n_entities(t) == ENTITIES);
    size_t mismatches = 0;
    for (size_t k = half; t && k < ENTITIES * PER_ENTITY; k++) {
        size_t e = order[k], i = next[e]++;
        CHECK_OK(anoma_stream_push(t, keys[e], (double)k, series[e] + i * COLS, COLS, &score,
                                   NULL, NULL));
        mismatches += !same_bits(score, batch[e][i]);
    }
    CHECK(mismatches == 0);
    free(bytes);
    anoma_stream_free(s);
    anoma_stream_free(t);
done:
    anoma_model_free(m);
    anoma_model_free(r);
}

/* A window step with a scaler before it, fitted on train (fit twice) or on x. */
static anoma_model *scaled_window_model(const double *x)
{
    anoma_matrix view = anoma_matrix_f64(x, TRAIN, COLS);
    anoma_model *m = NULL;
    CHECK_OK(anoma_model_create("contamination=0.1", &m));
    CHECK_OK(anoma_model_add_step(m, "standard_scaler", NULL, NULL));
    CHECK_OK(anoma_model_add_step(m, "window", "lags=1", NULL));
    CHECK_OK(anoma_model_add_step(m, "imputer", NULL, NULL));
    CHECK_OK(anoma_model_add_detector(m, "zscore", NULL, NULL));
    CHECK_OK(anoma_model_fit(m, &view, NULL, NULL));
    return m;
}

static uint64_t fingerprint_of(const anoma_model *m)
{
    uint64_t f = 0;
    CHECK_OK(anoma_stream_fingerprint(m, &f));
    return f;
}

/* What the blocks mean changed: other window parameters, a retrained step
 * before the window (a lag of a scaled value), other input names. Such a
 * state is refused and the stream left as it was. */
static void test_other_meaning_refused(void)
{
    static double other[TRAIN * COLS];
    for (size_t i = 0; i < TRAIN * COLS; i++)
        other[i] = train[i] * 3 - 1;
    anoma_model *m = NULL, *lags = NULL;
    CHECK_OK(make_model(&m));
    CHECK_OK(make_model_on(train, TRAIN, "lags=1,3 diff=1 rolling=4 stats=mean,std,median "
                                         "deviation=true ewma_alpha=0.3", &lags));
    anoma_model *a = scaled_window_model(train), *b = scaled_window_model(train),
                *c = scaled_window_model(other);
    if (!m || !lags || !a || !b || !c)
        goto done;
    CHECK(fingerprint_of(m) != fingerprint_of(lags));
    CHECK(fingerprint_of(a) == fingerprint_of(b));
    CHECK(fingerprint_of(a) != fingerprint_of(c));
    uint64_t before = fingerprint_of(a);
    const char *names[COLS] = {"speed", "load"};
    CHECK_OK(anoma_model_set_feature_names(a, names, COLS));
    CHECK(fingerprint_of(a) != before);

    anoma_stream *s = NULL, *t = NULL;
    CHECK_OK(anoma_stream_create(m, NULL, &s));
    CHECK_OK(anoma_stream_create(lags, NULL, &t));
    double score;
    CHECK_OK(anoma_stream_push(s, "e", 0, series[0], COLS, &score, NULL, NULL));
    CHECK_OK(anoma_stream_push(t, "mine", 0, series[1], COLS, &score, NULL, NULL));
    size_t size;
    unsigned char *bytes = saved_state(s, &size);
    CHECK_STATUS(anoma_stream_restore(t, bytes, size), ANOMA_ERR_INVALID_ARGUMENT);
    CHECK(strstr(anoma_last_error(), "another model") != NULL);
    CHECK(anoma_stream_n_entities(t) == 1);
    free(bytes);
    anoma_stream_free(s);
    anoma_stream_free(t);
    CHECK_STATUS(anoma_stream_fingerprint(NULL, &before), ANOMA_ERR_INVALID_ARGUMENT);
    anoma_model *unfitted = NULL;
    CHECK_OK(anoma_model_create(NULL, &unfitted));
    CHECK_STATUS(anoma_stream_fingerprint(unfitted, &before), ANOMA_ERR_NOT_FITTED);
    anoma_model_free(unfitted);
done:
    anoma_model_free(m);
    anoma_model_free(lags);
    anoma_model_free(a);
    anoma_model_free(b);
    anoma_model_free(c);
}

/* tests/data/stream-1.0.state, format 1.0 (tests/data/README.md): it still
 * restores into the model that saved it and continues its entities (a
 * stream that saw "a" push 1, 2, 3 scores 4 as batch scoring 1, 2, 3, 4
 * does); a model retrained on the same schema does not take it. */
static void test_format_1_0_state(void)
{
    const char *dir = getenv("ANOMA_TEST_DATA");
    char model_path[1024], state_path[1024];
    snprintf(model_path, sizeof model_path, "%s/stream-1.0.anoma", dir ? dir : "tests/data");
    snprintf(state_path, sizeof state_path, "%s/stream-1.0.state", dir ? dir : "tests/data");
    anoma_model *m = NULL;
    if (anoma_model_load(model_path, &m) != ANOMA_OK) {
        test_skip("tests/data not found (set ANOMA_TEST_DATA)");
        return;
    }
    anoma_stream *s = NULL;
    CHECK_OK(anoma_stream_create(m, NULL, &s));
    CHECK_OK(anoma_stream_restore_file(s, state_path));
    CHECK(anoma_stream_n_entities(s) == 2);
    const double a[4] = {1, 2, 3, 4};
    double batch[4], score = NAN;
    anoma_matrix x = anoma_matrix_f64(a, 4, 1);
    CHECK_OK(anoma_model_score(m, &x, batch));
    CHECK_OK(anoma_stream_push(s, "a", 3, &a[3], 1, &score, NULL, NULL));
    CHECK(same_bits(score, batch[3]));

    /* the same steps fitted on other rows: one byte of the file differs */
    double rows[40];
    for (int i = 0; i < 40; i++)
        rows[i] = (double)((i * 5) % 13) - 4;
    anoma_matrix r = anoma_matrix_f64(rows, 40, 1);
    anoma_model *again = NULL;
    anoma_stream *t = NULL;
    CHECK_OK(anoma_model_create("threshold=2", &again));
    CHECK_OK(anoma_model_add_step(again, "window", "lags=1,2", NULL));
    CHECK_OK(anoma_model_add_step(again, "imputer", NULL, NULL));
    CHECK_OK(anoma_model_add_detector(again, "zscore", NULL, NULL));
    CHECK_OK(anoma_model_fit(again, &r, NULL, NULL));
    CHECK(fingerprint_of(again) == fingerprint_of(m));
    CHECK_OK(anoma_stream_create(again, NULL, &t));
    CHECK_STATUS(anoma_stream_restore_file(t, state_path), ANOMA_ERR_INVALID_ARGUMENT);
    CHECK(strstr(anoma_last_error(), "format 1.0") != NULL);
    /* its own state, saved today (format 2.0), moves */
    size_t size;
    unsigned char *bytes = saved_state(s, &size);
    CHECK(bytes[8] == 2 && bytes[9] == 0);
    CHECK_OK(anoma_stream_restore(t, bytes, size));
    free(bytes);
    anoma_stream_free(s);
    anoma_stream_free(t);
    anoma_model_free(m);
    anoma_model_free(again);
}

/* Save to a file and restore from it; a missing file is an I/O error. */
static void test_state_file(void)
{
    anoma_model *m = unit_model();
    anoma_stream *s = NULL, *t = NULL;
    CHECK_OK(anoma_stream_create(m, NULL, &s));
    CHECK_OK(anoma_stream_create(m, NULL, &t));
    double v = 3, score, p = 0;
    /* every training row scores 1, so 3 is above them all */
    CHECK_OK(anoma_stream_push(s, "e", 1, &v, 1, &score, &p, NULL));
    CHECK(p == 1);
    char path[] = "test_stream_state.bin";
    CHECK_OK(anoma_stream_save_file(s, path));
    CHECK_OK(anoma_stream_restore_file(t, path));
    CHECK(anoma_stream_n_entities(t) == 1);
    remove(path);
    CHECK_STATUS(anoma_stream_restore_file(t, path), ANOMA_ERR_IO);
    anoma_stream_free(s);
    anoma_stream_free(t);
    anoma_model_free(m);
}

/* The whole life with each allocation failing in turn. */
static anoma_status stream_life(void *ctx)
{
    const anoma_model *m = ctx;
    anoma_stream *s = NULL, *t = NULL;
    double score;
    unsigned char *bytes = NULL;
    size_t size = 0;
    anoma_status st = anoma_stream_create(m, "alert_min=1", &s);
    for (size_t e = 0; st == ANOMA_OK && e < ENTITIES; e++)
        for (size_t i = 0; st == ANOMA_OK && i < 3; i++)
            st = anoma_stream_push(s, keys[e], (double)i, series[e] + i * COLS, COLS, &score, NULL,
                                   NULL);
    if (st == ANOMA_OK)
        st = anoma_stream_save(s, NULL, 0, &size);
    if (st == ANOMA_OK && !(bytes = malloc(size)))
        st = ANOMA_ERR_INTERNAL;
    if (st == ANOMA_OK)
        st = anoma_stream_save(s, bytes, size, &size);
    if (st == ANOMA_OK)
        st = anoma_stream_create(m, NULL, &t);
    if (st == ANOMA_OK)
        st = anoma_stream_restore(t, bytes, size);
    free(bytes);
    anoma_stream_free(s);
    anoma_stream_free(t);
    return st;
}

/* Out of memory: a new entity, a save or a restore fails with
 * ANOMA_ERR_NO_MEMORY and the stream goes on; a known entity's push needs
 * no memory at all. */
static void test_out_of_memory(void)
{
    anoma_model *m = NULL;
    CHECK_OK(make_model(&m));
    if (!m)
        return;
    CHECK_ALLOC_FAILURES(stream_life, m);

    anoma_stream *s = NULL, *t = NULL;
    CHECK_OK(anoma_stream_create(m, NULL, &s));
    CHECK_OK(anoma_stream_create(m, NULL, &t));
    double a, b;
    for (size_t i = 0; i < 3; i++) {
        CHECK_OK(anoma_stream_push(s, keys[0], 0, series[0] + i * COLS, COLS, &a, NULL, NULL));
        CHECK_OK(anoma_stream_push(t, keys[0], 0, series[0] + i * COLS, COLS, &b, NULL, NULL));
    }
    size_t size = 0;
    CHECK_OK(anoma_stream_save(s, NULL, 0, &size));
    unsigned char *bytes = malloc(size);
    CHECK_OK(anoma_stream_save(s, bytes, size, &size));
    /* the first allocation after install(0) fails (later ones would not) */
    test_alloc_install(0);
    for (size_t i = 3; i < 20; i++)
        CHECK_OK(anoma_stream_push(s, keys[0], 0, series[0] + i * COLS, COLS, &a, NULL, NULL));
    CHECK(test_alloc_largest() == 0); /* no allocation was asked for */
    CHECK_STATUS(anoma_stream_push(s, keys[1], 0, series[1], COLS, &a, NULL, NULL), ANOMA_ERR_NO_MEMORY);
    test_alloc_install(0);
    size_t ignored;
    CHECK_STATUS(anoma_stream_save(s, NULL, 0, &ignored), ANOMA_ERR_NO_MEMORY);
    test_alloc_install(0);
    CHECK_STATUS(anoma_stream_restore(t, bytes, size), ANOMA_ERR_NO_MEMORY);
    test_alloc_restore();
    CHECK(anoma_stream_n_entities(s) == 1);
    for (size_t i = 3; i < 20; i++) /* t still holds its three rows */
        CHECK_OK(anoma_stream_push(t, keys[0], 0, series[0] + i * COLS, COLS, &b, NULL, NULL));
    CHECK(same_bits(a, b));
    CHECK_OK(anoma_stream_push(s, keys[1], 0, series[1], COLS, &a, NULL, NULL));
    CHECK(anoma_stream_n_entities(s) == 2);
    free(bytes);
    anoma_stream_free(s);
    anoma_stream_free(t);
    anoma_model_free(m);
}

/* A stateful detector, made for this test from zscore's table: the score
 * of x is |x - the mean of the entity's earlier values| (0 for its first). */
typedef struct running_mean {
    double sum;
    uint64_t n;
} running_mean;

static size_t rm_bytes(const void *state)
{
    (void)state;
    return sizeof(running_mean);
}

static size_t rm_wider_bytes(const void *state)
{
    (void)state;
    return sizeof(running_mean) + 8;
}

static void rm_init(const void *state, void *entity)
{
    (void)state;
    *(running_mean *)entity = (running_mean){0, 0};
}

static void rm_update(const void *state, void *entity, const double *row, void *scratch,
                      double *score)
{
    (void)state;
    (void)scratch;
    running_mean *r = entity;
    *score = r->n ? fabs(row[0] - r->sum / (double)r->n) : 0;
    r->sum += row[0];
    r->n++;
}

static anoma_status rm_save(const void *state, const void *entity, an_writer *w)
{
    (void)state;
    an_put_f64(w, ((const running_mean *)entity)->sum);
    an_put_u64(w, ((const running_mean *)entity)->n);
    return an_writer_status(w);
}

static anoma_status rm_restore(const void *state, void *entity, an_reader *r)
{
    (void)state;
    ((running_mean *)entity)->sum = an_get_f64(r);
    ((running_mean *)entity)->n = an_get_u64(r);
    return an_reader_status(r);
}

/* The stream runs a stateful detector through its table alone: per
 * entity, across a save and restore. */
static void test_stateful_detector(void)
{
    anoma_model *m = unit_model();
    if (!m)
        return;
    an_detector_vtable vt = *m->detectors[0].vt;
    const an_detector_vtable *zscore = m->detectors[0].vt;
    vt.flags |= ANOMA_FLAG_STATEFUL;
    vt.entity_bytes = rm_bytes;
    vt.entity_align = 8;
    vt.entity_init = rm_init;
    vt.entity_update_score = rm_update;
    vt.entity_save = rm_save;
    vt.entity_restore = rm_restore;
    m->detectors[0].vt = &vt;
    anoma_stream *s = NULL, *t = NULL;
    CHECK_OK(anoma_stream_create(m, NULL, &s));
    CHECK_OK(anoma_stream_create(m, NULL, &t));
    /* p: 1, 3, 8 -> 0, |3 - 1|, |8 - 2|; q: 10, 4 -> 0, |4 - 10| */
    const double v[] = {1, 10, 3, 4, 8};
    const char *who[] = {"p", "q", "p", "q", "p"};
    const double want[] = {0, 0, 2, 6, 6};
    for (size_t i = 0; s && t && i < 5; i++) {
        double score;
        int flag;
        if (i == 3) { /* continue in t from s's state */
            size_t size = 0;
            unsigned char buf[4096];
            CHECK_OK(anoma_stream_save(s, buf, sizeof buf, &size));
            CHECK_OK(anoma_stream_restore(t, buf, size));
        }
        CHECK_OK(anoma_stream_push(i < 3 ? s : t, who[i], (double)i, &v[i], 1, &score, NULL, &flag));
        if (score != want[i] || flag != (want[i] > 0.5))
            test_fail(__FILE__, __LINE__, "push %zu: score %g, expected %g", i, score, want[i]);
    }
    /* the detector fitted on other rows: its block means the same; one of
     * another size does not */
    static double x[4] = {5, 9, 7, 3};
    anoma_matrix view = anoma_matrix_f64(x, 4, 1);
    anoma_model *r = NULL;
    CHECK_OK(anoma_model_create("threshold=0.5", &r));
    CHECK_OK(anoma_model_add_detector(r, "zscore", NULL, NULL));
    CHECK_OK(anoma_model_fit(r, &view, NULL, NULL));
    uint64_t plain = fingerprint_of(r);
    CHECK(plain != fingerprint_of(m));
    r->detectors[0].vt = &vt;
    CHECK(fingerprint_of(r) == fingerprint_of(m));
    an_detector_vtable wider = vt;
    wider.entity_bytes = rm_wider_bytes;
    r->detectors[0].vt = &wider;
    CHECK(fingerprint_of(r) != fingerprint_of(m));
    r->detectors[0].vt = zscore;
    anoma_model_free(r);
    anoma_stream_free(s);
    anoma_stream_free(t);
    m->detectors[0].vt = zscore;
    anoma_model_free(m);
}

int main(void)
{
    make_data();
    RUN(test_stream_equals_batch_per_entity);
    RUN(test_typed_rows_equal_batch);
    RUN(test_failed_push_leaves_state);
    RUN(test_keys_short_and_long);
    RUN(test_eviction);
    RUN(test_alerts_scripted);
    RUN(test_alert_callback);
    RUN(test_bad_states_refused);
    RUN(test_state_file);
    RUN(test_retrained_model_continues_states);
    RUN(test_other_meaning_refused);
    RUN(test_format_1_0_state);
    RUN(test_stateful_detector);
    RUN(test_out_of_memory);
    return test_summary();
}
