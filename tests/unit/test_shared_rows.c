/* Training rows shared by the neighbour detectors of a model
 * (lib/detectors/neighbor_data.h): lof and two knn fitted on the same rows
 * hold and save one matrix and score exactly as each alone; a file written
 * before sharing (each payload with its matrix inline) loads and scores as
 * the model fitted today, and is written with one matrix when saved again;
 * an imported payload with its matrix inline joins the table; references
 * out of range, unreferenced matrices and every truncation are refused;
 * allocation failures anywhere leave nothing behind. */
#include "testing.h"

#include "core/alloc.h"
#include "io/format.h"

#include <stdlib.h>
#include <string.h>

enum { N = 400, D = 6, M = 50 };

static const char *const names[3] = {"lof", "knn", "knn"};
static const char *const params[3] = {"n_neighbors=10", "n_neighbors=3",
                                      "n_neighbors=5 method=mean"};

/* Values with many distinct bits, so that zlib cannot shrink a matrix
 * much and a file's size shows how many it holds. */
static double *rows_of(size_t n, unsigned seed)
{
    double *x = malloc(n * D * sizeof *x);
    test_fill(x, n * D, seed, 1000003, 997.0);
    return x;
}

static const uint32_t known[] = {AN_SECTION_META, AN_SECTION_MODEL, AN_SECTION_PIPELINE,
                                 AN_SECTION_DETECTOR, AN_SECTION_SHARED_ROWS,
                                 AN_SECTION_PROBABILITY, AN_SECTION_ENSEMBLE};

static size_t count_sections(const unsigned char *file, size_t size, uint32_t type)
{
    an_section_list list = {0};
    CHECK_OK(an_format_decode(file, size, known, sizeof known / sizeof *known, &list));
    size_t count = 0;
    for (size_t i = 0; i < list.n; i++)
        count += list.items[i].type == type;
    an_section_list_free(&list);
    return count;
}

static void test_one_matrix_for_three_detectors(void)
{
    double *x = rows_of(N, 1), *q = rows_of(M, 2);
    anoma_matrix mx = anoma_matrix_f64(x, N, D), mq = anoma_matrix_f64(q, M, D);
    anoma_model *all = NULL, *alone[3];
    CHECK_OK(anoma_model_create("contamination=0.1", &all));
    for (int k = 0; k < 3; k++) {
        CHECK_OK(anoma_model_add_detector(all, names[k], params[k], NULL));
        alone[k] = test_fit_one("contamination=0.1", names[k], params[k], x, N, D);
    }
    CHECK_OK(anoma_model_fit(all, &mx, NULL, NULL));
    size_t all_size, lof_size;
    unsigned char *all_bytes = TEST_SAVED_BYTES(all, &all_size);
    unsigned char *lof_bytes = TEST_SAVED_BYTES(alone[0], &lof_size);
    size_t matrix = N * D * sizeof(double);
    CHECK(count_sections(all_bytes, all_size, AN_SECTION_SHARED_ROWS) == 1);
    CHECK(count_sections(lof_bytes, lof_size, AN_SECTION_SHARED_ROWS) == 1);
    /* two knn more than lof alone: their training scores, not a matrix */
    CHECK(lof_size > matrix / 2 && all_size < lof_size + matrix / 2);
    CHECK(anoma_model_memory_bytes(all) < anoma_model_memory_bytes(alone[0]) + matrix / 2);
    char text[4096];
    CHECK_OK(anoma_model_describe(all, text, sizeof text, NULL));
    CHECK(strstr(text, "shared training rows 0: 400 x 6, used by 3 detectors") != NULL);

    anoma_model *back = NULL;
    CHECK_OK(anoma_model_load_memory(all_bytes, all_size, &back));
    CHECK(anoma_model_memory_bytes(back) == anoma_model_memory_bytes(all));
    for (int k = 0; k < 3; k++) {
        double expect[M], got[M], again[M], train_expect[N], train_got[N], train_again[N];
        CHECK_OK(anoma_model_score_detector(alone[k], 0, &mq, expect));
        CHECK_OK(anoma_model_score_detector(all, (size_t)k, &mq, got));
        CHECK_OK(anoma_model_score_detector(back, (size_t)k, &mq, again));
        CHECK(!memcmp(expect, got, sizeof got) && !memcmp(expect, again, sizeof again));
        CHECK_OK(anoma_model_training_scores(alone[k], 0, train_expect, N, NULL));
        CHECK_OK(anoma_model_training_scores(all, (size_t)k, train_got, N, NULL));
        CHECK_OK(anoma_model_training_scores(back, (size_t)k, train_again, N, NULL));
        CHECK(!memcmp(train_expect, train_got, sizeof train_got));
        CHECK(!memcmp(train_expect, train_again, sizeof train_again));
        anoma_model_free(alone[k]);
    }
    /* the row path reads the same shared rows */
    anoma_row_scorer *rs = NULL;
    double batch[M];
    CHECK_OK(anoma_model_score(back, &mq, batch));
    CHECK_OK(anoma_row_scorer_create(back, &rs));
    for (size_t i = 0; i < M; i++) {
        double s;
        int flag;
        CHECK_OK(anoma_row_scorer_score(rs, q + i * D, D, &s, &flag));
        CHECK(s == batch[i]);
    }
    anoma_row_scorer_free(rs);
    anoma_model_free(back);
    anoma_model_free(all);
    free(all_bytes);
    free(lof_bytes);
    free(x);
    free(q);
}

