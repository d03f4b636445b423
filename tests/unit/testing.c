#include "testing.h"

#include "core/alloc.h"
#include "core/rng.h"
#include "features/pipeline.h"
#include "io/format.h"
#include <stdatomic.h>
#include <stdint.h>

#include <stdarg.h>
#include <stdlib.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>

static int passed, failed, skipped;
static int current_failed, current_skipped;
static const char *current_name = "";

void test_fail(const char *file, int line, const char *fmt, ...)
{
    va_list args;
    fprintf(stdout, "  %s:%d: ", file, line);
    va_start(args, fmt);
    vfprintf(stdout, fmt, args);
    va_end(args);
    fputc('\n', stdout);
    current_failed++;
}

void test_skip(const char *why)
{
    printf("skip %s: %s\n", current_name, why);
    current_skipped = 1;
}

void test_run(const char *name, void (*fn)(void))
{
    current_name = name;
    current_failed = 0;
    current_skipped = 0;
    fn();
    if (current_failed) {
        printf("FAIL %s\n", name);
        failed++;
    } else if (current_skipped) {
        skipped++;
    } else {
        printf("ok %s\n", name);
        passed++;
    }
    fflush(stdout);
}

int test_summary(void)
{
    printf("%d passed, %d failed, %d skipped\n", passed, failed, skipped);
    return failed ? 1 : 0;
}

const char *test_data_path(const char *file, char *buf, size_t cap)
{
    const char *dir = getenv("ANOMA_SHARED_DATA");
    if (!dir)
        dir = "../shared/data";
    snprintf(buf, cap, "%s/%s", dir, file);
    return access(buf, R_OK) == 0 ? buf : NULL;
}

/* Atomic: detectors allocate from worker threads too. */
static _Atomic long alloc_budget, alloc_live, alloc_made;
static _Atomic size_t alloc_largest, alloc_cap = SIZE_MAX;

static int alloc_allowed(size_t size)
{
    size_t seen = alloc_largest;
    while (size > seen && !atomic_compare_exchange_weak(&alloc_largest, &seen, size))
        ;
    return size <= alloc_cap && (alloc_budget < 0 || alloc_budget-- > 0);
}

static void *budget_malloc(void *user, size_t size)
{
    (void)user;
    void *p = alloc_allowed(size) ? malloc(size) : NULL;
    alloc_live += p != NULL;
    alloc_made += p != NULL;
    return p;
}

static void *budget_realloc(void *user, void *ptr, size_t size)
{
    (void)user;
    void *p = alloc_allowed(size) ? realloc(ptr, size) : NULL;
    alloc_live += p != NULL && ptr == NULL;
    alloc_made += p != NULL;
    return p;
}

static void counting_free(void *user, void *ptr)
{
    (void)user;
    alloc_live -= ptr != NULL;
    free(ptr);
}

void test_alloc_install(long budget)
{
    static const anoma_allocator counting = {budget_malloc, budget_realloc, counting_free, NULL};
    alloc_budget = budget;
    alloc_live = 0;
    alloc_made = 0;
    alloc_largest = 0;
    alloc_cap = SIZE_MAX;
    anoma_set_allocator(&counting);
}

long test_alloc_live(void) { return alloc_live; }

long test_alloc_made(void) { return alloc_made; }

void test_alloc_cap(size_t largest) { alloc_cap = largest; }

size_t test_alloc_largest(void) { return alloc_largest; }

void test_alloc_restore(void) { anoma_set_allocator(NULL); }

long test_alloc_failures(const char *file, int line, anoma_status (*attempt)(void *ctx),
                         void *ctx)
{
    for (long k = 0;; k++) {
        test_alloc_install(k);
        anoma_status st = attempt(ctx);
        long live = test_alloc_live();
        int failed_one = alloc_budget < 0; /* the k-th allocation was refused */
        test_alloc_restore();
        if (st != ANOMA_OK && st != ANOMA_ERR_NO_MEMORY)
            test_fail(file, line, "allocation %ld failing: %s: %s", k, anoma_status_str(st),
                      anoma_last_error());
        if (live)
            test_fail(file, line, "allocation %ld failing: %ld blocks left alive", k, live);
        /* an operation that succeeds despite a refusal (a shrink that keeps
         * its block) still has allocations after it to try */
        if (!failed_one || (st != ANOMA_ERR_NO_MEMORY && st != ANOMA_OK) || live)
            return k;
    }
}

