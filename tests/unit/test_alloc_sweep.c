/* Allocation failures everywhere: for every registered detector and every
 * pipeline step, each operation is run with its first allocation failing,
 * then its second, and so on until it succeeds (CHECK_ALLOC_FAILURES).
 * Every run must return ANOMA_OK or ANOMA_ERR_NO_MEMORY and leave no block
 * alive, and the objects it was handed must come out unchanged: a model
 * whose score, row scorer or save ran out of memory still scores and saves
 * the same bits, a stream whose push failed goes on as if the push never
 * happened. Rows a step refuses are pushed too: the step must say it may
 * refuse (refuses_rows), and the stream must go on as if they never came. The walks go over the registries, so a new detector or step is
 * covered when it registers. docs/reliability.md gives the counts. */
#include "testing.h"

#include "detectors/detector.h"
#include "features/step.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum { ROWS = 120, COLS = 4 };
static double data[ROWS * COLS];
static int labels[ROWS];

/* ---- a fitted model's read paths ---- */

typedef struct fitted {
    const anoma_model *model;
    const double *reference; /* batch scores of data, ROWS */
    const double *features;  /* feature scores of detector 0, or NULL */
    size_t outputs;
} fitted;

static int bits_differ(const double *a, const double *b, size_t n)
{
    return memcmp(a, b, n * sizeof *a) != 0;
}

static anoma_status score_batch(void *ctx)
{
    const fitted *f = ctx;
    double scores[ROWS];
    anoma_matrix x = anoma_matrix_f64(data, ROWS, COLS);
    anoma_status st = anoma_model_score(f->model, &x, scores);
    if (st == ANOMA_OK && bits_differ(scores, f->reference, ROWS))
        st = ANOMA_ERR_INTERNAL;
    return st;
}

static anoma_status score_rows(void *ctx)
{
    const fitted *f = ctx;
    anoma_row_scorer *scorer = NULL;
    anoma_status st = anoma_row_scorer_create(f->model, &scorer);
    for (size_t i = 0; st == ANOMA_OK && i < ROWS; i += 7) {
        double score;
        st = anoma_row_scorer_score(scorer, data + i * COLS, COLS, &score, NULL);
        if (st == ANOMA_OK && bits_differ(&score, f->reference + i, 1))
            st = ANOMA_ERR_INTERNAL;
    }
    anoma_row_scorer_free(scorer);
    return st;
}

static anoma_status feature_scores(void *ctx)
{
    const fitted *f = ctx;
    double *out = malloc(ROWS * f->outputs * sizeof *out);
    anoma_matrix x = anoma_matrix_f64(data, ROWS, COLS);
    anoma_status st = out ? anoma_model_feature_scores(f->model, 0, &x, out) : ANOMA_ERR_INTERNAL;
    if (st == ANOMA_OK && bits_differ(out, f->features, ROWS * f->outputs))
        st = ANOMA_ERR_INTERNAL;
    free(out);
    return st;
}

/* Every read path of one fitted model with each allocation failing in
 * turn; afterwards the model scores and saves as before. Prints the
 * failing allocations tried per path. */
static void sweep_read_paths(const char *detector, const anoma_model *m)
{
    fitted f = {.model = m, .outputs = anoma_model_n_outputs(m)};
    double reference[ROWS];
    anoma_matrix x = anoma_matrix_f64(data, ROWS, COLS);
    CHECK_OK(anoma_model_score(m, &x, reference));
    f.reference = reference;
    size_t size_before;
    unsigned char *before = TEST_SAVED_BYTES(m, &size_before);
    long batch = CHECK_ALLOC_FAILURES(score_batch, &f);
    long rows = CHECK_ALLOC_FAILURES(score_rows, &f);
    long explained = -1; /* -1: the detector has no feature scores */
    double *features = malloc(ROWS * f.outputs * sizeof *features);
    if (anoma_model_feature_scores(m, 0, &x, features) == ANOMA_OK) {
        f.features = features;
        explained = CHECK_ALLOC_FAILURES(feature_scores, &f);
    }
    free(features);
    printf("  %-16s score %ld, row scorer %ld, feature scores %ld\n", detector, batch, rows,
           explained);
    size_t size_after;
    unsigned char *after = TEST_SAVED_BYTES(m, &size_after);
    int unchanged = size_after == size_before && !memcmp(before, after, size_before);
    CHECK(unchanged);
    if (!unchanged)
        printf("  detector %s: the model saves other bytes after the sweeps\n", detector);
    free(before);
    free(after);
}

