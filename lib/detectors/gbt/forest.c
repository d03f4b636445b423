/* The forest container and its checked builder from raw trees.
 *
 * Training, the loader and importers all hand their trees to an_gbt_build,
 * so one function checks every index a forest will follow: a child out of
 * range, pointing backwards, shared by two splits or left unreached, a
 * feature beyond the model's width, a NaN threshold or a non-finite value
 * is an error naming the tree and node. The layout is breadth first within
 * a tree, the two children of a split adjacent. */
#include "detectors/gbt/gbt.h"
#include "core/alloc.h"
#include "core/error.h"

#include <string.h>

const char *const an_gbt_objective_names[AN_GBT_N_OBJECTIVES] = {"binary:logistic",
                                                                 "reg:squarederror"};

void an_gbt_forest_free(an_gbt_forest *f)
{
    if (!f)
        return;
    an_free(f->nodes);
    an_free(f->leaf);
    an_free(f->gain);
    an_free(f->cover);
    an_free(f->roots);
    an_free(f->depths);
    an_free(f->groups);
    an_free(f->tests);
    an_free(f->leaves);
    an_free(f->top);
    an_free(f->history);
    *f = (an_gbt_forest){0};
}

size_t an_gbt_forest_memory(const an_gbt_forest *f)
{
    size_t n_groups = (f->n_trees + AN_GBT_LANES - 1) / AN_GBT_LANES;
    size_t layout = f->groups ? (n_groups + 1) * sizeof *f->groups +
                                f->groups[n_groups].tests * sizeof *f->tests +
                                f->groups[n_groups].leaves * sizeof *f->leaves +
                                (n_groups + 1) / 2 * AN_GBT_ROW_TOP_BLOCK * sizeof *f->top
                              : 0;
    return f->n_nodes * (sizeof *f->nodes + 3 * sizeof(double)) +
           f->n_trees * 2 * sizeof(uint32_t) +
           f->n_eval_sets * f->n_metrics * f->rounds * sizeof(double) + layout;
}

anoma_status an_gbt_base_margin(an_gbt_objective objective, double base_score, double *margin)
{
    if (!isfinite(base_score))
        return an_error(ANOMA_ERR_PARAM_VALUE, "gbt: base_score=%g: expected a finite number",
                        base_score);
    if (objective == AN_GBT_LOGISTIC) {
        if (!(base_score > 0 && base_score < 1))
            return an_error(ANOMA_ERR_PARAM_VALUE, "gbt: base_score=%g: binary:logistic needs a "
                            "probability in (0, 1)", base_score);
        *margin = -log(1.0 / base_score - 1.0); /* XGBoost's ProbToMargin */
        return ANOMA_OK;
    }
    *margin = base_score;
    return ANOMA_OK;
}

anoma_status an_gbt_tree_arrays_make(an_gbt_tree_arrays *a, size_t n, an_gbt_raw_tree *raw)
{
    a->u32 = AN_NEW_ARRAY(uint32_t, 4 * n + 1);
    a->threshold = AN_NEW_ARRAY(float, n + 1);
    a->default_left = AN_NEW_ARRAY(uint8_t, n + 1);
    a->f64 = AN_NEW_ARRAY(double, 3 * n + 1);
    if (!a->u32 || !a->threshold || !a->default_left || !a->f64)
        return an_no_memory();
    *raw = (an_gbt_raw_tree){n,           a->u32,          a->u32 + n, a->u32 + 2 * n,
                             a->threshold, a->default_left, a->f64,     a->f64 + n,
                             a->f64 + 2 * n};
    return ANOMA_OK;
}

void an_gbt_tree_arrays_free(an_gbt_tree_arrays *a, size_t count)
{
    for (size_t i = 0; a && i < count; i++) {
        an_free(a[i].u32);
        an_free(a[i].threshold);
        an_free(a[i].default_left);
        an_free(a[i].f64);
    }
    an_free(a);
}

