/* The "iforest" detector: parameters and the vtable glue.
 *
 * Score = s(x) = 2^(-E[h(x)] / c(psi)) in (0, 1], higher = more anomalous:
 * the negation of scikit-learn's IsolationForest.score_samples. The work is
 * in the other files of this folder (see iforest.h). */
#include "detectors/iforest/iforest.h"
#include "core/alloc.h"
#include "core/error.h"

#include <math.h>

static const anoma_param_info iforest_params[] = {
    {"n_trees", ANOMA_PARAM_INT, 1, 100000, "100", "", "number of isolation trees"},
    {"max_samples", ANOMA_PARAM_DOUBLE, 0, 9007199254740992.0, "auto", "auto",
     "rows per tree: auto = min(256, rows), a fraction in (0, 1] of the rows, or a count > 1 "
     "(capped at the rows)"},
    {"max_features", ANOMA_PARAM_DOUBLE, 0, 536870912.0, "1.0", "",
     "features per tree, drawn without replacement: a fraction in (0, 1] or a count > 1"},
    {"bootstrap", ANOMA_PARAM_BOOL, 0, 1, "false", "",
     "draw each tree's rows with replacement (a row drawn twice counts once)"},
    {"seed", ANOMA_PARAM_INT, 0, 9223372036854775807.0, "0", "",
     "random seed: one seed gives one forest, whatever the thread count"},
    {"extension_level", ANOMA_PARAM_INT, 0, 100000, "0", "",
     "0 = axis-parallel splits; k > 0 = extended iForest, hyperplanes on k + 1 features "
     "(at most n_features - 1)"},
};

/* A size parameter: "auto" (where accepted), a fraction in (0, 1] or a
 * whole count > 1. The schema only bounds the range; the rest is checked
 * here so that a bad value is refused when the detector is configured. */
static anoma_status check_size(const an_params *p, const char *key, int accepts_auto,
                               const char *what)
{
    if (accepts_auto && an_params_is(p, key, "auto"))
        return ANOMA_OK;
    double v = an_params_double(p, key);
    if (v > 0 && (v <= 1 || v == floor(v)))
        return ANOMA_OK;
    return an_error(ANOMA_ERR_PARAM_VALUE,
                    "iforest: %s=%s: expected %sa fraction in (0, 1] or a whole number > 1 of %s",
                    key, an_params_text(p, key), accepts_auto ? "auto, " : "", what);
}

static anoma_status iforest_create(const an_params *params, void **out)
{
    AN_TRY(check_size(params, "max_samples", 1, "rows"));
    AN_TRY(check_size(params, "max_features", 0, "features"));
    an_iforest_state *s = AN_NEW_ZEROED(an_iforest_state, 1);
    if (!s)
        return an_no_memory();
    s->config = (an_iforest_config){
        .n_trees = (size_t)an_params_int(params, "n_trees"),
        .max_samples =
            an_params_is(params, "max_samples", "auto") ? 0 : an_params_double(params, "max_samples"),
        .max_features = an_params_double(params, "max_features"),
        .bootstrap = an_params_bool(params, "bootstrap"),
        .seed = (uint64_t)an_params_int(params, "seed"),
        .extension_level = (size_t)an_params_int(params, "extension_level"),
    };
    *out = s;
    return ANOMA_OK;
}

static void iforest_destroy(void *state)
{
    an_iforest_state *s = state;
    if (!s)
        return;
    an_iforest_free(&s->forest);
    an_free(s);
}

void an_iforest_adopt(an_iforest_state *s, an_iforest *f)
{
    an_iforest_free(&s->forest);
    s->forest = *f;
    s->fitted = 1;
}

static anoma_status iforest_fit(void *state, const an_fit_data *data)
{
    an_iforest_state *s = state;
    an_iforest f;
    AN_TRY(an_iforest_train(&s->config, data, &f));
    an_iforest_adopt(s, &f);
    return ANOMA_OK;
}

