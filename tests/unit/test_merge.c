/* anoma_model_merge: forests fitted on partitions of the rows, merged, score
 * as one forest of all their trees (the closed form below, from each
 * forest's own scores), axis-parallel and extended, saved and loaded; every
 * model that does not merge is refused naming models[k] and what differs;
 * allocation failures leave nothing behind. scikit-learn checks merged
 * imported forests (tests/python/test_merge.py). */
#include "testing.h"

#include <stdlib.h>
#include <string.h>

enum { ROWS = 600, COLS = 4, PARTS = 3 };

static double data[ROWS * COLS];

static void make_data(void)
{
    test_fill(data, ROWS * COLS, 17, 1000, 100.0);
    for (size_t i = 0; i < ROWS; i += 97) /* a few far rows */
        data[i * COLS] += 40;
}

/* A model of one iforest with these parameters fitted on part k of the
 * rows (ROWS / PARTS each). */
static anoma_model *forest_on_part(const char *params, size_t k)
{
    return test_fit_one("contamination=auto", "iforest", params, data + k * (ROWS / PARTS) * COLS,
                        ROWS / PARTS, COLS);
}

/* s = 2^(-E[h] / c(psi)) and E[h] over all trees is the tree-weighted mean
 * of each forest's: log2 s of the merged forest is the tree-weighted mean
 * of the forests' log2 s. */
static void check_merged_scores(const char *const params[PARTS], const size_t trees[PARTS])
{
    anoma_model *parts[PARTS];
    for (size_t k = 0; k < PARTS; k++)
        parts[k] = forest_on_part(params[k], k);
    anoma_model *merged = NULL;
    CHECK_OK(anoma_model_merge((const anoma_model *const *)parts, PARTS, "contamination=auto",
                               &merged));
    if (!merged)
        return;
    anoma_matrix x = anoma_matrix_f64(data, ROWS, COLS);
    static double scores[PARTS][ROWS], got[ROWS], expected[ROWS];
    size_t total = 0;
    for (size_t k = 0; k < PARTS; k++) {
        CHECK_OK(anoma_model_score(parts[k], &x, scores[k]));
        total += trees[k];
    }
    for (size_t i = 0; i < ROWS; i++) {
        double log_sum = 0;
        for (size_t k = 0; k < PARTS; k++)
            log_sum += (double)trees[k] * log2(scores[k][i]);
        expected[i] = exp2(log_sum / (double)total);
    }
    CHECK_OK(anoma_model_score(merged, &x, got));
    size_t off = 0;
    for (size_t i = 0; i < ROWS; i++)
        off += !test_close(got[i], expected[i], 1e-12);
    CHECK(off == 0);
    if (off)
        printf("  %zu rows score other than the forest of all the trees\n", off);
    char text[256], want[64];
    CHECK_OK(anoma_model_detector_params(merged, 0, text, sizeof text, NULL));
    snprintf(want, sizeof want, "n_trees=%zu", total);
    CHECK(strstr(text, want) != NULL);
    double threshold = 0;
    CHECK_OK(anoma_model_threshold(merged, &threshold));
    CHECK(threshold == 0.5); /* iforest's rule */
    anoma_model *back = TEST_RELOADED(merged, NULL, NULL);
    double again[ROWS];
    CHECK_OK(anoma_model_score(back, &x, again));
    CHECK(!memcmp(got, again, sizeof again));
    anoma_model_free(back);
    anoma_model_free(merged);
    for (size_t k = 0; k < PARTS; k++)
        anoma_model_free(parts[k]);
}

static void test_merged_forest_scores_as_all_its_trees(void)
{
    static const char *const params[PARTS] = {"n_trees=20 seed=1", "n_trees=35 seed=2",
                                              "n_trees=10 seed=3"};
    static const size_t trees[PARTS] = {20, 35, 10};
    check_merged_scores(params, trees);
}

/* Extended splits index their components forest-wide: the merge moves them. */
static void test_merged_extended_forest(void)
{
    static const char *const params[PARTS] = {"n_trees=15 seed=4 extension_level=2",
                                              "n_trees=5 seed=5 extension_level=1",
                                              "n_trees=25 seed=6 extension_level=3"};
    static const size_t trees[PARTS] = {15, 5, 25};
    check_merged_scores(params, trees);
}

