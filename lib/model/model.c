/* The model bundle: building, fitting and describing. */
#include "model/model.h"
#include "core/alloc.h"
#include "core/error.h"
#include "core/threads.h"
#include "core/matrix.h"
#include "core/strbuf.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* contamination and threshold both decide the threshold, so a model may be
 * given one of them, not both: whichever order a user sets them in, the
 * second would otherwise silently win or lose. A contamination equal to its
 * default counts as not given (it is what every model starts with). */
static anoma_status check_threshold_rule(const an_params *p)
{
    const char *contamination = an_params_text(p, "contamination");
    const char *fallback = an_model_schema[0].default_value;
    double fallback_rate;
    int is_default = !an_params_is(p, "contamination", "auto") &&
                     an_parse_double(fallback, &fallback_rate) &&
                     an_params_double(p, "contamination") == fallback_rate;
    if (an_params_is(p, "threshold", "auto") || is_default)
        return ANOMA_OK;
    return an_error(ANOMA_ERR_PARAM_VALUE, "model parameters contamination=%s and threshold=%s "
                    "both set the threshold: give one of them (threshold=auto takes it from "
                    "contamination; contamination=%s, the default, leaves it to threshold)",
                    contamination, an_params_text(p, "threshold"), fallback);
}

/* What can be checked of the parameters before detectors are added. */
static anoma_status check_model_params(const an_params *p)
{
    AN_TRY(an_ensemble_check_weights_text(an_params_text(p, "weights")));
    return check_threshold_rule(p);
}

anoma_status anoma_model_create(const char *params, anoma_model **out)
{
    if (!out)
        return an_error(ANOMA_ERR_INVALID_ARGUMENT, "anoma_model_create: NULL out");
    *out = NULL;
    anoma_model *m = AN_NEW_ZEROED(anoma_model, 1);
    if (!m)
        return an_no_memory();
    anoma_status st = an_params_init(&m->params, "model", an_model_schema, an_model_schema_size);
    if (st == ANOMA_OK)
        st = an_params_parse(&m->params, params);
    if (st == ANOMA_OK)
        st = check_model_params(&m->params);
    if (st != ANOMA_OK) {
        anoma_model_free(m);
        return st;
    }
    m->n_threads = (size_t)an_params_int(&m->params, "n_threads");
    *out = m;
    return ANOMA_OK;
}

static void free_feature_names(anoma_model *m)
{
    if (m->feature_names)
        for (size_t j = 0; j < m->n_features; j++)
            an_free(m->feature_names[j]);
    an_free(m->feature_names);
    m->feature_names = NULL;
}

void anoma_model_free(anoma_model *m)
{
    if (!m)
        return;
    for (size_t k = 0; k < m->n_detectors; k++) {
        an_model_detector *d = &m->detectors[k];
        if (d->state)
            d->vt->destroy(d->state);
        an_params_free(&d->params);
        an_distribution_free(&d->ranks);
    }
    an_free(m->detectors);
    an_nb_table_free(&m->shared_rows); /* after the detectors, its users */
    an_pipeline_free(&m->pipeline);
    free_feature_names(m);
    an_params_free(&m->params);
    an_probability_free(&m->probability);
    an_model_eval_free(&m->eval);
    an_free(m);
}

anoma_status an_model_detector_reset(anoma_model *m, an_model_detector *d)
{
    void *state = NULL;
    AN_TRY(d->vt->create(&d->params, &state));
    if (d->vt->share_rows)
        d->vt->share_rows(state, &m->shared_rows);
    if (d->state)
        d->vt->destroy(d->state);
    d->state = state;
    d->shift = 0;
    d->scale = 1;
    d->weight = 1;
    d->vote_threshold = NAN;
    an_distribution_free(&d->ranks);
    return ANOMA_OK;
}

