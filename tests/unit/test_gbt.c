/* Gradient-boosted trees ("gbt"): gains and leaf values computed by hand
 * on a tiny dataset, missing values routed by the learned default, the
 * thread count changing nothing, bad parameters and shapes named, and the
 * payload: round trip and hostile bytes. Agreement with XGBoost itself is
 * checked in tests/python/test_gbt.py. */
#include "testing.h"

#include "detectors/gbt/gbt.h"
#include "model/model.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const an_detector_vtable *vt(void)
{
    return an_detector_find("gbt");
}

/* A state made with these parameters (NULL on error, with *st set). */
static void *make(const char *text, anoma_status *st)
{
    an_params p;
    void *state = NULL;
    *st = an_params_init(&p, "gbt", vt()->params, vt()->n_params);
    if (*st == ANOMA_OK)
        *st = an_params_parse(&p, text);
    if (*st == ANOMA_OK)
        *st = vt()->create(&p, &state);
    an_params_free(&p);
    return state;
}

static void *fit(const char *params, const double *x, size_t rows, size_t cols, const int *labels)
{
    anoma_status st;
    void *s = make(params, &st);
    CHECK_OK(st);
    an_fit_data data = {.x = x, .rows = rows, .cols = cols, .labels = labels, .n_threads = 1};
    CHECK_OK(vt()->fit(s, &data));
    return s;
}

static const an_gbt_forest *forest(const void *state)
{
    return &((const an_gbt_state *)state)->forest;
}

/* The score of one row, with the scratch the detector asks for. */
static double score_one(const void *state, const double *row)
{
    void *scratch = malloc(vt()->scratch_bytes(state) + 1);
    double s;
    vt()->score_row(state, row, scratch, &s);
    free(scratch);
    return s;
}

static double score(const void *state, double v)
{
    return score_one(state, &v);
}

/* ---- the loss, by hand ---- */

/* x = 1, 2, 3, 4 with labels 0, 0, 1, 1 and base_score 0.5: every margin
 * is 0, p = 0.5, so g = p - y = (0.5, 0.5, -0.5, -0.5) and h = p (1 - p) =
 * 0.25. The root has G = 0, H = 1; the split x < 3 has G_L = 1, H_L = 0.5,
 * G_R = -1, H_R = 0.5. */
static const double tiny_x[] = {1, 2, 3, 4};
static const int tiny_y[] = {0, 0, 1, 1};

static void test_hand_computed_split(void)
{
    const char *p = "n_trees=1 max_depth=1 eta=1 lambda=1 min_child_weight=0";
    void *s = fit(p, tiny_x, 4, 1, tiny_y);
    const an_gbt_forest *f = forest(s);
    CHECK(f->n_trees == 1 && f->n_nodes == 3 && f->n_leaves == 2);
    const an_gbt_node *root = &f->nodes[0];
    CHECK(!(root->info & AN_GBT_LEAF) && (root->info & AN_GBT_FEATURE_MASK) == 0);
    CHECK(root->threshold == 3.0f); /* between 2 and 3: left when x < 3 */
    /* gain = 1^2 / (0.5 + 1) + (-1)^2 / (0.5 + 1) - 0^2 / (1 + 1) = 4 / 3 */
    CHECK_NEAR(f->gain[0], 4.0 / 3.0, 1e-6);
    CHECK_NEAR(f->cover[0], 1.0, 1e-12);
    /* leaves: -G / (H + lambda) = -1 / 1.5 and +1 / 1.5 */
    CHECK_NEAR(f->leaf[root->left], -2.0 / 3.0, 1e-7);
    CHECK_NEAR(f->leaf[root->left + 1], 2.0 / 3.0, 1e-7);
    CHECK_NEAR(f->cover[root->left], 0.5, 1e-12);
    CHECK_NEAR(score(s, 2), 1 / (1 + exp(2.0 / 3.0)), 1e-7);
    CHECK_NEAR(score(s, 3), 1 / (1 + exp(-2.0 / 3.0)), 1e-7);
    vt()->destroy(s);

    /* alpha 0.5: G' = sign(G) (|G| - 0.5), so the gain is
     * 2 * 0.5^2 / 1.5 = 1 / 3 and the leaves are -/+ 0.5 / 1.5; eta 0.5
     * halves the leaves */
    s = fit("n_trees=1 max_depth=1 eta=0.5 lambda=1 alpha=0.5 min_child_weight=0", tiny_x, 4, 1,
            tiny_y);
    f = forest(s);
    CHECK_NEAR(f->gain[0], 1.0 / 3.0, 1e-6);
    CHECK_NEAR(f->leaf[f->nodes[0].left], -0.5 * 0.5 / 1.5, 1e-7);
    vt()->destroy(s);

    /* gamma above the gain: no split, one leaf of -0 / (1 + 1) = 0 */
    s = fit("n_trees=1 max_depth=1 eta=1 gamma=1.4 min_child_weight=0", tiny_x, 4, 1, tiny_y);
    CHECK(forest(s)->n_nodes == 1 && forest(s)->leaf[0] == 0);
    vt()->destroy(s);
    /* gamma below it: the split stays */
    s = fit("n_trees=1 max_depth=1 eta=1 gamma=1.3 min_child_weight=0", tiny_x, 4, 1, tiny_y);
    CHECK(forest(s)->n_nodes == 3);
    vt()->destroy(s);

    /* min_child_weight 0.6: every child of every split holds at most two
     * rows, a hessian of at most 0.5: no split is allowed */
    s = fit("n_trees=1 max_depth=1 eta=1 min_child_weight=0.6", tiny_x, 4, 1, tiny_y);
    CHECK(forest(s)->n_nodes == 1);
    vt()->destroy(s);

    /* squared error, base_score 0: g = -y, h = 1, the root G = -2, H = 4;
     * the split x < 3 has G_L = 0, H_L = 2, G_R = -2, H_R = 2: gain
     * 0 + 4 / 3 - 4 / 5, leaves 0 and 2 / 3 */
    s = fit("n_trees=1 max_depth=1 eta=1 objective=reg:squarederror base_score=0", tiny_x, 4, 1,
            tiny_y);
    f = forest(s);
    CHECK_NEAR(f->gain[0], 4.0 / 3.0 - 4.0 / 5.0, 1e-6);
    CHECK_NEAR(score(s, 1), 0.0, 1e-12);
    CHECK_NEAR(score(s, 4), 2.0 / 3.0, 1e-7);
    vt()->destroy(s);
}

/* Two rounds: the second tree starts from the first one's margins. */
static void test_second_round(void)
{
    void *s = fit("n_trees=2 max_depth=1 eta=1 lambda=1 min_child_weight=0", tiny_x, 4, 1, tiny_y);
    const an_gbt_forest *f = forest(s);
    CHECK(f->n_trees == 2);
    /* round 2: rows 1, 2 at margin -2/3, rows 3, 4 at +2/3 */
    double p = 1 / (1 + exp(-2.0 / 3.0)); /* p of rows 3, 4; rows 1, 2 have 1 - p */
    double gl = 2 * (1 - p), hl = 2 * p * (1 - p); /* g = (1 - p) - 0 on rows 1, 2 */
    const an_gbt_node *root = &f->nodes[f->roots[1]];
    CHECK_NEAR(f->leaf[root->left], -gl / (hl + 1), 1e-6);
    CHECK_NEAR(f->leaf[root->left + 1], gl / (hl + 1), 1e-6);
    vt()->destroy(s);
}

/* Random-forest mode: a round's trees grow from the same gradients (all
 * four rows at margin 0, as in the first round above), so with no sampling
 * each is the one-round tree with its leaves scaled by eta / 2: -/+ (1 /
 * 1.5) / 2. The next round starts from both trees' sum. */
static void test_parallel_trees(void)
{
    void *s = fit("n_trees=2 num_parallel_tree=2 max_depth=1 eta=1 min_child_weight=0", tiny_x, 4,
                  1, tiny_y);
    const an_gbt_forest *f = forest(s);
    CHECK(f->n_trees == 4 && f->num_parallel_tree == 2 && f->rounds == 2);
    for (size_t t = 0; t < 2; t++) {
        const an_gbt_node *root = &f->nodes[f->roots[t]];
        CHECK(root->threshold == 3.0f);
        CHECK_NEAR(f->gain[f->roots[t]], 4.0 / 3.0, 1e-6); /* the gain is not scaled */
        CHECK_NEAR(f->leaf[root->left], -1.0 / 3.0, 1e-7);
        CHECK_NEAR(f->leaf[root->left + 1], 1.0 / 3.0, 1e-7);
    }
    /* round 2: margins -/+ 2/3 as in test_second_round, leaves halved */
    double p = 1 / (1 + exp(-2.0 / 3.0));
    double gl = 2 * (1 - p), hl = 2 * p * (1 - p);
    for (size_t t = 2; t < 4; t++) {
        const an_gbt_node *root = &f->nodes[f->roots[t]];
        CHECK_NEAR(f->leaf[root->left], -gl / (hl + 1) / 2, 1e-6);
    }
    vt()->destroy(s);
}

/* ---- column sampling ---- */