double *test_pipeline_agrees(const char *file, int line, const an_pipeline *p, const an_input *in,
                             const double *fit_out, size_t threads)
{
    size_t rows = in->rows, w = p->n_outputs, bytes = rows * w * sizeof(double);
    double *batch = malloc(bytes + 1), *one = malloc(bytes + 1), *loaded = malloc(bytes + 1);
    an_pipeline_work *work = NULL;
    an_writer image = {0};
    an_pipeline back = {0};
    int same = batch && one && loaded &&
               an_pipeline_transform(p, in, threads, batch) == ANOMA_OK &&
               an_pipeline_work_create(p, 1, &work) == ANOMA_OK;
    for (size_t i = 0; same && i < rows; i++)
        same = an_pipeline_run_block(p, work, in, i, 1, one + i * w) == ANOMA_OK;
    an_pipeline_work_free(work);
    if (same) {
        an_pipeline_save(p, &image);
        an_reader r = an_reader_make(image.data, image.len, "pipeline");
        same = an_writer_status(&image) == ANOMA_OK && an_pipeline_load(&back, &r) == ANOMA_OK &&
               r.pos == r.len && back.n_outputs == w &&
               an_pipeline_transform(&back, in, 1, loaded) == ANOMA_OK;
    }
    if (!same)
        test_fail(file, line, "pipeline: %s", anoma_last_error());
    else if (memcmp(fit_out, batch, bytes) || memcmp(batch, one, bytes) ||
             memcmp(batch, loaded, bytes))
        test_fail(file, line, "pipeline: fit %s batch, row by row %s, reloaded %s",
                  memcmp(fit_out, batch, bytes) ? "!=" : "==",
                  memcmp(batch, one, bytes) ? "!=" : "==",
                  memcmp(batch, loaded, bytes) ? "!=" : "==");
    for (size_t cut = 0; same && cut < image.len; cut++) {
        an_pipeline q = {0};
        an_reader r = an_reader_make(image.data, cut, "pipeline");
        if (an_pipeline_load(&q, &r) == ANOMA_OK && r.pos == r.len)
            test_fail(file, line, "pipeline: %zu of %zu bytes load whole", cut, image.len);
        an_pipeline_free(&q);
    }
    an_writer_free(&image);
    an_pipeline_free(&back);
    free(one);
    free(loaded);
    if (!same) {
        free(batch);
        return NULL;
    }
    return batch;
}

unsigned test_lcg(unsigned *state)
{
    *state = *state * 1103515245u + 12345u;
    return *state;
}

void test_fill(double *x, size_t n, unsigned seed, unsigned modulus, double divisor)
{
    unsigned s = seed;
    for (size_t i = 0; i < n; i++)
        x[i] = (double)((test_lcg(&s) >> 8) % modulus) / divisor;
}

int test_close(double a, double b, double tol)
{
    if (isnan(a) || isnan(b))
        return isnan(a) && isnan(b);
    double scale = fabs(b) > 1 ? fabs(b) : 1;
    return fabs(a - b) <= tol * scale;
}

unsigned char *test_saved_bytes(const char *file, int line, const anoma_model *m, size_t *size)
{
    *size = 0;
    anoma_status st = anoma_model_save_memory(m, NULL, 0, size);
    unsigned char *bytes = st == ANOMA_OK ? malloc(*size ? *size : 1) : NULL;
    if (bytes)
        st = anoma_model_save_memory(m, bytes, *size, size);
    if (!bytes || st != ANOMA_OK) {
        test_fail(file, line, "saving the model to memory: %s (%s)", anoma_status_str(st),
                  anoma_last_error());
        free(bytes);
        return NULL;
    }
    return bytes;
}

