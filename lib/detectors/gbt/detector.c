/* The "gbt" detector: parameters and the vtable glue.
 *
 * Supervised: it learns from labels (1 = anomaly) and, with
 * binary:logistic, its score is the probability of the positive class,
 * XGBClassifier.predict_proba(X)[:, 1]. The parameters are XGBoost's
 * (native names), with its defaults and ranges. The work is in the other
 * files of this folder (see gbt.h). */
#include "detectors/gbt/gbt.h"
#include "core/alloc.h"
#include "core/error.h"

#include <math.h>
#include <string.h>

#define MAX_DEPTH 64
/* Most trees a model grows (n_trees x num_parallel_tree). */
#define MAX_TREES 1000000

static const anoma_param_info gbt_params[] = {
    {"n_trees", ANOMA_PARAM_INT, 1, 1000000, "100", "",
     "boosting rounds: one tree each (XGBoost's num_boost_round, n_estimators)"},
    {"num_parallel_tree", ANOMA_PARAM_INT, 1, 100000, "1", "",
     "trees grown per round from the same gradients, their leaves scaled by eta / "
     "num_parallel_tree (random-forest mode: n_trees=1 eta=1 subsample<1)"},
    {"objective", ANOMA_PARAM_CHOICE, 0, 0, "binary:logistic", "binary:logistic|reg:squarederror",
     "binary:logistic: score = probability of label 1; reg:squarederror: score = the predicted "
     "label"},
    {"eta", ANOMA_PARAM_DOUBLE, 0, 1, "0.3", "", "learning rate: each leaf value is scaled by it"},
    {"max_depth", ANOMA_PARAM_INT, 0, MAX_DEPTH, "6", "",
     "deepest level a tree grows to (0: no limit, with grow_policy=lossguide or max_leaves "
     "above 0)"},
    {"grow_policy", ANOMA_PARAM_CHOICE, 0, 0, "depthwise", "depthwise|lossguide",
     "depthwise: split every node of a level; lossguide: split the node of largest loss change "
     "first, up to max_leaves"},
    {"max_leaves", ANOMA_PARAM_INT, 0, 2147483647.0, "0", "",
     "most leaves a tree has (0: no limit); depthwise stops splitting the level it is on "
     "when the tree reaches it"},
    {"gamma", ANOMA_PARAM_DOUBLE, 0, 1e300, "0", "",
     "least loss reduction a split must bring (min_split_loss)"},
    {"min_child_weight", ANOMA_PARAM_DOUBLE, 0, 1e300, "1", "",
     "least sum of hessians (row weights) in each child of a split"},
    {"lambda", ANOMA_PARAM_DOUBLE, 0, 1e300, "1", "", "L2 regularisation of leaf values"},
    {"alpha", ANOMA_PARAM_DOUBLE, 0, 1e300, "0", "", "L1 regularisation of leaf values"},
    {"subsample", ANOMA_PARAM_DOUBLE, 0, 1, "1", "",
     "share in (0, 1] of the rows each tree is grown on, drawn afresh per tree"},
    {"colsample_bytree", ANOMA_PARAM_DOUBLE, 0, 1, "1", "",
     "share in (0, 1] of the features each tree may split on, drawn afresh per tree"},
    {"colsample_bylevel", ANOMA_PARAM_DOUBLE, 0, 1, "1", "",
     "share in (0, 1] of the tree's features each depth level may split on, drawn afresh per "
     "level"},
    {"colsample_bynode", ANOMA_PARAM_DOUBLE, 0, 1, "1", "",
     "share in (0, 1] of the level's features each node may split on, drawn afresh per node"},
    {"scale_pos_weight", ANOMA_PARAM_DOUBLE, 0, 1e300, "1", "",
     "weight of positive rows relative to negative ones (binary:logistic)"},
    {"base_score", ANOMA_PARAM_DOUBLE, -1e300, 1e300, "0.5", "",
     "initial prediction of every row: a probability in (0, 1) for binary:logistic"},
    {"max_bin", ANOMA_PARAM_INT, 2, 65535, "256", "", "most bins a feature is cut into"},
    {"seed", ANOMA_PARAM_INT, 0, 9223372036854775807.0, "0", "",
     "random seed of subsample and the colsample shares: one seed gives one model, whatever the "
     "thread count"},
    {"early_stopping_rounds", ANOMA_PARAM_INT, 0, 1000000, "0", "",
     "stop when the evaluation rows' metric has not improved for this many rounds and keep the "
     "trees up to the best round (0: no early stopping; needs anoma_model_set_eval_set)"},
    {"eval_metric", ANOMA_PARAM_TEXT, 0, 0, "auto", "",
     "metrics computed on every evaluation set after every round, a comma-separated list of "
     "auto, logloss, auc, aucpr, rmse; early stopping watches the last (auto: logloss for "
     "binary:logistic, rmse for reg:squarederror)"},
};