enum { CS_ROWS = 400, CS_COLS = 8, CS_DEPTH = 3 };

/* Mark in used[depth][feature] the splits of the subtree at node i. */
static void splits_by_depth(const an_gbt_forest *f, uint32_t i, size_t depth,
                            unsigned char used[][CS_COLS])
{
    const an_gbt_node *n = &f->nodes[i];
    if (n->info & AN_GBT_LEAF)
        return;
    used[depth][n->info & AN_GBT_FEATURE_MASK] = 1;
    splits_by_depth(f, n->left, depth + 1, used);
    splits_by_depth(f, n->left + 1, depth + 1, used);
}

static size_t count_used(const unsigned char *used)
{
    size_t n = 0;
    for (size_t j = 0; j < CS_COLS; j++)
        n += used[j];
    return n;
}

/* The samples nest as XGBoost's ColumnSampler's: a level splits only on
 * its features, a node only on its own, drawn from its level's, drawn
 * from the tree's. Every feature carries the label, so without sampling
 * any could split anywhere. */
static void test_column_sampling_nests(void)
{
    double *x = malloc(CS_ROWS * CS_COLS * sizeof *x);
    int *y = malloc(CS_ROWS * sizeof *y);
    test_fill(x, CS_ROWS * CS_COLS, 7u, 10007, 1000.0);
    for (size_t i = 0; i < CS_ROWS; i++) {
        double sum = 0;
        for (size_t j = 0; j < CS_COLS; j++)
            sum += x[i * CS_COLS + j];
        y[i] = sum > 40;
    }
    static const struct {
        const char *params;
        size_t per_level, per_tree; /* most features split on at one depth, in one tree */
    } cases[] = {
        /* a level sees floor(0.25 x 8) = 2 features */
        {"colsample_bylevel=0.25", 2, CS_COLS},
        /* a tree 4, each node 1 of them: the tree splits on at most 4 */
        {"colsample_bytree=0.5 colsample_bynode=0.25", CS_COLS, 4},
        /* a level 4, each node 2 of its level's: a depth uses at most 4 */
        {"colsample_bylevel=0.5 colsample_bynode=0.5", 4, CS_COLS},
    };
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        char params[160];
        snprintf(params, sizeof params, "n_trees=20 max_depth=%d min_child_weight=0 seed=5 %s",
                 CS_DEPTH, cases[c].params);
        void *s = fit(params, x, CS_ROWS, CS_COLS, y);
        const an_gbt_forest *f = forest(s);
        size_t widest_level = 0, widest_tree = 0;
        for (size_t t = 0; t < f->n_trees; t++) {
            unsigned char used[CS_DEPTH][CS_COLS] = {{0}}, tree[CS_COLS] = {0};
            splits_by_depth(f, f->roots[t], 0, used);
            for (size_t d = 0; d < CS_DEPTH; d++) {
                size_t n = count_used(used[d]);
                widest_level = n > widest_level ? n : widest_level;
                for (size_t j = 0; j < CS_COLS; j++)
                    tree[j] |= used[d][j];
            }
            size_t n = count_used(tree);
            widest_tree = n > widest_tree ? n : widest_tree;
        }
        CHECK(widest_level <= cases[c].per_level);
        CHECK(widest_tree <= cases[c].per_tree);
        /* and the bound is reached: the samples are not smaller than said */
        CHECK(widest_level == cases[c].per_level || widest_tree == cases[c].per_tree);
        vt()->destroy(s);
    }
    /* a node sees 1 of 8: the roots of 20 trees grown from the same
     * gradients split on several features, where without sampling every
     * root takes the same best one */
    size_t roots[2];
    for (int k = 0; k < 2; k++) {
        void *s = fit(k ? "n_trees=1 num_parallel_tree=20 max_depth=2 colsample_bynode=0.125"
                        : "n_trees=1 num_parallel_tree=20 max_depth=2",
                      x, CS_ROWS, CS_COLS, y);
        const an_gbt_forest *f = forest(s);
        unsigned char used[CS_COLS] = {0};
        for (size_t t = 0; t < f->n_trees; t++)
            used[f->nodes[f->roots[t]].info & AN_GBT_FEATURE_MASK] = 1;
        roots[k] = count_used(used);
        vt()->destroy(s);
    }
    CHECK(roots[0] == 1 && roots[1] >= 4);
    free(x);
    free(y);
}

/* ---- missing values ---- */

static void test_missing_default_direction(void)
{
    /* missing rows labelled 1, like the large values: they learn to go right */
    const double x[] = {1, 2, 3, 4, NAN, NAN, 1.5, 3.5};
    int y[] = {0, 0, 1, 1, 1, 1, 0, 1};
    void *s = fit("n_trees=1 max_depth=1 eta=1 min_child_weight=0", x, 8, 1, y);
    const an_gbt_node *root = &forest(s)->nodes[0];
    CHECK(!(root->info & AN_GBT_LEAF) && !(root->info & AN_GBT_DEFAULT_LEFT));
    CHECK(score(s, NAN) == score(s, 4) && score(s, NAN) > 0.5);
    vt()->destroy(s);
    /* labelled 0, like the small values: they learn to go left */
    y[4] = y[5] = 0;
    s = fit("n_trees=1 max_depth=1 eta=1 min_child_weight=0", x, 8, 1, y);
    root = &forest(s)->nodes[0];
    CHECK(!(root->info & AN_GBT_LEAF) && (root->info & AN_GBT_DEFAULT_LEFT));
    CHECK(score(s, NAN) == score(s, 1) && score(s, NAN) < 0.5);
    vt()->destroy(s);
}

/* ---- through the model: threads, shapes, parameters ---- */

enum { ROWS = 2000, COLS = 5 };

static void make_data(double *x, int *y)
{
    test_fill(x, ROWS * COLS, 11u, 10007, 1000.0);
    for (size_t i = 0; i < ROWS; i++) {
        double *r = x + i * COLS;
        y[i] = r[0] + 0.5 * r[1] * r[1] - r[2] > 4;
        if (i % 13 == 0)
            r[i % COLS] = NAN;
    }
}

static anoma_model *model_fit(const char *model_params, const char *params, const double *x,
                              const int *y)
{
    anoma_model *m = NULL;
    CHECK_OK(anoma_model_create(model_params, &m));
    CHECK_OK(anoma_model_add_detector(m, "gbt", params, NULL));
    anoma_matrix mx = anoma_matrix_f64(x, ROWS, COLS);
    CHECK_OK(anoma_model_fit(m, &mx, y, NULL));
    return m;
}

static void threads_change_nothing(const char *params)
{
    double *x = malloc(ROWS * COLS * sizeof *x), *s[2], *fs[2];
    int *y = malloc(ROWS * sizeof *y);
    make_data(x, y);
    const char *threads[] = {"normalize=none n_threads=1", "normalize=none n_threads=4"};
    unsigned char *payload[2];
    size_t size[2];
    for (int k = 0; k < 2; k++) {
        anoma_model *m = model_fit(threads[k], params, x, y);
        s[k] = malloc(ROWS * sizeof(double));
        anoma_matrix mx = anoma_matrix_f64(x, ROWS, COLS);
        CHECK_OK(anoma_model_score(m, &mx, s[k]));
        payload[k] = test_detector_payload(m, 0, &size[k]);
        /* TreeSHAP over the rows (split across the threads) */
        fs[k] = malloc(ROWS * COLS * sizeof(double));
        CHECK_OK(anoma_model_feature_scores(m, 0, &mx, fs[k]));
        /* the row path gives the batch path's bits */
        for (size_t i = 0; i < ROWS; i += 97) {
            double one, one_fs[COLS];
            anoma_matrix row = anoma_matrix_f64(x + i * COLS, 1, COLS);
            CHECK_OK(anoma_model_score(m, &row, &one));
            CHECK(one == s[k][i]);
            CHECK_OK(anoma_model_feature_scores(m, 0, &row, one_fs));
            CHECK(!memcmp(one_fs, fs[k] + i * COLS, sizeof one_fs));
        }
        anoma_model_free(m);
    }
    CHECK(!memcmp(s[0], s[1], ROWS * sizeof(double)));
    CHECK(!memcmp(fs[0], fs[1], ROWS * COLS * sizeof(double)));
    CHECK(size[0] == size[1] && !memcmp(payload[0], payload[1], size[0]));
    /* and the model learned: the probability ranks the positives first */
    double pos = 0, neg = 0;
    size_t np = 0, nn = 0;
    for (size_t i = 0; i < ROWS; i++)
        y[i] ? (pos += s[0][i], np++) : (neg += s[0][i], nn++);
    CHECK(np > 50 && nn > 50 && pos / (double)np > 0.8 && neg / (double)nn < 0.2);
    for (int k = 0; k < 2; k++) {
        free(s[k]);
        free(fs[k]);
        free(payload[k]);
    }
    free(x);
    free(y);
}

/* Every random draw (rows, columns by tree, level and node) and both ways
 * of growing. */
