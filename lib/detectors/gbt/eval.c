/* Evaluation metrics for early stopping, as XGBoost 1.7 defines them
 * (src/metric/elementwise_metric.cu, src/metric/auc.cc), weighted by the
 * evaluation rows' weights (all 1 without):
 *
 *   logloss  sum w (-y log p - (1 - y) log(1 - p)) / sum w, with p kept
 *            within [1e-16, 1 - 1e-16]
 *   rmse     sqrt(sum w (score - y)^2 / sum w)
 *   auc      the area under the ROC curve: rows sorted by score, tied
 *            scores one step, trapezoids, divided by (sum w of positives)
 *            (sum w of negatives): scikit-learn's roc_auc_score
 *   aucpr    the area under the precision-recall curve with the
 *            interpolation of Davis and Goadrich (2006) between the points
 *            of distinct scores, as XGBoost's BinaryPRAUC: between two
 *            points (tp_a, fp_a) and (tp_b, fp_b) precision follows the
 *            line of constant fp per tp, h = (fp_b - fp_a) / (tp_b - tp_a),
 *            and the area of that piece is
 *              (r_b - r_a - b/a (log(a r_b + b) - log(a r_a + b))) / a
 *            with recall r = tp / P, a = 1 + h, b = (fp_a - h tp_a) / P
 *            (b = 0: (r_b - r_a) / a). It is not average precision, which
 *            steps instead of interpolating.
 *
 * The scores are those the detector gives (probabilities for
 * binary:logistic), in double. */
#include "detectors/gbt/gbt.h"
#include "core/error.h"

#include <stdlib.h>
#include <string.h>

const char *const an_gbt_metric_names[AN_GBT_N_METRICS] = {"auto", "logloss", "auc", "aucpr",
                                                           "rmse"};

an_gbt_metric an_gbt_metric_named(const char *name)
{
    for (int m = 0; m < AN_GBT_N_METRICS; m++)
        if (!strcmp(name, an_gbt_metric_names[m]))
            return (an_gbt_metric)m;
    return AN_GBT_N_METRICS;
}

anoma_status an_gbt_metrics_parse(const char *text, an_gbt_objective objective,
                                  an_gbt_metric *metrics, size_t *n)
{
    *n = 0;
    for (const char *p = text;; p++) {
        size_t len = strcspn(p, ",");
        char name[16] = "";
        an_gbt_metric m = AN_GBT_N_METRICS;
        if (len < sizeof name) {
            memcpy(name, p, len);
            name[len] = 0;
            m = an_gbt_metric_named(name);
        }
        if (m == AN_GBT_N_METRICS)
            return an_error(ANOMA_ERR_PARAM_VALUE, "gbt: eval_metric=%s: '%.*s' is not a metric "
                            "(expected a comma-separated list of auto, logloss, auc, aucpr, rmse)",
                            text, (int)(len < 64 ? len : 64), p);
        if (m == AN_GBT_METRIC_AUTO) /* the objective's own */
            m = objective == AN_GBT_LOGISTIC ? AN_GBT_LOGLOSS : AN_GBT_RMSE;
        for (size_t k = 0; k < *n; k++)
            if (metrics[k] == m)
                return an_error(ANOMA_ERR_PARAM_VALUE, "gbt: eval_metric=%s names %s twice",
                                text, an_gbt_metric_names[m]);
        metrics[(*n)++] = m;
        p += len;
        if (!*p)
            return ANOMA_OK;
    }
}

int an_gbt_metric_maximized(an_gbt_metric metric)
{
    return metric == AN_GBT_AUC || metric == AN_GBT_AUCPR;
}

static double weight(const an_gbt_eval *e, size_t i)
{
    return e->weights ? e->weights[i] : 1.0;
}

static double logloss(const an_gbt_eval *e, const double *score)
{
    double sum = 0, total = 0;
    for (size_t i = 0; i < e->rows; i++) {
        double p = score[i], eps = 1e-16, w = weight(e, i);
        p = p < eps ? eps : p > 1 - eps ? 1 - eps : p;
        sum += w * (e->labels[i] ? -log(p) : -log(1 - p));
        total += w;
    }
    return sum / total;
}

static double rmse(const an_gbt_eval *e, const double *score)
{
    double sum = 0, total = 0;
    for (size_t i = 0; i < e->rows; i++) {
        double d = score[i] - e->labels[i], w = weight(e, i);
        sum += w * d * d;
        total += w;
    }
    return sqrt(sum / total);
}

static int by_score_descending(const void *a, const void *b)
{
    const an_gbt_ranked *x = a, *y = b;
    if (x->score != y->score)
        return x->score > y->score ? -1 : 1;
    return (x->row > y->row) - (x->row < y->row); /* ties in row order: one result */
}

static double trapezoid(double fp_prev, double fp, double tp_prev, double tp, double positives)
{
    (void)positives;
    return (fp - fp_prev) * (tp + tp_prev) / 2;
}

static double pr_piece(double fp_prev, double fp, double tp_prev, double tp, double positives)
{
    double r_prev = tp_prev / positives, r = tp / positives, a = 1, b = 0;
    if (tp != tp_prev) {
        double h = (fp - fp_prev) / (tp - tp_prev);
        a = 1 + h;
        b = (fp_prev - h * tp_prev) / positives;
    }
    if (b != 0)
        return (r - r_prev - b / a * (log(a * r + b) - log(a * r_prev + b))) / a;
    return (r - r_prev) / a;
}

/* Walk the rows from the highest score down, one point per distinct
 * score, adding piece(previous point, this point) for each. */
static double area(const an_gbt_eval *e, const double *score, an_gbt_ranked *order,
                   double (*piece)(double, double, double, double, double), int roc)
{
    double positives = 0, negatives = 0;
    for (size_t i = 0; i < e->rows; i++) {
        order[i] = (an_gbt_ranked){score[i], (uint32_t)i};
        positives += e->labels[i] ? weight(e, i) : 0;
        negatives += e->labels[i] ? 0 : weight(e, i);
    }
    qsort(order, e->rows, sizeof *order, by_score_descending);
    double tp = 0, fp = 0, tp_prev = 0, fp_prev = 0, sum = 0;
    for (size_t k = 0; k < e->rows; k++) {
        size_t i = order[k].row;
        if (k > 0 && order[k].score != order[k - 1].score) {
            sum += piece(fp_prev, fp, tp_prev, tp, positives);
            tp_prev = tp;
            fp_prev = fp;
        }
        tp += e->labels[i] ? weight(e, i) : 0;
        fp += e->labels[i] ? 0 : weight(e, i);
    }
    sum += piece(fp_prev, fp, tp_prev, tp, positives);
    return roc ? sum / (positives * negatives) : sum;
}

double an_gbt_metric_value(an_gbt_metric metric, const an_gbt_eval *e, const double *score,
                           an_gbt_ranked *order)
{
    switch (metric) {
    case AN_GBT_AUC:
        return area(e, score, order, trapezoid, 1);
    case AN_GBT_AUCPR:
        return area(e, score, order, pr_piece, 0);
    case AN_GBT_RMSE:
        return rmse(e, score);
    default:
        return logloss(e, score);
    }
}
