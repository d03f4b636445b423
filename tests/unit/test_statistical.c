/* Statistical detectors (zscore, mad, iqr) through the detector vtable.
 *
 * Reference values were computed independently with numpy 1.24 / scipy 1.10
 * under /usr/bin/python3 (numpy.mean, numpy.std(ddof=...), numpy.median,
 * numpy.percentile with the default 'linear' method,
 * scipy.stats.median_abs_deviation(scale='normal')), from the same data with
 * the NaNs dropped per column, and pasted here with repr(); the combined
 * scores follow the definitions in docs/detectors/statistical.md written out
 * in numpy. Closed-form cases are worked out in the comments. */
#include "testing.h"

#include "core/alloc.h"
#include "core/params.h"
#include "detectors/detector.h"
#include "detectors/feature_stats.h"
#include "io/bytes.h"

#include <float.h>
#include <stdlib.h>
#include <string.h>

/* ---- helpers ---- */

typedef struct fitted {
    const an_detector_vtable *vt;
    void *state;
} fitted;

/* Create a detector from parameter text (NULL state on failure). */
static anoma_status make(const char *name, const char *params, fitted *out)
{
    out->vt = an_detector_find(name);
    out->state = NULL;
    if (!out->vt)
        return ANOMA_ERR_UNKNOWN_NAME;
    an_params p;
    anoma_status st = an_params_init(&p, name, out->vt->params, out->vt->n_params);
    if (st != ANOMA_OK)
        return st;
    st = an_params_parse(&p, params);
    if (st == ANOMA_OK)
        st = out->vt->create(&p, &out->state);
    an_params_free(&p);
    return st;
}

static anoma_status fit(fitted *d, const double *x, size_t rows, size_t cols, size_t threads)
{
    an_fit_data data = {.x = x, .rows = rows, .cols = cols, .n_threads = threads};
    return d->vt->fit(d->state, &data);
}

/* Create and fit; checks success. */
static fitted fit_new(const char *name, const char *params, const double *x, size_t rows,
                      size_t cols)
{
    fitted d;
    CHECK_OK(make(name, params, &d));
    if (d.state)
        CHECK_OK(fit(&d, x, rows, cols, 1));
    return d;
}

static void drop(fitted *d)
{
    if (d->state)
        d->vt->destroy(d->state);
    d->state = NULL;
}

static double score(const fitted *d, const double *row)
{
    double s = -12345;
    d->vt->score_row(d->state, row, NULL, &s);
    return s;
}

static const an_fs_state *fs(const fitted *d) { return d->state; }

/* ---- the shared data set ---- */

/* Columns without NaN: [1,2,3,4,100], [2.5,-1,4,0.5,3], [0.1,0.7,0.2,0.9]. */
static const double X[6][3] = {
    {1, 2.5, 0.1}, {2, NAN, 0.7}, {3, -1, 0.2}, {4, 4, 0.9}, {100, 0.5, NAN}, {NAN, 3, NAN},
};
/* Rows to score, including missing values and an all-missing row. */
static const double Q[5][3] = {
    {10, 3, 0.5}, {NAN, 7, -2}, {-5, NAN, NAN}, {3, 1.5, 0.45}, {NAN, NAN, NAN},
};

/* From /tmp reference script (numpy/scipy), see the top of this file.
 * *_fs: feature scores of Q; *_comb: per row max, mean, l2. */

/* zscore ddof=0: mean [22.0, 1.8, 0.475]
 * std [39.01281840626232, 1.8055470085267786, 0.3344772040064913] */
