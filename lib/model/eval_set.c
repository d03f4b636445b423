/* Evaluation sets: labelled rows a supervised detector watches while it
 * trains but does not train on (gbt's evaluation history and early
 * stopping, XGBoost's eval_set).
 *
 * anoma_model_add_eval_set copies the rows, so the caller's arrays need not
 * outlive the call; the next fit hands every set to every detector
 * (an_fit_data), in the order added, and releases them once the model is
 * fitted. They go to the detectors as given, so a model with pipeline
 * steps refuses them (its detectors see the steps' output, which the rows
 * are not). */
#include "model/model.h"
#include "core/alloc.h"
#include "core/error.h"
#include "core/matrix.h"

static void set_free(an_model_eval_set *e)
{
    an_free(e->x);
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

/* A checked copy of the rows. */
static anoma_status copy_set(const anoma_matrix *x, const int *labels, const double *weights,
                             an_model_eval_set *out)
{
    AN_TRY(check(x, labels, weights));
    an_model_eval_set e = {.rows = x->rows, .cols = x->cols};
    anoma_status st = an_matrix_to_f64(x, &e.x);
    if (st == ANOMA_OK) {
        e.labels = AN_NEW_ARRAY(int, x->rows);
        e.weights = weights ? AN_NEW_ARRAY(double, x->rows) : NULL;
        if (!e.labels || (weights && !e.weights))
            st = an_no_memory();
    }
    if (st != ANOMA_OK) {
        set_free(&e);
        return st;
    }
    for (size_t i = 0; i < x->rows; i++) {
        e.labels[i] = labels[i];
        if (weights)
            e.weights[i] = weights[i];
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

anoma_status anoma_model_add_eval_set(anoma_model *m, const anoma_matrix *x, const int *labels,
                                      const double *weights)
{
    AN_TRY(check_model(m, "anoma_model_add_eval_set"));
    if (m->eval.n >= AN_MODEL_MAX_EVAL_SETS)
        return an_error(ANOMA_ERR_INVALID_ARGUMENT, "eval_set: the model has %zu evaluation "
                        "sets, the most it takes", m->eval.n);
    an_model_eval_set e;
    AN_TRY(copy_set(x, labels, weights, &e));
    an_model_eval_set *sets = an_realloc_array(m->eval.sets, m->eval.n + 1, sizeof *sets);
    if (!sets) {
        set_free(&e);
        return an_no_memory();
    }
    sets[m->eval.n++] = e;
    m->eval.sets = sets;
    return ANOMA_OK;
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

anoma_status an_model_eval_check(const anoma_model *m, size_t cols)
{
    if (!m->eval.n)
        return ANOMA_OK;
    if (m->pipeline.n_steps)
        return an_error(ANOMA_ERR_UNSUPPORTED, "eval_set: a model with pipeline steps takes no "
                        "evaluation set (its detectors see the steps' output)");
    for (size_t k = 0; k < m->eval.n; k++)
        if (m->eval.sets[k].cols != cols)
            return an_error(ANOMA_ERR_SHAPE, "eval_set %zu: %zu columns, the training data %zu",
                            k, m->eval.sets[k].cols, cols);
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
        rows[k] = (an_eval_rows){e->x, e->rows, e->labels, e->weights};
    }
    *out = rows;
    return ANOMA_OK;
}
