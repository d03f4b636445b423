/* Gradient-boosted trees ("gbt"): the types shared by the files of this folder.
 *
 * XGBoost's "hist" training (Chen and Guestrin 2016, "XGBoost: A Scalable
 * Tree Boosting System", and XGBoost 1.7's updater_quantile_hist): each
 * feature is cut into at most max_bin bins, each node sums the rows'
 * gradients and hessians per bin, and a split is chosen by the second-order
 * gain. docs/detectors/gbt.md is the user's page and documents the payload
 * byte by byte.
 *
 *   cuts.c       the feature cuts (weighted quantiles) and the binned matrix
 *   train.c      boosting: gradients, row sampling, depthwise and lossguide growth
 *   colsample.c  column sampling by tree, level and node (nested)
 *   forest.c     the forest container and its checked builder from raw trees
 *                (used by training, the loader and importers)
 *   score.c      traversal, single-row and parallel batch scoring
 *   explain.c    per-feature contributions of a row's margin (TreeSHAP)
 *   importance.c feature importance by weight, gain and cover (get_score)
 *   eval.c       early stopping's metrics (logloss, auc, aucpr, rmse)
 *   serialize.c  the payload in a model file
 *   xgboost_json.c  XGBoost 1.7 JSON models as forests (json-c)
 *   detector.c   parameters, the vtable, inspect's summary
 *
 * The forest is one flat array of 12-byte nodes, as the isolation forest's:
 * trees breadth first, the two children of a split adjacent (right = left
 * + 1), a leaf a fixed point of the step (threshold NaN, so every value
 * goes "right", and left = itself - 1), so a walk takes a fixed number of
 * steps with no test for leaves. Splits compare in float32, as XGBoost
 * does: a row goes left when (float)x < threshold, and a missing value
 * goes the split's learned default way. Scoring walks a second layout of
 * the same trees when they are shallow: complete binary trees of 8-byte
 * tests in arrays (score.c). */
#ifndef AN_DETECTORS_GBT_GBT_H
#define AN_DETECTORS_GBT_GBT_H

#include "detectors/detector.h"
#include "core/rng.h"

#include <math.h>
#include <stdint.h>

/* an_gbt_node.info: two flag bits, then the feature. */
#define AN_GBT_LEAF 0x80000000u         /* a leaf (feature 0, threshold NaN, left = itself - 1) */
#define AN_GBT_DEFAULT_LEFT 0x40000000u /* a missing value goes left */
#define AN_GBT_FEATURE_MASK 0x3FFFFFFFu

/* Largest node count of a forest, and largest feature count. */
#define AN_GBT_MAX_NODES ((size_t)UINT32_MAX - 1)
#define AN_GBT_MAX_FEATURES ((size_t)AN_GBT_FEATURE_MASK)
/* Deepest leaf a forest may have: TreeSHAP's path memory grows with the
 * square of the depth and its recursion with the depth (explain.c), and
 * no model we train (max_depth <= 64) or import in practice comes near. */
#define AN_GBT_MAX_DEPTH 1024u

typedef struct an_gbt_node {
    float threshold; /* split: left when (float)x < threshold; leaf: NaN (no value is below) */
    uint32_t info;   /* AN_GBT_* flags | feature; leaf: AN_GBT_LEAF */
    uint32_t left;   /* split: forest-wide index of the left child (right = left + 1);
                        leaf: its own index - 1 (modulo 2^32), so that "right" stays put */
} an_gbt_node;

/* Deepest forest scored in the complete layout (score.c): a tree takes
 * 2^depth x 16 bytes there (4 KB at 8). */
#define AN_GBT_COMPLETE_DEPTH 8u
/* Trees walked side by side, which the complete layout groups. */
#define AN_GBT_LANES 8u

/* One split of the complete layout: 8 bytes. */
typedef struct an_gbt_test {
    uint32_t key;   /* the threshold's key (score.c): left when the value's key is below;
                       0: always right */
    uint32_t value; /* the value's index in the row's two copies (score.c), times
                       AN_GBT_LANES: the feature, or n_features + feature to send a
                       missing value left */
} an_gbt_test;

/* A group of AN_GBT_LANES trees in the complete layout. */
typedef struct an_gbt_group {
    size_t depth;  /* D: the group's deepest leaf, at least 1 (a walk takes a first step) */
    size_t tests;  /* where its (2^D - 1) LANES tests start in the forest's tests */
    size_t leaves; /* where its 2^D LANES leaf values start in the forest's leaves */
} an_gbt_group;

/* Learning objectives, in the order of the parameter's choices (and the
 * payload's code). */
