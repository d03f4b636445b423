/* XGBoost 1.7 JSON models (`booster.save_model("m.json")`) as forests.
 *
 * The text is parsed by json-c (Debian's libjson-c, docs/detectors/gbt.md
 * says why) in strict mode with a depth limit, so hostile input is refused
 * by a maintained parser before we read a field. Then every field we use
 * is looked up by name and type-checked, every array length checked
 * against the tree's node count, and the trees go through an_gbt_build,
 * which checks every index. What the detector cannot score the same way is
 * refused by name (ANOMA_ERR_UNSUPPORTED): other boosters (dart, gblinear),
 * objectives other than binary:logistic and reg:squarederror, several
 * classes or targets, categorical splits, vector leaves, deleted nodes.
 *
 * json-c allocates its parse tree with the C library's malloc: it cannot
 * take the library's allocator. The tree lives only inside this call. */
#include "detectors/gbt/gbt.h"
#include "core/alloc.h"
#include "core/error.h"
#include "core/params.h"

#include <json-c/json.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

/* Deeper than any XGBoost file (6 levels), shallow enough for any stack. */
#define MAX_JSON_DEPTH 32

static anoma_status format_error(const char *path, const char *what)
{
    return an_error(ANOMA_ERR_FORMAT, "xgboost: %s: %s", path, what);
}

/* Member `key` of object o, of the given type; path names it in errors. */
static anoma_status member(json_object *o, const char *key, json_type type, const char *path,
                           json_object **out)
{
    json_object *v = NULL;
    if (!json_object_object_get_ex(o, key, &v) || !v)
        return an_error(ANOMA_ERR_FORMAT, "xgboost: %s.%s is missing", path, key);
    if (!json_object_is_type(v, type))
        return an_error(ANOMA_ERR_FORMAT, "xgboost: %s.%s: expected a %s, found a %s", path, key,
                        json_type_to_name(type), json_type_to_name(json_object_get_type(v)));
    *out = v;
    return ANOMA_OK;
}

/* A number written as a string ("5E-1"), as XGBoost writes parameters. */
static anoma_status number_string(json_object *o, const char *key, const char *path, double *out)
{
    json_object *v = NULL;
    AN_TRY(member(o, key, json_type_string, path, &v));
    if (!an_parse_double(json_object_get_string(v), out))
        return an_error(ANOMA_ERR_FORMAT, "xgboost: %s.%s: \"%s\" is not a number", path, key,
                        json_object_get_string(v));
    return ANOMA_OK;
}

static anoma_status count_string(json_object *o, const char *key, const char *path,
                                 size_t max, size_t *out)
{
    double v;
    AN_TRY(number_string(o, key, path, &v));
    /* (double)SIZE_MAX rounds up to 2^64, which no size_t holds: below it
     * the conversion is defined, and only then is it made */
    if (!(v >= 0 && v < (double)SIZE_MAX && v == (double)(size_t)v && (size_t)v <= max))
        return an_error(ANOMA_ERR_FORMAT, "xgboost: %s.%s = %g: expected a count up to %zu",
                        path, key, v, max);
    *out = (size_t)v;
    return ANOMA_OK;
}

/* An array member of exactly n elements. */
static anoma_status array_of(json_object *tree, const char *key, size_t n, size_t t,
                             json_object **out)
{
    char path[64];
    snprintf(path, sizeof path, "trees[%zu]", t);
    AN_TRY(member(tree, key, json_type_array, path, out));
    if (json_object_array_length(*out) != n)
        return an_error(ANOMA_ERR_FORMAT, "xgboost: trees[%zu].%s has %zu values, the tree %zu "
                        "nodes", t, key, json_object_array_length(*out), n);
    return ANOMA_OK;
}

/* Element i of an array as a number (integers and booleans too). */
static int element_number(json_object *array, size_t i, double *out)
{
    json_object *v = json_object_array_get_idx(array, i);
    if (!v)
        return 0;
    switch (json_object_get_type(v)) {
    case json_type_double:
        *out = json_object_get_double(v);
        return 1;
    case json_type_int:
        *out = (double)json_object_get_int64(v);
        return 1;
    case json_type_boolean:
        *out = json_object_get_boolean(v) ? 1 : 0;
        return 1;
    default:
        return 0;
    }
}

/* A child index as the builder reads it: -1 = none; anything else out of
 * [0, n) becomes n, which the builder refuses by tree and node. */
static uint32_t child(double v, size_t n)
{
    if (v == -1)
        return AN_GBT_RAW_NONE;
    return v >= 0 && v < (double)n && v == (double)(size_t)v ? (uint32_t)v : (uint32_t)n;
}