anoma_status anoma_model_add_detector(anoma_model *m, const char *name, const char *params,
                                      size_t *index)
{
    if (!m || !name)
        return an_error(ANOMA_ERR_INVALID_ARGUMENT, "anoma_model_add_detector: NULL argument");
    if (m->fitted)
        return an_error(ANOMA_ERR_UNSUPPORTED, "a fitted model is immutable: build a new one");
    if (m->n_detectors >= AN_MODEL_MAX_DETECTORS)
        return an_error(ANOMA_ERR_INVALID_ARGUMENT, "add_detector: a model holds at most %d detectors",
                        (int)AN_MODEL_MAX_DETECTORS);
    const an_detector_vtable *vt = an_detector_find(name);
    if (!vt) {
        an_strbuf known = {0};
        for (size_t i = 0; an_detector_at(i); i++)
            an_strbuf_printf(&known, "%s%s", i ? ", " : "", an_detector_at(i)->name);
        anoma_status st = an_error(ANOMA_ERR_UNKNOWN_NAME, "unknown detector '%s' (known: %s)",
                                   name, known.data ? known.data : "none");
        an_strbuf_free(&known);
        return st;
    }
    an_model_detector d = {.vt = vt, .scale = 1, .weight = 1, .vote_threshold = NAN};
    AN_TRY(an_params_init(&d.params, vt->name, vt->params, vt->n_params));
    anoma_status st = an_params_parse(&d.params, params);
    if (st == ANOMA_OK)
        st = an_model_detector_reset(m, &d);
    an_model_detector *grown = NULL;
    if (st == ANOMA_OK) {
        grown = an_realloc_array(m->detectors, m->n_detectors + 1, sizeof *grown);
        if (!grown)
            st = an_no_memory();
    }
    if (st != ANOMA_OK) {
        if (d.state)
            vt->destroy(d.state);
        an_params_free(&d.params);
        return st;
    }
    m->detectors = grown;
    m->detectors[m->n_detectors] = d;
    if (index)
        *index = m->n_detectors;
    m->n_detectors++;
    return ANOMA_OK;
}

anoma_status anoma_model_set_param(anoma_model *m, const char *key, const char *value)
{
    if (!m || !key || !value)
        return an_error(ANOMA_ERR_INVALID_ARGUMENT, "anoma_model_set_param: NULL argument");
    int is_threshold = !strcmp(key, "threshold"), is_threads = !strcmp(key, "n_threads");
    if (m->fitted && !is_threshold && !is_threads)
        return an_error(ANOMA_ERR_UNSUPPORTED, "a fitted model is immutable: only 'threshold' and "
                        "the run-time option 'n_threads' can still be set");
    if (m->fitted && is_threshold && !strcmp(value, "auto"))
        return an_error(ANOMA_ERR_UNSUPPORTED, "threshold=auto on a fitted model: the threshold "
                        "is learned at fit time; set a number to replace it");
    an_params before;
    AN_TRY(an_params_copy(&before, &m->params));
    anoma_status st = an_params_set(&m->params, key, value);
    if (st == ANOMA_OK && m->fitted && is_threshold) {
        /* the fitted threshold is replaced: contamination no longer says
         * how it was made, and the parameters must still make a model */
        st = an_params_set(&m->params, "contamination", an_model_schema[0].default_value);
        if (st == ANOMA_OK)
            m->threshold = an_params_double(&m->params, "threshold");
    }
    if (st == ANOMA_OK && (is_threshold || !strcmp(key, "contamination") ||
                           !strcmp(key, "weights")))
        st = check_model_params(&m->params); /* only these: a file may hold both */
    if (st != ANOMA_OK) { /* keep the parameters as they were */
        an_params_free(&m->params);
        m->params = before;
        return st;
    }
    an_params_free(&before);
    if (is_threads)
        m->n_threads = (size_t)an_params_int(&m->params, "n_threads");
    return ANOMA_OK;
}

