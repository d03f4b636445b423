/* Isolation forest ("iforest"): path-length maths, hand-built trees scored
 * by hand, missing values, determinism across thread counts, parameters,
 * the payload (round trip and hostile payloads), explanations, and accuracy
 * on planted outliers and on a real data set.
 *
 * Reference values: c(n) was computed independently with scikit-learn 1.2.1
 * under /usr/bin/python3:
 *     from sklearn.ensemble._iforest import _average_path_length as c
 *     [repr(float(c([n])[0])) for n in (3, 4, 256, 1000)]
 * and is pasted below. numpy's AVX-512 log is not correctly rounded (on the
 * development machine np.log(3.0) is 1 ulp below the true value, which
 * glibc's log gives), so numpy's c(4) and c(1000) end 1 ulp away from ours:
 * those checks allow 4 ulps. Hand-built trees are worked out in the
 * comments next to their checks. */
#include "testing.h"

#include "core/alloc.h"
#include "core/params.h"
#include "core/rng.h"
#include "detectors/detector.h"
#include "detectors/iforest/iforest.h"
#include "io/bytes.h"

#include <float.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

/* ---- helpers ---- */

static const an_detector_vtable *vt(void) { return an_detector_find("iforest"); }

/* A new unfitted state from parameter text, or NULL (status in *st). */
static void *make(const char *params, anoma_status *st_out)
{
    const an_detector_vtable *v = vt();
    void *state = NULL;
    an_params p;
    anoma_status st = an_params_init(&p, "iforest", v->params, v->n_params);
    if (st == ANOMA_OK)
        st = an_params_parse(&p, params);
    if (st == ANOMA_OK)
        st = v->create(&p, &state);
    an_params_free(&p);
    if (st_out)
        *st_out = st;
    return st == ANOMA_OK ? state : NULL;
}

static anoma_status fit(void *state, const double *x, size_t rows, size_t cols, size_t threads)
{
    an_fit_data data = {.x = x, .rows = rows, .cols = cols, .n_threads = threads};
    return vt()->fit(state, &data);
}

static void *fit_new(const char *params, const double *x, size_t rows, size_t cols,
                     size_t threads)
{
    anoma_status st;
    void *state = make(params, &st);
    CHECK_OK(st);
    if (state)
        CHECK_OK(fit(state, x, rows, cols, threads));
    return state;
}

static void drop(void *state)
{
    if (state)
        vt()->destroy(state);
}

static double score(const void *state, const double *row)
{
    double s = -1;
    vt()->score_row(state, row, NULL, &s);
    return s;
}

static const an_iforest *forest(const void *state)
{
    return &((const an_iforest_state *)state)->forest;
}

/* Gaussian rows (seeded), with `outliers` rows at the end drawn far away:
 * each outlier has one coordinate at +-(6..9). labels may be NULL. */
static double *blob(size_t rows, size_t cols, size_t outliers, uint64_t seed, int *labels)
{
    double *x = malloc(rows * cols * sizeof *x);
    an_rng rng;
    an_rng_init(&rng, seed, 0);
    for (size_t i = 0; i < rows; i++) {
        for (size_t j = 0; j < cols; j++)
            x[i * cols + j] = an_rng_normal(&rng);
        int out = i >= rows - outliers;
        if (out) {
            size_t j = (size_t)an_rng_below(&rng, cols);
            double far = 6 + 3 * an_rng_uniform(&rng);
            x[i * cols + j] = an_rng_uniform(&rng) < 0.5 ? -far : far;
        }
        if (labels)
            labels[i] = out;
    }
    return x;
}

static int payload(const void *state, an_writer *w)
{
    *w = (an_writer){0};
    return vt()->save(state, w) == ANOMA_OK;
}

/* Load payload bytes into a new state made with default parameters. */
static anoma_status load(const void *bytes, size_t len, size_t n_features, void **out)
{
    anoma_status made;
    *out = make("", &made);
    if (!*out)
        return made;
    an_reader r = an_reader_make(bytes, len, "detector");
    anoma_status st = vt()->load(*out, &r, n_features, 1);
    if (st == ANOMA_OK && r.pos != r.len)
        st = ANOMA_ERR_FORMAT; /* the model's check for trailing bytes */
    if (st != ANOMA_OK) {
        drop(*out);
        *out = NULL;
    }
    return st;
}

/* ---- path length ---- */

static void test_path_length(void)
{
    CHECK(an_iforest_c(0) == 0.0);
    CHECK(an_iforest_c(1) == 0.0);
    CHECK(an_iforest_c(2) == 1.0);
    /* scikit-learn 1.2.1 _average_path_length (see the top) */
    CHECK_NEAR(an_iforest_c(3), 1.207392357589623, 4 * DBL_EPSILON);
    CHECK_NEAR(an_iforest_c(4), 1.8516559071392846, 4 * DBL_EPSILON);
    CHECK_NEAR(an_iforest_c(256), 10.244770920119917, 4 * DBL_EPSILON);
    CHECK_NEAR(an_iforest_c(1000), 12.969940887100172, 4 * DBL_EPSILON);
    CHECK(an_iforest_c(256) == 10.244770920119917); /* these two agree to the bit */
    CHECK(an_iforest_c(3) == 1.207392357589623);
    /* closed form 2 (ln(n - 1) + gamma) - 2 (n - 1) / n */
    CHECK_NEAR(an_iforest_c(256), 2 * (log(255.0) + 0.5772156649015329) - 2 * 255.0 / 256, 1e-15);
    /* depth limit ceil(log2(max(psi, 2))) */
    CHECK(an_iforest_depth_limit(1) == 1);
    CHECK(an_iforest_depth_limit(2) == 1);
    CHECK(an_iforest_depth_limit(3) == 2);
    CHECK(an_iforest_depth_limit(256) == 8);
    CHECK(an_iforest_depth_limit(257) == 9);
    CHECK(an_iforest_leaf_value(3, 2) == 4.0);
}

/* ---- hand-built forests ---- */

/* Tree A, numbered the way scikit-learn numbers nodes, max_samples = 4:
 *
 *   node 0: x0 <= 0.5 ?  (4 samples)
 *     node 1: leaf, 1 sample                   depth 1: h = 1 + c(1) = 1
 *     node 2: x1 <= 2.0 ?  (3 samples)
 *       node 3: leaf, 2 samples                depth 2: h = 2 + c(2) = 3
 *       node 4: leaf, 1 sample                 depth 2: h = 2 + c(1) = 2
 *
 * Tree B: a single leaf holding all 4 samples: h = 0 + c(4) = c(4). */
static const uint32_t NONE = AN_IF_RAW_NONE;
static const uint32_t a_left[] = {1, NONE, 3, NONE, NONE};
static const uint32_t a_right[] = {2, NONE, 4, NONE, NONE};
static const uint32_t a_feature[] = {0, 0, 1, 0, 0};
static const double a_threshold[] = {0.5, -2, 2.0, -2, -2};
static const uint64_t a_samples[] = {4, 1, 3, 2, 1};
static const uint32_t b_none[] = {NONE};
static const uint32_t b_feature[] = {0};
static const double b_threshold[] = {-2};
static const uint64_t b_samples[] = {4};

static an_iforest_raw_tree tree_a(void)
{
    return (an_iforest_raw_tree){.n_nodes = 5, .left = a_left, .right = a_right,
                                 .feature = a_feature, .threshold = a_threshold,
                                 .n_samples = a_samples};
}

static an_iforest_raw_tree tree_b(void)
{
    return (an_iforest_raw_tree){.n_nodes = 1, .left = b_none, .right = b_none,
                                 .feature = b_feature, .threshold = b_threshold,
                                 .n_samples = b_samples};
}

