/* The model's first stage: pipeline steps, frames in, the two widths.
 * The steps themselves are lib/features; this file connects them to the
 * model's calls (include/anoma/pipeline.h). */
#include "model/model.h"
#include "anoma/pipeline.h"
#include "core/alloc.h"
#include "core/error.h"
#include "core/matrix.h"
#include "core/threads.h"

#include <string.h>

_Static_assert(sizeof(anoma_value) == sizeof(an_cell), "anoma_value and an_cell share a layout");

anoma_status anoma_model_add_step(anoma_model *m, const char *step, const char *params,
                                  size_t *index)
{
    if (!m || !step)
        return an_error(ANOMA_ERR_INVALID_ARGUMENT, "anoma_model_add_step: NULL argument");
    if (m->fitted)
        return an_error(ANOMA_ERR_UNSUPPORTED, "a fitted model is immutable: build a new one");
    AN_TRY(an_pipeline_add(&m->pipeline, step, params));
    if (index)
        *index = m->pipeline.n_steps - 1;
    return ANOMA_OK;
}

size_t anoma_model_n_steps(const anoma_model *m) { return m ? m->pipeline.n_steps : 0; }

const char *anoma_model_step_name(const anoma_model *m, size_t index)
{
    return m && index < m->pipeline.n_steps ? m->pipeline.steps[index].vt->name : NULL;
}

anoma_status anoma_model_step_params(const anoma_model *m, size_t index, char *buf, size_t cap,
                                     size_t *needed)
{
    if (!m || (!buf && cap))
        return an_error(ANOMA_ERR_INVALID_ARGUMENT, "anoma_model_step_params: NULL argument");
    if (index >= m->pipeline.n_steps)
        return an_error(ANOMA_ERR_INVALID_ARGUMENT, "step index %zu: the model has %zu", index,
                        m->pipeline.n_steps);
    an_strbuf sb = {0};
    an_params_format(&m->pipeline.steps[index].params, &sb);
    anoma_status st = an_strbuf_export(&sb, buf, cap, needed);
    an_strbuf_free(&sb);
    return st;
}

static an_cell_type cell_type_of(anoma_column_type t)
{
    return t == ANOMA_COL_STRING      ? AN_CELL_TEXT
           : t == ANOMA_COL_TIMESTAMP ? AN_CELL_TIMESTAMP
                                      : AN_CELL_NUMBER;
}

anoma_status an_model_frame_columns(const an_pipeline *p, const anoma_frame *f, const char *what,
                                an_input_column **columns)
{
    *columns = AN_NEW_ARRAY(an_input_column, p->n_inputs ? p->n_inputs : 1);
    if (!*columns)
        return an_no_memory();
    for (size_t j = 0; j < p->n_inputs; j++) {
        size_t at;
        if (anoma_frame_find_column(f, p->input_names[j], &at) != ANOMA_OK) {
            an_free(*columns);
            *columns = NULL;
            return an_error(ANOMA_ERR_INVALID_ARGUMENT, "%s: the frame has no column '%s'", what,
                            p->input_names[j]);
        }
        anoma_frame_column(f, at, &(*columns)[j].type, &(*columns)[j].values);
    }
    return ANOMA_OK;
}

anoma_status anoma_model_fit_frame(anoma_model *m, const anoma_frame *f, const int *labels,
                                   const double *weights)
{
    if (!m || !f)
        return an_error(ANOMA_ERR_INVALID_ARGUMENT, "anoma_model_fit_frame: NULL argument");
    if (m->fitted)
        return an_error(ANOMA_ERR_UNSUPPORTED, "the model is already fitted: build a new one");
    /* the schema: the names set, taken from the frame, else every column */
    size_t n = m->feature_names ? m->n_features : anoma_frame_cols(f);
    const char **names = AN_NEW_ARRAY(const char *, n ? n : 1);
    an_cell_type *types = AN_NEW_ARRAY(an_cell_type, n ? n : 1);
    anoma_status st = names && types ? ANOMA_OK : an_no_memory();
    for (size_t j = 0; j < n && st == ANOMA_OK; j++) {
        size_t at = j;
        if (m->feature_names &&
            anoma_frame_find_column(f, m->feature_names[j], &at) != ANOMA_OK)
            st = an_error(ANOMA_ERR_INVALID_ARGUMENT, "fit: the frame has no column '%s'",
                          m->feature_names[j]);
        anoma_column_type type = ANOMA_COL_DOUBLE;
        if (st == ANOMA_OK)
            st = anoma_frame_column(f, at, &type, NULL);
        names[j] = anoma_frame_column_name(f, at);
        types[j] = cell_type_of(type);
    }
    if (st == ANOMA_OK)
        st = an_pipeline_set_input(&m->pipeline, n, names, types);
    an_free(names);
    an_free(types);
    an_input_column *columns = NULL;
    if (st == ANOMA_OK)
        st = an_model_frame_columns(&m->pipeline, f, "fit", &columns);
    if (st == ANOMA_OK) {
        an_input in = {NULL, columns, anoma_frame_rows(f)};
        st = an_model_fit_input(m, &in, labels, weights);
    }
    if (st == ANOMA_OK && !m->feature_names) /* keep the names, for explanations and inspect */
        st = anoma_model_set_feature_names(m, (const char *const *)m->pipeline.input_names,
                                           m->pipeline.n_inputs);
    an_free(columns);
    return st;
}

