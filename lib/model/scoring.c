/* Batch scoring: checks, per-detector raw scores across threads, combination. */
#include "model/model.h"
#include "anoma/pipeline.h"
#include "core/alloc.h"
#include "core/error.h"
#include "core/matrix.h"
#include "core/threads.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

/* Rows per worker below which starting a thread (tens of microseconds)
 * costs more than it saves: cheap detectors score a row in tens of ns.
 * Detectors with costly rows bring their own score_batch and split. */
enum { MIN_ROWS_PER_THREAD = 4096 };

anoma_status an_model_check_input(const anoma_model *m, const anoma_matrix *x, const char *what)
{
    if (!m)
        return an_error(ANOMA_ERR_INVALID_ARGUMENT, "%s: NULL model", what);
    if (!m->fitted)
        return an_error(ANOMA_ERR_NOT_FITTED, "%s: the model is not fitted", what);
    AN_TRY(an_model_check_stateless(m, what));
    AN_TRY(an_matrix_check(x, what));
    if (x->cols != m->n_features)
        return an_error(ANOMA_ERR_SHAPE, "%s: data has %zu columns, the model was fitted on %zu",
                        what, x->cols, m->n_features);
    an_input in = {x, NULL, x->rows};
    AN_TRY(an_input_check(&m->pipeline, &in, what)); /* a matrix needs a numbers-only schema */
    return an_matrix_check_finite(x, what);
}

/* A detector's rows across threads: scores (raw_range) or feature scores
 * (explain_range). */
typedef struct rows_job {
    const an_model_detector *d;
    const double *x;
    size_t cols;
    unsigned char *scratch; /* per worker: one aligned block of `stride` bytes each */
    size_t stride;
    double *out; /* a score a row, or cols feature scores a row */
} rows_job;

static void raw_range(void *ctx, size_t begin, size_t end, size_t worker)
{
    const rows_job *job = ctx;
    void *scratch = job->scratch ? job->scratch + worker * job->stride : NULL;
    for (size_t i = begin; i < end; i++)
        job->d->vt->score_row(job->d->state, job->x + i * job->cols, scratch, &job->out[i]);
}

static void explain_range(void *ctx, size_t begin, size_t end, size_t worker)
{
    const rows_job *job = ctx;
    void *scratch = job->scratch ? job->scratch + worker * job->stride : NULL;
    for (size_t i = begin; i < end; i++)
        job->d->vt->feature_scores_row(job->d->state, job->x + i * job->cols, scratch,
                                       job->out + i * job->cols);
}

anoma_status an_model_raw_scores(const anoma_model *m, size_t k, const double *x, size_t rows,
                                 double *scores)
{
    const an_model_detector *d = &m->detectors[k];
    size_t threads = an_model_n_threads(m);
    if (d->vt->score_batch)
        return d->vt->score_batch(d->state, x, rows, threads, scores);
    size_t workers = an_parallel_workers(rows, threads, MIN_ROWS_PER_THREAD);
    size_t align = an_detector_scratch_align(d->vt);
    size_t stride = an_align_up(an_detector_scratch_bytes(d->vt, d->state), align);
    rows_job job = {d, x, m->width, NULL, stride, scores};
    if (stride && (workers > SIZE_MAX / stride ||
                   !(job.scratch = an_malloc_aligned(workers * stride, align))))
        return an_no_memory();
    an_parallel_for(rows, workers, MIN_ROWS_PER_THREAD, raw_range, &job);
    an_free_aligned(job.scratch);
    return ANOMA_OK;
}

/* x as the detectors' input: the caller's memory when it already is, else
 * the pipeline's output or a converted copy (to an_free). */
static anoma_status dense_view(const anoma_model *m, const anoma_matrix *x, const double **dense,
                               double **copy)
{
    an_input in = {x, NULL, x->rows};
    return an_model_features(m, &in, dense, copy);
}

