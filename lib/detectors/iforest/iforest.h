/* Isolation forest ("iforest"): the types shared by the files of this folder.
 *
 * Liu, Ting and Zhou (2008), "Isolation Forest", scored exactly as
 * scikit-learn 1.2 does, plus the extended variant of Hariri, Carrasco Kind
 * and Brunner (2019) (parameter extension_level). docs/detectors/iforest.md
 * is the user's page and documents the payload byte by byte.
 *
 *   path.c      c(n), the depth limit and the per-leaf path value
 *   build.c     training: subsamples, random splits, parallel over trees
 *   forest.c    the forest container and its checked builder from raw arrays
 *               (used by the loader and by importers of scikit-learn forests)
 *   heap.c      the heap layout batch scoring walks (derived, not saved)
 *   score.c     traversal, single-row and blocked batch scoring
 *   explain.c   per-feature contributions of a row's score
 *   serialize.c the payload in a model file
 *   merge.c     one forest of the trees of forests fitted apart
 *   detector.c  parameters and the vtable
 *
 * The whole forest is one flat array of 16-byte nodes. Trees are laid out
 * depth first and the two children of a split are adjacent (right = left +
 * 1), so a step of the traversal is one comparison and one load. A leaf is a
 * fixed point of that step (threshold +inf, left = itself), so walks can run
 * a fixed number of steps without testing for leaves; its precomputed path
 * value depth + c(n_leaf) sits in a side array read once per tree. */
#ifndef AN_DETECTORS_IFOREST_IFOREST_H
#define AN_DETECTORS_IFOREST_IFOREST_H

#include "detectors/detector.h"

#include <math.h>
#include <stdint.h>

/* an_if_node.info: three flag bits, then an index. */
#define AN_IF_LEAF 0x80000000u       /* a leaf (feature 0, value +inf, left = itself) */
#define AN_IF_EXTENDED 0x40000000u   /* a hyperplane split: index = first component */
#define AN_IF_MISS_RIGHT 0x20000000u /* axis split: a missing value goes right */
#define AN_IF_INDEX_MASK 0x1FFFFFFFu /* axis split: the feature */

/* Largest node or component count of a forest (indexes fit the mask). */
#define AN_IF_MAX_NODES ((size_t)AN_IF_INDEX_MASK)

typedef struct an_if_node {
    double value;  /* axis split: threshold, left when x <= value; extended
                      split: 0; leaf: +inf (no value is above it) */
    uint32_t info; /* AN_IF_* flags | feature or first component; leaf: AN_IF_LEAF */
    uint32_t left; /* split: forest-wide index of the left child (right = left + 1);
                      leaf: its own index, so that a step stays put */
} an_if_node;

/* One non-zero coordinate of an extended split's normal vector. The split
 * sends a row left when sum over its components of (x_j - point) * normal
 * <= 0; a missing x_j contributes 0 (it is taken as the intercept). */
typedef struct an_if_comp {
    double normal;
    double point;     /* the intercept's coordinate on this feature */
    uint32_t feature;
    uint32_t last;    /* 1 on the split's last component */
} an_if_comp;

/* One tree in the heap layout (heap.c): 2^D slots of feature and
 * miss_right, 2^(D+1) of value, for the tree's depth D. */
typedef struct an_if_heap_tree {
    const double *value;       /* [1, 2^D): thresholds; [2^D, 2^(D+1)): path values;
                                  NULL: the tree is walked in its nodes */
    const uint32_t *feature;   /* slot i splits on feature[i] */
    const uint8_t *miss_right; /* 1 when a missing value goes right at slot i */
} an_if_heap_tree;

/* The heap layout of a forest's axis-parallel trees, where it is cheap. */
typedef struct an_if_heap {
    an_if_heap_tree *trees; /* n_trees, or NULL: no tree is laid out */
    double *values;         /* the storage the trees point into */
    uint32_t *features;
    uint8_t *miss_rights;
    size_t n_slots; /* features and miss_rights; values has twice as many */
} an_if_heap;