/* Fit, score, save, load and score again (test_fit_reload) with each
 * allocation failing in turn, then the read paths, for every detector the
 * model fits from data. A stateful detector (seq_autoencoder) is imported
 * with its weights: test_nn.c sweeps its import and streams. */
static void test_every_detector(void)
{
    size_t detectors = 0;
    for (size_t k = 0; an_detector_at(k); k++) {
        const an_detector_vtable *vt = an_detector_at(k);
        if (vt->flags & ANOMA_FLAG_STATEFUL)
            continue;
        detectors++;
        test_reload_case c = {.model_params = "n_threads=1",
                              .detectors = {vt->name, NULL},
                              .params = {test_quick_params(vt->name)},
                              .x = data, .n = ROWS, .d = COLS};
        if (vt->flags & ANOMA_FLAG_SUPERVISED)
            c.labels = labels;
        long life = CHECK_ALLOC_FAILURES(test_fit_reload, &c);
        printf("  %-16s fit, score, save, load, score: %ld\n", vt->name, life);
        anoma_model *m = NULL;
        CHECK_OK(anoma_model_create("n_threads=1", &m));
        CHECK_OK(anoma_model_add_detector(m, vt->name, test_quick_params(vt->name), NULL));
        anoma_matrix x = anoma_matrix_f64(data, ROWS, COLS);
        CHECK_OK(anoma_model_fit(m, &x, vt->flags & ANOMA_FLAG_SUPERVISED ? labels : NULL, NULL));
        sweep_read_paths(vt->name, m);
        anoma_model_free(m);
    }
    CHECK(detectors >= 10);
}

/* lof with keep_rows=false fits on the caller's rows and scores none,
 * so test_fit_reload's scoring does not apply: fit, save and load, and
 * the reloaded training scores match `scores` (or fill it, when `fill`). */
typedef struct rowless {
    double scores[ROWS];
    int fill;
} rowless;

static anoma_status fit_reload_without_rows(void *ctx)
{
    rowless *r = ctx;
    double scores[ROWS];
    anoma_model *m = NULL, *back = NULL;
    void *saved = NULL;
    size_t size = 0;
    anoma_matrix x = anoma_matrix_f64(data, ROWS, COLS);
    anoma_status st = anoma_model_create("n_threads=1", &m);
    if (st == ANOMA_OK)
        st = anoma_model_add_detector(m, "lof", "n_neighbors=5 keep_rows=false", NULL);
    if (st == ANOMA_OK)
        st = anoma_model_fit(m, &x, NULL, NULL);
    if (st == ANOMA_OK)
        st = anoma_model_save_memory(m, NULL, 0, &size); /* the size */
    if (st == ANOMA_OK)
        st = (saved = malloc(size)) ? anoma_model_save_memory(m, saved, size, &size)
                                    : ANOMA_ERR_INTERNAL;
    if (st == ANOMA_OK)
        st = anoma_model_load_memory(saved, size, &back);
    if (st == ANOMA_OK)
        st = anoma_model_training_scores(back, 0, scores, ROWS, NULL);
    if (st == ANOMA_OK && r->fill)
        memcpy(r->scores, scores, sizeof scores);
    else if (st == ANOMA_OK && bits_differ(scores, r->scores, ROWS))
        st = ANOMA_ERR_INTERNAL;
    free(saved);
    anoma_model_free(back);
    anoma_model_free(m);
    return st;
}

