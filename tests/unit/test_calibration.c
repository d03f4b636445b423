/* What fitting scores: at most probability_rows training rows for the
 * default probability alone (a fixed threshold or the detector's own rule,
 * one detector), nothing with probability_rows=0, and at most
 * calibration_rows (a seeded uniform sample, all rows when there are fewer)
 * for a contamination threshold or a normalisation. */
#include "testing.h"

#include "core/sample.h"
#include "model/model.h"

#include <stdlib.h>
#include <string.h>

enum { ROWS = 6000, COLS = 3 };
static double data[ROWS * COLS];

/* zscore, counting the rows its row path scores. */
static long rows_scored;
static an_detector_vtable counting;

static void counting_score_row(const void *state, const double *row, void *scratch, double *score)
{
    __atomic_add_fetch(&rows_scored, 1, __ATOMIC_RELAXED);
    an_detector_find("zscore")->score_row(state, row, scratch, score);
}

static anoma_model *counted_fit(const char *params, size_t n_detectors, size_t rows)
{
    counting = *an_detector_find("zscore");
    counting.score_row = counting_score_row;
    anoma_model *m = NULL;
    CHECK_OK(anoma_model_create(params, &m));
    for (size_t k = 0; k < n_detectors; k++) {
        CHECK_OK(anoma_model_add_detector(m, "zscore", NULL, NULL));
        m->detectors[k].vt = &counting;
    }
    anoma_matrix x = anoma_matrix_f64(data, rows, COLS);
    rows_scored = 0;
    CHECK_OK(anoma_model_fit(m, &x, NULL, NULL));
    return m;
}

static void release(anoma_model *m)
{
    for (size_t k = 0; k < m->n_detectors; k++)
        m->detectors[k].vt = an_detector_find("zscore");
    anoma_model_free(m);
}

static void test_rows_scored_at_fit(void)
{
    /* a fixed threshold or the detector's own rule: only the default
     * probability learns from training scores, on probability_rows of them */
    anoma_model *m = counted_fit("threshold=2.5", 1, ROWS);
    CHECK(rows_scored == ROWS); /* fewer rows than the default 10000: all */
    CHECK(m->probability.method == AN_PROBABILITY_DISTRIBUTION);
    release(m);
    m = counted_fit("contamination=auto probability_rows=500", 1, ROWS);
    CHECK(rows_scored == 500);
    CHECK(m->probability.method == AN_PROBABILITY_DISTRIBUTION);
    release(m);
    m = counted_fit("threshold=2.5 probability_rows=700 calibration_rows=300", 1, ROWS);
    CHECK(rows_scored == 300); /* the smaller of the two */
    release(m);
    m = counted_fit("threshold=2.5 probability_rows=0", 1, ROWS);
    CHECK(rows_scored == 0); /* nothing to learn from training scores */
    CHECK(m->probability.method == AN_PROBABILITY_NONE);
    release(m);
    m = counted_fit("calibration_rows=1000 probability_rows=10", 1, ROWS);
    CHECK(rows_scored == 1000); /* the threshold's sample serves the probability too */
    release(m);
    m = counted_fit("threshold=2.5 normalize=standard", 1, ROWS);
    CHECK(rows_scored == ROWS); /* fewer rows than the default 100000: all */
    release(m);
    m = counted_fit("calibration_rows=1000", 1, ROWS);
    CHECK(rows_scored == 1000);
    release(m);
    m = counted_fit("calibration_rows=1000", 1, 800);
    CHECK(rows_scored == 800);
    release(m);
    m = counted_fit("calibration_rows=1000 threshold=1", 2, ROWS); /* normalised by default */
    CHECK(rows_scored == 2000);
    release(m);
}

/* np.percentile(v, 100 q), 'linear', computed here by sorting. */
static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double percentile(double *v, size_t n, double q)
{
    qsort(v, n, sizeof *v, by_value);
    double pos = q * (double)(n - 1);
    size_t lo = (size_t)pos;
    return lo + 1 < n ? v[lo] + (pos - (double)lo) * (v[lo + 1] - v[lo]) : v[lo];
}

