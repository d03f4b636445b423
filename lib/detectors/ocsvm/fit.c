/* Training: from the model's rows to support vectors, dual coefficients
 * and rho.
 *
 * - A missing value (NaN) is replaced by its feature's mean over the
 *   training rows where it is present, in training and in scoring alike
 *   (libsvm and scikit-learn refuse missing values; data without any is
 *   trained exactly as they train it). A feature with no value at all is
 *   an error naming it.
 * - gamma "scale" is computed over every value of the (filled) training
 *   matrix, zero-weight rows included, as scikit-learn computes it before
 *   libsvm drops them.
 * - Sample weights are scikit-learn's: a row of weight 0 is left out, and a
 *   row's weight is its upper bound C_i (libsvm's instance weights).
 * - The support vectors are the rows with a_i > 0, in row order; each
 *   keeps its row in the training data (zero-weight rows counted). */
#include "detectors/ocsvm/ocsvm.h"
#include "core/alloc.h"
#include "core/error.h"
#include "detectors/mean_fill.h"

#include <math.h>
#include <string.h>

void an_ocsvm_free(an_ocsvm *m)
{
    an_free(m->sv);
    an_free(m->sv_sq);
    an_free(m->coef);
    an_free(m->fill);
    an_free(m->support);
    *m = (an_ocsvm){0};
}

size_t an_ocsvm_memory(const an_ocsvm *m)
{
    return (m->n_sv * (m->n_features + 2) + m->n_features) * sizeof(double) +
           (m->support ? m->n_sv * sizeof *m->support : 0);
}

anoma_status an_ocsvm_alloc(an_ocsvm *m, size_t n_sv, size_t d)
{
    *m = (an_ocsvm){.n_features = d, .n_sv = n_sv};
    m->sv = AN_NEW_ARRAY(double, n_sv * d);
    m->sv_sq = AN_NEW_ARRAY(double, n_sv);
    m->coef = AN_NEW_ARRAY(double, n_sv);
    m->fill = AN_NEW_ARRAY(double, d);
    m->support = AN_NEW_ARRAY(uint64_t, n_sv);
    if (!m->sv || !m->sv_sq || !m->coef || !m->fill || !m->support) {
        an_ocsvm_free(m);
        return an_no_memory();
    }
    return ANOMA_OK;
}

void an_ocsvm_finish(an_ocsvm *m)
{
    size_t d = m->n_features;
    for (size_t s = 0; s < m->n_sv; s++)
        m->sv_sq[s] = an_ocsvm_dot(m->sv + s * d, m->sv + s * d, d);
}

/* The rows to train on, filled, without those of weight 0 (compacted in
 * place), with their upper bounds (NULL without weights) and their rows in
 * the training data (row[k] of kept row k); *kept rows. */
static anoma_status kept_rows(const an_fit_data *data, double *x, double **upper, size_t *row,
                              size_t *kept)
{
    size_t d = data->cols, n = 0;
    *upper = NULL;
    if (!data->weights) {
        for (size_t i = 0; i < data->rows; i++)
            row[i] = i;
        *kept = data->rows;
        return ANOMA_OK;
    }
    double *c = AN_NEW_ARRAY(double, data->rows);
    if (!c)
        return an_no_memory();
    for (size_t i = 0; i < data->rows; i++)
        if (data->weights[i] > 0) {
            memmove(x + n * d, x + i * d, d * sizeof *x);
            row[n] = i;
            c[n++] = data->weights[i];
        }
    if (n == 0) {
        an_free(c);
        return an_error(ANOMA_ERR_INVALID_ARGUMENT,
                        "ocsvm: every sample weight is 0: no row to train on");
    }
    *upper = c;
    *kept = n;
    return ANOMA_OK;
}

static anoma_status train(const an_ocsvm_config *cfg, const an_fit_data *data, double *x,
                          double *fill, size_t *row, an_ocsvm *out)
{
    size_t rows = data->rows, d = data->cols;
    AN_TRY(an_mean_fill_fit("ocsvm", data, fill));
    an_mean_fill_rows(fill, data->x, rows, d, x);
    an_ocsvm_kernel kernel = {cfg->kernel, cfg->degree, cfg->gamma, cfg->coef0};
    if (cfg->gamma_rule == 1)
        AN_TRY(an_ocsvm_gamma_scale(x, rows, d, &kernel.gamma));
    else if (cfg->gamma_rule == 2)
        kernel.gamma = 1.0 / (double)d;
    double *upper = NULL;
    size_t l = 0;
    AN_TRY(kept_rows(data, x, &upper, row, &l));
    double *alpha = AN_NEW_ARRAY(double, l);
    if (!alpha) {
        an_free(upper);
        return an_no_memory();
    }
    an_ocsvm_problem p = {x, l, d, upper, kernel, cfg->nu, cfg->tol, cfg->max_iter,
                          cfg->cache_mb * 1048576.0, cfg->shrinking, data->n_threads};
    an_ocsvm_solution sol;
    anoma_status st = an_ocsvm_solve(&p, alpha, &sol);
    size_t n_sv = 0;
    for (size_t i = 0; st == ANOMA_OK && i < l; i++)
        n_sv += fabs(alpha[i]) > 0;
    if (st == ANOMA_OK)
        st = an_ocsvm_alloc(out, n_sv, d);
    if (st == ANOMA_OK) {
        out->kernel = kernel;
        out->rho = sol.rho;
        out->trained = 1;
        out->iterations = sol.iterations;
        out->hit_max_iter = sol.hit_max_iter;
        memcpy(out->fill, fill, d * sizeof *fill);
        size_t s = 0;
        for (size_t i = 0; i < l; i++)
            if (fabs(alpha[i]) > 0) {
                memcpy(out->sv + s * d, x + i * d, d * sizeof *x);
                out->coef[s] = alpha[i];
                out->support[s] = row[i];
                out->n_at_bound += alpha[i] >= (upper ? upper[i] : 1.0);
                s++;
            }
        an_ocsvm_finish(out);
    }
    an_free(alpha);
    an_free(upper);
    return st;
}

anoma_status an_ocsvm_train(const an_ocsvm_config *cfg, const an_fit_data *data, an_ocsvm *out)
{
    *out = (an_ocsvm){0};
    if (data->rows == 0 || data->cols == 0)
        return an_error(ANOMA_ERR_EMPTY, "ocsvm: no training data");
    double *x = AN_NEW_ARRAY(double, data->rows * data->cols);
    double *fill = AN_NEW_ARRAY(double, data->cols);
    size_t *row = AN_NEW_ARRAY(size_t, data->rows);
    anoma_status st = x && fill && row ? train(cfg, data, x, fill, row, out) : an_no_memory();
    an_free(x);
    an_free(fill);
    an_free(row);
    return st;
}
