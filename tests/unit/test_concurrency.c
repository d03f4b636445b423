/* One fitted model shared by 8 host threads, each scoring it in batches
 * (on its own thread and through the library's pool) and row by row
 * through its own row scorer, many times: every score equals the
 * one-thread score bit for bit. Each host also loads two private copies
 * of the model (n_threads 1 and 0) and scores those, and uses the other
 * calls documented as thread-safe: predict, transform, save, describe, an
 * error's thread-local message, a progress callback on the calling thread. Also run under ThreadSanitizer
 * (`scripts/dev tsan`), which is what finds the races this test cannot
 * see in the scores. Every registered detector is also shared this way,
 * and fitted by 8 threads at once; those that call BLAS run here with
 * OPENBLAS_NUM_THREADS=1 (scripts/dev tsan), so that OpenBLAS, which is not
 * instrumented, starts no threads of its own. */
#include "testing.h"

#include "core/threads.h"
#include "detectors/detector.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ROWS is above the size at which a batch is shared out among threads
 * (lib/model/scoring.c, lib/features/pipeline_run.c), so the pool runs. */
enum { ROWS = 9000, COLS = 5, HOSTS = 8, ROUNDS = 3 };

static double x[ROWS * COLS];
static double amount[ROWS];
static int64_t clicks[ROWS];
static const char *device[ROWS];
static const char *const kinds[] = {"web", "ios", "android"};

static void make_data(void)
{
    test_fill(x, ROWS * COLS, 7u, 100000, 1000.0);
    unsigned seed = 8;
    for (size_t i = 0; i < ROWS; i++) {
        unsigned s = test_lcg(&seed);
        amount[i] = (double)((s >> 8) % 10000) / 100.0;
        clicks[i] = (int64_t)((s >> 4) % 50);
        device[i] = kinds[(s >> 12) % 3];
    }
    amount[40] = 900; /* an outlier */
}

static anoma_frame *frame_of_data(void)
{
    const test_column cols[] = {{"amount", ANOMA_COL_DOUBLE, amount},
                                {"device", ANOMA_COL_STRING, device},
                                {"clicks", ANOMA_COL_INT64, clicks}};
    anoma_frame *f = NULL;
    CHECK_OK(TEST_FRAME_OF(ROWS, cols, &f));
    return f;
}

/* The model under test, in the two forms the host threads share: saved
 * bytes (each thread loads its own copies: loading is documented as safe
 * from several threads) and one fitted model they all score. */
typedef struct shared {
    const anoma_model *model; /* the one model all threads score */
    const unsigned char *saved;
    size_t saved_size;
    const anoma_frame *frame; /* NULL: score the matrix x */
    size_t rows;              /* the first rows of x (or the frame) scored */
    const double *reference;  /* one-thread scores, rows */
    const double *explained;  /* one-thread feature scores of detector 0, or NULL */
    const double *transformed; /* one-thread pipeline output, ROWS x outputs */
    size_t outputs;
} shared;

typedef struct host {
    const shared *sh;
    int mismatches;
    anoma_status status;
    pthread_t self;
    int final_reports;     /* progress reports with done == total */
    int foreign_reports;   /* reports on a thread other than the caller's */
} host;

/* Documented: the callback runs on the thread that made the call. */
static int on_progress(void *user, anoma_stage stage, uint64_t done, uint64_t total)
{
    host *h = user;
    h->foreign_reports += !pthread_equal(pthread_self(), h->self);
    h->final_reports += stage == ANOMA_STAGE_SCORE && done == total;
    return 0;
}

static int same(const double *a, const double *b, size_t n)
{
    return memcmp(a, b, n * sizeof *a) == 0;
}

static anoma_status score_batch(const anoma_model *m, const shared *sh, double *out)
{
    if (sh->frame)
        return anoma_model_score_frame(m, sh->frame, out);
    anoma_matrix xm = anoma_matrix_f64(x, sh->rows, COLS);
    return anoma_model_score(m, &xm, out);
}

/* Scores every row in order through a fresh scorer: with a window step, a
 * scorer carries each entity's history, so its scores equal the batch's. */