static void *from_raw(const an_iforest_raw_tree *trees, size_t n_trees, int float32)
{
    void *state = make("", NULL);
    an_iforest_raw raw = {trees, n_trees, 4, 2, float32};
    CHECK_OK(an_iforest_from_arrays(state, &raw));
    return state;
}

static void test_hand_built(void)
{
    double c4 = an_iforest_c(4); /* 1.8516559071392846 */
    an_iforest_raw_tree one[] = {tree_a()};
    void *s = from_raw(one, 1, 0);
    /* (0, 0): left at the root, leaf of 1 at depth 1: h = 1,
     * s = 2^(-1 / c(4)) = 2^-0.540059... = 0.687744... */
    double row1[] = {0, 0}, row2[] = {1, 1}, row3[] = {1, 5};
    CHECK_NEAR(score(s, row1), pow(2, -1 / c4), 1e-15);
    CHECK_NEAR(score(s, row1), 0.6877436677788326, 1e-15);
    /* (1, 1): right, then 1 <= 2 left: leaf of 2 at depth 2, h = 3,
     * s = 2^(-3 / c(4)) = 2^-1.620177... = 0.325297... */
    CHECK_NEAR(score(s, row2), pow(2, -3 / c4), 1e-15);
    CHECK_NEAR(score(s, row2), 0.32529680764408103, 1e-15);
    /* (1, 5): right, right: leaf of 1 at depth 2, h = 2, s = 2^(-2 / c(4)) = 0.472991... */
    CHECK_NEAR(score(s, row3), pow(2, -2 / c4), 1e-15);
    /* the threshold itself goes left (x <= threshold) */
    double on_threshold[] = {0.5, 100};
    CHECK(score(s, on_threshold) == score(s, row1));
    const an_iforest *f = forest(s);
    CHECK(f->n_trees == 1 && f->n_nodes == 5 && f->n_leaves == 3 && f->max_depth == 2);
    /* laid out again depth first with adjacent children: 0, (1, 2), (3, 4) */
    CHECK(f->nodes[0].left == 1 && f->nodes[2].left == 3);
    drop(s);

    /* Two trees: E[h] = (h_A + c(4)) / 2, s = 2^(-(h_A + c(4)) / (2 c(4))).
     * For (0, 0): 2^(-(1 + c4) / (2 c4)) = 2^-0.770029... = 0.586405... */
    an_iforest_raw_tree two[] = {tree_a(), tree_b()};
    s = from_raw(two, 2, 0);
    CHECK_NEAR(score(s, row1), pow(2, -(1 + c4) / (2 * c4)), 1e-15);
    CHECK_NEAR(score(s, row1), 0.5864058610633222, 1e-15);
    CHECK_NEAR(score(s, row2), pow(2, -(3 + c4) / (2 * c4)), 1e-15);
    /* batch scoring gives the same bits as single rows */
    double rows[] = {0, 0, 1, 1, 1, 5}, batch[3];
    CHECK_OK(vt()->score_batch(s, rows, 3, 2, batch));
    CHECK(batch[0] == score(s, row1) && batch[1] == score(s, row2) && batch[2] == score(s, row3));
    drop(s);
}

static void test_hand_built_options(void)
{
    double c4 = an_iforest_c(4);
    /* Missing values with no flags: the child with more samples. At the
     * root that is node 2 (3 samples vs 1), then node 3 (2 vs 1). */
    an_iforest_raw_tree one[] = {tree_a()};
    void *s = from_raw(one, 1, 0);
    double nan_root[] = {NAN, 1}, all_nan[] = {NAN, NAN};
    CHECK_NEAR(score(s, nan_root), pow(2, -3 / c4), 1e-15);
    CHECK_NEAR(score(s, all_nan), pow(2, -3 / c4), 1e-15);
    drop(s);

    /* Explicit flags: the root sends missing values left (flag clear),
     * node 2 sends them right. */
    static const uint8_t flags[] = {0, 0, AN_IF_RAW_MISS_RIGHT, 0, 0};
    an_iforest_raw_tree t = tree_a();
    t.flags = flags;
    s = from_raw(&t, 1, 0);
    CHECK_NEAR(score(s, all_nan), pow(2, -1 / c4), 1e-15); /* node 1 */
    double nan_x1[] = {1, NAN};
    CHECK_NEAR(score(s, nan_x1), pow(2, -2 / c4), 1e-15); /* node 4 */
    drop(s);

    /* A feature map: tree-local feature 0 is model feature 1 and 1 is 0,
     * so the root tests x1 <= 0.5 and node 2 tests x0 <= 2. */
    static const uint32_t map[] = {1, 0};
    t = tree_a();
    t.n_map = 2;
    t.feature_map = map;
    s = from_raw(&t, 1, 0);
    double swapped[] = {1, 0}; /* x1 = 0 <= 0.5: node 1 */
    CHECK_NEAR(score(s, swapped), pow(2, -1 / c4), 1e-15);
    drop(s);

    /* compare_as_float32: (float)0.1 = 0.100000001490116... > 0.1, so with
     * a threshold of exactly 0.1 the double 0.1 goes left in float64 and
     * right in float32 (scikit-learn casts X to float32). */
    static const double thr[] = {0.1, -2, 2.0, -2, -2};
    t = tree_a();
    t.threshold = thr;
    double tenth[] = {0.1, 1};
    s = from_raw(&t, 1, 0);
    CHECK_NEAR(score(s, tenth), pow(2, -1 / c4), 1e-15);
    drop(s);
    s = from_raw(&t, 1, 1);
    CHECK_NEAR(score(s, tenth), pow(2, -3 / c4), 1e-15);
    CHECK(forest(s)->float32);
    drop(s);
    /* the same with 11 trees, so that single rows and batches take the
     * lock-step walks (16 at a time, with spare lanes) */
    an_iforest_raw_tree many[11];
    for (int i = 0; i < 11; i++)
        many[i] = t;
    double rows[20 * 2], batch[20];
    for (int i = 0; i < 20; i++) {
        rows[2 * i] = i % 2 ? 0.1 : NAN;
        rows[2 * i + 1] = i % 3 ? 1 : 5;
    }
    for (int f32 = 0; f32 < 2; f32++) {
        s = from_raw(many, 11, f32);
        CHECK_OK(vt()->score_batch(s, rows, 20, 1, batch));
        for (int i = 0; i < 20; i++) {
            /* NaN x0: right (3 samples vs 1); 0.1: left in float64, right
             * in float32; then x1 = 1 -> node 3 (h = 3), x1 = 5 -> node 4 (h = 2) */
            int right = i % 2 == 0 || f32;
            double h = !right ? 1 : i % 3 ? 3 : 2;
            CHECK_NEAR(batch[i], pow(2, -h / c4), 1e-15);
            CHECK(batch[i] == score(s, rows + 2 * i));
        }
        drop(s);
    }

    /* An extended split at the root: normal (1, -1) through the point
     * (0, 0): left when x0 - x1 <= 0. A missing x1 counts as the point's 0. */
    static const uint32_t e_feature[] = {2, 0, 1, 0, 0};
    static const uint8_t e_flags[] = {AN_IF_RAW_EXTENDED, 0, 0, 0, 0};
    static const uint32_t comp_feature[] = {0, 1};
    static const double comp_normal[] = {1, -1}, comp_point[] = {0, 0};
    t = tree_a();
    t.feature = e_feature;
    t.flags = e_flags;
    t.n_components = 2;
    t.comp_feature = comp_feature;
    t.comp_normal = comp_normal;
    t.comp_point = comp_point;
    s = from_raw(&t, 1, 0);
    double below[] = {1, 3}, above[] = {3, 1}, half_missing[] = {-1, NAN};
    CHECK_NEAR(score(s, below), pow(2, -1 / c4), 1e-15);  /* 1 - 3 <= 0: node 1 */
    CHECK_NEAR(score(s, above), pow(2, -3 / c4), 1e-15);  /* right, 1 <= 2: node 3 */
    CHECK_NEAR(score(s, half_missing), pow(2, -1 / c4), 1e-15); /* -1 + 0 <= 0 */
    CHECK(forest(s)->n_extended == 1);
    drop(s);
}