/* The schema's ranges are closed; these bounds are open. */
static anoma_status check_positive(const an_params *p, const char *key)
{
    if (an_params_double(p, key) > 0)
        return ANOMA_OK;
    return an_error(ANOMA_ERR_PARAM_VALUE, "gbt: %s=%s: expected a number in (0, 1]", key,
                    an_params_text(p, key));
}

static anoma_status gbt_create(const an_params *params, void **out)
{
    AN_TRY(check_positive(params, "subsample"));
    AN_TRY(check_positive(params, "colsample_bytree"));
    AN_TRY(check_positive(params, "colsample_bylevel"));
    AN_TRY(check_positive(params, "colsample_bynode"));
    an_gbt_config c = {
        .n_trees = (size_t)an_params_int(params, "n_trees"),
        .num_parallel_tree = (size_t)an_params_int(params, "num_parallel_tree"),
        .max_depth = (size_t)an_params_int(params, "max_depth"),
        .grow_policy = (an_gbt_grow_policy)an_params_choice(params, "grow_policy"),
        .max_leaves = (size_t)an_params_int(params, "max_leaves"),
        .eta = an_params_double(params, "eta"),
        .gamma = an_params_double(params, "gamma"),
        .min_child_weight = an_params_double(params, "min_child_weight"),
        .lambda = an_params_double(params, "lambda"),
        .alpha = an_params_double(params, "alpha"),
        .subsample = an_params_double(params, "subsample"),
        .colsample_bytree = an_params_double(params, "colsample_bytree"),
        .colsample_bylevel = an_params_double(params, "colsample_bylevel"),
        .colsample_bynode = an_params_double(params, "colsample_bynode"),
        .scale_pos_weight = an_params_double(params, "scale_pos_weight"),
        .base_score = an_params_double(params, "base_score"),
        .max_bin = (size_t)an_params_int(params, "max_bin"),
        .objective = (an_gbt_objective)an_params_choice(params, "objective"),
        .seed = (uint64_t)an_params_int(params, "seed"),
        .early_stopping_rounds = (size_t)an_params_int(params, "early_stopping_rounds"),
    };
    AN_TRY(an_gbt_metrics_parse(an_params_text(params, "eval_metric"), c.objective,
                                c.eval_metrics, &c.n_eval_metrics));
    /* depthwise growth needs a bound: a depth, or a leaf count */
    if (c.grow_policy == AN_GBT_DEPTHWISE && c.max_depth == 0 && c.max_leaves == 0)
        return an_error(ANOMA_ERR_PARAM_VALUE, "gbt: max_depth=0 (no limit) needs "
                        "grow_policy=lossguide or max_leaves above 0; depthwise needs 1 to %d",
                        MAX_DEPTH);
    if (c.n_trees * c.num_parallel_tree > MAX_TREES)
        return an_error(ANOMA_ERR_PARAM_VALUE, "gbt: num_parallel_tree=%zu: with n_trees=%zu "
                        "that is %zu trees (at most %d)", c.num_parallel_tree, c.n_trees,
                        c.n_trees * c.num_parallel_tree, MAX_TREES);
    double margin;
    AN_TRY(an_gbt_base_margin(c.objective, c.base_score, &margin));
    an_gbt_state *s = AN_NEW_ZEROED(an_gbt_state, 1);
    if (!s)
        return an_no_memory();
    s->config = c;
    *out = s;
    return ANOMA_OK;
}

static void gbt_destroy(void *state)
{
    an_gbt_state *s = state;
    if (!s)
        return;
    an_gbt_forest_free(&s->forest);
    an_free(s);
}

static void adopt(an_gbt_state *s, an_gbt_forest *f)
{
    an_gbt_forest_free(&s->forest);
    s->forest = *f;
    s->fitted = 1;
}

