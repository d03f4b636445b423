/* The forest container, and its checked builder from raw arrays.
 *
 * an_iforest_build() is the one way in for trees that were not grown here:
 * the loader (serialize.c) reads a payload into raw arrays and passes them
 * on, and importers of scikit-learn forests fill the same arrays from
 * tree_.children_left and friends. Raw trees may number their nodes in any
 * order with children after their parent (scikit-learn numbers them depth
 * first, right children late); the builder checks them and lays each tree out
 * again depth first with the two children of a split side by side, the
 * order in which build.c grows trees, so that a saved native forest loads
 * back into identical memory. Model files are hostile input (LightGBM
 * #7357 and #7438 crashed on unchecked child indices): every index is
 * checked before it is followed. */
#include "detectors/iforest/iforest.h"
#include "core/alloc.h"
#include "core/error.h"

#include <math.h>
#include <string.h>

void an_iforest_free(an_iforest *f)
{
    an_free(f->nodes);
    an_free(f->leaf_value);
    an_free(f->leaf_count);
    an_free(f->roots);
    an_free(f->depths);
    an_free(f->comps);
    an_if_heap_free(&f->heap);
    *f = (an_iforest){0};
}

anoma_status an_iforest_alloc(an_iforest *f, size_t n_nodes, size_t n_trees, size_t n_comps)
{
    /* + 1: never a request for 0 bytes (a hostile file may declare none) */
    f->nodes = AN_NEW_ARRAY(an_if_node, n_nodes + 1);
    f->leaf_value = AN_NEW_ARRAY(double, n_nodes + 1);
    f->leaf_count = AN_NEW_ARRAY(uint32_t, n_nodes + 1);
    f->roots = AN_NEW_ARRAY(uint32_t, n_trees + 1);
    f->depths = AN_NEW_ARRAY(uint32_t, n_trees + 1);
    f->comps = AN_NEW_ARRAY(an_if_comp, n_comps + 1);
    if (!f->nodes || !f->leaf_value || !f->leaf_count || !f->roots || !f->depths || !f->comps)
        return an_no_memory();
    f->n_nodes = n_nodes;
    f->n_trees = n_trees;
    f->n_comps = n_comps;
    return ANOMA_OK;
}

size_t an_iforest_memory(const an_iforest *f)
{
    return f->n_nodes * (sizeof *f->nodes + sizeof *f->leaf_value + sizeof *f->leaf_count) +
           f->n_trees * (sizeof *f->roots + sizeof *f->depths) + f->n_comps * sizeof *f->comps +
           an_if_heap_memory(&f->heap, f->n_trees);
}

anoma_status an_iforest_finish(an_iforest *f)
{
    /* scikit-learn: len(estimators_) * _average_path_length([max_samples_]) */
    f->denominator = (double)f->n_trees * an_iforest_c(f->max_samples);
    f->n_extended = 0;
    for (size_t i = 0; i < f->n_nodes; i++)
        f->n_extended += (f->nodes[i].info & (AN_IF_LEAF | AN_IF_EXTENDED)) == AN_IF_EXTENDED;
    f->has_extended = f->n_extended > 0;
    return an_if_heap_build(f, &f->heap);
}

static anoma_status bad_node(size_t tree, size_t node, const char *what)
{
    return an_error(ANOMA_ERR_FORMAT, "iforest: tree %zu, node %zu: %s", tree, node, what);
}

/* Scratch for checking and laying out one tree; sized for the largest. */
typedef struct entry {
    uint32_t old, new_index, depth;
} entry;

typedef struct scratch {
    entry *stack;
    uint8_t *has_parent;
    size_t *comp_start; /* first component of each extended split */
} scratch;

static int is_leaf(const an_iforest_raw_tree *t, size_t i)
{
    return t->left[i] == AN_IF_RAW_NONE || t->right[i] == AN_IF_RAW_NONE;
}