static const double zscore_ddof0_fs[5][3] = {
    {0.3075912095106096, 0.6646185307460536, 0.07474350927519366},
    {NAN, 2.8800136332328994, 7.399607418244166},
    {0.6920802213988716, NAN, NAN},
    {0.48701941505846524, 0.16615463268651343, 0.07474350927519349},
    {NAN, NAN, NAN},
};
static const double zscore_ddof0_comb[5][3] = {
    {0.6646185307460536, 0.3489844165106189, 0.7361499410840251},
    {7.399607418244166, 5.1398105257385325, 7.940319166868638},
    {0.6920802213988716, 0.6920802213988716, 0.6920802213988716},
    {0.48701941505846524, 0.2426391856733907, 0.519982562001699},
    {0.0, 0.0, 0.0},
};
/* zscore ddof=1: std [43.617656975128774, 2.018662923818635, 0.38622100754188227] */
static const double zscore_ddof1_fs[5][3] = {
    {0.27511794149884117, 0.594452885541684, 0.06472977780031551},
    {NAN, 2.575962504013964, 6.408248002231231},
    {0.6190153683723927, NAN, NAN},
    {0.4356034073731652, 0.14861322138542102, 0.06472977780031537},
    {NAN, NAN, NAN},
};
static const double zscore_ddof1_comb[5][3] = {
    {0.594452885541684, 0.31143353494694687, 0.6582203726697256},
    {6.408248002231231, 4.492105253122597, 6.906607363980267},
    {0.6190153683723927, 0.6190153683723927, 0.6190153683723927},
    {0.4356034073731652, 0.21631546885296724, 0.46478614675971364},
    {0.0, 0.0, 0.0},
};
/* mad: median [3.0, 2.5, 0.44999999999999996]
 * scale [1.482602218505602, 2.223903327758403, 0.44478066555168055]
 * Closed form for column 0, [1,2,3,4,100]: median 3, |x - 3| = [2,1,0,1,97],
 * MAD = 1, scale = 1 / 0.6744897501960817 = 1.482602218505602. */
static const double mad_fs[5][3] = {
    {4.721428251372572, 0.22482991673202724, 0.11241495836601373},
    {NAN, 2.023469250588245, 5.508332959934668},
    {5.395918001568654, NAN, NAN},
    {0.0, 0.44965983346405447, 1.248056750902267e-16},
    {NAN, NAN, NAN},
};
static const double mad_comb[5][3] = {
    {4.721428251372572, 1.6862243754902042, 4.728114883035439},
    {5.508332959934668, 3.7659011052614564, 5.868233107638003},
    {5.395918001568654, 5.395918001568654, 5.395918001568654},
    {0.44965983346405447, 0.14988661115468485, 0.44965983346405447},
    {0.0, 0.0, 0.0},
};
/* iqr: Q1 [2.0, 0.5, 0.17500000000000002], Q3 [4.0, 3.0, 0.75].
 * Closed form for column 0: n = 5, positions 1 and 3 are whole: Q1 = 2,
 * Q3 = 4, IQR 2; x = 10 scores (10 - 4) / 2 = 3; x = 3 scores -1/2. */
static const double iqr_fs[5][3] = {
    {3.0, 0.0, -0.4347826086956522},
    {NAN, 1.6, 3.782608695652174},
    {3.5, NAN, NAN},
    {-0.5, -0.4, -0.47826086956521746},
    {NAN, NAN, NAN},
};
/* l2 for iqr: sqrt of the sum of squared positive scores when some score is
 * positive, else the largest (negative) score (row 3: -0.4). */
static const double iqr_comb[5][3] = {
    {3.0, 0.8550724637681159, 3.0},
    {3.782608695652174, 2.6913043478260867, 4.107082729191542},
    {3.5, 3.5, 3.5},
    {-0.4, -0.4594202898550725, -0.4},
    {0.0, 0.0, 0.0},
};

/* The same with Tukey's k = 1.5 (the default): feature scores minus 1.5
 * (numpy: np.maximum(q1 - Q, Q - q3) / iqr - 1.5), and their combinations. */
static const double iqr_k15_fs[5][3] = {
    {1.5, -1.5, -1.9347826086956523},
    {NAN, 0.10000000000000009, 2.282608695652174},
    {2.0, NAN, NAN},
    {-2.0, -1.9, -1.9782608695652175},
    {NAN, NAN, NAN},
};
static const double iqr_k15_comb[5][3] = {
    {1.5, -0.6449275362318841, 1.5},
    {2.282608695652174, 1.191304347826087, 2.2847981218188442},
    {2.0, 2.0, 2.0},
    {-1.9, -1.9594202898550723, -1.9},
    {0.0, 0.0, 0.0},
};

static const char *const combine_params[3] = {"combine=max", "combine=mean", "combine=l2"};

/* Fit `name` with extra parameters on X under each combine mode; compare
 * feature scores and combined scores of Q with the references. */
