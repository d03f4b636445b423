/* The forest in a model file: the detector payload, version 1.
 *
 * Column arrays per tree, little-endian, so that a script can write one
 * from a scikit-learn forest with numpy's tobytes(); the layout is
 * documented field by field in docs/detectors/iforest.md. Loading reads the
 * arrays (every count bounded by the bytes left) and hands them to
 * an_iforest_build(), which checks every index and value. Saving writes
 * trees as they lie in memory, so save -> load -> save gives the same bytes. */
#include "detectors/iforest/iforest.h"
#include "core/alloc.h"
#include "core/error.h"

#include <string.h>

#define FLAG_FLOAT32 1u

/* Bytes per node and per component in a tree's arrays, and the least a
 * tree can take; they bound the counts read from a file. */
enum { NODE_BYTES = 4 + 4 + 4 + 8 + 8 + 1, COMP_BYTES = 4 + 8 + 8 };
enum { MIN_TREE_BYTES = 8 + 8 + NODE_BYTES + 8 };

static size_t tree_end(const an_iforest *f, size_t t)
{
    return t + 1 < f->n_trees ? f->roots[t + 1] : f->n_nodes;
}

static int is_extended(const an_if_node *n)
{
    return (n->info & (AN_IF_LEAF | AN_IF_EXTENDED)) == AN_IF_EXTENDED;
}

static uint32_t comp_count(const an_iforest *f, const an_if_node *n)
{
    const an_if_comp *c = f->comps + (n->info & AN_IF_INDEX_MASK);
    uint32_t k = 1;
    while (!c->last)
        c++, k++;
    return k;
}

static void save_tree(const an_iforest *f, size_t t, uint64_t *samples, an_writer *w)
{
    size_t root = f->roots[t], end = tree_end(f, t), n = end - root;
    const an_if_node *nodes = f->nodes + root;
    an_put_u64(w, n);
    an_put_u64(w, 0); /* no feature map: indices are the model's */
    for (size_t i = 0; i < n; i++)
        an_put_u32(w, nodes[i].info & AN_IF_LEAF ? UINT32_MAX : nodes[i].left - (uint32_t)root);
    for (size_t i = 0; i < n; i++)
        an_put_u32(w, nodes[i].info & AN_IF_LEAF ? UINT32_MAX
                                                 : nodes[i].left - (uint32_t)root + 1);
    for (size_t i = 0; i < n; i++)
        an_put_u32(w, nodes[i].info & AN_IF_LEAF ? 0
                      : is_extended(&nodes[i])   ? comp_count(f, &nodes[i])
                                                 : nodes[i].info & AN_IF_INDEX_MASK);
    for (size_t i = 0; i < n; i++)
        an_put_f64(w, nodes[i].info & (AN_IF_LEAF | AN_IF_EXTENDED) ? 0.0 : nodes[i].value);
    /* A split's count is its children's sum; children come after parents. */
    for (size_t i = n; i-- > 0;)
        samples[i] = nodes[i].info & AN_IF_LEAF
                         ? f->leaf_count[root + i]
                         : samples[nodes[i].left - root] + samples[nodes[i].left - root + 1];
    for (size_t i = 0; i < n; i++)
        an_put_u64(w, samples[i]);
    for (size_t i = 0; i < n; i++) {
        uint32_t info = nodes[i].info;
        an_put_u8(w, info & AN_IF_LEAF       ? 0
                     : info & AN_IF_EXTENDED ? AN_IF_RAW_EXTENDED
                     : info & AN_IF_MISS_RIGHT ? AN_IF_RAW_MISS_RIGHT
                                               : 0);
    }
    size_t n_comps = 0;
    for (size_t i = 0; i < n; i++)
        if (is_extended(&nodes[i]))
            n_comps += comp_count(f, &nodes[i]);
    an_put_u64(w, n_comps);
    for (int field = 0; field < 3; field++)
        for (size_t i = 0; i < n; i++) {
            if (!is_extended(&nodes[i]))
                continue;
            for (const an_if_comp *c = f->comps + (nodes[i].info & AN_IF_INDEX_MASK);; c++) {
                if (field == 0)
                    an_put_u32(w, c->feature);
                else
                    an_put_f64(w, field == 1 ? c->normal : c->point);
                if (c->last)
                    break;
            }
        }
}

uint64_t an_iforest_payload_size(uint64_t n_trees, uint64_t n_nodes, uint64_t n_comps)
{
    /* version, flags, n_features, max_samples, n_trees; per tree n_nodes,
     * n_map and n_comps; then the node and component columns */
    return 4 + 4 + 8 + 8 + 8 + n_trees * 24 + n_nodes * NODE_BYTES + n_comps * COMP_BYTES;
}

anoma_status an_iforest_save(const an_iforest *f, an_writer *w)
{
    size_t largest = 0;
    for (size_t t = 0; t < f->n_trees; t++)
        if (tree_end(f, t) - f->roots[t] > largest)
            largest = tree_end(f, t) - f->roots[t];
    uint64_t *samples = AN_NEW_ARRAY(uint64_t, largest ? largest : 1);
    if (!samples)
        return an_no_memory();
    an_put_u32(w, AN_IFOREST_PAYLOAD_VERSION);
    an_put_u32(w, f->float32 ? FLAG_FLOAT32 : 0);
    an_put_u64(w, f->n_features);
    an_put_u64(w, f->max_samples);
    an_put_u64(w, f->n_trees);
    for (size_t t = 0; t < f->n_trees; t++)
        save_tree(f, t, samples, w);
    an_free(samples);
    return an_writer_status(w);
}