anoma_status anoma_model_set_detector_param(anoma_model *m, size_t index, const char *key,
                                            const char *value)
{
    if (!m || !key || !value)
        return an_error(ANOMA_ERR_INVALID_ARGUMENT, "anoma_model_set_detector_param: NULL argument");
    const an_model_detector *found = NULL;
    AN_TRY(an_model_detector_at(m, index, AN_USE_ANY, &found));
    if (m->fitted)
        return an_error(ANOMA_ERR_UNSUPPORTED, "a fitted model is immutable: build a new one");
    an_model_detector *d = &m->detectors[index];
    if (d->imported_width)
        return an_error(ANOMA_ERR_UNSUPPORTED, "detector %zu was imported fitted: its parameters "
                        "are those it was fitted with", index);
    an_params saved;
    AN_TRY(an_params_copy(&saved, &d->params));
    anoma_status st = an_params_set(&d->params, key, value);
    if (st == ANOMA_OK)
        st = an_model_detector_reset(m, d);
    if (st != ANOMA_OK) { /* keep the detector as it was */
        an_params_free(&d->params);
        d->params = saved;
        return st;
    }
    an_params_free(&saved);
    return ANOMA_OK;
}

static anoma_status export_params(const an_params *p, char *buf, size_t cap, size_t *needed)
{
    an_strbuf sb = {0};
    an_params_format(p, &sb);
    anoma_status st = an_strbuf_export(&sb, buf, cap, needed);
    an_strbuf_free(&sb);
    return st;
}

anoma_status anoma_model_params(const anoma_model *m, char *buf, size_t cap, size_t *needed)
{
    if (!m || (!buf && cap))
        return an_error(ANOMA_ERR_INVALID_ARGUMENT, "anoma_model_params: NULL argument");
    return export_params(&m->params, buf, cap, needed);
}

anoma_status anoma_model_detector_params(const anoma_model *m, size_t index, char *buf,
                                         size_t cap, size_t *needed)
{
    if (!m || (!buf && cap))
        return an_error(ANOMA_ERR_INVALID_ARGUMENT, "anoma_model_detector_params: NULL argument");
    const an_model_detector *d = NULL;
    AN_TRY(an_model_detector_at(m, index, AN_USE_ANY, &d));
    return export_params(&d->params, buf, cap, needed);
}

/* The calling thread's own count, if it set one, wins over the model's. */
size_t an_model_n_threads(const anoma_model *m) { return an_calling_thread_n_threads(m->n_threads); }

anoma_status anoma_model_set_n_threads(anoma_model *m, size_t n_threads)
{
    if (!m)
        return an_error(ANOMA_ERR_INVALID_ARGUMENT, "anoma_model_set_n_threads: NULL model");
    char text[32];
    snprintf(text, sizeof text, "%zu", n_threads);
    return anoma_model_set_param(m, "n_threads", text);
}

anoma_status anoma_model_set_progress(anoma_model *m, anoma_progress_fn fn, void *user)
{
    if (!m)
        return an_error(ANOMA_ERR_INVALID_ARGUMENT, "anoma_model_set_progress: NULL model");
    m->progress = (an_progress){fn, user};
    return ANOMA_OK;
}

void an_model_note_scratch(anoma_model *m, const an_model_detector *d)
{
    size_t bytes = an_detector_scratch_bytes(d->vt, d->state);
    size_t align = an_detector_scratch_align(d->vt);
    if (bytes > m->scratch_bytes)
        m->scratch_bytes = bytes;
    if (align > m->scratch_align)
        m->scratch_align = align;
}

anoma_status an_model_check_stateless(const anoma_model *m, const char *what)
{
    for (size_t k = 0; k < m->n_detectors; k++)
        if (m->detectors[k].vt->flags & ANOMA_FLAG_STATEFUL)
            return an_error(ANOMA_ERR_UNSUPPORTED,
                            "%s: detector '%s' is stateful (its scores depend on each entity's "
                            "history): score it through a stream, not in batch or row by row",
                            what, m->detectors[k].vt->name);
    return ANOMA_OK;
}

anoma_status an_model_check_scores_rows(const anoma_model *m, const char *what)
{
    for (size_t k = 0; k < m->n_detectors; k++) {
        const an_model_detector *d = &m->detectors[k];
        const char *why = d->vt->cannot_score ? d->vt->cannot_score(d->state) : NULL;
        if (why)
            return an_error(ANOMA_ERR_UNSUPPORTED, "%s: detector %zu ('%s') %s", what, k,
                            d->vt->name, why);
    }
    return ANOMA_OK;
}

