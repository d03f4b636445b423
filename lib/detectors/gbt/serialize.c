/* The "gbt" payload (docs/detectors/gbt.md documents it byte by byte):
 *
 *   u32 version (1), u32 objective (0 binary:logistic, 1 reg:squarederror),
 *   f64 base_score, u64 n_features, u64 n_trees, then per tree:
 *   u64 n_nodes, then columns of n_nodes values each: u32 left, u32 right
 *   (tree-local, 0xFFFFFFFF at a leaf), u32 feature, u32 threshold (float32
 *   bits), u8 default_left, f64 value (leaves), f64 gain, f64 cover.
 *
 * The loader hands the arrays to an_gbt_build, which checks every index,
 * so a hostile payload is an error, never a crash. */
#include "detectors/gbt/gbt.h"
#include "core/alloc.h"
#include "core/error.h"

#include <string.h>

/* Bytes per node in the payload, and the least a tree takes. */
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
    return an_writer_status(w);
}

/* The arrays of one tree read from a payload. */
typedef struct tree_arrays {
    uint32_t *u32; /* left, right, feature, threshold bits */
    float *threshold;
    uint8_t *default_left;
    double *f64; /* value, gain, cover */
} tree_arrays;

static void free_arrays(tree_arrays *a, size_t n)
{
    for (size_t i = 0; a && i < n; i++) {
        an_free(a[i].u32);
        an_free(a[i].threshold);
        an_free(a[i].default_left);
        an_free(a[i].f64);
    }
    an_free(a);
}

static anoma_status read_tree(an_reader *r, an_gbt_raw_tree *t, tree_arrays *a)
{
    size_t n = an_get_count(r, AN_GBT_MAX_NODES, NODE_BYTES);
    AN_TRY(an_reader_status(r));
    a->u32 = AN_NEW_ARRAY(uint32_t, 4 * n + 1);
    a->threshold = AN_NEW_ARRAY(float, n + 1);
    a->default_left = AN_NEW_ARRAY(uint8_t, n + 1);
    a->f64 = AN_NEW_ARRAY(double, 3 * n + 1);
    if (!a->u32 || !a->threshold || !a->default_left || !a->f64)
        return an_no_memory();
    an_get_u32_array(r, a->u32, 4 * n);
    an_get_bytes(r, a->default_left, n);
    an_get_f64_array(r, a->f64, 3 * n);
    AN_TRY(an_reader_status(r));
    for (size_t i = 0; i < n; i++)
        a->threshold[i] = bits_float(a->u32[3 * n + i]);
    *t = (an_gbt_raw_tree){n,           a->u32,          a->u32 + n,     a->u32 + 2 * n,
                           a->threshold, a->default_left, a->f64,         a->f64 + n,
                           a->f64 + 2 * n};
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
    if (version != AN_GBT_PAYLOAD_VERSION || objective >= AN_GBT_N_OBJECTIVES)
        return an_error(ANOMA_ERR_FORMAT, "gbt: bad payload version %u or objective %u", version,
                        objective);
    if (width != n_features)
        return an_error(ANOMA_ERR_FORMAT, "gbt: the forest has %llu features, the model %zu",
                        (unsigned long long)width, n_features);
    an_gbt_raw_tree *trees = AN_NEW_ZEROED(an_gbt_raw_tree, n_trees ? n_trees : 1);
    tree_arrays *arrays = AN_NEW_ZEROED(tree_arrays, n_trees ? n_trees : 1);
    anoma_status st = trees && arrays ? ANOMA_OK : an_no_memory();
    for (size_t t = 0; t < n_trees && st == ANOMA_OK; t++)
        st = read_tree(r, &trees[t], &arrays[t]);
    if (st == ANOMA_OK) {
        an_gbt_raw raw = {trees, n_trees, n_features, (an_gbt_objective)objective, base_score};
        st = an_gbt_build(&raw, f);
    }
    free_arrays(arrays, n_trees);
    an_free(trees);
    return st;
}