/* ---- loading ---- */

/* The arrays of one tree read from a payload. */
typedef struct tree_arrays {
    uint32_t *u32;   /* map, left, right, feature, comp_feature */
    double *f64;     /* threshold, comp_normal, comp_point */
    uint64_t *count; /* n_samples */
    uint8_t *flags;
} tree_arrays;

static void free_arrays(tree_arrays *a, size_t n)
{
    for (size_t i = 0; a && i < n; i++) {
        an_free(a[i].u32);
        an_free(a[i].f64);
        an_free(a[i].count);
        an_free(a[i].flags);
    }
    an_free(a);
}

static anoma_status read_tree(an_reader *r, size_t n_features, an_iforest_raw_tree *t,
                              tree_arrays *a)
{
    size_t n = an_get_count(r, AN_IF_MAX_NODES, NODE_BYTES);
    size_t n_map = an_get_count(r, n_features, 4);
    /* Both counts together, not only each alone, before allocating. */
    if (!r->failed)
        an_reader_can_hold(r, (uint64_t)n * NODE_BYTES + (uint64_t)n_map * 4, 1);
    AN_TRY(an_reader_status(r));
    /* The map and the node columns are read before the component count, so
     * the arrays are made in two steps, each bounded by the bytes left. */
    a->u32 = AN_NEW_ARRAY(uint32_t, n_map + 3 * n + 1); /* + 1: never 0 bytes */
    a->f64 = AN_NEW_ARRAY(double, n + 1);
    a->count = AN_NEW_ARRAY(uint64_t, n + 1);
    a->flags = AN_NEW_ARRAY(uint8_t, n + 1);
    if (!a->u32 || !a->f64 || !a->count || !a->flags)
        return an_no_memory();
    an_get_u32_array(r, a->u32, n_map + 3 * n);
    an_get_f64_array(r, a->f64, n);
    for (size_t i = 0; i < n; i++)
        a->count[i] = an_get_u64(r);
    an_get_bytes(r, a->flags, n);
    size_t n_comps = an_get_count(r, AN_IF_MAX_NODES, COMP_BYTES);
    AN_TRY(an_reader_status(r));
    uint32_t *u32 = an_realloc_array(a->u32, n_map + 3 * n + n_comps + 1, sizeof *u32);
    if (!u32)
        return an_no_memory();
    a->u32 = u32;
    double *f64 = an_realloc_array(a->f64, n + 2 * n_comps + 1, sizeof *f64);
    if (!f64)
        return an_no_memory();
    a->f64 = f64;
    an_get_u32_array(r, a->u32 + n_map + 3 * n, n_comps);
    an_get_f64_array(r, a->f64 + n, 2 * n_comps);
    AN_TRY(an_reader_status(r));
    *t = (an_iforest_raw_tree){
        .n_nodes = n,
        .left = a->u32 + n_map,
        .right = a->u32 + n_map + n,
        .feature = a->u32 + n_map + 2 * n,
        .threshold = a->f64,
        .n_samples = a->count,
        .flags = a->flags,
        .n_map = n_map,
        .feature_map = a->u32,
        .n_components = n_comps,
        .comp_feature = a->u32 + n_map + 3 * n,
        .comp_normal = a->f64 + n,
        .comp_point = a->f64 + n + n_comps,
    };
    return ANOMA_OK;
}

anoma_status an_iforest_load(an_iforest *f, an_reader *r, size_t n_features)
{
    *f = (an_iforest){0};
    uint32_t version = an_get_u32(r);
    uint32_t flags = an_get_u32(r);
    uint64_t width = an_get_u64(r);
    uint64_t max_samples = an_get_u64(r);
    size_t n_trees = an_get_count(r, AN_IF_MAX_NODES, MIN_TREE_BYTES);
    AN_TRY(an_reader_status(r));
    if (version > AN_IFOREST_PAYLOAD_VERSION)
        return an_error(ANOMA_ERR_VERSION, "iforest: payload version %u is newer than this "
                        "library reads (%u)", version, AN_IFOREST_PAYLOAD_VERSION);
    if (version != AN_IFOREST_PAYLOAD_VERSION || flags & ~FLAG_FLOAT32)
        return an_error(ANOMA_ERR_FORMAT, "iforest: bad payload version %u or flags 0x%x",
                        version, flags);
    if (width != n_features)
        return an_error(ANOMA_ERR_FORMAT, "iforest: the forest has %llu features, the model %zu",
                        (unsigned long long)width, n_features);
    an_iforest_raw_tree *trees = AN_NEW_ZEROED(an_iforest_raw_tree, n_trees);
    tree_arrays *arrays = AN_NEW_ZEROED(tree_arrays, n_trees);
    anoma_status st = trees && arrays ? ANOMA_OK : an_no_memory();
    for (size_t t = 0; t < n_trees && st == ANOMA_OK; t++)
        st = read_tree(r, n_features, &trees[t], &arrays[t]);
    if (st == ANOMA_OK) {
        an_iforest_raw raw = {trees, n_trees, max_samples, n_features, (flags & FLAG_FLOAT32) != 0};
        st = an_iforest_build(&raw, f);
    }
    free_arrays(arrays, n_trees);
    an_free(trees);
    return st;
}