/* Labels or weights that no detector fits with (an imported detector is
 * fitted already) are refused: ignoring them would look like success. */
static anoma_status check_used(const anoma_model *m, unsigned flag, const char *what,
                               const char *use)
{
    an_strbuf names = {0};
    for (size_t k = 0; k < m->n_detectors; k++) {
        const an_model_detector *d = &m->detectors[k];
        if ((d->vt->flags & flag) && !d->imported_width) {
            an_strbuf_free(&names);
            return ANOMA_OK;
        }
        an_strbuf_printf(&names, "%s%s%s", k ? ", " : "", d->vt->name,
                         d->imported_width ? " (imported fitted)" : "");
    }
    anoma_status st = an_error(ANOMA_ERR_INVALID_ARGUMENT,
                               "fit: %s were given, but no detector of the model %s (%s): pass "
                               "NULL instead of ignoring them", what, use,
                               names.data ? names.data : "");
    an_strbuf_free(&names);
    return st;
}

anoma_status an_model_check_labels(const char *what, const int *labels, const double *weights,
                                   size_t rows)
{
    for (size_t i = 0; labels && i < rows; i++)
        if (labels[i] != 0 && labels[i] != 1)
            return an_error(ANOMA_ERR_INVALID_ARGUMENT, "%s: label %d at row %zu is not 0 or 1",
                            what, labels[i], i);
    for (size_t i = 0; weights && i < rows; i++)
        if (!(weights[i] >= 0) || isinf(weights[i]))
            return an_error(ANOMA_ERR_INVALID_ARGUMENT,
                            "%s: weight %g at row %zu is not a finite non-negative number", what,
                            weights[i], i);
    return ANOMA_OK;
}

static anoma_status check_fit_input(const anoma_model *m, size_t rows, size_t cols,
                                    const int *labels, const double *weights)
{
    if (m->fitted)
        return an_error(ANOMA_ERR_UNSUPPORTED, "the model is already fitted: build a new one");
    if (!m->n_detectors)
        return an_error(ANOMA_ERR_EMPTY, "the model has no detector: add one first");
    AN_TRY(an_model_check_stateless(m, "fit"));
    if (!rows || !cols)
        return an_error(ANOMA_ERR_EMPTY, "fit: training data is %zu x %zu; it needs rows and columns",
                        rows, cols);
    if (cols > AN_MODEL_MAX_FEATURES)
        return an_error(ANOMA_ERR_SHAPE, "fit: %zu columns; a model holds at most %d", cols,
                        (int)AN_MODEL_MAX_FEATURES);
    if (rows > AN_MODEL_MAX_FIT_ROWS)
        return an_error(ANOMA_ERR_SHAPE, "fit: %zu rows; a fit takes at most %zu", rows,
                        AN_MODEL_MAX_FIT_ROWS);
    AN_TRY(an_model_check_labels("fit", labels, weights, rows));
    for (size_t k = 0; k < m->n_detectors; k++)
        if ((m->detectors[k].vt->flags & ANOMA_FLAG_NEEDS_LABELS) && !labels &&
            !m->detectors[k].imported_width)
            return an_error(ANOMA_ERR_INVALID_ARGUMENT, "fit: detector '%s' needs labels",
                            m->detectors[k].vt->name);
    AN_TRY(an_ensemble_check(m)); /* the weights against the detectors, before any work */
    double rule;
    if (an_params_is(&m->params, "threshold", "auto") &&
        an_params_is(&m->params, "contamination", "auto"))
        AN_TRY(an_model_auto_threshold(m, &rule)); /* before any work, not after it */
    if (labels)
        AN_TRY(check_used(m, ANOMA_FLAG_SUPERVISED, "labels", "learns from labels"));
    if (weights)
        AN_TRY(check_used(m, ANOMA_FLAG_SAMPLE_WEIGHTS, "sample weights", "uses sample weights"));
    return ANOMA_OK;
}

