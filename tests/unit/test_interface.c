/* The detector interface as the model uses it: capability flags, scratch
 * sized in bytes with an alignment, payload versions in model files (and a
 * file of the first format version), the refusal of stateful detectors
 * outside streams, the thread count as a run-time option that leaves the
 * fitted bytes unchanged. Every test
 * walks the whole registry, so a new detector is covered when it registers. */
#include "testing.h"

#include "core/alloc.h"
#include "features/step.h"
#include "io/format.h"
#include "model/model.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum { ROWS = 300, COLS = 4 };
static double data[ROWS * COLS];
/* data without its missing value, for detectors that need complete rows */
static double complete[ROWS * COLS];
static int labels[ROWS];

static void make_data(void)
{
    test_fill(data, ROWS * COLS, 777u, 10000, 1000.0);
    for (size_t i = 0; i < ROWS; i += 17) {
        data[i * COLS + i % COLS] = 60 + (double)i;
        labels[i] = 1;
    }
    memcpy(complete, data, sizeof data);
    data[5 * COLS + 2] = NAN; /* every detector's row path meets a missing value */
}

/* The data a detector is fitted and scored on: with the missing value
 * unless it needs complete rows (ANOMA_FLAG_COMPLETE_ROWS), which the
 * flags test checks it refuses. */
static const double *data_for(const an_detector_vtable *vt)
{
    return vt->flags & ANOMA_FLAG_COMPLETE_ROWS ? complete : data;
}

/* Whether the model fits the detector from data. A stateful detector
 * (seq_autoencoder) is imported with its weights and scored only through
 * streams and its own batch calls: test_nn.c and
 * tests/python/test_seq_autoencoder.py cover it. */
static int model_fits(const an_detector_vtable *vt) { return !(vt->flags & ANOMA_FLAG_STATEFUL); }

static anoma_model *fit_one(const char *model_params, const char *name, const char *params)
{
    anoma_model *m = NULL;
    CHECK_OK(anoma_model_create(model_params, &m));
    CHECK_OK(anoma_model_add_detector(m, name, params, NULL));
    anoma_matrix x = anoma_matrix_f64(data_for(an_detector_find(name)), ROWS, COLS);
    unsigned flags = 0;
    CHECK_OK(anoma_component_flags(ANOMA_KIND_DETECTOR, name, &flags));
    CHECK_OK(anoma_model_fit(m, &x, flags & ANOMA_FLAG_SUPERVISED ? labels : NULL, NULL));
    return m;
}

/* ---- flags ---- */