anoma_status anoma_model_score_detector(const anoma_model *m, size_t index,
                                        const anoma_matrix *x, double *scores)
{
    AN_TRY(an_model_check_input(m, x, "score"));
    const an_model_detector *d = NULL;
    AN_TRY(an_model_detector_at(m, index, AN_USE_ANY, &d));
    if (!scores && x->rows)
        return an_error(ANOMA_ERR_INVALID_ARGUMENT, "score: NULL output array");
    const double *dense;
    double *copy;
    AN_TRY(dense_view(m, x, &dense, &copy));
    anoma_status st = an_model_raw_scores(m, index, dense, x->rows, scores);
    an_free(copy);
    return st;
}

anoma_status anoma_model_training_scores(const anoma_model *m, size_t index, double *scores,
                                         size_t cap, size_t *needed)
{
    if (!m || (!scores && cap))
        return an_error(ANOMA_ERR_INVALID_ARGUMENT, "anoma_model_training_scores: NULL argument");
    if (!m->fitted)
        return an_error(ANOMA_ERR_NOT_FITTED, "training_scores: the model is not fitted");
    const an_model_detector *d = NULL;
    AN_TRY(an_model_detector_at(m, index, AN_USE_TRAINING_SCORES, &d));
    size_t rows = 0;
    const double *own = d->vt->training_scores(d->state, &rows);
    if (!own || !rows) /* kept by some fits only (lof: novelty=false) */
        return an_error(ANOMA_ERR_UNSUPPORTED, "detector '%s' has no training scores of its own: "
                        "score the training rows", d->vt->name);
    if (needed)
        *needed = rows;
    if (cap >= rows)
        memcpy(scores, own, rows * sizeof(double));
    return ANOMA_OK;
}

/* Rows per progress report at least: a block must keep every thread of a
 * batch busy (see MIN_ROWS_PER_THREAD and iforest's blocks). */
enum { MIN_ROWS_PER_REPORT = 16384 };

static anoma_status score_block(const anoma_model *m, const double *x, size_t rows,
                                double *scores);

anoma_status an_model_score_rows(const anoma_model *m, const double *x, size_t rows,
                                 double *scores)
{
    return an_model_score_part(m, x, rows, scores, 0, rows);
}

anoma_status an_model_score_part(const anoma_model *m, const double *x, size_t rows,
                                 double *scores, size_t first, size_t total)
{
    if (!an_progress_on(&m->progress))
        return score_block(m, x, rows, scores);
    size_t batch = an_progress_batch(total, MIN_ROWS_PER_REPORT);
    for (size_t done = 0; done < rows;) {
        size_t todo = rows - done < batch ? rows - done : batch;
        AN_TRY(score_block(m, x + done * m->width, todo, scores + done));
        done += todo;
        AN_TRY(an_progress_report(&m->progress, ANOMA_STAGE_SCORE, first + done, total,
                                  "score (rows scored)"));
    }
    return ANOMA_OK;
}

static anoma_status score_block(const anoma_model *m, const double *x, size_t rows,
                                double *scores)
{
    if (an_ensemble_is_identity(m))
        return an_model_raw_scores(m, 0, x, rows, scores);
    /* raw[k * rows + i]: detector-major, so each detector fills one block. */
    double *raw = an_malloc_array(m->n_detectors, rows * sizeof(double));
    double *row_raw = AN_NEW_ARRAY(double, m->n_detectors);
    anoma_status st = raw && row_raw ? ANOMA_OK : an_no_memory();
    for (size_t k = 0; k < m->n_detectors && st == ANOMA_OK; k++)
        st = an_model_raw_scores(m, k, x, rows, raw + k * rows);
    for (size_t i = 0; i < rows && st == ANOMA_OK; i++) {
        for (size_t k = 0; k < m->n_detectors; k++)
            row_raw[k] = raw[k * rows + i];
        scores[i] = an_ensemble_combine(m, row_raw);
    }
    an_free(row_raw);
    an_free(raw);
    return st;
}