static void check_against(const char *name, const char *extra, const double fs_ref[5][3],
                          const double comb_ref[5][3])
{
    for (int c = 0; c < 3; c++) {
        char params[64];
        snprintf(params, sizeof params, "%s %s", extra, combine_params[c]);
        fitted d = fit_new(name, params, &X[0][0], 6, 3);
        if (!d.state)
            return;
        for (int i = 0; i < 5; i++) {
            double out[3];
            d.vt->feature_scores_row(d.state, Q[i], NULL, out);
            for (int j = 0; j < 3; j++)
                CHECK_NEAR(out[j], fs_ref[i][j], 1e-13); /* NaN must match NaN */
            CHECK_NEAR(score(&d, Q[i]), comb_ref[i][c], 1e-13);
        }
        drop(&d);
    }
}

/* ---- tests ---- */

static void test_registry(void)
{
    static const char *const names[] = {"zscore", "mad", "iqr"};
    for (int k = 0; k < 3; k++) {
        const an_detector_vtable *vt = an_detector_find(names[k]);
        CHECK(vt != NULL);
        if (!vt)
            continue;
        CHECK(!strcmp(vt->name, names[k]));
        CHECK(vt->flags == ANOMA_FLAG_FEATURE_SCORES);
        CHECK(vt->feature_scores_row && vt->save && vt->load && vt->memory_bytes && vt->describe);
        CHECK(vt->summary && *vt->summary && !strchr(vt->summary, '\n'));
        for (size_t i = 0; i < vt->n_params; i++) {
            const anoma_param_info *p = &vt->params[i];
            CHECK(p->doc && strlen(p->doc) > 10 && !strchr(p->doc, '\n'));
            CHECK_OK(an_param_check(vt->name, p, p->default_value)); /* defaults are valid */
        }
    }
}

static void test_zscore(void)
{
    check_against("zscore", "", zscore_ddof0_fs, zscore_ddof0_comb);
    check_against("zscore", "ddof=1", zscore_ddof1_fs, zscore_ddof1_comb);
    /* Default is ddof=0 (numpy.std). */
    fitted d = fit_new("zscore", "", &X[0][0], 6, 3);
    if (d.state) {
        CHECK_NEAR(fs(&d)->scale[0], 39.01281840626232, 1e-15);
        CHECK(fs(&d)->lower[1] == 1.8); /* NaN skipped: mean of 5 values */
    }
    drop(&d);
}

static void test_mad(void)
{
    check_against("mad", "", mad_fs, mad_comb);
    fitted d = fit_new("mad", "", &X[0][0], 6, 3);
    if (d.state) {
        CHECK(fs(&d)->lower[0] == 3);
        CHECK_NEAR(fs(&d)->scale[0], 1.482602218505602, 1e-15);
    }
    drop(&d);

    /* [5,5,5,5,1,9,5]: median 5, |x - 5| = [0,0,0,0,4,4,0], MAD 0 (scipy: 0.0),
     * so scale = 1.2533141373155001 * mean|x - 5| = 1.2533141373155001 * 8/7
     * (numpy: 1.4323590140748572); x = 12 scores 7 / scale. */
    const double col[7] = {5, 5, 5, 5, 1, 9, 5};
    d = fit_new("mad", "", col, 7, 1);
    if (d.state) {
        CHECK_NEAR(fs(&d)->scale[0], 1.4323590140748572, 1e-15);
        CHECK_NEAR(score(&d, (double[]){12}), 4.887042934917551, 1e-14);
    }
    drop(&d);
}

static void test_iqr(void)
{
    check_against("iqr", "k=0", iqr_fs, iqr_comb);
    check_against("iqr", "", iqr_k15_fs, iqr_k15_comb); /* k = 1.5 by default */
    check_against("iqr", "k=1.5", iqr_k15_fs, iqr_k15_comb);

    /* Tukey's fences on [1,2,3,4,100]: Q1 2, Q3 4, IQR 2. With k = 1.5 the
     * fences are -1 and 7, with k = 3 they are -4 and 10: the score is 0 on
     * a fence and positive exactly outside it. */
    const double col[5] = {1, 2, 3, 4, 100};
    fitted d = fit_new("iqr", "", col, 5, 1);
    if (d.state) {
        CHECK(score(&d, (double[]){7}) == 0);
        CHECK(score(&d, (double[]){7.000001}) > 0);
        CHECK(score(&d, (double[]){6.999999}) < 0);
        CHECK(score(&d, (double[]){-1}) == 0);
        CHECK(score(&d, (double[]){3}) == -2); /* the middle of the box */
        CHECK(score(&d, (double[]){2.5}) == -1.75);
    }
    drop(&d);
    d = fit_new("iqr", "k=3", col, 5, 1);
    if (d.state) {
        CHECK(score(&d, (double[]){10}) == 0);
        CHECK(score(&d, (double[]){7}) == -1.5);
        CHECK(score(&d, (double[]){10.000001}) > 0);
        CHECK(score(&d, (double[]){-4}) == 0);
        CHECK(score(&d, (double[]){-4.000001}) > 0);
    }
    drop(&d);
}