static void test_lof_without_rows(void)
{
    rowless r = {.fill = 1};
    CHECK_OK(fit_reload_without_rows(&r));
    r.fill = 0;
    long tried = CHECK_ALLOC_FAILURES(fit_reload_without_rows, &r);
    printf("  lof keep_rows=false fit, save, load, training scores: %ld\n", tried);
}

/* ---- every step, in one pipeline, through batch and stream ---- */

enum { N = 96 };
static const char *user[N], *device[N], *channel[N], *region[N];
static int64_t ts[N];
static double amount[N], clicks[N];

static void make_frame_data(void)
{
    static const char *const users[] = {"u1", "u2", "u3", "u4"};
    static const char *const devices[] = {"phone", "tablet", "desktop"};
    static const char *const channels[] = {"web", "app"};
    static const char *const regions[] = {"north", "south", "east", "west", "centre"};
    for (size_t i = 0; i < N; i++) {
        user[i] = users[(i * 7 + i / 5) % 4];
        device[i] = devices[(i * 5 + i / 3) % 3];
        channel[i] = channels[(i / 2) % 2];
        region[i] = regions[(i * 3) % 5];
        ts[i] = 1700000000 + (int64_t)(i * 611 + (i % 7) * 1800);
        amount[i] = i % 11 == 4 ? NAN : (double)((i * 37) % 101) + (i % 17 == 3 ? 500 : 0);
        clicks[i] = 1 + (double)((i * 13) % 9);
    }
}

static anoma_frame *make_frame(void)
{
    const test_column cols[] = {
        {"user", ANOMA_COL_STRING, user},       {"device", ANOMA_COL_STRING, device},
        {"channel", ANOMA_COL_STRING, channel}, {"region", ANOMA_COL_STRING, region},
        {"ts", ANOMA_COL_TIMESTAMP, ts},        {"amount", ANOMA_COL_DOUBLE, amount},
        {"clicks", ANOMA_COL_DOUBLE, clicks},
    };
    anoma_frame *f;
    TEST_FRAME_OF(N, cols, &f);
    return f;
}

/* One pipeline holding every registered step (the test checks it does);
 * `strict` where a step can be told to refuse rows it would otherwise
 * take (the refusal test's pipeline). */
static const struct { const char *step, *params, *strict; } every_step[] = {
    {"time_features", "column=ts entity=user features=hour,since_previous", NULL},
    {"window", "entity=user columns=amount lags=1 rolling=3 stats=mean,std", NULL},
    {"ratio", "numerator=amount denominator=clicks", NULL},
    {"missing_indicator", "columns=amount error_on_new=false",
     "columns=amount,clicks error_on_new=true"},
    {"frequency", "columns=region", NULL},
    {"ordinal", "columns=channel", "columns=channel handle_unknown=error"},
    {"one_hot", "columns=device", "columns=device unseen=error"},
    {"select", "drop=user", NULL},
    {"imputer", NULL, NULL},
    {"robust_scaler", NULL, NULL},
    {"minmax_scaler", NULL, NULL},
    {"maxabs_scaler", NULL, NULL},
    {"normalizer", NULL, NULL},
    {"standard_scaler", NULL, NULL},
    {"pca", "n_components=3", NULL},
};
enum { STEPS = sizeof every_step / sizeof *every_step };

static anoma_status build_and_fit_pipeline(int strict, anoma_model **out)
{
    anoma_model *m = NULL;
    anoma_frame *f = make_frame();
    anoma_status st = f ? anoma_model_create("n_threads=1", &m) : ANOMA_ERR_NO_MEMORY;
    for (size_t s = 0; st == ANOMA_OK && s < STEPS; s++)
        st = anoma_model_add_step(m, every_step[s].step,
                                  strict && every_step[s].strict ? every_step[s].strict
                                                                 : every_step[s].params,
                                  NULL);
    if (st == ANOMA_OK)
        st = anoma_model_add_detector(m, "zscore", NULL, NULL);
    if (st == ANOMA_OK)
        st = anoma_model_fit_frame(m, f, NULL, NULL);
    anoma_frame_free(f);
    if (st != ANOMA_OK) {
        anoma_model_free(m);
        m = NULL;
    }
    *out = m;
    return st;
}