static void test_threads_change_nothing(void)
{
    threads_change_nothing("subsample=0.8 colsample_bytree=0.6 colsample_bylevel=0.7 "
                           "colsample_bynode=0.8 seed=3 num_parallel_tree=2");
    threads_change_nothing("grow_policy=lossguide max_leaves=20 max_depth=0 subsample=0.8 "
                           "colsample_bynode=0.7 seed=4");
    threads_change_nothing("max_leaves=11 max_depth=0 subsample=0.8 colsample_bylevel=0.7 "
                           "seed=5");
}

static void test_bad_input(void)
{
    static const test_bad_param bad[] = {
        {"eta=1.5", "eta"},
        {"subsample=0", "subsample"},
        {"colsample_bytree=0", "colsample_bytree"},
        {"colsample_bylevel=0", "colsample_bylevel"},
        {"colsample_bynode=0", "colsample_bynode"},
        {"colsample_bynode=1.5", "colsample_bynode"},
        {"max_depth=0", "max_depth"}, /* depthwise without max_leaves: unbounded */
        {"max_bin=1", "max_bin"},
        {"lambda=-1", "lambda"},
        {"base_score=1", "base_score"},
        {"base_score=0", "base_score"},
        {"objective=multi:softmax", "objective"},
        {"n_trees=0", "n_trees"},
        {"num_parallel_tree=0", "num_parallel_tree"},
        {"grow_policy=levelwise", "grow_policy"},
        {"grow_policy=lossguide max_leaves=-1", "max_leaves"},
        {"n_trees=1000 num_parallel_tree=1001", "num_parallel_tree"}, /* over 10^6 trees */
        {"eval_metric=error", "eval_metric"},
        {"nope=1", "nope"},
    };
    CHECK_BAD_DETECTOR_PARAMS("gbt", bad);
    /* base_score 0 is fine for squared error */
    anoma_model *m = NULL;
    CHECK_OK(anoma_model_create(NULL, &m));
    CHECK_OK(anoma_model_add_detector(m, "gbt", "objective=reg:squarederror base_score=0", NULL));
    anoma_model_free(m);

    double *x = malloc(ROWS * COLS * sizeof *x);
    int *y = malloc(ROWS * sizeof *y);
    make_data(x, y);
    /* no labels */
    CHECK_OK(anoma_model_create(NULL, &m));
    CHECK_OK(anoma_model_add_detector(m, "gbt", NULL, NULL));
    anoma_matrix mx = anoma_matrix_f64(x, ROWS, COLS);
    CHECK_STATUS(anoma_model_fit(m, &mx, NULL, NULL), ANOMA_ERR_INVALID_ARGUMENT);
    CHECK(strstr(anoma_last_error(), "labels") != NULL);
    CHECK_OK(anoma_model_fit(m, &mx, y, NULL));
    /* a matrix of another width */
    double out[2];
    anoma_matrix narrow = anoma_matrix_f64(x, 2, COLS - 1);
    CHECK_STATUS(anoma_model_score(m, &narrow, out), ANOMA_ERR_SHAPE);
    CHECK(strstr(anoma_last_error(), "4") && strstr(anoma_last_error(), "5"));
    anoma_model_free(m);
    free(x);
    free(y);
}

/* ---- lossguide ---- */

/* Leaf by leaf: with max_leaves=3 the root's split is followed by the
 * split of the child whose own best split gains more; depthwise to depth
 * 2 (whose splits do not depend on the order) says which child that is
 * and what it gains. */
