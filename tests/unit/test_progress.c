/* Progress callbacks: reports from the calling thread only, counts that
 * only grow and end at the total, and cancelling, which leaves a model
 * unfitted and fittable and makes no frame. */
#include "testing.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

enum { MAX_REPORTS = 4096 };

typedef struct recorder {
    size_t n;
    anoma_stage stage[MAX_REPORTS];
    uint64_t done[MAX_REPORTS], total[MAX_REPORTS];
    int other_thread;   /* a report came from a thread other than the caller's */
    pthread_t caller;
    uint64_t stop_at;   /* ask to stop once done reaches this (0: never) */
} recorder;

static int record(void *user, anoma_stage stage, uint64_t done, uint64_t total)
{
    recorder *r = user;
    if (!pthread_equal(pthread_self(), r->caller))
        r->other_thread = 1;
    if (r->n < MAX_REPORTS) {
        r->stage[r->n] = stage;
        r->done[r->n] = done;
        r->total[r->n] = total;
        r->n++;
    }
    return r->stop_at && done >= r->stop_at;
}

static void start(recorder *r, uint64_t stop_at)
{
    memset(r, 0, sizeof *r);
    r->caller = pthread_self();
    r->stop_at = stop_at;
}

/* Every report of one stage, counts growing strictly, the last the total. */
static void check_reports(const recorder *r, anoma_stage stage, uint64_t total)
{
    CHECK(r->n > 1 && r->n <= 101);
    CHECK(!r->other_thread);
    for (size_t i = 0; i < r->n; i++) {
        CHECK(r->stage[i] == stage && r->total[i] == total && r->done[i] <= total);
        CHECK(i == 0 || r->done[i] > r->done[i - 1]);
    }
    CHECK(r->n && r->done[r->n - 1] == total);
}

enum { ROWS = 40000, COLS = 4 };
static double data[ROWS * COLS];

static void make_data(void)
{
    test_fill(data, ROWS * COLS, 99u, 10000, 1000.0);
}

static anoma_model *forest(size_t n_threads)
{
    anoma_model *m = NULL;
    CHECK_OK(anoma_model_create("threshold=0.6", &m));
    CHECK_OK(anoma_model_add_detector(m, "iforest", "n_trees=150 max_samples=64 seed=4", NULL));
    CHECK_OK(anoma_model_set_n_threads(m, n_threads));
    return m;
}

static void test_fit_reports_trees(void)
{
    anoma_matrix x = anoma_matrix_f64(data, ROWS, COLS);
    static double plain[ROWS], reported[ROWS];
    anoma_model *quiet = forest(2);
    CHECK_OK(anoma_model_fit(quiet, &x, NULL, NULL));
    CHECK_OK(anoma_model_score(quiet, &x, plain));
    for (size_t threads = 1; threads <= 3; threads++) {
        recorder r;
        start(&r, 0);
        anoma_model *m = forest(threads);
        CHECK_OK(anoma_model_set_progress(m, record, &r));
        CHECK_OK(anoma_model_fit(m, &x, NULL, NULL));
        check_reports(&r, ANOMA_STAGE_FIT, 150);
        /* reporting cuts the work into batches; the forest is the same */
        CHECK_OK(anoma_model_set_progress(m, NULL, NULL));
        CHECK_OK(anoma_model_score(m, &x, reported));
        CHECK(!memcmp(plain, reported, sizeof plain));
        anoma_model_free(m);
    }
    anoma_model_free(quiet);
}

static void test_fit_cancelled_leaves_model_unfitted(void)
{
    anoma_matrix x = anoma_matrix_f64(data, ROWS, COLS);
    recorder r;
    start(&r, 30);
    anoma_model *m = forest(2);
    CHECK_OK(anoma_model_set_progress(m, record, &r));
    CHECK_STATUS(anoma_model_fit(m, &x, NULL, NULL), ANOMA_ERR_CANCELLED);
    CHECK(strstr(anoma_last_error(), "cancelled") != NULL);
    CHECK(!strcmp(anoma_status_str(ANOMA_ERR_CANCELLED), "ANOMA_ERR_CANCELLED"));
    CHECK(!anoma_model_is_fitted(m));
    CHECK(r.n > 0 && r.done[r.n - 1] >= 30 && r.done[r.n - 1] < 150); /* stopped early */
    double t;
    CHECK_STATUS(anoma_model_threshold(m, &t), ANOMA_ERR_NOT_FITTED);
    start(&r, 0); /* fittable again */
    CHECK_OK(anoma_model_fit(m, &x, NULL, NULL));
    CHECK(anoma_model_is_fitted(m));
    anoma_model_free(m);
}