/* The threshold comes from the merged model's parameters. */
static void test_merged_threshold(void)
{
    anoma_model *parts[2] = {forest_on_part("n_trees=5", 0), forest_on_part("n_trees=5", 1)};
    const anoma_model *const *sources = (const anoma_model *const *)parts;
    anoma_model *merged = NULL;
    double threshold = 0;
    CHECK_OK(anoma_model_merge(sources, 2, "threshold=0.6", &merged));
    CHECK_OK(anoma_model_threshold(merged, &threshold));
    CHECK(threshold == 0.6);
    anoma_model_free(merged);
    /* a contamination rate needs training scores, which a merge has not */
    CHECK_STATUS(anoma_model_merge(sources, 2, "contamination=0.1", &merged),
                 ANOMA_ERR_UNSUPPORTED);
    CHECK(merged == NULL && strstr(anoma_last_error(), "merge: set the model's threshold"));
    CHECK_STATUS(anoma_model_merge(sources, 2, "no_such_key=1", &merged),
                 ANOMA_ERR_UNKNOWN_PARAM);
    anoma_model_free(parts[0]);
    anoma_model_free(parts[1]);
}

/* The same feature names are kept; other names are refused. */
static void test_feature_names(void)
{
    static const char *const names[COLS] = {"a", "b", "c", "d"};
    static const char *const other[COLS] = {"a", "b", "x", "d"};
    anoma_model *parts[2] = {forest_on_part("n_trees=5", 0), forest_on_part("n_trees=5", 1)};
    const anoma_model *const *sources = (const anoma_model *const *)parts;
    anoma_model *merged = NULL;
    CHECK_OK(anoma_model_set_feature_names(parts[0], names, COLS));
    CHECK_STATUS(anoma_model_merge(sources, 2, "contamination=auto", &merged),
                 ANOMA_ERR_INVALID_ARGUMENT);
    CHECK(strstr(anoma_last_error(), "models[1] has no feature names, models[0] has") != NULL);
    CHECK_OK(anoma_model_set_feature_names(parts[1], other, COLS));
    CHECK_STATUS(anoma_model_merge(sources, 2, "contamination=auto", &merged),
                 ANOMA_ERR_INVALID_ARGUMENT);
    CHECK(strstr(anoma_last_error(), "models[1] names feature 2 'x', models[0] 'c'") != NULL);
    CHECK_OK(anoma_model_set_feature_names(parts[1], names, COLS));
    CHECK_OK(anoma_model_merge(sources, 2, "contamination=auto", &merged));
    CHECK(merged && !strcmp(anoma_model_feature_name(merged, 3), "d"));
    anoma_model_free(merged);
    anoma_model_free(parts[0]);
    anoma_model_free(parts[1]);
}

