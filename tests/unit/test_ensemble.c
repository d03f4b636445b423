/* The ensemble policy's edges in C: a vote of hand-computed members, the
 * weights refused by name and left as they were, a detector imported alone
 * (no calibration scores: a vote only by its own rule, no rank), and the
 * ENSEMBLE section's checks on load. The combinations themselves are
 * checked against NumPy on the shared data (tests/python/test_ensemble.py). */
#include "testing.h"
#include "io/bytes.h"
#include "model/model.h"

#include <stdlib.h>
#include <string.h>

#define N_OF(a) (sizeof(a) / sizeof *(a))

/* One column 0..9: zscore (combine=max) and iqr, 10 rows. */
static const double column[] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};

static anoma_model *fitted(const char *params)
{
    anoma_model *m = NULL;
    CHECK_OK(anoma_model_create(params, &m));
    CHECK_OK(anoma_model_add_detector(m, "zscore", "combine=max", NULL));
    CHECK_OK(anoma_model_add_detector(m, "zscore", "combine=max ddof=1", NULL));
    anoma_matrix x = anoma_matrix_f64(column, N_OF(column), 1);
    CHECK_OK(anoma_model_fit(m, &x, NULL, NULL));
    return m;
}

/* Members' own rule 3 (contamination=auto): a row 20 is 3.1+ sigma away for
 * both (mean 4.5, std 2.87 and 3.03); a row 13.5 only for the first
 * (|13.5 - 4.5| / 2.872 = 3.13, / 3.028 = 2.97). Weights 1,1: one of two
 * is a tie, not an anomaly; weights 2,1: the first alone is a majority. */
static void test_vote_by_hand(void)
{
    static const double rows[] = {4.5, 13.5, 20};
    anoma_matrix x = anoma_matrix_f64(rows, 3, 1);
    double s[3];
    int flag[3];
    anoma_model *m = fitted("ensemble=vote contamination=auto");
    double t = 0;
    CHECK_OK(anoma_model_threshold(m, &t));
    CHECK(t == 0.5);
    CHECK_OK(anoma_model_score(m, &x, s));
    CHECK_OK(anoma_model_predict(m, &x, flag));
    CHECK(s[0] == 0 && s[1] == 0.5 && s[2] == 1);
    CHECK(flag[0] == 0 && flag[1] == 0 && flag[2] == 1);
    anoma_model_free(m);

    m = fitted("ensemble=vote contamination=auto weights=2,1");
    CHECK_OK(anoma_model_score(m, &x, s));
    CHECK_OK(anoma_model_predict(m, &x, flag));
    CHECK(s[0] == 0 && s[1] == 2.0 / 3 && s[2] == 1);
    CHECK(flag[0] == 0 && flag[1] == 1 && flag[2] == 1);
    /* the row scorer agrees, and gives the members' scores */
    anoma_row_scorer *rs = NULL;
    CHECK_OK(anoma_row_scorer_create(m, &rs));
    double score, raw[2], z[2], all_raw[6];
    int is_anomaly;
    CHECK_OK(anoma_row_scorer_score(rs, &rows[1], 1, &score, &is_anomaly));
    CHECK(score == 2.0 / 3 && is_anomaly == 1);
    CHECK_OK(anoma_row_scorer_member_scores(rs, &rows[1], 1, raw, z));
    CHECK_OK(anoma_model_member_scores(m, &x, all_raw, NULL));
    CHECK(raw[0] == all_raw[2] && raw[1] == all_raw[3]);
    CHECK(raw[0] > 3 && raw[1] < 3);
    anoma_row_scorer_free(rs);
    anoma_model_free(m);
}

static void test_weights_refused(void)
{
    anoma_model *m = NULL;
    CHECK_STATUS(anoma_model_create("ensemble=wmean weights=1,x", &m), ANOMA_ERR_PARAM_VALUE);
    CHECK(strstr(anoma_last_error(), "item 2 ('x')") != NULL);
    CHECK_OK(anoma_model_create("ensemble=wmean weights=1,2", &m));
    CHECK_STATUS(anoma_model_set_param(m, "weights", "1,0"), ANOMA_ERR_PARAM_VALUE);
    char text[512];
    CHECK_OK(anoma_model_params(m, text, sizeof text, NULL));
    CHECK(strstr(text, "weights=1,2") != NULL); /* as it was */
    CHECK_OK(anoma_model_add_detector(m, "zscore", NULL, NULL));
    anoma_matrix x = anoma_matrix_f64(column, N_OF(column), 1);
    CHECK_STATUS(anoma_model_fit(m, &x, NULL, NULL), ANOMA_ERR_PARAM_VALUE);
    CHECK(strstr(anoma_last_error(), "has 2 weights; the model has 1 detector") != NULL);
    CHECK(!anoma_model_is_fitted(m));
    anoma_model_free(m);
}

