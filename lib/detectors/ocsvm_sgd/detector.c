/* The "ocsvm_sgd" detector: parameters, training, scoring, the payload and
 * the vtable.
 *
 * Training: missing values take the feature's training mean (as "ocsvm");
 * gamma resolves as scikit-learn's rules ("scale" over every value); the
 * map is fitted, every row mapped (rows x n_components doubles, in blocks
 * across the threads), then SGD runs on the mapped rows (sgd.c). Scoring
 * maps a block of rows and takes offset - coef.z: a row scores the same
 * bits alone as in a batch, on any number of threads. */
#include "detectors/ocsvm_sgd/ocsvm_sgd.h"
#include "core/alloc.h"
#include "core/error.h"
#include "core/matrix.h"
#include "core/threads.h"
#include "detectors/mean_fill.h"
#include "detectors/ocsvm/ocsvm.h"

#include <math.h>
#include <string.h>

#define PAYLOAD_VERSION 1u
#define MAX_COMPONENTS 100000

/* Rows mapped at a time: GEMMs of at most 2^18 multiply-adds for common
 * widths, which OpenBLAS runs on the calling thread. */
enum { BLOCK = 16 };

static const anoma_param_info params_info[] = {
    {"map", ANOMA_PARAM_CHOICE, 0, 0, "nystroem", "rff|nystroem|none",
     "kernel map before the linear SVM: rff (random Fourier features), nystroem (rbf kernel "
     "on n_components training rows), none (the features themselves)"},
    {"n_components", ANOMA_PARAM_INT, 1, MAX_COMPONENTS, "100", "",
     "width of the map (nystroem: at most the training rows)"},
    {"gamma", ANOMA_PARAM_DOUBLE, 0, 1e300, "scale", "scale|auto",
     "rbf coefficient > 0 of the map: scale = 1 / (n_features * variance of all training "
     "values), auto = 1 / n_features, or a number"},
    {"seed", ANOMA_PARAM_INT, 0, 4294967295.0, "0", "",
     "the map's draws and the shuffling (scikit-learn's shuffling seed for the same value)"},
    {"nu", ANOMA_PARAM_DOUBLE, 0, 1, "0.5", "",
     "in (0, 1]: an upper bound on the share of training rows outside the region"},
    {"fit_intercept", ANOMA_PARAM_BOOL, 0, 1, "true", "", "learn the offset (else it stays 0)"},
    {"max_iter", ANOMA_PARAM_INT, 1, 2147483647.0, "1000", "", "most epochs"},
    {"tol", ANOMA_PARAM_DOUBLE, 0, 1e300, "0.001", "none",
     "stop after 5 epochs whose loss did not fall by tol * rows; none: run max_iter epochs"},
    {"shuffle", ANOMA_PARAM_BOOL, 0, 1, "true", "", "shuffle the rows before each epoch"},
    {"learning_rate", ANOMA_PARAM_CHOICE, 0, 0, "optimal", "constant|optimal|invscaling|adaptive",
     "step schedule: constant eta0, optimal 1 / (alpha (t0 + t)), invscaling eta0 / t^power_t, "
     "adaptive eta0 divided by 5 when the loss stalls"},
    {"eta0", ANOMA_PARAM_DOUBLE, 0, 1e300, "0", "",
     "initial step of constant, invscaling and adaptive (> 0 for them)"},
    {"power_t", ANOMA_PARAM_DOUBLE, -1e300, 1e300, "0.5", "", "exponent of invscaling"},
    {"average", ANOMA_PARAM_INT, 0, 9223372036854775807.0, "1", "",
     "0: no averaging; k >= 1: average the weights from the k-th update on (ASGD); 1 averages "
     "all, steadier than the last iterate"},
};

typedef struct sgd_config {
    an_sgd_map_type map;
    size_t n_components;
    double gamma;   /* > 0, or 0 with gamma_rule */
    int gamma_rule; /* 0 the number, 1 scale, 2 auto */
    uint32_t seed;
    an_sgd_problem sgd; /* the parameters; data filled at fit */
} sgd_config;