/* tests/data/model-0.2-lof-knn.anoma was written before rows were shared:
 * each payload (version 1) holds the matrix. It loads with one matrix,
 * scores as the same model fitted today, and saves with one, which loads
 * and scores alike. */
static void test_file_from_before_sharing(void)
{
    double x[TEST_OLD_ROWS * TEST_OLD_COLS];
    anoma_model *old = test_read_old_rows(x) ? test_load_old("model-0.2-lof-knn.anoma") : NULL;
    if (!old)
        return;
    anoma_matrix mx = anoma_matrix_f64(x, TEST_OLD_ROWS, TEST_OLD_COLS);
    anoma_model *today = NULL;
    CHECK_OK(anoma_model_create("contamination=0.1", &today));
    CHECK_OK(anoma_model_add_detector(today, "lof", "n_neighbors=5", NULL));
    CHECK_OK(anoma_model_add_detector(today, "knn", "n_neighbors=3", NULL));
    CHECK_OK(anoma_model_fit(today, &mx, NULL, NULL));
    double s_old[TEST_OLD_ROWS], s_today[TEST_OLD_ROWS], t_old, t_today;
    CHECK_OK(anoma_model_score(old, &mx, s_old));
    CHECK_OK(anoma_model_score(today, &mx, s_today));
    CHECK(!memcmp(s_old, s_today, sizeof s_old));
    CHECK_OK(anoma_model_threshold(old, &t_old));
    CHECK_OK(anoma_model_threshold(today, &t_today));
    CHECK(t_old == t_today);
    char text[4096];
    CHECK_OK(anoma_model_describe(old, text, sizeof text, NULL));
    CHECK(strstr(text, "shared training rows 0: 40 x 9, used by 2 detectors") != NULL);
    CHECK(!strstr(text, "shared training rows 1"));
    size_t size = 0;
    unsigned char *bytes = TEST_SAVED_BYTES(old, &size);
    CHECK(count_sections(bytes, size, AN_SECTION_SHARED_ROWS) == 1);
    anoma_model *again = NULL;
    CHECK_OK(anoma_model_load_memory(bytes, size, &again));
    CHECK_OK(anoma_model_score(again, &mx, s_today));
    CHECK(!memcmp(s_old, s_today, sizeof s_old));
    anoma_model_free(again);
    free(bytes);
    anoma_model_free(old);
    anoma_model_free(today);
}

/* A knn payload of the current version with its matrix inline, as an
 * importer writes it (docs/detectors/knn.md): rows 0, 1, 3, k = 1, the
 * training scores 1, 1, 2. */