/* numpy parity to the last bit for the helpers: data v[i] = 0.1 i +
 * ((7919 i) mod 1000) / 7, i < 1000, on which np.sum (pairwise) differs
 * from a left-to-right sum. */
static void test_numpy_exact(void)
{
    enum { N = 1000 };
    static double v[N], w[N];
    for (int i = 0; i < N; i++)
        v[i] = 0.1 * i + ((i * 7919) % 1000) / 7.0;
    CHECK(an_sum(v, N) == 121307.14285714284);  /* np.sum(v) */
    CHECK(an_mean(v, N) == 121.30714285714284); /* np.mean(v) */
    double naive = 0;
    for (int i = 0; i < N; i++)
        naive += v[i];
    CHECK(naive == 121307.14285714287); /* so the test can tell the two apart */

    /* zscore's centre and scale are numpy's mean and std exactly. */
    fitted d = fit_new("zscore", "", v, N, 1);
    if (d.state) {
        CHECK(fs(&d)->lower[0] == 121.30714285714284);
        CHECK(fs(&d)->scale[0] == 50.3293829260233); /* np.std(v) */
    }
    drop(&d);
    d = fit_new("zscore", "ddof=1", v, N, 1);
    if (d.state)
        CHECK(fs(&d)->scale[0] == 50.354566506746615); /* np.std(v, ddof=1) */
    drop(&d);

    /* np.percentile(v[:n], 25), (.., 75), np.median(v[:n]) */
    static const struct {
        size_t n;
        double q1, q3, median;
    } ref[] = {
        {1, 0.0, 0.0, 0.0},
        {2, 32.84642857142857, 98.53928571428571, 65.69285714285714},
        {3, 59.957142857142856, 125.64999999999999, 119.91428571428571},
        {4, 81.33214285714286, 122.78214285714284, 114.17857142857142},
        {5, 96.97142857142858, 119.91428571428571, 108.44285714285714},
        {6, 88.36785714285715, 117.04642857142856, 102.70714285714286},
        {7, 79.7642857142857, 114.17857142857142, 96.97142857142858},
        {999, 84.49285714285715, 158.2214285714286, 121.42857142857143},
        {1000, 84.525, 158.18214285714285, 121.35},
    };
    for (size_t k = 0; k < sizeof ref / sizeof *ref; k++) {
        memcpy(w, v, ref[k].n * sizeof *w);
        an_sort_doubles(w, ref[k].n);
        CHECK(an_quantile_sorted(w, ref[k].n, 0.25) == ref[k].q1);
        CHECK(an_quantile_sorted(w, ref[k].n, 0.75) == ref[k].q3);
        CHECK(an_median_sorted(w, ref[k].n) == ref[k].median);
        /* and through the iqr detector */
        fitted q = fit_new("iqr", "", v, ref[k].n, 1);
        if (q.state)
            CHECK(fs(&q)->lower[0] == ref[k].q1 && fs(&q)->upper[0] == ref[k].q3);
        drop(&q);
    }

    /* numpy's _lerp interpolates from b when t >= 0.5: on these values
     * np.percentile(w, 25) = 0.39682539682539686, while a + (b - a) * 0.75
     * gives 0.39682539682539675. np.percentile(w, 75) = 9.791666666666668,
     * np.median(w) = 3.107142857142857. */
    double col[4] = {5 / 7.0, 65 / 3.0 + 1, -5 / 9.0, 5.5};
    fitted q = fit_new("iqr", "", col, 4, 1);
    if (q.state)
        CHECK(fs(&q)->lower[0] == 0.39682539682539686 && fs(&q)->upper[0] == 9.791666666666668);
    drop(&q);
    an_sort_doubles(col, 4);
    CHECK(an_median_sorted(col, 4) == 3.107142857142857);
}