anoma_status anoma_model_score(const anoma_model *m, const anoma_matrix *x, double *scores)
{
    AN_TRY(an_model_check_input(m, x, "score"));
    if (!scores && x->rows)
        return an_error(ANOMA_ERR_INVALID_ARGUMENT, "score: NULL output array");
    an_input in = {x, NULL, x->rows};
    return an_model_score_input(m, &in, scores);
}

anoma_status an_model_scores_of(const anoma_model *m, const char *fn, const anoma_matrix *x,
                                const anoma_frame *f, double **scores, size_t *rows)
{
    *scores = NULL;
    if (!x && !f)
        return an_error(ANOMA_ERR_INVALID_ARGUMENT, "%s: NULL rows", fn);
    *rows = x ? x->rows : anoma_frame_rows(f);
    if (*rows == 0)
        return an_error(ANOMA_ERR_EMPTY, "%s: no rows", fn);
    double *out = AN_NEW_ARRAY(double, *rows);
    if (!out)
        return an_no_memory();
    anoma_status st = x ? anoma_model_score(m, x, out) : anoma_model_score_frame(m, f, out);
    if (st != ANOMA_OK) {
        an_free(out);
        return st;
    }
    *scores = out;
    return ANOMA_OK;
}

anoma_status anoma_model_predict(const anoma_model *m, const anoma_matrix *x, int *out)
{
    AN_TRY(an_model_check_input(m, x, "predict"));
    if (!out && x->rows)
        return an_error(ANOMA_ERR_INVALID_ARGUMENT, "predict: NULL output array");
    double *scores = AN_NEW_ARRAY(double, x->rows);
    if (!scores)
        return an_no_memory();
    anoma_status st = anoma_model_score(m, x, scores);
    for (size_t i = 0; st == ANOMA_OK && i < x->rows; i++)
        out[i] = scores[i] > m->threshold;
    an_free(scores);
    return st;
}

/* Why a detector cannot serve a use, as the end of a sentence that starts
 * with its name; NULL when it can. */
static const char *lacking(const an_detector_vtable *vt, an_detector_use use)
{
    int explains = use == AN_USE_FEATURE_SCORES || use == AN_USE_SCORES_BASE;
    if (explains && !((vt->flags & ANOMA_FLAG_FEATURE_SCORES) && vt->feature_scores_row))
        return " has no per-feature scores";
    switch (use) {
    case AN_USE_ANY:
    case AN_USE_FEATURE_SCORES:
        return NULL;
    case AN_USE_SCORES_BASE:
        return vt->feature_scores_base ? NULL
                                       : ": its feature scores are not contributions added to a base";
    case AN_USE_TRAINING_SCORES:
        return vt->training_scores ? NULL
                                   : " has no training scores of its own: "
                                     "score the training rows";
    case AN_USE_EVAL_HISTORY:
        return vt->eval_history ? NULL : " records no evaluation history";
    case AN_USE_FEATURE_IMPORTANCE:
        return vt->feature_importance ? NULL : " has no feature importance";
    }
    return NULL;
}

anoma_status an_model_detector_at(const anoma_model *m, size_t index, an_detector_use use,
                                  const an_model_detector **d)
{
    if (index >= m->n_detectors)
        return an_error(ANOMA_ERR_INVALID_ARGUMENT, "detector index %zu: the model has %zu", index,
                        m->n_detectors);
    const char *lacks = lacking(m->detectors[index].vt, use);
    if (lacks)
        return an_error(ANOMA_ERR_UNSUPPORTED, "detector '%s'%s", m->detectors[index].vt->name,
                        lacks);
    *d = &m->detectors[index];
    return ANOMA_OK;
}

/* Rows per worker for feature scores: a row's explanation costs from a
 * few microseconds (isolation forest) to hundreds (TreeSHAP of 100 deep
 * trees), so far fewer rows than a score pay for a thread. */
