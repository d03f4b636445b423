/* Single-row scoring, prepared once: the scorer owns the scratch memory so
 * that scoring a row parses nothing, allocates nothing and locks nothing. */
#include "model/model.h"
#include "core/alloc.h"
#include "core/error.h"

#include <math.h>

struct anoma_row_scorer {
    const anoma_model *model;
    double *raw;     /* one raw score per detector */
    void *scratch;   /* the largest scratch any detector needs, aligned (NULL: none) */
};

anoma_status anoma_row_scorer_create(const anoma_model *m, anoma_row_scorer **out)
{
    if (!m || !out)
        return an_error(ANOMA_ERR_INVALID_ARGUMENT, "anoma_row_scorer_create: NULL argument");
    *out = NULL;
    if (!m->fitted)
        return an_error(ANOMA_ERR_NOT_FITTED, "row scorer: the model is not fitted");
    AN_TRY(an_model_check_stateless(m, "row scorer"));
    anoma_row_scorer *s = AN_NEW_ZEROED(anoma_row_scorer, 1);
    if (!s)
        return an_no_memory();
    s->model = m;
    s->raw = AN_NEW_ARRAY(double, m->n_detectors);
    if (m->scratch_bytes)
        s->scratch = an_malloc_aligned(m->scratch_bytes, m->scratch_align);
    if (!s->raw || (m->scratch_bytes && !s->scratch)) {
        anoma_row_scorer_free(s);
        return an_no_memory();
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
    an_free(s);
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

anoma_status anoma_row_scorer_feature_scores(anoma_row_scorer *s, size_t index, const double *row,
                                             size_t n_features, double *out)
{
    if (!s || !row || !out)
        return an_error(ANOMA_ERR_INVALID_ARGUMENT, "row scorer: NULL argument");
    const anoma_model *m = s->model;
    if (index >= m->n_detectors)
        return an_error(ANOMA_ERR_INVALID_ARGUMENT, "detector index %zu: the model has %zu", index,
                        m->n_detectors);
    const an_model_detector *d = &m->detectors[index];
    if (!d->vt->feature_scores_row)
        return an_error(ANOMA_ERR_UNSUPPORTED, "detector '%s' has no per-feature scores",
                        d->vt->name);
    AN_TRY(check_row(m, row, n_features));
    d->vt->feature_scores_row(d->state, row, s->scratch, out);
    return ANOMA_OK;
}

anoma_status anoma_row_scorer_score(anoma_row_scorer *s, const double *row, size_t n_features,
                                    double *score, int *is_anomaly)
{
    if (!s || !row || !score)
        return an_error(ANOMA_ERR_INVALID_ARGUMENT, "row scorer: NULL argument");
    const anoma_model *m = s->model;
    AN_TRY(check_row(m, row, n_features));
    for (size_t k = 0; k < m->n_detectors; k++)
        m->detectors[k].vt->score_row(m->detectors[k].state, row, s->scratch, &s->raw[k]);
    *score = an_model_combine(m, s->raw);
    if (is_anomaly)
        *is_anomaly = *score > m->threshold;
    return ANOMA_OK;
}