static anoma_status gbt_fit(void *state, const an_fit_data *data)
{
    an_gbt_state *s = state;
    an_gbt_forest f;
    AN_TRY(an_gbt_train(&s->config, data, &f));
    adopt(s, &f);
    return ANOMA_OK;
}

anoma_status an_gbt_from_raw(void *state, const an_gbt_raw *raw)
{
    if (!state || !raw)
        return an_error(ANOMA_ERR_INVALID_ARGUMENT, "gbt: NULL argument");
    an_gbt_forest f;
    AN_TRY(an_gbt_build(raw, &f));
    adopt(state, &f);
    return ANOMA_OK;
}

static void gbt_score_row(const void *state, const double *row, void *scratch, double *score)
{
    *score = an_gbt_score_row(&((const an_gbt_state *)state)->forest, row, scratch);
}

/* One scratch for both row paths: scoring's and TreeSHAP's. */
static size_t gbt_scratch_bytes(const void *state)
{
    const an_gbt_forest *f = &((const an_gbt_state *)state)->forest;
    size_t score = an_gbt_score_scratch_bytes(f), explain = an_gbt_explain_scratch_bytes(f);
    return score > explain ? score : explain;
}

static void gbt_feature_scores_row(const void *state, const double *row, void *scratch,
                                   double *out)
{
    an_gbt_contributions(&((const an_gbt_state *)state)->forest, row, scratch, out);
}

static double gbt_feature_scores_base(const void *state)
{
    return ((const an_gbt_state *)state)->forest.expected_margin;
}

static anoma_status gbt_feature_importance(const void *state, const char *kind, double *out)
{
    an_gbt_importance k;
    AN_TRY(an_gbt_importance_kind(kind, &k));
    return an_gbt_importance_of(&((const an_gbt_state *)state)->forest, k, out);
}

static anoma_status gbt_eval_history(const void *state, size_t set, const char *metric,
                                     const double **values, size_t *n)
{
    const an_gbt_forest *f = &((const an_gbt_state *)state)->forest;
    if (!f->n_eval_sets)
        return an_error(ANOMA_ERR_INVALID_ARGUMENT, "gbt: eval_history: the model was fitted "
                        "without an evaluation set");
    if (set >= f->n_eval_sets)
        return an_error(ANOMA_ERR_INVALID_ARGUMENT, "gbt: eval_history: set %zu; the model "
                        "watched %zu (0 to %zu)", set, f->n_eval_sets, f->n_eval_sets - 1);
    an_strbuf names = {0};
    for (size_t m = 0; m < f->n_metrics; m++) {
        if (!strcmp(metric, an_gbt_metric_names[f->metrics[m]])) {
            an_strbuf_free(&names);
            *values = f->history + (set * f->n_metrics + m) * f->rounds;
            *n = f->rounds;
            return ANOMA_OK;
        }
        an_strbuf_printf(&names, "%s%s", m ? ", " : "", an_gbt_metric_names[f->metrics[m]]);
    }
    anoma_status st = an_error(ANOMA_ERR_INVALID_ARGUMENT, "gbt: eval_history: metric '%s' was "
                               "not recorded (recorded: %s)", metric,
                               names.data ? names.data : "");
    an_strbuf_free(&names);
    return st;
}

static anoma_status gbt_score_batch(const void *state, const double *x, size_t rows,
                                    size_t n_threads, double *scores)
{
    return an_gbt_score_rows(&((const an_gbt_state *)state)->forest, x, rows, n_threads, scores);
}

static anoma_status gbt_save(const void *state, an_writer *w)
{
    const an_gbt_state *s = state;
    if (!s->fitted)
        return an_error(ANOMA_ERR_NOT_FITTED, "gbt: not fitted");
    return an_gbt_save(&s->forest, w);
}

static anoma_status gbt_load(void *state, an_reader *r, size_t n_features, uint32_t version)
{
    (void)version; /* an_gbt_load reads and checks the payload's own */
    an_gbt_forest f;
    AN_TRY(an_gbt_load(&f, r, n_features));
    adopt(state, &f);
    return ANOMA_OK;
}

static size_t gbt_memory_bytes(const void *state)
{
    const an_gbt_state *s = state;
    return sizeof *s + an_gbt_forest_memory(&s->forest);
}

/* Features shown by inspect: the most important by gain (get_score's and
 * feature_importances_' default kind). */
#define TOP_FEATURES 10

/* inspect's lines of importance: the TOP_FEATURES features of largest
 * gain, with their weight and cover (XGBoost's get_score kinds). */
