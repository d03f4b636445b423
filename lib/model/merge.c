/* anoma_model_merge: one model from models fitted apart on partitions of
 * the rows (docs/scale-out.md, "Training per partition").
 *
 * The sources must be alike but for what they learned: one detector of a
 * kind that merges (its vtable's merge) and no steps, the same width and
 * feature names. The detector merges their fitted states (an isolation
 * forest: all their trees); the new model takes it as
 * anoma_model_import_detector() takes a payload, so threshold and schema
 * follow the same rules. */
#include "model/model.h"
#include "core/alloc.h"
#include "core/error.h"
#include "core/strbuf.h"

#include <string.h>

/* "iforest" (or "iforest or ..."): the detectors that merge. */
static void mergeable_kinds(an_strbuf *sb)
{
    const an_detector_vtable *vt;
    int listed = 0;
    for (size_t i = 0; (vt = an_detector_at(i)); i++)
        if (vt->merge)
            an_strbuf_printf(sb, "%s%s", listed++ ? " or " : "", vt->name);
}

/* models[k] holds one detector that merges and no steps; else the error
 * saying what it holds. */
static anoma_status check_shape(const anoma_model *m, size_t k)
{
    if (m->n_detectors == 1 && !m->pipeline.n_steps && m->detectors[0].vt->merge)
        return ANOMA_OK;
    an_strbuf sb = {0};
    for (size_t d = 0; d < m->n_detectors; d++)
        an_strbuf_printf(&sb, "%s%s", d ? " + " : "", m->detectors[d].vt->name);
    if (!m->n_detectors)
        an_strbuf_printf(&sb, "empty");
    if (m->pipeline.n_steps)
        an_strbuf_printf(&sb, " with %zu step%s", m->pipeline.n_steps,
                         m->pipeline.n_steps > 1 ? "s" : "");
    an_strbuf_printf(&sb, "; expected one ");
    mergeable_kinds(&sb);
    anoma_status st = sb.failed ? an_no_memory()
                                : an_error(ANOMA_ERR_INVALID_ARGUMENT,
                                           "merge: models[%zu] is %s detector and no steps", k,
                                           sb.data);
    an_strbuf_free(&sb);
    return st;
}

/* models[k] against models[0]: the same kind, width and feature names. */
static anoma_status check_like_first(const anoma_model *m, const anoma_model *first, size_t k)
{
    const char *kind = m->detectors[0].vt->name, *first_kind = first->detectors[0].vt->name;
    if (m->detectors[0].vt != first->detectors[0].vt)
        return an_error(ANOMA_ERR_INVALID_ARGUMENT, "merge: models[%zu] is %s, models[0] %s: "
                        "detectors of different kinds do not merge", k, kind, first_kind);
    if (m->n_features != first->n_features)
        return an_error(ANOMA_ERR_INVALID_ARGUMENT, "merge: models[%zu] has feature count %zu, "
                        "models[0] %zu: models of different widths do not merge", k,
                        m->n_features, first->n_features);
    if (!m->feature_names != !first->feature_names)
        return an_error(ANOMA_ERR_INVALID_ARGUMENT, "merge: models[%zu] has %sfeature names, "
                        "models[0] %s", k, m->feature_names ? "" : "no ",
                        first->feature_names ? "has" : "none");
    for (size_t j = 0; m->feature_names && j < m->n_features; j++)
        if (strcmp(m->feature_names[j], first->feature_names[j]))
            return an_error(ANOMA_ERR_INVALID_ARGUMENT, "merge: models[%zu] names feature %zu "
                            "'%s', models[0] '%s'", k, j, m->feature_names[j],
                            first->feature_names[j]);
    return ANOMA_OK;
}

typedef struct merge_job {
    const anoma_model *const *models;
    size_t n;
} merge_job;

/* an_model_fill_fn: detector k of m, the merge of every source's one. */
static anoma_status merge_states(anoma_model *m, size_t k, void *ctx)
{
    const merge_job *job = ctx;
    const void **parts = AN_NEW_ARRAY(const void *, job->n);
    if (!parts)
        return an_no_memory();
    for (size_t i = 0; i < job->n; i++)
        parts[i] = job->models[i]->detectors[0].state;
    an_model_detector *d = &m->detectors[k];
    anoma_status st = d->vt->merge(d->state, &d->params, parts, job->n);
    an_free(parts);
    return st;
}

anoma_status anoma_model_merge(const anoma_model *const *models, size_t n, const char *params,
                               anoma_model **out)
{
    if (!models || !out)
        return an_error(ANOMA_ERR_INVALID_ARGUMENT, "anoma_model_merge: NULL argument");
    *out = NULL;
    if (!n)
        return an_error(ANOMA_ERR_EMPTY, "merge: no model given");
    for (size_t k = 0; k < n; k++) {
        if (!models[k])
            return an_error(ANOMA_ERR_INVALID_ARGUMENT, "merge: models[%zu] is NULL", k);
        if (!models[k]->fitted)
            return an_error(ANOMA_ERR_NOT_FITTED, "merge: models[%zu] is not fitted", k);
        AN_TRY(check_shape(models[k], k));
        AN_TRY(check_like_first(models[k], models[0], k));
    }
    const anoma_model *first = models[0];
    anoma_model *m = NULL;
    AN_TRY(anoma_model_create(params, &m));
    anoma_status st = ANOMA_OK;
    if (first->feature_names) /* before the detector: the input schema takes them */
        st = anoma_model_set_feature_names(m, (const char *const *)first->feature_names,
                                           first->n_features);
    merge_job job = {models, n};
    if (st == ANOMA_OK)
        st = an_model_add_fitted(m, "merge", first->detectors[0].vt->name, NULL,
                                 first->n_features, merge_states, &job);
    if (st != ANOMA_OK) {
        anoma_model_free(m);
        return st;
    }
    *out = m;
    return ANOMA_OK;
}