/* A fitted forest. */
typedef struct an_iforest {
    an_if_node *nodes;
    size_t n_nodes;
    double *leaf_value;   /* n_nodes: at a leaf, depth + c(n_leaf); else 0 */
    uint32_t *leaf_count; /* n_nodes: at a leaf, the training samples in it; else 0 */
    uint32_t *roots;      /* n_trees: index of each tree's root in nodes */
    uint32_t *depths;     /* n_trees: depth of each tree's deepest leaf */
    size_t n_trees;
    an_if_comp *comps; /* components of extended splits, in node order */
    size_t n_comps;
    size_t n_features;
    uint64_t max_samples; /* psi, the subsample size c(psi) normalises by */
    double denominator;   /* n_trees * c(psi), as scikit-learn computes it */
    int float32;          /* compare (float)x <= threshold at axis splits */
    int has_extended;     /* some split is extended (selects the traversal) */
    an_if_heap heap;      /* none when has_extended */
    /* for describe */
    size_t n_leaves, n_extended, max_depth;
    double mean_depth; /* mean depth of the leaves */
} an_iforest;

void an_iforest_free(an_iforest *f);
size_t an_iforest_memory(const an_iforest *f);
/* Allocate the arrays for n_nodes nodes, n_trees trees and n_comps
 * components (counts set, contents not). */
anoma_status an_iforest_alloc(an_iforest *f, size_t n_nodes, size_t n_trees, size_t n_comps);
/* Fill denominator, has_extended and the heap layout from the nodes. */
anoma_status an_iforest_finish(an_iforest *f);
/* Make node i a leaf with that path value and sample count. */
static inline void an_iforest_set_leaf(an_iforest *f, size_t i, double value, uint32_t count)
{
    f->nodes[i] = (an_if_node){INFINITY, AN_IF_LEAF, (uint32_t)i};
    f->leaf_value[i] = value;
    f->leaf_count[i] = count;
}

/* ---- path.c ---- */

/* c(n) = 2 H(n - 1) - 2 (n - 1) / n with H(i) = ln(i) + Euler's gamma;
 * c(n) = 0 for n <= 1 and c(2) = 1: scikit-learn's _average_path_length. */
double an_iforest_c(uint64_t n);
/* Depth limit ceil(log2(max(psi, 2))). */
unsigned an_iforest_depth_limit(uint64_t psi);
/* A leaf's path value depth + c(n), rounded as scikit-learn rounds it:
 * ((depth + 1) + c(n)) - 1. */
double an_iforest_leaf_value(size_t depth, uint64_t n);

/* ---- heap.c ---- */

/* Lay out f's trees as heaps where that is cheap (none if f has extended
 * splits); h is empty on failure. */
anoma_status an_if_heap_build(const an_iforest *f, an_if_heap *h);
void an_if_heap_free(an_if_heap *h);
size_t an_if_heap_memory(const an_if_heap *h, size_t n_trees);

/* ---- build.c ---- */

/* Training parameters, resolved from the text parameters by detector.c. */
typedef struct an_iforest_config {
    size_t n_trees;
    double max_samples;  /* 0 = auto; (0, 1] fraction of rows; > 1 row count */
    double max_features; /* (0, 1] fraction of features; > 1 feature count */
    int bootstrap;
    uint64_t seed;
    size_t extension_level;
} an_iforest_config;

/* Grow a forest on data (n_threads from data). Parameter errors that depend
 * on the data's shape are ANOMA_ERR_PARAM_VALUE naming the key. */
anoma_status an_iforest_train(const an_iforest_config *cfg, const an_fit_data *data,
                              an_iforest *out);

/* ---- forest.c: a forest from raw arrays ---- */

#define AN_IF_RAW_NONE UINT32_MAX /* no child: the node is a leaf */
/* Per-node flags of raw trees (and of the payload). */
#define AN_IF_RAW_MISS_RIGHT 1u /* axis split: a missing value goes right */
#define AN_IF_RAW_EXTENDED 2u   /* a hyperplane split */

/* One tree as flat arrays indexed by node, the way scikit-learn's tree_
 * holds it: nodes may be numbered in any order, the root is node 0 and a
 * node's children must have larger indices. */
typedef struct an_iforest_raw_tree {
    size_t n_nodes;
    const uint32_t *left, *right; /* children, or AN_IF_RAW_NONE (both) for a leaf */
    /* axis split: tree-local feature index; extended split: its number of
     * components; leaf: ignored */
    const uint32_t *feature;
    const double *threshold;    /* axis split: left when x <= threshold; else ignored */
    const uint64_t *n_samples;  /* training samples that reached each node */
    /* NULL: every split is axis-parallel and a missing value goes to the
     * child with more samples (ties: left); else AN_IF_RAW_* per node
     * (ignored on leaves). */
    const uint8_t *flags;
    /* Tree-local feature k is model feature feature_map[k]; n_map = 0
     * means tree-local indices are model indices (scikit-learn's
     * estimators_features_ gives the map when max_features < 1). */
    size_t n_map;
    const uint32_t *feature_map;
    /* Extended splits' components, concatenated in node order. */
    size_t n_components;
    const uint32_t *comp_feature; /* tree-local, through feature_map */
    const double *comp_normal, *comp_point;
} an_iforest_raw_tree;