static anoma_status bad(size_t t, size_t i, const char *what)
{
    return an_error(ANOMA_ERR_FORMAT, "gbt: tree %zu, node %zu: %s", t, i, what);
}

/* Check one tree; parents is scratch of n_nodes bytes. */
static anoma_status check_tree(const an_gbt_raw_tree *tr, size_t t, size_t n_features,
                               uint8_t *parents)
{
    size_t n = tr->n_nodes;
    if (n == 0)
        return an_error(ANOMA_ERR_FORMAT, "gbt: tree %zu has no node", t);
    memset(parents, 0, n);
    for (size_t i = 0; i < n; i++) {
        uint32_t l = tr->left[i], r = tr->right[i];
        if ((l == AN_GBT_RAW_NONE) != (r == AN_GBT_RAW_NONE))
            return bad(t, i, "one child only");
        if (tr->gain && !isfinite(tr->gain[i]))
            return bad(t, i, "gain is not finite");
        if (tr->cover && !isfinite(tr->cover[i]))
            return bad(t, i, "cover is not finite");
        if (l == AN_GBT_RAW_NONE) {
            if (!isfinite(tr->value[i]))
                return bad(t, i, "leaf value is not finite");
            continue;
        }
        if (l >= n || r >= n || l <= i || r <= i || l == r)
            return bad(t, i, "child index out of range, not after its parent, or repeated");
        if (parents[l]++ || parents[r]++)
            return bad(t, i, "a child shared by two splits");
        if (tr->feature[i] >= n_features)
            return bad(t, i, "feature index beyond the model's features");
        if (isnan(tr->threshold[i]))
            return bad(t, i, "threshold is NaN");
    }
    for (size_t i = 1; i < n; i++)
        if (!parents[i])
            return bad(t, i, "not reached from the root");
    return ANOMA_OK;
}

static anoma_status alloc_forest(an_gbt_forest *f, size_t n_nodes, size_t n_trees)
{
    f->n_nodes = n_nodes;
    f->n_trees = n_trees;
    f->nodes = AN_NEW_ARRAY(an_gbt_node, n_nodes);
    f->leaf = AN_NEW_ZEROED(double, n_nodes);
    f->gain = AN_NEW_ZEROED(double, n_nodes);
    f->cover = AN_NEW_ZEROED(double, n_nodes);
    f->roots = AN_NEW_ARRAY(uint32_t, n_trees ? n_trees : 1);
    f->depths = AN_NEW_ARRAY(uint32_t, n_trees ? n_trees : 1);
    if (!f->nodes || !f->leaf || !f->gain || !f->cover || !f->roots || !f->depths)
        return an_no_memory();
    return ANOMA_OK;
}

/* Lay tree tr out at f->nodes[root...]; order and depth are scratch of
 * n_nodes entries. */
static void place_tree(an_gbt_forest *f, const an_gbt_raw_tree *tr, size_t t, uint32_t root,
                       uint32_t *order, uint32_t *depth)
{
    size_t placed = 1, deepest = 0;
    order[0] = 0;
    depth[0] = 0;
    for (size_t k = 0; k < placed; k++) {
        uint32_t i = order[k], at = root + (uint32_t)k;
        if (tr->gain)
            f->gain[at] = tr->gain[i];
        if (tr->cover)
            f->cover[at] = tr->cover[i];
        if (tr->left[i] == AN_GBT_RAW_NONE) {
            f->nodes[at] = (an_gbt_node){NAN, AN_GBT_LEAF, at - 1u};
            f->leaf[at] = tr->value[i];
            f->gain[at] = 0;
            f->n_leaves++;
            deepest = depth[k] > deepest ? depth[k] : deepest;
            continue;
        }
        f->nodes[at] = (an_gbt_node){
            tr->threshold[i], tr->feature[i] | (tr->default_left[i] ? AN_GBT_DEFAULT_LEFT : 0u),
            root + (uint32_t)placed};
        order[placed] = tr->left[i];
        order[placed + 1] = tr->right[i];
        depth[placed] = depth[placed + 1] = depth[k] + 1;
        placed += 2;
    }
    f->roots[t] = root;
    f->depths[t] = (uint32_t)deepest;
    if (deepest > f->max_depth)
        f->max_depth = deepest;
}