/* ---- training ---- */

static void test_nan_training(void)
{
    /* One feature: 0..9 and five missing values; one tree on all rows. */
    double x[15];
    for (int i = 0; i < 10; i++)
        x[i] = i;
    for (int i = 10; i < 15; i++)
        x[i] = NAN;
    for (uint64_t seed = 0; seed < 20; seed++) {
        char params[64];
        snprintf(params, sizeof params, "n_trees=1 max_samples=15 seed=%llu",
                 (unsigned long long)seed);
        void *s = fit_new(params, x, 15, 1, 1);
        const an_iforest *f = forest(s);
        /* the root: values <= t go left; the missing rows follow the side
         * with more of the other rows (ties: left) */
        const an_if_node *root = &f->nodes[0];
        CHECK(!(root->info & AN_IF_LEAF));
        int n_left = 0;
        for (int i = 0; i < 10; i++)
            n_left += x[i] <= root->value;
        int miss_right = (root->info & AN_IF_MISS_RIGHT) != 0;
        CHECK(miss_right == (10 - n_left > n_left));
        /* every training row is in exactly one leaf, missing ones included */
        uint64_t in_leaves = 0;
        for (size_t i = 0; i < f->n_nodes; i++)
            if (f->nodes[i].info & AN_IF_LEAF)
                in_leaves += f->leaf_count[i];
        CHECK(in_leaves == 15);
        /* NaN rows score finitely, and like a row on the missing side */
        double nan = NAN, s_nan = score(s, &nan);
        CHECK(isfinite(s_nan) && s_nan > 0 && s_nan <= 1);
        drop(s);
    }
    /* A column that is missing everywhere is constant: never split on. */
    double y[40];
    for (int i = 0; i < 20; i++) {
        y[2 * i] = NAN;
        y[2 * i + 1] = i;
    }
    void *s = fit_new("n_trees=10", y, 20, 2, 1);
    const an_iforest *f = forest(s);
    for (size_t i = 0; i < f->n_nodes; i++)
        if (!(f->nodes[i].info & AN_IF_LEAF))
            CHECK((f->nodes[i].info & AN_IF_INDEX_MASK) == 1);
    double rows[] = {NAN, NAN, NAN, 3, 5, NAN};
    for (int i = 0; i < 3; i++) {
        double v = score(s, rows + 2 * i);
        CHECK(isfinite(v));
    }
    drop(s);
    /* Extended trees with missing values. */
    size_t n = 300, p = 4;
    double *z = blob(n, p, 0, 3, NULL);
    for (size_t i = 0; i < n; i += 7)
        z[i * p + i % p] = NAN;
    s = fit_new("n_trees=20 extension_level=3", z, n, p, 2);
    for (size_t i = 0; i < n; i++)
        CHECK(isfinite(score(s, z + i * p)));
    double all_nan[] = {NAN, NAN, NAN, NAN};
    CHECK(isfinite(score(s, all_nan)));
    drop(s);
    free(z);
}

static void test_constant_and_tiny(void)
{
    /* Constant data: every root is a leaf of psi samples, h = c(psi),
     * s = 2^-1 = 0.5 for any row. */
    double x[64];
    for (int i = 0; i < 64; i++)
        x[i] = 3;
    void *s = fit_new("n_trees=5", x, 32, 2, 1);
    CHECK(forest(s)->n_nodes == 5);
    double row[] = {100, -4};
    CHECK(score(s, row) == 0.5);
    drop(s);
    /* One row: c(1) = 0, scikit-learn's score is 2^-1. */
    s = fit_new("", x, 1, 2, 1);
    CHECK(score(s, row) == 0.5);
    double contrib[2] = {1, 1};
    vt()->feature_scores_row(s, row, NULL, contrib);
    CHECK(contrib[0] == 0 && contrib[1] == 0);
    drop(s);
}

static void test_determinism(void)
{
    size_t n = 2000, p = 5;
    double *x = blob(n, p, 20, 11, NULL);
    const char *configs[] = {
        "seed=42",
        "seed=42 max_samples=0.5 max_features=3 bootstrap=true",
        "seed=7 extension_level=2 n_trees=50",
    };
    for (size_t c = 0; c < 3; c++) {
        void *a = fit_new(configs[c], x, n, p, 1);
        void *b = fit_new(configs[c], x, n, p, 4);
        void *d = fit_new(configs[c], x, n, p, 0);
        an_writer wa, wb, wd;
        CHECK(payload(a, &wa) && payload(b, &wb) && payload(d, &wd));
        CHECK(wa.len == wb.len && !memcmp(wa.data, wb.data, wa.len));
        CHECK(wa.len == wd.len && !memcmp(wa.data, wd.data, wa.len));
        double *sa = malloc(n * sizeof *sa), *sb = malloc(n * sizeof *sb);
        CHECK_OK(vt()->score_batch(a, x, n, 1, sa));
        CHECK_OK(vt()->score_batch(b, x, n, 4, sb));
        CHECK(!memcmp(sa, sb, n * sizeof *sa));
        for (size_t i = 0; i < n; i += 97)
            CHECK(score(a, x + i * p) == sa[i]);
        free(sa);
        free(sb);
        an_writer_free(&wa);
        an_writer_free(&wb);
        an_writer_free(&wd);
        drop(a);
        drop(b);
        drop(d);
    }
    /* a different seed gives a different forest */
    void *a = fit_new("seed=1", x, n, p, 2), *b = fit_new("seed=2", x, n, p, 2);
    CHECK(score(a, x) != score(b, x));
    drop(a);
    drop(b);
    free(x);
}

/* ---- the lock-step walks against a plain walk ---- */

/* A row's score walked one tree at a time with an_iforest_child: the plain
 * definition that every route of score.c must match bit for bit. */
static double plain_score(const an_iforest *f, const double *row)
{
    double sum = 0;
    for (size_t t = 0; t < f->n_trees; t++) {
        const an_if_node *n = f->nodes + f->roots[t];
        while (!(n->info & AN_IF_LEAF))
            n = f->nodes + an_iforest_child(f, n, row);
        sum += f->leaf_value[n - f->nodes];
    }
    return an_iforest_score_of_sum(f, sum);
}