enum { MIN_EXPLAINED_ROWS_PER_THREAD = 64 };

/* Each row's feature scores, rows split across the model's threads (a
 * row's are computed alone, so the split changes no bit). */
anoma_status an_model_feature_scores_rows(const anoma_model *m, const an_model_detector *d,
                                          const double *x, size_t rows, double *out)
{
    size_t workers = an_parallel_workers(rows, an_model_n_threads(m),
                                         MIN_EXPLAINED_ROWS_PER_THREAD);
    size_t align = m->scratch_align ? m->scratch_align : 1;
    size_t stride = an_align_up(m->scratch_bytes, align);
    rows_job job = {d, x, m->width, NULL, stride, out};
    if (stride && (workers > SIZE_MAX / stride ||
                   !(job.scratch = an_malloc_aligned(workers * stride, align))))
        return an_no_memory();
    an_parallel_for(rows, workers, MIN_EXPLAINED_ROWS_PER_THREAD, explain_range, &job);
    an_free_aligned(job.scratch);
    return ANOMA_OK;
}

anoma_status anoma_model_feature_scores(const anoma_model *m, size_t index,
                                        const anoma_matrix *x, double *out)
{
    AN_TRY(an_model_check_input(m, x, "feature_scores"));
    const an_model_detector *d = NULL;
    AN_TRY(an_model_detector_at(m, index, AN_USE_FEATURE_SCORES, &d));
    if (!out && x->rows)
        return an_error(ANOMA_ERR_INVALID_ARGUMENT, "feature_scores: NULL output array");
    const double *dense;
    double *copy;
    AN_TRY(dense_view(m, x, &dense, &copy));
    anoma_status st = an_model_feature_scores_rows(m, d, dense, x->rows, out);
    an_free(copy);
    return st;
}

anoma_status anoma_model_feature_scores_base(const anoma_model *m, size_t index, double *base)
{
    if (!m || !base)
        return an_error(ANOMA_ERR_INVALID_ARGUMENT, "feature_scores_base: NULL argument");
    if (!m->fitted)
        return an_error(ANOMA_ERR_NOT_FITTED, "feature_scores_base: the model is not fitted");
    const an_model_detector *d = NULL;
    AN_TRY(an_model_detector_at(m, index, AN_USE_SCORES_BASE, &d));
    *base = d->vt->feature_scores_base(d->state);
    return ANOMA_OK;
}

anoma_status anoma_model_eval_history(const anoma_model *m, size_t index, size_t set,
                                      const char *metric, double *out, size_t cap, size_t *n)
{
    if (!m || !metric || !n || (cap && !out))
        return an_error(ANOMA_ERR_INVALID_ARGUMENT, "eval_history: NULL argument");
    if (!m->fitted)
        return an_error(ANOMA_ERR_NOT_FITTED, "eval_history: the model is not fitted");
    const an_model_detector *d = NULL;
    AN_TRY(an_model_detector_at(m, index, AN_USE_EVAL_HISTORY, &d));
    const double *values;
    size_t count;
    AN_TRY(d->vt->eval_history(d->state, set, metric, &values, &count));
    for (size_t k = 0; k < count && k < cap; k++)
        out[k] = values[k];
    *n = count;
    return ANOMA_OK;
}

anoma_status anoma_model_feature_importance(const anoma_model *m, size_t index, const char *kind,
                                            double *out)
{
    if (!m || !kind || !out)
        return an_error(ANOMA_ERR_INVALID_ARGUMENT, "feature_importance: NULL argument");
    if (!m->fitted)
        return an_error(ANOMA_ERR_NOT_FITTED, "feature_importance: the model is not fitted");
    const an_model_detector *d = NULL;
    AN_TRY(an_model_detector_at(m, index, AN_USE_FEATURE_IMPORTANCE, &d));
    return d->vt->feature_importance(d->state, kind, out);
}