anoma_status an_model_features(const anoma_model *m, const an_input *in, const double **dense,
                               double **owned)
{
    *owned = NULL;
    const anoma_matrix *x = in->matrix;
    if (x && !m->pipeline.n_steps) {
        if (x->dtype == ANOMA_F64 && x->row_stride == x->cols) {
            *dense = x->data;
            return ANOMA_OK;
        }
        AN_TRY(an_matrix_to_f64(x, owned));
        *dense = *owned;
        return ANOMA_OK;
    }
    *owned = an_malloc_array(in->rows * m->width + 1, sizeof(double));
    if (!*owned)
        return an_no_memory();
    anoma_status st = an_pipeline_transform(&m->pipeline, in, an_model_n_threads(m), *owned);
    if (st != ANOMA_OK) {
        an_free(*owned);
        *owned = NULL;
        return st;
    }
    *dense = *owned;
    return ANOMA_OK;
}

/* Bytes of detectors' input a part of a batch score holds: a few MiB, so
 * that the rows scored are still in cache and a million rows never need
 * rows x width doubles at once. */
enum { SCORE_PART_BYTES = 8 << 20 };
/* Rows a part gives each thread at least (the pipeline's and the
 * detectors' parallel loops need that many to pay for their threads). */
enum { SCORE_PART_ROWS_PER_THREAD = 16 * AN_BLOCK_ROWS };

anoma_status an_model_score_input(const anoma_model *m, const an_input *in, double *scores)
{
    const an_pipeline *p = &m->pipeline;
    size_t threads = an_model_n_threads(m) ? an_model_n_threads(m) : an_cpu_count();
    size_t part = SCORE_PART_BYTES / (m->width * sizeof(double) + 1);
    if (part < threads * SCORE_PART_ROWS_PER_THREAD)
        part = threads * SCORE_PART_ROWS_PER_THREAD;
    part -= part % AN_BLOCK_ROWS;
    /* without steps the detectors read the caller's rows; stateful steps
     * need every row in one call (their entities start empty at each) */
    if (!p->n_steps || an_pipeline_is_stateful(p) || in->rows <= part) {
        const double *dense;
        double *owned;
        AN_TRY(an_model_features(m, in, &dense, &owned));
        anoma_status st = an_model_score_rows(m, dense, in->rows, scores);
        an_free(owned);
        return st;
    }
    double *x = an_malloc_array(part * m->width, sizeof(double));
    if (!x)
        return an_no_memory();
    anoma_status st = ANOMA_OK;
    for (size_t first = 0; first < in->rows && st == ANOMA_OK; first += part) {
        size_t rows = in->rows - first < part ? in->rows - first : part;
        st = an_pipeline_transform_rows(p, in, first, rows, an_model_n_threads(m), x);
        if (st == ANOMA_OK)
            st = an_model_score_part(m, x, rows, scores + first, first, in->rows);
    }
    an_free(x);
    return st;
}

anoma_status an_model_frame_input(const anoma_model *m, const anoma_frame *f, const void *out,
                                  const char *what, an_input *in, an_input_column **columns)
{
    *columns = NULL;
    if (!m || !f)
        return an_error(ANOMA_ERR_INVALID_ARGUMENT, "%s: NULL argument", what);
    if (!m->fitted)
        return an_error(ANOMA_ERR_NOT_FITTED, "%s: the model is not fitted", what);
    AN_TRY(an_model_check_stateless(m, what));
    if (!out && anoma_frame_rows(f))
        return an_error(ANOMA_ERR_INVALID_ARGUMENT, "%s: NULL output array", what);
    AN_TRY(an_model_frame_columns(&m->pipeline, f, what, columns));
    *in = (an_input){NULL, *columns, anoma_frame_rows(f)};
    anoma_status st = an_input_check(&m->pipeline, in, what);
    if (st != ANOMA_OK) {
        an_free(*columns);
        *columns = NULL;
    }
    return st;
}

