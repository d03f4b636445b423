/* What the model learns from its own training scores, on a bounded sample:
 * the ensemble (ensemble.c), the score distribution of the probability
 * (probability.c) and the decision threshold, which is this file's own.
 *
 * Why a sample: scoring every training row made fit cost grow with the data
 * while the forest itself does not (100 trees of 256 rows), and a quantile
 * or a mean needs far fewer rows than that to be exact enough. The sample
 * is uniform without replacement (Floyd's algorithm, core/sample.h) from the
 * calibration_seed, so the same data and parameters give the same model;
 * with at most calibration_rows rows every row is used and nothing changes.
 * Accuracy of the default: docs/model.md. */
#include "model/model.h"
#include "core/alloc.h"
#include "core/error.h"
#include "core/rng.h"
#include "core/sample.h"
#include "core/stats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int an_model_needs_training_scores(const anoma_model *m)
{
    return (an_params_is(&m->params, "threshold", "auto") &&
            !an_params_is(&m->params, "contamination", "auto")) ||
           m->normalize != AN_NORM_NONE ||
           (m->combine == AN_COMBINE_VOTE && !an_params_is(&m->params, "contamination", "auto"));
}

/* contamination=auto: the detectors' own rule, where the combined score
 * keeps it. One detector's score is kept as it is only without
 * normalisation; several keep one rule only when none is rescaled, all
 * share the rule, and the combination is their max (a row is flagged when
 * one of them flags it: a mean of scores each above t need not be). */
anoma_status an_model_auto_threshold(const anoma_model *m, double *threshold)
{
    if (!m->n_detectors)
        return an_error(ANOMA_ERR_EMPTY, "contamination=auto: the model has no detector yet");
    if (an_params_is(&m->params, "ensemble", "vote")) {
        /* each member votes by its own rule on its raw score: a majority */
        for (size_t k = 0; k < m->n_detectors; k++)
            if (!m->detectors[k].vt->auto_threshold)
                return an_error(ANOMA_ERR_PARAM_VALUE, "ensemble=vote with contamination=auto: "
                                "detector %zu ('%s') has no threshold of its own to vote with; "
                                "give a rate such as contamination=0.1", k,
                                m->detectors[k].vt->name);
        *threshold = 0.5;
        return ANOMA_OK;
    }
    const char *normalize = an_params_text(&m->params, "normalize");
    int several = m->n_detectors > 1;
    if (strcmp(normalize, "none") && (several || strcmp(normalize, "auto")))
        return an_error(ANOMA_ERR_PARAM_VALUE,
                        "contamination=auto: normalize=%s%s rescales the detectors' scores, so "
                        "no detector's own threshold applies to the model's score; set "
                        "normalize=none%s, or give a rate such as contamination=0.1",
                        normalize, several && !strcmp(normalize, "auto") ?
                        " (standard for several detectors)" : "",
                        several ? " ensemble=max with detectors that share one rule" : "");
    double t = 0;
    for (size_t k = 0; k < m->n_detectors; k++) {
        const an_model_detector *d = &m->detectors[k];
        double tk;
        if (!d->vt->auto_threshold)
            return an_error(ANOMA_ERR_PARAM_VALUE, "contamination=auto: detector '%s' has no "
                            "threshold of its own on its score; give a rate such as "
                            "contamination=0.1", d->vt->name);
        AN_TRY(d->vt->auto_threshold(&d->params, &tk));
        if (k && tk != t)
            return an_error(ANOMA_ERR_PARAM_VALUE, "contamination=auto: detector '%s' flags "
                            "scores above %g and '%s' above %g, so their combined score has no "
                            "one threshold; give a rate such as contamination=0.1",
                            m->detectors[0].vt->name, t, d->vt->name, tk);
        t = tk;
    }
    if (several && !an_params_is(&m->params, "ensemble", "max"))
        return an_error(ANOMA_ERR_PARAM_VALUE, "contamination=auto: with ensemble=%s a row whose "
                        "detectors each score below %g may still score above it; set "
                        "ensemble=max (a row is flagged when one detector flags it) or give a "
                        "rate such as contamination=0.1", an_params_text(&m->params, "ensemble"), t);
    *threshold = t;
    return ANOMA_OK;
}

anoma_status anoma_model_auto_threshold(const anoma_model *m, double *threshold)
{
    if (!m || !threshold)
        return an_error(ANOMA_ERR_INVALID_ARGUMENT, "anoma_model_auto_threshold: NULL argument");
    return an_model_auto_threshold(m, threshold);
}

size_t an_model_calibration_limit(const anoma_model *m)
{
    size_t limit = (size_t)an_params_int(&m->params, "calibration_rows");
    if (an_model_needs_training_scores(m))
        return limit;
    /* only the default probability learns from these scores: a smaller
     * sample, so that a fit without a rate stays close to its detectors'
     * own cost (docs/model.md, "Probability") */
    size_t for_probability = (size_t)an_params_int(&m->params, "probability_rows");
    return for_probability < limit ? for_probability : limit;
}