/* Fit every detector, then learn normalisation and threshold on the
 * training scores. On failure the detectors are reset to unfitted. */
static anoma_status fit_detectors(anoma_model *m, const double *x, int x_is_callers, size_t rows,
                                  size_t cols, const int *labels, const double *weights)
{
    an_eval_rows *eval = NULL;
    AN_TRY(an_model_eval_rows(m, &eval));
    an_fit_data data = {.x = x, .rows = rows, .cols = cols, .x_outlives_fit = x_is_callers,
                        .labels = labels, .weights = weights,
                        .n_threads = an_model_n_threads(m), .progress = &m->progress,
                        .eval_sets = eval, .n_eval_sets = m->eval.n};
    double **raw = AN_NEW_ZEROED(double *, m->n_detectors);
    if (!raw) {
        an_free(eval);
        return an_no_memory();
    }
    anoma_status st = ANOMA_OK;
    m->width = cols;
    m->scratch_bytes = 0;
    m->scratch_align = 1;
    /* Training scores on at most calibration_rows rows where the threshold
     * or the normalisation learns from them, else on probability_rows for
     * the default probability alone (calibration.c). */
    st = an_ensemble_resolve(m);
    an_model_sample cal = {.x = x, .rows = rows, .cols = cols};
    if (st == ANOMA_OK && an_model_calibration_limit(m))
        st = an_model_calibration_rows(m, rows, &cal.picked, &cal.n);
    size_t n_cal = cal.n;
    for (size_t k = 0; k < m->n_detectors && st == ANOMA_OK; k++) {
        an_model_detector *d = &m->detectors[k];
        if (d->imported_width && d->imported_width != cols)
            st = an_error(ANOMA_ERR_SHAPE, "fit: imported detector %zu (%s) takes %zu columns; the "
                          "pipeline makes %zu", k, d->vt->name, d->imported_width, cols);
        else if (!d->imported_width)
            st = d->vt->fit(d->state, &data);
        if (st == ANOMA_OK) {
            an_model_note_scratch(m, d);
            if (n_cal) {
                raw[k] = AN_NEW_ARRAY(double, n_cal);
                st = raw[k] ? an_model_training_raw(m, k, &cal, raw[k]) : an_no_memory();
            }
        }
    }
    if (st == ANOMA_OK)
        st = an_model_calibrate(m, raw, n_cal);
    for (size_t k = 0; k < m->n_detectors; k++)
        an_free(raw[k]);
    an_free(raw);
    an_free(cal.picked);
    an_free(cal.copy);
    an_free(eval);
    return st;
}

anoma_status an_model_set_matrix_schema(anoma_model *m, size_t cols)
{
    const char **names = AN_NEW_ARRAY(const char *, cols);
    char **made = AN_NEW_ZEROED(char *, cols);
    an_cell_type *types = AN_NEW_ARRAY(an_cell_type, cols);
    anoma_status st = names && made && types ? ANOMA_OK : an_no_memory();
    for (size_t j = 0; j < cols && st == ANOMA_OK; j++) {
        types[j] = AN_CELL_NUMBER;
        if (m->feature_names) {
            names[j] = m->feature_names[j];
        } else {
            char buf[32];
            snprintf(buf, sizeof buf, "x%zu", j);
            names[j] = made[j] = an_strdup(buf);
            if (!made[j])
                st = an_no_memory();
        }
    }
    if (st == ANOMA_OK)
        st = an_pipeline_set_input(&m->pipeline, cols, names, types);
    for (size_t j = 0; made && j < cols; j++)
        an_free(made[j]);
    an_free(made);
    an_free(names);
    an_free(types);
    return st;
}

static void unfit(anoma_model *m)
{
    for (size_t k = 0; k < m->n_detectors; k++)
        if (!m->detectors[k].imported_width)
            an_model_detector_reset(m, &m->detectors[k]);
    an_pipeline_unfit(&m->pipeline);
    an_probability_free(&m->probability);
    if (!m->feature_names)
        m->n_features = 0;
    m->width = 0;
}