static anoma_status score_rows(const anoma_model *m, const shared *sh, double *out)
{
    anoma_row_scorer *s = NULL;
    anoma_status st = anoma_row_scorer_create(m, &s);
    for (size_t i = 0; i < sh->rows && st == ANOMA_OK; i++) {
        if (sh->frame) {
            anoma_value row[3];
            row[0].number = amount[i];
            row[1].text = device[i];
            row[2].number = (double)clicks[i];
            st = anoma_row_scorer_score_values(s, row, 3, &out[i], NULL);
        } else {
            st = anoma_row_scorer_score(s, x + i * COLS, COLS, &out[i], NULL);
        }
    }
    anoma_row_scorer_free(s);
    return st;
}

/* The read-only calls model.h and pipeline.h document as thread-safe on a
 * fitted model, beside scoring: their answers must not change either. */
static int read_only_calls_agree(const anoma_model *m, const shared *sh)
{
    double t;
    int *flags = malloc(sh->rows * sizeof *flags);
    size_t size = 0;
    char text[8192];
    int ok = anoma_model_threshold(m, &t) == ANOMA_OK;
    if (sh->frame)
        ok = ok && anoma_model_predict_frame(m, sh->frame, flags) == ANOMA_OK;
    else {
        anoma_matrix xm = anoma_matrix_f64(x, sh->rows, COLS);
        ok = ok && anoma_model_predict(m, &xm, flags) == ANOMA_OK;
    }
    for (size_t i = 0; ok && i < sh->rows; i++)
        ok = flags[i] == (sh->reference[i] > t);
    ok = ok && anoma_model_save_memory(m, NULL, 0, &size) == ANOMA_OK && size == sh->saved_size;
    ok = ok && anoma_model_describe(m, text, sizeof text, &size) == ANOMA_OK;
    ok = ok && anoma_model_params(m, text, sizeof text, &size) == ANOMA_OK;
    ok = ok && anoma_model_memory_bytes(m) > 0;
    free(flags);
    if (sh->frame) {
        double *out = malloc(sh->rows * sh->outputs * sizeof *out);
        ok = ok && anoma_model_transform_frame(m, sh->frame, out) == ANOMA_OK &&
             same(out, sh->transformed, sh->rows * sh->outputs);
        free(out);
    } else if (sh->explained) {
        double *out = malloc(sh->rows * sh->outputs * sizeof *out);
        anoma_matrix xm = anoma_matrix_f64(x, sh->rows, COLS);
        ok = ok && anoma_model_feature_scores(m, 0, &xm, out) == ANOMA_OK &&
             same(out, sh->explained, sh->rows * sh->outputs);
        free(out);
    }
    /* an error on one thread: its own message, while the others score */
    anoma_matrix narrow = anoma_matrix_f64(x, ROWS, COLS - 1);
    double one;
    ok = ok && anoma_model_score(m, &narrow, &one) == ANOMA_ERR_SHAPE &&
         strstr(anoma_last_error(), "column") != NULL;
    return ok;
}

static void *host_main(void *arg)
{
    host *h = arg;
    h->self = pthread_self();
    const shared *sh = h->sh;
    double *scores = malloc(sh->rows * sizeof *scores);
    /* Two private copies of the model: one scoring on this thread alone,
     * one through the pool that the other hosts' copies use as well. */
    anoma_model *own[2] = {NULL, NULL};
    for (int k = 0; k < 2 && h->status == ANOMA_OK; k++) {
        h->status = anoma_model_load_memory(sh->saved, sh->saved_size, &own[k]);
        if (h->status == ANOMA_OK)
            h->status = anoma_model_set_n_threads(own[k], k == 0 ? 1 : 0);
    }
    if (h->status == ANOMA_OK)
        h->status = anoma_model_set_progress(own[1], on_progress, h);
    const anoma_model *models[3] = {sh->model, own[0], own[1]};
    for (int r = 0; r < ROUNDS && h->status == ANOMA_OK; r++) {
        for (int k = 0; k < 3 && h->status == ANOMA_OK; k++) {
            h->status = score_batch(models[k], sh, scores);
            h->mismatches += h->status == ANOMA_OK && !same(scores, sh->reference, sh->rows);
        }
        if (h->status == ANOMA_OK)
            h->status = score_rows(sh->model, sh, scores);
        h->mismatches += h->status == ANOMA_OK && !same(scores, sh->reference, sh->rows);
        h->mismatches += h->status == ANOMA_OK && !read_only_calls_agree(sh->model, sh);
    }
    h->mismatches += h->status == ANOMA_OK && h->final_reports != ROUNDS;
    h->mismatches += h->foreign_reports != 0;
    anoma_model_free(own[0]);
    anoma_model_free(own[1]);
    free(scores);
    return NULL;
}