static void test_lossguide_order(void)
{
    static const double x[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
    static const int y[] = {0, 1, 0, 0, 1, 0, 1, 1, 1, 0}; /* the right child gains more */
    const char *common = "n_trees=1 eta=1 min_child_weight=0";
    char params[128];
    snprintf(params, sizeof params, "%s max_depth=2", common);
    void *deep = fit(params, x, 10, 1, y);
    snprintf(params, sizeof params, "%s grow_policy=lossguide max_leaves=3 max_depth=0", common);
    void *lg = fit(params, x, 10, 1, y);
    const an_gbt_forest *d = forest(deep), *l = forest(lg);
    uint32_t dl = d->nodes[0].left, ll = l->nodes[0].left;
    CHECK(d->n_leaves == 4 && l->n_leaves == 3);
    CHECK(l->nodes[0].threshold == d->nodes[0].threshold);
    double gain_left = d->gain[dl], gain_right = d->gain[dl + 1];
    CHECK(gain_right > gain_left); /* so the older node, the left, must wait */
    int split_left = !(l->nodes[ll].info & AN_GBT_LEAF);
    CHECK(split_left == (gain_left > gain_right));
    uint32_t chosen = split_left ? ll : ll + 1, reference = split_left ? dl : dl + 1;
    CHECK(l->nodes[chosen].threshold == d->nodes[reference].threshold);
    CHECK_NEAR(l->gain[chosen], d->gain[reference], 1e-12);
    vt()->destroy(deep);
    vt()->destroy(lg);

    /* max_leaves bounds every tree, and rich data reaches it */
    double *xs = malloc(ROWS * COLS * sizeof *xs);
    int *ys = malloc(ROWS * sizeof *ys);
    make_data(xs, ys);
    void *s = fit("n_trees=10 grow_policy=lossguide max_leaves=7 max_depth=0", xs, ROWS, COLS, ys);
    CHECK(forest(s)->n_leaves == 10 * 7);
    vt()->destroy(s);
    free(xs);
    free(ys);
}

/* ---- the payload ---- */

static int save(const void *state, an_writer *w)
{
    *w = (an_writer){0};
    return vt()->save(state, w) == ANOMA_OK;
}

static anoma_status load(const void *bytes, size_t len, size_t n_features)
{
    anoma_status st;
    void *s = make("", &st);
    CHECK_OK(st);
    an_reader r = an_reader_make(bytes, len, "detector");
    st = vt()->load(s, &r, n_features, 1);
    if (st == ANOMA_OK && r.pos != r.len)
        st = ANOMA_ERR_FORMAT;
    vt()->destroy(s);
    return st;
}

static void test_payload(void)
{
    double *x = malloc(ROWS * COLS * sizeof *x);
    int *y = malloc(ROWS * sizeof *y);
    make_data(x, y);
    void *a = fit("n_trees=20 max_depth=4", x, ROWS, COLS, y);
    an_writer w;
    CHECK(save(a, &w));
    /* round trip: the same scores, and the same bytes saved again */
    anoma_status st;
    void *b = make("", &st);
    an_reader r = an_reader_make(w.data, w.len, "detector");
    CHECK_OK(vt()->load(b, &r, COLS, 1));
    CHECK(r.pos == r.len);
    for (size_t i = 0; i < ROWS; i++) {
        CHECK(score_one(a, x + i * COLS) == score_one(b, x + i * COLS));
    }
    an_writer w2;
    CHECK(save(b, &w2));
    CHECK(w2.len == w.len && !memcmp(w.data, w2.data, w.len));
    an_writer_free(&w2);
    vt()->destroy(a);
    vt()->destroy(b);
    /* every truncation, another width, trailing bytes: errors */
    test_hostile_payload(__FILE__, __LINE__, "gbt", w.data, w.len, COLS, 97, NULL, 0);
    an_writer_free(&w);
    free(x);
    free(y);

    /* a one-split tree, then each field made hostile: header 32 bytes,
     * n_nodes 8, then left[3] at 40, right[3] at 52, feature[3] at 64,
     * threshold[3] at 76, default_left[3] at 88, value, gain, cover, then
     * the evaluation history (24 bytes without one: sets at 163, metrics
     * at 171, rounds at 179), early stopping's record (28 bytes: best + 1
     * at 187, rounds at 195, metric at 203, score at 207), then the trees
     * per round (u64 at 215) */
    void *one = fit("n_trees=1 max_depth=1 eta=1 min_child_weight=0", tiny_x, 4, 1, tiny_y);
    CHECK(save(one, &w));
    vt()->destroy(one);
    CHECK(w.len == 40 + 3 * 17 + 3 * 24 + 24 + 28 + 8);
    CHECK(load(w.data, w.len, 1) == ANOMA_OK);
    {
        /* version 3 (no history), version 2 (no trees per round either)
         * and version 1 (no early-stopping record either) still load, as
         * one tree per round, no early stopping; each refuses the bytes of
         * a later version */
        size_t len = w.len - 24;
        unsigned char *old = malloc(w.len);
        memcpy(old, w.data, 163);
        memcpy(old + 163, w.data + 187, w.len - 187);
        old[0] = 3;
        CHECK(load(old, len, 1) == ANOMA_OK);
        CHECK(load(w.data + 0, w.len, 1) == ANOMA_OK);
        old[0] = 2;
        CHECK(load(old, len - 8, 1) == ANOMA_OK);
        CHECK(load(old, len, 1) != ANOMA_OK);
        old[0] = 1;
        CHECK(load(old, len - 36, 1) == ANOMA_OK);
        CHECK(load(old, len - 8, 1) != ANOMA_OK);
        free(old);
    }
    /* a newer version is refused as such */
    unsigned char *newer = malloc(w.len);
    memcpy(newer, w.data, w.len);
    newer[0] = AN_GBT_PAYLOAD_VERSION + 1;
    CHECK_STATUS(load(newer, w.len, 1), ANOMA_ERR_VERSION);
    free(newer);
    static const test_payload_edit hostile[] = {
        {0, TEST_U32, 0, "version"},
        {4, TEST_U32, 7, "objective"},
        {40, TEST_U32, 3, "child index"}, /* out of range */
        {40, TEST_U32, 0, "child index"}, /* pointing at its parent */
        {52, TEST_U32, 1, "child index"}, /* both children the same */
        {44, TEST_U32, 2, "one child"},   /* a leaf with one child */
        {64, TEST_U32, 1, "feature"},     /* beyond the model's width */
        {76, TEST_U32, 0x7fc00000u, "NaN"},
        {99, TEST_F64, INFINITY, "leaf value"},            /* value[1] at 91 + 8 */
        {163, TEST_U64, 1, "evaluation history"},           /* a set without metric */
        {171, TEST_U64, 9, "evaluation history"},           /* too many metrics */
        {179, TEST_U64, 1, "truncated"},                    /* rounds without a set */
        {187, TEST_U64, 2, "early stopping"}, /* best round beyond the trees */
        {195, TEST_U64, 0, "early stopping"}, /* fewer rounds than trees */
        {203, TEST_U32, 9, "early stopping"}, /* unknown metric */
        {215, TEST_U64, 0, "rounds of"},      /* no tree per round */
        {215, TEST_U64, 2, "rounds of"},      /* 1 tree is not rounds of 2 */
    };
    CHECK_HOSTILE_PAYLOAD("gbt", w.data, w.len, 1, 1, hostile);
    an_writer_free(&w);
}

/* TreeSHAP's path memory grows with the square of the depth: a chain of
 * splits deeper than AN_GBT_MAX_DEPTH is refused by name; one at the
 * limit is built. */
static anoma_status chain(size_t depth)
{
    size_t n = 2 * depth + 1;
    uint32_t *u32 = calloc(3 * n, sizeof *u32);
    float *threshold = calloc(n, sizeof *threshold);
    uint8_t *default_left = calloc(n, 1);
    double *value = calloc(n, sizeof *value);
    for (size_t i = 0; i < n; i++)
        u32[i] = u32[n + i] = AN_GBT_RAW_NONE;
    for (size_t k = 0; k < depth; k++) { /* node 2k splits: a leaf left, the chain right */
        u32[2 * k] = (uint32_t)(2 * k + 1);
        u32[n + 2 * k] = (uint32_t)(2 * k + 2);
    }
    an_gbt_raw_tree tree = {n, u32, u32 + n, u32 + 2 * n, threshold, default_left, value,
                            NULL, NULL};
    an_gbt_raw raw = {&tree, 1, 1, AN_GBT_LOGISTIC, 0.5, 1};
    an_gbt_forest f;
    anoma_status st = an_gbt_build(&raw, &f);
    an_gbt_forest_free(&f);
    free(u32);
    free(threshold);
    free(default_left);
    free(value);
    return st;
}

static void test_depth_limit(void)
{
    CHECK_OK(chain(AN_GBT_MAX_DEPTH));
    CHECK_STATUS(chain(AN_GBT_MAX_DEPTH + 1), ANOMA_ERR_FORMAT);
    CHECK(strstr(anoma_last_error(), "1025 levels deep") != NULL);
}

/* ---- scoring's layouts against a plain walk ---- */

/* Random trees for the layouts: node i splits on a feature at one of a few
 * thresholds (-inf, -0, 0, 1.5, a subnormal) until its depth reaches the
 * tree's own limit or a coin says leaf, so that the trees of a group of
 * AN_GBT_LANES differ in depth (stumps, single leaves, full trees). */
enum { LAYOUT_MAX_NODES = 1024 };

typedef struct layout_tree {
    size_t n;
    uint32_t left[LAYOUT_MAX_NODES], right[LAYOUT_MAX_NODES], feature[LAYOUT_MAX_NODES];
    float threshold[LAYOUT_MAX_NODES];
    uint8_t default_left[LAYOUT_MAX_NODES];
    double value[LAYOUT_MAX_NODES];
} layout_tree;

static uint32_t layout_rand(uint64_t *s)
{
    *s = *s * 6364136223846793005u + 1442695040888963407u;
    return (uint32_t)(*s >> 33);
}

/* Grow node i (preorder numbering: children after their parent), a
 * split at every depth below `dense`. */
static void layout_grow(layout_tree *t, uint32_t i, size_t depth, size_t limit, size_t dense,
                        size_t cols, uint64_t *s)
{
    static const float cuts[] = {-INFINITY, -0.0f, 0.0f, 1.5f, 1e-40f, -2.25f};
    if (depth == limit || (depth >= dense && layout_rand(s) % 4 == 0)) {
        t->left[i] = t->right[i] = AN_GBT_RAW_NONE;
        /* sevenths: a sum in another order than the trees' would differ
         * in its last bits */
        t->value[i] = (double)((int)(layout_rand(s) % 201) - 100) / 7;
        return;
    }
    t->feature[i] = layout_rand(s) % cols;
    t->threshold[i] = cuts[layout_rand(s) % 6];
    t->default_left[i] = layout_rand(s) % 2;
    t->left[i] = (uint32_t)t->n++;
    layout_grow(t, t->left[i], depth + 1, limit, dense, cols, s);
    t->right[i] = (uint32_t)t->n++;
    layout_grow(t, t->right[i], depth + 1, limit, dense, cols, s);
}

/* The margin of row by walking the raw tree: (float)x < threshold goes
 * left, a missing value its default way. */
static double layout_walk(const layout_tree *t, const double *row)
{
    uint32_t i = 0;
    while (t->left[i] != AN_GBT_RAW_NONE) {
        float v = (float)row[t->feature[i]];
        int left = isnan(v) ? t->default_left[i] : v < t->threshold[i];
        i = left ? t->left[i] : t->right[i];
    }
    return t->value[i];
}

/* n_trees trees at most `deepest` deep on cols features (every node
 * above depth `dense` a split): every row's score (reg:squarederror,
 * base_score 0: the margin) from the batch path on 1 and 3 threads, with
 * SSE2 only, AVX2 (deep trees' top levels) and AVX-512 (shallow trees
 * compared all at once too), as far as the processor has them, and from
 * the single-row path equals the plain walk's, bit for bit. */
static void check_forest(size_t n_trees, size_t deepest, const size_t *limits, size_t dense,
                         size_t cols, int complete, uint64_t seed);

static void check_layout_dense(size_t n_trees, size_t deepest, size_t dense, size_t cols,
                               int complete)
{
    check_forest(n_trees, deepest, NULL, dense, cols, complete, 7 + n_trees + deepest * 31 + cols);
}

/* As check_layout_dense; tree t at most limits[t] deep when limits is
 * given, else at most a random depth (and one tree `deepest` deep). */
static void check_forest(size_t n_trees, size_t deepest, const size_t *limits, size_t dense,
                         size_t cols, int complete, uint64_t seed)
{
    /* a forest of 150 levels or more splits these rows across 3 threads
     * (score.c: at least 200000 levels a thread) */
    enum { ROWS = 4001 };
    layout_tree *trees = calloc(n_trees, sizeof *trees);
    an_gbt_raw_tree *raw = calloc(n_trees, sizeof *raw);
    for (size_t t = 0; t < n_trees; t++) {
        trees[t].n = 1;
        size_t limit = t % 9 == 4 ? 0 : layout_rand(&seed) % (deepest + 1);
        if (t == n_trees / 2)
            limit = deepest;
        if (limits)
            limit = limits[t];
        layout_grow(&trees[t], 0, 0, limit, dense, cols, &seed);
        raw[t] = (an_gbt_raw_tree){trees[t].n, trees[t].left, trees[t].right,
                                   trees[t].feature, trees[t].threshold, trees[t].default_left,
                                   trees[t].value, NULL, NULL};
    }
    an_gbt_raw forest_raw = {raw, n_trees, cols, AN_GBT_SQUARED, 0.0, 1};
    an_gbt_forest f;
    CHECK_OK(an_gbt_build(&forest_raw, &f));
    CHECK((f.tests != NULL) == complete);
    static const double values[] = {-INFINITY, -3, -2.25, -1e-40, -0.0, 0.0, 1e-40, 1e-45, 1.5,
                                    1.4999999, 2, INFINITY};
    double *x = malloc(ROWS * cols * sizeof *x), *batch = malloc(ROWS * sizeof *batch);
    for (size_t k = 0; k < ROWS * cols; k++)
        x[k] = layout_rand(&seed) % 7 == 0 ? NAN : values[layout_rand(&seed) % 12];
    void *scratch = malloc(an_gbt_score_scratch_bytes(&f) + 1);
    for (size_t way = 0; way < 6; way++) { /* AN_GBT_SSE2, _AVX2, _AVX512 */
        size_t threads = way % 2 ? 3 : 1;
        CHECK_OK(an_gbt_score_rows_on(&f, x, ROWS, threads, (int)(way / 2), batch));
        for (size_t i = 0; i < ROWS; i++) {
            double margin = 0;
            for (size_t t = 0; t < n_trees; t++)
                margin += layout_walk(&trees[t], x + i * cols);
            CHECK(batch[i] == margin);
            CHECK(an_gbt_score_row_on(&f, x + i * cols, scratch, (int)(way / 2)) == margin);
            if (way == 0)
                CHECK(an_gbt_score_row(&f, x + i * cols, scratch) == margin);
        }
    }
    an_gbt_forest_free(&f);
    free(scratch);
    free(x);
    free(batch);
    free(raw);
    free(trees);
}

static void check_layout(size_t n_trees, size_t deepest, size_t cols, int complete)
{
    check_layout_dense(n_trees, deepest, 1, cols, complete);
}

/* The complete layout pads each group of AN_GBT_LANES trees to its own
 * depth; rows of up to 32 values and wider ones take different walks; odd
 * tree counts and a last group of one tree; deeper forests the node
 * layout. Thresholds include -inf with missing values sent left, and zeros
 * of both signs. */
static void test_layouts_agree_with_a_plain_walk(void)
{
    /* forests of stumps (and single leaves), of trees at most 2 deep,
     * mixes of trees compared all at once and walked (scores.c: at most 2,
     * or 5 with AVX-512), in runs of odd length */
    check_layout(1, 1, 3, 1);
    check_layout(60, 1, 9, 1);
    check_layout(41, 2, 7, 1);
    check_layout(77, 5, 33, 1);
    check_layout(300, 3, 6, 1);
    check_layout(1, 0, 3, 1);
    check_layout(17, 6, 5, 1);
    check_layout(33, 8, 20, 1);
    check_layout(23, 3, 40, 1);
    check_layout(100, 6, 9, 1);
    check_layout(9, 9, 4, 0);
}

/* Trees deeper than the all-at-once limit have their top levels compared
 * for a group of rows at once (score.c), the walk going on from each
 * row's node there: trees 3 to 8 deep whose top 4 levels are all splits
 * (every node at depth 3 is some row's start), mixed with stumps and
 * single leaves in the same pairs and groups, and random ones whose top
 * levels end in leaves, over rows with missing values in several blocks
 * and a short last group. */
static void test_top_levels_then_a_walk(void)
{
    check_layout_dense(64, 6, 4, 7, 1);
    check_layout_dense(45, 8, 4, 12, 1);
    check_layout_dense(40, 7, 3, 5, 1);
    check_layout_dense(60, 6, 6, 3, 1);
    check_layout_dense(50, 8, 1, 9, 1);
}

/* A single row steps two groups of AN_GBT_LANES trees at once with
 * AVX-512 (score.c), each lane to its own group's depth, from the top
 * levels compared at once when both groups are at least 3 deep: groups of
 * different depths side by side (6 beside 2, 1 beside 6, 8 beside 3, a
 * single leaf beside 4), a last group alone and a short one, trees full to
 * their depth or ending in leaves above it, over rows with missing values
 * whose two copies fit two, four or eight vector registers (9, 20, 40
 * features) or are gathered (70). */
static void test_single_row_two_groups_at_once(void)
{
    static const size_t group_depth[] = {6, 2, 1, 6, 8, 3, 6, 6, 0, 4, 5};
    static const size_t widths[] = {9, 20, 40, 70};
    enum { TREES = 11 * 8 - 3 };
    size_t limit[TREES];
    for (size_t t = 0; t < TREES; t++)
        limit[t] = t % 8 == 5 ? group_depth[t / 8] / 2 : group_depth[t / 8];
    for (size_t dense = 0; dense < 7; dense += 6)
        for (size_t w = 0; w < 4; w++) {
            check_forest(TREES, 0, limit, dense, widths[w], 1, 11 + dense + w);
            check_forest(2 * 8 + 1, 0, limit + 8, dense, widths[w], 1, 5 + dense + w);
        }
}

/* ---- early stopping ---- */

/* The metrics on four rows, by hand. Scores 0.9, 0.8, 0.7, 0.1 with labels
 * 1, 0, 1, 0: ROC AUC = 3 of 4 pairs ordered = 0.75. PR AUC, interpolated:
 * precision 1 up to recall 0.5; then the step at 0.8 adds a false positive
 * at the same recall; from (tp 1, fp 1) to (tp 2, fp 1) precision is
 * tp / (tp + 1), whose area is (1/2) int_1^2 tp / (tp + 1) dtp =
 * (1 - ln 1.5) / 2; total 1 - ln(1.5) / 2. Weights 2, 1, 1, 1 count the
 * first row twice. */
static void test_metrics_by_hand(void)
{
    const double score[] = {0.9, 0.8, 0.7, 0.1}, w[] = {2, 1, 1, 1};
    const int y[] = {1, 0, 1, 0};
    an_gbt_ranked order[4];
    an_gbt_eval e = {4, y, NULL};
    CHECK_NEAR(an_gbt_metric_value(AN_GBT_AUC, &e, score, order), 0.75, 1e-15);
    CHECK_NEAR(an_gbt_metric_value(AN_GBT_AUCPR, &e, score, order), 1 - log(1.5) / 2, 1e-15);
    double ll = -(log(0.9) + log(0.2) + log(0.7) + log(0.9)) / 4;
    CHECK_NEAR(an_gbt_metric_value(AN_GBT_LOGLOSS, &e, score, order), ll, 1e-15);
    double se = (0.01 + 0.64 + 0.09 + 0.01) / 4;
    CHECK_NEAR(an_gbt_metric_value(AN_GBT_RMSE, &e, score, order), sqrt(se), 1e-15);
    an_gbt_eval ew = {4, y, w}; /* positives 3, negatives 2: pairs ordered 2 * 2 + 1 */
    CHECK_NEAR(an_gbt_metric_value(AN_GBT_AUC, &ew, score, order), 5.0 / 6, 1e-15);
    CHECK_NEAR(an_gbt_metric_value(AN_GBT_LOGLOSS, &ew, score, order),
               -(2 * log(0.9) + log(0.2) + log(0.7) + log(0.9)) / 5, 1e-15);
    /* tied scores are one step: all equal gives the diagonal */
    const double tied[] = {0.5, 0.5, 0.5, 0.5};
    CHECK_NEAR(an_gbt_metric_value(AN_GBT_AUC, &e, tied, order), 0.5, 1e-15);
    CHECK(an_gbt_metric_maximized(AN_GBT_AUCPR) && !an_gbt_metric_maximized(AN_GBT_LOGLOSS));
}

/* Evaluation rows labelled against the training rows: every round makes
 * their logloss worse, so the best round is the first; training stops
 * early_stopping_rounds later and keeps one tree. */
static void test_early_stopping_keeps_the_best_round(void)
{
    double *x = malloc(ROWS * COLS * sizeof *x);
    int *y = malloc(ROWS * sizeof *y), *flipped = malloc(ROWS * sizeof *flipped);
    make_data(x, y);
    for (size_t i = 0; i < ROWS; i++)
        flipped[i] = !y[i];
    anoma_model *m = NULL;
    CHECK_OK(anoma_model_create("normalize=none", &m));
    CHECK_OK(anoma_model_add_detector(m, "gbt", "early_stopping_rounds=3 n_trees=50", NULL));
    anoma_matrix mx = anoma_matrix_f64(x, ROWS, COLS);
    CHECK_OK(anoma_model_set_eval_set(m, &mx, flipped, NULL));
    CHECK_OK(anoma_model_fit(m, &mx, y, NULL));
    const an_gbt_forest *f = forest(m->detectors[0].state);
    CHECK(f->best_iteration == 0 && f->n_trees == 1 && f->rounds == 4);
    CHECK(f->metric == AN_GBT_LOGLOSS);
    /* the record is saved and read back, and inspect shows it */
    size_t size;
    unsigned char *payload = test_detector_payload(m, 0, &size);
    anoma_status st;
    void *back = make("", &st);
    an_reader r = an_reader_make(payload, size, "detector");
    CHECK_OK(vt()->load(back, &r, COLS, AN_GBT_PAYLOAD_VERSION));
    CHECK(forest(back)->best_iteration == 0 && forest(back)->rounds == 4);
    CHECK(forest(back)->best_score == f->best_score);
    an_strbuf text = {0};
    vt()->describe(back, &text);
    CHECK(strstr(text.data, "best iteration 0 of 4 rounds, logloss") != NULL);
    an_strbuf_free(&text);
    vt()->destroy(back);
    free(payload);
    anoma_model_free(m);

    /* errors name what is wrong, before any work */
    CHECK_OK(anoma_model_create("normalize=none", &m));
    CHECK_OK(anoma_model_add_detector(m, "gbt", "early_stopping_rounds=3", NULL));
    CHECK_STATUS(anoma_model_fit(m, &mx, y, NULL), ANOMA_ERR_INVALID_ARGUMENT);
    CHECK(strstr(anoma_last_error(), "early_stopping_rounds=3 needs evaluation rows") != NULL);
    anoma_matrix narrow = anoma_matrix_f64(x, ROWS, COLS - 1);
    narrow.row_stride = COLS;
    CHECK_OK(anoma_model_set_eval_set(m, &narrow, y, NULL));
    CHECK_STATUS(anoma_model_fit(m, &mx, y, NULL), ANOMA_ERR_SHAPE);
    int ones[ROWS];
    for (size_t i = 0; i < ROWS; i++)
        ones[i] = 1;
    anoma_model_free(m);
    CHECK_OK(anoma_model_create("normalize=none", &m));
    CHECK_OK(anoma_model_add_detector(m, "gbt", "early_stopping_rounds=3 eval_metric=auc", NULL));
    CHECK_OK(anoma_model_set_eval_set(m, &mx, ones, NULL));
    CHECK_STATUS(anoma_model_fit(m, &mx, y, NULL), ANOMA_ERR_INVALID_ARGUMENT);
    CHECK(strstr(anoma_last_error(), "eval_metric auc needs both labels") != NULL);
    CHECK(strstr(anoma_last_error(), "evaluation set 0") != NULL);
    ones[5] = 2;
    CHECK_STATUS(anoma_model_set_eval_set(m, &mx, ones, NULL), ANOMA_ERR_INVALID_ARGUMENT);
    CHECK(strstr(anoma_last_error(), "label 2 at row 5") != NULL);
    CHECK_STATUS(anoma_model_set_eval_set(m, &mx, NULL, NULL), ANOMA_ERR_INVALID_ARGUMENT);
    anoma_model_free(m);
    free(x);
    free(y);
    free(flipped);
}

/* The logloss of probabilities p against labels y (XGBoost's, p clipped
 * to [1e-16, 1 - 1e-16]), by hand. */
static double logloss_by_hand(const double *p, const int *y, size_t n)
{
    double sum = 0;
    for (size_t i = 0; i < n; i++) {
        double q = fmin(fmax(p[i], 1e-16), 1 - 1e-16);
        sum += y[i] ? -log(q) : -log(1 - q);
    }
    return sum / (double)n;
}

/* Two evaluation sets: the first labelled as the training rows, the
 * second against them. Early stopping watches the last metric on the last
 * set (XGBoost's rule), so it stops at round 0 however well the first set
 * does; every metric of every set is recorded for every round grown,
 * sized snprintf-style, and saved with the model. */
static void test_several_eval_sets(void)
{
    double *x = malloc(ROWS * COLS * sizeof *x), *p = malloc(ROWS * sizeof *p);
    int *y = malloc(ROWS * sizeof *y), *flipped = malloc(ROWS * sizeof *flipped);
    make_data(x, y);
    for (size_t i = 0; i < ROWS; i++)
        flipped[i] = !y[i];
    anoma_model *m = NULL;
    CHECK_OK(anoma_model_create("normalize=none contamination=auto", &m));
    CHECK_OK(anoma_model_add_detector(m, "gbt", "early_stopping_rounds=3 n_trees=50 "
                                      "eval_metric=auc,logloss", NULL));
    anoma_matrix mx = anoma_matrix_f64(x, ROWS, COLS);
    CHECK_OK(anoma_model_add_eval_set(m, &mx, y, NULL));
    CHECK_OK(anoma_model_add_eval_set(m, &mx, flipped, NULL));
    CHECK_OK(anoma_model_fit(m, &mx, y, NULL));
    double h[8] = {0};
    size_t n = 99;
    CHECK_OK(anoma_model_eval_history(m, 0, 0, "logloss", NULL, 0, &n));
    CHECK(n == 4); /* rounds 0..3 grown, round 0 kept */
    /* the model keeps round 0: its scores are the round-0 predictions */
    CHECK_OK(anoma_model_score(m, &mx, p));
    CHECK_OK(anoma_model_eval_history(m, 0, 0, "logloss", h, 8, &n));
    CHECK_NEAR(h[0], logloss_by_hand(p, y, ROWS), 1e-12);
    CHECK(h[1] < h[0] && h[3] < h[2]); /* the first set improves every round */
    CHECK_OK(anoma_model_eval_history(m, 0, 1, "logloss", h, 2, &n));
    CHECK(n == 4);
    CHECK_NEAR(h[0], logloss_by_hand(p, flipped, ROWS), 1e-12);
    const an_gbt_forest *f = forest(m->detectors[0].state);
    CHECK(f->best_iteration == 0 && f->metric == AN_GBT_LOGLOSS && f->best_score == h[0]);
    CHECK_OK(anoma_model_eval_history(m, 0, 1, "auc", h, 8, &n));
    CHECK(n == 4 && h[0] < 0.5);
    /* errors say what was recorded */
    CHECK_STATUS(anoma_model_eval_history(m, 0, 2, "auc", h, 8, &n), ANOMA_ERR_INVALID_ARGUMENT);
    CHECK(strstr(anoma_last_error(), "watched 2") != NULL);
    CHECK_STATUS(anoma_model_eval_history(m, 0, 0, "rmse", h, 8, &n), ANOMA_ERR_INVALID_ARGUMENT);
    CHECK(strstr(anoma_last_error(), "recorded: auc, logloss") != NULL);
    CHECK_STATUS(anoma_model_eval_history(m, 1, 0, "auc", h, 8, &n), ANOMA_ERR_INVALID_ARGUMENT);
    /* saved and loaded with the model */
    anoma_model *back = TEST_RELOADED(m, NULL, NULL);
    double again[8] = {0};
    CHECK_OK(anoma_model_eval_history(back, 0, 1, "auc", again, 8, &n));
    CHECK(n == 4 && memcmp(again, h, 4 * sizeof *h) == 0);
    anoma_model_free(back);
    anoma_model_free(m);

    /* set_eval_set replaces every set with one; no early stopping still
     * records; a model fitted without sets says so */
    CHECK_OK(anoma_model_create("normalize=none contamination=auto", &m));
    CHECK_OK(anoma_model_add_detector(m, "gbt", "n_trees=5", NULL));
    CHECK_OK(anoma_model_add_eval_set(m, &mx, flipped, NULL));
    CHECK_OK(anoma_model_set_eval_set(m, &mx, y, NULL));
    CHECK_OK(anoma_model_fit(m, &mx, y, NULL));
    CHECK_OK(anoma_model_eval_history(m, 0, 0, "logloss", h, 8, &n));
    CHECK(n == 5);
    CHECK_OK(anoma_model_score(m, &mx, p));
    CHECK_NEAR(h[4], logloss_by_hand(p, y, ROWS), 1e-12);
    CHECK_STATUS(anoma_model_eval_history(m, 0, 1, "logloss", h, 8, &n),
                 ANOMA_ERR_INVALID_ARGUMENT);
    CHECK(forest(m->detectors[0].state)->best_iteration == -1);
    anoma_model_free(m);
    CHECK_OK(anoma_model_create("normalize=none contamination=auto", &m));
    CHECK_OK(anoma_model_add_detector(m, "gbt", "n_trees=2", NULL));
    CHECK_STATUS(anoma_model_eval_history(m, 0, 0, "logloss", h, 8, &n), ANOMA_ERR_NOT_FITTED);
    CHECK_OK(anoma_model_fit(m, &mx, y, NULL));
    CHECK_STATUS(anoma_model_eval_history(m, 0, 0, "logloss", h, 8, &n),
                 ANOMA_ERR_INVALID_ARGUMENT);
    CHECK(strstr(anoma_last_error(), "without an evaluation set") != NULL);
    anoma_model_free(m);
    /* eval_metric names known metrics, once each */
    CHECK_OK(anoma_model_create("normalize=none", &m));
    CHECK_STATUS(anoma_model_add_detector(m, "gbt", "eval_metric=auc,error", NULL),
                 ANOMA_ERR_PARAM_VALUE);
    CHECK(strstr(anoma_last_error(), "'error' is not a metric") != NULL);
    CHECK_STATUS(anoma_model_add_detector(m, "gbt", "eval_metric=auto,logloss", NULL),
                 ANOMA_ERR_PARAM_VALUE);
    CHECK(strstr(anoma_last_error(), "logloss twice") != NULL);
    CHECK_STATUS(anoma_model_add_detector(m, "gbt", "eval_metric=auc,", NULL),
                 ANOMA_ERR_PARAM_VALUE);
    anoma_model_free(m);
    free(x);
    free(p);
    free(y);
    free(flipped);
}

/* Evaluation sets through pipeline steps: the steps are fitted on the
 * training rows only and then transform the evaluation rows, so the model
 * stops at the round, with the history, of the same detector fitted on
 * rows we ran through the fitted steps ourselves. A scaler fitted on the
 * evaluation rows instead (they are shifted and stretched) would give
 * other cuts. */
static void test_eval_sets_through_steps(void)
{
    enum { HALF = ROWS / 2 };
    double *x = malloc(ROWS * COLS * sizeof *x), *t = malloc(ROWS * COLS * sizeof *t);
    int *y = malloc(ROWS * sizeof *y);
    make_data(x, y);
    for (size_t i = HALF * COLS; i < ROWS * COLS; i++) /* other scales than the training rows */
        x[i] = 3 * x[i] + 1;
    const char *gbt = "n_trees=60 early_stopping_rounds=4 eval_metric=auc,logloss eta=0.5";
    anoma_model *piped = NULL, *plain = NULL;
    CHECK_OK(anoma_model_create("normalize=none contamination=auto", &piped));
    CHECK_OK(anoma_model_add_step(piped, "standard_scaler", NULL, NULL));
    CHECK_OK(anoma_model_add_detector(piped, "gbt", gbt, NULL));
    anoma_matrix train = anoma_matrix_f64(x, HALF, COLS);
    anoma_matrix eval = anoma_matrix_f64(x + HALF * COLS, ROWS - HALF, COLS);
    CHECK_OK(anoma_model_add_eval_set(piped, &eval, y + HALF, NULL));
    CHECK_OK(anoma_model_fit(piped, &train, y, NULL));
    /* the same rows through the fitted scaler, by the model's own transform */
    CHECK_OK(anoma_model_transform(piped, &train, t));
    CHECK_OK(anoma_model_transform(piped, &eval, t + HALF * COLS));
    CHECK_OK(anoma_model_create("normalize=none contamination=auto", &plain));
    CHECK_OK(anoma_model_add_detector(plain, "gbt", gbt, NULL));
    anoma_matrix ttrain = anoma_matrix_f64(t, HALF, COLS);
    anoma_matrix teval = anoma_matrix_f64(t + HALF * COLS, ROWS - HALF, COLS);
    CHECK_OK(anoma_model_add_eval_set(plain, &teval, y + HALF, NULL));
    CHECK_OK(anoma_model_fit(plain, &ttrain, y, NULL));
    const an_gbt_forest *a = forest(piped->detectors[0].state);
    const an_gbt_forest *b = forest(plain->detectors[0].state);
    CHECK(a->best_iteration == b->best_iteration && a->rounds == b->rounds);
    CHECK(a->rounds < 60); /* it did stop early */
    CHECK(a->best_score == b->best_score);
    CHECK(memcmp(a->history, b->history, 2 * a->rounds * sizeof *a->history) == 0);
    anoma_model_free(plain);
    anoma_model_free(piped);

    /* a set the fit cannot use is named */
    CHECK_OK(anoma_model_create("normalize=none contamination=auto", &piped));
    CHECK_OK(anoma_model_add_step(piped, "standard_scaler", NULL, NULL));
    CHECK_OK(anoma_model_add_detector(piped, "gbt", gbt, NULL));
    anoma_matrix narrow = anoma_matrix_f64(x, HALF, COLS - 1);
    narrow.row_stride = COLS;
    CHECK_OK(anoma_model_add_eval_set(piped, &eval, y + HALF, NULL));
    CHECK_OK(anoma_model_add_eval_set(piped, &narrow, y, NULL));
    CHECK(anoma_model_fit(piped, &train, y, NULL) != ANOMA_OK);
    CHECK(strstr(anoma_last_error(), "eval_set 1") != NULL);
    anoma_model_free(piped);
    /* a frame set for a model fitted on a matrix without steps */
    anoma_frame *frame = NULL;
    CHECK_OK(anoma_frame_create(HALF, &frame));
    CHECK_OK(anoma_frame_add_column(frame, "x0", ANOMA_COL_DOUBLE, x));
    CHECK_OK(anoma_model_create("normalize=none contamination=auto", &plain));
    CHECK_OK(anoma_model_add_detector(plain, "gbt", gbt, NULL));
    CHECK_OK(anoma_model_add_eval_set_frame(plain, frame, y, NULL));
    CHECK_STATUS(anoma_model_fit(plain, &train, y, NULL), ANOMA_ERR_INVALID_ARGUMENT);
    CHECK(strstr(anoma_last_error(), "eval_set 0 is a frame") != NULL);
    CHECK_STATUS(anoma_model_add_eval_set_frame(plain, frame, NULL, NULL),
                 ANOMA_ERR_INVALID_ARGUMENT);
    anoma_model_free(plain);
    anoma_frame_free(frame);
    free(x);
    free(t);
    free(y);
}

/* ---- XGBoost JSON ---- */

/* One tree in XGBoost 1.7's layout: x0 < 0.5 (missing: right) gives -0.4,
 * else 0.3; base_score 0.5 (margin 0). The fields the import ignores
 * (base_weights, parents, categories...) are left out. */
static const char xgb_model[] =
    "{\"learner\": {\"gradient_booster\": {\"model\": {\"gbtree_model_param\": "
    "{\"num_parallel_tree\": \"1\", \"num_trees\": \"1\", \"size_leaf_vector\": \"0\"}, "
    "\"trees\": [{\"default_left\": [0, 0, 0], \"left_children\": [1, -1, -1], "
    "\"loss_changes\": [2.5, 0.0, 0.0], \"right_children\": [2, -1, -1], "
    "\"split_conditions\": [0.5, -0.4, 0.3], \"split_indices\": [0, 0, 0], "
    "\"split_type\": [0, 0, 0], \"sum_hessian\": [10.0, 6.0, 4.0], "
    "\"tree_param\": {\"num_deleted\": \"0\", \"num_feature\": \"2\", \"num_nodes\": \"3\", "
    "\"size_leaf_vector\": \"0\"}}]}, \"name\": \"gbtree\"}, "
    "\"learner_model_param\": {\"base_score\": \"5E-1\", \"num_class\": \"0\", "
    "\"num_feature\": \"2\", \"num_target\": \"1\"}, "
    "\"objective\": {\"name\": \"binary:logistic\"}}, \"version\": [1, 7, 4]}";

/* text with the first `from` replaced by `to` (malloc'd). */
static char *replaced(const char *text, const char *from, const char *to)
{
    const char *at = strstr(text, from);
    CHECK(at != NULL);
    size_t n = strlen(text) - strlen(from) + strlen(to) + 1;
    char *out = malloc(n);
    size_t head = (size_t)(at - text);
    memcpy(out, text, head);
    strcpy(out + head, to);
    strcat(out, at + strlen(from));
    return out;
}

static char *edited(const char *from, const char *to)
{
    return replaced(xgb_model, from, to);
}

static anoma_status import_text(const char *text, size_t len, anoma_model **out)
{
    CHECK_OK(anoma_model_create("contamination=auto", out));
    return anoma_model_import_xgboost(*out, text, len);
}

static void test_xgboost_json(void)
{
    anoma_model *m;
    CHECK_OK(import_text(xgb_model, strlen(xgb_model), &m));
    double rows[] = {0.2, 9, 0.5, 9, NAN, 9}, s[3];
    anoma_matrix x = anoma_matrix_f64(rows, 3, 2);
    CHECK_OK(anoma_model_score(m, &x, s));
    CHECK_NEAR(s[0], 1 / (1 + exp(0.4f)), 1e-7);  /* 0.2 < 0.5: left */
    CHECK_NEAR(s[1], 1 / (1 + exp(-0.3f)), 1e-7); /* 0.5: not below, right */
    CHECK(s[2] == s[1]);                          /* missing: default right */
    anoma_model_free(m);

    static const struct {
        const char *from, *to;
        anoma_status expected;
        const char *named;
    } bad[] = {
        {"\"gbtree\"", "\"dart\"", ANOMA_ERR_UNSUPPORTED, "dart"},
        {"binary:logistic", "multi:softprob", ANOMA_ERR_UNSUPPORTED, "multi:softprob"},
        {"\"num_class\": \"0\"", "\"num_class\": \"3\"", ANOMA_ERR_UNSUPPORTED, "3 classes"},
        /* 2^64 as a count: converting it to size_t was undefined (found by fuzz_xgboost) */
        {"\"num_class\": \"0\"", "\"num_class\": \"18446744073709551616\"", ANOMA_ERR_FORMAT,
         "num_class"},
        {"\"split_type\": [0, 0, 0]", "\"split_type\": [1, 0, 0]", ANOMA_ERR_UNSUPPORTED,
         "categorical"},
        {"\"num_deleted\": \"0\"", "\"num_deleted\": \"2\"", ANOMA_ERR_UNSUPPORTED, "deleted"},
        {"\"left_children\": [1, -1, -1]", "\"left_children\": [7, -1, -1]", ANOMA_ERR_FORMAT,
         "tree 0, node 0"},
        {"\"left_children\": [1, -1, -1]", "\"left_children\": [1, -1]", ANOMA_ERR_FORMAT,
         "left_children"},
        {"\"split_indices\": [0, 0, 0]", "\"split_indices\": [2, 0, 0]", ANOMA_ERR_FORMAT,
         "feature"},
        {"\"split_conditions\": [0.5,", "\"split_conditions\": [\"a\",", ANOMA_ERR_FORMAT,
         "not a number"},
        {"\"num_feature\": \"2\", \"num_target\"", "\"num_feature\": \"x\", \"num_target\"",
         ANOMA_ERR_FORMAT, "num_feature"},
        {"\"base_score\": \"5E-1\"", "\"base_score\": \"1.5\"", ANOMA_ERR_FORMAT, "base_score"},
        {"\"num_trees\": \"1\"", "\"num_trees\": \"2\"", ANOMA_ERR_FORMAT, "num_trees"},
        {"\"objective\": {\"name\": \"binary:logistic\"}", "\"objective\": 3", ANOMA_ERR_FORMAT,
         "learner.objective"},
        {"{\"learner\": {", "{\"learnr\": {", ANOMA_ERR_FORMAT, "learner is missing"},
        {"\"version\": [1, 7, 4]}", "\"version\": [1, 7, 4]} x", ANOMA_ERR_FORMAT, "JSON"},
        {"\"split_conditions\": [0.5,", "\"split_conditions\": [NaN,", ANOMA_ERR_FORMAT, "NaN"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char *text = edited(bad[i].from, bad[i].to);
        CHECK_STATUS(import_text(text, strlen(text), &m), bad[i].expected);
        if (!strstr(anoma_last_error(), bad[i].named))
            test_fail(__FILE__, __LINE__, "case %zu: '%s' lacks '%s'", i, anoma_last_error(),
                      bad[i].named);
        CHECK(!anoma_model_is_fitted(m)); /* unchanged */
        anoma_model_free(m);
        free(text);
    }
    /* every truncation is an error */
    for (size_t len = 0; len < strlen(xgb_model); len += 7) {
        CHECK(import_text(xgb_model, len, &m) == ANOMA_ERR_FORMAT);
        anoma_model_free(m);
    }
    /* nesting deeper than any model is refused by the parser */
    char deep[400];
    memset(deep, '[', 200);
    memset(deep + 200, ']', 200);
    CHECK_STATUS(import_text(deep, sizeof deep, &m), ANOMA_ERR_FORMAT);
    CHECK(strstr(anoma_last_error(), "JSON") != NULL);
    anoma_model_free(m);
    CHECK_STATUS(anoma_model_import_xgboost(NULL, xgb_model, 1), ANOMA_ERR_INVALID_ARGUMENT);
}

/* ---- TreeSHAP, by hand ---- */

/* Two trees on x0, x1 (base_score 0.5: margin 0), missing values right:
 *   stump:  x0 < 0.5 (cover 10) ? -0.4 (cover 6) : 0.3 (cover 4)
 *   pair:   x0 < 0.5 (10) ? (x1 < 1 (6) ? 1.0 (2) : -0.5 (4)) : 0.3 (4)
 */
static const char shap_model[] =
    "{\"learner\": {\"gradient_booster\": {\"model\": {\"gbtree_model_param\": "
    "{\"num_parallel_tree\": \"1\", \"num_trees\": \"2\", \"size_leaf_vector\": \"0\"}, "
    "\"trees\": ["
    "{\"default_left\": [0, 0, 0], \"left_children\": [1, -1, -1], \"loss_changes\": [0, 0, 0], "
    "\"right_children\": [2, -1, -1], \"split_conditions\": [0.5, -0.4, 0.3], "
    "\"split_indices\": [0, 0, 0], \"split_type\": [0, 0, 0], \"sum_hessian\": [10, 6, 4], "
    "\"tree_param\": {\"num_deleted\": \"0\", \"num_feature\": \"2\", \"num_nodes\": \"3\", "
    "\"size_leaf_vector\": \"0\"}}, "
    "{\"default_left\": [0, 0, 0, 0, 0], \"left_children\": [1, 3, -1, -1, -1], "
    "\"loss_changes\": [0, 0, 0, 0, 0], \"right_children\": [2, 4, -1, -1, -1], "
    "\"split_conditions\": [0.5, 1, 0.3, 1.0, -0.5], \"split_indices\": [0, 1, 0, 0, 0], "
    "\"split_type\": [0, 0, 0, 0, 0], \"sum_hessian\": [10, 6, 4, 2, 4], "
    "\"tree_param\": {\"num_deleted\": \"0\", \"num_feature\": \"2\", \"num_nodes\": \"5\", "
    "\"size_leaf_vector\": \"0\"}}]}, \"name\": \"gbtree\"}, "
    "\"learner_model_param\": {\"base_score\": \"5E-1\", \"num_class\": \"0\", "
    "\"num_feature\": \"2\", \"num_target\": \"1\"}, "
    "\"objective\": {\"name\": \"binary:logistic\"}}, \"version\": [1, 7, 4]}";

/* Shapley values of each tree computed by hand from v(S), the prediction
 * averaged over the unknown features' splits by cover:
 *   stump: E = 0.6 (-0.4) + 0.4 (0.3) = -0.12; only x0 matters.
 *   pair:  E = 0.6 (2/6 - 2/6) + 0.12 = 0.12.
 * Row (0.2, 0.5) reaches 1.0: v({}) = 0.12, v({0}) = 0, v({1}) = 0.6 +
 *   0.12 = 0.72, v({0,1}) = 1, so phi0 = ((0 - 0.12) + (1 - 0.72)) / 2 =
 *   0.08 and phi1 = ((0.72 - 0.12) + (1 - 0)) / 2 = 0.8; the stump adds
 *   -0.4 + 0.12 = -0.28 to phi0.
 * Row (NaN, 0.5) goes right at both roots (0.3 each): v({0}) = 0.3,
 *   v({1}) = 0.72, v({0,1}) = 0.3, so phi0 = ((0.3 - 0.12) + (0.3 -
 *   0.72)) / 2 = -0.12 and phi1 = (0.6 + 0) / 2 = 0.3; the stump adds
 *   0.3 + 0.12 = 0.42 to phi0.
 * The bias is -0.12 + 0.12 + logit(0.5) = 0. */
static void test_tree_shap_by_hand(void)
{
    anoma_model *m;
    CHECK_OK(import_text(shap_model, strlen(shap_model), &m));
    double rows[] = {0.2, 0.5, NAN, 0.5}, phi[4], base = 1;
    anoma_matrix x = anoma_matrix_f64(rows, 2, 2);
    CHECK_OK(anoma_model_feature_scores(m, 0, &x, phi));
    CHECK_OK(anoma_model_feature_scores_base(m, 0, &base));
    CHECK_NEAR(phi[0], -0.28 + 0.08, 1e-6);
    CHECK_NEAR(phi[1], 0.8, 1e-6);
    CHECK_NEAR(phi[2], 0.42 - 0.12, 1e-6);
    CHECK_NEAR(phi[3], 0.3, 1e-6);
    CHECK_NEAR(base, 0, 1e-7);
    /* the row scorer gives the same values */
    anoma_row_scorer *rs;
    double one[2];
    CHECK_OK(anoma_row_scorer_create(m, &rs));
    CHECK_OK(anoma_row_scorer_feature_scores(rs, 0, rows + 2, 2, one));
    CHECK(one[0] == phi[2] && one[1] == phi[3]);
    anoma_row_scorer_free(rs);
    anoma_model_free(m);
}

/* A feature split twice on a path is unwound and extended again: with one
 * feature its contribution is the whole difference from the expectation.
 *   x0 < 0.5 (10) ? (x0 < 0.2 (6) ? 1 (3) : -1 (3)) : 0.5 (4),  E = 0.2 */
static void test_tree_shap_feature_split_twice(void)
{
    const char *from = "\"split_conditions\": [0.5, 1, 0.3, 1.0, -0.5], "
                       "\"split_indices\": [0, 1, 0, 0, 0], "
                       "\"split_type\": [0, 0, 0, 0, 0], \"sum_hessian\": [10, 6, 4, 2, 4]";
    const char *to = "\"split_conditions\": [0.5, 0.2, 0.5, 1, -1], "
                     "\"split_indices\": [0, 0, 0, 0, 0], "
                     "\"split_type\": [0, 0, 0, 0, 0], \"sum_hessian\": [10, 6, 4, 3, 3]";
    char *t2 = replaced(shap_model, from, to);
    anoma_model *m;
    CHECK_OK(import_text(t2, strlen(t2), &m));
    double rows[] = {0.1, 7, 0.3, 7}, phi[4], base;
    anoma_matrix x = anoma_matrix_f64(rows, 2, 2);
    CHECK_OK(anoma_model_feature_scores(m, 0, &x, phi));
    CHECK_OK(anoma_model_feature_scores_base(m, 0, &base));
    /* stump: -0.4 + 0.12 for both rows; the tree: 1 - 0.2, then -1 - 0.2 */
    CHECK_NEAR(phi[0], -0.28 + 0.8, 1e-6);
    CHECK_NEAR(phi[2], -0.28 - 1.2, 1e-6);
    CHECK(phi[1] == 0 && phi[3] == 0);
    CHECK_NEAR(base, -0.12 + 0.2, 1e-7);
    anoma_model_free(m);
    free(t2);
}

int main(void)
{
    RUN(test_hand_computed_split);
    RUN(test_second_round);
    RUN(test_missing_default_direction);
    RUN(test_threads_change_nothing);
    RUN(test_bad_input);
    RUN(test_payload);
    RUN(test_parallel_trees);
    RUN(test_column_sampling_nests);
    RUN(test_lossguide_order);
    RUN(test_depth_limit);
    RUN(test_layouts_agree_with_a_plain_walk);
    RUN(test_top_levels_then_a_walk);
    RUN(test_single_row_two_groups_at_once);
    RUN(test_metrics_by_hand);
    RUN(test_early_stopping_keeps_the_best_round);
    RUN(test_several_eval_sets);
    RUN(test_eval_sets_through_steps);
    RUN(test_xgboost_json);
    RUN(test_tree_shap_by_hand);
    RUN(test_tree_shap_feature_split_twice);
    return test_summary();
}