anoma_status an_model_fit_input(anoma_model *m, const an_input *in, const int *labels,
                                const double *weights)
{
    size_t n_inputs = m->pipeline.n_inputs;
    AN_TRY(check_fit_input(m, in->rows, n_inputs, labels, weights));
    double *dense = NULL;
    anoma_status st = ANOMA_OK;
    if (in->matrix && !m->pipeline.n_steps) {
        /* no steps: the detectors read the matrix, exactly as before pipelines */
        const anoma_matrix *x = in->matrix;
        const double *view = x->data;
        if (x->dtype != ANOMA_F64 || x->row_stride != x->cols)
            st = an_matrix_to_f64(x, &dense);
        if (st == ANOMA_OK)
            st = an_pipeline_plan(&m->pipeline);
        if (st == ANOMA_OK)
            st = an_model_eval_prepare(m, 0, x->cols);
        if (st == ANOMA_OK)
            st = fit_detectors(m, dense ? dense : view, !dense, x->rows, x->cols, labels,
                               weights);
        if (st == ANOMA_OK)
            m->pipeline.fitted = 1;
    } else {
        st = an_pipeline_fit(&m->pipeline, in, an_model_n_threads(m), &dense);
        if (st == ANOMA_OK)
            st = an_model_eval_prepare(m, 1, m->pipeline.n_outputs);
        if (st == ANOMA_OK)
            st = fit_detectors(m, dense, 0, in->rows, m->pipeline.n_outputs, labels, weights);
    }
    an_free(dense);
    if (st != ANOMA_OK) {
        unfit(m); /* as before the call: unfitted and fittable */
        return st;
    }
    m->n_features = n_inputs;
    m->train_rows = in->rows;
    m->fitted = 1;
    an_model_eval_free(&m->eval); /* used: release the copy */
    return ANOMA_OK;
}

anoma_status anoma_model_fit(anoma_model *m, const anoma_matrix *x, const int *labels,
                             const double *weights)
{
    if (!m)
        return an_error(ANOMA_ERR_INVALID_ARGUMENT, "anoma_model_fit: NULL model");
    if (m->fitted)
        return an_error(ANOMA_ERR_UNSUPPORTED, "the model is already fitted: build a new one");
    AN_TRY(an_matrix_check(x, "fit"));
    AN_TRY(check_fit_input(m, x->rows, x->cols, labels, weights));
    AN_TRY(an_matrix_check_finite(x, "fit"));
    if (m->feature_names && m->n_features != x->cols)
        return an_error(ANOMA_ERR_SHAPE, "fit: %zu feature names were set but the data has %zu columns",
                        m->n_features, x->cols);
    AN_TRY(an_model_set_matrix_schema(m, x->cols));
    an_input in = {x, NULL, x->rows};
    return an_model_fit_input(m, &in, labels, weights);
}

int anoma_model_is_fitted(const anoma_model *m) { return m && m->fitted; }

size_t anoma_model_n_features(const anoma_model *m) { return m && m->fitted ? m->n_features : 0; }

size_t anoma_model_n_detectors(const anoma_model *m) { return m ? m->n_detectors : 0; }

const char *anoma_model_detector_name(const anoma_model *m, size_t index)
{
    return m && index < m->n_detectors ? m->detectors[index].vt->name : NULL;
}

anoma_status anoma_model_threshold(const anoma_model *m, double *threshold)
{
    if (!m || !threshold)
        return an_error(ANOMA_ERR_INVALID_ARGUMENT, "anoma_model_threshold: NULL argument");
    if (!m->fitted)
        return an_error(ANOMA_ERR_NOT_FITTED, "the model is not fitted");
    *threshold = m->threshold;
    return ANOMA_OK;
}