static void describe_importance(const an_gbt_forest *f, an_strbuf *out)
{
    size_t d = f->n_features, shown = 0;
    double *v = AN_NEW_ARRAY(double, 3 * d);
    unsigned char *used = AN_NEW_ZEROED(unsigned char, d);
    if (!v || !used || an_gbt_importance_of(f, AN_GBT_GAIN, v) != ANOMA_OK ||
        an_gbt_importance_of(f, AN_GBT_WEIGHT, v + d) != ANOMA_OK ||
        an_gbt_importance_of(f, AN_GBT_COVER, v + 2 * d) != ANOMA_OK) {
        an_strbuf_printf(out, "  importance: (out of memory)\n");
        an_free(v);
        an_free(used);
        return;
    }
    an_strbuf_printf(out, "  importance, top %d by gain (feature: gain, weight, cover):\n",
                     TOP_FEATURES);
    for (; shown < TOP_FEATURES; shown++) {
        size_t best = d;
        for (size_t j = 0; j < d; j++) /* the first of the largest gains among splits used */
            if (!used[j] && v[d + j] > 0 && (best == d || v[j] > v[best]))
                best = j;
        if (best == d)
            break;
        used[best] = 1;
        an_strbuf_printf(out, "    feature %zu: %.6g, %.0f, %.6g\n", best, v[best], v[d + best],
                         v[2 * d + best]);
    }
    if (shown == 0)
        an_strbuf_printf(out, "    (no split)\n");
    an_free(v);
    an_free(used);
}

static void gbt_describe(const void *state, an_strbuf *out)
{
    const an_gbt_state *s = state;
    const an_gbt_forest *f = &s->forest;
    if (!s->fitted) {
        an_strbuf_printf(out, "  not fitted\n");
        return;
    }
    an_strbuf_printf(out, "  objective: %s, base_score: %.9g\n",
                     an_gbt_objective_names[f->objective], f->base_score);
    an_strbuf_printf(out, "  trees: %zu, nodes: %zu (%zu leaves), max depth: %zu\n", f->n_trees,
                     f->n_nodes, f->n_leaves, f->max_depth);
    if (f->num_parallel_tree > 1)
        an_strbuf_printf(out, "  rounds: %zu of %zu parallel trees (random-forest mode)\n",
                         f->n_trees / f->num_parallel_tree, f->num_parallel_tree);
    if (f->best_iteration >= 0)
        an_strbuf_printf(out, "  early stopping: best iteration %lld of %zu rounds, %s %.9g\n",
                         (long long)f->best_iteration, f->rounds,
                         an_gbt_metric_names[f->metric], f->best_score);
    else
        an_strbuf_printf(out, "  early stopping: none (best iteration: the last, %zu)\n",
                         f->rounds ? f->rounds - 1 : 0);
    describe_importance(f, out);
}

/* binary:logistic: a probability above one half is the likelier class.
 * reg:squarederror fits 0/1 labels, so one half splits them too. */
static anoma_status gbt_auto_threshold(const an_params *params, double *threshold)
{
    (void)params;
    *threshold = 0.5;
    return ANOMA_OK;
}

const an_detector_vtable an_gbt_detector = {
    .name = "gbt",
    .summary = "gradient-boosted trees, XGBoost's hist method (supervised: labels needed)",
    .params = gbt_params,
    .n_params = sizeof gbt_params / sizeof *gbt_params,
    .flags = ANOMA_FLAG_SUPERVISED | ANOMA_FLAG_NEEDS_LABELS | ANOMA_FLAG_SAMPLE_WEIGHTS |
             ANOMA_FLAG_FEATURE_SCORES,
    .payload_version = AN_GBT_PAYLOAD_VERSION,
    .create = gbt_create,
    .destroy = gbt_destroy,
    .fit = gbt_fit,
    .scratch_bytes = gbt_scratch_bytes,
    .score_row = gbt_score_row,
    .score_batch = gbt_score_batch,
    .feature_scores_row = gbt_feature_scores_row,
    .feature_scores_base = gbt_feature_scores_base,
    .feature_importance = gbt_feature_importance,
    .eval_history = gbt_eval_history,
    .save = gbt_save,
    .load = gbt_load,
    .memory_bytes = gbt_memory_bytes,
    .describe = gbt_describe,
    .auto_threshold = gbt_auto_threshold,
};
