/* The "ocsvm" detector: parameters and the vtable glue.
 *
 * Score = rho - sum_i a_i K(sv_i, x): scikit-learn's
 * OneClassSVM.decision_function negated, so higher = more anomalous and a
 * row outside the learned region scores above 0, which is the detector's
 * own threshold (contamination=auto). The parameters are scikit-learn's,
 * with its defaults and ranges. */
#include "detectors/ocsvm/ocsvm.h"
#include "core/alloc.h"
#include "core/error.h"

#include <math.h>

static const anoma_param_info ocsvm_params[] = {
    {"kernel", ANOMA_PARAM_CHOICE, 0, 0, "rbf", "rbf|linear|poly|sigmoid",
     "kernel: rbf exp(-gamma |x - y|^2), linear x.y, poly (gamma x.y + coef0)^degree, "
     "sigmoid tanh(gamma x.y + coef0)"},
    {"degree", ANOMA_PARAM_INT, 0, AN_OCSVM_MAX_DEGREE, "3", "", "degree of the poly kernel"},
    {"gamma", ANOMA_PARAM_DOUBLE, 0, 1e300, "scale", "scale|auto",
     "kernel coefficient > 0 of rbf, poly and sigmoid: scale = 1 / (n_features * variance of "
     "all training values), auto = 1 / n_features, or a number"},
    {"coef0", ANOMA_PARAM_DOUBLE, -1e300, 1e300, "0", "",
     "independent term of the poly and sigmoid kernels"},
    {"nu", ANOMA_PARAM_DOUBLE, 0, 1, "0.5", "",
     "in (0, 1]: an upper bound on the share of training rows outside the region and a lower "
     "bound on the share of support vectors"},
    {"tol", ANOMA_PARAM_DOUBLE, 0, 1e300, "0.001", "",
     "stopping tolerance > 0 on the largest violation of the optimality conditions"},
    {"max_iter", ANOMA_PARAM_INT, -1, 9223372036854775807.0, "-1", "",
     "largest number of solver iterations, -1 for no limit"},
    {"cache_size", ANOMA_PARAM_DOUBLE, 0, 1e9, "200", "",
     "MB > 0 of kernel columns kept during training (at least two columns are kept)"},
    {"shrinking", ANOMA_PARAM_BOOL, 0, 1, "true", "",
     "set aside rows that are unlikely to change while solving (same solution, often faster)"},
};

typedef struct ocsvm_state {
    an_ocsvm_config config;
    an_ocsvm model;
    int fitted;
} ocsvm_state;

/* The schema's ranges are closed; these bounds are open. */
static anoma_status check_positive(const an_params *p, const char *key, const char *what)
{
    if (an_params_double(p, key) > 0)
        return ANOMA_OK;
    return an_error(ANOMA_ERR_PARAM_VALUE, "ocsvm: %s=%s: expected %s", key,
                    an_params_text(p, key), what);
}

static anoma_status ocsvm_create(const an_params *params, void **out)
{
    int gamma_rule = an_params_is(params, "gamma", "scale") ? 1
                     : an_params_is(params, "gamma", "auto") ? 2
                                                               : 0;
    if (!gamma_rule)
        AN_TRY(check_positive(params, "gamma", "a number > 0, scale or auto"));
    AN_TRY(check_positive(params, "nu", "a number in (0, 1]"));
    AN_TRY(check_positive(params, "tol", "a number > 0"));
    AN_TRY(check_positive(params, "cache_size", "a number of MB > 0"));
    ocsvm_state *s = AN_NEW_ZEROED(ocsvm_state, 1);
    if (!s)
        return an_no_memory();
    s->config = (an_ocsvm_config){
        .kernel = (an_ocsvm_kernel_type)an_params_choice(params, "kernel"),
        .degree = (int)an_params_int(params, "degree"),
        .gamma = gamma_rule ? 0 : an_params_double(params, "gamma"),
        .gamma_rule = gamma_rule,
        .coef0 = an_params_double(params, "coef0"),
        .nu = an_params_double(params, "nu"),
        .tol = an_params_double(params, "tol"),
        .max_iter = an_params_int(params, "max_iter"),
        .cache_mb = an_params_double(params, "cache_size"),
        .shrinking = an_params_bool(params, "shrinking"),
    };
    *out = s;
    return ANOMA_OK;
}

static void ocsvm_destroy(void *state)
{
    ocsvm_state *s = state;
    if (!s)
        return;
    an_ocsvm_free(&s->model);
    an_free(s);
}

