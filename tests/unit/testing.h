/* A small test harness: each test function runs, CHECK failures are
 * reported with file and line, and main() ends with run_summary().
 * Every test prints "ok NAME", "FAIL NAME" or "skip NAME: why". */
#ifndef ANOMA_TESTING_H
#define ANOMA_TESTING_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>

#include "anoma/anoma.h"

void test_fail(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void test_skip(const char *why);
void test_run(const char *name, void (*fn)(void));
/* Exit status: 0 when no test failed. */
int test_summary(void);
/* Path of a file in ../shared/data, or NULL when the folder is missing. */
const char *test_data_path(const char *file, char *buf, size_t cap);
/* A host allocator for out-of-memory tests: after `budget` more successful
 * allocations every allocation fails (budget < 0: none fails). It counts
 * the blocks alive, to prove that each failure path frees what it took. */
void test_alloc_install(long budget);
/* Blocks allocated and not yet freed since test_alloc_install. */
long test_alloc_live(void);
/* Allocations and reallocations granted since test_alloc_install. */
long test_alloc_made(void);
/* Fail every request above `largest` bytes (installed allocator only), so
 * that a test of a bound never allocates what the bound should prevent. */
void test_alloc_cap(size_t largest);
/* The largest request, granted or not, since test_alloc_install. */
size_t test_alloc_largest(void);
/* Back to the C library's allocator. */
void test_alloc_restore(void);
/* Run attempt(ctx) with the first allocation failing, then the second, ...
 * until a run makes fewer allocations than the one refused: each run must
 * return ANOMA_OK (an operation may get by without a refused block, as a
 * shrink that keeps the larger one) or ANOMA_ERR_NO_MEMORY and leave no
 * block alive (attempt frees what it made, whatever its status). Failures
 * are reported at file:line. Returns the number of failing allocations
 * tried. */
long test_alloc_failures(const char *file, int line, anoma_status (*attempt)(void *ctx),
                         void *ctx);
#define CHECK_ALLOC_FAILURES(attempt, ctx) test_alloc_failures(__FILE__, __LINE__, attempt, ctx)

/* A fitted pipeline (lib/features/pipeline.h) agrees with itself on `in`:
 * its fit output, its batch transform on `threads` threads, a run of one
 * row at a time through one work area and the transform of its saved and
 * reloaded copy are the same bits, and every truncation of the saved bytes
 * fails to load or leaves bytes unread. Returns the batch output (rows x
 * outputs; free() it), for further checks; failures are reported at
 * file:line. */
struct an_pipeline;
struct an_input;
double *test_pipeline_agrees(const char *file, int line, const struct an_pipeline *p,
                             const struct an_input *in, const double *fit_out, size_t threads);
#define CHECK_PIPELINE_AGREES(p, in, fit_out, threads)                         \
    test_pipeline_agrees(__FILE__, __LINE__, p, in, fit_out, threads)

/* The parameters that make `detector` fit quickly, from
 * tests/data/quick_params.txt (one table for every test that fits each
 * detector many times), or NULL: its defaults. Safe from any thread. */
const char *test_quick_params(const char *detector);

/* One column of a test frame, as anoma_frame_add_column takes it. */
typedef struct test_column {
    const char *name;
    anoma_column_type type;
    const void *values;
} test_column;
/* A frame of `rows` rows with the columns cols[0..n) (the values are
 * borrowed, as the frame API does) into *out; on an error (such as an
 * allocation failing) nothing is left and *out is NULL. */
anoma_status test_frame_of(size_t rows, const test_column *cols, size_t n, anoma_frame **out);
#define TEST_FRAME_OF(rows, cols, out) test_frame_of(rows, cols, sizeof cols / sizeof *cols, out)

/* The model's file, saved to memory (malloc'd, *size bytes; NULL when the
 * save failed, reported at the caller's file:line). */
unsigned char *test_saved_bytes(const char *file, int line, const anoma_model *m, size_t *size);
#define TEST_SAVED_BYTES(m, size) test_saved_bytes(__FILE__, __LINE__, m, size)
/* The model saved to memory and loaded back (NULL on a failure, reported
 * at the caller's file:line). With `bytes`, the saved file is handed over
 * too (malloc'd, *size bytes); else it is freed. */
anoma_model *test_reloaded(const char *file, int line, const anoma_model *m,
                           unsigned char **bytes, size_t *size);
#define TEST_RELOADED(m, bytes, size) test_reloaded(__FILE__, __LINE__, m, bytes, size)

/* The saved state of detector `index` of a fitted model, as
 * anoma_model_import_detector() takes it (the current payload version), cut
 * out of the model's file
 * (malloc'd; NULL if absent). */
unsigned char *test_detector_payload(const anoma_model *m, size_t index, size_t *size);
/* The same, with the payload version the file records for it in *version. */
unsigned char *test_detector_payload_versioned(const anoma_model *m, size_t index, size_t *size,
                                               uint32_t *version);

/* A parameter text a detector must refuse, and the key its message names. */
typedef struct test_bad_param {
    const char *params, *named;
} test_bad_param;
/* anoma_model_add_detector(detector, params) fails for each, with
 * ANOMA_ERR_PARAM_VALUE or ANOMA_ERR_UNKNOWN_PARAM and a message naming
 * the key (printed when it does not). Failures are reported at file:line. */
void test_bad_detector_params(const char *file, int line, const char *detector,
                              const test_bad_param *bad, size_t n);
#define CHECK_BAD_DETECTOR_PARAMS(detector, bad)                                \
    test_bad_detector_params(__FILE__, __LINE__, detector, bad, sizeof bad / sizeof *bad)

/* anoma_model_import_detector of a payload into a new model of cols
 * features (threshold 0); its status. */
anoma_status test_import_payload(const char *detector, const unsigned char *payload, size_t size,
                                 size_t cols);

/* One edit that makes a good payload bad: `value` written at byte `at` as
 * the field's type, and what the error message must contain. */
typedef enum test_field_type { TEST_U32, TEST_F64, TEST_U64 } test_field_type;
typedef struct test_payload_edit {
    size_t at;
    test_field_type type;
    double value;
    const char *says;
} test_payload_edit;
/* A hostile payload is refused, never a crash: `good` (a detector's payload
 * for cols features) imports; with one feature more, cut to each of its
 * first 64 lengths and then every `stride`-th, with 8 bytes more, and with
 * each edit it fails with ANOMA_ERR_FORMAT, an edit's message saying what
 * it says. Failures are reported at file:line. */
void test_hostile_payload(const char *file, int line, const char *detector,
                          const unsigned char *good, size_t size, size_t cols, size_t stride,
                          const test_payload_edit *edits, size_t n);
#define CHECK_HOSTILE_PAYLOAD(detector, good, size, cols, stride, edits)        \
    test_hostile_payload(__FILE__, __LINE__, detector, good, size, cols, stride, edits,       \
                         sizeof edits / sizeof *edits)

/* The tests' small linear congruential generator: advances *state and
 * returns it. Deterministic, so data and expected values never change. */
unsigned test_lcg(unsigned *state);
/* n irregular values ((s >> 8) % modulus) / divisor, s running through
 * test_lcg from seed. */
void test_fill(double *x, size_t n, unsigned seed, unsigned modulus, double divisor);

/* ---- fixtures of the distance detectors (neighbours, covariance) ---- */

/* n rows of d integers offset + [0, levels), drawn from seed, every third
 * row a whole copy of an earlier one: exact ties and duplicate rows
 * everywhere. malloc'd. */
double *test_tied_rows(size_t n, size_t d, int levels, double offset, uint64_t seed);

/* The k nearest of the n x d rows x to `row` by brute force, leaving out
 * row `exclude` (SIZE_MAX: none): every squared distance summed in column
 * order, then all sorted by (distance, index); dist gets the square
 * roots. The reference the k-NN engine and its detectors are held to. */
void test_knn_reference(const double *x, size_t n, size_t d, const double *row, size_t exclude,
                        size_t k, double *dist, size_t *index);

/* A model (model_params) of one detector, fitted on the n x d rows x;
 * failures are reported. */
anoma_model *test_fit_one(const char *model_params, const char *detector, const char *params,
                          const double *x, size_t n, size_t d);

/* What test_fit_reload does: a model (model_params) of these detectors
 * (up to 4, NULL-terminated names, each with its params) on x. */
typedef struct test_reload_case {
    const char *model_params;
    const char *detectors[5];
    const char *params[4];
    const double *x;
    size_t n, d;
    const int *labels; /* for supervised detectors; NULL: none */
} test_reload_case;

/* For CHECK_ALLOC_FAILURES (ctx: a test_reload_case): build and fit
 * the model, score x, save it to memory, load it back and score x again;
 * the two scores must be the same bits (reported). Frees all it made. */
anoma_status test_fit_reload(void *ctx);

/* tests/data/model-1.0.csv, the rows the files of tests/data were fitted
 * on (tests/data/README.md). */
enum { TEST_OLD_ROWS = 40, TEST_OLD_COLS = 9 };
/* Its rows into x (0, and the test skipped, when it is not found). */
int test_read_old_rows(double *x);
/* A model file of tests/data, loaded (NULL on failure, reported). */
anoma_model *test_load_old(const char *file);

/* Tolerance check |a - b| <= tol * max(1, |b|). */
int test_close(double a, double b, double tol);

#define RUN(fn) test_run(#fn, fn)

#define CHECK(cond)                                                            \
    do {                                                                       \
        if (!(cond))                                                           \
            test_fail(__FILE__, __LINE__, "%s", #cond);                        \
    } while (0)

#define CHECK_OK(expr)                                                         \
    do {                                                                       \
        anoma_status check_ok_status_ = (expr);                                \
        if (check_ok_status_ != ANOMA_OK)                                      \
            test_fail(__FILE__, __LINE__, "%s -> %s: %s", #expr,               \
                      anoma_status_str(check_ok_status_), anoma_last_error()); \
    } while (0)

#define CHECK_STATUS(expr, expected)                                           \
    do {                                                                       \
        anoma_status check_status_ = (expr);                                   \
        if (check_status_ != (expected))                                       \
            test_fail(__FILE__, __LINE__, "%s -> %s, expected %s (%s)", #expr, \
                      anoma_status_str(check_status_), anoma_status_str(expected), \
                      anoma_last_error());                                     \
    } while (0)

#define CHECK_NEAR(a, b, tol)                                                  \
    do {                                                                       \
        double check_a_ = (a), check_b_ = (b);                                 \
        if (!test_close(check_a_, check_b_, (tol)))                            \
            test_fail(__FILE__, __LINE__, "%s = %.17g, expected %s = %.17g", #a, \
                      check_a_, #b, check_b_);                                 \
    } while (0)

#endif
