/* The evaluation set: labelled rows a supervised detector watches while it
 * trains but does not train on (gbt's early stopping, XGBoost's eval_set).
 *
 * anoma_model_set_eval_set copies the rows, so the caller's arrays need not
 * outlive the call; the next fit hands them to every detector (an_fit_data)
 * and releases them once the model is fitted. They go to the detectors as
 * given, so a model with pipeline steps refuses them (its detectors see
 * the steps' output, which the rows are not). */
#include "model/model.h"
#include "core/alloc.h"
#include "core/error.h"
#include "core/matrix.h"

void an_model_eval_free(an_model_eval *e)
{
    an_free(e->x);
    an_free(e->labels);
    an_free(e->weights);
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

anoma_status anoma_model_set_eval_set(anoma_model *m, const anoma_matrix *x, const int *labels,
                                      const double *weights)
{
    if (!m)
        return an_error(ANOMA_ERR_INVALID_ARGUMENT, "anoma_model_set_eval_set: NULL model");
    if (m->fitted)
        return an_error(ANOMA_ERR_UNSUPPORTED, "eval_set: the model is already fitted");
    if (!x) {
        an_model_eval_free(&m->eval);
        return ANOMA_OK;
    }
    AN_TRY(check(x, labels, weights));
    an_model_eval e = {.rows = x->rows, .cols = x->cols};
    anoma_status st = an_matrix_to_f64(x, &e.x);
    if (st == ANOMA_OK) {
        e.labels = AN_NEW_ARRAY(int, x->rows);
        e.weights = weights ? AN_NEW_ARRAY(double, x->rows) : NULL;
        if (!e.labels || (weights && !e.weights))
            st = an_no_memory();
    }
    if (st != ANOMA_OK) {
        an_model_eval_free(&e);
        return st;
    }
    for (size_t i = 0; i < x->rows; i++) {
        e.labels[i] = labels[i];
        if (weights)
            e.weights[i] = weights[i];
    }
    an_model_eval_free(&m->eval);
    m->eval = e;
    return ANOMA_OK;
}

anoma_status an_model_eval_check(const anoma_model *m, size_t cols)
{
    if (!m->eval.rows)
        return ANOMA_OK;
    if (m->pipeline.n_steps)
        return an_error(ANOMA_ERR_UNSUPPORTED, "eval_set: a model with pipeline steps takes no "
                        "evaluation set (its detectors see the steps' output)");
    if (m->eval.cols != cols)
        return an_error(ANOMA_ERR_SHAPE, "eval_set: %zu columns, the training data %zu",
                        m->eval.cols, cols);
    return ANOMA_OK;
}