static void test_walk_routes(void)
{
    /* Widths on both sides of the padded copy's 16 features, 300 rows
     * (blocks of 128 and a partial group of 16 at the end), tree counts
     * around the 16 lanes, rows with and without missing values (trained
     * on them too, so that some splits send them right), and both
     * comparisons: float32 is forced on a trained forest, since the flag
     * only changes how x is compared. */
    static const size_t widths[] = {1, 3, 16, 17, 40};
    static const size_t tree_counts[] = {1, 15, 16, 37};
    size_t n = 300;
    double *batch = malloc(n * sizeof *batch), *batch2 = malloc(n * sizeof *batch2);
    double *f64 = malloc(n * sizeof *f64);
    for (size_t w = 0; w < sizeof widths / sizeof *widths; w++) {
        size_t p = widths[w];
        double *x = blob(n, p, 10, 100 + w, NULL);
        for (size_t i = 0; i < n; i += 13)
            x[i * p + i % p] = NAN;
        for (size_t c = 0; c < sizeof tree_counts / sizeof *tree_counts; c++) {
            char params[80];
            snprintf(params, sizeof params, "n_trees=%zu max_samples=64 seed=%zu", tree_counts[c],
                     w * 10 + c);
            void *s = fit_new(params, x, n, p, 1);
            an_iforest *f = (an_iforest *)forest(s);
            size_t miss_right = 0;
            for (size_t i = 0; i < f->n_nodes; i++)
                miss_right += (f->nodes[i].info & AN_IF_MISS_RIGHT) != 0;
            /* rows that sit exactly on thresholds, where float32 rounding
             * can change the side */
            double *y = malloc(n * p * sizeof *y);
            memcpy(y, x, n * p * sizeof *y);
            for (size_t i = 1, k = 0; i < n; i += 3, k++) {
                const an_if_node *node = &f->nodes[k % f->n_nodes];
                if (!(node->info & AN_IF_LEAF))
                    y[i * p + (node->info & AN_IF_INDEX_MASK)] = node->value;
            }
            size_t differ = 0;
            for (int f32 = 0; f32 < 2; f32++) {
                f->float32 = f32;
                CHECK_OK(vt()->score_batch(s, y, n, 1, batch));
                CHECK_OK(vt()->score_batch(s, y, n, 2, batch2));
                CHECK(!memcmp(batch, batch2, n * sizeof *batch));
                for (size_t i = 0; i < n; i++) {
                    double plain = plain_score(f, y + i * p);
                    if (!(batch[i] == plain && score(s, y + i * p) == plain))
                        test_fail(__FILE__, __LINE__, "width %zu, %zu trees, float32 %d, row %zu",
                                  p, tree_counts[c], f32, i);
                    if (f32)
                        differ += batch[i] != f64[i];
                    else
                        f64[i] = batch[i];
                }
            }
            /* the cases are really there: some splits send missing values
             * right, and float32 changes some scores */
            if (tree_counts[c] > 1)
                CHECK(miss_right > 0 && differ > 0);
            free(y);
            drop(s);
        }
        free(x);
    }
    free(batch);
    free(batch2);
    free(f64);
}

/* The heap layout batches walk (heap.c), checked by hand on tree A, and the
 * trees it leaves out (deep and sparse) walked in their nodes beside laid-out
 * ones, on both routes of the batch (padded copy or not). */
static void test_heap_layout(void)
{
    double c4 = an_iforest_c(4);
    an_iforest_raw_tree one[] = {tree_a()};
    void *s = from_raw(one, 1, 0);
    const an_iforest *f = forest(s);
    /* depth 2: slots 1..3 split, 4..7 hold path values. The root (x0 <=
     * 0.5) is slot 1; its left child is the leaf of 1 sample at depth 1,
     * so slot 2 passes everything left to slot 4, which holds h = 1; node
     * 2 (x1 <= 2) is slot 3, with its leaves at 6 (2 samples: h = 2 +
     * c(2) = 3) and 7 (1 sample: h = 2). Slot 5 is never reached. */
    const an_if_heap_tree *h = &f->heap.trees[0];
    CHECK(h->value != NULL);
    CHECK(h->value[1] == 0.5 && h->feature[1] == 0);
    CHECK(h->value[2] == INFINITY);
    CHECK(h->value[3] == 2.0 && h->feature[3] == 1);
    CHECK(h->value[4] == 1 && h->value[6] == 3 && h->value[7] == 2);
    drop(s);

    /* A chain of 12 splits (depth 12, 25 nodes: 4096 slots for 25 nodes)
     * is not laid out; split j tests x_(j % 2) <= j / 4 - 1.5, with a leaf
     * on its left. */
    enum { SPLITS = 12, CHAIN = 2 * SPLITS + 1, ROWS = 40 };
    uint32_t left[CHAIN], right[CHAIN], feature[CHAIN];
    double threshold[CHAIN];
    uint64_t samples[CHAIN];
    for (size_t i = 0; i < CHAIN; i++) {
        size_t j = i / 2;
        int split = i % 2 == 0 && j < SPLITS;
        left[i] = split ? (uint32_t)i + 1 : NONE;
        right[i] = split ? (uint32_t)i + 2 : NONE;
        feature[i] = (uint32_t)(j % 2);
        threshold[i] = split ? (double)j / 4 - 1.5 : 0;
        samples[i] = split ? (uint64_t)(SPLITS - j + 1) : 1;
    }
    an_iforest_raw_tree chain = {.n_nodes = CHAIN, .left = left, .right = right,
                                 .feature = feature, .threshold = threshold,
                                 .n_samples = samples};
    an_iforest_raw_tree mixed[] = {chain, tree_a(), chain, tree_a()};
    static const size_t widths[] = {2, 20};
    for (size_t w = 0; w < 2; w++) {
        size_t p = widths[w];
        double x[ROWS * 20], batch[ROWS];
        an_rng rng;
        an_rng_init(&rng, 7, w);
        for (size_t i = 0; i < ROWS * p; i++)
            x[i] = i % 11 == 5 ? NAN : 4 * an_rng_uniform(&rng) - 2;
        for (int f32 = 0; f32 < 2; f32++) {
            s = make("", NULL);
            an_iforest_raw raw = {mixed, 4, 4, p, f32};
            CHECK_OK(an_iforest_from_arrays(s, &raw));
            f = forest(s);
            CHECK(f->depths[0] == SPLITS);
            CHECK(f->heap.trees[0].value == NULL && f->heap.trees[2].value == NULL);
            CHECK(f->heap.trees[1].value != NULL && f->heap.trees[3].value != NULL);
            CHECK_OK(vt()->score_batch(s, x, ROWS, 1, batch));
            for (size_t i = 0; i < ROWS; i++) {
                double plain = plain_score(f, x + i * p);
                if (!(batch[i] == plain && score(s, x + i * p) == plain))
                    test_fail(__FILE__, __LINE__, "width %zu, float32 %d, row %zu", p, f32, i);
            }
            /* a row that goes right at every split reaches depth 12 */
            double far[20] = {0};
            far[0] = far[1] = 100;
            CHECK_NEAR(score(s, far), pow(2, -(2 * (12 + 0.0) + 2 * 2) / (4 * c4)), 1e-15);
            drop(s);
        }
    }
}

