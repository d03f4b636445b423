/* The heap layout: each tree of axis-parallel splits again, padded to a
 * complete binary tree of its own depth D and numbered as a binary heap
 * (root 1, children of slot i at 2i and 2i + 1). A batch walk then needs no
 * child index from memory: a step is i = 2i + (x[feature[i]] > value[i]),
 * one load fewer and a shorter dependency chain than the node array's step.
 *
 * A leaf at depth d < D sits at slot s; the slots of its subtree are
 * pass-through splits (value +inf, feature 0: every row, NaN included, goes
 * left), so the walk reaches s << (D - d) at depth D, where the leaf's path
 * value is kept. Slots [1, 2^D) of a tree's values are thresholds, slots
 * [2^D, 2^(D+1)) path values: after D steps the walk ends on its value.
 *
 * The layout is derived from the nodes when a forest is trained or loaded
 * (it is not saved), and only for trees where it costs little memory (see
 * wants_heap): psi = 256 trees (D <= 8) always qualify; a deep, sparse tree
 * walks its nodes. */
#include "detectors/iforest/iforest.h"
#include "core/alloc.h"
#include "core/error.h"

#include <math.h>

/* A tree is laid out when its depth is at most HEAP_SMALL_DEPTH (at most
 * 1024 slots, 21 KB), or when it has at least 1 node for HEAP_SLACK slots: a
 * slot takes 21 bytes (two values, a feature, a flag), a node 28. */
enum { HEAP_SMALL_DEPTH = 10, HEAP_SLACK = 4 };
/* Deepest tree laid out (its slot indexes stay far inside 32 bits). */
enum { HEAP_MAX_DEPTH = 28 };

static size_t tree_nodes(const an_iforest *f, size_t t)
{
    return (t + 1 < f->n_trees ? f->roots[t + 1] : f->n_nodes) - f->roots[t];
}

static int wants_heap(const an_iforest *f, size_t t)
{
    uint32_t d = f->depths[t];
    return d <= HEAP_SMALL_DEPTH ||
           (d <= HEAP_MAX_DEPTH && ((size_t)1 << d) <= HEAP_SLACK * tree_nodes(f, t));
}

/* Fill a tree's slots from node n at slot s of depth d, in a tree of
 * depth `depth` (recursion depth <= depth). */
static void place(const an_iforest *f, double *value, uint32_t *feature, uint8_t *miss_right,
                  uint32_t depth, uint32_t n, size_t s, uint32_t d)
{
    const an_if_node *node = &f->nodes[n];
    if (node->info & AN_IF_LEAF) {
        value[s << (depth - d)] = f->leaf_value[n];
        return;
    }
    value[s] = node->value;
    feature[s] = node->info & AN_IF_INDEX_MASK;
    miss_right[s] = (node->info & AN_IF_MISS_RIGHT) != 0;
    place(f, value, feature, miss_right, depth, node->left, 2 * s, d + 1);
    place(f, value, feature, miss_right, depth, node->left + 1, 2 * s + 1, d + 1);
}

void an_if_heap_free(an_if_heap *h)
{
    an_free(h->trees);
    an_free(h->values);
    an_free(h->features);
    an_free(h->miss_rights);
    *h = (an_if_heap){0};
}

anoma_status an_if_heap_build(const an_iforest *f, an_if_heap *h)
{
    *h = (an_if_heap){0};
    if (f->has_extended)
        return ANOMA_OK;
    size_t slots = 0;
    for (size_t t = 0; t < f->n_trees; t++)
        if (wants_heap(f, t))
            slots += (size_t)1 << f->depths[t];
    if (!slots)
        return ANOMA_OK;
    h->trees = AN_NEW_ZEROED(an_if_heap_tree, f->n_trees);
    h->values = AN_NEW_ARRAY(double, 2 * slots);
    h->features = AN_NEW_ARRAY(uint32_t, slots);
    h->miss_rights = AN_NEW_ARRAY(uint8_t, slots);
    if (!h->trees || !h->values || !h->features || !h->miss_rights) {
        an_if_heap_free(h);
        return an_no_memory();
    }
    h->n_slots = slots;
    size_t at = 0;
    for (size_t t = 0; t < f->n_trees; t++) {
        if (!wants_heap(f, t))
            continue;
        size_t n = (size_t)1 << f->depths[t];
        double *value = h->values + 2 * at;
        uint32_t *feature = h->features + at;
        uint8_t *miss_right = h->miss_rights + at;
        for (size_t s = 0; s < n; s++) { /* pass-through until placed */
            value[s] = INFINITY;
            feature[s] = 0;
            miss_right[s] = 0;
            value[n + s] = 0;
        }
        place(f, value, feature, miss_right, f->depths[t], f->roots[t], 1, 0);
        h->trees[t] = (an_if_heap_tree){value, feature, miss_right};
        at += n;
    }
    return ANOMA_OK;
}

size_t an_if_heap_memory(const an_if_heap *h, size_t n_trees)
{
    if (!h->trees)
        return 0;
    return n_trees * sizeof *h->trees +
           h->n_slots * (2 * sizeof *h->values + sizeof *h->features + sizeof *h->miss_rights);
}