anoma_model *test_reloaded(const char *file, int line, const anoma_model *m,
                           unsigned char **bytes, size_t *size)
{
    size_t saved_size = 0;
    unsigned char *saved = test_saved_bytes(file, line, m, &saved_size);
    anoma_model *back = NULL;
    anoma_status st = saved ? anoma_model_load_memory(saved, saved_size, &back) : ANOMA_OK;
    if (st != ANOMA_OK)
        test_fail(file, line, "loading the saved model: %s (%s)", anoma_status_str(st),
                  anoma_last_error());
    if (bytes) {
        *bytes = saved;
        *size = saved_size;
    } else {
        free(saved);
    }
    return back;
}

unsigned char *test_detector_payload(const anoma_model *m, size_t index, size_t *size)
{
    uint32_t version;
    return test_detector_payload_versioned(m, index, size, &version);
}

unsigned char *test_detector_payload_versioned(const anoma_model *m, size_t index, size_t *size,
                                               uint32_t *version)
{
    size_t file_size = 0;
    unsigned char *file = TEST_SAVED_BYTES(m, &file_size);
    if (!file)
        return NULL;
    an_section_list list = {0};
    static const uint32_t known[] = {AN_SECTION_META, AN_SECTION_MODEL, AN_SECTION_PIPELINE,
                                     AN_SECTION_DETECTOR, AN_SECTION_SHARED_ROWS};
    unsigned char *payload = NULL;
    if (an_format_decode(file, file_size, known, 5, &list) == ANOMA_OK) {
        size_t k = 0;
        for (size_t i = 0; i < list.n; i++) {
            if (list.items[i].type != AN_SECTION_DETECTOR || k++ != index)
                continue;
            an_reader r = an_reader_make(list.items[i].data, list.items[i].size, "test");
            an_free(an_get_str(&r)); /* name */
            an_free(an_get_str(&r)); /* parameters */
            an_get_f64(&r);          /* shift */
            an_get_f64(&r);          /* scale */
            *version = an_get_u32(&r);
            *size = r.len - r.pos;
            payload = malloc(*size + 1);
            if (payload)
                memcpy(payload, r.data + r.pos, *size);
        }
    }
    an_section_list_free(&list);
    free(file);
    return payload;
}

void test_bad_detector_params(const char *file, int line, const char *detector,
                              const test_bad_param *bad, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        anoma_model *m = NULL;
        if (anoma_model_create(NULL, &m) != ANOMA_OK) {
            test_fail(file, line, "anoma_model_create: %s", anoma_last_error());
            return;
        }
        anoma_status st = anoma_model_add_detector(m, detector, bad[i].params, NULL);
        if (st != ANOMA_ERR_PARAM_VALUE && st != ANOMA_ERR_UNKNOWN_PARAM)
            test_fail(file, line, "%s %s -> %s, expected a parameter error", detector,
                      bad[i].params, anoma_status_str(st));
        else if (!strstr(anoma_last_error(), bad[i].named))
            test_fail(file, line, "%s %s: the message does not name %s: %s", detector,
                      bad[i].params, bad[i].named, anoma_last_error());
        anoma_model_free(m);
    }
}

enum { QUICK_MAX = 32 };
static char quick_text[4096];
static const char *quick_name[QUICK_MAX], *quick_params[QUICK_MAX];
static size_t quick_count;
static pthread_once_t quick_once = PTHREAD_ONCE_INIT;

static void read_quick_params(void)
{
    char path[4096];
    const char *dir = getenv("ANOMA_TEST_DATA");
    snprintf(path, sizeof path, "%s/quick_params.txt", dir ? dir : "tests/data");
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    size_t used = fread(quick_text, 1, sizeof quick_text - 1, f);
    fclose(f);
    quick_text[used] = 0;
    for (char *line = strtok(quick_text, "\n"); line && quick_count < QUICK_MAX;
         line = strtok(NULL, "\n")) {
        if (*line == '#' || !*line)
            continue;
        char *space = strchr(line, ' ');
        quick_name[quick_count] = line;
        quick_params[quick_count++] = space ? space + 1 : "";
        if (space)
            *space = 0;
    }
}

const char *test_quick_params(const char *detector)
{
    pthread_once(&quick_once, read_quick_params);
    for (size_t i = 0; i < quick_count; i++)
        if (!strcmp(quick_name[i], detector))
            return quick_params[i];
    return NULL;
}

