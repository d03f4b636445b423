/* Metrics: closed-form cases, brute-force references, bad input, and
 * scikit-learn values on a real dataset. */
#include "testing.h"

#include <stdlib.h>
#include <string.h>

#define N_OF(a) (sizeof(a) / sizeof *(a))

static double roc(const double *s, const int *y, size_t n)
{
    double v = -1;
    CHECK_OK(anoma_roc_auc(s, y, n, &v));
    return v;
}

static double ap(const double *s, const int *y, size_t n)
{
    double v = -1;
    CHECK_OK(anoma_average_precision(s, y, n, &v));
    return v;
}

static void test_perfect_and_reversed(void)
{
    double s[] = {4, 3, 2, 1};
    int good[] = {1, 1, 0, 0};
    int bad[] = {0, 0, 1, 1};
    CHECK(roc(s, good, 4) == 1.0);
    CHECK(ap(s, good, 4) == 1.0);
    CHECK(roc(s, bad, 4) == 0.0);
    /* Recall rises at scores 2 (precision 1/3) and 1 (precision 2/4):
     * AP = 1/2 * 1/3 + 1/2 * 1/2 = 5/12. */
    CHECK_NEAR(ap(s, bad, 4), 5.0 / 12, 1e-15);
}

static void test_all_tied(void)
{
    /* One point (1, 1): the diagonal; precision is the prevalence. */
    double s[] = {0.5, 0.5, 0.5, 0.5, 0.5};
    int y[] = {1, 0, 0, 1, 0};
    CHECK_NEAR(roc(s, y, 5), 0.5, 1e-15);
    CHECK_NEAR(ap(s, y, 5), 2.0 / 5, 1e-15);
}

static void test_ties(void)
{
    /* Anomalies score 0.9, 0.8, 0.7; normal rows 0.8, 0.5, 0.5.
     * Mann-Whitney over the 9 pairs: 0.9 beats all 3; 0.8 ties 0.8 (1/2)
     * and beats both 0.5 (2); 0.7 loses to 0.8 and beats both 0.5 (2):
     * 7.5 / 9 = 5/6.
     * AP over distinct scores: 0.9 (P 1, R 1/3), 0.8 (P 2/3, R 2/3),
     * 0.7 (P 3/4, R 1), 0.5 (R unchanged):
     * 1/3 * (1 + 2/3 + 3/4) = 29/36. scikit-learn 1.2.1 gives the same. */
    double s[] = {0.9, 0.8, 0.8, 0.7, 0.5, 0.5};
    int y[] = {1, 0, 1, 1, 0, 0};
    CHECK_NEAR(roc(s, y, 6), 5.0 / 6, 1e-15);
    CHECK_NEAR(ap(s, y, 6), 29.0 / 36, 1e-15);

    /* The order of tied rows does not matter. */
    double s2[] = {0.8, 0.5, 0.9, 0.5, 0.8, 0.7};
    int y2[] = {1, 0, 1, 0, 0, 1};
    CHECK_NEAR(roc(s2, y2, 6), 5.0 / 6, 1e-15);
    CHECK_NEAR(ap(s2, y2, 6), 29.0 / 36, 1e-15);

    /* scikit-learn's documented example: ROC 0.75, AP 5/6. */
    double s3[] = {0.1, 0.4, 0.35, 0.8};
    int y3[] = {0, 0, 1, 1};
    CHECK_NEAR(roc(s3, y3, 4), 0.75, 1e-15);
    CHECK_NEAR(ap(s3, y3, 4), 5.0 / 6, 1e-15);

    /* -0.0 ties with 0.0. Pairs: 1.0 beats both normals (2); 0.0 ties
     * -0.0 and 0.0 (1/2 + 1/2): 3/4. AP: 1.0 (P 1, R 1/2), 0 (P 2/4, R 1). */
    double s4[] = {0.0, -0.0, 1.0, 0.0};
    int y4[] = {1, 0, 1, 0};
    CHECK_NEAR(roc(s4, y4, 4), 0.75, 1e-15);
    CHECK_NEAR(ap(s4, y4, 4), 0.75, 1e-15);
}