static anoma_status build_and_fit(anoma_model **out) { return build_and_fit_pipeline(0, out); }

static anoma_status fit_pipeline(void *ctx)
{
    (void)ctx;
    anoma_model *m = NULL;
    anoma_status st = build_and_fit(&m);
    anoma_model_free(m);
    return st;
}

typedef struct pipeline_case {
    const anoma_model *model;
    const double *batch; /* score_frame of the frame, N */
    const unsigned char *saved;
    size_t saved_size;
} pipeline_case;

static anoma_status score_frame(void *ctx)
{
    const pipeline_case *pc = ctx;
    double scores[N];
    anoma_frame *f = make_frame();
    anoma_status st = f ? anoma_model_score_frame(pc->model, f, scores) : ANOMA_ERR_NO_MEMORY;
    if (st == ANOMA_OK && bits_differ(scores, pc->batch, N))
        st = ANOMA_ERR_INTERNAL;
    anoma_frame_free(f);
    return st;
}

static anoma_status load_and_score(void *ctx)
{
    const pipeline_case *pc = ctx;
    anoma_model *back = NULL;
    anoma_status st = anoma_model_load_memory(pc->saved, pc->saved_size, &back);
    if (st == ANOMA_OK) {
        pipeline_case again = *pc;
        again.model = back;
        st = score_frame(&again);
    }
    anoma_model_free(back);
    return st;
}

/* Row i of the frame as the values of one push. */
static void fill_row(size_t i, anoma_value *row)
{
    row[0].text = user[i];
    row[1].text = device[i];
    row[2].text = channel[i];
    row[3].text = region[i];
    row[4].timestamp = ts[i];
    row[5].number = amount[i];
    row[6].number = clicks[i];
}

/* A stream over the frame's rows, entities interleaved: each push scores
 * as the batch (the steps keyed by the entity column make the two equal),
 * then a save and a restore into a second stream, which must go on alike. */
static anoma_status push_row(anoma_stream *s, size_t i, double *score)
{
    anoma_value row[7];
    fill_row(i, row);
    return anoma_stream_push_values(s, user[i], (double)ts[i], row, 7, score, NULL, NULL);
}

static anoma_status stream_life(void *ctx)
{
    const pipeline_case *pc = ctx;
    anoma_stream *s = NULL, *t = NULL;
    unsigned char *bytes = NULL;
    size_t size = 0;
    anoma_status st = anoma_stream_create(pc->model, NULL, &s);
    for (size_t i = 0; st == ANOMA_OK && i < N / 2; i++) {
        double score;
        st = push_row(s, i, &score);
        if (st == ANOMA_OK && bits_differ(&score, pc->batch + i, 1))
            st = ANOMA_ERR_INTERNAL;
    }
    if (st == ANOMA_OK)
        st = anoma_stream_save(s, NULL, 0, &size);
    if (st == ANOMA_OK && !(bytes = malloc(size)))
        st = ANOMA_ERR_INTERNAL;
    if (st == ANOMA_OK)
        st = anoma_stream_save(s, bytes, size, &size);
    if (st == ANOMA_OK)
        st = anoma_stream_create(pc->model, NULL, &t);
    if (st == ANOMA_OK)
        st = anoma_stream_restore(t, bytes, size);
    for (size_t i = N / 2; st == ANOMA_OK && i < N; i++) {
        double score;
        st = push_row(t, i, &score);
        if (st == ANOMA_OK && bits_differ(&score, pc->batch + i, 1))
            st = ANOMA_ERR_INTERNAL;
    }
    free(bytes);
    anoma_stream_free(s);
    anoma_stream_free(t);
    return st;
}