static void adopt(ocsvm_state *s, an_ocsvm *m)
{
    an_ocsvm_free(&s->model);
    s->model = *m;
    s->fitted = 1;
}

static anoma_status ocsvm_fit(void *state, const an_fit_data *data)
{
    ocsvm_state *s = state;
    an_ocsvm m;
    AN_TRY(an_ocsvm_train(&s->config, data, &m));
    adopt(s, &m);
    return ANOMA_OK;
}

static size_t ocsvm_scratch_bytes(const void *state)
{
    const ocsvm_state *s = state;
    return s->fitted ? an_ocsvm_scratch_bytes(&s->model) : 0;
}

static void ocsvm_score_row(const void *state, const double *row, void *scratch, double *score)
{
    an_ocsvm_score_row(&((const ocsvm_state *)state)->model, row, scratch, score);
}

static anoma_status ocsvm_score_batch(const void *state, const double *x, size_t rows,
                                      size_t n_threads, double *scores)
{
    return an_ocsvm_score_rows(&((const ocsvm_state *)state)->model, x, rows, n_threads, scores);
}

static anoma_status ocsvm_save(const void *state, an_writer *w)
{
    const ocsvm_state *s = state;
    if (!s->fitted)
        return an_error(ANOMA_ERR_NOT_FITTED, "ocsvm: not fitted");
    return an_ocsvm_save(&s->model, w);
}

static anoma_status ocsvm_load(void *state, an_reader *r, size_t n_features, uint32_t version)
{
    an_ocsvm m;
    AN_TRY(an_ocsvm_load(&m, r, n_features, version));
    adopt(state, &m);
    return ANOMA_OK;
}

static size_t ocsvm_memory_bytes(const void *state)
{
    const ocsvm_state *s = state;
    return sizeof *s + an_ocsvm_memory(&s->model);
}

static const char *const kernel_names[] = {"rbf", "linear", "poly", "sigmoid"};

static void ocsvm_describe(const void *state, an_strbuf *out)
{
    const ocsvm_state *s = state;
    const an_ocsvm *m = &s->model;
    if (!s->fitted) {
        an_strbuf_printf(out, "  not fitted\n");
        return;
    }
    an_strbuf_printf(out, "  kernel: %s", kernel_names[m->kernel.type]);
    if (m->kernel.type != AN_OCSVM_LINEAR)
        an_strbuf_printf(out, ", gamma: %.17g", m->kernel.gamma);
    if (m->kernel.type == AN_OCSVM_POLY)
        an_strbuf_printf(out, ", degree: %d", m->kernel.degree);
    if (m->kernel.type == AN_OCSVM_POLY || m->kernel.type == AN_OCSVM_SIGMOID)
        an_strbuf_printf(out, ", coef0: %.17g", m->kernel.coef0);
    an_strbuf_printf(out, "\n  nu: %g, rho: %.17g\n", s->config.nu, m->rho);
    an_strbuf_printf(out, "  support vectors: %zu of %zu features", m->n_sv, m->n_features);
    if (m->trained)
        an_strbuf_printf(out, " (%zu at the upper bound), solver iterations: %llu%s", m->n_at_bound,
                         (unsigned long long)m->iterations,
                         m->hit_max_iter ? " (stopped at max_iter)" : "");
    an_strbuf_printf(out, "\n  memory: %zu bytes\n", ocsvm_memory_bytes(s));
}

/* Outside the learned region: a decision value below 0, as libsvm and
 * scikit-learn predict. */
static anoma_status ocsvm_auto_threshold(const an_params *params, double *threshold)
{
    (void)params;
    *threshold = 0;
    return ANOMA_OK;
}

const an_detector_vtable an_ocsvm_detector = {
    .name = "ocsvm",
    .summary = "one-class SVM, nu formulation, solved as libsvm solves it (unsupervised)",
    .params = ocsvm_params,
    .n_params = sizeof ocsvm_params / sizeof *ocsvm_params,
    .flags = ANOMA_FLAG_SAMPLE_WEIGHTS,
    .payload_version = AN_OCSVM_PAYLOAD_VERSION,
    .create = ocsvm_create,
    .destroy = ocsvm_destroy,
    .fit = ocsvm_fit,
    .scratch_bytes = ocsvm_scratch_bytes,
    .scratch_align = AN_MAX_ALIGN,
    .score_row = ocsvm_score_row,
    .score_batch = ocsvm_score_batch,
    .save = ocsvm_save,
    .load = ocsvm_load,
    .memory_bytes = ocsvm_memory_bytes,
    .describe = ocsvm_describe,
    .auto_threshold = ocsvm_auto_threshold,
};