static anoma_status read_tree(json_object *tree, size_t t, an_gbt_raw_tree *raw,
                              an_gbt_tree_arrays *a)
{
    char path[64];
    snprintf(path, sizeof path, "trees[%zu]", t);
    if (!json_object_is_type(tree, json_type_object))
        return format_error(path, "expected an object");
    json_object *param = NULL;
    AN_TRY(member(tree, "tree_param", json_type_object, path, &param));
    size_t n, deleted, leaf_vector;
    AN_TRY(count_string(param, "num_nodes", path, AN_GBT_MAX_NODES, &n));
    AN_TRY(count_string(param, "num_deleted", path, AN_GBT_MAX_NODES, &deleted));
    AN_TRY(count_string(param, "size_leaf_vector", path, AN_GBT_MAX_NODES, &leaf_vector));
    if (deleted)
        return an_error(ANOMA_ERR_UNSUPPORTED, "xgboost: trees[%zu] has %zu deleted nodes "
                        "(a pruned tree): not supported", t, deleted);
    if (leaf_vector)
        return an_error(ANOMA_ERR_UNSUPPORTED, "xgboost: trees[%zu] has vector leaves "
                        "(multi-target): not supported", t);
    json_object *left = NULL, *right = NULL, *feature = NULL, *cond = NULL, *dleft = NULL;
    json_object *type = NULL, *gain = NULL, *cover = NULL;
    AN_TRY(array_of(tree, "left_children", n, t, &left));
    AN_TRY(array_of(tree, "right_children", n, t, &right));
    AN_TRY(array_of(tree, "split_indices", n, t, &feature));
    AN_TRY(array_of(tree, "split_conditions", n, t, &cond));
    AN_TRY(array_of(tree, "default_left", n, t, &dleft));
    AN_TRY(array_of(tree, "split_type", n, t, &type));
    AN_TRY(array_of(tree, "loss_changes", n, t, &gain));
    AN_TRY(array_of(tree, "sum_hessian", n, t, &cover));
    AN_TRY(an_gbt_tree_arrays_make(a, n, raw));
    for (size_t i = 0; i < n; i++) {
        double l, r, f, c, d, s, g, h;
        if (!element_number(left, i, &l) || !element_number(right, i, &r) ||
            !element_number(feature, i, &f) || !element_number(cond, i, &c) ||
            !element_number(dleft, i, &d) || !element_number(type, i, &s) ||
            !element_number(gain, i, &g) || !element_number(cover, i, &h))
            return an_error(ANOMA_ERR_FORMAT, "xgboost: trees[%zu], node %zu: a value is not a "
                            "number", t, i);
        if (s != 0)
            return an_error(ANOMA_ERR_UNSUPPORTED, "xgboost: trees[%zu], node %zu: a categorical "
                            "split: not supported (numerical splits only)", t, i);
        a->u32[i] = child(l, n);
        a->u32[n + i] = child(r, n);
        a->u32[2 * n + i] = f >= 0 && f < (double)AN_GBT_MAX_FEATURES ? (uint32_t)f : UINT32_MAX;
        /* XGBoost's thresholds and leaf values are float32 */
        a->threshold[i] = (float)c;
        a->default_left[i] = d != 0;
        a->f64[i] = (double)(float)c;
        a->f64[n + i] = g;
        a->f64[2 * n + i] = h;
    }
    return ANOMA_OK;
}