static anoma_status check_tree(const an_iforest_raw *raw, size_t ti, scratch *s)
{
    const an_iforest_raw_tree *t = &raw->trees[ti];
    size_t n = t->n_nodes;
    if (n == 0)
        return an_error(ANOMA_ERR_FORMAT, "iforest: tree %zu has no node", ti);
    if (!t->left || !t->right || !t->feature || !t->threshold || !t->n_samples ||
        (t->n_map && !t->feature_map) ||
        (t->n_components && (!t->comp_feature || !t->comp_normal || !t->comp_point)))
        return an_error(ANOMA_ERR_INVALID_ARGUMENT, "iforest: tree %zu: NULL array", ti);
    for (size_t k = 0; k < t->n_map; k++)
        if (t->feature_map[k] >= raw->n_features)
            return an_error(ANOMA_ERR_FORMAT,
                            "iforest: tree %zu: feature map entry %zu is %u, the model has %zu "
                            "features", ti, k, t->feature_map[k], raw->n_features);
    size_t width = t->n_map ? t->n_map : raw->n_features; /* tree-local features */
    memset(s->has_parent, 0, n);
    size_t comps = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t l = t->left[i], r = t->right[i];
        if (is_leaf(t, i)) {
            if (l != r)
                return bad_node(ti, i, "a leaf has a child on one side only");
            if (t->n_samples[i] > UINT32_MAX)
                return bad_node(ti, i, "leaf sample count out of range");
            continue;
        }
        if (l <= i || r <= i || l >= n || r >= n)
            return bad_node(ti, i, "child index out of range (children must follow their "
                                   "parent inside the tree)");
        if (l == r)
            return bad_node(ti, i, "both children are the same node");
        if (s->has_parent[l] || s->has_parent[r])
            return bad_node(ti, i, "a child is shared with another split");
        s->has_parent[l] = s->has_parent[r] = 1;
        uint8_t flags = t->flags ? t->flags[i] : 0;
        if (flags & ~(AN_IF_RAW_MISS_RIGHT | AN_IF_RAW_EXTENDED))
            return bad_node(ti, i, "unknown node flags");
        if (flags & AN_IF_RAW_EXTENDED) {
            size_t count = t->feature[i];
            if (count == 0 || count > t->n_components - comps)
                return bad_node(ti, i, "component count out of range");
            for (size_t k = comps; k < comps + count; k++) {
                if (t->comp_feature[k] >= width)
                    return bad_node(ti, i, "component feature index out of range");
                if (!isfinite(t->comp_normal[k]) || !isfinite(t->comp_point[k]))
                    return bad_node(ti, i, "component is not finite");
            }
            s->comp_start[i] = comps;
            comps += count;
        } else {
            if (t->feature[i] >= width)
                return bad_node(ti, i, "feature index out of range");
            if (!isfinite(t->threshold[i]))
                return bad_node(ti, i, "threshold is not finite");
        }
    }
    if (comps != t->n_components)
        return an_error(ANOMA_ERR_FORMAT, "iforest: tree %zu: %zu components for extended splits "
                        "that use %zu", ti, t->n_components, comps);
    /* Children point forward, so with one parent each every node is reached
     * from the root exactly once and there is no cycle. */
    for (size_t i = 1; i < n; i++)
        if (!s->has_parent[i])
            return bad_node(ti, i, "node is not reachable from the root");
    return ANOMA_OK;
}

/* Depth-first layout with adjacent children of tree ti, from node *at and
 * component *comp_at on; both advance. */
