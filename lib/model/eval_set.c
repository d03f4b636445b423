/* Evaluation sets: labelled rows a supervised detector watches while it
 * trains but does not train on (gbt's evaluation history and early
 * stopping, XGBoost's eval_set).
 *
 * anoma_model_add_eval_set (a matrix) and anoma_model_add_eval_set_frame
 * copy the rows, so the caller's arrays need not outlive the call. The
 * next fit makes them the detectors' input: a model fitted through its
 * pipeline (steps, or a frame) runs them through the steps once these are
 * fitted on the training rows, never fitting a step on them; a model
 * fitted on a matrix without steps hands them over as they are. Every set
 * goes to every detector (an_fit_data), in the order added, and all are
 * released once the model is fitted. */
#include "model/model.h"
#include "core/alloc.h"
#include "core/error.h"
#include "core/frame.h"
#include "core/matrix.h"

#include <stdio.h>

static void set_free(an_model_eval_set *e)
{
    an_free(e->x);
    anoma_frame_free(e->frame);
    an_free(e->features);
    an_free(e->labels);
    an_free(e->weights);
}

void an_model_eval_free(an_model_eval *e)
{
    for (size_t k = 0; k < e->n; k++)
        set_free(&e->sets[k]);
    an_free(e->sets);
    *e = (an_model_eval){0};
}

static anoma_status check(const anoma_matrix *x, const int *labels, const double *weights)
{
    AN_TRY(an_matrix_check(x, "eval_set"));
    AN_TRY(an_matrix_check_finite(x, "eval_set"));
    if (!x->rows || !x->cols)
        return an_error(ANOMA_ERR_EMPTY, "eval_set: %zu x %zu rows; it needs rows and columns",
                        x->rows, x->cols);
    if (!labels)
        return an_error(ANOMA_ERR_INVALID_ARGUMENT, "eval_set: labels are needed");
    return an_model_check_labels("eval_set", labels, weights, x->rows);
}

/* Copies of the labels and weights into e (e->rows set). */
static anoma_status copy_labels(const int *labels, const double *weights, an_model_eval_set *e)
{
    e->labels = AN_NEW_ARRAY(int, e->rows);
    e->weights = weights ? AN_NEW_ARRAY(double, e->rows) : NULL;
    if (!e->labels || (weights && !e->weights))
        return an_no_memory();
    for (size_t i = 0; i < e->rows; i++) {
        e->labels[i] = labels[i];
        if (weights)
            e->weights[i] = weights[i];
    }
    return ANOMA_OK;
}

/* A checked copy of the rows. */
static anoma_status copy_set(const anoma_matrix *x, const int *labels, const double *weights,
                             an_model_eval_set *out)
{
    AN_TRY(check(x, labels, weights));
    an_model_eval_set e = {.rows = x->rows, .cols = x->cols};
    anoma_status st = an_matrix_to_f64(x, &e.x);
    if (st == ANOMA_OK)
        st = copy_labels(labels, weights, &e);
    if (st != ANOMA_OK) {
        set_free(&e);
        return st;
    }
    *out = e;
    return ANOMA_OK;
}

static anoma_status check_model(const anoma_model *m, const char *fn)
{
    if (!m)
        return an_error(ANOMA_ERR_INVALID_ARGUMENT, "%s: NULL model", fn);
    if (m->fitted)
        return an_error(ANOMA_ERR_UNSUPPORTED, "eval_set: the model is already fitted");
    return ANOMA_OK;
}

/* Append e to the model's sets (e freed on failure). */
static anoma_status append(anoma_model *m, an_model_eval_set e)
{
    an_model_eval_set *sets = an_realloc_array(m->eval.sets, m->eval.n + 1, sizeof *sets);
    if (!sets) {
        set_free(&e);
        return an_no_memory();
    }
    sets[m->eval.n++] = e;
    m->eval.sets = sets;
    return ANOMA_OK;
}

static anoma_status check_room(const anoma_model *m)
{
    if (m->eval.n >= AN_MODEL_MAX_EVAL_SETS)
        return an_error(ANOMA_ERR_INVALID_ARGUMENT, "eval_set: the model has %zu evaluation "
                        "sets, the most it takes", m->eval.n);
    return ANOMA_OK;
}

anoma_status anoma_model_add_eval_set(anoma_model *m, const anoma_matrix *x, const int *labels,
                                      const double *weights)
{
    AN_TRY(check_model(m, "anoma_model_add_eval_set"));
    AN_TRY(check_room(m));
    an_model_eval_set e;
    AN_TRY(copy_set(x, labels, weights, &e));
    return append(m, e);
}