static void test_missing(void)
{
    /* Column 1 is entirely missing: a fit error naming column 1. */
    const double x[3][2] = {{1, NAN}, {2, NAN}, {3, NAN}};
    static const char *const names[] = {"zscore", "mad", "iqr"};
    for (int k = 0; k < 3; k++) {
        fitted d;
        CHECK_OK(make(names[k], "", &d));
        if (!d.state)
            continue;
        CHECK_STATUS(fit(&d, &x[0][0], 3, 2, 1), ANOMA_ERR_EMPTY);
        CHECK(strstr(anoma_last_error(), "column 1") != NULL);
        CHECK(strstr(anoma_last_error(), names[k]) != NULL);
        CHECK(d.vt->memory_bytes(d.state) > 0); /* still a valid, unfitted state */
        CHECK_STATUS(fit(&d, &x[0][0], 0, 2, 1), ANOMA_ERR_EMPTY); /* no rows */
        CHECK_STATUS(fit(&d, &x[0][0], 3, 0, 1), ANOMA_ERR_EMPTY); /* no columns */
        CHECK_OK(fit(&d, &x[0][0], 3, 1, 1)); /* column 0 alone: fine */
        drop(&d);
    }
}

static void test_zero_variance(void)
{
    /* A constant column: scale 1 for all three, so the score is the plain
     * distance (for iqr, from fences k = 1.5 units away from the box).
     * numpy.std([0.1, 0.1, 0.1]) is 1.3877787807814457e-17, not 0 (the mean
     * rounds to 0.10000000000000002); zscore treats it as constant. */
    const double col[3] = {0.1, 0.1, 0.1};
    static const char *const names[] = {"zscore", "mad", "iqr"};
    for (int k = 0; k < 3; k++) {
        fitted d = fit_new(names[k], "", col, 3, 1);
        if (!d.state)
            continue;
        CHECK(fs(&d)->lower[0] == 0.1 && fs(&d)->upper[0] == 0.1);
        CHECK(fs(&d)->scale[0] == 1);
        double fence = k == 2 ? 1.5 : 0;
        CHECK(score(&d, (double[]){0.1}) == 0 - fence);
        CHECK(score(&d, (double[]){2.1}) == 2.1 - 0.1 - fence);
        drop(&d);
    }
    /* One value with ddof=1: no spread to estimate, scale 1. */
    fitted d = fit_new("zscore", "ddof=1", (double[]){4}, 1, 1);
    if (d.state) {
        CHECK(fs(&d)->lower[0] == 4 && fs(&d)->scale[0] == 1);
        CHECK(score(&d, (double[]){1}) == 3);
    }
    drop(&d);
}

static void test_extremes(void)
{
    /* Statistics that overflow are a fit error, not an infinite scale:
     * numpy gives std inf and percentiles [inf, -inf] for [1e308, -1e308]. */
    const double huge[2] = {1e308, -1e308};
    fitted d;
    CHECK_OK(make("zscore", "", &d));
    if (d.state) {
        CHECK_STATUS(fit(&d, huge, 2, 1, 1), ANOMA_ERR_NONFINITE);
        CHECK(strstr(anoma_last_error(), "column 0") != NULL);
    }
    drop(&d);
    CHECK_OK(make("iqr", "", &d));
    if (d.state)
        CHECK_STATUS(fit(&d, huge, 2, 1, 1), ANOMA_ERR_NONFINITE);
    drop(&d);
    /* mad copes: median 0 (halves summed without overflow), MAD 1e308. */
    d = fit_new("mad", "", huge, 2, 1);
    if (d.state)
        CHECK(fs(&d)->lower[0] == 0);
    drop(&d);

    /* A tiny scale: np.std([0, 1e-150]) = 5e-151, so x = 1e200 would score
     * 2e350 = inf; scores saturate at DBL_MAX instead, in every combination. */
    const double tiny[2] = {0, 1e-150};
    for (int c = 0; c < 3; c++) {
        d = fit_new("zscore", combine_params[c], tiny, 2, 1);
        if (d.state) {
            CHECK(fs(&d)->scale[0] == 5e-151);
            CHECK(score(&d, (double[]){1e200}) == DBL_MAX);
            double out;
            d.vt->feature_scores_row(d.state, (double[]){1e200}, NULL, &out);
            CHECK(out == DBL_MAX);
        }
        drop(&d);
    }
}

