/* The model with a pipeline, through the public API: frames in, the two
 * widths, batch == row scorer == after save/load, bad input naming column
 * and row, old files, imports, allocation failures. */
#include "testing.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { ROWS = 600 };
static double amount[ROWS];
static int64_t clicks[ROWS];
static const char *device[ROWS];
static int64_t when[ROWS];
static const char *const kinds[] = {"web", "ios", "android", "tv"};

static void make_data(void)
{
    unsigned seed = 99;
    for (size_t i = 0; i < ROWS; i++) {
        unsigned s = test_lcg(&seed);
        amount[i] = i % 23 == 5 ? NAN : (double)((s >> 8) % 10000) / 100.0;
        clicks[i] = (int64_t)((s >> 4) % 50);
        device[i] = i % 41 == 7 ? NULL : kinds[(s >> 12) % (i % 97 == 3 ? 4 : 3)];
        when[i] = 1700000000 + (int64_t)i * 60;
    }
    amount[17] = 900; /* an outlier */
}

static anoma_frame *frame_of(size_t rows, int with_extra)
{
    anoma_frame *f = NULL;
    CHECK_OK(anoma_frame_create(rows, &f));
    if (with_extra) /* an extra column first: ignored when scoring */
        CHECK_OK(anoma_frame_add_column(f, "when", ANOMA_COL_TIMESTAMP, when));
    CHECK_OK(anoma_frame_add_column(f, "amount", ANOMA_COL_DOUBLE, amount));
    CHECK_OK(anoma_frame_add_column(f, "device", ANOMA_COL_STRING, device));
    CHECK_OK(anoma_frame_add_column(f, "clicks", ANOMA_COL_INT64, clicks));
    return f;
}

static anoma_model *fitted_model(const char *detector)
{
    anoma_model *m = NULL;
    CHECK_OK(anoma_model_create("contamination=0.05", &m));
    CHECK_OK(anoma_model_add_step(m, "one_hot", "columns=device", NULL));
    size_t index = 9;
    CHECK_OK(anoma_model_add_step(m, "standard_scaler", NULL, &index));
    CHECK(index == 1);
    CHECK_OK(anoma_model_add_detector(m, detector, NULL, NULL));
    anoma_frame *f = frame_of(ROWS, 0);
    CHECK_OK(anoma_model_fit_frame(m, f, NULL, NULL));
    anoma_frame_free(f);
    return m;
}

static void test_widths_and_names(void)
{
    anoma_model *m = fitted_model("zscore");
    CHECK(anoma_model_n_steps(m) == 2 && !strcmp(anoma_model_step_name(m, 0), "one_hot"));
    CHECK(anoma_model_n_features(m) == 3);
    CHECK(!strcmp(anoma_model_input_name(m, 1), "device"));
    CHECK(!strcmp(anoma_model_feature_name(m, 1), "device"));
    anoma_column_type t;
    CHECK_OK(anoma_model_input_type(m, 1, &t));
    CHECK(t == ANOMA_COL_STRING);
    CHECK_OK(anoma_model_input_type(m, 2, &t));
    CHECK(t == ANOMA_COL_DOUBLE); /* an int64 column is a number */
    /* amount, then device's columns (android, ios, tv, web, missing, unseen), clicks */
    const char *want[] = {"amount", "device=android", "device=ios", "device=tv", "device=web",
                          "device=<missing>", "device=<unseen>", "clicks"};
    CHECK(anoma_model_n_outputs(m) == 8);
    for (size_t k = 0; k < 8; k++)
        CHECK(anoma_model_output_name(m, k) && !strcmp(anoma_model_output_name(m, k), want[k]));
    CHECK(anoma_model_output_name(m, 8) == NULL);
    char text[4096];
    size_t needed;
    CHECK_OK(anoma_model_step_params(m, 0, text, sizeof text, &needed));
    CHECK(strstr(text, "columns=device") && strstr(text, "unseen=bucket"));
    CHECK_OK(anoma_model_describe(m, text, sizeof text, &needed));
    CHECK(strstr(text, "pipeline: 2 steps") && strstr(text, "device=<unseen>"));
    CHECK_STATUS(anoma_model_add_step(m, "select", NULL, NULL), ANOMA_ERR_UNSUPPORTED);
    anoma_model_free(m);
}

