/* Single-row scoring, prepared once: the scorer owns the scratch memory so
 * that scoring a row parses nothing, allocates nothing and locks nothing. */
#include "model/model.h"
#include "anoma/pipeline.h"
#include "core/alloc.h"
#include "core/error.h"

#include <math.h>

struct anoma_row_scorer {
    const anoma_model *model;
    double *raw;     /* one raw score per detector */
    void *scratch;   /* the largest scratch any detector needs, aligned (NULL: none) */
    /* the pipeline's single-row path: prepared here, so a row allocates nothing */
    an_pipeline_work *work;
    an_input_column *columns; /* typed rows: one per input, pointed at the row */
    double *features;         /* the detectors' input for the row */
};

anoma_status anoma_row_scorer_create(const anoma_model *m, anoma_row_scorer **out)
{
    if (!m || !out)
        return an_error(ANOMA_ERR_INVALID_ARGUMENT, "anoma_row_scorer_create: NULL argument");
    *out = NULL;
    if (!m->fitted)
        return an_error(ANOMA_ERR_NOT_FITTED, "row scorer: the model is not fitted");
    AN_TRY(an_model_check_stateless(m, "row scorer"));
    AN_TRY(an_model_check_scores_rows(m, "row scorer"));
    anoma_row_scorer *s = AN_NEW_ZEROED(anoma_row_scorer, 1);
    if (!s)
        return an_no_memory();
    s->model = m;
    s->raw = AN_NEW_ARRAY(double, m->n_detectors);
    if (m->scratch_bytes)
        s->scratch = an_malloc_aligned(m->scratch_bytes, m->scratch_align);
    s->columns = AN_NEW_ARRAY(an_input_column, m->pipeline.n_inputs + 1);
    s->features = AN_NEW_ARRAY(double, m->width + 1);
    anoma_status st = s->raw && (!m->scratch_bytes || s->scratch) && s->columns && s->features
                          ? ANOMA_OK
                          : an_no_memory();
    if (st == ANOMA_OK)
        st = an_pipeline_work_create(&m->pipeline, 1, &s->work);
    if (st != ANOMA_OK) {
        anoma_row_scorer_free(s);
        return st;
    }
    for (size_t j = 0; j < m->pipeline.n_inputs; j++) {
        an_cell_type t = m->pipeline.input_types[j];
        s->columns[j].type = t == AN_CELL_TEXT        ? ANOMA_COL_STRING
                             : t == AN_CELL_TIMESTAMP ? ANOMA_COL_TIMESTAMP
                                                      : ANOMA_COL_DOUBLE;
    }
    *out = s;
    return ANOMA_OK;
}

void anoma_row_scorer_free(anoma_row_scorer *s)
{
    if (!s)
        return;
    an_free(s->raw);
    an_free_aligned(s->scratch);
    an_pipeline_work_free(s->work);
    an_free(s->columns);
    an_free(s->features);
    an_free(s);
}

/* The detectors' input for a row of doubles: the row itself without steps. */
static anoma_status row_features(anoma_row_scorer *s, const double *row, size_t n,
                                 const double **x)
{
    const anoma_model *m = s->model;
    if (!m->pipeline.n_steps) {
        *x = row;
        return ANOMA_OK;
    }
    anoma_matrix view = anoma_matrix_f64(row, 1, n);
    an_input in = {&view, NULL, 1};
    AN_TRY(an_input_check(&m->pipeline, &in, "row scorer"));
    AN_TRY(an_pipeline_run_block(&m->pipeline, s->work, &in, 0, 1, s->features));
    *x = s->features;
    return ANOMA_OK;
}

static anoma_status check_row(const anoma_model *m, const double *row, size_t n_features)
{
    if (n_features != m->n_features)
        return an_error(ANOMA_ERR_SHAPE, "row scorer: row has %zu values, the model expects %zu",
                        n_features, m->n_features);
    for (size_t j = 0; j < n_features; j++)
        if (isinf(row[j]))
            return an_error(ANOMA_ERR_NONFINITE, "row scorer: infinite value in column %zu", j);
    return ANOMA_OK;
}

/* The model's score of x, the detectors' input for one row. */
static void score_features(anoma_row_scorer *s, const double *x, double *score, int *is_anomaly)
{
    const anoma_model *m = s->model;
    for (size_t k = 0; k < m->n_detectors; k++)
        m->detectors[k].vt->score_row(m->detectors[k].state, x, s->scratch, &s->raw[k]);
    *score = an_ensemble_combine(m, s->raw);
    if (is_anomaly)
        *is_anomaly = *score > m->threshold;
}

anoma_status anoma_row_scorer_feature_scores(anoma_row_scorer *s, size_t index, const double *row,
                                             size_t n_features, double *out)
{
    if (!s || !row || !out)
        return an_error(ANOMA_ERR_INVALID_ARGUMENT, "row scorer: NULL argument");
    const anoma_model *m = s->model;
    const an_model_detector *d = NULL;
    AN_TRY(an_model_detector_at(m, index, AN_USE_FEATURE_SCORES, &d));
    AN_TRY(check_row(m, row, n_features));
    const double *x;
    AN_TRY(row_features(s, row, n_features, &x));
    d->vt->feature_scores_row(d->state, x, s->scratch, out);
    return ANOMA_OK;
}