anoma_status anoma_model_score_frame(const anoma_model *m, const anoma_frame *f, double *scores)
{
    an_input in;
    an_input_column *columns;
    AN_TRY(an_model_frame_input(m, f, scores, "score", &in, &columns));
    anoma_status st = an_model_score_input(m, &in, scores);
    an_free(columns);
    return st;
}

anoma_status anoma_model_feature_scores_frame(const anoma_model *m, size_t index,
                                              const anoma_frame *f, double *out)
{
    an_input in;
    an_input_column *columns;
    AN_TRY(an_model_frame_input(m, f, out, "feature_scores", &in, &columns));
    const an_model_detector *d = NULL;
    const double *dense;
    double *owned = NULL;
    anoma_status st = an_model_detector_at(m, index, AN_USE_FEATURE_SCORES, &d);
    if (st == ANOMA_OK)
        st = an_model_features(m, &in, &dense, &owned);
    if (st == ANOMA_OK)
        st = an_model_feature_scores_rows(m, d, dense, in.rows, out);
    an_free(owned);
    an_free(columns);
    return st;
}

anoma_status anoma_model_predict_frame(const anoma_model *m, const anoma_frame *f, int *out)
{
    if (!m || !f || (!out && anoma_frame_rows(f)))
        return an_error(ANOMA_ERR_INVALID_ARGUMENT, "predict: NULL argument");
    size_t rows = anoma_frame_rows(f);
    double *scores = AN_NEW_ARRAY(double, rows + 1);
    if (!scores)
        return an_no_memory();
    anoma_status st = anoma_model_score_frame(m, f, scores);
    for (size_t i = 0; st == ANOMA_OK && i < rows; i++)
        out[i] = scores[i] > m->threshold;
    an_free(scores);
    return st;
}

/* The pipeline's output straight into the caller's array: no array of our
 * own, no copy (at a million rows the faults on a fresh array and the copy
 * cost more than the steps). Without steps it is the input, converted. */
static anoma_status transform_input(const anoma_model *m, const an_input *in, double *out)
{
    if (m->pipeline.n_steps)
        return an_pipeline_transform(&m->pipeline, in, an_model_n_threads(m), out);
    const double *dense;
    double *owned;
    AN_TRY(an_model_features(m, in, &dense, &owned));
    memcpy(out, dense, in->rows * m->width * sizeof(double));
    an_free(owned);
    return ANOMA_OK;
}

anoma_status anoma_model_transform_frame(const anoma_model *m, const anoma_frame *f, double *out)
{
    an_input in;
    an_input_column *columns;
    AN_TRY(an_model_frame_input(m, f, out, "transform", &in, &columns));
    anoma_status st = transform_input(m, &in, out);
    an_free(columns);
    return st;
}

anoma_status anoma_model_transform(const anoma_model *m, const anoma_matrix *x, double *out)
{
    AN_TRY(an_model_check_input(m, x, "transform"));
    if (!out && x->rows)
        return an_error(ANOMA_ERR_INVALID_ARGUMENT, "transform: NULL output array");
    an_input in = {x, NULL, x->rows};
    AN_TRY(an_input_check(&m->pipeline, &in, "transform"));
    return transform_input(m, &in, out);
}

anoma_status anoma_model_input_type(const anoma_model *m, size_t index, anoma_column_type *type)
{
    if (!m || !type)
        return an_error(ANOMA_ERR_INVALID_ARGUMENT, "anoma_model_input_type: NULL argument");
    if (!m->fitted)
        return an_error(ANOMA_ERR_NOT_FITTED, "the model is not fitted");
    if (index >= m->pipeline.n_inputs)
        return an_error(ANOMA_ERR_INVALID_ARGUMENT, "input column %zu: the model has %zu", index,
                        m->pipeline.n_inputs);
    an_cell_type t = m->pipeline.input_types[index];
    *type = t == AN_CELL_TEXT        ? ANOMA_COL_STRING
            : t == AN_CELL_TIMESTAMP ? ANOMA_COL_TIMESTAMP
                                     : ANOMA_COL_DOUBLE;
    return ANOMA_OK;
}

const char *anoma_model_input_name(const anoma_model *m, size_t index)
{
    return m && m->fitted && index < m->pipeline.n_inputs ? m->pipeline.input_names[index] : NULL;
}

size_t anoma_model_n_outputs(const anoma_model *m) { return m && m->fitted ? m->width : 0; }

const char *anoma_model_output_name(const anoma_model *m, size_t index)
{
    if (!m || !m->fitted || index >= m->width || !m->pipeline.stage_slots)
        return NULL;
    const an_pipeline *p = &m->pipeline;
    return p->slot_names[p->stage_slots[p->stage_begin[p->n_steps] + index]];
}