static void test_threads(void)
{
    /* Fitting features on several threads gives the same state as one. */
    enum { ROWS = 20000, COLS = 9 };
    double *x = an_malloc_array(ROWS * COLS, sizeof(double));
    CHECK(x != NULL);
    if (!x)
        return;
    for (size_t i = 0; i < ROWS; i++)
        for (size_t j = 0; j < COLS; j++)
            x[i * COLS + j] = (i * 7919 + j * 104729) % 1013 == 0 ? NAN
                                                                  : (double)((i * (j + 3) * 31) % 997) / (j + 1);
    static const char *const names[] = {"zscore", "mad", "iqr"};
    for (int k = 0; k < 3; k++) {
        fitted one, many;
        CHECK_OK(make(names[k], "", &one));
        CHECK_OK(make(names[k], "", &many));
        if (one.state && many.state) {
            CHECK_OK(fit(&one, x, ROWS, COLS, 1));
            CHECK_OK(fit(&many, x, ROWS, COLS, 4));
            const an_fs_state *a = fs(&one), *b = fs(&many);
            CHECK(a->n_features == COLS && b->n_features == COLS);
            CHECK(!memcmp(a->lower, b->lower, COLS * sizeof(double)));
            CHECK(!memcmp(a->upper, b->upper, COLS * sizeof(double)));
            CHECK(!memcmp(a->scale, b->scale, COLS * sizeof(double)));
        }
        drop(&one);
        drop(&many);
    }
    an_free(x);
}

static void test_save_load(void)
{
    static const char *const names[] = {"zscore", "mad", "iqr"};
    for (int k = 0; k < 3; k++) {
        fitted d = fit_new(names[k], "combine=l2", &X[0][0], 6, 3);
        if (!d.state)
            continue;
        an_writer w = {0};
        CHECK_OK(d.vt->save(d.state, &w));

        /* Round trip: bit-identical scores. */
        fitted back;
        CHECK_OK(make(names[k], "combine=l2", &back));
        an_reader r = an_reader_make(w.data, w.len, names[k]);
        CHECK_OK(back.vt->load(back.state, &r, 3, 1));
        CHECK(r.pos == w.len);
        for (int i = 0; i < 5; i++) {
            double s1 = score(&d, Q[i]), s2 = score(&back, Q[i]);
            CHECK(!memcmp(&s1, &s2, sizeof s1));
            double f1[3], f2[3];
            d.vt->feature_scores_row(d.state, Q[i], NULL, f1);
            back.vt->feature_scores_row(back.state, Q[i], NULL, f2);
            CHECK(!memcmp(f1, f2, sizeof f1));
        }
        CHECK(back.vt->memory_bytes(back.state) == d.vt->memory_bytes(d.state));
        drop(&back);

        /* Every truncation fails cleanly and leaves the state unfitted. */
        for (size_t len = 0; len < w.len; len++) {
            fitted t;
            CHECK_OK(make(names[k], "", &t));
            an_reader rt = an_reader_make(w.data, len, names[k]);
            CHECK_STATUS(t.vt->load(t.state, &rt, 3, 1), ANOMA_ERR_FORMAT);
            CHECK(fs(&t)->n_features == 0);
            drop(&t);
        }
        /* A different width than the file holds. */
        fitted t;
        CHECK_OK(make(names[k], "", &t));
        an_reader rw = an_reader_make(w.data, w.len, names[k]);
        CHECK_STATUS(t.vt->load(t.state, &rw, 2, 1), ANOMA_ERR_FORMAT);
        rw = an_reader_make(w.data, w.len, names[k]);
        CHECK_STATUS(t.vt->load(t.state, &rw, 4, 1), ANOMA_ERR_FORMAT);

        /* Bad values: the last scale (the final 8 bytes) zero, negative,
         * NaN, infinite; a non-finite first centre. */
        const double bad[] = {0, -1, NAN, INFINITY};
        unsigned char *copy = an_malloc(w.len);
        CHECK(copy != NULL);
        for (size_t b = 0; copy && b < sizeof bad / sizeof *bad; b++) {
            memcpy(copy, w.data, w.len);
            an_writer patch = {0};
            an_put_f64(&patch, bad[b]);
            CHECK_OK(an_writer_status(&patch));
            memcpy(copy + w.len - 8, patch.data, 8);
            an_reader rb = an_reader_make(copy, w.len, names[k]);
            CHECK_STATUS(t.vt->load(t.state, &rb, 3, 1), ANOMA_ERR_FORMAT);
            memcpy(copy, w.data, w.len);
            memcpy(copy + 8, patch.data, 8); /* after the u64 count: lower[0] */
            if (b >= 2) {
                rb = an_reader_make(copy, w.len, names[k]);
                CHECK_STATUS(t.vt->load(t.state, &rb, 3, 1), ANOMA_ERR_FORMAT);
            }
            an_writer_free(&patch);
        }
        if (copy && d.vt == an_detector_find("iqr")) {
            /* Q1 above Q3 is not a box. */
            memcpy(copy, w.data, w.len);
            memcpy(copy + 8, w.data + 8 + 24, 8); /* Q1[0] := Q3[0] is fine */
            an_reader rb = an_reader_make(copy, w.len, "iqr");
            CHECK_OK(t.vt->load(t.state, &rb, 3, 1));
            an_writer patch = {0};
            an_put_f64(&patch, 1e9);
            memcpy(copy + 8, patch.data, 8); /* Q1[0] := 1e9 > Q3[0] */
            an_writer_free(&patch);
            rb = an_reader_make(copy, w.len, "iqr");
            CHECK_STATUS(t.vt->load(t.state, &rb, 3, 1), ANOMA_ERR_FORMAT);
        }
        an_free(copy);
        drop(&t);

        /* Saving an unfitted state is an error, not an empty payload. */
        CHECK_OK(make(names[k], "", &t));
        an_writer w2 = {0};
        CHECK_STATUS(t.vt->save(t.state, &w2), ANOMA_ERR_NOT_FITTED);
        an_writer_free(&w2);
        drop(&t);

        an_writer_free(&w);
        drop(&d);
    }
}