typedef enum an_gbt_objective {
    AN_GBT_LOGISTIC = 0, /* binary:logistic: score = 1 / (1 + exp(-margin)) */
    AN_GBT_SQUARED = 1,  /* reg:squarederror: score = margin */
    AN_GBT_N_OBJECTIVES
} an_gbt_objective;

extern const char *const an_gbt_objective_names[AN_GBT_N_OBJECTIVES];

/* Early stopping's metrics, in the order of the parameter's choices. */
typedef enum an_gbt_metric {
    AN_GBT_METRIC_AUTO = 0, /* the objective's: logloss, rmse */
    AN_GBT_LOGLOSS,
    AN_GBT_AUC,
    AN_GBT_AUCPR,
    AN_GBT_RMSE,
    AN_GBT_N_METRICS
} an_gbt_metric;

extern const char *const an_gbt_metric_names[AN_GBT_N_METRICS];

/* A fitted forest. */
typedef struct an_gbt_forest {
    an_gbt_node *nodes;
    size_t n_nodes;
    double *leaf;     /* n_nodes: a leaf's value (learning rate included); 0 at splits */
    double *gain;     /* n_nodes: a split's loss change; 0 at leaves */
    double *cover;    /* n_nodes: the sum of hessians that reached the node */
    uint32_t *roots;  /* n_trees: each tree's root in nodes */
    uint32_t *depths; /* n_trees: each tree's deepest leaf */
    size_t n_trees;
    size_t num_parallel_tree; /* trees per round (random-forest mode); divides n_trees */
    size_t n_features;
    an_gbt_objective objective;
    double base_score; /* as XGBoost states it: a probability for logistic */
    double base_margin; /* the margin every row starts from */
    /* base_margin plus each tree's leaf values averaged with the covers as
     * weights: TreeSHAP's bias, XGBoost's last pred_contribs column */
    double expected_margin;
    /* for describe */
    size_t n_leaves, max_depth;
    /* early stopping: best_iteration -1 when none was done; else the trees
     * kept are those of rounds 0..best_iteration of `rounds` grown, and
     * best_score is the metric's value on the evaluation rows there */
    int64_t best_iteration;
    size_t rounds;
    an_gbt_metric metric;
    double best_score;
    /* the evaluation history (XGBoost's evals_result): the value of metric
     * `metrics[m]` on evaluation set s after round k (0..rounds-1) is
     * history[(s * n_metrics + m) * rounds + k]; n_eval_sets 0: none */
    size_t n_eval_sets, n_metrics;
    an_gbt_metric metrics[AN_GBT_N_METRICS];
    double *history;
    /* scoring's complete layout (score.c; NULL when the forest is deeper
     * than AN_GBT_COMPLETE_DEPTH): the trees in groups of AN_GBT_LANES (the
     * last padded), each group's trees padded to the group's depth D as
     * complete binary trees, node i's children at 2i + 1 and 2i + 2: node i
     * of tree t = g LANES + l at tests[groups[g].tests + l (2^D - 1) + i],
     * its leaf k at leaves[groups[g].leaves + l 2^D + k]. groups has one
     * entry more than there are groups, whose offsets are the arrays'
     * lengths. */
    an_gbt_group *groups;
    an_gbt_test *tests;
    double *leaves;
    /* the single row's top levels (score.c): for groups 2q and 2q + 1,
     * the keys then the value indices of their 2 AN_GBT_LANES trees'
     * first AN_GBT_ROW_TOP_TESTS tests, node by node, at
     * top[q AN_GBT_ROW_TOP_BLOCK] */
    uint32_t *top;
} an_gbt_forest;

/* Tests in the single row's top levels (3 levels), and the dwords a pair of
 * groups' keys and value indices of them take. */
#define AN_GBT_ROW_TOP_TESTS 7u
#define AN_GBT_ROW_TOP_BLOCK (2u * AN_GBT_ROW_TOP_TESTS * 2u * AN_GBT_LANES)

void an_gbt_forest_free(an_gbt_forest *f);
size_t an_gbt_forest_memory(const an_gbt_forest *f);
/* The margin base_score gives for the objective (logit for logistic):
 * ANOMA_ERR_PARAM_VALUE naming base_score when it has none. */
anoma_status an_gbt_base_margin(an_gbt_objective objective, double base_score, double *margin);

/* ---- forest.c: a forest from raw trees ---- */

#define AN_GBT_RAW_NONE UINT32_MAX /* no child: the node is a leaf */