anoma_status an_gbt_build(const an_gbt_raw *raw, an_gbt_forest *out)
{
    size_t per_round = raw->num_parallel_tree ? raw->num_parallel_tree : 1;
    *out = (an_gbt_forest){.best_iteration = -1, .num_parallel_tree = per_round,
                           .rounds = raw->n_trees / per_round};
    if (raw->n_trees % per_round)
        return an_error(ANOMA_ERR_FORMAT, "gbt: %zu trees are not whole rounds of "
                        "num_parallel_tree=%zu trees", raw->n_trees, per_round);
    if (raw->n_features == 0 || raw->n_features > AN_GBT_MAX_FEATURES)
        return an_error(ANOMA_ERR_FORMAT, "gbt: %zu features (expected 1 to %zu)",
                        raw->n_features, AN_GBT_MAX_FEATURES);
    if ((unsigned)raw->objective >= AN_GBT_N_OBJECTIVES)
        return an_error(ANOMA_ERR_FORMAT, "gbt: unknown objective code %u",
                        (unsigned)raw->objective);
    double margin = 0;
    if (an_gbt_base_margin(raw->objective, raw->base_score, &margin) != ANOMA_OK)
        return an_error(ANOMA_ERR_FORMAT, "gbt: base_score %g is out of range for %s",
                        raw->base_score, an_gbt_objective_names[raw->objective]);
    size_t total = 0, largest = 1;
    for (size_t t = 0; t < raw->n_trees; t++) {
        size_t n = raw->trees[t].n_nodes;
        if (n > AN_GBT_MAX_NODES - total)
            return an_error(ANOMA_ERR_FORMAT, "gbt: more than %zu nodes", AN_GBT_MAX_NODES);
        total += n;
        largest = n > largest ? n : largest;
    }
    uint8_t *parents = AN_NEW_ARRAY(uint8_t, largest);
    uint32_t *order = AN_NEW_ARRAY(uint32_t, 2 * largest);
    anoma_status st = parents && order ? ANOMA_OK : an_no_memory();
    for (size_t t = 0; t < raw->n_trees && st == ANOMA_OK; t++)
        st = check_tree(&raw->trees[t], t, raw->n_features, parents);
    if (st == ANOMA_OK)
        st = alloc_forest(out, total, raw->n_trees);
    if (st == ANOMA_OK) {
        out->n_features = raw->n_features;
        out->objective = raw->objective;
        out->base_score = raw->base_score;
        out->base_margin = margin;
        uint32_t root = 0;
        for (size_t t = 0; t < raw->n_trees; t++) {
            place_tree(out, &raw->trees[t], t, root, order, order + largest);
            root += (uint32_t)raw->trees[t].n_nodes;
        }
        if (out->max_depth > AN_GBT_MAX_DEPTH)
            st = an_error(ANOMA_ERR_FORMAT, "gbt: a tree %zu levels deep (at most %u)",
                          out->max_depth, AN_GBT_MAX_DEPTH);
    }
    double *expected = st == ANOMA_OK ? AN_NEW_ARRAY(double, largest) : NULL;
    if (st == ANOMA_OK && !expected)
        st = an_no_memory();
    if (st == ANOMA_OK) {
        an_gbt_set_expected_margin(out, expected);
        st = an_gbt_layout(out);
    }
    an_free(expected);
    an_free(parents);
    an_free(order);
    if (st != ANOMA_OK)
        an_gbt_forest_free(out);
    return st;
}