/* Typed rows through the row scorer give the batch's probability,
 * confidence and members' scores, bit for bit: an ensemble of two detectors
 * behind the steps, normalised by rank. */
static void test_typed_row_probability_and_members(void)
{
    anoma_model *m = NULL;
    CHECK_OK(anoma_model_create("contamination=0.05 normalize=rank", &m));
    CHECK_OK(anoma_model_add_step(m, "one_hot", "columns=device", NULL));
    CHECK_OK(anoma_model_add_step(m, "standard_scaler", NULL, NULL));
    CHECK_OK(anoma_model_add_detector(m, "iforest", "n_trees=30 seed=2", NULL));
    CHECK_OK(anoma_model_add_detector(m, "zscore", "combine=max", NULL));
    anoma_frame *f = frame_of(ROWS, 0);
    CHECK_OK(anoma_model_fit_frame(m, f, NULL, NULL));
    static double p[ROWS], c[ROWS], raw[ROWS * 2], z[ROWS * 2], scores[ROWS];
    CHECK_OK(anoma_model_score_frame(m, f, scores));
    CHECK_OK(anoma_model_probability_frame(m, f, p, c));
    CHECK_OK(anoma_model_member_scores_frame(m, f, raw, z));
    anoma_row_scorer *s = NULL;
    CHECK_OK(anoma_row_scorer_create(m, &s));
    size_t same = 0;
    for (size_t i = 0; i < ROWS; i++) {
        anoma_value row[3] = {{.number = amount[i]}, {.text = device[i]},
                              {.number = (double)clicks[i]}};
        double score, prob, conf, r[2], n[2];
        int is;
        CHECK_OK(anoma_row_scorer_score_probability_values(s, row, 3, &score, &is, &prob, &conf));
        CHECK_OK(anoma_row_scorer_member_scores_values(s, row, 3, r, n));
        same += score == scores[i] && prob == p[i] && conf == c[i] && r[0] == raw[2 * i] &&
                r[1] == raw[2 * i + 1] && n[0] == z[2 * i] && n[1] == z[2 * i + 1];
    }
    CHECK(same == ROWS);
    anoma_value row[3] = {{.number = 1}, {.text = "web"}, {.number = 2}};
    double score;
    CHECK_STATUS(anoma_row_scorer_member_scores_values(s, row, 2, &score, NULL), ANOMA_ERR_SHAPE);
    CHECK_STATUS(anoma_row_scorer_member_scores_values(s, row, 3, NULL, NULL),
                 ANOMA_ERR_INVALID_ARGUMENT);
    anoma_row_scorer_free(s);
    anoma_model_free(m);
    /* a model that learned no probability refuses before scoring */
    CHECK_OK(anoma_model_create("threshold=1 probability_rows=0", &m));
    CHECK_OK(anoma_model_add_step(m, "one_hot", "columns=device", NULL));
    CHECK_OK(anoma_model_add_detector(m, "zscore", NULL, NULL));
    CHECK_OK(anoma_model_fit_frame(m, f, NULL, NULL));
    CHECK_OK(anoma_row_scorer_create(m, &s));
    CHECK_STATUS(anoma_row_scorer_score_probability_values(s, row, 3, &score, NULL, NULL, NULL),
                 ANOMA_ERR_UNSUPPORTED);
    anoma_row_scorer_free(s);
    anoma_model_free(m);
    anoma_frame_free(f);
}

