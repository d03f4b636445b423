/* The anomaly probability: ranks within a score distribution on hand
 * cases, the model's default probability and confidence on a z-score model
 * whose scores are known exactly, Platt's fit on a closed-form case, saving
 * and loading, and bad input. scikit-learn checks the logistic fit on real
 * data (tests/python/test_probability.py). */
#include "testing.h"
#include "io/bytes.h"
#include "model/model.h"

#include <stdlib.h>
#include <string.h>

#define N_OF(a) (sizeof(a) / sizeof *(a))

static void test_rank_on_hand_knots(void)
{
    static const double scores[] = {4, 2, 1, 2}; /* sorted: 1 2 2 4 */
    an_distribution d = {0};
    CHECK_OK(an_distribution_learn(&d, scores, N_OF(scores)));
    CHECK(d.n == 4);
    CHECK(an_distribution_rank(&d, 0.5) == 0);
    CHECK(an_distribution_rank(&d, 1) == 0);
    CHECK(test_close(an_distribution_rank(&d, 1.5), 0.5 / 3, 1e-15));
    CHECK(test_close(an_distribution_rank(&d, 2), 2.0 / 3, 1e-15)); /* the last tied knot */
    CHECK(test_close(an_distribution_rank(&d, 3), 2.5 / 3, 1e-15));
    CHECK(an_distribution_rank(&d, 4) == 1);
    CHECK(an_distribution_rank(&d, 9) == 1);
    CHECK(isnan(an_distribution_rank(&d, NAN)));
    an_distribution_free(&d);

    static const double one[] = {NAN, 3, NAN}; /* NaN scores are left out */
    CHECK_OK(an_distribution_learn(&d, one, N_OF(one)));
    CHECK(d.n == 1 && an_distribution_rank(&d, 2.9) == 0 && an_distribution_rank(&d, 3) == 1);
    an_distribution_free(&d);
}

/* More scores than knots: 0, 1, ..., 4096 have their j/1024 quantile at 4j,
 * so the rank of s is s / 4096 exactly. */
static void test_rank_from_quantiles(void)
{
    enum { N = 4097 };
    static double scores[N];
    for (size_t i = 0; i < N; i++)
        scores[N - 1 - i] = (double)i; /* given unsorted */
    an_distribution d = {0};
    CHECK_OK(an_distribution_learn(&d, scores, N));
    CHECK(d.n == AN_DISTRIBUTION_KNOTS);
    for (size_t j = 0; j < d.n; j++)
        CHECK(d.knots[j] == 4.0 * (double)j);
    static const double s[] = {0, 1, 6, 1000.5, 4095, 4096};
    for (size_t i = 0; i < N_OF(s); i++)
        CHECK(test_close(an_distribution_rank(&d, s[i]), s[i] / 4096, 1e-15));
    an_distribution_free(&d);
}

/* z-score on 0..4: mean 2, population std sqrt 2, so the scores are
 * sqrt2, 1/sqrt2, 0, 1/sqrt2, sqrt2; contamination 0.2 puts the threshold
 * at the 0.8 quantile, sqrt 2, the last knot, whose rank is 1. */
static anoma_model *zscore_model(const char *params)
{
    static const double train[] = {0, 1, 2, 3, 4};
    anoma_model *m = NULL;
    CHECK_OK(anoma_model_create(params, &m));
    CHECK_OK(anoma_model_add_detector(m, "zscore", "", NULL));
    anoma_matrix x = anoma_matrix_f64(train, N_OF(train), 1);
    CHECK_OK(anoma_model_fit(m, &x, NULL, NULL));
    return m;
}

static void test_default_probability(void)
{
    anoma_model *m = zscore_model("contamination=0.2");
    /* scores 0, r/2, r, sqrt2, 3r, 7r with r = 1/sqrt2: 2.5 halfway between
     * the knots 0 and r, 3 on the last of the tied knots r */
    static const double rows[] = {2, 2.5, 3, 4, 5, 9};
    static const double want[] = {0, 0.125, 0.5, 1, 1, 1};
    double p[N_OF(rows)], c[N_OF(rows)];
    anoma_matrix x = anoma_matrix_f64(rows, N_OF(rows), 1);
    CHECK_OK(anoma_model_probability(m, &x, p, c));
    for (size_t i = 0; i < N_OF(rows); i++) {
        CHECK(test_close(p[i], want[i], 1e-12));
        CHECK(test_close(c[i], 1 - want[i], 1e-12)); /* threshold rank 1: (1 - p) / 1 */
        CHECK(test_close(an_model_probability(m, fabs(rows[i] - 2) / sqrt(2)), want[i], 1e-12));
    }
    /* the same from scores, and one output at a time */
    double scores[N_OF(rows)], p2[N_OF(rows)], c2[N_OF(rows)];
    CHECK_OK(anoma_model_score(m, &x, scores));
    CHECK_OK(anoma_model_probability_of_scores(m, scores, N_OF(rows), p2, NULL));
    CHECK_OK(anoma_model_probability(m, &x, NULL, c2));
    CHECK(!memcmp(p, p2, sizeof p) && !memcmp(c, c2, sizeof c));
    anoma_model_free(m);
}

