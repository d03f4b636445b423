/* One isolation forest from forests fitted apart (anoma_model_merge).
 *
 * A forest scores s(x) = 2^(-sum of path values / (n_trees c(psi))), so the
 * trees of forests grown on the same subsample size psi, put side by side,
 * score as one forest of all of them: the mean path over every tree. Trees
 * grown on another psi would be normalised by a c(psi) they did not use,
 * and a forest that compares float32(x) (imported from scikit-learn)
 * splits other values than a native one: both are refused. The arrays are
 * concatenated in the order of the parts; each forest's node and
 * component indices move by the nodes and components before it. */
#include "detectors/iforest/iforest.h"
#include "core/alloc.h"
#include "core/error.h"

#include <stdio.h>
#include <string.h>

static const an_iforest *forest_of(const void *part)
{
    return &((const an_iforest_state *)part)->forest;
}

/* Part k against part 0: the same psi and the same comparison. */
static anoma_status check_part(const an_iforest *f, const an_iforest *first, size_t k)
{
    if (f->max_samples != first->max_samples)
        return an_error(ANOMA_ERR_INVALID_ARGUMENT,
                        "merge: models[%zu] has max_samples %llu, models[0] %llu: forests with "
                        "different max_samples do not merge", k,
                        (unsigned long long)f->max_samples,
                        (unsigned long long)first->max_samples);
    if (f->float32 != first->float32)
        return an_error(ANOMA_ERR_INVALID_ARGUMENT,
                        "merge: models[%zu] has float32 flag (scikit-learn import) %d, models[0] "
                        "%d: forests that compare values differently do not merge", k,
                        f->float32, first->float32);
    return ANOMA_OK;
}

/* Append forest `from` at nodes [*node_at...), trees [*tree_at...) and
 * components [*comp_at...) of f, advancing the three. */
static void append(an_iforest *f, const an_iforest *from, size_t *node_at, size_t *tree_at,
                   size_t *comp_at)
{
    uint32_t base = (uint32_t)*node_at, cbase = (uint32_t)*comp_at;
    for (size_t i = 0; i < from->n_nodes; i++) {
        an_if_node n = from->nodes[i];
        n.left += base; /* a leaf's left is itself: it moves too */
        if ((n.info & (AN_IF_LEAF | AN_IF_EXTENDED)) == AN_IF_EXTENDED)
            n.info += cbase; /* the first component's index sits in the low bits */
        f->nodes[base + i] = n;
    }
    memcpy(f->leaf_value + base, from->leaf_value, from->n_nodes * sizeof *f->leaf_value);
    memcpy(f->leaf_count + base, from->leaf_count, from->n_nodes * sizeof *f->leaf_count);
    for (size_t t = 0; t < from->n_trees; t++) {
        f->roots[*tree_at + t] = from->roots[t] + base;
        f->depths[*tree_at + t] = from->depths[t];
    }
    if (from->n_comps)
        memcpy(f->comps + cbase, from->comps, from->n_comps * sizeof *f->comps);
    *node_at += from->n_nodes;
    *tree_at += from->n_trees;
    *comp_at += from->n_comps;
}

anoma_status an_iforest_merge(void *state, an_params *params, const void *const *parts, size_t n)
{
    const an_iforest *first = forest_of(parts[0]);
    size_t nodes = 0, trees = 0, comps = 0;
    for (size_t k = 0; k < n; k++) {
        const an_iforest *f = forest_of(parts[k]);
        AN_TRY(check_part(f, first, k));
        if (f->n_nodes > AN_IF_MAX_NODES - nodes || f->n_comps > AN_IF_MAX_NODES - comps)
            return an_error(ANOMA_ERR_INVALID_ARGUMENT,
                            "merge: the forests have more than %zu nodes together",
                            AN_IF_MAX_NODES);
        nodes += f->n_nodes;
        trees += f->n_trees;
        comps += f->n_comps;
    }
    /* the parameters that describe the merged forest (as its page says) */
    char text[32];
    snprintf(text, sizeof text, "%zu", trees);
    AN_TRY(an_params_set(params, "n_trees", text));
    if (first->max_samples > 1)
        snprintf(text, sizeof text, "%llu", (unsigned long long)first->max_samples);
    else
        snprintf(text, sizeof text, "1.0");
    AN_TRY(an_params_set(params, "max_samples", text));
    an_iforest f = {0};
    anoma_status st = an_iforest_alloc(&f, nodes, trees, comps);
    size_t node_at = 0, tree_at = 0, comp_at = 0;
    double depth_sum = 0;
    for (size_t k = 0; k < n && st == ANOMA_OK; k++) {
        const an_iforest *part = forest_of(parts[k]);
        append(&f, part, &node_at, &tree_at, &comp_at);
        f.n_leaves += part->n_leaves;
        depth_sum += part->mean_depth * (double)part->n_leaves;
        if (part->max_depth > f.max_depth)
            f.max_depth = part->max_depth;
    }
    if (st == ANOMA_OK) {
        f.n_features = first->n_features;
        f.max_samples = first->max_samples;
        f.float32 = first->float32;
        f.mean_depth = depth_sum / (double)f.n_leaves;
        st = an_iforest_finish(&f);
    }
    if (st != ANOMA_OK) {
        an_iforest_free(&f);
        return st;
    }
    an_iforest_adopt(state, &f);
    return ANOMA_OK;
}