static void test_subsampling(void)
{
    size_t n = 1000, p = 6;
    double *x = blob(n, p, 0, 5, NULL);
    /* auto: min(256, rows); depth limit 8 */
    void *s = fit_new("n_trees=20", x, n, p, 0);
    CHECK(forest(s)->max_samples == 256 && forest(s)->max_depth <= 8);
    /* every tree holds psi rows in its leaves */
    const an_iforest *f = forest(s);
    uint64_t in_leaves = 0;
    for (size_t i = 0; i < f->n_nodes; i++)
        if (f->nodes[i].info & AN_IF_LEAF)
            in_leaves += f->leaf_count[i];
    CHECK(in_leaves == 20 * 256);
    drop(s);
    /* a count above the rows is capped, a fraction is floor(f * rows) */
    s = fit_new("n_trees=3 max_samples=5000", x, n, p, 0);
    CHECK(forest(s)->max_samples == 1000);
    drop(s);
    s = fit_new("n_trees=3 max_samples=0.1234", x, n, p, 0);
    CHECK(forest(s)->max_samples == 123);
    drop(s);
    s = fit_new("n_trees=3 max_samples=1", x, n, p, 0);
    CHECK(forest(s)->max_samples == 1000);
    drop(s);
    /* bootstrap: duplicates count once, so leaves hold at most psi rows */
    s = fit_new("n_trees=10 max_samples=300 bootstrap=true", x, n, p, 0);
    f = forest(s);
    in_leaves = 0;
    for (size_t i = 0; i < f->n_nodes; i++)
        if (f->nodes[i].info & AN_IF_LEAF)
            in_leaves += f->leaf_count[i];
    CHECK(in_leaves < 10 * 300 && in_leaves > 10 * 200); /* about 1 - 1/e of 300 each */
    drop(s);
    /* max_features=2: each tree splits on at most two features */
    s = fit_new("n_trees=10 max_features=2", x, n, p, 0);
    f = forest(s);
    for (size_t t = 0; t < f->n_trees; t++) {
        size_t end = t + 1 < f->n_trees ? f->roots[t + 1] : f->n_nodes;
        int used[6] = {0}, n_used = 0;
        for (size_t i = f->roots[t]; i < end; i++)
            if (!(f->nodes[i].info & AN_IF_LEAF))
                used[f->nodes[i].info & AN_IF_INDEX_MASK] = 1;
        for (int j = 0; j < 6; j++)
            n_used += used[j];
        CHECK(n_used <= 2);
    }
    drop(s);
    free(x);
}

static void test_bad_params(void)
{
    anoma_status st;
    CHECK(make("max_samples=0", &st) == NULL);
    CHECK(st == ANOMA_ERR_PARAM_VALUE && strstr(anoma_last_error(), "max_samples"));
    CHECK(make("max_samples=2.5", &st) == NULL);
    CHECK(st == ANOMA_ERR_PARAM_VALUE && strstr(anoma_last_error(), "max_samples"));
    CHECK(make("max_samples=-1", &st) == NULL);
    CHECK(st == ANOMA_ERR_PARAM_VALUE && strstr(anoma_last_error(), "max_samples"));
    CHECK(make("n_trees=0", &st) == NULL);
    CHECK(st == ANOMA_ERR_PARAM_VALUE && strstr(anoma_last_error(), "n_trees"));
    CHECK(make("max_features=0", &st) == NULL);
    CHECK(st == ANOMA_ERR_PARAM_VALUE && strstr(anoma_last_error(), "max_features"));
    CHECK(make("extension_level=-1", &st) == NULL);
    CHECK(st == ANOMA_ERR_PARAM_VALUE && strstr(anoma_last_error(), "extension_level"));
    CHECK(make("depth=3", &st) == NULL);
    CHECK(st == ANOMA_ERR_UNKNOWN_PARAM);

    double x[30];
    for (int i = 0; i < 30; i++)
        x[i] = i % 7;
    /* extension_level must be at most n_features - 1: both numbers named */
    void *s = make("extension_level=3", NULL);
    CHECK_STATUS(fit(s, x, 10, 3, 1), ANOMA_ERR_PARAM_VALUE);
    CHECK(strstr(anoma_last_error(), "extension_level=3") && strstr(anoma_last_error(), "2"));
    CHECK_OK(fit(s, x, 6, 5, 1)); /* fine with 5 features; a failed fit left it usable */
    drop(s);
    s = make("extension_level=2 max_features=2", NULL);
    CHECK_STATUS(fit(s, x, 10, 3, 1), ANOMA_ERR_PARAM_VALUE);
    CHECK(strstr(anoma_last_error(), "max_features"));
    drop(s);
    s = make("max_features=4", NULL);
    CHECK_STATUS(fit(s, x, 10, 3, 1), ANOMA_ERR_PARAM_VALUE);
    CHECK(strstr(anoma_last_error(), "max_features"));
    drop(s);
    s = make("max_samples=0.01", NULL); /* 0.01 * 10 rows < 1 row */
    CHECK_STATUS(fit(s, x, 10, 3, 1), ANOMA_ERR_PARAM_VALUE);
    CHECK(strstr(anoma_last_error(), "max_samples"));
    drop(s);
    /* unfitted: saving is refused */
    s = make("", NULL);
    an_writer w = {0};
    CHECK_STATUS(vt()->save(s, &w), ANOMA_ERR_NOT_FITTED);
    an_writer_free(&w);
    drop(s);
}

/* A parameter set whose forest could not be held or saved is refused before
 * any tree grows: under an allocation budget that a grown tree would
 * exhaust, the answer is the parameter error, not out of memory. */
static void test_resources_checked_before_fitting(void)
{
    enum { ROWS = 3000 };
    static double x[ROWS];
    for (int i = 0; i < ROWS; i++)
        x[i] = (i * 7919) % 1009;
    static const struct {
        const char *params, *words;
    } refused[] = {
        /* 100000 trees of up to 2 * 3000 - 1 nodes: over 536870911 nodes */
        {"n_trees=100000 max_samples=3000", "nodes, more than the 536870911 a forest holds"},
        /* 30000 trees: 180 million nodes fit the indexes but need 5.2 GB */
        {"n_trees=30000 max_samples=1.0", "GB"},
        /* 40000 trees: 240 million nodes, 7 GB */
        {"n_trees=40000 max_samples=3000", "GB"},
    };
    for (size_t i = 0; i < sizeof refused / sizeof *refused; i++) {
        void *s = make(refused[i].params, NULL);
        test_alloc_install(200);
        anoma_status st = fit(s, x, ROWS, 1, 2);
        test_alloc_restore();
        CHECK_STATUS(st, ANOMA_ERR_PARAM_VALUE);
        CHECK(strstr(anoma_last_error(), refused[i].words) != NULL);
        CHECK(strstr(anoma_last_error(), "n_trees") && strstr(anoma_last_error(), "max_samples"));
        drop(s);
    }
    double x2[ROWS * 5];
    for (int i = 0; i < ROWS * 5; i++)
        x2[i] = (i * 7919) % 1009;
    void *s = make("n_trees=40000 max_samples=3000 extension_level=4", NULL);
    test_alloc_install(200);
    anoma_status st = fit(s, x2, ROWS, 5, 2);
    test_alloc_restore();
    CHECK_STATUS(st, ANOMA_ERR_PARAM_VALUE);
    CHECK(strstr(anoma_last_error(), "extension_level") && strstr(anoma_last_error(), "n_trees"));
    drop(s);

    /* An ordinary forest passes the check. */
    s = make("n_trees=1000", NULL);
    CHECK_OK(fit(s, x, 300, 1, 2));
    drop(s);
}

/* ---- the payload ---- */

static void test_round_trip(void)
{
    size_t n = 500, p = 4;
    double *x = blob(n, p, 5, 21, NULL);
    for (size_t i = 0; i < n; i += 13)
        x[i * p + 1] = NAN;
    const char *configs[] = {"n_trees=30", "n_trees=30 extension_level=2 max_features=3"};
    for (size_t c = 0; c < 2; c++) {
        void *a = fit_new(configs[c], x, n, p, 0);
        an_writer w1, w2;
        CHECK(payload(a, &w1));
        void *b = NULL;
        CHECK_OK(load(w1.data, w1.len, p, &b));
        if (!b)
            continue;
        CHECK(payload(b, &w2));
        CHECK(w1.len == w2.len && !memcmp(w1.data, w2.data, w1.len));
        /* identical memory, hence identical scores */
        const an_iforest *fa = forest(a), *fb = forest(b);
        CHECK(fa->n_nodes == fb->n_nodes && fa->n_comps == fb->n_comps);
        CHECK(!memcmp(fa->nodes, fb->nodes, fa->n_nodes * sizeof *fa->nodes));
        CHECK(!memcmp(fa->leaf_value, fb->leaf_value, fa->n_nodes * sizeof *fa->leaf_value));
        CHECK(!memcmp(fa->leaf_count, fb->leaf_count, fa->n_nodes * sizeof *fa->leaf_count));
        CHECK(!memcmp(fa->depths, fb->depths, fa->n_trees * sizeof *fa->depths));
        CHECK(!fa->n_comps || !memcmp(fa->comps, fb->comps, fa->n_comps * sizeof *fa->comps));
        CHECK(fa->max_depth == fb->max_depth && fa->n_leaves == fb->n_leaves);
        for (size_t i = 0; i < n; i++)
            CHECK(score(a, x + i * p) == score(b, x + i * p));
        /* the wrong width is refused */
        void *bad = NULL;
        CHECK_STATUS(load(w1.data, w1.len, p + 1, &bad), ANOMA_ERR_FORMAT);
        an_writer_free(&w1);
        an_writer_free(&w2);
        drop(a);
        drop(b);
    }
    free(x);
}

