/* A score as an anomaly probability, and how sure a decision is.
 *
 * By default the probability is the rank of the score among the model's
 * own scores on its calibration rows: what share of the training data
 * scores lower. It needs no labels and no assumption about the scores'
 * shape, and it is monotone in the score; it is not 0.5 at the threshold
 * (with contamination c it is about 1 - c there). With labelled rows
 * (anoma_model_fit_probability) a logistic curve fitted by Platt's method
 * takes over: then the probability estimates P(anomaly | score). */
#include "model/model.h"
#include "anoma/pipeline.h"
#include "core/alloc.h"
#include "core/error.h"

#include <math.h>

enum { PROBABILITY_LAYOUT = 1 };

/* Platt's loss at (A, B) in his sign convention, P = 1 / (1 + exp(A f + B)). */
static double platt_loss(const double *f, const double *target, size_t n, double a, double b)
{
    double loss = 0;
    for (size_t i = 0; i < n; i++) {
        double z = f[i] * a + b;
        loss += z >= 0 ? target[i] * z + log1p(exp(-z)) : (target[i] - 1) * z + log1p(exp(z));
    }
    return loss;
}

anoma_status an_probability_fit_logistic(const double *f, const int *labels, size_t n,
                                         double *slope, double *intercept)
{
    double n_pos = 0, n_neg = 0;
    for (size_t i = 0; i < n; i++)
        labels[i] ? n_pos++ : n_neg++;
    double hi = (n_pos + 1) / (n_pos + 2), lo = 1 / (n_neg + 2);
    double *target = AN_NEW_ARRAY(double, n);
    if (!target)
        return an_no_memory();
    double a = 0, b = log((n_neg + 1) / (n_pos + 1));
    for (size_t i = 0; i < n; i++)
        target[i] = labels[i] ? hi : lo;
    double loss = platt_loss(f, target, n, a, b);
    for (int iter = 0; iter < 100; iter++) {
        double h11 = 1e-12, h22 = 1e-12, h21 = 0, g1 = 0, g2 = 0;
        for (size_t i = 0; i < n; i++) {
            double z = f[i] * a + b;
            double p = z >= 0 ? exp(-z) / (1 + exp(-z)) : 1 / (1 + exp(z));
            double d2 = p * (1 - p), d1 = target[i] - p;
            h11 += f[i] * f[i] * d2;
            h22 += d2;
            h21 += f[i] * d2;
            g1 += f[i] * d1;
            g2 += d1;
        }
        double det = h11 * h22 - h21 * h21;
        double da = -(h22 * g1 - h21 * g2) / det, db = -(-h21 * g1 + h11 * g2) / det;
        double gd = g1 * da + g2 * db;
        if (!(gd < 0))
            break; /* no descent left */
        /* Armijo's rule, with the loss's own rounding allowed: near the
         * optimum a full Newton step changes the loss by less than its
         * rounding, and refusing it would stop short of the optimum */
        double slack = 1e-13 * fabs(loss), step = 1;
        for (; step >= 1e-10; step /= 2) {
            double loss_new = platt_loss(f, target, n, a + step * da, b + step * db);
            if (loss_new <= loss + 1e-4 * step * gd + slack) {
                a += step * da;
                b += step * db;
                loss = loss_new;
                break;
            }
        }
        if (step < 1e-10)
            break; /* the line search found no decrease */
        if (fabs(step * da) <= 1e-15 * fabs(a) && fabs(step * db) <= 1e-15 * fmax(1, fabs(b)))
            break; /* converged to the last bits */
    }
    an_free(target);
    *slope = -a;
    *intercept = -b;
    return ANOMA_OK;
}

double an_probability_of(const an_probability *p, double score)
{
    if (isnan(score))
        return score;
    switch (p->method) {
    case AN_PROBABILITY_DISTRIBUTION:
        return an_distribution_rank(&p->scores, score);
    case AN_PROBABILITY_LOGISTIC: {
        double z = p->slope * score + p->intercept;
        return z >= 0 ? 1 / (1 + exp(-z)) : exp(z) / (1 + exp(z));
    }
    case AN_PROBABILITY_NONE:
        break;
    }
    return NAN;
}

double an_model_probability(const anoma_model *m, double score)
{
    return an_probability_of(&m->probability, score);
}

double an_model_confidence(const anoma_model *m, double probability)
{
    double at = an_probability_of(&m->probability, m->threshold);
    if (probability > at)
        return (probability - at) / (1 - at);
    if (probability < at)
        return (at - probability) / at;
    return isnan(probability) ? probability : 0;
}