/* A small deterministic generator for the brute-force comparisons. */
static unsigned long long lcg = 12345;
static unsigned next_rand(void)
{
    lcg = lcg * 6364136223846793005ull + 1442695040888963407ull;
    return (unsigned)(lcg >> 33);
}

static void test_against_brute_force(void)
{
    enum { N = 150 };
    double s[N];
    int y[N];
    for (int round = 0; round < 20; round++) {
        int levels = 1 + round * 3; /* few levels: many ties */
        int pos = 0;
        for (int i = 0; i < N; i++) {
            s[i] = (double)(next_rand() % (unsigned)levels) / 4.0 - 2.0;
            y[i] = next_rand() % 5 == 0;
            pos += y[i];
        }
        if (pos == 0 || pos == N)
            continue;
        /* ROC AUC: the share of (anomaly, normal) pairs ranked right. */
        double wins = 0;
        for (int i = 0; i < N; i++)
            for (int j = 0; j < N; j++)
                if (y[i] == 1 && y[j] == 0)
                    wins += s[i] > s[j] ? 1.0 : s[i] == s[j] ? 0.5 : 0.0;
        CHECK_NEAR(roc(s, y, N), wins / ((double)pos * (N - pos)), 1e-13);

        /* AP: for every distinct score t from high to low, count score >= t. */
        double expect = 0, prev_recall = 0, prev_t = INFINITY;
        for (;;) {
            double t = -INFINITY;
            for (int i = 0; i < N; i++)
                if (s[i] < prev_t && s[i] > t)
                    t = s[i];
            if (t == -INFINITY)
                break;
            int tp = 0, flagged = 0;
            for (int i = 0; i < N; i++)
                if (s[i] >= t) {
                    flagged++;
                    tp += y[i];
                }
            double recall = (double)tp / pos;
            expect += (recall - prev_recall) * tp / flagged;
            prev_recall = recall;
            prev_t = t;
        }
        CHECK_NEAR(ap(s, y, N), expect, 1e-13);
    }
}

static void test_confusion(void)
{
    double s[] = {0.1, 0.4, 0.35, 0.8};
    int y[] = {0, 0, 1, 1};
    anoma_confusion c;
    /* > 0.35 flags 0.4 (normal) and 0.8 (anomaly). */
    CHECK_OK(anoma_confusion_at(s, y, 4, 0.35, &c));
    CHECK(c.tp == 1 && c.fp == 1 && c.tn == 1 && c.fn == 1);
    CHECK(c.precision == 0.5 && c.recall == 0.5 && c.f1 == 0.5 && c.accuracy == 0.5);
    /* > 0.3 flags three rows: tp 2, fp 1. F1 = 4 / 5. */
    CHECK_OK(anoma_confusion_at(s, y, 4, 0.3, &c));
    CHECK(c.tp == 2 && c.fp == 1 && c.tn == 1 && c.fn == 0);
    CHECK_NEAR(c.precision, 2.0 / 3, 1e-15);
    CHECK(c.recall == 1.0);
    CHECK_NEAR(c.f1, 0.8, 1e-15);
    CHECK(c.accuracy == 0.75);
    /* Nothing flagged: precision and F1 are 0, not NaN. */
    CHECK_OK(anoma_confusion_at(s, y, 4, INFINITY, &c));
    CHECK(c.tp == 0 && c.fp == 0 && c.tn == 2 && c.fn == 2);
    CHECK(c.precision == 0 && c.recall == 0 && c.f1 == 0 && c.accuracy == 0.5);
    /* Everything flagged. */
    CHECK_OK(anoma_confusion_at(s, y, 4, -INFINITY, &c));
    CHECK(c.tp == 2 && c.fp == 2 && c.precision == 0.5 && c.recall == 1);
    /* No anomaly and nothing flagged: every rate but accuracy is 0/0 -> 0. */
    int normal[] = {0, 0, 0, 0};
    CHECK_OK(anoma_confusion_at(s, normal, 4, 1.0, &c));
    CHECK(c.tn == 4 && c.precision == 0 && c.recall == 0 && c.f1 == 0 && c.accuracy == 1);
    CHECK_STATUS(anoma_confusion_at(s, y, 4, NAN, &c), ANOMA_ERR_INVALID_ARGUMENT);
}