/* One tree as flat arrays indexed by node, as XGBoost's JSON holds it: the
 * root is node 0, a node's children have larger indices, every node but
 * the root is the child of exactly one split. */
typedef struct an_gbt_raw_tree {
    size_t n_nodes;
    const uint32_t *left, *right; /* children, or AN_GBT_RAW_NONE (both) at a leaf */
    const uint32_t *feature;      /* split's feature; ignored at leaves */
    const float *threshold;       /* split: left when (float)x < threshold */
    const uint8_t *default_left;  /* split: 1 when a missing value goes left */
    const double *value;          /* leaf's value; ignored at splits */
    const double *gain;           /* NULL or split's loss change */
    const double *cover;          /* NULL or the node's sum of hessians */
} an_gbt_raw_tree;

typedef struct an_gbt_raw {
    const an_gbt_raw_tree *trees;
    size_t n_trees;
    size_t n_features;
    an_gbt_objective objective;
    double base_score;
    size_t num_parallel_tree; /* trees per round; 0 counts as 1; must divide n_trees */
} an_gbt_raw;

/* The arrays of one raw tree, owned: what the loader and the XGBoost
 * import fill before an_gbt_build. */
typedef struct an_gbt_tree_arrays {
    uint32_t *u32; /* n each: left, right, feature, then room for the thresholds' bits */
    float *threshold;
    uint8_t *default_left;
    double *f64; /* n each: value, gain, cover */
} an_gbt_tree_arrays;

/* Arrays for an n-node tree (n within AN_GBT_MAX_NODES), and raw (its
 * n_nodes and pointers) made to point into them. */
anoma_status an_gbt_tree_arrays_make(an_gbt_tree_arrays *a, size_t n, an_gbt_raw_tree *raw);
/* Free count trees' arrays and the array a itself (NULL: nothing). */
void an_gbt_tree_arrays_free(an_gbt_tree_arrays *a, size_t count);

/* Check raw trees and lay them out as a forest. Every count, child index,
 * feature index and value is checked: a bad forest is ANOMA_ERR_FORMAT
 * naming the tree and node, never a crash. */
anoma_status an_gbt_build(const an_gbt_raw *raw, an_gbt_forest *out);

/* ---- cuts.c ---- */

/* Each feature's bin boundaries: bin b of feature f holds the values v with
 * cut[b - 1] <= v < cut[b] (float32), cut[n_bins - 1] above every value. */
typedef struct an_gbt_cuts {
    size_t n_features;
    size_t *offset; /* n_features + 1: feature f's cuts are values[offset[f], offset[f + 1]) */
    /* n_features + 1: feature f's histogram slots are [slot[f], slot[f + 1]):
     * one per bin, then its missing slot (where its missing values add up) */
    size_t *slot;
    float *values;
    float *min_value; /* n_features: below every value of the feature (XGBoost's min_vals) */
} an_gbt_cuts;

/* The training rows binned, row-major: row r's bin of feature f at
 * r x cols + f, its bin within the feature, or for a missing value the
 * feature's missing slot (its bin count). One byte a bin (u8) when every
 * feature's bins and missing slot fit, else two (u16); the other is NULL. */
typedef struct an_gbt_bins {
    size_t rows, cols;
    uint8_t *u8;
    uint16_t *u16;
} an_gbt_bins;

#define AN_GBT_MISSING_BIN UINT16_MAX

/* Cuts of every feature of x from the weighted quantiles of its values
 * (weights NULL: all 1), at most max_bin bins each, and x binned. */
anoma_status an_gbt_cuts_make(const double *x, size_t rows, size_t cols, const double *weights,
                              size_t max_bin, size_t n_threads, an_gbt_cuts *cuts,
                              an_gbt_bins *bins);
void an_gbt_bins_free(an_gbt_bins *bins);
void an_gbt_cuts_free(an_gbt_cuts *cuts);

/* ---- train.c ---- */

/* How a tree grows, in the order of the parameter's choices. */
typedef enum an_gbt_grow_policy {
    AN_GBT_DEPTHWISE = 0, /* every node of a level, to max_depth */
    AN_GBT_LOSSGUIDE = 1, /* the node of largest loss change first, to max_leaves */
} an_gbt_grow_policy;