void an_probability_free(an_probability *p)
{
    an_distribution_free(&p->scores);
    p->method = AN_PROBABILITY_NONE;
}

void an_probability_describe(const an_probability *p, an_strbuf *sb)
{
    if (p->method == AN_PROBABILITY_DISTRIBUTION)
        an_strbuf_printf(sb, "probability: rank among %zu knots of the training scores, from "
                         "%.17g to %.17g\n", p->scores.n, p->scores.knots[0],
                         p->scores.knots[p->scores.n - 1]);
    else if (p->method == AN_PROBABILITY_LOGISTIC)
        an_strbuf_printf(sb, "probability: logistic, 1 / (1 + exp(-(%.17g * score + %.17g)))\n",
                         p->slope, p->intercept);
    else
        an_strbuf_printf(sb, "probability: none (no training scores, no labelled rows)\n");
}

void an_probability_save(const an_probability *p, an_writer *w)
{
    an_put_u32(w, PROBABILITY_LAYOUT);
    an_put_u8(w, (uint8_t)p->method);
    an_put_f64(w, p->slope);
    an_put_f64(w, p->intercept);
    an_distribution_save(&p->scores, w);
}

anoma_status an_probability_load(an_probability *p, an_reader *r)
{
    uint32_t layout = an_get_u32(r);
    uint8_t method = an_get_u8(r);
    double slope = an_get_f64(r), intercept = an_get_f64(r);
    AN_TRY(an_reader_status(r));
    if (layout != PROBABILITY_LAYOUT)
        return an_error(layout ? ANOMA_ERR_VERSION : ANOMA_ERR_FORMAT, "model file: probability "
                        "layout %u; this library reads %d", (unsigned)layout, PROBABILITY_LAYOUT);
    if (method > AN_PROBABILITY_LOGISTIC)
        return an_error(ANOMA_ERR_FORMAT, "model file: unknown probability method %u",
                        (unsigned)method);
    AN_TRY(an_distribution_load(&p->scores, r, "probability"));
    if (method == AN_PROBABILITY_DISTRIBUTION && !p->scores.n)
        return an_error(ANOMA_ERR_FORMAT, "model file: the probability is the score "
                        "distribution, but the file holds none");
    if (method == AN_PROBABILITY_LOGISTIC &&
        (!isfinite(slope) || !isfinite(intercept) || slope < 0))
        return an_error(ANOMA_ERR_FORMAT, "model file: logistic probability slope %g and "
                        "intercept %g: they must be finite, the slope not negative", slope,
                        intercept);
    p->method = (an_probability_method)method;
    p->slope = slope;
    p->intercept = intercept;
    return ANOMA_OK;
}

/* ---- the public calls ---- */

static anoma_status check_probability(const anoma_model *m, const char *fn, const void *probability,
                                      const void *confidence, size_t rows)
{
    if (!m)
        return an_error(ANOMA_ERR_INVALID_ARGUMENT, "%s: NULL model", fn);
    if (!m->fitted)
        return an_error(ANOMA_ERR_NOT_FITTED, "%s: the model is not fitted", fn);
    if (rows && !probability && !confidence)
        return an_error(ANOMA_ERR_INVALID_ARGUMENT, "%s: no output array (probability and "
                        "confidence are both NULL)", fn);
    if (m->probability.method == AN_PROBABILITY_NONE)
        return an_error(ANOMA_ERR_UNSUPPORTED, "%s: the model learned no probability: its fit "
                        "scored no training row (probability_rows=0 with one detector and a "
                        "fixed threshold or contamination=auto, an imported detector, or a file "
                        "from before 0.2.0); fit it again without probability_rows=0, or give "
                        "labelled rows to anoma_model_fit_probability", fn);
    return ANOMA_OK;
}

/* Scores in `work` (the probability array, or else the confidence one)
 * become probabilities and confidences in place. */
static void to_probability(const anoma_model *m, const double *scores, size_t n,
                           double *probability, double *confidence)
{
    for (size_t i = 0; i < n; i++) {
        double p = an_model_probability(m, scores[i]);
        if (confidence)
            confidence[i] = an_model_confidence(m, p);
        if (probability)
            probability[i] = p;
    }
}