/* Every model that does not merge with models[0] is refused, naming it. */
static void test_refused(void)
{
    anoma_model *forest = forest_on_part("n_trees=5", 0);
    anoma_model *small = test_fit_one("contamination=auto", "iforest", "n_trees=5", data, 100,
                                      COLS); /* psi = 100 */
    anoma_model *narrow = NULL, *zscore = NULL, *two = NULL, *steps = NULL, *unfitted = NULL;
    static double narrow_rows[ROWS * 3];
    for (size_t i = 0; i < ROWS; i++)
        memcpy(narrow_rows + i * 3, data + i * COLS, 3 * sizeof *data);
    narrow = test_fit_one("contamination=auto", "iforest", "n_trees=5", narrow_rows, ROWS, 3);
    zscore = test_fit_one("contamination=auto", "zscore", NULL, data, ROWS, COLS);
    CHECK_OK(anoma_model_create("contamination=0.1", &two));
    CHECK_OK(anoma_model_add_detector(two, "iforest", "n_trees=5", NULL));
    CHECK_OK(anoma_model_add_detector(two, "zscore", NULL, NULL));
    anoma_matrix x = anoma_matrix_f64(data, ROWS, COLS);
    CHECK_OK(anoma_model_fit(two, &x, NULL, NULL));
    CHECK_OK(anoma_model_create("contamination=auto", &steps));
    CHECK_OK(anoma_model_add_step(steps, "standard_scaler", NULL, NULL));
    CHECK_OK(anoma_model_add_detector(steps, "iforest", "n_trees=5", NULL));
    CHECK_OK(anoma_model_fit(steps, &x, NULL, NULL));
    CHECK_OK(anoma_model_create("contamination=auto", &unfitted));
    CHECK_OK(anoma_model_add_detector(unfitted, "iforest", NULL, NULL));
    struct {
        const anoma_model *second;
        anoma_status status;
        const char *says;
    } cases[] = {
        {small, ANOMA_ERR_INVALID_ARGUMENT, "models[1] has max_samples 100, models[0] 200"},
        {narrow, ANOMA_ERR_INVALID_ARGUMENT, "models[1] has feature count 3, models[0] 4"},
        {zscore, ANOMA_ERR_INVALID_ARGUMENT,
         "models[1] is zscore; expected one iforest detector and no steps"},
        {two, ANOMA_ERR_INVALID_ARGUMENT, "models[1] is iforest + zscore; expected one iforest"},
        {steps, ANOMA_ERR_INVALID_ARGUMENT, "models[1] is iforest with 1 step; expected one"},
        {unfitted, ANOMA_ERR_NOT_FITTED, "models[1] is not fitted"},
        {NULL, ANOMA_ERR_INVALID_ARGUMENT, "models[1] is NULL"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        const anoma_model *pair[2] = {forest, cases[c].second};
        anoma_model *merged = forest; /* set to NULL on every error */
        CHECK_STATUS(anoma_model_merge(pair, 2, "contamination=auto", &merged), cases[c].status);
        CHECK(merged == NULL);
        if (!strstr(anoma_last_error(), cases[c].says)) {
            CHECK(strstr(anoma_last_error(), cases[c].says) != NULL);
            printf("  case %zu: '%s'\n", c, anoma_last_error());
        }
    }
    /* the first model is checked as the others */
    const anoma_model *first_zscore[2] = {zscore, forest};
    anoma_model *merged = NULL;
    CHECK_STATUS(anoma_model_merge(first_zscore, 2, "contamination=auto", &merged),
                 ANOMA_ERR_INVALID_ARGUMENT);
    CHECK(strstr(anoma_last_error(), "models[0] is zscore") != NULL);
    const anoma_model *one[1] = {forest};
    CHECK_STATUS(anoma_model_merge(one, 0, "contamination=auto", &merged), ANOMA_ERR_EMPTY);
    CHECK_STATUS(anoma_model_merge(NULL, 1, "contamination=auto", &merged),
                 ANOMA_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(anoma_model_merge(one, 1, "contamination=auto", NULL),
                 ANOMA_ERR_INVALID_ARGUMENT);
    /* one forest merges with itself: the same forest, the same scores */
    CHECK_OK(anoma_model_merge(one, 1, "contamination=auto", &merged));
    double a[ROWS], b[ROWS];
    CHECK_OK(anoma_model_score(forest, &x, a));
    CHECK_OK(anoma_model_score(merged, &x, b));
    CHECK(!memcmp(a, b, sizeof a));
    anoma_model_free(merged);
    anoma_model *all[] = {forest, small, narrow, zscore, two, steps, unfitted};
    for (size_t k = 0; k < sizeof all / sizeof *all; k++)
        anoma_model_free(all[k]);
}

typedef struct merge_case {
    const anoma_model *const *models;
    size_t n;
    const double *reference; /* the merged scores without failures */
} merge_case;

static anoma_status merge_and_score(void *ctx)
{
    const merge_case *c = ctx;
    anoma_model *merged = NULL;
    anoma_status st = anoma_model_merge(c->models, c->n, "contamination=auto", &merged);
    double scores[ROWS];
    anoma_matrix x = anoma_matrix_f64(data, ROWS, COLS);
    if (st == ANOMA_OK)
        st = anoma_model_score(merged, &x, scores);
    if (st == ANOMA_OK)
        CHECK(!memcmp(scores, c->reference, sizeof scores));
    anoma_model_free(merged);
    return st;
}

/* Each allocation of a merge failing in turn: ANOMA_ERR_NO_MEMORY and
 * nothing left behind, until the merge succeeds with the same scores. */
static void test_allocation_failures(void)
{
    static const char *const names[COLS] = {"a", "b", "c", "d"};
    anoma_model *parts[PARTS];
    for (size_t k = 0; k < PARTS; k++) {
        parts[k] = forest_on_part(k == 1 ? "n_trees=4 extension_level=1" : "n_trees=3", k);
        CHECK_OK(anoma_model_set_feature_names(parts[k], names, COLS));
    }
    merge_case c = {(const anoma_model *const *)parts, PARTS, NULL};
    anoma_model *merged = NULL;
    CHECK_OK(anoma_model_merge(c.models, PARTS, "contamination=auto", &merged));
    double reference[ROWS];
    anoma_matrix x = anoma_matrix_f64(data, ROWS, COLS);
    CHECK_OK(anoma_model_score(merged, &x, reference));
    anoma_model_free(merged);
    c.reference = reference;
    long failures = CHECK_ALLOC_FAILURES(merge_and_score, &c);
    CHECK(failures > 0);
    for (size_t k = 0; k < PARTS; k++)
        anoma_model_free(parts[k]);
}

int main(void)
{
    make_data();
    RUN(test_merged_forest_scores_as_all_its_trees);
    RUN(test_merged_extended_forest);
    RUN(test_merged_threshold);
    RUN(test_feature_names);
    RUN(test_refused);
    RUN(test_allocation_failures);
    return test_summary();
}