static void test_params(void)
{
    static const struct {
        const char *name, *text;
        anoma_status expect;
    } cases[] = {
        {"zscore", "ddof=1 combine=mean", ANOMA_OK},
        {"zscore", "ddof=2", ANOMA_ERR_PARAM_VALUE},
        {"zscore", "ddof=-1", ANOMA_ERR_PARAM_VALUE},
        {"zscore", "ddof=0.5", ANOMA_ERR_PARAM_VALUE},
        {"zscore", "combine=median", ANOMA_ERR_PARAM_VALUE},
        {"zscore", "k=1.5", ANOMA_ERR_UNKNOWN_PARAM},
        {"mad", "combine=l2", ANOMA_OK},
        {"mad", "ddof=1", ANOMA_ERR_UNKNOWN_PARAM},
        {"mad", "combine=", ANOMA_ERR_PARAM_VALUE},
        {"iqr", "k=3 combine=max", ANOMA_OK},
        {"iqr", "k=0", ANOMA_OK},
        {"iqr", "k=-1", ANOMA_ERR_PARAM_VALUE},
        {"iqr", "k=101", ANOMA_ERR_PARAM_VALUE},
        {"iqr", "k=nan", ANOMA_ERR_PARAM_VALUE},
        {"iqr", "k=abc", ANOMA_ERR_PARAM_VALUE},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const an_detector_vtable *vt = an_detector_find(cases[i].name);
        an_params p;
        CHECK_OK(an_params_init(&p, vt->name, vt->params, vt->n_params));
        anoma_status st = an_params_parse(&p, cases[i].text);
        if (st != cases[i].expect)
            test_fail(__FILE__, __LINE__, "%s '%s' -> %s", cases[i].name, cases[i].text,
                      anoma_status_str(st));
        an_params_free(&p);
    }
    /* Messages name the key and the range. */
    const an_detector_vtable *vt = an_detector_find("zscore");
    an_params p;
    CHECK_OK(an_params_init(&p, vt->name, vt->params, vt->n_params));
    CHECK_STATUS(an_params_parse(&p, "ddof=2"), ANOMA_ERR_PARAM_VALUE);
    CHECK(strstr(anoma_last_error(), "ddof") && strstr(anoma_last_error(), "[0, 1]"));
    CHECK_STATUS(an_params_parse(&p, "combine=sum"), ANOMA_ERR_PARAM_VALUE);
    CHECK(strstr(anoma_last_error(), "max|mean|l2") != NULL);
    an_params_free(&p);
}