/* Scores the first @p rows rows with @p m on one thread first, then from 8
 * at once. @p n_threads is the shared model's own thread count (0 = every
 * core, through the pool). */
static void check_hosts_agree_on(anoma_model *m, const anoma_frame *frame, size_t rows,
                                 size_t n_threads)
{
    double *reference = malloc(rows * sizeof *reference);
    CHECK_OK(anoma_model_set_n_threads(m, 1));
    size_t outputs = anoma_model_n_outputs(m);
    double *transformed = malloc(rows * outputs * sizeof *transformed);
    double *explained = NULL;
    shared sh = {.model = m, .frame = frame, .rows = rows, .reference = reference,
                 .transformed = transformed, .outputs = outputs};
    CHECK_OK(score_batch(m, &sh, reference));
    if (frame) {
        CHECK_OK(anoma_model_transform_frame(m, frame, transformed));
    } else {
        explained = malloc(rows * outputs * sizeof *explained);
        anoma_matrix xm = anoma_matrix_f64(x, rows, COLS);
        if (anoma_model_feature_scores(m, 0, &xm, explained) == ANOMA_OK)
            sh.explained = explained;
    }
    CHECK_OK(anoma_model_set_n_threads(m, n_threads));
    size_t size = 0;
    unsigned char *saved = TEST_SAVED_BYTES(m, &size);
    sh.saved = saved;
    sh.saved_size = size;
    host hosts[HOSTS];
    pthread_t ids[HOSTS];
    for (int i = 0; i < HOSTS; i++) {
        hosts[i] = (host){&sh, 0, ANOMA_OK, 0, 0, 0};
        CHECK(pthread_create(&ids[i], NULL, host_main, &hosts[i]) == 0);
    }
    for (int i = 0; i < HOSTS; i++) {
        CHECK(pthread_join(ids[i], NULL) == 0);
        CHECK_OK(hosts[i].status);
        CHECK(hosts[i].mismatches == 0);
    }
    free(saved);
    free(transformed);
    free(explained);
    free(reference);
}

static void check_hosts_agree(anoma_model *m, const anoma_frame *frame, size_t n_threads)
{
    check_hosts_agree_on(m, frame, ROWS, n_threads);
}

static void test_forest_from_eight_threads(void)
{
    anoma_model *m = NULL;
    CHECK_OK(anoma_model_create("contamination=0.05", &m));
    CHECK_OK(anoma_model_add_detector(m, "iforest", "n_trees=40 seed=3", NULL));
    anoma_matrix xm = anoma_matrix_f64(x, ROWS, COLS);
    CHECK_OK(anoma_model_fit(m, &xm, NULL, NULL));
    check_hosts_agree(m, NULL, 0);
    an_threads_shutdown();
    check_hosts_agree(m, NULL, 4);
    CHECK(an_threads_pool_size() >= 3); /* the batches did use the pool */
    anoma_model_free(m);
}

/* Fitted steps (a scaler, one-hot) hold only what they learned; a window
 * step's per-entity history lives in each call's or scorer's own state. */
static void test_pipeline_from_eight_threads(void)
{
    anoma_model *m = NULL;
    CHECK_OK(anoma_model_create("contamination=0.05", &m));
    CHECK_OK(anoma_model_add_step(m, "window", "columns=amount entity=device lags=1 rolling=3", NULL));
    CHECK_OK(anoma_model_add_step(m, "one_hot", "columns=device", NULL));
    CHECK_OK(anoma_model_add_step(m, "imputer", "strategy=constant fill_value=0", NULL));
    CHECK_OK(anoma_model_add_step(m, "standard_scaler", NULL, NULL));
    CHECK_OK(anoma_model_add_detector(m, "iforest", "n_trees=40 seed=5", NULL));
    anoma_frame *f = frame_of_data();
    CHECK_OK(anoma_model_fit_frame(m, f, NULL, NULL));
    check_hosts_agree(m, f, 0);
    an_threads_shutdown();
    check_hosts_agree(m, f, 4);
    CHECK(an_threads_pool_size() >= 3); /* the batches did use the pool */
    anoma_frame_free(f);
    anoma_model_free(m);
}

/* Every kind of detector the model fits from data, on the first KIND_ROWS
 * rows: small enough that the neighbour and kernel detectors stay quick
 * under ThreadSanitizer. A stateful detector (seq_autoencoder) scores only
 * in streams and its own calls: test_nn.c covers its threads. */