anoma_status anoma_model_probability_of_scores(const anoma_model *m, const double *scores,
                                               size_t n, double *probability, double *confidence)
{
    static const char fn[] = "anoma_model_probability_of_scores";
    AN_TRY(check_probability(m, fn, probability, confidence, n));
    if (!scores && n)
        return an_error(ANOMA_ERR_INVALID_ARGUMENT, "%s: NULL scores", fn);
    to_probability(m, scores, n, probability, confidence);
    return ANOMA_OK;
}

anoma_status anoma_model_probability(const anoma_model *m, const anoma_matrix *x,
                                     double *probability, double *confidence)
{
    static const char fn[] = "anoma_model_probability";
    AN_TRY(check_probability(m, fn, probability, confidence, x ? x->rows : 0));
    AN_TRY(an_model_check_input(m, x, fn));
    double *work = probability ? probability : confidence;
    AN_TRY(anoma_model_score(m, x, work));
    to_probability(m, work, x->rows, probability, confidence);
    return ANOMA_OK;
}

anoma_status anoma_model_probability_frame(const anoma_model *m, const anoma_frame *f,
                                           double *probability, double *confidence)
{
    static const char fn[] = "anoma_model_probability_frame";
    if (!f)
        return an_error(ANOMA_ERR_INVALID_ARGUMENT, "%s: NULL frame", fn);
    size_t rows = anoma_frame_rows(f);
    AN_TRY(check_probability(m, fn, probability, confidence, rows));
    double *work = probability ? probability : confidence;
    AN_TRY(anoma_model_score_frame(m, f, work));
    to_probability(m, work, rows, probability, confidence);
    return ANOMA_OK;
}

/* Fit the logistic on scored, labelled rows; the model changes only on
 * success. */
static anoma_status fit_logistic(anoma_model *m, const char *fn, const double *scores,
                                 const int *labels, size_t rows)
{
    size_t n_pos = 0;
    for (size_t i = 0; i < rows; i++) {
        if (labels[i] != 0 && labels[i] != 1)
            return an_error(ANOMA_ERR_INVALID_ARGUMENT, "%s: label %d at row %zu is not 0 or 1",
                            fn, labels[i], i);
        if (isnan(scores[i]))
            return an_error(ANOMA_ERR_NONFINITE, "%s: row %zu scores NaN: it has no place on "
                            "the curve", fn, i);
        n_pos += labels[i] == 1;
    }
    if (n_pos == 0 || n_pos == rows)
        return an_error(ANOMA_ERR_INVALID_ARGUMENT, "%s: the labels are all %d: a probability "
                        "of anomaly needs rows of both kinds", fn, n_pos ? 1 : 0);
    double slope, intercept;
    AN_TRY(an_probability_fit_logistic(scores, labels, rows, &slope, &intercept));
    if (slope < 0)
        return an_error(ANOMA_ERR_INVALID_ARGUMENT, "%s: on these rows anomalies score lower "
                        "than normal rows (fitted slope %g < 0): a probability that fell as the "
                        "score rose would contradict the model's decisions", fn, slope);
    m->probability.method = AN_PROBABILITY_LOGISTIC;
    m->probability.slope = slope;
    m->probability.intercept = intercept;
    return ANOMA_OK;
}

static anoma_status check_fit_call(const anoma_model *m, const char *fn, const void *data,
                                   const int *labels)
{
    if (!m || !data || !labels)
        return an_error(ANOMA_ERR_INVALID_ARGUMENT, "%s: NULL argument", fn);
    if (!m->fitted)
        return an_error(ANOMA_ERR_NOT_FITTED, "%s: the model is not fitted", fn);
    return ANOMA_OK;
}

static anoma_status fit_probability(anoma_model *m, const char *fn, const anoma_matrix *x,
                                   const anoma_frame *f, const int *labels)
{
    AN_TRY(check_fit_call(m, fn, x ? (const void *)x : (const void *)f, labels));
    double *scores;
    size_t rows;
    AN_TRY(an_model_scores_of(m, fn, x, f, &scores, &rows));
    anoma_status st = fit_logistic(m, fn, scores, labels, rows);
    an_free(scores);
    return st;
}

anoma_status anoma_model_fit_probability(anoma_model *m, const anoma_matrix *x, const int *labels)
{
    return fit_probability(m, "anoma_model_fit_probability", x, NULL, labels);
}

anoma_status anoma_model_fit_probability_frame(anoma_model *m, const anoma_frame *f,
                                               const int *labels)
{
    return fit_probability(m, "anoma_model_fit_probability_frame", NULL, f, labels);
}