static size_t inline_knn_payload(unsigned char *buf, uint32_t ref)
{
    an_writer w = {0};
    an_put_u64(&w, 1);
    an_put_u32(&w, ref);
    if (!ref) {
        const double x[3] = {0, 1, 3};
        an_put_u64(&w, 3);
        an_put_u64(&w, 1);
        an_put_f64_array(&w, x, 3);
    }
    const double train[3] = {1, 1, 2};
    an_put_f64_array(&w, train, 3);
    CHECK_OK(an_writer_status(&w));
    memcpy(buf, w.data, w.len);
    size_t len = w.len;
    an_writer_free(&w);
    return len;
}

static void test_imported_rows_join_the_table(void)
{
    unsigned char payload[128];
    size_t len = inline_knn_payload(payload, 0);
    const double x[3] = {0, 1, 3}, other[3] = {0, 2, 5}, q[1] = {6};
    anoma_matrix mq = anoma_matrix_f64(q, 1, 1);
    /* alone: fitted now, its rows in the table */
    anoma_model *m = NULL;
    CHECK_OK(anoma_model_create("threshold=2.5", &m));
    CHECK_OK(anoma_model_import_detector(m, "knn", "n_neighbors=1", payload, len, 1));
    double s;
    CHECK_OK(anoma_model_score(m, &mq, &s));
    CHECK(s == 3);
    size_t size = 0;
    unsigned char *bytes = TEST_SAVED_BYTES(m, &size);
    CHECK(count_sections(bytes, size, AN_SECTION_SHARED_ROWS) == 1);
    free(bytes);
    anoma_model_free(m);
    /* beside lof fitted on the same rows: one matrix; on other rows: two */
    for (int same = 1; same >= 0; same--) {
        CHECK_OK(anoma_model_create("contamination=0.3", &m));
        CHECK_OK(anoma_model_add_detector(m, "lof", "n_neighbors=1", NULL));
        CHECK_OK(anoma_model_import_detector(m, "knn", "n_neighbors=1", payload, len, 1));
        anoma_matrix mx = anoma_matrix_f64(same ? x : other, 3, 1);
        CHECK_OK(anoma_model_fit(m, &mx, NULL, NULL));
        bytes = TEST_SAVED_BYTES(m, &size);
        CHECK(count_sections(bytes, size, AN_SECTION_SHARED_ROWS) == (same ? 1u : 2u));
        anoma_model *back = NULL;
        CHECK_OK(anoma_model_load_memory(bytes, size, &back));
        double a, b;
        CHECK_OK(anoma_model_score(m, &mq, &a));
        CHECK_OK(anoma_model_score(back, &mq, &b));
        CHECK(a == b);
        anoma_model_free(back);
        free(bytes);
        anoma_model_free(m);
    }
    /* a reference means nothing outside a model file */
    len = inline_knn_payload(payload, 1);
    CHECK_OK(anoma_model_create("threshold=2.5", &m));
    CHECK_STATUS(anoma_model_import_detector(m, "knn", "n_neighbors=1", payload, len, 1),
                 ANOMA_ERR_FORMAT);
    CHECK(anoma_model_n_detectors(m) == 0);
    anoma_model_free(m);
}

/* The position of the u32 rows reference in a lof or knn detector
 * section: after the name, parameters, shift, scale, payload version and k. */
static size_t reference_at(const an_section *s)
{
    an_reader r = an_reader_make(s->data, s->size, "test");
    an_free(an_get_str(&r));
    an_free(an_get_str(&r));
    an_get_f64(&r);
    an_get_f64(&r);
    an_get_u32(&r);
    an_get_u64(&r);
    CHECK(!r.failed);
    return r.pos;
}

/* The file of m with its sections changed by `edit`, loaded: the status. */
static anoma_status load_edited(const unsigned char *file, size_t size,
                                void (*edit)(an_section_list *list))
{
    an_section_list list = {0};
    CHECK_OK(an_format_decode(file, size, known, sizeof known / sizeof *known, &list));
    edit(&list);
    an_writer w = {0};
    CHECK_OK(an_format_encode(list.items, list.n, &w));
    anoma_model *back = NULL;
    anoma_status st = anoma_model_load_memory(w.data, w.len, &back);
    CHECK(st == ANOMA_OK || back == NULL);
    anoma_model_free(back);
    an_writer_free(&w);
    an_section_list_free(&list);
    return st;
}

