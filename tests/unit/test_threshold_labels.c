/* Thresholds chosen on labelled validation rows: hand-computed cases for
 * each rule (ties, a non-monotone precision, unreachable targets), the
 * frame form, and bad input. A z-score model on one column serves as an
 * exactly known scorer: on x >= 1 its score rises with x. */
#include "testing.h"

#include <float.h>
#include <string.h>

#define N_OF(a) (sizeof(a) / sizeof *(a))

static anoma_model *zscore_model(void)
{
    static const double train[] = {0, 2};
    anoma_model *m = NULL;
    CHECK_OK(anoma_model_create("", &m));
    CHECK_OK(anoma_model_add_detector(m, "zscore", "", NULL));
    anoma_matrix x = anoma_matrix_f64(train, 2, 1);
    CHECK_OK(anoma_model_fit(m, &x, NULL, NULL));
    return m;
}

/* Set the threshold by `rule` on rows 1 + v[i], then check that it is the
 * score of row `cut_row` (-1: below every score) and that predict flags
 * exactly `flags`. */
static void check_rule(const double *v, const int *labels, size_t n, const char *rule,
                       int cut_row, const int *flags)
{
    double x[16], scores[16];
    int got[16];
    for (size_t i = 0; i < n; i++)
        x[i] = 1 + v[i];
    anoma_matrix mx = anoma_matrix_f64(x, n, 1);
    anoma_model *m = zscore_model();
    CHECK_OK(anoma_model_set_threshold_from_labels(m, &mx, labels, rule));
    CHECK_OK(anoma_model_score(m, &mx, scores));
    double t = 0;
    CHECK_OK(anoma_model_threshold(m, &t));
    if (cut_row >= 0) {
        CHECK(t == scores[cut_row]);
    } else {
        for (size_t i = 0; i < n; i++)
            CHECK(t < scores[i]);
    }
    CHECK_OK(anoma_model_predict(m, &mx, got));
    for (size_t i = 0; i < n; i++)
        CHECK(got[i] == flags[i]);
    anoma_model_free(m);
}

/* v: anomalies 9, 8, 7; normal rows 8, 5, 5. Cuts (flag score >= s):
 *   9: tp 1 fp 0  P 1    R 1/3  F1 2/4
 *   8: tp 2 fp 1  P 2/3  R 2/3  F1 4/6
 *   7: tp 3 fp 1  P 3/4  R 1    F1 6/7
 *   5: tp 3 fp 3  P 1/2  R 1    F1 6/9 */
static const double tied_v[] = {9, 8, 8, 7, 5, 5};
static const int tied_y[] = {1, 0, 1, 1, 0, 0};

static void test_best_f1_with_ties(void)
{
    static const int flags[] = {1, 1, 1, 1, 0, 0};
    check_rule(tied_v, tied_y, 6, "best_f1", 4, flags); /* cut 7: the first 5 stays out */
}

static void test_best_f1_tie_keeps_highest_cut(void)
{
    /* Flag 4 alone: F1 2/3; flag all: tp 2 fp 2, F1 4/6: equal, highest wins. */
    static const double v[] = {4, 3, 2, 1};
    static const int y[] = {1, 0, 0, 1}, flags[] = {1, 0, 0, 0};
    check_rule(v, y, 4, "best_f1", 1, flags);
}

static void test_precision(void)
{
    /* precision=0.75: cuts 9 and 7 reach it; the lowest (7) wins, past
     * cut 8 whose precision is lower. */
    static const int at_7[] = {1, 1, 1, 1, 0, 0}, at_9[] = {1, 0, 0, 0, 0, 0};
    check_rule(tied_v, tied_y, 6, "precision=0.75", 4, at_7);
    check_rule(tied_v, tied_y, 6, "precision=0.8", 1, at_9);
    check_rule(tied_v, tied_y, 6, "precision=1", 1, at_9);
    check_rule(tied_v, tied_y, 6, "precision=0.5", -1, (const int[]){1, 1, 1, 1, 1, 1});
}

static void test_recall(void)
{
    static const int at_9[] = {1, 0, 0, 0, 0, 0}, at_8[] = {1, 1, 1, 0, 0, 0},
                     at_7[] = {1, 1, 1, 1, 0, 0};
    check_rule(tied_v, tied_y, 6, "recall=0.3", 1, at_9);
    check_rule(tied_v, tied_y, 6, "recall=0.5", 3, at_8);
    check_rule(tied_v, tied_y, 6, "recall=0.6666666666666666", 3, at_8);
    check_rule(tied_v, tied_y, 6, "recall=1", 4, at_7);
    /* the last anomaly scores lowest: every row flagged */
    static const double v[] = {4, 3, 2, 1};
    static const int y[] = {0, 0, 0, 1}, all[] = {1, 1, 1, 1};
    check_rule(v, y, 4, "recall=1", -1, all);
}