static void test_exact_when_smaller(void)
{
    anoma_model *m = NULL;
    CHECK_OK(anoma_model_create("contamination=0.05 calibration_rows=6000", &m));
    CHECK_OK(anoma_model_add_detector(m, "zscore", NULL, NULL));
    anoma_matrix x = anoma_matrix_f64(data, ROWS, COLS);
    CHECK_OK(anoma_model_fit(m, &x, NULL, NULL));
    double *scores = malloc(ROWS * sizeof *scores), t;
    CHECK_OK(anoma_model_score(m, &x, scores));
    CHECK_OK(anoma_model_threshold(m, &t));
    CHECK(t == percentile(scores, ROWS, 0.95));
    free(scores);
    anoma_model_free(m);
}

/* A sample's threshold leaves close to `contamination` of all training rows
 * above it: the binomial spread of a 2000-row sample at 0.1 is 0.0067, and
 * every seed must land within 4 of those. */
static void test_sampled_threshold_is_close(void)
{
    double *scores = malloc(ROWS * sizeof *scores);
    anoma_matrix x = anoma_matrix_f64(data, ROWS, COLS);
    double first = 0;
    int differ = 0;
    for (int seed = 0; seed < 10; seed++) {
        char params[128];
        snprintf(params, sizeof params, "calibration_rows=2000 calibration_seed=%d", seed);
        anoma_model *m = NULL, *again = NULL;
        CHECK_OK(anoma_model_create(params, &m));
        CHECK_OK(anoma_model_add_detector(m, "zscore", NULL, NULL));
        CHECK_OK(anoma_model_fit(m, &x, NULL, NULL));
        double t, t_again;
        CHECK_OK(anoma_model_threshold(m, &t));
        CHECK_OK(anoma_model_score(m, &x, scores));
        size_t above = 0;
        for (size_t i = 0; i < ROWS; i++)
            above += scores[i] > t;
        double rate = (double)above / ROWS;
        CHECK(rate > 0.1 - 4 * 0.0067 && rate < 0.1 + 4 * 0.0067);
        /* one seed, one threshold, whatever the thread count */
        CHECK_OK(anoma_model_create(params, &again));
        CHECK_OK(anoma_model_set_n_threads(again, 3));
        CHECK_OK(anoma_model_add_detector(again, "zscore", NULL, NULL));
        CHECK_OK(anoma_model_fit(again, &x, NULL, NULL));
        CHECK_OK(anoma_model_threshold(again, &t_again));
        CHECK(t == t_again);
        if (seed == 0)
            first = t;
        differ += t != first;
        anoma_model_free(m);
        anoma_model_free(again);
    }
    CHECK(differ > 0); /* the seed does choose the sample */
    free(scores);
}

/* Floyd's sample: distinct rows in range, each row drawn with probability
 * k / n (over 4000 draws of 10 of 40 rows, each row's count is 1000 with a
 * binomial spread of 27; all must be within 5 of those). */
static void test_sampler_uniform(void)
{
    enum { N = 40, K = 10, DRAWS = 4000 };
    size_t slots[64], out[K];
    an_row_set set = {slots, an_row_set_slots(K) - 1};
    CHECK(an_row_set_slots(K) <= 64);
    long count[N] = {0};
    an_rng rng;
    an_rng_init(&rng, 5, 0);
    for (int d = 0; d < DRAWS; d++) {
        an_sample_distinct(&rng, N, K, &set, out);
        int seen[N] = {0};
        for (size_t i = 0; i < K; i++) {
            CHECK(out[i] < N && !seen[out[i]]);
            seen[out[i] < N ? out[i] : 0] = 1;
            count[out[i] < N ? out[i] : 0]++;
        }
    }
    for (size_t r = 0; r < N; r++)
        CHECK(count[r] > 1000 - 5 * 27 && count[r] < 1000 + 5 * 27);
}

int main(void)
{
    test_fill(data, ROWS * COLS, 4242u, 100000, 1000.0);
    RUN(test_rows_scored_at_fit);
    RUN(test_exact_when_smaller);
    RUN(test_sampled_threshold_is_close);
    RUN(test_sampler_uniform);
    return test_summary();
}