/* Byte offsets in the payload of a one-tree forest of n nodes (see
 * docs/detectors/iforest.md): a 32-byte header, then the tree. */
enum { HEAD = 32, TREE = HEAD + 16 };
#define OFF_LEFT(n, i) (TREE + 4 * (i))
#define OFF_RIGHT(n, i) (TREE + 4 * (n) + 4 * (i))
#define OFF_FEATURE(n, i) (TREE + 8 * (n) + 4 * (i))
#define OFF_THRESHOLD(n, i) (TREE + 12 * (n) + 8 * (i))
#define OFF_SAMPLES(n, i) (TREE + 20 * (n) + 8 * (i))
#define OFF_FLAGS(n, i) (TREE + 28 * (n) + (i))

static void put32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static void put64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static anoma_status load_status(const unsigned char *bytes, size_t len)
{
    void *s = NULL;
    anoma_status st = load(bytes, len, 2, &s);
    if (s) { /* whatever loads must score finitely */
        double rows[][2] = {{0, 0}, {1, 1}, {NAN, 5}, {-1e300, 1e300}};
        for (int i = 0; i < 4; i++) {
            double v = score(s, rows[i]);
            CHECK(isfinite(v) && v > 0 && v <= 1);
        }
    }
    drop(s);
    return st;
}