static void test_best_f1_cases(void)
{
    double t, f;
    /* Cuts of {0.8 | 0.4 | 0.35 | 0.1}: F1 2/3, 1/2, 4/5, 2/3: the third,
     * leaving 0.1 unflagged. */
    double s[] = {0.1, 0.4, 0.35, 0.8};
    int y[] = {0, 0, 1, 1};
    CHECK_OK(anoma_best_f1(s, y, 4, &t, &f));
    CHECK(t == 0.1);
    CHECK_NEAR(f, 0.8, 1e-15);

    /* F1 2/3 when flagging {4} and when flagging all: the higher cut wins. */
    double s2[] = {4, 3, 2, 1};
    int y2[] = {1, 0, 0, 1};
    CHECK_OK(anoma_best_f1(s2, y2, 4, &t, &f));
    CHECK(t == 3);
    CHECK_NEAR(f, 2.0 / 3, 1e-15);

    /* Only anomalies: flag everything, threshold just below the minimum. */
    int all[] = {1, 1, 1, 1};
    CHECK_OK(anoma_best_f1(s2, all, 4, &t, NULL));
    CHECK(t < 1 && t == nextafter(1.0, 0.0));
}

/* Best F1 by trying every cut: flag score > c for c in the distinct
 * scores, or below them all. */
static void brute_best_f1(const double *s, const int *y, int n, double *best_t, double *best_f)
{
    double lowest = s[0];
    for (int i = 1; i < n; i++)
        lowest = s[i] < lowest ? s[i] : lowest;
    *best_f = -1;
    *best_t = 0;
    for (int k = -1; k < n; k++) {
        double cut = k < 0 ? nextafter(lowest, -INFINITY) : s[k];
        int tp = 0, fp = 0, fn = 0;
        for (int i = 0; i < n; i++) {
            int flag = s[i] > cut;
            tp += flag && y[i];
            fp += flag && !y[i];
            fn += !flag && y[i];
        }
        double f = 2.0 * tp / (2 * tp + fp + fn);
        if (f > *best_f || (f == *best_f && cut > *best_t)) {
            *best_f = f;
            *best_t = cut;
        }
    }
}

static void test_best_f1_brute_force(void)
{
    enum { N = 60 };
    double s[N];
    int y[N];
    for (int round = 0; round < 40; round++) {
        int pos = 0;
        for (int i = 0; i < N; i++) {
            s[i] = (double)(next_rand() % (unsigned)(2 + round));
            y[i] = next_rand() % 3 == 0;
            pos += y[i];
        }
        if (pos == 0)
            continue;
        double t, f, bt, bf;
        CHECK_OK(anoma_best_f1(s, y, N, &t, &f));
        brute_best_f1(s, y, N, &bt, &bf);
        CHECK(t == bt);
        CHECK(f == bf);
        anoma_confusion c;
        CHECK_OK(anoma_confusion_at(s, y, N, t, &c));
        CHECK(c.f1 == f);
    }
}