/* Without a rate (a fixed threshold, the detector's own rule) the fit
 * still learns the default probability: the same ranks as above, from the
 * same five training scores; the threshold then sets the confidence. */
static void test_probability_without_rate(void)
{
    static const double rows[] = {2, 2.5, 3, 4, 5, 9};
    static const double want[] = {0, 0.125, 0.5, 1, 1, 1};
    const char *params[] = {"threshold=3", "contamination=auto"};
    for (size_t k = 0; k < N_OF(params); k++) {
        anoma_model *m = zscore_model(params[k]);
        double p[N_OF(rows)], c[N_OF(rows)];
        anoma_matrix x = anoma_matrix_f64(rows, N_OF(rows), 1);
        CHECK_OK(anoma_model_probability(m, &x, p, c));
        for (size_t i = 0; i < N_OF(rows); i++)
            CHECK(test_close(p[i], want[i], 1e-12));
        /* both thresholds (3, and zscore's rule 3) lie above every knot: rank 1 */
        CHECK(test_close(c[0], 1, 1e-12) && test_close(c[2], 0.5, 1e-12));
        anoma_model_free(m);
    }
}

/* On a sample of probability_rows rows the probability of a score is close
 * to the share of all training scores at or below it: z-scores of
 * 0, 1, ..., 99999 are |i - 49999.5| / std, so the share at or below the
 * score of row i is known in closed form; a 2000-row sample's rank has a
 * binomial spread of at most 0.0112, and every point must lie within 4 of
 * those (plus the knots' 1/1024). */
static void test_probability_on_a_sample(void)
{
    enum { N = 100000 };
    double *train = malloc(N * sizeof *train);
    for (size_t i = 0; i < N; i++)
        train[i] = (double)i;
    anoma_model *m = NULL;
    CHECK_OK(anoma_model_create("contamination=auto probability_rows=2000", &m));
    CHECK_OK(anoma_model_add_detector(m, "zscore", "", NULL));
    anoma_matrix x = anoma_matrix_f64(train, N, 1);
    CHECK_OK(anoma_model_fit(m, &x, NULL, NULL));
    static const double rows[] = {50000, 60000, 75000, 90000, 99000};
    double p[N_OF(rows)];
    anoma_matrix r = anoma_matrix_f64(rows, N_OF(rows), 1);
    CHECK_OK(anoma_model_probability(m, &r, p, NULL));
    for (size_t i = 0; i < N_OF(rows); i++) {
        /* rows j with |j - 49999.5| <= |rows[i] - 49999.5|: 2 (rows[i] - 49999) */
        double share = 2 * (rows[i] - 49999) / N;
        CHECK(fabs(p[i] - share) < 4 * 0.0112 + 1.0 / 1024);
    }
    anoma_model_free(m);
    free(train);
}

/* Confidence on each side of a threshold moved to score r/2 (r =
 * 1/sqrt2), whose rank is q = 0.125. */
static void test_confidence_sides(void)
{
    anoma_model *m = zscore_model("contamination=0.2");
    double r = sqrt(0.5);
    char text[64];
    snprintf(text, sizeof text, "%.17g", r / 2); /* rank (0.5) / 4 = 0.125 */
    CHECK_OK(anoma_model_set_param(m, "threshold", text));
    double q = an_model_probability(m, r / 2);
    CHECK(test_close(q, 0.125, 1e-12));
    CHECK(an_model_confidence(m, q) == 0);
    CHECK(test_close(an_model_confidence(m, 1), 1, 1e-15));
    CHECK(test_close(an_model_confidence(m, 0), 1, 1e-15));
    CHECK(test_close(an_model_confidence(m, 0.5625), 0.5, 1e-12)); /* (0.5625 - q) / (1 - q) */
    CHECK(test_close(an_model_confidence(m, 0.0625), 0.5, 1e-12)); /* (q - 0.0625) / q */
    CHECK(isnan(an_model_confidence(m, NAN)));
    anoma_model_free(m);
}

/* Two rows, one of each label, scoring -1 and 1: Platt's targets 1/3 and
 * 2/3 are met exactly by b = 0, a = log 2; shifted scores shift b only. */
static void test_platt_closed_form(void)
{
    static const double f[] = {-1, 1};
    static const int y[] = {0, 1};
    double a, b;
    CHECK_OK(an_probability_fit_logistic(f, y, 2, &a, &b));
    CHECK(test_close(a, log(2), 1e-12));
    CHECK(fabs(b) < 1e-12);
    /* shifted by 3: a stays, b = -3a */
    static const double g[] = {2, 4};
    CHECK_OK(an_probability_fit_logistic(g, y, 2, &a, &b));
    CHECK(test_close(a, log(2), 1e-12));
    CHECK(test_close(b, -3 * log(2), 1e-12));
}