static void set_reference(an_section_list *list, uint32_t ref)
{
    for (size_t i = 0; i < list->n; i++)
        if (list->items[i].type == AN_SECTION_DETECTOR) {
            unsigned char *p = (unsigned char *)list->items[i].data + reference_at(&list->items[i]);
            for (int b = 0; b < 4; b++)
                p[b] = (unsigned char)(ref >> (8 * b));
        }
}

static void reference_beyond(an_section_list *list) { set_reference(list, 2); }
static void reference_none(an_section_list *list) { set_reference(list, 0); }
static void reference_same(an_section_list *list) { set_reference(list, 1); }

/* A second shared rows section, a copy of the first, that nothing uses. */
static void matrix_twice(an_section_list *list)
{
    for (size_t i = 0; i < list->n; i++)
        if (list->items[i].type == AN_SECTION_SHARED_ROWS) {
            an_section *grown = an_realloc_array(list->items, list->n + 1, sizeof *grown);
            list->items = grown;
            unsigned char *copy = an_malloc(grown[i].size);
            memcpy(copy, grown[i].data, grown[i].size);
            grown[list->n] = grown[i];
            grown[list->n].data = copy;
            list->n++;
            return;
        }
}

/* The matrix one column narrower than the model's width. */
static void matrix_narrower(an_section_list *list)
{
    for (size_t i = 0; i < list->n; i++)
        if (list->items[i].type == AN_SECTION_SHARED_ROWS) {
            unsigned char *p = (unsigned char *)list->items[i].data + 8;
            p[0]--;
        }
}

static void test_hostile_references(void)
{
    double *x = rows_of(N, 3);
    anoma_model *m = NULL;
    CHECK_OK(anoma_model_create("contamination=0.1", &m));
    CHECK_OK(anoma_model_add_detector(m, "lof", "n_neighbors=4", NULL));
    CHECK_OK(anoma_model_add_detector(m, "knn", "n_neighbors=2", NULL));
    anoma_matrix mx = anoma_matrix_f64(x, N, D);
    CHECK_OK(anoma_model_fit(m, &mx, NULL, NULL));
    size_t size = 0;
    unsigned char *bytes = TEST_SAVED_BYTES(m, &size);
    CHECK_OK(load_edited(bytes, size, reference_same)); /* unchanged: loads */
    CHECK_STATUS(load_edited(bytes, size, reference_beyond), ANOMA_ERR_FORMAT);
    CHECK_STATUS(load_edited(bytes, size, reference_none), ANOMA_ERR_FORMAT);
    CHECK_STATUS(load_edited(bytes, size, matrix_twice), ANOMA_ERR_FORMAT);
    CHECK(strstr(anoma_last_error(), "shared rows section 1 is used by no detector") != NULL);
    CHECK_STATUS(load_edited(bytes, size, matrix_narrower), ANOMA_ERR_FORMAT);
    for (size_t cut = 0; cut < size; cut += 97) {
        anoma_model *bad = NULL;
        if (anoma_model_load_memory(bytes, cut, &bad) == ANOMA_OK) {
            test_fail(__FILE__, __LINE__, "a model cut at %zu of %zu bytes loaded", cut, size);
            anoma_model_free(bad);
        }
    }
    free(bytes);
    anoma_model_free(m);
    free(x);
}

static void test_allocation_failures(void)
{
    double *x = test_tied_rows(90, 3, 5, 0, 51);
    test_reload_case c = {"contamination=0.1 n_threads=2", {"lof", "knn", "knn"},
                          {"n_neighbors=5", "n_neighbors=2 algorithm=brute", "n_neighbors=4"},
                          x, 90, 3, NULL};
    CHECK_ALLOC_FAILURES(test_fit_reload, &c);
    free(x);
}

int main(void)
{
    RUN(test_one_matrix_for_three_detectors);
    RUN(test_file_from_before_sharing);
    RUN(test_imported_rows_join_the_table);
    RUN(test_hostile_references);
    RUN(test_allocation_failures);
    return test_summary();
}