/* A push that runs out of memory part-way (a new entity, or a step's work)
 * leaves the stream as if it had not happened: every push of a stream is
 * retried until it succeeds, each retry after an allocation failure, and
 * the scores still equal the batch's. */
static void push_through_failures(const pipeline_case *pc)
{
    anoma_stream *s = NULL;
    CHECK_OK(anoma_stream_create(pc->model, NULL, &s));
    size_t mismatches = 0, failures = 0;
    for (size_t i = 0; s && i < N; i++) {
        double score;
        anoma_status st = ANOMA_ERR_NO_MEMORY;
        for (long budget = 0; st == ANOMA_ERR_NO_MEMORY; budget++) {
            test_alloc_install(budget);
            st = push_row(s, i, &score);
            test_alloc_restore();
            failures += st == ANOMA_ERR_NO_MEMORY;
        }
        CHECK_OK(st);
        mismatches += bits_differ(&score, pc->batch + i, 1);
    }
    CHECK(mismatches == 0);
    CHECK(failures > 0); /* new entities did need memory */
    printf("  stream pushes retried after %zu allocation failures\n", failures);
    anoma_stream_free(s);
}

/* ---- rows a step refuses ---- */

/* Row i with one value made hostile (variant v), 0 past the
 * last variant. */
static int hostile_row(size_t i, int v, anoma_value *row, double *time)
{
    fill_row(i, row);
    *time = (double)ts[i];
    switch (v) {
    case 0: row[1].text = "never seen"; break;
    case 1: row[1].text = NULL; break;
    case 2: row[2].text = "never seen"; break;
    case 3: row[2].text = NULL; break;
    case 4: row[3].text = "never seen"; break;
    case 5: row[3].text = NULL; break;
    case 6: row[5].number = NAN; break;
    case 7: row[6].number = NAN; break;
    case 8: row[6].number = 0; break; /* the ratio's denominator */
    case 9: row[5].number = 1e308; row[6].number = 1e-308; break;
    case 10: row[4].timestamp = INT64_MIN; break;
    case 11: row[4].timestamp = INT64_MAX; break; /* beyond the calendar (2^62 s) */
    default: return 0;
    }
    return 1;
}

/* The step a refusal's message names ("one_hot: column ..."), or NULL. */
static const an_step_vtable *refusing_step(const char *message)
{
    for (size_t k = 0; an_step_at(k); k++) {
        size_t n = strlen(an_step_at(k)->name);
        if (!strncmp(message, an_step_at(k)->name, n) && message[n] == ':')
            return an_step_at(k);
    }
    return NULL;
}

static unsigned char *stream_bytes(const anoma_stream *s, size_t *size)
{
    unsigned char *bytes = NULL;
    CHECK_OK(anoma_stream_save(s, NULL, 0, size));
    if (!(bytes = malloc(*size ? *size : 1)))
        return NULL;
    CHECK_OK(anoma_stream_save(s, bytes, *size, size));
    return bytes;
}

/* Every step that refused a pushed row must declare refuses_rows (the
 * stream keeps an undo copy only for steps before one that declares it),
 * and a refused push must leave the stream as it was, to the byte of its
 * saved state. Hostile rows go between the frame's rows (an accepted one
 * is taken back by restoring the state from before it), whose scores must
 * still equal the batch's. */