static void test_fit_probability_on_model(void)
{
    anoma_model *m = zscore_model("contamination=0.2");
    /* scores |x - 2| / sqrt2: rows at 2 + sqrt2 * {1, 3} score 1 and 3 */
    double rows[] = {2 + sqrt(2), 2 + 3 * sqrt(2)};
    static const int y[] = {0, 1};
    anoma_matrix x = anoma_matrix_f64(rows, 2, 1);
    double before = 0, after = 0;
    CHECK_OK(anoma_model_threshold(m, &before));
    CHECK_OK(anoma_model_fit_probability(m, &x, y));
    CHECK_OK(anoma_model_threshold(m, &after));
    CHECK(before == after);
    double p[2];
    CHECK_OK(anoma_model_probability(m, &x, p, NULL));
    CHECK(test_close(p[0], 1.0 / 3, 1e-12) && test_close(p[1], 2.0 / 3, 1e-12));
    /* saved and loaded: the same bits */
    anoma_model *back = TEST_RELOADED(m, NULL, NULL);
    double q[2];
    CHECK_OK(anoma_model_probability(back, &x, q, NULL));
    CHECK(!memcmp(p, q, sizeof p));
    anoma_model_free(back);
    anoma_model_free(m);
}

static void test_saved_distribution(void)
{
    anoma_model *m = zscore_model("contamination=0.2");
    anoma_model *back = TEST_RELOADED(m, NULL, NULL);
    double rows[64], p[64], q[64], c[64], d[64];
    for (size_t i = 0; i < 64; i++)
        rows[i] = -1 + 0.1 * (double)i;
    anoma_matrix x = anoma_matrix_f64(rows, 64, 1);
    CHECK_OK(anoma_model_probability(m, &x, p, c));
    CHECK_OK(anoma_model_probability(back, &x, q, d));
    CHECK(!memcmp(p, q, sizeof p) && !memcmp(c, d, sizeof c));
    anoma_model_free(back);
    anoma_model_free(m);
}

/* The loader refuses knots out of order, a negative slope and an unknown
 * method, each by name. */
static void test_bad_saved_probability(void)
{
    struct {
        unsigned method;
        double slope;
        double knots[2];
        const char *says;
    } cases[] = {
        {1, 0, {2, 1}, "below the one before"},
        {1, 0, {1, INFINITY}, "not finite"},
        {2, -1, {1, 2}, "slope"},
        {3, 0, {1, 2}, "unknown probability method"},
    };
    for (size_t i = 0; i < N_OF(cases); i++) {
        an_writer w = {0};
        an_put_u32(&w, 1);
        an_put_u8(&w, (uint8_t)cases[i].method);
        an_put_f64(&w, cases[i].slope);
        an_put_f64(&w, 0);
        an_put_u64(&w, 2);
        an_put_f64_array(&w, cases[i].knots, 2);
        an_reader r = an_reader_make(w.data, w.len, "probability");
        an_probability p = {0};
        CHECK_STATUS(an_probability_load(&p, &r), ANOMA_ERR_FORMAT);
        CHECK(strstr(anoma_last_error(), cases[i].says) != NULL);
        an_probability_free(&p);
        an_writer_free(&w);
    }
}

static void test_refused(void)
{
    /* one detector, a fixed threshold and probability_rows=0: no training
     * score, no probability */
    anoma_model *m = zscore_model("threshold=3 probability_rows=0");
    double row[] = {1}, p[1];
    anoma_matrix x = anoma_matrix_f64(row, 1, 1);
    CHECK_STATUS(anoma_model_probability(m, &x, p, NULL), ANOMA_ERR_UNSUPPORTED);
    CHECK(strstr(anoma_last_error(), "anoma_model_fit_probability") != NULL);
    anoma_model_free(m);

    m = zscore_model("contamination=0.2");
    CHECK_STATUS(anoma_model_probability(m, &x, NULL, NULL), ANOMA_ERR_INVALID_ARGUMENT);
    double rows[] = {2 + sqrt(2), 2 + 3 * sqrt(2), 2};
    anoma_matrix v = anoma_matrix_f64(rows, 3, 1);
    static const int bad_label[] = {0, 2, 1}, all_zero[] = {0, 0, 0}, backwards[] = {1, 0, 0};
    CHECK_STATUS(anoma_model_fit_probability(m, &v, bad_label), ANOMA_ERR_INVALID_ARGUMENT);
    CHECK(strstr(anoma_last_error(), "row 1") != NULL);
    CHECK_STATUS(anoma_model_fit_probability(m, &v, all_zero), ANOMA_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(anoma_model_fit_probability(m, &v, backwards), ANOMA_ERR_INVALID_ARGUMENT);
    CHECK(strstr(anoma_last_error(), "slope") != NULL);
    /* still the default probability */
    CHECK(m->probability.method == AN_PROBABILITY_DISTRIBUTION);
    anoma_model_free(m);
}

int main(void)
{
    RUN(test_rank_on_hand_knots);
    RUN(test_rank_from_quantiles);
    RUN(test_default_probability);
    RUN(test_probability_without_rate);
    RUN(test_probability_on_a_sample);
    RUN(test_confidence_sides);
    RUN(test_platt_closed_form);
    RUN(test_fit_probability_on_model);
    RUN(test_saved_distribution);
    RUN(test_bad_saved_probability);
    RUN(test_refused);
    return test_summary();
}