/* A detector imported alone has no calibration scores. */
static void test_imported_alone(void)
{
    anoma_model *source = fitted("");
    size_t size = 0;
    unsigned char *payload = test_detector_payload(source, 0, &size);
    CHECK(payload != NULL);
    anoma_model *m = NULL;
    CHECK_OK(anoma_model_create("ensemble=vote threshold=0.5", &m));
    CHECK_STATUS(anoma_model_import_detector(m, "zscore", "combine=max", payload, size, 1),
                 ANOMA_ERR_UNSUPPORTED);
    CHECK(strstr(anoma_last_error(), "contamination=auto") != NULL);
    CHECK(anoma_model_n_detectors(m) == 0 && !anoma_model_is_fitted(m));
    anoma_model_free(m);

    CHECK_OK(anoma_model_create("ensemble=vote contamination=auto", &m));
    CHECK_OK(anoma_model_import_detector(m, "zscore", "combine=max", payload, size, 1));
    static const double rows[] = {4.5, 20};
    double s[2];
    anoma_matrix x = anoma_matrix_f64(rows, 2, 1);
    CHECK_OK(anoma_model_score(m, &x, s));
    CHECK(s[0] == 0 && s[1] == 1);
    anoma_model_free(m);

    CHECK_OK(anoma_model_create("normalize=rank threshold=0.5", &m));
    CHECK_STATUS(anoma_model_import_detector(m, "zscore", "combine=max", payload, size, 1),
                 ANOMA_ERR_UNSUPPORTED);
    anoma_model_free(m);
    free(payload);
    anoma_model_free(source);
}

/* The section's payload: layout, members, then per member a vote
 * threshold and knots. */
static void put_ensemble(an_writer *w, uint32_t layout, uint64_t members, double vote,
                         uint64_t knots)
{
    an_put_u32(w, layout);
    an_put_u64(w, members);
    for (uint64_t k = 0; k < members; k++) {
        an_put_f64(w, vote);
        an_put_u64(w, knots);
        for (uint64_t j = 0; j < knots; j++)
            an_put_f64(w, (double)j);
    }
}

static void test_section_checked(void)
{
    struct {
        const char *params;
        uint32_t layout;
        uint64_t members, knots;
        double vote;
        anoma_status status;
        const char *says;
    } cases[] = {
        {"ensemble=vote", 1, 2, 0, 1.5, ANOMA_OK, ""},
        {"ensemble=vote", 2, 2, 0, 1.5, ANOMA_ERR_VERSION, "layout 2"},
        {"ensemble=vote", 1, 3, 0, 1.5, ANOMA_ERR_FORMAT, "member count"},
        {"ensemble=vote", 1, 2, 0, NAN, ANOMA_ERR_FORMAT, "vote threshold"},
        {"normalize=rank", 1, 2, 0, NAN, ANOMA_ERR_FORMAT, "no rank knots"},
        {"normalize=rank", 1, 2, 3, NAN, ANOMA_OK, ""},
    };
    for (size_t i = 0; i < N_OF(cases); i++) {
        anoma_model *m = fitted(cases[i].params);
        an_writer w = {0};
        put_ensemble(&w, cases[i].layout, cases[i].members, cases[i].vote, cases[i].knots);
        CHECK_STATUS(an_ensemble_load(m, w.data, w.len), cases[i].status);
        CHECK(strstr(anoma_last_error(), cases[i].says) != NULL);
        an_writer_free(&w);
        anoma_model_free(m);
    }
    /* a vote without its section */
    anoma_model *m = fitted("ensemble=vote");
    CHECK_STATUS(an_ensemble_load(m, NULL, 0), ANOMA_ERR_FORMAT);
    CHECK(strstr(anoma_last_error(), "missing") != NULL);
    anoma_model_free(m);
}

/* Every allocation of a rank-and-vote ensemble's life, failing in turn:
 * fit, members' scores, probability, saving and loading free what they
 * took and report ANOMA_ERR_NO_MEMORY. */
static anoma_status ensemble_life(void *ctx)
{
    (void)ctx;
    static const double rows[] = {4.5, 20};
    anoma_matrix x = anoma_matrix_f64(column, N_OF(column), 1), r = anoma_matrix_f64(rows, 2, 1);
    anoma_model *m = NULL, *back = NULL;
    unsigned char bytes[1 << 14];
    double out[4], p[2];
    size_t size = 0;
    anoma_status st = anoma_model_create("ensemble=vote normalize=rank weights=1,2", &m);
    if (st == ANOMA_OK)
        st = anoma_model_add_detector(m, "zscore", "combine=max", NULL);
    if (st == ANOMA_OK)
        st = anoma_model_add_detector(m, "mad", "combine=max", NULL);
    if (st == ANOMA_OK)
        st = anoma_model_fit(m, &x, NULL, NULL);
    if (st == ANOMA_OK)
        st = anoma_model_member_scores(m, &r, out, NULL);
    if (st == ANOMA_OK)
        st = anoma_model_probability(m, &r, p, NULL);
    if (st == ANOMA_OK)
        st = anoma_model_save_memory(m, bytes, sizeof bytes, &size);
    if (st == ANOMA_OK)
        st = anoma_model_load_memory(bytes, size, &back);
    anoma_model_free(back);
    anoma_model_free(m);
    return st;
}

static void test_allocation_failures(void)
{
    CHECK_ALLOC_FAILURES(ensemble_life, NULL);
}

int main(void)
{
    RUN(test_vote_by_hand);
    RUN(test_weights_refused);
    RUN(test_imported_alone);
    RUN(test_section_checked);
    RUN(test_allocation_failures);
    return test_summary();
}