anoma_status test_frame_of(size_t rows, const test_column *cols, size_t n, anoma_frame **out)
{
    *out = NULL;
    anoma_frame *f = NULL;
    anoma_status st = anoma_frame_create(rows, &f);
    for (size_t c = 0; st == ANOMA_OK && c < n; c++)
        st = anoma_frame_add_column(f, cols[c].name, cols[c].type, cols[c].values);
    if (st != ANOMA_OK)
        anoma_frame_free(f);
    else
        *out = f;
    return st;
}

anoma_status test_import_payload(const char *detector, const unsigned char *payload, size_t size,
                                 size_t cols)
{
    anoma_model *m = NULL;
    anoma_status st = anoma_model_create("threshold=0", &m);
    if (st == ANOMA_OK)
        st = anoma_model_import_detector(m, detector, NULL, payload, size, cols);
    anoma_model_free(m);
    return st;
}

/* The import of p must fail with ANOMA_ERR_FORMAT (and say `says`). */
static void refused(const char *file, int line, const char *detector, const unsigned char *p,
                    size_t size, size_t cols, const char *what, const char *says)
{
    anoma_status st = test_import_payload(detector, p, size, cols);
    if (st != ANOMA_ERR_FORMAT)
        test_fail(file, line, "%s payload %s -> %s, expected ANOMA_ERR_FORMAT", detector, what,
                  anoma_status_str(st));
    else if (says && !strstr(anoma_last_error(), says))
        test_fail(file, line, "%s payload %s: the message does not say %s: %s", detector, what,
                  says, anoma_last_error());
}

void test_hostile_payload(const char *file, int line, const char *detector,
                          const unsigned char *good, size_t size, size_t cols, size_t stride,
                          const test_payload_edit *edits, size_t n)
{
    anoma_status st = test_import_payload(detector, good, size, cols);
    if (st != ANOMA_OK) {
        test_fail(file, line, "%s: the good payload -> %s: %s", detector, anoma_status_str(st),
                  anoma_last_error());
        return;
    }
    unsigned char *p = malloc(size + 8);
    if (!p) {
        test_fail(file, line, "out of memory");
        return;
    }
    char what[64];
    refused(file, line, detector, good, size, cols + 1, "for one feature more", NULL);
    for (size_t cut = 0; cut < size; cut += cut < 64 ? 1 : stride) {
        snprintf(what, sizeof what, "cut to %zu bytes", cut);
        refused(file, line, detector, good, cut, cols, what, NULL);
    }
    memcpy(p, good, size);
    memset(p + size, 0, 8);
    refused(file, line, detector, p, size + 8, cols, "with 8 bytes more", NULL);
    for (size_t i = 0; i < n; i++) {
        memcpy(p, good, size);
        if (edits[i].type == TEST_U32) {
            uint32_t v = (uint32_t)edits[i].value;
            memcpy(p + edits[i].at, &v, 4);
        } else if (edits[i].type == TEST_F64) {
            memcpy(p + edits[i].at, &edits[i].value, 8);
        } else {
            uint64_t v = (uint64_t)edits[i].value;
            memcpy(p + edits[i].at, &v, 8);
        }
        snprintf(what, sizeof what, "edit %zu (byte %zu)", i, edits[i].at);
        refused(file, line, detector, p, size, cols, what, edits[i].says);
    }
    free(p);
}

double *test_tied_rows(size_t n, size_t d, int levels, double offset, uint64_t seed)
{
    double *x = malloc(n * d * sizeof *x);
    an_rng rng;
    an_rng_init(&rng, seed, 0);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < d; j++)
            x[i * d + j] = i % 3 == 2 ? x[(an_rng_below(&rng, i)) * d + j]
                                      : offset + (double)an_rng_below(&rng, (uint64_t)levels);
    /* the copies above mix rows; make every third row a whole copy */
    for (size_t i = 2; i < n; i += 3)
        memcpy(x + i * d, x + (i / 2) * d, d * sizeof *x);
    return x;
}

typedef struct knn_pair {
    double d2;
    size_t index;
} knn_pair;

