/* The "gbt" payload (docs/detectors/gbt.md documents it byte by byte):
 *
 *   u32 version (1), u32 objective (0 binary:logistic, 1 reg:squarederror),
 *   f64 base_score, u64 n_features, u64 n_trees, then per tree:
 *   u64 n_nodes, then columns of n_nodes values each: u32 left, u32 right
 *   (tree-local, 0xFFFFFFFF at a leaf), u32 feature, u32 threshold (float32
 *   bits), u8 default_left, f64 value (leaves), f64 gain, f64 cover.
 *   Version 2 adds, after the trees, early stopping's record: u64
 *   best_iteration + 1 (0: none), u64 rounds grown, u32 metric (0 auto, 1
 *   logloss, 2 auc, 3 aucpr, 4 rmse), f64 best_score. Version 3 adds
 *   after it u64 num_parallel_tree (trees per round), and best_iteration
 *   and rounds count rounds. Version 1 loads as no early stopping,
 *   versions 1 and 2 as one tree per round. Version 4 puts the evaluation
 *   history between the trees and that record: u64 n_eval_sets, u64
 *   n_metrics, u32 metric codes (n_metrics, none auto), u64 rounds, then
 *   n_eval_sets x n_metrics x rounds f64 (set, then metric, then round);
 *   rounds must equal the record's. Earlier versions load without history.
 *
 * The loader hands the arrays to an_gbt_build, which checks every index,
 * so a hostile payload is an error, never a crash. */
#include "detectors/gbt/gbt.h"
#include "core/alloc.h"
#include "core/error.h"

#include <string.h>

/* Bytes per node in the payload, the least a tree takes, and the bytes of
 * version 2's early-stopping record (which the tree count must leave). */
#define NODE_BYTES (4 * 4 + 1 + 3 * 8)
#define MIN_TREE_BYTES (8 + NODE_BYTES)

static uint32_t float_bits(float v)
{
    uint32_t u;
    memcpy(&u, &v, sizeof u);
    return u;
}

static float bits_float(uint32_t u)
{
    float v;
    memcpy(&v, &u, sizeof v);
    return v;
}

static void save_tree(const an_gbt_forest *f, size_t t, an_writer *w)
{
    size_t root = f->roots[t];
    size_t end = t + 1 < f->n_trees ? f->roots[t + 1] : f->n_nodes, n = end - root;
    const an_gbt_node *nodes = f->nodes + root;
    an_put_u64(w, n);
    for (int side = 0; side < 2; side++)
        for (size_t i = 0; i < n; i++)
            an_put_u32(w, nodes[i].info & AN_GBT_LEAF ? AN_GBT_RAW_NONE
                                                      : nodes[i].left - (uint32_t)root + (uint32_t)side);
    for (size_t i = 0; i < n; i++)
        an_put_u32(w, nodes[i].info & AN_GBT_LEAF ? 0 : nodes[i].info & AN_GBT_FEATURE_MASK);
    for (size_t i = 0; i < n; i++)
        an_put_u32(w, float_bits(nodes[i].info & AN_GBT_LEAF ? 0.0f : nodes[i].threshold));
    for (size_t i = 0; i < n; i++)
        an_put_u8(w, !(nodes[i].info & AN_GBT_LEAF) && (nodes[i].info & AN_GBT_DEFAULT_LEFT));
    an_put_f64_array(w, f->leaf + root, n);
    an_put_f64_array(w, f->gain + root, n);
    an_put_f64_array(w, f->cover + root, n);
}

anoma_status an_gbt_save(const an_gbt_forest *f, an_writer *w)
{
    an_put_u32(w, AN_GBT_PAYLOAD_VERSION);
    an_put_u32(w, (uint32_t)f->objective);
    an_put_f64(w, f->base_score);
    an_put_u64(w, f->n_features);
    an_put_u64(w, f->n_trees);
    for (size_t t = 0; t < f->n_trees; t++)
        save_tree(f, t, w);
    an_put_u64(w, f->n_eval_sets);
    an_put_u64(w, f->n_metrics);
    for (size_t m = 0; m < f->n_metrics; m++)
        an_put_u32(w, (uint32_t)f->metrics[m]);
    an_put_u64(w, f->n_eval_sets ? f->rounds : 0);
    an_put_f64_array(w, f->history, f->n_eval_sets * f->n_metrics * f->rounds);
    an_put_u64(w, (uint64_t)(f->best_iteration + 1));
    an_put_u64(w, f->rounds);
    an_put_u32(w, (uint32_t)f->metric);
    an_put_f64(w, f->best_score);
    an_put_u64(w, f->num_parallel_tree);
    return an_writer_status(w);
}

static anoma_status read_tree(an_reader *r, an_gbt_raw_tree *t, an_gbt_tree_arrays *a)
{
    size_t n = an_get_count(r, AN_GBT_MAX_NODES, NODE_BYTES);
    AN_TRY(an_reader_status(r));
    AN_TRY(an_gbt_tree_arrays_make(a, n, t));
    an_get_u32_array(r, a->u32, 4 * n); /* left, right, feature, threshold bits */
    an_get_bytes(r, a->default_left, n);
    an_get_f64_array(r, a->f64, 3 * n);
    AN_TRY(an_reader_status(r));
    for (size_t i = 0; i < n; i++)
        a->threshold[i] = bits_float(a->u32[3 * n + i]);
    return ANOMA_OK;
}

/* Version 4's evaluation history (before the record that says how many
 * rounds it must hold: *rounds). */