typedef struct an_iforest_raw {
    const an_iforest_raw_tree *trees;
    size_t n_trees;
    uint64_t max_samples; /* scikit-learn's max_samples_ (>= 1) */
    size_t n_features;    /* width of the rows the forest scores */
    int compare_as_float32; /* scikit-learn forests: compare (float)x <= threshold */
} an_iforest_raw;

/* Check raw trees and lay them out as a forest. Every count, child index
 * (in range, pointing forward, each node the child of exactly one split),
 * feature index, threshold and component is checked: a bad forest is
 * ANOMA_ERR_FORMAT naming the tree and node, never a crash. */
anoma_status an_iforest_build(const an_iforest_raw *raw, an_iforest *out);

/* ---- score.c ---- */

/* Sum over trees of the row's path values h(x). */
double an_iforest_path_sum(const an_iforest *f, const double *row);
/* s(x) = 2^(-sum / (n_trees c(psi))) (0.5 when c(psi) = 0, as scikit-learn). */
double an_iforest_score_of_sum(const an_iforest *f, double sum);
double an_iforest_score_row(const an_iforest *f, const double *row);
/* Contiguous rows, in blocks across up to n_threads threads. */
void an_iforest_score_rows(const an_iforest *f, const double *x, size_t rows, size_t n_threads,
                           double *scores);

/* The child a row goes to from split n (shared by scoring and explanation). */
static inline uint32_t an_iforest_child(const an_iforest *f, const an_if_node *n,
                                        const double *row)
{
    uint32_t info = n->info;
    if (info & AN_IF_EXTENDED) {
        const an_if_comp *c = f->comps + (info & AN_IF_INDEX_MASK);
        double dot = 0;
        for (;; c++) {
            double v = row[c->feature];
            if (v == v)
                dot += (v - c->point) * c->normal;
            if (c->last)
                break;
        }
        return n->left + !(dot <= 0);
    }
    double v = row[info & AN_IF_INDEX_MASK];
    if (f->float32)
        v = (double)(float)v;
    if (v <= n->value)
        return n->left;
    if (v > n->value)
        return n->left + 1;
    return n->left + !!(info & AN_IF_MISS_RIGHT); /* missing */
}

/* ---- explain.c ---- */

/* Each feature's share of the row's isolation (see explain.c); out has
 * n_features values. */
void an_iforest_feature_scores(const an_iforest *f, const double *row, double *out);

/* ---- serialize.c ---- */

/* The payload layout save writes (its first field, and the model's
 * detector payload version). */
#define AN_IFOREST_PAYLOAD_VERSION 1u

anoma_status an_iforest_save(const an_iforest *f, an_writer *w);
anoma_status an_iforest_load(an_iforest *f, an_reader *r, size_t n_features);
/* The payload's size in bytes for a forest of these counts (exact for
 * trees without feature maps); training bounds a forest by it. */
uint64_t an_iforest_payload_size(uint64_t n_trees, uint64_t n_nodes, uint64_t n_comps);

/* ---- merge.c ---- */

/* The vtable's merge (detector.h): one forest of every tree of the
 * fitted states parts[0..n), in order; they must share max_samples and
 * the float32 flag. */
anoma_status an_iforest_merge(void *state, an_params *params, const void *const *parts, size_t n);

/* ---- detector.c ---- */

/* The detector's state (the vtable's void *); detector.c makes it. */
typedef struct an_iforest_state {
    an_iforest_config config;
    an_iforest forest;
    int fitted;
} an_iforest_state;

extern const an_detector_vtable an_iforest_detector;

/* Make the state fitted with forest f (taken over: *f is left to the
 * state), freeing the forest it held. */
void an_iforest_adopt(an_iforest_state *s, an_iforest *f);

/* Make state (from an_iforest_detector.create) fitted with the forest of raw
 * arrays, replacing what it held: the entry point for importers of trained
 * forests (scikit-learn). Errors as an_iforest_build(); ANOMA_ERR_SHAPE if
 * raw->n_features is 0. */
anoma_status an_iforest_from_arrays(void *state, const an_iforest_raw *raw);

#endif