static void test_batch_row_and_file_agree(void)
{
    anoma_model *m = fitted_model("iforest");
    anoma_frame *f = frame_of(ROWS, 1);
    double batch[ROWS], back_scores[ROWS];
    CHECK_OK(anoma_model_score_frame(m, f, batch));
    CHECK(batch[17] > batch[16] && batch[17] > batch[18]);
    int flags[ROWS];
    double t;
    CHECK_OK(anoma_model_predict_frame(m, f, flags));
    CHECK_OK(anoma_model_threshold(m, &t));
    for (size_t i = 0; i < ROWS; i++)
        CHECK(flags[i] == (batch[i] > t));
    /* the single-row path, typed values */
    anoma_row_scorer *s = NULL;
    CHECK_OK(anoma_row_scorer_create(m, &s));
    for (size_t i = 0; i < ROWS; i++) {
        anoma_value row[3];
        row[0].number = amount[i];
        row[1].text = device[i];
        row[2].number = (double)clicks[i];
        double score;
        int is;
        CHECK_OK(anoma_row_scorer_score_values(s, row, 3, &score, &is));
        CHECK(score == batch[i] && is == flags[i]);
    }
    double plain[3] = {1, 2, 3}, score;
    CHECK_STATUS(anoma_row_scorer_score(s, plain, 3, &score, NULL), ANOMA_ERR_INVALID_ARGUMENT);
    CHECK(strstr(anoma_last_error(), "'device'") != NULL); /* a matrix has no text */
    anoma_row_scorer_free(s);
    /* save, load: same scores */
    size_t size = 0;
    unsigned char *buf = NULL;
    anoma_model *back = TEST_RELOADED(m, &buf, &size);
    CHECK_OK(anoma_model_score_frame(back, f, back_scores));
    CHECK(!memcmp(batch, back_scores, sizeof batch));
    CHECK(anoma_model_n_outputs(back) == 8 && !strcmp(anoma_model_output_name(back, 6), "device=<unseen>"));
    /* every truncation fails cleanly */
    for (size_t cut = 0; cut < size; cut += 7) {
        anoma_model *bad = NULL;
        CHECK(anoma_model_load_memory(buf, cut, &bad) != ANOMA_OK && bad == NULL);
    }
    free(buf);
    anoma_model_free(back);
    anoma_frame_free(f);
    anoma_model_free(m);
}

/* Every row of the data scored and explained by one row scorer, in order:
 * the batch's scores and per-feature scores (w per row), to the bit. */
static void check_rows_explain_as_batch(const anoma_model *m, const double *batch,
                                        const double *explained, size_t w)
{
    anoma_row_scorer *s = NULL;
    double *row_got = malloc(w * sizeof *row_got);
    CHECK_OK(anoma_row_scorer_create(m, &s));
    for (size_t i = 0; s && row_got && i < ROWS; i++) {
        anoma_value row[3] = {{.number = amount[i]}, {.text = device[i]},
                              {.number = (double)clicks[i]}};
        double score;
        int is;
        CHECK_OK(anoma_row_scorer_explain_values(s, 0, row, 3, &score, &is, row_got));
        CHECK(score == batch[i] && !memcmp(row_got, explained + i * w, w * sizeof *row_got));
    }
    anoma_row_scorer_free(s);
    free(row_got);
}

/* Explanations of a model with steps are per derived column: z-score's
 * |t - mean| / std of each output column, computed here from the
 * pipeline's output; batch and row scorer agree. */