static void test_flags_match_detectors(void)
{
    size_t n = 0;
    for (const an_detector_vtable *vt; (vt = an_detector_at(n)); n++) {
        unsigned flags = 0xdead;
        CHECK_OK(anoma_component_flags(ANOMA_KIND_DETECTOR, vt->name, &flags));
        CHECK(flags == vt->flags);
        /* each flag says what the table holds */
        CHECK(!!(flags & ANOMA_FLAG_FEATURE_SCORES) == !!vt->feature_scores_row);
        int stateful = !!(flags & ANOMA_FLAG_STATEFUL);
        CHECK(stateful == !!vt->entity_bytes && stateful == !!vt->entity_init &&
              stateful == !!vt->entity_update_score && stateful == !!vt->entity_save &&
              stateful == !!vt->entity_restore);
        CHECK(!(flags & ANOMA_FLAG_NEEDS_LABELS) || (flags & ANOMA_FLAG_SUPERVISED));
        CHECK(vt->payload_version >= 1);
        if (!model_fits(vt))
            continue;
        /* ... and the model behaves accordingly */
        anoma_model *m = fit_one(NULL, vt->name, NULL);
        anoma_matrix x = anoma_matrix_f64(data_for(vt), 3, COLS);
        double out[3 * COLS];
        anoma_status st = anoma_model_feature_scores(m, 0, &x, out);
        CHECK(flags & ANOMA_FLAG_FEATURE_SCORES ? st == ANOMA_OK : st == ANOMA_ERR_UNSUPPORTED);
        anoma_model_free(m);
        if (flags & ANOMA_FLAG_COMPLETE_ROWS) { /* a missing value is refused by name */
            anoma_model *refuse = NULL;
            CHECK_OK(anoma_model_create(NULL, &refuse));
            CHECK_OK(anoma_model_add_detector(refuse, vt->name, NULL, NULL));
            anoma_matrix holed = anoma_matrix_f64(data, ROWS, COLS);
            CHECK_STATUS(anoma_model_fit(refuse, &holed, NULL, NULL), ANOMA_ERR_INVALID_ARGUMENT);
            CHECK(strstr(anoma_last_error(), "feature 2 of row 5") != NULL);
            anoma_model_free(refuse);
        }
    }
    CHECK(n >= 4);
    /* the detectors shipped today, as their pages document them */
    static const char *const explaining[] = {"zscore", "mad", "iqr", "iforest"};
    for (size_t i = 0; i < 4; i++) {
        unsigned flags = 0;
        CHECK_OK(anoma_component_flags(ANOMA_KIND_DETECTOR, explaining[i], &flags));
        CHECK(flags == ANOMA_FLAG_FEATURE_SCORES);
    }
    unsigned flags = 1;
    for (size_t i = 0; anoma_component_name(ANOMA_KIND_STEP, i); i++) {
        const char *step = anoma_component_name(ANOMA_KIND_STEP, i);
        CHECK_OK(anoma_component_flags(ANOMA_KIND_STEP, step, &flags));
        CHECK(flags == (an_step_find(step)->flags & ANOMA_FLAG_STATEFUL));
    }
    CHECK_OK(anoma_component_flags(ANOMA_KIND_MODEL, "model", &flags));
    CHECK(flags == 0);
    CHECK_STATUS(anoma_component_flags(ANOMA_KIND_DETECTOR, "nope", &flags), ANOMA_ERR_UNKNOWN_NAME);
    CHECK(strstr(anoma_last_error(), "nope") != NULL);
    CHECK_STATUS(anoma_component_flags(ANOMA_KIND_MODEL, "zscore", &flags), ANOMA_ERR_UNKNOWN_NAME);
    CHECK_STATUS(anoma_component_flags(ANOMA_KIND_DETECTOR, NULL, &flags),
                 ANOMA_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(anoma_component_flags(ANOMA_KIND_DETECTOR, "zscore", NULL),
                 ANOMA_ERR_INVALID_ARGUMENT);
}

/* ---- scratch ---- */

enum { GUARD = 64 };

/* Every detector's row functions, given exactly the scratch it declares at
 * exactly its alignment (and not more), score as the batch path does and
 * write nothing outside that block. */
static void test_scratch_through_row_paths(void)
{
    for (size_t k = 0; an_detector_at(k); k++) {
        const an_detector_vtable *vt = an_detector_at(k);
        if (!model_fits(vt))
            continue;
        anoma_model *m = fit_one("n_threads=1", vt->name, NULL);
        const an_model_detector *d = &m->detectors[0];
        size_t bytes = an_detector_scratch_bytes(vt, d->state);
        size_t align = an_detector_scratch_align(vt);
        CHECK(align && !(align & (align - 1)) && align <= AN_MAX_ALIGN);
        CHECK(m->scratch_bytes >= bytes && m->scratch_align >= align);
        /* a block at an address that is a multiple of align but not of
         * 2 * align, between two guards */
        unsigned char *raw = malloc(bytes + 2 * GUARD + 4 * AN_MAX_ALIGN);
        uintptr_t at = ((uintptr_t)raw + GUARD + 2 * align - 1) & ~(uintptr_t)(2 * align - 1);
        if (align < AN_MAX_ALIGN)
            at += align;
        unsigned char *scratch = (unsigned char *)at;
        memset(raw, 0xA5, bytes + 2 * GUARD + 4 * AN_MAX_ALIGN);
        double batch[ROWS], row_scores[ROWS];
        const double *rows = data_for(vt);
        anoma_matrix x = anoma_matrix_f64(rows, ROWS, COLS);
        CHECK_OK(anoma_model_score_detector(m, 0, &x, batch));
        double *feature = malloc(COLS * sizeof *feature);
        for (size_t i = 0; i < ROWS; i++) {
            vt->score_row(d->state, rows + i * COLS, scratch, &row_scores[i]);
            if (vt->feature_scores_row)
                vt->feature_scores_row(d->state, rows + i * COLS, scratch, feature);
        }
        CHECK(!memcmp(batch, row_scores, sizeof batch));
        int clean = 1;
        for (unsigned char *p = raw; p < scratch; p++)
            clean &= *p == 0xA5;
        for (unsigned char *p = scratch + bytes; p < scratch + bytes + GUARD; p++)
            clean &= *p == 0xA5;
        CHECK(clean);
        if (!clean)
            printf("  detector %s wrote outside its %zu scratch bytes\n", vt->name, bytes);
        free(feature);
        free(raw);
        anoma_model_free(m);
    }
}

static void test_aligned_allocation(void)
{
    for (size_t align = 1; align <= 4096; align *= 2) {
        unsigned char *p = an_malloc_aligned(100, align);
        CHECK(p && (uintptr_t)p % align == 0);
        memset(p, 1, 100);
        an_free_aligned(p);
    }
    CHECK(an_malloc_aligned(8, 3) == NULL);    /* not a power of two */
    CHECK(an_malloc_aligned(8, 8192) == NULL); /* beyond the documented bound */
    CHECK(an_malloc_aligned(SIZE_MAX - 4, 64) == NULL);
    an_free_aligned(NULL);
    test_alloc_install(0); /* the host's allocator is the one used */
    CHECK(an_malloc_aligned(16, 16) == NULL);
    test_alloc_restore();
}

/* ---- payload versions ---- */

static const uint32_t known_sections[] = {AN_SECTION_META, AN_SECTION_MODEL, AN_SECTION_PIPELINE,
                                          AN_SECTION_DETECTOR, AN_SECTION_SHARED_ROWS};

/* A model's file with the payload version of every detector section
 * replaced by `version`. */
static void with_payload_version(const anoma_model *m, uint32_t version, an_writer *out)
{
    size_t size = 0;
    unsigned char *file = TEST_SAVED_BYTES(m, &size);
    an_section_list list = {0};
    CHECK_OK(an_format_decode(file, size, known_sections, 5, &list));
    CHECK(list.minor == AN_FORMAT_MINOR);
    for (size_t i = 0; i < list.n; i++) {
        if (list.items[i].type != AN_SECTION_DETECTOR)
            continue;
        an_reader r = an_reader_make(list.items[i].data, list.items[i].size, "test");
        an_free(an_get_str(&r));
        an_free(an_get_str(&r));
        an_get_f64(&r);
        an_get_f64(&r);
        CHECK(!r.failed && r.pos + 4 <= r.len);
        CHECK(an_get_u32(&r) == m->detectors[0].vt->payload_version);
        unsigned char *v = (unsigned char *)list.items[i].data + r.pos - 4;
        for (int b = 0; b < 4; b++)
            v[b] = (unsigned char)(version >> (8 * b));
    }
    CHECK_OK(an_format_encode(list.items, list.n, out));
    an_section_list_free(&list);
    free(file);
}

static void test_payload_version(void)
{
    for (size_t k = 0; an_detector_at(k); k++) {
        const an_detector_vtable *vt = an_detector_at(k);
        if (!model_fits(vt))
            continue;
        anoma_model *m = fit_one(NULL, vt->name, NULL), *back = NULL;
        an_writer w = {0};
        with_payload_version(m, vt->payload_version, &w); /* the same file */
        CHECK_OK(anoma_model_load_memory(w.data, w.len, &back));
        anoma_model_free(back);
        an_writer_free(&w);

        with_payload_version(m, vt->payload_version + 1, &w);
        CHECK_STATUS(anoma_model_load_memory(w.data, w.len, &back), ANOMA_ERR_VERSION);
        CHECK(strstr(anoma_last_error(), vt->name) && strstr(anoma_last_error(), "payload version"));
        CHECK(back == NULL);
        an_writer_free(&w);

        with_payload_version(m, 0, &w);
        CHECK_STATUS(anoma_model_load_memory(w.data, w.len, &back), ANOMA_ERR_FORMAT);
        an_writer_free(&w);
        anoma_model_free(m);
    }
}

/* Format 1.0, before payload versions: a file written by libanoma 0.1.0
 * (tests/data/README.md) loads, its payloads taken as version 1, and scores
 * as the same model fitted today on the same rows. */
enum { N_OLD = TEST_OLD_ROWS, D_OLD = TEST_OLD_COLS };

/* The model the files of tests/data were made as, fitted today on x, with
 * these model parameters. */
static anoma_model *fitted_today(const char *params, const anoma_matrix *x)
{
    anoma_model *today = NULL;
    CHECK_OK(anoma_model_create(params, &today));
    CHECK_OK(anoma_model_add_detector(today, "zscore", NULL, NULL));
    CHECK_OK(anoma_model_add_detector(today, "iforest", "n_trees=3 max_samples=16 seed=5", NULL));
    CHECK_OK(anoma_model_fit(today, x, NULL, NULL));
    return today;
}

/* The same scores and threshold, bit for bit. */
static void check_scores_alike(const anoma_model *old, const anoma_model *today,
                               const anoma_matrix *x)
{
    double s_old[N_OLD], s_today[N_OLD], t_old, t_today;
    CHECK_OK(anoma_model_score(old, x, s_old));
    CHECK_OK(anoma_model_score(today, x, s_today));
    CHECK(!memcmp(s_old, s_today, sizeof s_old));
    CHECK_OK(anoma_model_threshold(old, &t_old));
    CHECK_OK(anoma_model_threshold(today, &t_today));
    CHECK(t_old == t_today);
}

static void test_format_1_0_file(void)
{
    enum { N = N_OLD, D = D_OLD };
    double x[N * D];
    anoma_model *old = test_read_old_rows(x) ? test_load_old("model-1.0.anoma") : NULL;
    if (!old)
        return;
    CHECK(anoma_model_n_detectors(old) == 2 && anoma_model_n_features(old) == D);
    CHECK(!strcmp(anoma_model_feature_name(old, 8), "f8"));

    anoma_matrix xm = anoma_matrix_f64(x, N, D);
    anoma_model *today = fitted_today(NULL, &xm);
    check_scores_alike(old, today, &xm);
    double z[N];
    /* the zscore member against its definition, computed here */
    CHECK_OK(anoma_model_score_detector(old, 0, &xm, z));
    for (size_t i = 0; i < N; i++) {
        double best = 0;
        for (size_t j = 0; j < D; j++) {
            double mean = 0, ss = 0;
            for (size_t r = 0; r < N; r++)
                mean += x[r * D + j] / N;
            for (size_t r = 0; r < N; r++)
                ss += (x[r * D + j] - mean) * (x[r * D + j] - mean);
            double sd = sqrt(ss / N), v = fabs(x[i * D + j] - mean) / (sd > 0 ? sd : 1);
            best = v > best ? v : best;
        }
        CHECK_NEAR(z[i], best, 1e-12);
    }
    /* saved again, it is a current file */
    size_t size = 0;
    unsigned char *bytes = TEST_SAVED_BYTES(old, &size);
    CHECK(bytes[10] == AN_FORMAT_MINOR);
    free(bytes);
    anoma_model_free(old);
    anoma_model_free(today);
}

/* A 1.1 file from before the ensemble and probability sections
 * (tests/data/README.md): an ensemble normalised by min-max, combined by
 * max, loads and scores as the same model fitted today; it has no
 * probability, since it holds no score distribution. */
static void test_ensemble_file_before_sections(void)
{
    enum { N = N_OLD, D = D_OLD };
    double x[N * D];
    anoma_model *old = test_read_old_rows(x) ? test_load_old("model-0.2-minmax.anoma") : NULL;
    if (!old)
        return;
    anoma_matrix xm = anoma_matrix_f64(x, N, D);
    anoma_model *today = fitted_today("normalize=minmax ensemble=max", &xm);
    check_scores_alike(old, today, &xm);
    double p[N];
    CHECK_STATUS(anoma_model_probability(old, &xm, p, NULL), ANOMA_ERR_UNSUPPORTED);
    CHECK_OK(anoma_model_probability(today, &xm, p, NULL));
    anoma_model_free(old);
    anoma_model_free(today);
}

/* ---- stateful detectors ---- */

static size_t fake_entity_bytes(const void *state) { (void)state; return sizeof(double); }
static void fake_entity_init(const void *state, void *entity) { (void)state; *(double *)entity = 0; }
static void fake_update(const void *state, void *entity, const double *row, void *scratch,
                        double *score)
{
    (void)state, (void)scratch;
    *score = row[0] - *(double *)entity;
    *(double *)entity = row[0];
}
static anoma_status fake_entity_save(const void *state, const void *entity, an_writer *w)
{
    (void)state;
    an_put_f64(w, *(const double *)entity);
    return an_writer_status(w);
}
static anoma_status fake_entity_restore(const void *state, void *entity, an_reader *r)
{
    (void)state;
    *(double *)entity = an_get_f64(r);
    return an_reader_status(r);
}

/* A model whose only detector is a fitted zscore declared stateful, the
 * way a sequence detector would be. Test-only: no stateful detector ships
 * before streams exist. */
static void test_stateful_refused_outside_streams(void)
{
    an_detector_vtable stateful = *an_detector_find("zscore");
    stateful.name = "test_stateful";
    stateful.flags |= ANOMA_FLAG_STATEFUL;
    stateful.entity_bytes = fake_entity_bytes;
    stateful.entity_align = _Alignof(double);
    stateful.entity_init = fake_entity_init;
    stateful.entity_update_score = fake_update;
    stateful.entity_save = fake_entity_save;
    stateful.entity_restore = fake_entity_restore;

    anoma_model *m = fit_one(NULL, "zscore", NULL);
    m->detectors[0].vt = &stateful;
    anoma_matrix x = anoma_matrix_f64(data, ROWS, COLS);
    double scores[ROWS];
    int flags[ROWS];
    anoma_row_scorer *rs = NULL;
    CHECK_STATUS(anoma_model_score(m, &x, scores), ANOMA_ERR_UNSUPPORTED);
    CHECK(strstr(anoma_last_error(), "test_stateful") && strstr(anoma_last_error(), "stream"));
    CHECK_STATUS(anoma_model_score_detector(m, 0, &x, scores), ANOMA_ERR_UNSUPPORTED);
    CHECK_STATUS(anoma_model_predict(m, &x, flags), ANOMA_ERR_UNSUPPORTED);
    CHECK_STATUS(anoma_row_scorer_create(m, &rs), ANOMA_ERR_UNSUPPORTED);
    CHECK(rs == NULL);
    /* fitting one is refused too, before any work */
    m->fitted = 0;
    CHECK_STATUS(anoma_model_fit(m, &x, NULL, NULL), ANOMA_ERR_UNSUPPORTED);
    m->detectors[0].vt = an_detector_find("zscore");
    anoma_model_free(m);

    /* the stateful part itself, as a stream will drive it */
    unsigned char entity[sizeof(double)], restored[sizeof(double)];
    stateful.entity_init(NULL, entity);
    double s1, s2;
    stateful.entity_update_score(NULL, entity, (double[]){3}, NULL, &s1);
    an_writer w = {0};
    CHECK_OK(stateful.entity_save(NULL, entity, &w));
    an_reader r = an_reader_make(w.data, w.len, "entity");
    CHECK_OK(stateful.entity_restore(NULL, restored, &r));
    stateful.entity_update_score(NULL, restored, (double[]){5}, NULL, &s2);
    CHECK(s1 == 3 && s2 == 2);
    an_writer_free(&w);
}

/* ---- the thread count, a run-time option ---- */

static void test_n_threads_on_loaded_model(void)
{
    anoma_model *m = fit_one("n_threads=1", "iforest", "n_trees=50 seed=3");
    size_t size = 0;
    unsigned char *file = NULL;
    anoma_model *back = TEST_RELOADED(m, &file, &size);
    unsigned char *again = malloc(size);
    enum { BIG = 20000 };
    double *x = malloc(BIG * COLS * sizeof *x), *ref = malloc(BIG * sizeof *ref),
           *got = malloc(BIG * sizeof *got);
    for (size_t i = 0; i < BIG * COLS; i++)
        x[i] = data[i % (ROWS * COLS)] + (double)(i % 7) * 0.25;
    anoma_matrix xm = anoma_matrix_f64(x, BIG, COLS);
    CHECK_OK(anoma_model_score(m, &xm, ref));
    static const size_t counts[] = {1, 2, 3, 8, 0};
    for (size_t c = 0; c < sizeof counts / sizeof *counts; c++) {
        CHECK_OK(anoma_model_set_n_threads(back, counts[c]));
        CHECK(an_model_n_threads(back) == counts[c]);
        CHECK_OK(anoma_model_score(back, &xm, got));
        CHECK(!memcmp(ref, got, BIG * sizeof *ref));
    }
    /* the text parameters say it, the file does not keep it */
    char text[512];
    CHECK_OK(anoma_model_params(back, text, sizeof text, NULL));
    CHECK(strstr(text, "n_threads=0") != NULL);
    size_t size2 = 0;
    CHECK_OK(anoma_model_save_memory(back, again, size, &size2));
    CHECK(size2 == size && !memcmp(file, again, size));
    CHECK_STATUS(anoma_model_set_n_threads(back, 5000), ANOMA_ERR_PARAM_VALUE);
    CHECK(an_model_n_threads(back) == 0);
    CHECK_STATUS(anoma_model_set_n_threads(NULL, 1), ANOMA_ERR_INVALID_ARGUMENT);
    /* still the one other parameter a fitted model refuses */
    CHECK_STATUS(anoma_model_set_param(back, "contamination", "0.2"), ANOMA_ERR_UNSUPPORTED);
    free(x);
    free(ref);
    free(got);
    free(file);
    free(again);
    anoma_model_free(back);
    anoma_model_free(m);
}

/* A model file is what the data and the parameters make, whatever the
 * thread count of the fit: every detector, fitted on rows enough for its
 * parallel paths with 1, 2 and 3 threads, saves the same bytes. */
static void test_model_bytes_same_for_thread_counts(void)
{
    enum { BIG = 3000 };
    double *x = malloc(BIG * COLS * sizeof *x), *x_complete = malloc(BIG * COLS * sizeof *x);
    int *y = malloc(BIG * sizeof *y);
    for (size_t i = 0; i < BIG * COLS; i++) {
        double shift = (double)(i / (ROWS * COLS)) * 0.125;
        x[i] = data[i % (ROWS * COLS)] + shift;
        x_complete[i] = complete[i % (ROWS * COLS)] + shift;
    }
    for (size_t i = 0; i < BIG; i++)
        y[i] = labels[i % ROWS];
    for (size_t k = 0; an_detector_at(k); k++) {
        const an_detector_vtable *vt = an_detector_at(k);
        if (!model_fits(vt))
            continue;
        anoma_matrix xm = anoma_matrix_f64(vt->flags & ANOMA_FLAG_COMPLETE_ROWS ? x_complete : x,
                                           BIG, COLS);
        unsigned char *first = NULL;
        size_t first_size = 0;
        static const char *const threads[] = {"n_threads=1", "n_threads=2", "n_threads=3"};
        for (size_t t = 0; t < sizeof threads / sizeof *threads; t++) {
            anoma_model *m = NULL;
            CHECK_OK(anoma_model_create(threads[t], &m));
            CHECK_OK(anoma_model_add_detector(m, vt->name, NULL, NULL));
            CHECK_OK(anoma_model_fit(m, &xm, vt->flags & ANOMA_FLAG_SUPERVISED ? y : NULL, NULL));
            size_t size = 0;
            unsigned char *bytes = TEST_SAVED_BYTES(m, &size);
            if (!first) {
                first = bytes;
                first_size = size;
            } else {
                int same = size == first_size && !memcmp(first, bytes, size);
                CHECK(same);
                if (!same)
                    printf("  detector %s: %s saves other bytes than n_threads=1\n", vt->name,
                           threads[t]);
                free(bytes);
            }
            anoma_model_free(m);
        }
        free(first);
    }
    free(x);
    free(x_complete);
    free(y);
}

int main(void)
{
    make_data();
    RUN(test_flags_match_detectors);
    RUN(test_aligned_allocation);
    RUN(test_scratch_through_row_paths);
    RUN(test_payload_version);
    RUN(test_format_1_0_file);
    RUN(test_ensemble_file_before_sections);
    RUN(test_stateful_refused_outside_streams);
    RUN(test_n_threads_on_loaded_model);
    RUN(test_model_bytes_same_for_thread_counts);
    return test_summary();
}