static void test_score_reports_rows(void)
{
    anoma_matrix x = anoma_matrix_f64(data, ROWS, COLS);
    static double scores[ROWS], plain[ROWS];
    int flags[ROWS];
    anoma_model *m = NULL;
    CHECK_OK(anoma_model_create("contamination=0.05", &m));
    CHECK_OK(anoma_model_add_detector(m, "zscore", NULL, NULL));
    CHECK_OK(anoma_model_add_detector(m, "mad", NULL, NULL));
    CHECK_OK(anoma_model_fit(m, &x, NULL, NULL));
    CHECK_OK(anoma_model_score(m, &x, plain));
    recorder r;
    start(&r, 0);
    CHECK_OK(anoma_model_set_progress(m, record, &r));
    CHECK_OK(anoma_model_score(m, &x, scores));
    check_reports(&r, ANOMA_STAGE_SCORE, ROWS);
    CHECK(!memcmp(plain, scores, sizeof plain));
    start(&r, ROWS / 2);
    CHECK_STATUS(anoma_model_predict(m, &x, flags), ANOMA_ERR_CANCELLED);
    CHECK(r.done[r.n - 1] < ROWS);
    /* fewer rows than a block: one report, at the end */
    start(&r, 0);
    x.rows = 10;
    CHECK_OK(anoma_model_score(m, &x, scores));
    CHECK(r.n == 1 && r.done[0] == 10 && r.total[0] == 10);
    CHECK_STATUS(anoma_model_set_progress(NULL, record, &r), ANOMA_ERR_INVALID_ARGUMENT);
    anoma_model_free(m);
}

static void test_csv_reports_bytes(void)
{
    size_t cap = 64 + (size_t)ROWS * 40, len = 0;
    char *text = malloc(cap);
    len += (size_t)snprintf(text, cap, "a,b,when\n");
    for (size_t i = 0; i < ROWS; i++)
        len += (size_t)snprintf(text + len, cap - len, "%.3f,%.3f,2024-01-%02zu\n", data[i * COLS],
                                data[i * COLS + 1], 1 + i % 28);
    recorder r;
    start(&r, 0);
    anoma_frame *f = NULL;
    CHECK_OK(anoma_csv_read_memory_progress(text, len, NULL, record, &r, &f));
    check_reports(&r, ANOMA_STAGE_READ, 2 * (uint64_t)len); /* inferring: two passes */
    CHECK(anoma_frame_rows(f) == ROWS);
    anoma_frame_free(f);

    /* every type declared: one pass */
    start(&r, 0);
    CHECK_OK(anoma_csv_read_memory_progress(text, len, "types=a:number,b:number,when:timestamp",
                                            record, &r, &f));
    check_reports(&r, ANOMA_STAGE_READ, len);
    anoma_frame_free(f);

    start(&r, len / 3);
    f = (anoma_frame *)&r; /* must come back NULL */
    CHECK_STATUS(anoma_csv_read_memory_progress(text, len, NULL, record, &r, &f),
                 ANOMA_ERR_CANCELLED);
    CHECK(f == NULL);

    char path[] = "/tmp/anoma_progress_XXXXXX";
    int fd = mkstemp(path);
    FILE *fp = fd >= 0 ? fdopen(fd, "w") : NULL;
    CHECK(fp && fwrite(text, 1, len, fp) == len);
    if (fp)
        fclose(fp);
    start(&r, 0);
    CHECK_OK(anoma_csv_read_progress(path, NULL, record, &r, &f));
    check_reports(&r, ANOMA_STAGE_READ, 2 * (uint64_t)len);
    anoma_frame_free(f);
    CHECK_OK(anoma_csv_read_progress(path, NULL, NULL, NULL, &f)); /* no callback */
    anoma_frame_free(f);
    remove(path);
    free(text);
}

int main(void)
{
    make_data();
    RUN(test_fit_reports_trees);
    RUN(test_fit_cancelled_leaves_model_unfitted);
    RUN(test_score_reports_rows);
    RUN(test_csv_reports_bytes);
    return test_summary();
}