static anoma_status lay_out_tree(const an_iforest_raw *raw, size_t ti, scratch *s, an_iforest *f,
                                 size_t *at, size_t *comp_at, double *depth_sum)
{
    const an_iforest_raw_tree *t = &raw->trees[ti];
    size_t base = *at, next = 1, sp = 0;
    f->roots[ti] = (uint32_t)base;
    f->depths[ti] = 0;
    s->stack[sp++] = (entry){0, 0, 0};
    while (sp) {
        entry e = s->stack[--sp];
        size_t i = e.old;
        an_if_node *dst = &f->nodes[base + e.new_index];
        f->leaf_value[base + e.new_index] = 0;
        f->leaf_count[base + e.new_index] = 0;
        if (is_leaf(t, i)) {
            double value = an_iforest_leaf_value(e.depth, t->n_samples[i]);
            if (!isfinite(value))
                return bad_node(ti, i, "leaf value is not finite");
            an_iforest_set_leaf(f, base + e.new_index, value, (uint32_t)t->n_samples[i]);
            f->n_leaves++;
            *depth_sum += e.depth;
            if (e.depth > f->depths[ti])
                f->depths[ti] = e.depth;
            if (e.depth > f->max_depth)
                f->max_depth = e.depth;
            continue;
        }
        uint32_t left = (uint32_t)(base + next);
        uint8_t flags = t->flags ? t->flags[i] : 0;
        if (flags & AN_IF_RAW_EXTENDED) {
            size_t count = t->feature[i], first = s->comp_start[i];
            for (size_t k = 0; k < count; k++) {
                uint32_t j = t->comp_feature[first + k];
                f->comps[*comp_at + k] = (an_if_comp){
                    t->comp_normal[first + k], t->comp_point[first + k],
                    t->n_map ? t->feature_map[j] : j, k + 1 == count};
            }
            *dst = (an_if_node){0.0, AN_IF_EXTENDED | (uint32_t)*comp_at, left};
            *comp_at += count;
        } else {
            int miss_right = t->flags ? (flags & AN_IF_RAW_MISS_RIGHT) != 0
                                      : t->n_samples[t->right[i]] > t->n_samples[t->left[i]];
            uint32_t j = t->feature[i];
            *dst = (an_if_node){t->threshold[i],
                                (t->n_map ? t->feature_map[j] : j) |
                                    (miss_right ? AN_IF_MISS_RIGHT : 0),
                                left};
        }
        /* left child on top: it is laid out (and allocates) first */
        s->stack[sp++] = (entry){t->right[i], (uint32_t)(next + 1), e.depth + 1};
        s->stack[sp++] = (entry){t->left[i], (uint32_t)next, e.depth + 1};
        next += 2;
    }
    *at += t->n_nodes;
    return ANOMA_OK;
}

anoma_status an_iforest_build(const an_iforest_raw *raw, an_iforest *out)
{
    *out = (an_iforest){0};
    if (!raw || (!raw->trees && raw->n_trees))
        return an_error(ANOMA_ERR_INVALID_ARGUMENT, "iforest: NULL raw forest");
    if (raw->n_trees == 0 || raw->n_trees > AN_IF_MAX_NODES)
        return an_error(ANOMA_ERR_FORMAT, "iforest: %zu trees: expected 1 to %zu", raw->n_trees,
                        AN_IF_MAX_NODES);
    if (raw->max_samples == 0)
        return an_error(ANOMA_ERR_FORMAT, "iforest: max_samples is 0");
    if (raw->n_features == 0 || raw->n_features > (size_t)AN_IF_INDEX_MASK + 1)
        return an_error(ANOMA_ERR_FORMAT, "iforest: %zu features: expected 1 to %zu",
                        raw->n_features, (size_t)AN_IF_INDEX_MASK + 1);
    size_t total = 0, comps = 0, largest = 0;
    for (size_t t = 0; t < raw->n_trees; t++) {
        const an_iforest_raw_tree *tree = &raw->trees[t];
        if (tree->n_nodes > AN_IF_MAX_NODES - total ||
            tree->n_components > AN_IF_MAX_NODES - comps)
            return an_error(ANOMA_ERR_FORMAT, "iforest: more than %zu nodes or components",
                            AN_IF_MAX_NODES);
        total += tree->n_nodes;
        comps += tree->n_components;
        if (tree->n_nodes > largest)
            largest = tree->n_nodes;
    }
    an_iforest f = {0};
    f.n_features = raw->n_features;
    f.max_samples = raw->max_samples;
    f.float32 = raw->compare_as_float32 != 0;
    anoma_status st = an_iforest_alloc(&f, total, raw->n_trees, comps);
    scratch s = {AN_NEW_ARRAY(entry, largest), AN_NEW_ARRAY(uint8_t, largest),
                 AN_NEW_ARRAY(size_t, largest)};
    if (st == ANOMA_OK && (!s.stack || !s.has_parent || !s.comp_start))
        st = an_no_memory();
    double depth_sum = 0;
    size_t at = 0, comp_at = 0;
    for (size_t t = 0; t < raw->n_trees && st == ANOMA_OK; t++) {
        st = check_tree(raw, t, &s);
        if (st == ANOMA_OK)
            st = lay_out_tree(raw, t, &s, &f, &at, &comp_at, &depth_sum);
    }
    an_free(s.stack);
    an_free(s.has_parent);
    an_free(s.comp_start);
    if (st != ANOMA_OK) {
        an_iforest_free(&f);
        return st;
    }
    f.mean_depth = depth_sum / (double)f.n_leaves;
    st = an_iforest_finish(&f);
    if (st != ANOMA_OK) {
        an_iforest_free(&f);
        return st;
    }
    *out = f;
    return ANOMA_OK;
}
