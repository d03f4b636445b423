/* pca: principal component analysis, as scikit-learn's
 * PCA(svd_solver="full").
 *
 * Fit: centre the columns, take the singular value decomposition of the
 * centred data through LAPACKE (pca_axes.c: dgeqrf then dgesdd of the small
 * R factor when there are more rows than columns, dgesdd of the data
 * otherwise: the same singular values and right vectors, without an n x p
 * U), then
 *   components          = the first k right singular vectors
 *   explained variance  = s^2 / (n - 1)
 *   k                   = n_components, or for a fraction f in (0, 1) the
 *                         fewest components whose cumulated explained
 *                         variance ratio exceeds f (scikit-learn's
 *                         searchsorted(cumsum, f, side="right") + 1)
 * Sign: each component is flipped so that its entry of largest magnitude is
 * positive (scikit-learn's svd_flip on the components, its rule since 1.5;
 * it depends on the components only, not on the training rows).
 * Transform: y_k = sum_j (x_j - mean_j) c_kj, divided by
 * max(sqrt(explained variance_k), eps) with whiten.
 * Missing values: an error naming the column and row, as scikit-learn
 * refuses NaN. Outputs pca0, pca1, ... replace the first input column. */
#include "features/step.h"
#include "features/pca_axes.h"
#include "core/alloc.h"
#include "core/error.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const anoma_param_info pca_params[] = {
    {"columns", ANOMA_PARAM_TEXT, 0, 0, "", "",
     "number columns, comma-separated (default: every number column)"},
    {"n_components", ANOMA_PARAM_TEXT, 0, 0, "all", "",
     "components kept: a count >= 1, a fraction in (0, 1) of the variance to explain, or all"},
    {"whiten", ANOMA_PARAM_BOOL, 0, 0, "false", "",
     "divide each component by its standard deviation"},
};

typedef struct pca_state {
    char *columns;
    size_t want;     /* a count, 0 = all or a fraction */
    double fraction; /* in (0, 1), or 0 */
    int whiten;
    /* fitted */
    size_t p, k;
    char **names;       /* p input names, for messages */
    double *mean;       /* p */
    double *components; /* k x p, row-major */
    double *variance;   /* k: explained variance */
    double *scale;      /* k: divisor of each output (1 without whiten) */
    double variance_ratio; /* of the k kept */
} pca_state;

static void pca_destroy(void *state)
{
    pca_state *s = state;
    an_free(s->columns);
    for (size_t j = 0; s->names && j < s->p; j++)
        an_free(s->names[j]);
    an_free(s->names);
    an_free(s->mean);
    an_free(s->components);
    an_free(s->variance);
    an_free(s->scale);
    an_free(s);
}

static anoma_status pca_create(const an_params *params, void **state)
{
    pca_state *s = AN_NEW_ZEROED(pca_state, 1);
    if (!s)
        return an_no_memory();
    const char *n = an_params_text(params, "n_components");
    if (strcmp(n, "all")) {
        double v;
        if (!an_parse_double(n, &v) || !(v > 0) || (v >= 1 && v != floor(v)) || v > 1e9) {
            pca_destroy(s);
            return an_error(ANOMA_ERR_PARAM_VALUE, "pca: n_components=%s: expected a count "
                            ">= 1, a fraction in (0, 1), or all", n);
        }
        if (v < 1)
            s->fraction = v;
        else
            s->want = (size_t)v;
    }
    s->whiten = an_params_bool(params, "whiten");
    s->columns = an_strdup(an_params_text(params, "columns"));
    if (!s->columns) {
        pca_destroy(s);
        return an_no_memory();
    }
    *state = s;
    return ANOMA_OK;
}

static anoma_status alloc_fitted(pca_state *s, const an_schema *schema, const an_step_io *io,
                                 size_t k)
{
    size_t p = io->n_inputs;
    s->names = AN_NEW_ZEROED(char *, p);
    if (!s->names)
        return an_no_memory();
    s->p = p;
    for (size_t j = 0; j < p; j++)
        if (!(s->names[j] = an_strdup(schema->names[io->inputs[j]])))
            return an_no_memory();
    s->k = k;
    s->mean = AN_NEW_ARRAY(double, p);
    s->components = an_malloc_array(k * p, sizeof(double));
    s->variance = AN_NEW_ARRAY(double, k);
    s->scale = AN_NEW_ARRAY(double, k);
    return s->mean && s->components && s->variance && s->scale ? ANOMA_OK : an_no_memory();
}