typedef struct sgd_state {
    sgd_config config;
    an_sgd_map map;
    double *coef; /* map.m */
    double *kernel_coef; /* nystroem: map.m, N' coef (an_sgd_map_fold) */
    double *fill; /* map.d */
    double offset;
    int fitted, trained;
    long long n_iter;
    double t;
} sgd_state;

static anoma_status sgd_create(const an_params *params, void **out)
{
    int gamma_rule = an_params_is(params, "gamma", "scale") ? 1
                     : an_params_is(params, "gamma", "auto") ? 2
                                                               : 0;
    if (!gamma_rule && !(an_params_double(params, "gamma") > 0))
        return an_error(ANOMA_ERR_PARAM_VALUE,
                        "ocsvm_sgd: gamma=%s: expected a number > 0, scale or auto",
                        an_params_text(params, "gamma"));
    if (!(an_params_double(params, "nu") > 0))
        return an_error(ANOMA_ERR_PARAM_VALUE, "ocsvm_sgd: nu=%s: expected a number in (0, 1]",
                        an_params_text(params, "nu"));
    an_sgd_rate rate = (an_sgd_rate)(an_params_choice(params, "learning_rate") + 1);
    if (rate != AN_SGD_OPTIMAL && !(an_params_double(params, "eta0") > 0))
        return an_error(ANOMA_ERR_PARAM_VALUE,
                        "ocsvm_sgd: eta0=%s: expected > 0 with learning_rate=%s",
                        an_params_text(params, "eta0"), an_params_text(params, "learning_rate"));
    sgd_state *s = AN_NEW_ZEROED(sgd_state, 1);
    if (!s)
        return an_no_memory();
    s->config = (sgd_config){
        .map = (an_sgd_map_type)an_params_choice(params, "map"),
        .n_components = (size_t)an_params_int(params, "n_components"),
        .gamma = gamma_rule ? 0 : an_params_double(params, "gamma"),
        .gamma_rule = gamma_rule,
        .seed = (uint32_t)an_params_int(params, "seed"),
        .sgd = {.nu = an_params_double(params, "nu"),
                .fit_intercept = an_params_bool(params, "fit_intercept"),
                .max_iter = an_params_int(params, "max_iter"),
                .tol = an_params_is(params, "tol", "none") ? -INFINITY
                                                           : an_params_double(params, "tol"),
                .shuffle = an_params_bool(params, "shuffle"),
                .rate = rate,
                .eta0 = an_params_double(params, "eta0"),
                .power_t = an_params_double(params, "power_t"),
                .average = an_params_int(params, "average")},
    };
    *out = s;
    return ANOMA_OK;
}

static void drop_fit(sgd_state *s)
{
    an_sgd_map_free(&s->map);
    an_free(s->coef);
    an_free(s->kernel_coef);
    an_free(s->fill);
    s->coef = s->kernel_coef = s->fill = NULL;
    s->fitted = s->trained = 0;
}

static void sgd_destroy(void *state)
{
    sgd_state *s = state;
    if (!s)
        return;
    drop_fit(s);
    an_free(s);
}

/* ---- mapping rows ---- */

/* Doubles of scratch for a block of `rows` rows, in this order: the
 * filled rows, their map, the map's own scratch. */
static size_t block_doubles(const sgd_state *s, size_t rows)
{
    return rows * (s->map.d + s->map.m) + an_sgd_map_scratch(&s->map, rows);
}

/* The map of `rows` rows into z, or into the scratch when z is NULL;
 * returns where it is. */
static double *map_block(const sgd_state *s, const double *x, size_t rows, double *z,
                         double *work)
{
    double *own = work + rows * s->map.d;
    an_mean_fill_rows(s->fill, x, rows, s->map.d, work);
    if (!z)
        z = own;
    an_sgd_map_rows(&s->map, work, rows, z, own + rows * s->map.m);
    return z;
}

typedef struct map_job {
    const sgd_state *s;
    const double *x;
    double *z;       /* map output, rows x m (fit), or NULL */
    double *scores;  /* scoring output, or NULL */
    double *scratch; /* block_doubles(BLOCK) per worker */
    size_t rows;
} map_job;