static anoma_status read_learner(json_object *root, an_gbt_raw *raw, json_object **trees)
{
    json_object *learner = NULL, *booster = NULL, *model = NULL, *param = NULL;
    json_object *objective = NULL, *name = NULL, *gbtree_param = NULL;
    AN_TRY(member(root, "learner", json_type_object, "(top)", &learner));
    AN_TRY(member(learner, "gradient_booster", json_type_object, "learner", &booster));
    AN_TRY(member(booster, "name", json_type_string, "learner.gradient_booster", &name));
    if (strcmp(json_object_get_string(name), "gbtree"))
        return an_error(ANOMA_ERR_UNSUPPORTED, "xgboost: booster \"%s\": not supported (gbtree "
                        "only; dart and gblinear are not)", json_object_get_string(name));
    AN_TRY(member(booster, "model", json_type_object, "learner.gradient_booster", &model));
    AN_TRY(member(model, "trees", json_type_array, "learner.gradient_booster.model", trees));
    AN_TRY(member(model, "gbtree_model_param", json_type_object,
                  "learner.gradient_booster.model", &gbtree_param));
    AN_TRY(member(learner, "objective", json_type_object, "learner", &objective));
    AN_TRY(member(objective, "name", json_type_string, "learner.objective", &name));
    const char *obj = json_object_get_string(name);
    if (!strcmp(obj, "binary:logistic"))
        raw->objective = AN_GBT_LOGISTIC;
    else if (!strcmp(obj, "reg:squarederror"))
        raw->objective = AN_GBT_SQUARED;
    else
        return an_error(ANOMA_ERR_UNSUPPORTED, "xgboost: objective \"%s\": not supported "
                        "(binary:logistic and reg:squarederror only)", obj);
    AN_TRY(member(learner, "learner_model_param", json_type_object, "learner", &param));
    size_t classes, targets = 1;
    AN_TRY(count_string(param, "num_class", "learner.learner_model_param", SIZE_MAX, &classes));
    json_object *v = NULL;
    if (json_object_object_get_ex(param, "num_target", &v))
        AN_TRY(count_string(param, "num_target", "learner.learner_model_param", SIZE_MAX,
                            &targets));
    if (classes > 1 || targets > 1)
        return an_error(ANOMA_ERR_UNSUPPORTED, "xgboost: %zu classes, %zu targets: not "
                        "supported (one output only)", classes, targets);
    AN_TRY(count_string(param, "num_feature", "learner.learner_model_param",
                        AN_GBT_MAX_FEATURES, &raw->n_features));
    AN_TRY(number_string(param, "base_score", "learner.learner_model_param", &raw->base_score));
    size_t n_trees;
    AN_TRY(count_string(gbtree_param, "num_trees", "learner.gradient_booster.model."
                        "gbtree_model_param", AN_GBT_MAX_NODES, &n_trees));
    raw->n_trees = json_object_array_length(*trees);
    if (n_trees != raw->n_trees)
        return an_error(ANOMA_ERR_FORMAT, "xgboost: num_trees says %zu trees, the file has %zu",
                        n_trees, raw->n_trees);
    /* random-forest mode: the leaves already hold eta / num_parallel_tree,
     * so the trees score as any; the count says what a round is */
    raw->num_parallel_tree = 1;
    if (json_object_object_get_ex(gbtree_param, "num_parallel_tree", &v)) {
        AN_TRY(count_string(gbtree_param, "num_parallel_tree",
                            "learner.gradient_booster.model.gbtree_model_param",
                            AN_GBT_MAX_NODES, &raw->num_parallel_tree));
        if (raw->num_parallel_tree == 0 || n_trees % raw->num_parallel_tree)
            return an_error(ANOMA_ERR_FORMAT, "xgboost: %zu trees are not whole rounds of "
                            "num_parallel_tree=%zu", n_trees, raw->num_parallel_tree);
    }
    return ANOMA_OK;
}

static anoma_status parse(const char *json, size_t size, json_object **out)
{
    if (size > INT_MAX)
        return an_error(ANOMA_ERR_FORMAT, "xgboost: %zu bytes of JSON: at most %d", size,
                        INT_MAX);
    struct json_tokener *tok = json_tokener_new_ex(MAX_JSON_DEPTH);
    if (!tok)
        return an_no_memory();
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
    json_object *root = json_tokener_parse_ex(tok, json, (int)size);
    enum json_tokener_error err = json_tokener_get_error(tok);
    size_t end = json_tokener_get_parse_end(tok);
    json_tokener_free(tok);
    if (!root || err != json_tokener_success) {
        json_object_put(root);
        return an_error(ANOMA_ERR_FORMAT, "xgboost: not a JSON model: %s at byte %zu",
                        err == json_tokener_continue ? "the text ends too early"
                                                     : json_tokener_error_desc(err),
                        end);
    }
    for (; end < size; end++) /* only white space may follow */
        if (!strchr(" \t\r\n", json[end]) || !json[end]) {
            json_object_put(root);
            return an_error(ANOMA_ERR_FORMAT, "xgboost: text after the JSON model at byte %zu",
                            end);
        }
    *out = root;
    return ANOMA_OK;
}

anoma_status an_gbt_from_xgboost_json(const char *json, size_t size, an_gbt_forest *out)
{
    *out = (an_gbt_forest){0};
    json_object *root = NULL;
    AN_TRY(parse(json, size, &root));
    an_gbt_raw raw = {0};
    json_object *trees = NULL;
    anoma_status st = read_learner(root, &raw, &trees);
    an_gbt_raw_tree *raw_trees = NULL;
    an_gbt_tree_arrays *arrays = NULL;
    if (st == ANOMA_OK) {
        raw_trees = AN_NEW_ZEROED(an_gbt_raw_tree, raw.n_trees ? raw.n_trees : 1);
        arrays = AN_NEW_ZEROED(an_gbt_tree_arrays, raw.n_trees ? raw.n_trees : 1);
        st = raw_trees && arrays ? ANOMA_OK : an_no_memory();
    }
    for (size_t t = 0; st == ANOMA_OK && t < raw.n_trees; t++)
        st = read_tree(json_object_array_get_idx(trees, t), t, &raw_trees[t], &arrays[t]);
    if (st == ANOMA_OK) {
        raw.trees = raw_trees;
        st = an_gbt_build(&raw, out);
    }
    an_gbt_tree_arrays_free(arrays, raw.n_trees);
    an_free(raw_trees);
    json_object_put(root);
    return st;
}