static void set_scales(pca_state *s)
{
    for (size_t c = 0; c < s->k; c++) {
        double sd = sqrt(s->variance[c]);
        s->scale[c] = s->whiten ? (sd < DBL_EPSILON ? DBL_EPSILON : sd) : 1;
    }
}

static anoma_status fit_matrix(pca_state *s, const an_step_fit_data *data, const an_step_io *io,
                               double *x, size_t n, size_t p)
{
    double *mean = AN_NEW_ZEROED(double, p);
    anoma_status st = mean ? ANOMA_OK : an_no_memory();
    for (size_t j = 0; j < p && st == ANOMA_OK; j++) {
        const an_cell *col = data->columns[io->inputs[j]];
        double sum = 0;
        for (size_t i = 0; i < n; i++) {
            if (isnan(col[i].num)) {
                st = an_error(ANOMA_ERR_INVALID_ARGUMENT, "pca: column '%s', row %zu: missing "
                              "value (put an imputer before pca)",
                              data->schema->names[io->inputs[j]], i);
                break;
            }
            sum += col[i].num;
        }
        mean[j] = sum / (double)n;
        for (size_t i = 0; i < n; i++)
            x[j * n + i] = col[i].num - mean[j];
    }
    an_pca_axes axes = {0};
    if (st == ANOMA_OK)
        st = an_pca_axes_fit(x, n, p, "pca", &axes);
    if (st == ANOMA_OK) {
        size_t k = an_pca_axes_choose(&axes, s->want, s->fraction);
        st = alloc_fitted(s, data->schema, io, k);
        s->variance_ratio = 0;
        for (size_t c = 0; st == ANOMA_OK && c < k; c++) {
            memcpy(s->components + c * p, axes.components + c * p, p * sizeof(double));
            s->variance[c] = axes.variance[c];
            s->variance_ratio += axes.ratio[c];
        }
        if (st == ANOMA_OK) {
            memcpy(s->mean, mean, p * sizeof *mean);
            set_scales(s);
        }
    }
    an_pca_axes_free(&axes);
    an_free(mean);
    return st;
}

static anoma_status pca_fit(void *state, const an_step_fit_data *data, an_step_io *io)
{
    pca_state *s = state;
    AN_TRY(an_step_resolve_columns("pca", s->columns, data->schema, 1u << AN_CELL_NUMBER, 1, io));
    size_t n = data->rows, p = io->n_inputs;
    if (n < 2)
        return an_error(ANOMA_ERR_EMPTY, "pca: needs at least 2 training rows, got %zu", n);
    size_t m = n < p ? n : p;
    if (s->want > m)
        return an_error(ANOMA_ERR_INVALID_ARGUMENT, "pca: n_components=%zu is more than "
                        "min(rows, columns) = %zu", s->want, m);
    if (n > (size_t)INT32_MAX || p > (size_t)INT32_MAX / (n > p ? 1 : n))
        return an_error(ANOMA_ERR_INVALID_ARGUMENT, "pca: %zu x %zu is too large for LAPACK", n,
                        p);
    double *x = an_malloc_array(n * p, sizeof(double));
    if (!x)
        return an_no_memory();
    anoma_status st = fit_matrix(s, data, io, x, n, p);
    an_free(x);
    for (size_t c = 0; st == ANOMA_OK && c < s->k; c++)
        st = an_step_io_add_output(io, AN_CELL_NUMBER, "pca%zu", c);
    return st;
}

static size_t pca_scratch(const void *state, size_t block_rows)
{
    const pca_state *s = state;
    return s->p * block_rows * sizeof(double);
}