static double dot(const double *a, const double *b, size_t n)
{
    double sum = 0;
    for (size_t k = 0; k < n; k++)
        sum += a[k] * b[k];
    return sum;
}

/* offset - coef.z(x) for `rows` rows (at most BLOCK): with nystroem,
 * offset - (N' coef).k(x), from the kernel values alone; each score a sum
 * in index order, so a row scores the same bits alone as in a block. */
static void score_block(const sgd_state *s, const double *x, size_t rows, double *scores,
                        double *work)
{
    size_t m = s->map.m;
    if (s->map.type == AN_SGD_MAP_NYSTROEM) {
        double *k = work + rows * s->map.d;
        an_mean_fill_rows(s->fill, x, rows, s->map.d, work);
        an_sgd_map_kernel(&s->map, work, rows, k);
        for (size_t i = 0; i < rows; i++)
            scores[i] = s->offset - dot(s->kernel_coef, k + i * m, m);
        return;
    }
    double *z = map_block(s, x, rows, NULL, work);
    for (size_t i = 0; i < rows; i++)
        scores[i] = s->offset - dot(s->coef, z + i * m, m);
}

static void map_range(void *ctx, size_t begin, size_t end, size_t worker)
{
    const map_job *job = ctx;
    const sgd_state *s = job->s;
    size_t d = s->map.d, m = s->map.m;
    double *work = job->scratch + worker * block_doubles(s, BLOCK);
    for (size_t b = begin; b < end; b++) {
        size_t from = b * BLOCK, n = job->rows - from < BLOCK ? job->rows - from : BLOCK;
        if (job->scores)
            score_block(s, job->x + from * d, n, job->scores + from, work);
        else
            map_block(s, job->x + from * d, n, job->z + from * m, work);
    }
}

/* Map (z) or score (scores) every row, in blocks across threads. */
static anoma_status map_all(const sgd_state *s, const double *x, size_t rows, size_t n_threads,
                            double *z, double *scores)
{
    size_t blocks = (rows + BLOCK - 1) / BLOCK;
    size_t workers = an_parallel_workers(blocks, n_threads, 4);
    size_t per = block_doubles(s, BLOCK);
    map_job job = {s, x, z, scores, AN_NEW_ARRAY(double, workers * per), rows};
    if (!job.scratch)
        return an_no_memory();
    an_parallel_for(blocks, n_threads, 4, map_range, &job);
    an_free(job.scratch);
    return ANOMA_OK;
}

/* ---- training ---- */

/* The nystroem scoring weights from coef. */
static anoma_status fold(sgd_state *s)
{
    if (s->map.type != AN_SGD_MAP_NYSTROEM)
        return ANOMA_OK;
    s->kernel_coef = AN_NEW_ARRAY(double, s->map.m);
    if (!s->kernel_coef)
        return an_no_memory();
    an_sgd_map_fold(&s->map, s->coef, s->kernel_coef);
    return ANOMA_OK;
}

static anoma_status train(sgd_state *s, const an_fit_data *data, double *x)
{
    size_t rows = data->rows, d = data->cols;
    const sgd_config *cfg = &s->config;
    s->fill = AN_NEW_ARRAY(double, d);
    if (!s->fill)
        return an_no_memory();
    AN_TRY(an_mean_fill_fit("ocsvm_sgd", data, s->fill));
    an_mean_fill_rows(s->fill, data->x, rows, d, x);
    double gamma = cfg->gamma;
    if (cfg->gamma_rule == 1)
        AN_TRY(an_ocsvm_gamma_scale(x, rows, d, &gamma));
    else if (cfg->gamma_rule == 2)
        gamma = 1.0 / (double)d;
    AN_TRY(an_sgd_map_fit(&s->map, cfg->map, cfg->n_components, gamma, cfg->seed, x, rows, d));
    size_t m = s->map.m;
    s->coef = AN_NEW_ARRAY(double, m);
    if (!s->coef)
        return an_no_memory();
    double *z = x;
    if (cfg->map != AN_SGD_MAP_NONE) {
        z = AN_NEW_ARRAY(double, rows * m);
        if (!z)
            return an_no_memory();
        anoma_status st = map_all(s, x, rows, data->n_threads, z, NULL);
        if (st != ANOMA_OK) {
            an_free(z);
            return st;
        }
    }
    an_sgd_problem p = cfg->sgd;
    p.z = z;
    p.rows = rows;
    p.m = m;
    p.weights = data->weights;
    p.seed = cfg->seed;
    an_sgd_result result;
    anoma_status st = an_sgd_one_class(&p, s->coef, &result);
    if (z != x)
        an_free(z);
    AN_TRY(st);
    AN_TRY(fold(s));
    s->offset = result.offset;
    s->n_iter = result.n_iter;
    s->t = result.t;
    return ANOMA_OK;
}