static void test_bad_input(void)
{
    double s[] = {0.3, NAN, 0.1};
    double ok[] = {0.3, 0.2, 0.1};
    double inf[] = {0.3, 0.2, -INFINITY};
    int y[] = {1, 0, 0};
    int y2[] = {1, 0, 2};
    int zeros[] = {0, 0, 0};
    int ones[] = {1, 1, 1};
    double v, t;
    anoma_confusion c;

    CHECK_STATUS(anoma_roc_auc(ok, y, 0, &v), ANOMA_ERR_EMPTY);
    CHECK_STATUS(anoma_average_precision(NULL, NULL, 0, &v), ANOMA_ERR_EMPTY);
    CHECK_STATUS(anoma_confusion_at(ok, y, 0, 0.5, &c), ANOMA_ERR_EMPTY);
    CHECK_STATUS(anoma_best_f1(ok, y, 0, &t, NULL), ANOMA_ERR_EMPTY);

    CHECK_STATUS(anoma_roc_auc(NULL, y, 3, &v), ANOMA_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(anoma_roc_auc(ok, NULL, 3, &v), ANOMA_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(anoma_roc_auc(ok, y, 3, NULL), ANOMA_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(anoma_best_f1(ok, y, 3, NULL, &v), ANOMA_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(anoma_confusion_at(ok, y, 3, 0.5, NULL), ANOMA_ERR_INVALID_ARGUMENT);

    CHECK_STATUS(anoma_roc_auc(s, y, 3, &v), ANOMA_ERR_NONFINITE);
    CHECK(strstr(anoma_last_error(), "scores[1]") != NULL);
    CHECK_STATUS(anoma_average_precision(inf, y, 3, &v), ANOMA_ERR_NONFINITE);
    CHECK(strstr(anoma_last_error(), "scores[2]") != NULL);
    CHECK_STATUS(anoma_confusion_at(s, y, 3, 0.5, &c), ANOMA_ERR_NONFINITE);
    CHECK_STATUS(anoma_best_f1(s, y, 3, &t, NULL), ANOMA_ERR_NONFINITE);

    CHECK_STATUS(anoma_roc_auc(ok, y2, 3, &v), ANOMA_ERR_INVALID_ARGUMENT);
    CHECK(strstr(anoma_last_error(), "labels[2] = 2") != NULL);
    CHECK_STATUS(anoma_average_precision(ok, y2, 3, &v), ANOMA_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(anoma_confusion_at(ok, y2, 3, 0.5, &c), ANOMA_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(anoma_best_f1(ok, y2, 3, &t, NULL), ANOMA_ERR_INVALID_ARGUMENT);

    /* One class: ROC is undefined either way; AP and best F1 need an anomaly. */
    CHECK_STATUS(anoma_roc_auc(ok, zeros, 3, &v), ANOMA_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(anoma_roc_auc(ok, ones, 3, &v), ANOMA_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(anoma_average_precision(ok, zeros, 3, &v), ANOMA_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(anoma_best_f1(ok, zeros, 3, &t, NULL), ANOMA_ERR_INVALID_ARGUMENT);
    CHECK(ap(ok, ones, 3) == 1.0); /* as scikit-learn */
}

/* scikit-learn 1.2.1 roc_auc_score / average_precision_score of three
 * cardio features (with many ties: 48, 600 and 155 distinct values). */
static void test_cardio_against_sklearn(void)
{
    char path[1024];
    if (!test_data_path("cardio.csv", path, sizeof path)) {
        test_skip("shared data folder not found");
        return;
    }
    static const struct {
        const char *column;
        double roc, ap;
    } expect[] = {
        {"f0", 0.4846436418566328, 0.10731090253881956},
        {"f2", 0.5766976792090085, 0.12486897025238178},
        {"f6", 0.7551617000823949, 0.5404886335525837},
    };
    anoma_frame *f = NULL;
    CHECK_OK(anoma_csv_read(path, "label=label", &f));
    if (!f)
        return;
    size_t n = anoma_frame_rows(f), li;
    const void *lv;
    CHECK_OK(anoma_frame_find_column(f, "label", &li));
    CHECK_OK(anoma_frame_column(f, li, NULL, &lv));
    int *labels = malloc(n * sizeof *labels);
    for (size_t i = 0; i < n; i++)
        labels[i] = (int)((const int64_t *)lv)[i];
    for (size_t k = 0; k < N_OF(expect); k++) {
        size_t ci;
        const void *cv;
        CHECK_OK(anoma_frame_find_column(f, expect[k].column, &ci));
        CHECK_OK(anoma_frame_column(f, ci, NULL, &cv));
        CHECK_NEAR(roc(cv, labels, n), expect[k].roc, 1e-12);
        CHECK_NEAR(ap(cv, labels, n), expect[k].ap, 1e-12);
    }
    free(labels);
    anoma_frame_free(f);
}

static void test_out_of_memory(void)
{
    double s[] = {0.9, 0.8, 0.8, 0.7, 0.5, 0.5};
    int y[] = {1, 0, 1, 1, 0, 0};
    int done = 0;
    for (long k = 0; k < 30 && !done; k++) {
        double v, t;
        test_alloc_install(k);
        anoma_status st = anoma_roc_auc(s, y, 6, &v);
        CHECK(st == ANOMA_OK || st == ANOMA_ERR_NO_MEMORY);
        anoma_status st2 = anoma_average_precision(s, y, 6, &v);
        CHECK(st2 == ANOMA_OK || st2 == ANOMA_ERR_NO_MEMORY);
        anoma_status st3 = anoma_best_f1(s, y, 6, &t, &v);
        CHECK(st3 == ANOMA_OK || st3 == ANOMA_ERR_NO_MEMORY);
        anoma_curve_point p[6];
        size_t n_points;
        anoma_status st4 = anoma_curve_points(s, y, 6, 0.0, p, 6, &n_points);
        CHECK(st4 == ANOMA_OK || st4 == ANOMA_ERR_NO_MEMORY);
        CHECK(test_alloc_live() == 0);
        test_alloc_restore();
        done = st == ANOMA_OK && st2 == ANOMA_OK && st3 == ANOMA_OK && st4 == ANOMA_OK;
    }
    CHECK(done);
}

static void test_curve_points_hand_computed(void)
{
    /* Distinct scores 0.9, 0.8 (an anomaly and a normal row tied), 0.7, 0.5
     * (two normal rows): counts of rows scoring >= each, by hand. */
    double s[] = {0.9, 0.8, 0.8, 0.7, 0.5, 0.5};
    int y[] = {1, 0, 1, 1, 0, 0};
    anoma_curve_point p[8];
    size_t n = 99;
    CHECK_OK(anoma_curve_points(s, y, 6, 0.0, NULL, 0, &n)); /* size only */
    CHECK(n == 4);
    CHECK_OK(anoma_curve_points(s, y, 6, 0.0, p, 8, &n));
    CHECK(n == 4);
    const double thr[] = {0.9, 0.8, 0.7, 0.5};
    const size_t tp[] = {1, 2, 3, 3}, fp[] = {0, 1, 1, 3};
    for (size_t k = 0; k < 4; k++)
        CHECK(p[k].threshold == thr[k] && p[k].tp == tp[k] && p[k].fp == fp[k]);
    /* cap 2: the first two written, the size still told */
    anoma_curve_point q[3] = {{-1, 7, 7}, {-1, 7, 7}, {-1, 7, 7}};
    CHECK_OK(anoma_curve_points(s, y, 6, 0.0, q, 2, &n));
    CHECK(n == 4 && q[1].tp == 2 && q[2].tp == 7);
    /* tolerance 1: only the first and the last point */
    CHECK_OK(anoma_curve_points(s, y, 6, 1.0, p, 8, &n));
    CHECK(n == 2 && p[0].threshold == 0.9 && p[1].threshold == 0.5 && p[1].fp == 3);
    /* tolerance 0.4: from (tpr 1/3, fpr 0, precision 1), 0.8 moves
     * precision by 1/3 only and tpr by 1/3: dropped; 0.7 moves tpr by 2/3:
     * kept; 0.5 is the last */
    CHECK_OK(anoma_curve_points(s, y, 6, 0.4, p, 8, &n));
    CHECK(n == 3 && p[1].threshold == 0.7);
}

/* Every point of the full curve within `tol` of the last kept point at or
 * before it, in tpr, fpr and precision; the kept points a subsequence. */
static void check_thinning_bound(const anoma_curve_point *full, size_t n_full,
                                 const anoma_curve_point *kept, size_t n_kept, size_t pos,
                                 size_t neg, double tol)
{
    CHECK(n_kept >= 1 && n_kept <= n_full);
    CHECK(kept[0].threshold == full[0].threshold);
    CHECK(kept[n_kept - 1].threshold == full[n_full - 1].threshold);
    size_t k = 0;
    for (size_t i = 0; i < n_full; i++) {
        while (k + 1 < n_kept && kept[k + 1].threshold >= full[i].threshold)
            k++;
        const anoma_curve_point *a = &kept[k], *b = &full[i];
        CHECK(fabs((double)a->tp / pos - (double)b->tp / pos) <= tol);
        CHECK(fabs((double)a->fp / neg - (double)b->fp / neg) <= tol);
        CHECK(fabs((double)a->tp / (a->tp + a->fp) - (double)b->tp / (b->tp + b->fp)) <= tol);
    }
}

static void test_curve_points_thinned(void)
{
    enum { N = 20000 };
    double *s = malloc(N * sizeof *s);
    int *y = malloc(N * sizeof *y);
    anoma_curve_point *full = malloc(N * sizeof *full), *kept = malloc(N * sizeof *kept);
    size_t pos = 0;
    for (int i = 0; i < N; i++) {
        y[i] = next_rand() % 10 == 0;
        s[i] = (double)(next_rand() % 5000) / 100.0 + 8.0 * y[i]; /* ties, overlap */
        pos += (size_t)y[i];
    }
    size_t n_full, n_kept;
    CHECK_OK(anoma_curve_points(s, y, N, 0.0, full, N, &n_full));
    /* the full curve ends flagging every row, and its points sum to the AUC */
    CHECK(full[n_full - 1].tp == pos && full[n_full - 1].fp == N - pos);
    double area2 = 0;
    for (size_t k = 0; k < n_full; k++)
        area2 += (double)(full[k].fp - (k ? full[k - 1].fp : 0)) *
                 (double)(full[k].tp + (k ? full[k - 1].tp : 0));
    CHECK_NEAR(area2 / (2.0 * pos * (N - pos)), roc(s, y, N), 1e-12);
    const double tols[] = {0.001, 0.01, 0.1};
    for (size_t t = 0; t < N_OF(tols); t++) {
        CHECK_OK(anoma_curve_points(s, y, N, tols[t], kept, N, &n_kept));
        CHECK(n_kept < n_full);
        check_thinning_bound(full, n_full, kept, n_kept, pos, N - pos, tols[t]);
    }
    free(s);
    free(y);
    free(full);
    free(kept);
}

static void test_curve_points_bad_input(void)
{
    double s[] = {1, 2, 3}, nan_s[] = {1, NAN, 3};
    int y[] = {0, 1, 0}, y2[] = {0, 2, 0};
    anoma_curve_point p[3];
    size_t n = 42;
    CHECK_STATUS(anoma_curve_points(s, y, 0, 0, p, 3, &n), ANOMA_ERR_EMPTY);
    CHECK_STATUS(anoma_curve_points(s, y2, 3, 0, p, 3, &n), ANOMA_ERR_INVALID_ARGUMENT);
    CHECK(strstr(anoma_last_error(), "labels[1] = 2") != NULL);
    CHECK_STATUS(anoma_curve_points(nan_s, y, 3, 0, p, 3, &n), ANOMA_ERR_NONFINITE);
    CHECK_STATUS(anoma_curve_points(s, y, 3, 0, NULL, 3, &n), ANOMA_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(anoma_curve_points(s, y, 3, 0, p, 3, NULL), ANOMA_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(anoma_curve_points(s, y, 3, -0.1, p, 3, &n), ANOMA_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(anoma_curve_points(s, y, 3, NAN, p, 3, &n), ANOMA_ERR_INVALID_ARGUMENT);
    CHECK(strstr(anoma_last_error(), "tolerance") != NULL);
    CHECK(n == 42); /* nothing written on error */
    /* one class only is a curve too (its other rate is 0) */
    int zeros[] = {0, 0, 0};
    CHECK_OK(anoma_curve_points(s, zeros, 3, 0, p, 3, &n));
    CHECK(n == 3 && p[2].fp == 3 && p[2].tp == 0);
}

int main(void)
{
    RUN(test_perfect_and_reversed);
    RUN(test_all_tied);
    RUN(test_ties);
    RUN(test_against_brute_force);
    RUN(test_confusion);
    RUN(test_best_f1_cases);
    RUN(test_best_f1_brute_force);
    RUN(test_bad_input);
    RUN(test_cardio_against_sklearn);
    RUN(test_out_of_memory);
    RUN(test_curve_points_hand_computed);
    RUN(test_curve_points_thinned);
    RUN(test_curve_points_bad_input);
    return test_summary();
}