anoma_status anoma_model_set_feature_names(anoma_model *m, const char *const *names,
                                           size_t count)
{
    if (!m || (!names && count))
        return an_error(ANOMA_ERR_INVALID_ARGUMENT, "anoma_model_set_feature_names: NULL argument");
    if ((m->fitted || m->feature_names) && count != m->n_features)
        return an_error(ANOMA_ERR_SHAPE, "%zu feature names given for %zu features", count,
                        m->n_features);
    if (count > AN_MODEL_MAX_FEATURES)
        return an_error(ANOMA_ERR_SHAPE, "%zu feature names; a model holds at most %d features",
                        count, (int)AN_MODEL_MAX_FEATURES);
    char **copy = AN_NEW_ZEROED(char *, count);
    if (!copy)
        return an_no_memory();
    for (size_t j = 0; j < count; j++) {
        copy[j] = names[j] ? an_strdup(names[j]) : NULL;
        if (!names[j] || !copy[j]) {
            for (size_t i = 0; i <= j; i++)
                an_free(copy[i]);
            an_free(copy);
            return names[j] ? an_no_memory()
                            : an_error(ANOMA_ERR_INVALID_ARGUMENT, "feature name %zu is NULL", j);
        }
    }
    free_feature_names(m);
    m->feature_names = copy;
    m->n_features = count;
    return ANOMA_OK;
}

const char *anoma_model_feature_name(const anoma_model *m, size_t index)
{
    return m && m->feature_names && index < m->n_features ? m->feature_names[index] : NULL;
}

size_t anoma_model_memory_bytes(const anoma_model *m)
{
    if (!m)
        return 0;
    size_t bytes = sizeof *m + m->n_detectors * sizeof *m->detectors;
    for (size_t k = 0; k < m->n_detectors; k++)
        if (m->detectors[k].vt->memory_bytes)
            bytes += m->detectors[k].vt->memory_bytes(m->detectors[k].state);
    for (size_t j = 0; m->feature_names && j < m->n_features; j++)
        bytes += sizeof(char *) + strlen(m->feature_names[j]) + 1;
    return bytes + an_nb_table_memory(&m->shared_rows) + an_pipeline_memory_bytes(&m->pipeline);
}

anoma_status anoma_model_describe(const anoma_model *m, char *buf, size_t cap, size_t *needed)
{
    if (!m || (!buf && cap))
        return an_error(ANOMA_ERR_INVALID_ARGUMENT, "anoma_model_describe: NULL argument");
    an_strbuf sb = {0};
    an_strbuf_printf(&sb, "model: %s\n", m->fitted ? "fitted" : "not fitted");
    an_strbuf_printf(&sb, "parameters: ");
    an_params_format(&m->params, &sb);
    an_strbuf_printf(&sb, "\n");
    if (m->fitted) {
        an_strbuf_printf(&sb, "training data: %zu rows x %zu features\nthreshold: %.17g\n",
                         m->train_rows, m->n_features, m->threshold);
        an_probability_describe(&m->probability, &sb);
    }
    if (m->feature_names) {
        an_strbuf_printf(&sb, "features:");
        for (size_t j = 0; j < m->n_features; j++)
            an_strbuf_printf(&sb, " %s", m->feature_names[j]);
        an_strbuf_printf(&sb, "\n");
    }
    an_pipeline_describe(&m->pipeline, &sb);
    an_strbuf_printf(&sb, "memory: %zu bytes\n", anoma_model_memory_bytes(m));
    an_nb_table_describe(&m->shared_rows, &sb);
    for (size_t k = 0; k < m->n_detectors; k++) {
        const an_model_detector *d = &m->detectors[k];
        an_strbuf_printf(&sb, "detector %zu: %s\n  parameters: ", k, d->vt->name);
        an_params_format(&d->params, &sb);
        an_strbuf_printf(&sb, "\n");
        if (m->fitted) {
            an_ensemble_describe(m, k, &sb);
            if (d->vt->describe)
                d->vt->describe(d->state, &sb);
        }
    }
    anoma_status st = an_strbuf_export(&sb, buf, cap, needed);
    an_strbuf_free(&sb);
    return st;
}