static anoma_status sgd_fit(void *state, const an_fit_data *data)
{
    sgd_state *s = state;
    drop_fit(s);
    if (data->rows == 0 || data->cols == 0)
        return an_error(ANOMA_ERR_EMPTY, "ocsvm_sgd: no training data");
    double *x = AN_NEW_ARRAY(double, data->rows * data->cols);
    anoma_status st = x ? train(s, data, x) : an_no_memory();
    an_free(x);
    if (st != ANOMA_OK) {
        drop_fit(s);
        return st;
    }
    s->fitted = s->trained = 1;
    return ANOMA_OK;
}

/* ---- scoring ---- */

static size_t sgd_scratch_bytes(const void *state)
{
    const sgd_state *s = state;
    return s->fitted ? block_doubles(s, 1) * sizeof(double) : 0;
}

static void sgd_score_row(const void *state, const double *row, void *scratch, double *score)
{
    const sgd_state *s = state;
    score_block(s, row, 1, score, scratch);
}

static anoma_status sgd_score_batch(const void *state, const double *x, size_t rows,
                                    size_t n_threads, double *scores)
{
    return map_all(state, x, rows, n_threads, NULL, scores);
}

/* ---- payload, version 1 ---- */

static anoma_status sgd_save(const void *state, an_writer *w)
{
    const sgd_state *s = state;
    if (!s->fitted)
        return an_error(ANOMA_ERR_NOT_FITTED, "ocsvm_sgd: not fitted");
    an_put_u32(w, (uint32_t)s->map.type);
    an_put_u64(w, s->map.d);
    an_put_u64(w, s->map.m);
    an_put_f64(w, s->map.gamma);
    an_put_f64(w, s->offset);
    an_put_f64_array(w, s->fill, s->map.d);
    an_put_f64_array(w, s->coef, s->map.m);
    an_sgd_map_save(&s->map, w);
    return an_writer_status(w);
}

static anoma_status load_arrays(sgd_state *s, an_reader *r, uint32_t type, size_t d, size_t m,
                                double gamma)
{
    s->fill = AN_NEW_ARRAY(double, d);
    s->coef = AN_NEW_ARRAY(double, m);
    if (!s->fill || !s->coef)
        return an_no_memory();
    an_get_f64_array(r, s->fill, d);
    an_get_f64_array(r, s->coef, m);
    AN_TRY(an_reader_status(r));
    size_t bad;
    if ((bad = an_first_not_finite(s->fill, d)) < d)
        return an_error(ANOMA_ERR_FORMAT,
                        "ocsvm_sgd: the fill value of feature %zu is not finite", bad);
    if ((bad = an_first_not_finite(s->coef, m)) < m)
        return an_error(ANOMA_ERR_FORMAT, "ocsvm_sgd: coefficient %zu is not finite", bad);
    return an_sgd_map_load(&s->map, r, (an_sgd_map_type)type, d, m, gamma);
}