static void test_describe(void)
{
    /* 12 features: the first 10 are listed, then a count of the rest. */
    enum { ROWS = 4, COLS = 12 };
    double x[ROWS * COLS];
    for (int i = 0; i < ROWS * COLS; i++)
        x[i] = i % 7;
    static const char *const names[] = {"zscore", "mad", "iqr"};
    static const char *const first[] = {"feature 0: mean=", "feature 0: median=",
                                        "feature 0: Q1="};
    for (int k = 0; k < 3; k++) {
        fitted d;
        CHECK_OK(make(names[k], k == 2 ? "k=2.5" : "", &d));
        if (!d.state)
            continue;
        an_strbuf sb = {0};
        d.vt->describe(d.state, &sb);
        CHECK(sb.data && strstr(sb.data, "not fitted"));
        an_strbuf_free(&sb);
        size_t unfitted = d.vt->memory_bytes(d.state);
        CHECK_OK(fit(&d, x, ROWS, COLS, 1));
        CHECK(d.vt->memory_bytes(d.state) == unfitted + (k == 2 ? 3 : 2) * COLS * sizeof(double));
        d.vt->describe(d.state, &sb);
        CHECK(!sb.failed && sb.data);
        if (sb.data) {
            CHECK(strstr(sb.data, "12 features") != NULL);
            CHECK(strstr(sb.data, first[k]) != NULL);
            CHECK(strstr(sb.data, "feature 9:") != NULL);
            CHECK(strstr(sb.data, "feature 10:") == NULL);
            CHECK(strstr(sb.data, "2 more features") != NULL);
            if (k == 2)
                CHECK(strstr(sb.data, "Q3 + 2.5 IQR") != NULL);
            CHECK(sb.data[sb.len - 1] == '\n');
        }
        an_strbuf_free(&sb);
        drop(&d);
    }
}

/* Create, fit, save, load with every allocation failing in turn: each step
 * succeeds or reports ANOMA_ERR_NO_MEMORY, and nothing leaks. */
static anoma_status create_fit_save_load(const char *name)
{
    fitted d, back = {0};
    anoma_status st = make(name, "", &d);
    if (st != ANOMA_OK)
        return st;
    an_writer w = {0};
    st = fit(&d, &X[0][0], 6, 3, 1);
    if (st == ANOMA_OK)
        st = d.vt->save(d.state, &w);
    if (st == ANOMA_OK)
        st = make(name, "", &back);
    if (st == ANOMA_OK) {
        an_reader r = an_reader_make(w.data, w.len, name);
        st = back.vt->load(back.state, &r, 3, 1);
    }
    if (st == ANOMA_OK)
        CHECK(score(&d, Q[0]) == score(&back, Q[0]));
    an_writer_free(&w);
    drop(&back);
    drop(&d);
    return st;
}

static void test_out_of_memory(void)
{
    static const char *const names[] = {"zscore", "mad", "iqr"};
    for (int k = 0; k < 3; k++) {
        int completed = 0;
        for (long budget = 0; budget < 100 && !completed; budget++) {
            test_alloc_install(budget);
            anoma_status st = create_fit_save_load(names[k]);
            CHECK(test_alloc_live() == 0);
            test_alloc_restore();
            if (st == ANOMA_OK)
                completed = 1;
            else if (st != ANOMA_ERR_NO_MEMORY)
                test_fail(__FILE__, __LINE__, "%s, budget %ld: %s", names[k], budget,
                          anoma_status_str(st));
        }
        CHECK(completed);
    }
}

int main(void)
{
    RUN(test_registry);
    RUN(test_zscore);
    RUN(test_mad);
    RUN(test_iqr);
    RUN(test_numpy_exact);
    RUN(test_missing);
    RUN(test_zero_variance);
    RUN(test_extremes);
    RUN(test_threads);
    RUN(test_save_load);
    RUN(test_params);
    RUN(test_describe);
    RUN(test_out_of_memory);
    return test_summary();
}