static void test_explanations_of_derived_features(void)
{
    anoma_model *m = fitted_model("zscore");
    anoma_frame *f = frame_of(ROWS, 0);
    enum { W = 8 };
    CHECK(anoma_model_n_outputs(m) == W);
    static double t[ROWS * W], got[ROWS * W], row_got[W];
    double mean[W] = {0}, sd[W] = {0};
    CHECK_OK(anoma_model_transform_frame(m, f, t));
    for (size_t i = 0; i < ROWS; i++)
        for (size_t j = 0; j < W; j++)
            mean[j] += t[i * W + j] / ROWS;
    for (size_t i = 0; i < ROWS; i++)
        for (size_t j = 0; j < W; j++)
            sd[j] += (t[i * W + j] - mean[j]) * (t[i * W + j] - mean[j]) / ROWS;
    CHECK_OK(anoma_model_feature_scores_frame(m, 0, f, got));
    for (size_t i = 0; i < ROWS; i++)
        for (size_t j = 0; j < W; j++)
            if (!isnan(t[i * W + j]) && sd[j] > 0)
                CHECK_NEAR(got[i * W + j], fabs(t[i * W + j] - mean[j]) / sqrt(sd[j]), 1e-9);
    /* a row with the rare device (tv) is explained first by its column */
    size_t rare = 3, best = 0; /* 3 % 97 == 3: the only rows that draw tv */
    while (rare < ROWS && !(device[rare] && !strcmp(device[rare], "tv")))
        rare += 97;
    CHECK(rare < ROWS);
    for (size_t j = 1; j < W; j++)
        if (got[rare * W + j] > got[rare * W + best])
            best = j;
    CHECK(!strcmp(anoma_model_output_name(m, best), "device=tv"));
    /* the row scorer: score and explanation of one row in one call */
    double batch[ROWS];
    CHECK_OK(anoma_model_score_frame(m, f, batch));
    check_rows_explain_as_batch(m, batch, got, W);
    anoma_row_scorer *s = NULL;
    CHECK_OK(anoma_row_scorer_create(m, &s));
    anoma_value row[3] = {{.number = 1}, {.text = "web"}, {.number = 2}};
    double score;
    CHECK_STATUS(anoma_row_scorer_explain_values(s, 1, row, 3, &score, NULL, row_got),
                 ANOMA_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(anoma_row_scorer_explain_values(s, 0, row, 2, &score, NULL, row_got),
                 ANOMA_ERR_SHAPE);
    CHECK_STATUS(anoma_model_feature_scores_frame(m, 1, f, got), ANOMA_ERR_INVALID_ARGUMENT);
    anoma_row_scorer_free(s);
    anoma_frame_free(f);
    anoma_model_free(m);
}

/* With a stateful step, a row scored and explained by the row scorer
 * enters its entity's history once: the scores equal the batch's. */
static void test_explaining_rows_keeps_window_history(void)
{
    anoma_model *m = NULL;
    CHECK_OK(anoma_model_create(NULL, &m));
    CHECK_OK(anoma_model_add_step(m, "window", "columns=amount entity=device lags=1 rolling=3", NULL));
    CHECK_OK(anoma_model_add_step(m, "one_hot", "columns=device", NULL));
    CHECK_OK(anoma_model_add_step(m, "imputer", "strategy=constant fill_value=0", NULL));
    CHECK_OK(anoma_model_add_detector(m, "zscore", NULL, NULL));
    anoma_frame *f = frame_of(ROWS, 0);
    CHECK_OK(anoma_model_fit_frame(m, f, NULL, NULL));
    size_t w = anoma_model_n_outputs(m);
    double batch[ROWS], *got = malloc(ROWS * w * sizeof *got);
    CHECK_OK(anoma_model_score_frame(m, f, batch));
    CHECK_OK(anoma_model_feature_scores_frame(m, 0, f, got));
    check_rows_explain_as_batch(m, batch, got, w);
    free(got);
    anoma_frame_free(f);
    anoma_model_free(m);
}

static void test_bad_input_names_column_and_row(void)
{
    anoma_model *m = NULL;
    CHECK_OK(anoma_model_create(NULL, &m));
    CHECK_OK(anoma_model_add_step(m, "one_hot", "unseen=error", NULL));
    CHECK_OK(anoma_model_add_detector(m, "zscore", NULL, NULL));
    anoma_frame *f = frame_of(ROWS, 0);
    CHECK_OK(anoma_model_fit_frame(m, f, NULL, NULL));
    anoma_frame_free(f);
    double scores[ROWS];
    /* a missing column */
    anoma_frame *g = NULL;
    CHECK_OK(anoma_frame_create(ROWS, &g));
    CHECK_OK(anoma_frame_add_column(g, "amount", ANOMA_COL_DOUBLE, amount));
    CHECK_OK(anoma_frame_add_column(g, "clicks", ANOMA_COL_INT64, clicks));
    CHECK_STATUS(anoma_model_score_frame(m, g, scores), ANOMA_ERR_INVALID_ARGUMENT);
    CHECK(strstr(anoma_last_error(), "no column 'device'") != NULL);
    /* a wrong type */
    CHECK_OK(anoma_frame_add_column(g, "device", ANOMA_COL_DOUBLE, amount));
    CHECK_STATUS(anoma_model_score_frame(m, g, scores), ANOMA_ERR_INVALID_ARGUMENT);
    CHECK(strstr(anoma_last_error(), "'device'") && strstr(anoma_last_error(), "expects text"));
    anoma_frame_free(g);
    /* an unseen category, at row 300 */
    static const char *other[ROWS];
    for (size_t i = 0; i < ROWS; i++)
        other[i] = device[i] ? device[i] : "web";
    other[300] = "smart fridge";
    CHECK_OK(anoma_frame_create(ROWS, &g));
    CHECK_OK(anoma_frame_add_column(g, "amount", ANOMA_COL_DOUBLE, amount));
    CHECK_OK(anoma_frame_add_column(g, "device", ANOMA_COL_STRING, other));
    CHECK_OK(anoma_frame_add_column(g, "clicks", ANOMA_COL_INT64, clicks));
    CHECK_STATUS(anoma_model_score_frame(m, g, scores), ANOMA_ERR_INVALID_ARGUMENT);
    CHECK(strstr(anoma_last_error(), "'smart fridge'") && strstr(anoma_last_error(), "row 300"));
    /* an infinite number */
    static double inf_amount[ROWS];
    memcpy(inf_amount, amount, sizeof inf_amount);
    inf_amount[12] = -INFINITY;
    other[300] = "web";
    anoma_frame_free(g);
    CHECK_OK(anoma_frame_create(ROWS, &g));
    CHECK_OK(anoma_frame_add_column(g, "amount", ANOMA_COL_DOUBLE, inf_amount));
    CHECK_OK(anoma_frame_add_column(g, "device", ANOMA_COL_STRING, other));
    CHECK_OK(anoma_frame_add_column(g, "clicks", ANOMA_COL_INT64, clicks));
    CHECK_STATUS(anoma_model_score_frame(m, g, scores), ANOMA_ERR_NONFINITE);
    CHECK(strstr(anoma_last_error(), "'amount', row 12") != NULL);
    anoma_frame_free(g);
    anoma_model_free(m);

    /* text left at the end: a fit error naming it; the model stays fittable */
    CHECK_OK(anoma_model_create(NULL, &m));
    CHECK_OK(anoma_model_add_step(m, "standard_scaler", NULL, NULL));
    CHECK_OK(anoma_model_add_detector(m, "zscore", NULL, NULL));
    f = frame_of(ROWS, 0);
    CHECK_STATUS(anoma_model_fit_frame(m, f, NULL, NULL), ANOMA_ERR_INVALID_ARGUMENT);
    CHECK(strstr(anoma_last_error(), "'device'") != NULL);
    CHECK(!anoma_model_is_fitted(m));
    const char *names[] = {"amount", "clicks"}; /* fit on some columns only */
    CHECK_OK(anoma_model_set_feature_names(m, names, 2));
    CHECK_OK(anoma_model_fit_frame(m, f, NULL, NULL));
    CHECK(anoma_model_n_features(m) == 2 && anoma_model_n_outputs(m) == 2);
    anoma_frame_free(f);
    anoma_model_free(m);
}

/* Scoring many rows through stateless steps goes a part at a time (wide
 * outputs make the parts small): the scores are those of the row scorer,
 * and an error in a later part names its row in the whole input. */
static void test_scores_in_parts(void)
{
    enum { MANY = 30000, KINDS = 500 };
    static char names[KINDS][8];
    static const char *kind[MANY];
    static double value[MANY], scores[MANY];
    for (size_t k = 0; k < KINDS; k++)
        snprintf(names[k], sizeof names[k], "k%zu", k);
    for (size_t i = 0; i < MANY; i++) {
        kind[i] = names[(i * 31 + i / 7) % KINDS];
        value[i] = (double)((i * 2654435761u) % 1000) / 10.0;
    }
    anoma_frame *f = NULL;
    CHECK_OK(anoma_frame_create(MANY, &f));
    CHECK_OK(anoma_frame_add_column(f, "kind", ANOMA_COL_STRING, kind));
    CHECK_OK(anoma_frame_add_column(f, "value", ANOMA_COL_DOUBLE, value));
    anoma_model *m = NULL;
    CHECK_OK(anoma_model_create("n_threads=2", &m));
    CHECK_OK(anoma_model_add_step(m, "one_hot", "columns=kind", NULL));
    CHECK_OK(anoma_model_add_step(m, "standard_scaler", "columns=value", NULL));
    CHECK_OK(anoma_model_add_detector(m, "zscore", NULL, NULL));
    CHECK_OK(anoma_model_fit_frame(m, f, NULL, NULL));
    CHECK(anoma_model_n_outputs(m) > KINDS);
    CHECK_OK(anoma_model_score_frame(m, f, scores));
    anoma_row_scorer *s = NULL;
    CHECK_OK(anoma_row_scorer_create(m, &s));
    size_t differ = 0;
    for (size_t i = 0; i < MANY; i++) {
        anoma_value row[2];
        row[0].text = kind[i];
        row[1].number = value[i];
        double score;
        CHECK_OK(anoma_row_scorer_score_values(s, row, 2, &score, NULL));
        differ += score != scores[i];
    }
    CHECK(differ == 0);
    anoma_row_scorer_free(s);
    value[25000] = INFINITY;
    CHECK_STATUS(anoma_model_score_frame(m, f, scores), ANOMA_ERR_NONFINITE);
    CHECK(strstr(anoma_last_error(), "'value', row 25000") != NULL);
    anoma_model_free(m);
    anoma_frame_free(f);
}

/* Two steps making a column of the same name: a fit error naming the
 * column and both makers, whichever step it is (once only ratio checked). */
static void test_duplicate_output_names(void)
{
    /* per case: two steps (name, parameters; NULL: none) and the message */
    const char *cases[][5] = {
        {"missing_indicator", "columns=amount", "missing_indicator", "columns=amount",
         "step 1 (missing_indicator) makes a column 'amount_missing' and step 0 "
         "(missing_indicator) makes one too"},
        {"ratio", "numerator=amount denominator=clicks name=clicks", NULL, NULL,
         "step 0 (ratio) makes a column 'clicks' and the input makes one too"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        anoma_model *m = NULL;
        CHECK_OK(anoma_model_create(NULL, &m));
        for (size_t s = 0; s < 4 && cases[k][s]; s += 2)
            CHECK_OK(anoma_model_add_step(m, cases[k][s], cases[k][s + 1], NULL));
        CHECK_OK(anoma_model_add_step(m, "select", "drop=device", NULL));
        CHECK_OK(anoma_model_add_detector(m, "zscore", NULL, NULL));
        anoma_frame *f = frame_of(ROWS, 0);
        CHECK_STATUS(anoma_model_fit_frame(m, f, NULL, NULL), ANOMA_ERR_INVALID_ARGUMENT);
        CHECK(strstr(anoma_last_error(), cases[k][4]) != NULL);
        CHECK(!anoma_model_is_fitted(m));
        anoma_frame_free(f);
        anoma_model_free(m);
    }
}

/* A matrix model with steps, and one without any: the plain path unchanged. */
static void test_matrix_models(void)
{
    double x[ROWS * 2];
    for (size_t i = 0; i < ROWS; i++) {
        x[2 * i] = isnan(amount[i]) ? 1 : amount[i];
        x[2 * i + 1] = (double)clicks[i];
    }
    anoma_matrix view = anoma_matrix_f64(x, ROWS, 2);
    anoma_model *plain = NULL, *scaled = NULL;
    CHECK_OK(anoma_model_create(NULL, &plain));
    CHECK_OK(anoma_model_add_detector(plain, "zscore", NULL, NULL));
    CHECK_OK(anoma_model_fit(plain, &view, NULL, NULL));
    CHECK_OK(anoma_model_create(NULL, &scaled));
    CHECK_OK(anoma_model_add_step(scaled, "standard_scaler", "columns=x1", NULL));
    CHECK_OK(anoma_model_add_detector(scaled, "zscore", NULL, NULL));
    CHECK_OK(anoma_model_fit(scaled, &view, NULL, NULL));
    /* z-scores do not change when a column is standardised first */
    double a[ROWS], b[ROWS], t[ROWS * 2];
    CHECK_OK(anoma_model_score(plain, &view, a));
    CHECK_OK(anoma_model_score(scaled, &view, b));
    for (size_t i = 0; i < ROWS; i++)
        CHECK_NEAR(b[i], a[i], 1e-12);
    CHECK_OK(anoma_model_transform(scaled, &view, t));
    CHECK(t[0] == x[0]); /* placement: the scaled x1 where x1 was */
    CHECK(!strcmp(anoma_model_output_name(scaled, 1), "x1"));
    CHECK_OK(anoma_model_transform(plain, &view, t));
    CHECK(!memcmp(t, x, sizeof x));
    anoma_model_free(plain);
    anoma_model_free(scaled);
}

/* A detector fitted elsewhere joins a model with steps (and another
 * detector): fit fits the rest and checks the width. */
static void test_import_into_pipeline(void)
{
    anoma_model *ref = fitted_model("zscore");
    size_t len = 0;
    unsigned char *payload = test_detector_payload(ref, 0, &len);
    CHECK(payload != NULL);
    anoma_frame *f = frame_of(ROWS, 0);
    double a[ROWS], b[ROWS];
    CHECK_OK(anoma_model_score_frame(ref, f, a));
    for (int with_mad = 0; with_mad < 2 && payload; with_mad++) {
        anoma_model *m = NULL;
        CHECK_OK(anoma_model_create("contamination=0.05", &m));
        CHECK_OK(anoma_model_add_step(m, "one_hot", "columns=device", NULL));
        CHECK_OK(anoma_model_add_step(m, "standard_scaler", NULL, NULL));
        if (with_mad)
            CHECK_OK(anoma_model_add_detector(m, "mad", NULL, NULL));
        /* the payload must agree with the width given */
        CHECK_STATUS(anoma_model_import_detector(m, "zscore", NULL, payload, len, 5),
                     ANOMA_ERR_FORMAT);
        CHECK(anoma_model_n_detectors(m) == (size_t)with_mad);
        anoma_model_free(m);
        /* and the width with the pipeline's output, at fit (no <unseen> column: 7) */
        CHECK_OK(anoma_model_create("contamination=0.05", &m));
        CHECK_OK(anoma_model_add_step(m, "one_hot", "columns=device unseen=ignore", NULL));
        if (with_mad)
            CHECK_OK(anoma_model_add_detector(m, "mad", NULL, NULL));
        /* no fixed threshold needed: fit takes the contamination quantile */
        CHECK_OK(anoma_model_import_detector(m, "zscore", NULL, payload, len, 8));
        CHECK(!anoma_model_is_fitted(m) && anoma_model_n_detectors(m) == 1u + with_mad);
        CHECK_STATUS(anoma_model_fit_frame(m, f, NULL, NULL), ANOMA_ERR_SHAPE);
        CHECK(strstr(anoma_last_error(), "takes 8 columns; the pipeline makes 7") != NULL);
        CHECK(!anoma_model_is_fitted(m));
        anoma_model_free(m);
        CHECK_OK(anoma_model_create("contamination=0.05", &m));
        CHECK_OK(anoma_model_add_step(m, "one_hot", "columns=device", NULL));
        CHECK_OK(anoma_model_add_step(m, "standard_scaler", NULL, NULL));
        if (with_mad)
            CHECK_OK(anoma_model_add_detector(m, "mad", NULL, NULL));
        CHECK_OK(anoma_model_import_detector(m, "zscore", NULL, payload, len, 8));
        CHECK_STATUS(anoma_model_set_detector_param(m, with_mad, "ddof", "1"),
                     ANOMA_ERR_UNSUPPORTED);
        CHECK_OK(anoma_model_fit_frame(m, f, NULL, NULL));
        CHECK_OK(anoma_model_score_frame(m, f, b));
        if (!with_mad) /* the imported detector alone scores as where it was fitted */
            CHECK(!memcmp(a, b, sizeof a));
        anoma_model_free(m);
    }
    free(payload);
    anoma_frame_free(f);
    anoma_model_free(ref);
}

static void test_allocation_failures(void)
{
    for (long k = 0;; k++) {
        test_alloc_install(k);
        anoma_model *m = NULL, *back = NULL;
        anoma_row_scorer *s = NULL;
        anoma_frame *f = NULL;
        double scores[ROWS], score;
        unsigned char buf[1 << 15];
        size_t size = 0;
        anoma_status st = anoma_model_create(NULL, &m);
        if (st == ANOMA_OK)
            st = anoma_model_add_step(m, "one_hot", "min_frequency=5", NULL);
        if (st == ANOMA_OK)
            st = anoma_model_add_step(m, "standard_scaler", NULL, NULL);
        if (st == ANOMA_OK)
            st = anoma_model_add_detector(m, "zscore", NULL, NULL);
        if (st == ANOMA_OK)
            st = anoma_frame_create(ROWS, &f);
        if (st == ANOMA_OK)
            st = anoma_frame_add_column(f, "amount", ANOMA_COL_DOUBLE, amount);
        if (st == ANOMA_OK)
            st = anoma_frame_add_column(f, "device", ANOMA_COL_STRING, device);
        if (st == ANOMA_OK)
            st = anoma_model_fit_frame(m, f, NULL, NULL);
        if (st == ANOMA_OK)
            st = anoma_model_score_frame(m, f, scores);
        if (st == ANOMA_OK)
            st = anoma_model_save_memory(m, buf, sizeof buf, &size);
        if (st == ANOMA_OK)
            st = anoma_model_load_memory(buf, size, &back);
        if (st == ANOMA_OK)
            st = anoma_row_scorer_create(back, &s);
        anoma_value row[2] = {{.number = 1.5}, {.text = "web"}};
        if (st == ANOMA_OK)
            st = anoma_row_scorer_score_values(s, row, 2, &score, NULL);
        if (st != ANOMA_OK && st != ANOMA_ERR_NO_MEMORY)
            test_fail(__FILE__, __LINE__, "k=%ld: %s: %s", k, anoma_status_str(st), anoma_last_error());
        anoma_row_scorer_free(s);
        anoma_model_free(back);
        anoma_model_free(m);
        anoma_frame_free(f);
        long live = test_alloc_live();
        test_alloc_restore();
        CHECK(live == 0);
        if (st == ANOMA_OK || live)
            break;
    }
}

int main(void)
{
    make_data();
    RUN(test_widths_and_names);
    RUN(test_batch_row_and_file_agree);
    RUN(test_typed_row_probability_and_members);
    RUN(test_explanations_of_derived_features);
    RUN(test_explaining_rows_keeps_window_history);
    RUN(test_bad_input_names_column_and_row);
    RUN(test_scores_in_parts);
    RUN(test_duplicate_output_names);
    RUN(test_matrix_models);
    RUN(test_import_into_pipeline);
    RUN(test_allocation_failures);
    return test_summary();
}