static void test_every_row_flagged_at_score_zero(void)
{
    /* The smallest score is 0 (x = 1): the threshold below it must still be
     * a number the model's parameters accept (not a subnormal). */
    static const double v[] = {0, 3};
    static const int y[] = {1, 0}, all[] = {1, 1};
    check_rule(v, y, 2, "recall=1", -1, all);
}

static void test_unreachable_precision(void)
{
    /* precisions 0, 1/2, 1/3, 1/4: 0.6 is out of reach, 0.5 the best. */
    double x[] = {5, 4, 3, 2};
    int y[] = {0, 1, 0, 0};
    anoma_matrix mx = anoma_matrix_f64(x, 4, 1);
    anoma_model *m = zscore_model();
    double before = 0, after = 1;
    CHECK_OK(anoma_model_threshold(m, &before));
    CHECK_STATUS(anoma_model_set_threshold_from_labels(m, &mx, y, "precision=0.6"),
                 ANOMA_ERR_INVALID_ARGUMENT);
    CHECK(strstr(anoma_last_error(), "best precision is 0.5") != NULL);
    CHECK_OK(anoma_model_threshold(m, &after));
    CHECK(before == after);
    anoma_model_free(m);
}

static void test_frame_form(void)
{
    double x[] = {10, 9, 9, 8, 6, 6};
    double scores[6];
    anoma_frame *f = NULL;
    CHECK_OK(anoma_frame_create(6, &f));
    CHECK_OK(anoma_frame_add_column(f, "x0", ANOMA_COL_DOUBLE, x));
    anoma_model *m = zscore_model();
    CHECK_OK(anoma_model_set_threshold_from_labels_frame(m, f, tied_y, "best_f1"));
    CHECK_OK(anoma_model_score_frame(m, f, scores));
    double t = 0;
    CHECK_OK(anoma_model_threshold(m, &t));
    CHECK(t == scores[4]);
    anoma_model_free(m);
    anoma_frame_free(f);
}

static void test_bad_input(void)
{
    double x[] = {5, 4, 3}, wide[] = {1, 2, 3, 4, 5, 6};
    int y[] = {1, 0, 0}, not01[] = {1, 2, 0}, none[] = {0, 0, 0};
    anoma_matrix mx = anoma_matrix_f64(x, 3, 1);
    anoma_model *m = zscore_model();
    double before = 0, after = 1;
    CHECK_OK(anoma_model_threshold(m, &before));
    static const char *bad_rules[] = {"f1", "precision=0", "recall=1.5", "precision=",
                                      "recall=nan", "best_f1 ", NULL};
    for (size_t i = 0; i < N_OF(bad_rules); i++)
        CHECK_STATUS(anoma_model_set_threshold_from_labels(m, &mx, y, bad_rules[i]),
                     bad_rules[i] ? ANOMA_ERR_PARAM_VALUE : ANOMA_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(anoma_model_set_threshold_from_labels(m, &mx, not01, "best_f1"),
                 ANOMA_ERR_INVALID_ARGUMENT);
    CHECK(strstr(anoma_last_error(), "labels[1] = 2") != NULL);
    CHECK_STATUS(anoma_model_set_threshold_from_labels(m, &mx, none, "recall=0.5"),
                 ANOMA_ERR_INVALID_ARGUMENT);
    CHECK(strstr(anoma_last_error(), "no anomaly") != NULL);
    CHECK_STATUS(anoma_model_set_threshold_from_labels(m, &mx, NULL, "best_f1"),
                 ANOMA_ERR_INVALID_ARGUMENT);
    anoma_matrix two_cols = anoma_matrix_f64(wide, 3, 2);
    CHECK_STATUS(anoma_model_set_threshold_from_labels(m, &two_cols, y, "best_f1"),
                 ANOMA_ERR_SHAPE);
    anoma_matrix empty = anoma_matrix_f64(x, 0, 1);
    CHECK_STATUS(anoma_model_set_threshold_from_labels(m, &empty, y, "best_f1"), ANOMA_ERR_EMPTY);
    CHECK_OK(anoma_model_threshold(m, &after));
    CHECK(before == after);
    anoma_model_free(m);

    anoma_model *unfitted = NULL;
    CHECK_OK(anoma_model_create("", &unfitted));
    CHECK_OK(anoma_model_add_detector(unfitted, "zscore", "", NULL));
    CHECK_STATUS(anoma_model_set_threshold_from_labels(unfitted, &mx, y, "best_f1"),
                 ANOMA_ERR_NOT_FITTED);
    anoma_model_free(unfitted);
}

int main(void)
{
    RUN(test_best_f1_with_ties);
    RUN(test_best_f1_tie_keeps_highest_cut);
    RUN(test_precision);
    RUN(test_recall);
    RUN(test_every_row_flagged_at_score_zero);
    RUN(test_unreachable_precision);
    RUN(test_frame_form);
    RUN(test_bad_input);
    return test_summary();
}