static void test_hostile_payloads(void)
{
    an_iforest_raw_tree one[] = {tree_a()};
    void *s = from_raw(one, 1, 0);
    an_writer w;
    CHECK(payload(s, &w));
    drop(s);
    size_t n = 5, len = w.len;
    CHECK(len == (size_t)OFF_FLAGS(n, n) + 8); /* then the component count */
    unsigned char *buf = malloc(len);

    CHECK_OK(load_status(w.data, len));
    /* every truncation */
    for (size_t cut = 0; cut < len; cut++)
        CHECK_STATUS(load_status(w.data, cut), ANOMA_ERR_FORMAT);

    /* After the layout: node 0 splits into 1, 2; node 2 into 3, 4. */
    struct {
        size_t off;
        int wide;
        uint64_t value;
        const char *what;
    } cases[] = {
        {OFF_LEFT(n, 0), 0, 5, "child index past the end"},
        {OFF_RIGHT(n, 0), 0, 77, "child index far past the end"},
        {OFF_LEFT(n, 2), 0, 0, "cycle: node 2's left child is the root"},
        {OFF_LEFT(n, 2), 0, 2, "node 2 is its own child"},
        {OFF_LEFT(n, 2), 0, 1, "node 1 has two parents"},
        {OFF_RIGHT(n, 2), 0, 3, "both children the same"},
        {OFF_RIGHT(n, 1), 0, 3, "leaf with one child"},
        {OFF_LEFT(n, 0), 0, AN_IF_RAW_NONE, "split with one child"},
        {OFF_FEATURE(n, 0), 0, 2, "feature index out of range"},
        {OFF_FEATURE(n, 2), 0, UINT32_MAX, "feature index far out of range"},
        {OFF_THRESHOLD(n, 0), 1, 0x7FF8000000000000ULL, "NaN threshold"},
        {OFF_THRESHOLD(n, 2), 1, 0x7FF0000000000000ULL, "infinite threshold"},
        {OFF_SAMPLES(n, 1), 1, (uint64_t)1 << 40, "leaf count out of range"},
        {OFF_FLAGS(n, 0), 2, 4, "unknown node flag"},
        {OFF_FLAGS(n, 0), 2, AN_IF_RAW_EXTENDED, "extended split without components"},
        {0, 0, 0, "payload version 0"},
        {4, 0, 2, "unknown payload flag"},
        {8, 1, 3, "feature count differs from the model"},
        {16, 1, 0, "max_samples 0"},
        {24, 1, 0, "no tree"},
        {24, 1, 2, "two trees announced, one present"},
        {24, 1, UINT64_MAX, "huge tree count"},
        {HEAD, 1, 0, "tree without nodes"},
        {HEAD, 1, 4, "node count smaller than the arrays"},
        {HEAD, 1, UINT64_MAX / 2, "huge node count"},
        {HEAD + 8, 1, 1, "a feature map that eats the node arrays"},
        {OFF_FLAGS(n, n), 1, 1, "a component announced, none present"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        memcpy(buf, w.data, len);
        if (cases[c].wide == 1)
            put64(buf + cases[c].off, cases[c].value);
        else if (cases[c].wide == 2)
            buf[cases[c].off] = (unsigned char)cases[c].value;
        else
            put32(buf + cases[c].off, (uint32_t)cases[c].value);
        anoma_status st = load_status(buf, len);
        if (st != ANOMA_ERR_FORMAT)
            test_fail(__FILE__, __LINE__, "%s: %s (%s)", cases[c].what, anoma_status_str(st),
                      anoma_last_error());
    }
    /* a newer payload version is a version error */
    memcpy(buf, w.data, len);
    put32(buf, 2);
    CHECK_STATUS(load_status(buf, len), ANOMA_ERR_VERSION);

    /* Every single byte changed: an error or a forest that scores
     * finitely, never a crash (valgrind watches the reads). */
    for (size_t i = 0; i < len; i++)
        for (int bit = 0; bit < 8; bit += 3) {
            memcpy(buf, w.data, len);
            buf[i] ^= (unsigned char)(1u << bit);
            load_status(buf, len);
        }
    free(buf);
    an_writer_free(&w);

    /* The same checks hold for raw arrays (the importers' way in). */
    static const uint32_t bad_left[] = {1, NONE, 0, NONE, NONE};
    an_iforest_raw_tree t = tree_a();
    t.left = bad_left;
    s = make("", NULL);
    an_iforest_raw raw = {&t, 1, 4, 2, 0};
    CHECK_STATUS(an_iforest_from_arrays(s, &raw), ANOMA_ERR_FORMAT);
    CHECK(strstr(anoma_last_error(), "tree 0, node 2"));
    raw.n_features = 0;
    CHECK_STATUS(an_iforest_from_arrays(s, &raw), ANOMA_ERR_SHAPE);
    drop(s);
}

/* The exporters' way in: a payload written by hand (here by the raw
 * builder and save) imported into a model through the public API. */
static void test_import(void)
{
    double c4 = an_iforest_c(4);
    an_iforest_raw_tree two[] = {tree_a(), tree_b()};
    void *s = from_raw(two, 2, 1);
    an_writer w;
    CHECK(payload(s, &w));
    drop(s);
    anoma_model *model = NULL;
    CHECK_OK(anoma_model_create("threshold=0.5", &model));
    CHECK_OK(anoma_model_import_detector(model, "iforest", "n_trees=2 max_samples=4", w.data,
                                         w.len, 2));
    /* (0, 0): h = (1 + c(4)) / 2 on average, as in test_hand_built */
    double rows[] = {0, 0, 1, 1}, scores[2];
    anoma_matrix m = anoma_matrix_f64(rows, 2, 2);
    CHECK_OK(anoma_model_score(model, &m, scores));
    CHECK_NEAR(scores[0], pow(2, -(1 + c4) / (2 * c4)), 1e-15);
    CHECK_NEAR(scores[1], pow(2, -(3 + c4) / (2 * c4)), 1e-15);
    int flags[2];
    CHECK_OK(anoma_model_predict(model, &m, flags));
    CHECK(flags[0] == 1 && flags[1] == 0); /* 0.586 > 0.5 > 0.403 */
    char text[1024];
    CHECK_OK(anoma_model_describe(model, text, sizeof text, NULL));
    CHECK(strstr(text, "float32") != NULL);
    anoma_model_free(model);
    /* a hostile payload is refused and leaves the model empty */
    CHECK_OK(anoma_model_create("threshold=0.5", &model));
    put32(w.data + OFF_LEFT(5, 2), 0); /* node 2's left child: the root */
    CHECK_STATUS(anoma_model_import_detector(model, "iforest", NULL, w.data, w.len, 2),
                 ANOMA_ERR_FORMAT);
    CHECK(anoma_model_n_detectors(model) == 0);
    anoma_model_free(model);
    an_writer_free(&w);
}

/* ---- allocation failures ---- */

/* A host allocator failing at its fail_at-th call only (0: never), counting
 * live blocks. Not the shared one of testing.h: training allocates from
 * worker threads at the same time, so the counters must be atomic, and
 * failing one call (not all from some point on) also checks that a worker's
 * failure is reported even when the other threads and the caller succeed. */
static atomic_long alloc_calls, alloc_fail_at, alloc_live;

static int alloc_take(void)
{
    long k = atomic_fetch_add(&alloc_calls, 1) + 1;
    long at = atomic_load(&alloc_fail_at);
    return at == 0 || k != at;
}

static void *t_malloc(void *user, size_t size)
{
    (void)user;
    void *p = alloc_take() ? malloc(size ? size : 1) : NULL;
    if (p)
        atomic_fetch_add(&alloc_live, 1);
    return p;
}

static void *t_realloc(void *user, void *ptr, size_t size)
{
    (void)user;
    void *p = alloc_take() ? realloc(ptr, size ? size : 1) : NULL;
    if (p && !ptr)
        atomic_fetch_add(&alloc_live, 1);
    return p;
}

static void t_free(void *user, void *ptr)
{
    (void)user;
    if (ptr) {
        atomic_fetch_sub(&alloc_live, 1);
        free(ptr);
    }
}

static void fail_at(long k)
{
    static const anoma_allocator a = {t_malloc, t_realloc, t_free, NULL};
    atomic_store(&alloc_calls, 0);
    atomic_store(&alloc_fail_at, k);
    anoma_set_allocator(&a);
}

/* Run op with the k-th allocation failing, for k = 1, 2, ... until it
 * succeeds: each run gives OK or ANOMA_ERR_NO_MEMORY and leaks nothing. */
static void each_failure(const char *what, anoma_status (*op)(void *), void *ctx)
{
    int reached_ok = 0;
    for (long k = 1; k <= 2000 && !reached_ok; k++) {
        fail_at(0);
        long live = atomic_load(&alloc_live);
        fail_at(k);
        anoma_status st = op(ctx);
        fail_at(0);
        if (st == ANOMA_OK)
            reached_ok = 1;
        else if (st != ANOMA_ERR_NO_MEMORY)
            test_fail(__FILE__, __LINE__, "%s, allocation %ld failing: %s (%s)", what, k,
                      anoma_status_str(st), anoma_last_error());
        if (atomic_load(&alloc_live) != live)
            test_fail(__FILE__, __LINE__, "%s, allocation %ld failing: %ld blocks leaked", what,
                      k, atomic_load(&alloc_live) - live);
    }
    if (!reached_ok)
        test_fail(__FILE__, __LINE__, "%s never succeeded", what);
}

typedef struct alloc_case {
    const char *params;
    const double *x;
    size_t rows, cols, threads;
    an_writer saved;
} alloc_case;

static anoma_status op_fit(void *ctx)
{
    alloc_case *c = ctx;
    anoma_status st;
    void *s = make(c->params, &st);
    if (s) {
        st = fit(s, c->x, c->rows, c->cols, c->threads);
        drop(s);
    }
    return st;
}

static anoma_status op_save_load(void *ctx)
{
    alloc_case *c = ctx;
    void *s = NULL;
    anoma_status st = load(c->saved.data, c->saved.len, c->cols, &s);
    if (st == ANOMA_OK) {
        an_writer w = {0};
        st = vt()->save(s, &w);
        if (st == ANOMA_OK && (w.len != c->saved.len || memcmp(w.data, c->saved.data, w.len)))
            st = ANOMA_ERR_INTERNAL;
        an_writer_free(&w);
    }
    drop(s);
    return st;
}

static void test_allocation_failures(void)
{
    size_t n = 200, p = 3;
    double *x = blob(n, p, 0, 2, NULL);
    alloc_case c = {"n_trees=4 max_samples=64", x, n, p, 1, {0}};
    each_failure("fit", op_fit, &c);
    c.params = "n_trees=4 max_samples=0.5 bootstrap=true extension_level=2";
    each_failure("extended fit", op_fit, &c);
    c.threads = 3; /* failures inside worker threads */
    each_failure("threaded fit", op_fit, &c);
    void *s = fit_new(c.params, x, n, p, 1);
    CHECK(payload(s, &c.saved));
    drop(s);
    each_failure("load and save", op_save_load, &c);
    an_writer_free(&c.saved);
    anoma_set_allocator(NULL);
    free(x);
}

/* ---- explanation ---- */

static void check_explanation(const char *params, size_t planted)
{
    size_t n = 1000, p = 5;
    double *x = blob(n, p, 0, 8, NULL);
    void *s = fit_new(params, x, n, p, 0);
    double out[5];
    double row[5] = {0, 0, 0, 0, 0};
    row[planted] = 7;
    vt()->feature_scores_row(s, row, NULL, out);
    size_t best = 0;
    for (size_t j = 1; j < p; j++)
        if (out[j] > out[best])
            best = j;
    CHECK(best == planted);
    /* contributions sum to 1 + log2 s(x) (no tree here has a leaf root) */
    double sum = 0;
    for (size_t j = 0; j < p; j++)
        sum += out[j];
    CHECK_NEAR(sum, 1 + log2(score(s, row)), 1e-12);
    CHECK(out[planted] > 0);
    /* the centre of the blob is isolated late: a negative sum, below the
     * outlier's (scikit-learn scores such one-feature outliers near 0.5
     * too: the other features' splits lengthen their paths) */
    double centre[5] = {0, 0, 0, 0, 0};
    double out_centre[5], sum_centre = 0;
    vt()->feature_scores_row(s, centre, NULL, out_centre);
    for (size_t j = 0; j < p; j++)
        sum_centre += out_centre[j];
    CHECK_NEAR(sum_centre, 1 + log2(score(s, centre)), 1e-12);
    CHECK(sum_centre < 0 && sum_centre < sum);
    drop(s);
    free(x);
}

static void test_explanation(void)
{
    for (size_t j = 0; j < 5; j++)
        check_explanation("seed=3", j);
    check_explanation("seed=4 extension_level=1", 2);
    check_explanation("seed=5 n_trees=200 extension_level=4", 3);
}

/* ---- accuracy ---- */

static double auc_of(const char *params, size_t threads)
{
    size_t n = 2000, p = 6, outliers = 40;
    int *labels = malloc(n * sizeof *labels);
    double *x = blob(n, p, outliers, 99, labels);
    void *s = fit_new(params, x, n, p, threads);
    double *scores = malloc(n * sizeof *scores), auc = 0;
    CHECK_OK(vt()->score_batch(s, x, n, threads, scores));
    CHECK_OK(anoma_roc_auc(scores, labels, n, &auc));
    drop(s);
    free(scores);
    free(x);
    free(labels);
    return auc;
}

static void test_roc_auc(void)
{
    const char *configs[] = {"", "extension_level=1", "extension_level=5",
                             "max_features=0.5 bootstrap=true", "max_samples=512 n_trees=200"};
    for (size_t c = 0; c < sizeof configs / sizeof *configs; c++) {
        double auc = auc_of(configs[c], 0);
        if (!(auc > 0.95))
            test_fail(__FILE__, __LINE__, "'%s': ROC AUC %.4f <= 0.95", configs[c], auc);
    }
}

/* ---- through the public model API ---- */

static void test_model_api(void)
{
    size_t n = 1000, p = 4;
    int *labels = malloc(n * sizeof *labels);
    double *x = blob(n, p, 20, 17, labels);
    anoma_matrix m = anoma_matrix_f64(x, n, p);
    /* One and four threads: the same scores. (The files differ only
     * because the model keeps its own n_threads parameter; the detector
     * payloads are compared byte for byte in test_determinism.) */
    unsigned char *bytes[2] = {NULL, NULL};
    size_t sizes[2] = {0, 0};
    double *by_threads[2] = {malloc(n * sizeof(double)), malloc(n * sizeof(double))};
    const char *threads[] = {"n_threads=1", "n_threads=4"};
    for (int k = 0; k < 2; k++) {
        anoma_model *model = NULL;
        CHECK_OK(anoma_model_create(threads[k], &model));
        CHECK_OK(anoma_model_add_detector(model, "iforest", "n_trees=50 seed=9", NULL));
        CHECK_OK(anoma_model_fit(model, &m, NULL, NULL));
        CHECK_OK(anoma_model_score(model, &m, by_threads[k]));
        bytes[k] = TEST_SAVED_BYTES(model, &sizes[k]);
        anoma_model_free(model);
    }
    CHECK(!memcmp(by_threads[0], by_threads[1], n * sizeof(double)));
    free(by_threads[0]);
    free(by_threads[1]);

    anoma_model *model = NULL;
    CHECK_OK(anoma_model_load_memory(bytes[0], sizes[0], &model));
    double *scores = malloc(n * sizeof *scores), auc = 0;
    CHECK_OK(anoma_model_score(model, &m, scores));
    CHECK_OK(anoma_roc_auc(scores, labels, n, &auc));
    CHECK(auc > 0.95);
    double threshold = 0;
    CHECK_OK(anoma_model_threshold(model, &threshold));
    CHECK(threshold > 0 && threshold < 1);
    /* the prepared single-row path gives the batch's bits */
    anoma_row_scorer *rs = NULL;
    CHECK_OK(anoma_row_scorer_create(model, &rs));
    for (size_t i = 0; i < n; i += 37) {
        double v = 0;
        CHECK_OK(anoma_row_scorer_score(rs, x + i * p, p, &v, NULL));
        CHECK(v == scores[i]);
    }
    double nan_row[] = {NAN, 0, NAN, 1}, v = -1;
    CHECK_OK(anoma_row_scorer_score(rs, nan_row, p, &v, NULL));
    CHECK(isfinite(v));
    anoma_row_scorer_free(rs);
    double *contrib = malloc(n * p * sizeof *contrib);
    CHECK_OK(anoma_model_feature_scores(model, 0, &m, contrib));
    free(contrib);
    char text[2048];
    CHECK_OK(anoma_model_describe(model, text, sizeof text, NULL));
    CHECK(strstr(text, "trees: 50") != NULL);
    CHECK(anoma_model_memory_bytes(model) > 50 * 16);
    /* saved again, the same bytes */
    size_t size = 0;
    unsigned char *again = TEST_SAVED_BYTES(model, &size);
    CHECK(size == sizes[0] && !memcmp(again, bytes[0], size));
    free(again);
    anoma_model_free(model);

    /* parameter errors reach the caller with the key */
    CHECK_OK(anoma_model_create(NULL, &model));
    CHECK_STATUS(anoma_model_add_detector(model, "iforest", "max_samples=0", NULL),
                 ANOMA_ERR_PARAM_VALUE);
    CHECK(strstr(anoma_last_error(), "max_samples") != NULL);
    CHECK_OK(anoma_model_add_detector(model, "iforest", "extension_level=9", NULL));
    CHECK_STATUS(anoma_model_fit(model, &m, NULL, NULL), ANOMA_ERR_PARAM_VALUE);
    CHECK(strstr(anoma_last_error(), "extension_level=9") != NULL);
    anoma_model_free(model);
    free(scores);
    free(bytes[0]);
    free(bytes[1]);
    free(x);
    free(labels);
}

/* ---- a real data set ---- */

static void test_breastw(void)
{
    char path[1024];
    if (!test_data_path("breastw.csv", path, sizeof path)) {
        test_skip("../shared/data/breastw.csv not found");
        return;
    }
    FILE *fp = fopen(path, "r");
    if (!fp) {
        test_skip("cannot open breastw.csv");
        return;
    }
    size_t cap = 1024, rows = 0, p = 9;
    double *x = malloc(cap * p * sizeof *x);
    int *labels = malloc(cap * sizeof *labels);
    char line[4096];
    CHECK(fgets(line, sizeof line, fp) != NULL); /* header f0..f8,label */
    while (fgets(line, sizeof line, fp) && rows < cap) {
        char *s = line;
        for (size_t j = 0; j < p; j++) {
            x[rows * p + j] = strtod(s, &s);
            s++; /* the comma */
        }
        labels[rows++] = (int)strtol(s, NULL, 10);
    }
    fclose(fp);
    CHECK(rows == 683);
    void *s = fit_new("seed=0", x, rows, p, 0);
    double *scores = malloc(rows * sizeof *scores), auc = 0;
    CHECK_OK(vt()->score_batch(s, x, rows, 0, scores));
    CHECK_OK(anoma_roc_auc(scores, labels, rows, &auc));
    /* scikit-learn 1.2.1 IsolationForest: 0.988 (mean of seeds 0-2, README) */
    if (!(auc > 0.97))
        test_fail(__FILE__, __LINE__, "breastw ROC AUC %.4f <= 0.97", auc);
    drop(s);
    free(scores);
    free(x);
    free(labels);
}

int main(void)
{
    RUN(test_path_length);
    RUN(test_hand_built);
    RUN(test_hand_built_options);
    RUN(test_nan_training);
    RUN(test_constant_and_tiny);
    RUN(test_determinism);
    RUN(test_walk_routes);
    RUN(test_heap_layout);
    RUN(test_subsampling);
    RUN(test_bad_params);
    RUN(test_resources_checked_before_fitting);
    RUN(test_round_trip);
    RUN(test_hostile_payloads);
    RUN(test_import);
    RUN(test_allocation_failures);
    RUN(test_explanation);
    RUN(test_roc_auc);
    RUN(test_model_api);
    RUN(test_breastw);
    return test_summary();
}