typedef struct an_gbt_config {
    size_t n_trees;           /* boosting rounds */
    size_t num_parallel_tree; /* trees per round */
    size_t max_depth;         /* 0: no limit (lossguide only) */
    an_gbt_grow_policy grow_policy;
    size_t max_leaves; /* 0: no limit */
    double eta, gamma, min_child_weight, lambda, alpha;
    double subsample, colsample_bytree, colsample_bylevel, colsample_bynode;
    double scale_pos_weight;
    double base_score;
    size_t max_bin;
    an_gbt_objective objective;
    uint64_t seed;
    size_t early_stopping_rounds; /* 0: none */
    /* the metrics computed on every evaluation set after every round, in
     * the order given (none of them AUTO: the objective's default is
     * resolved); early stopping watches the last of them on the last set */
    an_gbt_metric eval_metrics[AN_GBT_N_METRICS];
    size_t n_eval_metrics;
} an_gbt_config;

anoma_status an_gbt_train(const an_gbt_config *cfg, const an_fit_data *data, an_gbt_forest *out);

/* ---- colsample.c ---- */

/* The features a tree, each of its levels and each of its nodes may split
 * on: the node's set is drawn from its level's, the level's from the
 * tree's (XGBoost's ColumnSampler). */
typedef struct an_gbt_colsampler {
    double bytree, bylevel, bynode;
    size_t cols;
    an_rng *rng;     /* the tree's */
    uint32_t *all;   /* 0..cols-1 */
    uint32_t *tree;  /* the tree's set, ascending */
    size_t n_tree;
    uint32_t *levels; /* n_levels x cols: depth d's set at levels + d x cols */
    size_t *level_n;  /* its size; 0 = not drawn yet in this tree */
    size_t n_levels;
    uint32_t *node; /* the last node's set */
} an_gbt_colsampler;

anoma_status an_gbt_colsampler_init(an_gbt_colsampler *s, const an_gbt_config *cfg, size_t cols);
void an_gbt_colsampler_free(an_gbt_colsampler *s);
/* A new tree, drawing from rng: its set is drawn, its levels forgotten. */
void an_gbt_colsampler_tree(an_gbt_colsampler *s, an_rng *rng);
/* The features a node at this depth may split on (ascending; valid until
 * the next call). */
anoma_status an_gbt_colsampler_node(an_gbt_colsampler *s, size_t depth,
                                    const uint32_t **features, size_t *n);

/* XGBoost's CalcWeight and CalcGain for a node with these sums (0 when the
 * hessian is below min_child_weight or not positive). */
double an_gbt_leaf_weight(const an_gbt_config *cfg, double g, double h);
double an_gbt_node_gain(const an_gbt_config *cfg, double g, double h);

/* ---- score.c ---- */

/* One step of a walk from node i: (float)x < threshold goes left, a larger
 * value right, a missing one the node's default way; a leaf stays put (no
 * value is below its NaN threshold: it goes "right", to itself).
 * Branch-free: whether a value is below a threshold is a coin toss the
 * branch predictor loses half the time. A missing value fails the
 * comparison (right); the default-left bit flips it back. */
static inline uint32_t an_gbt_step(const an_gbt_node *nodes, uint32_t i, const double *row)
{
    an_gbt_node n = nodes[i];
    float v = (float)row[n.info & AN_GBT_FEATURE_MASK];
    uint32_t right = !(v < n.threshold);
    uint32_t missing = v != v;
    right ^= missing & (n.info >> 30) & 1u; /* bit 30: AN_GBT_DEFAULT_LEFT */
    return n.left + right;
}

/* Lay the forest out for scoring (the complete layout when it is shallow
 * enough): done by an_gbt_build. */
anoma_status an_gbt_layout(an_gbt_forest *f);
/* Bytes of scratch an_gbt_score_row needs. */
size_t an_gbt_score_scratch_bytes(const an_gbt_forest *f);
/* The score of a margin: a probability for logistic, the margin itself for
 * squared error. */
double an_gbt_score_of_margin(const an_gbt_forest *f, double margin);
/* The score of one row; scratch holds an_gbt_score_scratch_bytes(f). */
double an_gbt_score_row(const an_gbt_forest *f, const double *row, void *scratch);
/* The scores of rows x rows (row-major), blocks of rows split across
 * n_threads; ANOMA_ERR_NO_MEMORY when the threads' blocks cannot be had. */
anoma_status an_gbt_score_rows(const an_gbt_forest *f, const double *x, size_t rows,
                               size_t n_threads, double *scores);
/* Instruction sets batch scoring can use beyond SSE2, each including the
 * ones before: AVX2 (deep trees' top levels), AVX-512 F and VL (shallow
 * trees to depth 5 all at once, keys 8 rows at a time). */
enum { AN_GBT_SSE2, AN_GBT_AVX2, AN_GBT_AVX512 };
/* As an_gbt_score_rows, with at most the instruction sets of vector (an
 * AN_GBT_* value) and the processor's (the tests take every way). */
