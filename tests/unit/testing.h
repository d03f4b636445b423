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
/* Fail every request above `largest` bytes (installed allocator only), so
 * that a test of a bound never allocates what the bound should prevent. */
void test_alloc_cap(size_t largest);
/* The largest request, granted or not, since test_alloc_install. */
size_t test_alloc_largest(void);
/* Back to the C library's allocator. */
void test_alloc_restore(void);
/* Run attempt(ctx) with the first allocation failing, then the second, ...
 * until it succeeds: each run must return ANOMA_OK or ANOMA_ERR_NO_MEMORY
 * and leave no block alive (attempt frees what it made, whatever its
 * status). Failures are reported at file:line. */
void test_alloc_failures(const char *file, int line, anoma_status (*attempt)(void *ctx),
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

/* The saved state of detector `index` of a fitted model, as
 * anoma_model_import_detector() takes it (the current payload version), cut
 * out of the model's file
 * (malloc'd; NULL if absent). */
unsigned char *test_detector_payload(const anoma_model *m, size_t index, size_t *size);

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