static void test_refused_pushes(void)
{
    anoma_model *m = NULL;
    CHECK_OK(build_and_fit_pipeline(1, &m));
    if (!m)
        return;
    double batch[N];
    anoma_frame *f = make_frame();
    CHECK_OK(anoma_model_score_frame(m, f, batch));
    anoma_frame_free(f);
    anoma_stream *s = NULL;
    CHECK_OK(anoma_stream_create(m, NULL, &s));
    size_t refused = 0, changed = 0, mismatches = 0;
    int seen[STEPS] = {0}; /* refusals by each step of the pipeline */
    for (size_t i = 0; s && i < N; i++) {
        anoma_value row[7];
        double time, score;
        for (int v = 0; i % 3 == 1 && hostile_row(i, v, row, &time); v++) {
            size_t size, size_after;
            unsigned char *before = stream_bytes(s, &size);
            anoma_status st = anoma_stream_push_values(s, user[i], time, row, 7, &score, NULL,
                                                       NULL);
            if (st == ANOMA_OK) {
                CHECK_OK(anoma_stream_restore(s, before, size));
                free(before);
                continue;
            }
            refused++;
            const an_step_vtable *step = refusing_step(anoma_last_error());
            for (size_t k = 0; step && k < STEPS; k++)
                seen[k] |= !strcmp(every_step[k].step, step->name);
            if (step && !step->refuses_rows) {
                CHECK(step->refuses_rows);
                printf("  %s refused a row (variant %d) without declaring refuses_rows: %s\n",
                       step->name, v, anoma_last_error());
            }
            unsigned char *after = stream_bytes(s, &size_after);
            int same = before && after && size == size_after && !memcmp(before, after, size);
            if (!same)
                printf("  a refused push (variant %d) changed the stream: %s\n", v,
                       anoma_last_error());
            changed += !same;
            free(before);
            free(after);
        }
        CHECK_OK(push_row(s, i, &score));
        mismatches += bits_differ(&score, batch + i, 1);
    }
    /* the hostile rows reach the steps that refuse, so a step that stopped
     * declaring it would be caught */
    for (size_t k = 0; k < STEPS; k++)
        if (an_step_find(every_step[k].step)->refuses_rows && !seen[k]) {
            CHECK(seen[k]);
            printf("  no hostile row reached a refusal of %s\n", every_step[k].step);
        }
    CHECK(refused > 0);
    CHECK(changed == 0);
    CHECK(mismatches == 0);
    printf("  %zu hostile pushes refused, %zu changed the stream, %zu scores differ from the "
           "batch\n", refused, changed, mismatches);
    anoma_stream_free(s);
    anoma_model_free(m);
}

static void test_every_step(void)
{
    for (size_t k = 0; an_step_at(k); k++) {
        int listed = 0;
        for (size_t s = 0; s < STEPS; s++)
            listed |= !strcmp(every_step[s].step, an_step_at(k)->name);
        CHECK(listed);
        if (!listed)
            printf("  step %s is not in this test's pipeline\n", an_step_at(k)->name);
    }
    printf("  pipeline fit: %ld\n", CHECK_ALLOC_FAILURES(fit_pipeline, NULL));
    anoma_model *m = NULL;
    CHECK_OK(build_and_fit(&m));
    if (!m)
        return;
    double batch[N];
    anoma_frame *f = make_frame();
    CHECK_OK(anoma_model_score_frame(m, f, batch));
    anoma_frame_free(f);
    pipeline_case pc = {.model = m, .batch = batch};
    unsigned char *saved = TEST_SAVED_BYTES(m, &pc.saved_size);
    pc.saved = saved;
    long scored = CHECK_ALLOC_FAILURES(score_frame, &pc);
    long loaded = CHECK_ALLOC_FAILURES(load_and_score, &pc);
    long streamed = CHECK_ALLOC_FAILURES(stream_life, &pc);
    printf("  pipeline score %ld, load and score %ld, stream pushes, save and restore %ld\n",
           scored, loaded, streamed);
    push_through_failures(&pc);
    size_t size_after;
    unsigned char *after = TEST_SAVED_BYTES(m, &size_after);
    CHECK(size_after == pc.saved_size && !memcmp(saved, after, size_after));
    free(after);
    free(saved);
    anoma_model_free(m);
}

int main(void)
{
    test_fill(data, ROWS * COLS, 4242u, 1000, 100.0);
    for (size_t i = 0; i < ROWS; i += 13) {
        data[i * COLS + i % COLS] += 40;
        labels[i] = 1;
    }
    make_frame_data();
    RUN(test_every_detector);
    RUN(test_lof_without_rows);
    RUN(test_every_step);
    RUN(test_refused_pushes);
    return test_summary();
}