anoma_status an_iforest_from_arrays(void *state, const an_iforest_raw *raw)
{
    if (!state || !raw)
        return an_error(ANOMA_ERR_INVALID_ARGUMENT, "iforest: NULL argument");
    if (raw->n_features == 0)
        return an_error(ANOMA_ERR_SHAPE, "iforest: a forest needs at least one feature");
    an_iforest f;
    AN_TRY(an_iforest_build(raw, &f));
    an_iforest_adopt(state, &f);
    return ANOMA_OK;
}

static void iforest_score_row(const void *state, const double *row, void *scratch,
                              double *score)
{
    (void)scratch;
    *score = an_iforest_score_row(&((const an_iforest_state *)state)->forest, row);
}

static anoma_status iforest_score_batch(const void *state, const double *x, size_t rows,
                                        size_t n_threads, double *scores)
{
    an_iforest_score_rows(&((const an_iforest_state *)state)->forest, x, rows, n_threads, scores);
    return ANOMA_OK;
}

static void iforest_feature_scores_row(const void *state, const double *row, void *scratch,
                                       double *out)
{
    (void)scratch;
    an_iforest_feature_scores(&((const an_iforest_state *)state)->forest, row, out);
}

static anoma_status iforest_save(const void *state, an_writer *w)
{
    const an_iforest_state *s = state;
    if (!s->fitted)
        return an_error(ANOMA_ERR_NOT_FITTED, "iforest: not fitted");
    return an_iforest_save(&s->forest, w);
}

/* The model's payload version and the one inside the payload (kept there
 * for importers, docs/detectors/iforest.md) are the same number. */
static anoma_status iforest_load(void *state, an_reader *r, size_t n_features, uint32_t version)
{
    (void)version; /* an_iforest_load reads and checks the payload's own */
    an_iforest f;
    AN_TRY(an_iforest_load(&f, r, n_features));
    an_iforest_adopt(state, &f);
    return ANOMA_OK;
}

static size_t iforest_memory_bytes(const void *state)
{
    const an_iforest_state *s = state;
    return sizeof *s + an_iforest_memory(&s->forest);
}

static void iforest_describe(const void *state, an_strbuf *out)
{
    const an_iforest_state *s = state;
    const an_iforest *f = &s->forest;
    if (!s->fitted) {
        an_strbuf_printf(out, "  not fitted\n");
        return;
    }
    an_strbuf_printf(out, "  trees: %zu, nodes: %zu (%zu leaves, %zu extended splits)\n",
                     f->n_trees, f->n_nodes, f->n_leaves, f->n_extended);
    an_strbuf_printf(out, "  leaf depth: mean %.2f, max %zu\n", f->mean_depth, f->max_depth);
    an_strbuf_printf(out, "  max_samples: %llu (c = %.6f), features: %zu, extension_level: %zu\n",
                     (unsigned long long)f->max_samples, an_iforest_c(f->max_samples),
                     f->n_features, s->config.extension_level);
    if (f->float32)
        an_strbuf_printf(out, "  splits compare float32(x) <= threshold (imported forest)\n");
}

/* Liu, Ting and Zhou's rule, and scikit-learn's offset_ = -0.5: a score
 * above 0.5 means a path shorter than an unsuccessful search's average. */
static anoma_status iforest_auto_threshold(const an_params *params, double *threshold)
{
    (void)params;
    *threshold = 0.5;
    return ANOMA_OK;
}

const an_detector_vtable an_iforest_detector = {
    .name = "iforest",
    .summary = "isolation forest, axis-parallel or extended (unsupervised)",
    .params = iforest_params,
    .n_params = sizeof iforest_params / sizeof *iforest_params,
    .flags = ANOMA_FLAG_FEATURE_SCORES,
    .payload_version = AN_IFOREST_PAYLOAD_VERSION,
    .create = iforest_create,
    .destroy = iforest_destroy,
    .fit = iforest_fit,
    .score_row = iforest_score_row,
    .score_batch = iforest_score_batch,
    .feature_scores_row = iforest_feature_scores_row,
    .save = iforest_save,
    .load = iforest_load,
    .memory_bytes = iforest_memory_bytes,
    .describe = iforest_describe,
    .auto_threshold = iforest_auto_threshold,
    .merge = an_iforest_merge,
};