static anoma_status pca_transform(const void *state, const an_cell *const *in,
                                  an_cell *const *out, size_t rows, void *scratch,
                                  an_step_fault *fault)
{
    const pca_state *s = state;
    double *centred = scratch; /* p columns of `rows` values */
    for (size_t j = 0; j < s->p; j++) {
        double *c = centred + j * rows;
        for (size_t i = 0; i < rows; i++) {
            if (isnan(in[j][i].num)) {
                fault->row = i;
                return an_error(ANOMA_ERR_INVALID_ARGUMENT, "pca: column '%s': missing value "
                                "(put an imputer before pca)", s->names[j]);
            }
            c[i] = in[j][i].num - s->mean[j];
        }
    }
    /* the same order of additions for every row, whatever the block size;
     * each sum stays in a register (through memory, every addition waited
     * for the store before it) */
    for (size_t c = 0; c < s->k; c++) {
        an_cell *y = out[c];
        const double *v = s->components + c * s->p;
        for (size_t i = 0; i < rows; i++) {
            double sum = 0;
            for (size_t j = 0; j < s->p; j++)
                sum += centred[j * rows + i] * v[j];
            y[i].num = sum / s->scale[c];
        }
    }
    return ANOMA_OK;
}

static anoma_status pca_save(const void *state, an_writer *w)
{
    const pca_state *s = state;
    an_put_u64(w, s->p);
    an_put_u64(w, s->k);
    an_put_f64_array(w, s->mean, s->p);
    an_put_f64_array(w, s->components, s->k * s->p);
    an_put_f64_array(w, s->variance, s->k);
    an_put_f64(w, s->variance_ratio);
    return ANOMA_OK;
}

static anoma_status pca_load(void *state, an_reader *r, uint32_t version,
                             const an_schema *schema, const an_step_io *io)
{
    pca_state *s = state;
    if (version != 1)
        return an_error(ANOMA_ERR_VERSION, "pca: payload version %u is not known", version);
    size_t p = an_get_count(r, io->n_inputs, 8);
    size_t k = an_get_count(r, io->n_outputs, 8);
    AN_TRY(an_reader_status(r));
    if (p != io->n_inputs || k != io->n_outputs || !k || k > p)
        return an_error(ANOMA_ERR_FORMAT, "model file: pca: %zu components of %zu columns do not "
                        "match the step's columns", k, p);
    for (size_t j = 0; j < p; j++)
        if (schema->types[io->inputs[j]] != AN_CELL_NUMBER || io->keep[j])
            return an_error(ANOMA_ERR_FORMAT, "model file: pca: column %zu is not a consumed "
                            "number column", j);
    if ((r->len - r->pos) / 8 < (k + 1) * p + k + 1)
        return an_error(ANOMA_ERR_FORMAT, "model file: pca: payload truncated");
    AN_TRY(alloc_fitted(s, schema, io, k));
    an_get_f64_array(r, s->mean, p);
    an_get_f64_array(r, s->components, k * p);
    an_get_f64_array(r, s->variance, k);
    s->variance_ratio = an_get_f64(r);
    AN_TRY(an_reader_status(r));
    for (size_t j = 0; j < p; j++)
        if (!isfinite(s->mean[j]))
            return an_error(ANOMA_ERR_FORMAT, "model file: pca: a mean is not finite");
    for (size_t c = 0; c < k * p; c++)
        if (!isfinite(s->components[c]))
            return an_error(ANOMA_ERR_FORMAT, "model file: pca: a component is not finite");
    for (size_t c = 0; c < k; c++)
        if (!isfinite(s->variance[c]) || s->variance[c] < 0)
            return an_error(ANOMA_ERR_FORMAT, "model file: pca: a variance is not a finite, "
                            "non-negative number");
    set_scales(s);
    return ANOMA_OK;
}

static size_t pca_memory(const void *state)
{
    const pca_state *s = state;
    return sizeof *s + (s->p + s->k * s->p + 2 * s->k) * sizeof(double);
}

static void pca_describe(const void *state, an_strbuf *out)
{
    const pca_state *s = state;
    an_strbuf_printf(out, "    %zu columns -> %zu components%s, %.4g of the variance\n", s->p,
                     s->k, s->whiten ? " (whitened)" : "", s->variance_ratio);
}

const an_step_vtable an_pca_step = {
    .name = "pca",
    .refuses_rows = 1,
    .summary = "principal components of number columns (scikit-learn's PCA, full SVD)",
    .params = pca_params,
    .n_params = sizeof pca_params / sizeof *pca_params,
    .payload_version = 1,
    .create = pca_create,
    .destroy = pca_destroy,
    .fit = pca_fit,
    .scratch_bytes = pca_scratch,
    .transform = pca_transform,
    .save = pca_save,
    .load = pca_load,
    .memory_bytes = pca_memory,
    .describe = pca_describe,
};
