/* A fitted model's threshold chosen on labelled validation rows: the rows
 * are scored by the model, and a rule (best F1, target precision or
 * recall) picks the cut on the same ranking the metrics use. */
#include "model/model.h"
#include "anoma/pipeline.h"
#include "core/alloc.h"
#include "core/error.h"
#include "metrics/threshold_rule.h"

#include <math.h>
#include <stdio.h>

static const char fn_matrix[] = "anoma_model_set_threshold_from_labels";
static const char fn_frame[] = "anoma_model_set_threshold_from_labels_frame";

/* Choose on the scores, then set the threshold as anoma_model_set_param
 * does, so that the parameters say how it was made: a number. */
static anoma_status choose_and_set(anoma_model *m, const char *fn, const an_threshold_rule *rule,
                                   const double *scores, const int *labels, size_t rows)
{
    for (size_t i = 0; i < rows; i++)
        if (isnan(scores[i]))
            return an_error(ANOMA_ERR_NONFINITE, "%s: validation row %zu scores NaN: no "
                            "threshold can rank it", fn, i);
    double threshold;
    AN_TRY(an_threshold_rule_apply(fn, rule, scores, labels, rows, &threshold));
    char text[32];
    snprintf(text, sizeof text, "%.17g", threshold); /* round-trips exactly */
    return anoma_model_set_param(m, "threshold", text);
}

/* The shared part of both forms: rule read before any scoring. */
static anoma_status check_call(const anoma_model *m, const char *fn, const int *labels,
                               const char *rule_text, an_threshold_rule *rule)
{
    if (!m)
        return an_error(ANOMA_ERR_INVALID_ARGUMENT, "%s: NULL model", fn);
    if (!m->fitted)
        return an_error(ANOMA_ERR_NOT_FITTED, "%s: the model is not fitted", fn);
    if (!labels)
        return an_error(ANOMA_ERR_INVALID_ARGUMENT, "%s: NULL labels", fn);
    return an_threshold_rule_parse(fn, rule_text, rule);
}

static anoma_status set_from_labels(anoma_model *m, const char *fn, const anoma_matrix *x,
                                   const anoma_frame *f, const int *labels,
                                   const char *rule_text)
{
    an_threshold_rule rule;
    AN_TRY(check_call(m, fn, labels, rule_text, &rule));
    if (!x && !f)
        return an_error(ANOMA_ERR_INVALID_ARGUMENT, "%s: NULL validation data", fn);
    double *scores;
    size_t rows;
    AN_TRY(an_model_scores_of(m, fn, x, f, &scores, &rows));
    anoma_status st = choose_and_set(m, fn, &rule, scores, labels, rows);
    an_free(scores);
    return st;
}

anoma_status anoma_model_set_threshold_from_labels(anoma_model *m, const anoma_matrix *x,
                                                   const int *labels, const char *rule_text)
{
    return set_from_labels(m, fn_matrix, x, NULL, labels, rule_text);
}

anoma_status anoma_model_set_threshold_from_labels_frame(anoma_model *m, const anoma_frame *f,
                                                         const int *labels, const char *rule_text)
{
    return set_from_labels(m, fn_frame, NULL, f, labels, rule_text);
}