anoma_status anoma_row_scorer_score(anoma_row_scorer *s, const double *row, size_t n_features,
                                    double *score, int *is_anomaly)
{
    if (!s || !row || !score)
        return an_error(ANOMA_ERR_INVALID_ARGUMENT, "row scorer: NULL argument");
    const anoma_model *m = s->model;
    AN_TRY(check_row(m, row, n_features));
    const double *x;
    AN_TRY(row_features(s, row, n_features, &x));
    score_features(s, x, score, is_anomaly);
    return ANOMA_OK;
}

/* The detectors' input for a typed row, into s->features. */
static anoma_status row_values_features(anoma_row_scorer *s, const anoma_value *row, size_t n)
{
    const anoma_model *m = s->model;
    if (n != m->n_features)
        return an_error(ANOMA_ERR_SHAPE, "row scorer: row has %zu values, the model expects %zu",
                        n, m->n_features);
    for (size_t j = 0; j < n; j++)
        s->columns[j].values = &row[j]; /* a value is a cell: same 8 bytes */
    an_input in = {NULL, s->columns, 1};
    return an_pipeline_run_block(&m->pipeline, s->work, &in, 0, 1, s->features);
}

anoma_status anoma_row_scorer_score_values(anoma_row_scorer *s, const anoma_value *row, size_t n,
                                           double *score, int *is_anomaly)
{
    if (!s || !row || !score)
        return an_error(ANOMA_ERR_INVALID_ARGUMENT, "row scorer: NULL argument");
    AN_TRY(row_values_features(s, row, n));
    score_features(s, s->features, score, is_anomaly);
    return ANOMA_OK;
}

anoma_status anoma_row_scorer_explain_values(anoma_row_scorer *s, size_t index,
                                             const anoma_value *row, size_t n, double *score,
                                             int *is_anomaly, double *feature_scores)
{
    if (!s || !row || !score || !feature_scores)
        return an_error(ANOMA_ERR_INVALID_ARGUMENT, "row scorer: NULL argument");
    const an_model_detector *d = NULL;
    AN_TRY(an_model_detector_at(s->model, index, AN_USE_FEATURE_SCORES, &d));
    AN_TRY(row_values_features(s, row, n)); /* once: a stateful step sees the row once */
    score_features(s, s->features, score, is_anomaly);
    d->vt->feature_scores_row(d->state, s->features, s->scratch, feature_scores);
    return ANOMA_OK;
}

/* The members' scores of x, the detectors' input for one row. */
static void member_scores(anoma_row_scorer *s, const double *x, double *raw, double *normalized)
{
    const anoma_model *m = s->model;
    double score;
    score_features(s, x, &score, NULL); /* the members' raw scores into s->raw */
    for (size_t k = 0; k < m->n_detectors; k++) {
        if (raw)
            raw[k] = s->raw[k];
        if (normalized)
            normalized[k] = an_ensemble_normalized(m, k, s->raw[k]);
    }
}

anoma_status anoma_row_scorer_member_scores(anoma_row_scorer *s, const double *row,
                                            size_t n_features, double *raw, double *normalized)
{
    if (!s || !row || (!raw && !normalized))
        return an_error(ANOMA_ERR_INVALID_ARGUMENT, "row scorer: NULL argument");
    AN_TRY(check_row(s->model, row, n_features));
    const double *x;
    AN_TRY(row_features(s, row, n_features, &x));
    member_scores(s, x, raw, normalized);
    return ANOMA_OK;
}

anoma_status anoma_row_scorer_member_scores_values(anoma_row_scorer *s, const anoma_value *row,
                                                   size_t n, double *raw, double *normalized)
{
    if (!s || !row || (!raw && !normalized))
        return an_error(ANOMA_ERR_INVALID_ARGUMENT, "row scorer: NULL argument");
    AN_TRY(row_values_features(s, row, n));
    member_scores(s, s->features, raw, normalized);
    return ANOMA_OK;
}

/* Refused before the row is scored, so that a stateful step does not fold
 * in a row whose call fails. */
static anoma_status check_probability(const anoma_row_scorer *s)
{
    if (s->model->probability.method == AN_PROBABILITY_NONE)
        return an_error(ANOMA_ERR_UNSUPPORTED, "row scorer: the model learned no probability "
                        "(see anoma_model_probability)");
    return ANOMA_OK;
}

static void to_probability(const anoma_row_scorer *s, double score, double *probability,
                           double *confidence)
{
    double p = an_model_probability(s->model, score);
    if (probability)
        *probability = p;
    if (confidence)
        *confidence = an_model_confidence(s->model, p);
}

anoma_status anoma_row_scorer_score_probability(anoma_row_scorer *s, const double *row,
                                                size_t n_features, double *score,
                                                int *is_anomaly, double *probability,
                                                double *confidence)
{
    if (!s || !row || !score)
        return an_error(ANOMA_ERR_INVALID_ARGUMENT, "row scorer: NULL argument");
    AN_TRY(check_probability(s));
    AN_TRY(anoma_row_scorer_score(s, row, n_features, score, is_anomaly));
    to_probability(s, *score, probability, confidence);
    return ANOMA_OK;
}

anoma_status anoma_row_scorer_score_probability_values(anoma_row_scorer *s,
                                                       const anoma_value *row, size_t n,
                                                       double *score, int *is_anomaly,
                                                       double *probability, double *confidence)
{
    if (!s || !row || !score)
        return an_error(ANOMA_ERR_INVALID_ARGUMENT, "row scorer: NULL argument");
    AN_TRY(check_probability(s));
    AN_TRY(anoma_row_scorer_score_values(s, row, n, score, is_anomaly));
    to_probability(s, *score, probability, confidence);
    return ANOMA_OK;
}