enum { KIND_ROWS = 600 };
static int kind_labels[KIND_ROWS];

static anoma_status fit_kind(const an_detector_vtable *vt, anoma_model **out)
{
    anoma_model *m = NULL;
    anoma_matrix xm = anoma_matrix_f64(x, KIND_ROWS, COLS);
    anoma_status st = anoma_model_create("n_threads=1", &m);
    if (st == ANOMA_OK)
        st = anoma_model_add_detector(m, vt->name, test_quick_params(vt->name), NULL);
    if (st == ANOMA_OK)
        st = anoma_model_fit(m, &xm, vt->flags & ANOMA_FLAG_SUPERVISED ? kind_labels : NULL,
                             NULL);
    if (st != ANOMA_OK) {
        anoma_model_free(m);
        m = NULL;
    }
    *out = m;
    return st;
}

static int fits_from_data(const an_detector_vtable *vt)
{
    return !(vt->flags & ANOMA_FLAG_STATEFUL);
}

static void test_every_detector_from_eight_threads(void)
{
    for (size_t k = 0; k < KIND_ROWS; k++)
        kind_labels[k] = k % 23 == 0;
    size_t kinds_run = 0;
    for (size_t k = 0; an_detector_at(k); k++) {
        const an_detector_vtable *vt = an_detector_at(k);
        if (!fits_from_data(vt))
            continue;
        anoma_model *m = NULL;
        CHECK_OK(fit_kind(vt, &m));
        if (!m)
            continue;
        check_hosts_agree_on(m, NULL, KIND_ROWS, 0);
        anoma_model_free(m);
        kinds_run++;
    }
    CHECK(kinds_run >= 10);
}

/* Eight threads fit eight models at once, each of another kind in turn:
 * every model saves the bytes of the same fit made alone. */
typedef struct fitter {
    size_t first;  /* registry index this thread starts from */
    int mismatches;
    anoma_status status;
} fitter;

static unsigned char *fit_bytes(const an_detector_vtable *vt, size_t *size)
{
    anoma_model *m = NULL;
    unsigned char *bytes = NULL;
    *size = 0;
    if (fit_kind(vt, &m) == ANOMA_OK && anoma_model_save_memory(m, NULL, 0, size) == ANOMA_OK &&
        (bytes = malloc(*size)) && anoma_model_save_memory(m, bytes, *size, size) != ANOMA_OK) {
        free(bytes);
        bytes = NULL;
    }
    anoma_model_free(m);
    return bytes;
}

static unsigned char *alone[64];
static size_t alone_size[64];

static void *fitter_main(void *arg)
{
    fitter *f = arg;
    size_t n = 0;
    while (an_detector_at(n))
        n++;
    for (size_t i = 0; i < n; i++) {
        const an_detector_vtable *vt = an_detector_at((f->first + i) % n);
        if (!fits_from_data(vt))
            continue;
        size_t size;
        unsigned char *bytes = fit_bytes(vt, &size);
        size_t at = (f->first + i) % n;
        if (!bytes) {
            f->status = ANOMA_ERR_INTERNAL;
            continue;
        }
        f->mismatches += size != alone_size[at] || memcmp(bytes, alone[at], size) != 0;
        free(bytes);
    }
    return NULL;
}

static void test_fits_from_eight_threads(void)
{
    size_t n = 0;
    for (; an_detector_at(n) && n < 64; n++)
        if (fits_from_data(an_detector_at(n)))
            CHECK((alone[n] = fit_bytes(an_detector_at(n), &alone_size[n])) != NULL);
    fitter fitters[HOSTS];
    pthread_t ids[HOSTS];
    for (int i = 0; i < HOSTS; i++) {
        fitters[i] = (fitter){(size_t)i, 0, ANOMA_OK};
        CHECK(pthread_create(&ids[i], NULL, fitter_main, &fitters[i]) == 0);
    }
    for (int i = 0; i < HOSTS; i++) {
        CHECK(pthread_join(ids[i], NULL) == 0);
        CHECK_OK(fitters[i].status);
        CHECK(fitters[i].mismatches == 0);
    }
    for (size_t k = 0; k < n; k++)
        free(alone[k]);
}

int main(void)
{
    make_data();
    RUN(test_forest_from_eight_threads);
    RUN(test_pipeline_from_eight_threads);
    RUN(test_every_detector_from_eight_threads);
    RUN(test_fits_from_eight_threads);
    anoma_shutdown();
    return test_summary();
}