anoma_status an_gbt_score_rows_on(const an_gbt_forest *f, const double *x, size_t rows,
                                  size_t n_threads, int vector, double *scores);
/* The widest of AN_GBT_* the processor has and this build can use. */
int an_gbt_vector(void);
/* As an_gbt_score_row, with at most the instruction sets of vector (an
 * AN_GBT_* value) and the processor's: AVX-512 steps 16 trees at once. */
double an_gbt_score_row_on(const an_gbt_forest *f, const double *row, void *scratch, int vector);

/* ---- explain.c ---- */

/* Bytes of scratch an_gbt_contributions needs for this forest. */
size_t an_gbt_explain_scratch_bytes(const an_gbt_forest *f);
/* Each feature's TreeSHAP contribution to the row's margin (n_features
 * values into out): expected_margin + the sum of out = the margin.
 * Allocates nothing; scratch holds an_gbt_explain_scratch_bytes(f). */
void an_gbt_contributions(const an_gbt_forest *f, const double *row, void *scratch,
                          double *out);
/* The forest's expected_margin, from its covers and leaf values (done by
 * an_gbt_build); scratch holds the largest tree's node count of doubles. */
void an_gbt_set_expected_margin(an_gbt_forest *f, double *scratch);

/* ---- importance.c ---- */

/* XGBoost's importance types, in the order of an_gbt_importance_names. */
typedef enum an_gbt_importance {
    AN_GBT_WEIGHT,
    AN_GBT_GAIN,
    AN_GBT_COVER,
    AN_GBT_TOTAL_GAIN,
    AN_GBT_TOTAL_COVER,
    AN_GBT_N_IMPORTANCE
} an_gbt_importance;

extern const char *const an_gbt_importance_names[AN_GBT_N_IMPORTANCE];

/* The kind of this name; ANOMA_ERR_INVALID_ARGUMENT naming the choices. */
anoma_status an_gbt_importance_kind(const char *name, an_gbt_importance *kind);
/* Each feature's importance of this kind (n_features values; 0 for a
 * feature no split uses). */
anoma_status an_gbt_importance_of(const an_gbt_forest *f, an_gbt_importance kind, double *out);

/* ---- eval.c ---- */

typedef struct an_gbt_eval {
    size_t rows;
    const int *labels;     /* 0/1 */
    const double *weights; /* NULL: all 1 */
} an_gbt_eval;

typedef struct an_gbt_ranked {
    double score;
    uint32_t row;
} an_gbt_ranked;

/* The metrics of a comma-separated list of names (eval_metric's text:
 * "logloss,auc"), each named once, "auto" the objective's; at least one.
 * ANOMA_ERR_PARAM_VALUE naming the bad one. */
anoma_status an_gbt_metrics_parse(const char *text, an_gbt_objective objective,
                                  an_gbt_metric *metrics, size_t *n);
/* The metric of this name, AN_GBT_N_METRICS when none. */
an_gbt_metric an_gbt_metric_named(const char *name);

/* 1 when a larger value of the metric is better (auc, aucpr). */
int an_gbt_metric_maximized(an_gbt_metric metric);
/* The metric (not AUTO) of the rows' scores; order is scratch of e->rows.
 * auc and aucpr need both classes among the rows. */
double an_gbt_metric_value(an_gbt_metric metric, const an_gbt_eval *e, const double *score,
                           an_gbt_ranked *order);

/* ---- xgboost_json.c ---- */

/* The forest of an XGBoost 1.7 JSON model (the text of save_model's file,
 * size bytes). ANOMA_ERR_FORMAT names a bad field, tree or node;
 * ANOMA_ERR_UNSUPPORTED names what this detector cannot score. */
anoma_status an_gbt_from_xgboost_json(const char *json, size_t size, an_gbt_forest *out);

/* ---- serialize.c ---- */

#define AN_GBT_PAYLOAD_VERSION 4u

anoma_status an_gbt_save(const an_gbt_forest *f, an_writer *w);
anoma_status an_gbt_load(an_gbt_forest *f, an_reader *r, size_t n_features);

/* ---- detector.c ---- */

typedef struct an_gbt_state {
    an_gbt_config config;
    an_gbt_forest forest;
    int fitted;
} an_gbt_state;

extern const an_detector_vtable an_gbt_detector;

/* Make state (from an_gbt_detector.create) fitted with the forest of raw
 * trees, replacing what it held: the entry point for importers. */
anoma_status an_gbt_from_raw(void *state, const an_gbt_raw *raw);

#endif