anoma_status an_model_calibration_rows(const anoma_model *m, size_t rows, size_t **picked,
                                       size_t *n)
{
    size_t limit = an_model_calibration_limit(m);
    *picked = NULL;
    *n = rows;
    if (rows <= limit)
        return ANOMA_OK;
    an_row_set set = {AN_NEW_ARRAY(size_t, an_row_set_slots(limit)), an_row_set_slots(limit) - 1};
    *picked = AN_NEW_ARRAY(size_t, limit);
    if (!set.slots || !*picked) {
        an_free(set.slots);
        an_free(*picked);
        *picked = NULL;
        return an_no_memory();
    }
    an_rng rng;
    an_rng_init(&rng, (uint64_t)an_params_int(&m->params, "calibration_seed"), 0);
    an_sample_distinct(&rng, rows, limit, &set, *picked);
    an_free(set.slots);
    *n = limit;
    return ANOMA_OK;
}

/* The sampled rows, copied once for every detector that scores them. */
static anoma_status copy_sample(const an_model_sample *cal, double **copy)
{
    *copy = an_malloc_array(cal->n, cal->cols * sizeof(double));
    if (!*copy)
        return an_no_memory();
    for (size_t i = 0; i < cal->n; i++)
        memcpy(*copy + i * cal->cols, cal->x + cal->picked[i] * cal->cols,
               cal->cols * sizeof(double));
    return ANOMA_OK;
}

anoma_status an_model_training_raw(const anoma_model *m, size_t k, an_model_sample *cal,
                                   double *out)
{
    const an_model_detector *d = &m->detectors[k];
    size_t own_rows = 0;
    const double *own = d->vt->training_scores && !d->imported_width
                            ? d->vt->training_scores(d->state, &own_rows)
                            : NULL;
    if (own && own_rows == cal->rows) {
        for (size_t i = 0; i < cal->n; i++)
            out[i] = own[cal->picked ? cal->picked[i] : i];
        return ANOMA_OK;
    }
    if (!cal->picked)
        return an_model_raw_scores(m, k, cal->x, cal->n, out);
    if (!cal->copy)
        AN_TRY(copy_sample(cal, &cal->copy));
    return an_model_raw_scores(m, k, cal->copy, cal->n, out);
}

/* The model's scores of the calibration rows, from the members' raw ones. */
static anoma_status combined_scores(const anoma_model *m, double *const *raw, size_t rows,
                                    double **out)
{
    double *combined = AN_NEW_ARRAY(double, rows);
    double *row_raw = AN_NEW_ARRAY(double, m->n_detectors);
    if (!combined || !row_raw) {
        an_free(combined);
        an_free(row_raw);
        return an_no_memory();
    }
    for (size_t i = 0; i < rows; i++) {
        for (size_t k = 0; k < m->n_detectors; k++)
            row_raw[k] = raw[k][i];
        combined[i] = an_ensemble_combine(m, row_raw);
    }
    an_free(row_raw);
    *out = combined;
    return ANOMA_OK;
}

/* The model's scores of the calibration rows are used once, for the
 * probability and the threshold, so they are not copied: a single
 * member's raw scores are the model's own (an_ensemble_is_identity), and
 * when all are finite they are sorted in place once for both, the
 * threshold then read from the sorted scores (the value a selection
 * gives; with a NaN, as before, which leaves it out). Each copy was
 * a buffer of `rows` doubles written for the first time, page by page,
 * and the selection a second pass over them (docs/benchmarks.md: a
 * quarter of a Mahalanobis fit's CPU time at 100000 rows went with them
 * and the missing-value test). */
anoma_status an_model_calibrate(anoma_model *m, double *const *raw, size_t rows)
{
    AN_TRY(an_ensemble_learn(m, raw, rows));
    double *combined = NULL, *made = NULL;
    int sorted = 0;
    an_probability_free(&m->probability);
    if (rows) { /* the default probability: the rank among these scores */
        if (!an_ensemble_is_identity(m))
            AN_TRY(combined_scores(m, raw, rows, &made));
        combined = made ? made : raw[0];
        anoma_status st;
        if (an_any_nonfinite(combined, rows)) {
            st = an_distribution_learn(&m->probability.scores, combined, rows);
        } else {
            st = an_distribution_learn_sorting(&m->probability.scores, combined, rows);
            sorted = 1;
        }
        if (st != ANOMA_OK) {
            an_free(made);
            return st;
        }
        if (m->probability.scores.n)
            m->probability.method = AN_PROBABILITY_DISTRIBUTION;
    }
    anoma_status st = ANOMA_OK;
    if (!an_params_is(&m->params, "threshold", "auto"))
        m->threshold = an_params_double(&m->params, "threshold");
    else if (m->combine == AN_COMBINE_VOTE)
        m->threshold = 0.5; /* a majority: more than half the weight flags */
    else if (an_params_is(&m->params, "contamination", "auto"))
        st = an_model_auto_threshold(m, &m->threshold);
    else if (sorted)
        m->threshold = an_quantile_sorted(combined, rows,
                                          1.0 - an_params_double(&m->params, "contamination"));
    else
        m->threshold = an_quantile(combined, rows,
                                   1.0 - an_params_double(&m->params, "contamination"));
    an_free(made);
    return st;
}