static anoma_status read_history(an_reader *r, an_gbt_forest *f, uint64_t *rounds)
{
    uint64_t sets = an_get_u64(r), metrics = an_get_u64(r);
    AN_TRY(an_reader_status(r));
    if (metrics >= AN_GBT_N_METRICS || (sets && !metrics) || sets > 65536)
        return an_error(ANOMA_ERR_FORMAT, "gbt: evaluation history of %llu sets and %llu "
                        "metrics", (unsigned long long)sets, (unsigned long long)metrics);
    for (size_t m = 0; m < metrics; m++) {
        uint32_t code = an_get_u32(r);
        AN_TRY(an_reader_status(r));
        if (code == AN_GBT_METRIC_AUTO || code >= AN_GBT_N_METRICS)
            return an_error(ANOMA_ERR_FORMAT, "gbt: evaluation history: metric code %u", code);
        f->metrics[m] = (an_gbt_metric)code;
    }
    size_t series = (size_t)(sets * metrics);
    size_t n = an_get_count(r, series ? AN_GBT_MAX_NODES : 0, series ? 8 * series : 1);
    AN_TRY(an_reader_status(r));
    *rounds = n;
    if (!sets)
        return ANOMA_OK;
    f->history = AN_NEW_ARRAY(double, n ? series * n : 1);
    if (!f->history)
        return an_no_memory();
    an_get_f64_array(r, f->history, series * n);
    AN_TRY(an_reader_status(r));
    f->n_eval_sets = (size_t)sets;
    f->n_metrics = (size_t)metrics;
    return ANOMA_OK;
}

/* Version 2's early-stopping record and version 3's trees per round after
 * it, checked together against the trees read: best_iteration and rounds
 * count rounds of num_parallel_tree trees. */
static anoma_status read_rounds(an_reader *r, an_gbt_forest *f, uint32_t version,
                                uint64_t history_rounds)
{
    uint64_t best = 0, rounds = f->n_trees, per_round = 1;
    uint32_t metric = 0;
    double score = 0;
    if (version >= 2) {
        best = an_get_u64(r);
        rounds = an_get_u64(r);
        metric = an_get_u32(r);
        score = an_get_f64(r);
    }
    if (version >= 3)
        per_round = an_get_u64(r);
    AN_TRY(an_reader_status(r));
    if (f->n_eval_sets && history_rounds != rounds)
        return an_error(ANOMA_ERR_FORMAT, "gbt: the evaluation history holds %llu rounds, the "
                        "record %llu", (unsigned long long)history_rounds,
                        (unsigned long long)rounds);
    if (per_round == 0 || per_round > AN_GBT_MAX_NODES || f->n_trees % per_round)
        return an_error(ANOMA_ERR_FORMAT, "gbt: %zu trees are not whole rounds of %llu trees",
                        f->n_trees, (unsigned long long)per_round);
    size_t kept = f->n_trees / (size_t)per_round;
    if (metric >= AN_GBT_N_METRICS || rounds < kept || rounds > AN_GBT_MAX_NODES ||
        (best && best != kept) || (best && !isfinite(score)))
        return an_error(ANOMA_ERR_FORMAT, "gbt: early stopping's record (best iteration %llu, "
                        "%llu rounds, metric %u) does not fit the %zu rounds of trees",
                        (unsigned long long)best, (unsigned long long)rounds, metric, kept);
    f->num_parallel_tree = (size_t)per_round;
    f->best_iteration = (int64_t)best - 1;
    f->rounds = (size_t)rounds;
    f->metric = (an_gbt_metric)metric;
    f->best_score = score;
    return ANOMA_OK;
}

anoma_status an_gbt_load(an_gbt_forest *f, an_reader *r, size_t n_features)
{
    *f = (an_gbt_forest){0};
    uint32_t version = an_get_u32(r);
    uint32_t objective = an_get_u32(r);
    double base_score = an_get_f64(r);
    uint64_t width = an_get_u64(r);
    size_t n_trees = an_get_count(r, AN_GBT_MAX_NODES, MIN_TREE_BYTES);
    AN_TRY(an_reader_status(r));
    if (version > AN_GBT_PAYLOAD_VERSION)
        return an_error(ANOMA_ERR_VERSION, "gbt: payload version %u is newer than this library "
                        "reads (%u)", version, AN_GBT_PAYLOAD_VERSION);
    if (version == 0 || objective >= AN_GBT_N_OBJECTIVES)
        return an_error(ANOMA_ERR_FORMAT, "gbt: bad payload version %u or objective %u", version,
                        objective);
    if (width != n_features)
        return an_error(ANOMA_ERR_FORMAT, "gbt: the forest has %llu features, the model %zu",
                        (unsigned long long)width, n_features);
    an_gbt_raw_tree *trees = AN_NEW_ZEROED(an_gbt_raw_tree, n_trees ? n_trees : 1);
    an_gbt_tree_arrays *arrays = AN_NEW_ZEROED(an_gbt_tree_arrays, n_trees ? n_trees : 1);
    anoma_status st = trees && arrays ? ANOMA_OK : an_no_memory();
    for (size_t t = 0; t < n_trees && st == ANOMA_OK; t++)
        st = read_tree(r, &trees[t], &arrays[t]);
    if (st == ANOMA_OK) {
        an_gbt_raw raw = {trees, n_trees, n_features, (an_gbt_objective)objective, base_score,
                          1};
        st = an_gbt_build(&raw, f);
    }
    an_gbt_tree_arrays_free(arrays, n_trees);
    an_free(trees);
    uint64_t history_rounds = 0;
    if (st == ANOMA_OK && version >= 4)
        st = read_history(r, f, &history_rounds);
    if (st == ANOMA_OK)
        st = read_rounds(r, f, version, history_rounds);
    if (st != ANOMA_OK)
        an_gbt_forest_free(f);
    return st;
}