void test_knn_reference(const double *x, size_t n, size_t d, const double *row, size_t exclude,
                        size_t k, double *dist, size_t *index)
{
    knn_pair *all = malloc(n * sizeof *all);
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (i == exclude)
            continue;
        double s = 0;
        for (size_t j = 0; j < d; j++)
            s += (row[j] - x[i * d + j]) * (row[j] - x[i * d + j]);
        knn_pair p = {s, i};
        size_t at = m++;
        while (at > 0 && (all[at - 1].d2 > p.d2 ||
                          (all[at - 1].d2 == p.d2 && all[at - 1].index > p.index))) {
            all[at] = all[at - 1];
            at--;
        }
        all[at] = p;
    }
    for (size_t t = 0; t < k; t++) {
        dist[t] = sqrt(all[t].d2);
        index[t] = all[t].index;
    }
    free(all);
}

anoma_model *test_fit_one(const char *model_params, const char *detector, const char *params,
                          const double *x, size_t n, size_t d)
{
    anoma_model *m = NULL;
    CHECK_OK(anoma_model_create(model_params, &m));
    CHECK_OK(anoma_model_add_detector(m, detector, params, NULL));
    anoma_matrix mx = anoma_matrix_f64(x, n, d);
    CHECK_OK(anoma_model_fit(m, &mx, NULL, NULL));
    return m;
}

anoma_status test_fit_reload(void *ctx)
{
    const test_reload_case *c = ctx;
    anoma_model *m = NULL, *back = NULL;
    anoma_status st = anoma_model_create(c->model_params, &m);
    for (size_t k = 0; c->detectors[k] && st == ANOMA_OK; k++)
        st = anoma_model_add_detector(m, c->detectors[k], c->params[k], NULL);
    anoma_matrix mx = anoma_matrix_f64(c->x, c->n, c->d);
    double *scores = malloc(c->n * sizeof *scores), *again = malloc(c->n * sizeof *again);
    if (st == ANOMA_OK)
        st = anoma_model_fit(m, &mx, c->labels, NULL);
    if (st == ANOMA_OK)
        st = anoma_model_score(m, &mx, scores);
    size_t size = 0;
    unsigned char *bytes = NULL;
    if (st == ANOMA_OK)
        st = anoma_model_save_memory(m, NULL, 0, &size);
    if (st == ANOMA_OK && !(bytes = malloc(size)))
        st = ANOMA_ERR_NO_MEMORY;
    if (st == ANOMA_OK)
        st = anoma_model_save_memory(m, bytes, size, &size);
    if (st == ANOMA_OK)
        st = anoma_model_load_memory(bytes, size, &back);
    if (st == ANOMA_OK)
        st = anoma_model_score(back, &mx, again);
    if (st == ANOMA_OK)
        CHECK(!memcmp(scores, again, c->n * sizeof *scores));
    anoma_model_free(back);
    anoma_model_free(m);
    free(bytes);
    free(scores);
    free(again);
    return st;
}

int test_read_old_rows(double *x)
{
    char path[4096];
    const char *dir = getenv("ANOMA_TEST_DATA");
    snprintf(path, sizeof path, "%s/model-1.0.csv", dir ? dir : "tests/data");
    FILE *f = fopen(path, "r");
    if (!f) {
        test_skip("tests/data not found (set ANOMA_TEST_DATA)");
        return 0;
    }
    char header[256];
    int label, ok = fgets(header, sizeof header, f) != NULL;
    for (size_t i = 0; ok && i < TEST_OLD_ROWS; i++) {
        for (size_t j = 0; ok && j < TEST_OLD_COLS; j++)
            ok = fscanf(f, "%lf,", &x[i * TEST_OLD_COLS + j]) == 1;
        ok = ok && fscanf(f, "%d", &label) == 1;
    }
    fclose(f);
    CHECK(ok);
    return ok;
}

anoma_model *test_load_old(const char *file)
{
    char path[4096];
    const char *dir = getenv("ANOMA_TEST_DATA");
    snprintf(path, sizeof path, "%s/%s", dir ? dir : "tests/data", file);
    anoma_model *old = NULL;
    CHECK_OK(anoma_model_load(path, &old));
    return old;
}