anoma_status anoma_model_add_eval_set_frame(anoma_model *m, const anoma_frame *f,
                                            const int *labels, const double *weights)
{
    AN_TRY(check_model(m, "anoma_model_add_eval_set_frame"));
    AN_TRY(check_room(m));
    if (!f)
        return an_error(ANOMA_ERR_INVALID_ARGUMENT, "eval_set: NULL frame");
    size_t rows = anoma_frame_rows(f);
    if (!rows || !anoma_frame_cols(f))
        return an_error(ANOMA_ERR_EMPTY, "eval_set: the frame has %zu rows and %zu columns; it "
                        "needs both", rows, anoma_frame_cols(f));
    if (!labels)
        return an_error(ANOMA_ERR_INVALID_ARGUMENT, "eval_set: labels are needed");
    AN_TRY(an_model_check_labels("eval_set", labels, weights, rows));
    an_model_eval_set e = {.rows = rows, .cols = anoma_frame_cols(f)};
    anoma_status st = an_frame_copy(f, &e.frame);
    if (st == ANOMA_OK)
        st = copy_labels(labels, weights, &e);
    if (st != ANOMA_OK) {
        set_free(&e);
        return st;
    }
    return append(m, e);
}

anoma_status anoma_model_set_eval_set(anoma_model *m, const anoma_matrix *x, const int *labels,
                                      const double *weights)
{
    AN_TRY(check_model(m, "anoma_model_set_eval_set"));
    if (!x) {
        an_model_eval_free(&m->eval);
        return ANOMA_OK;
    }
    an_model_eval_set *one = AN_NEW_ARRAY(an_model_eval_set, 1);
    if (!one)
        return an_no_memory();
    anoma_status st = copy_set(x, labels, weights, one);
    if (st != ANOMA_OK) {
        an_free(one);
        return st;
    }
    an_model_eval_free(&m->eval);
    m->eval = (an_model_eval){one, 1};
    return ANOMA_OK;
}

/* Set k through the fitted pipeline into e->features. */
static anoma_status transform_set(anoma_model *m, size_t k, size_t width)
{
    an_model_eval_set *e = &m->eval.sets[k];
    char what[32];
    snprintf(what, sizeof what, "eval_set %zu", k);
    anoma_matrix x = anoma_matrix_f64(e->x, e->rows, e->cols);
    an_input in = {e->frame ? NULL : &x, NULL, e->rows};
    an_input_column *columns = NULL;
    if (e->frame)
        AN_TRY(an_model_frame_columns(&m->pipeline, e->frame, what, &columns));
    in.columns = columns;
    anoma_status st = an_input_check(&m->pipeline, &in, what);
    an_free(e->features);
    e->features = NULL;
    if (st == ANOMA_OK) {
        e->features = an_malloc_array(e->rows * width + 1, sizeof(double));
        st = e->features ? an_pipeline_transform(&m->pipeline, &in, an_model_n_threads(m),
                                                 e->features)
                         : an_no_memory();
    }
    an_free(columns);
    return st;
}

anoma_status an_model_eval_prepare(anoma_model *m, int through_pipeline, size_t width)
{
    for (size_t k = 0; k < m->eval.n; k++) {
        const an_model_eval_set *e = &m->eval.sets[k];
        if (through_pipeline)
            AN_TRY(transform_set(m, k, width));
        else if (e->frame)
            return an_error(ANOMA_ERR_INVALID_ARGUMENT, "eval_set %zu is a frame, but the model "
                            "is fitted on a matrix without steps: give it as a matrix", k);
        else if (e->cols != width)
            return an_error(ANOMA_ERR_SHAPE, "eval_set %zu: %zu columns, the training data %zu",
                            k, e->cols, width);
    }
    return ANOMA_OK;
}

anoma_status an_model_eval_rows(const anoma_model *m, an_eval_rows **out)
{
    *out = NULL;
    if (!m->eval.n)
        return ANOMA_OK;
    an_eval_rows *rows = AN_NEW_ARRAY(an_eval_rows, m->eval.n);
    if (!rows)
        return an_no_memory();
    for (size_t k = 0; k < m->eval.n; k++) {
        const an_model_eval_set *e = &m->eval.sets[k];
        rows[k] = (an_eval_rows){e->features ? e->features : e->x, e->rows, e->labels,
                                 e->weights};
    }
    *out = rows;
    return ANOMA_OK;
}