static anoma_status sgd_load(void *state, an_reader *r, size_t n_features, uint32_t version)
{
    (void)version; /* only version 1 exists */
    sgd_state *s = state;
    drop_fit(s);
    uint32_t type = an_get_u32(r);
    uint64_t d = an_get_u64(r), m = an_get_u64(r);
    double gamma = an_get_f64(r), offset = an_get_f64(r);
    AN_TRY(an_reader_status(r));
    if (type >= AN_SGD_N_MAPS)
        return an_error(ANOMA_ERR_FORMAT, "ocsvm_sgd: unknown map code %u (0 to %d)", type,
                        AN_SGD_N_MAPS - 1);
    if (d != n_features)
        return an_error(ANOMA_ERR_FORMAT,
                        "ocsvm_sgd: the payload has %llu features, the model %zu",
                        (unsigned long long)d, n_features);
    if (m == 0 || m > MAX_COMPONENTS || (type == AN_SGD_MAP_NONE && m != d))
        return an_error(ANOMA_ERR_FORMAT, "ocsvm_sgd: n_components %llu is out of range",
                        (unsigned long long)m);
    if (!(isfinite(gamma) && (gamma > 0 || type == AN_SGD_MAP_NONE)))
        return an_error(ANOMA_ERR_FORMAT, "ocsvm_sgd: gamma %g is not a finite number > 0",
                        gamma);
    if (!isfinite(offset))
        return an_error(ANOMA_ERR_FORMAT, "ocsvm_sgd: the offset is not finite");
    if (!an_reader_can_hold(r, d + m, 8))
        return an_reader_status(r);
    anoma_status st = load_arrays(s, r, type, (size_t)d, (size_t)m, gamma);
    if (st == ANOMA_OK)
        st = fold(s);
    if (st != ANOMA_OK) {
        drop_fit(s);
        return st;
    }
    s->offset = offset;
    s->fitted = 1;
    return ANOMA_OK;
}

/* ---- the rest ---- */

static size_t sgd_memory_bytes(const void *state)
{
    const sgd_state *s = state;
    return sizeof *s + (s->map.d + s->map.m * (s->kernel_coef ? 2 : 1)) * sizeof(double) +
           an_sgd_map_memory(&s->map);
}

static const char *const map_names[] = {"rff", "nystroem", "none"};

static void sgd_describe(const void *state, an_strbuf *out)
{
    const sgd_state *s = state;
    if (!s->fitted) {
        an_strbuf_printf(out, "  not fitted\n");
        return;
    }
    an_strbuf_printf(out, "  map: %s", map_names[s->map.type]);
    if (s->map.type != AN_SGD_MAP_NONE)
        an_strbuf_printf(out, ", n_components: %zu, gamma: %.17g", s->map.m, s->map.gamma);
    an_strbuf_printf(out, "\n  nu: %g, offset: %.17g\n", s->config.sgd.nu, s->offset);
    if (s->trained)
        an_strbuf_printf(out, "  epochs: %lld, updates: %.0f\n", s->n_iter, s->t - 1);
    an_strbuf_printf(out, "  memory: %zu bytes\n", sgd_memory_bytes(s));
}

/* Outside the learned region: a decision value below 0, as scikit-learn
 * predicts. */
static anoma_status sgd_auto_threshold(const an_params *params, double *threshold)
{
    (void)params;
    *threshold = 0;
    return ANOMA_OK;
}

const an_detector_vtable an_ocsvm_sgd_detector = {
    .name = "ocsvm_sgd",
    .summary = "linear one-class SVM trained by SGD on a kernel map, as scikit-learn's "
               "SGDOneClassSVM (unsupervised, linear in the rows)",
    .params = params_info,
    .n_params = sizeof params_info / sizeof *params_info,
    .flags = ANOMA_FLAG_SAMPLE_WEIGHTS,
    .payload_version = PAYLOAD_VERSION,
    .create = sgd_create,
    .destroy = sgd_destroy,
    .fit = sgd_fit,
    .scratch_bytes = sgd_scratch_bytes,
    .scratch_align = AN_MAX_ALIGN,
    .score_row = sgd_score_row,
    .score_batch = sgd_score_batch,
    .save = sgd_save,
    .load = sgd_load,
    .memory_bytes = sgd_memory_bytes,
    .describe = sgd_describe,
    .auto_threshold = sgd_auto_threshold,
};
