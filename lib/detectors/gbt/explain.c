/* Explanation: each feature's share of a row's margin, by TreeSHAP.
 *
 * Lundberg, Erion and Lee 2018, "Consistent Individualized Feature
 * Attribution for Tree Ensembles", Algorithm 2: the exact Shapley values of
 * a tree's prediction when "feature j unknown" means averaging over both
 * children of every split on j in proportion to their covers (the sums of
 * hessians that reached them). One walk per tree from the root keeps the
 * path of distinct features met so far, each element holding
 *
 *   zero fraction  the share of the cover that went this way (the part of
 *                  the prediction left when the feature is unknown),
 *   one fraction   1 when the row goes this way, else 0,
 *   weight         the permutation weight of the subsets of the path's
 *                  features with (index - 1) of them known,
 *
 * and at each leaf credits every feature of the path with (one fraction -
 * zero fraction) times the leaf value times the weight the path would have
 * without it. A feature split on again further down is taken out of the
 * path (unwound) and put back with the product of its fractions. This is
 * the computation of XGBoost's `predict(pred_contribs=True)` (exact, not
 * `approx_contribs`); its last column, the bias, is the forest's
 * expected_margin.
 *
 * Why float32: XGBoost computes every fraction, weight and sum in float32,
 * in the order written here (each tree's contributions summed apart, then
 * added to the row's). The same work in double differs from its output by
 * up to 4e-6 on the shared datasets (mammography, 100 trees), which is
 * XGBoost's own rounding: its contributions miss its margin by up to 1e-5.
 * In float32 and in its order they equal XGBoost's to ~1e-7, which is what
 * a user comparing the two expects; the price is that the contributions
 * add up to the margin to float32 rounding only.
 *
 * Covers of 0 (a node no training weight reached) would make the fractions
 * 0/0: such a node's children share its (zero) weight equally instead, and
 * the divisions of the unwinding give 0 where their divisor is 0. */
#include "detectors/gbt/gbt.h"

#include <string.h>

typedef struct path_element {
    int32_t feature; /* -1: the placeholder the walk starts with */
    float zero_fraction, one_fraction, weight;
} path_element;

/* Elements a walk of depth d uses: one path of up to d + 1 elements per
 * level, each after its parent's (Lundberg's layout). */
static size_t path_elements(size_t depth)
{
    return (depth + 2) * (depth + 3) / 2;
}

size_t an_gbt_explain_scratch_bytes(const an_gbt_forest *f)
{
    /* the paths, then one tree's contributions and the row's (float32) */
    return path_elements(f->max_depth) * sizeof(path_element) + 2 * f->n_features * sizeof(float);
}

static float ratio(float a, float b)
{
    return b != 0 ? a / b : 0;
}

/* Share of parent's cover that reached child. */
static float cover_share(const an_gbt_forest *f, uint32_t parent, uint32_t child)
{
    float w = (float)f->cover[parent];
    return w > 0 ? (float)f->cover[child] / w : 0.5f;
}

/* Add an element at p[depth] and update the weights of p[0..depth]. */
static void extend(path_element *p, size_t depth, float zero, float one, int32_t feature)
{
    p[depth] = (path_element){feature, zero, one, depth == 0 ? 1.0f : 0.0f};
    float n = (float)(depth + 1);
    for (size_t k = depth; k-- > 0;) {
        p[k + 1].weight += one * p[k].weight * (float)(k + 1) / n;
        p[k].weight = zero * p[k].weight * (float)(depth - k) / n;
    }
}

/* Undo extend() of element index: the weights p[0..depth-1] as if it had
 * never been added, and the elements after it moved down one. */
static void unwind(path_element *p, size_t depth, size_t index)
{
    float one = p[index].one_fraction, zero = p[index].zero_fraction;
    float n = (float)(depth + 1), next = p[depth].weight;
    for (size_t k = depth; k-- > 0;) {
        if (one != 0) {
            float kept = p[k].weight;
            p[k].weight = next * n / ((float)(k + 1) * one);
            next = kept - p[k].weight * zero * (float)(depth - k) / n;
        } else {
            p[k].weight = ratio(p[k].weight * n, zero * (float)(depth - k));
        }
    }
    for (size_t k = index; k < depth; k++) {
        p[k].feature = p[k + 1].feature;
        p[k].zero_fraction = p[k + 1].zero_fraction;
        p[k].one_fraction = p[k + 1].one_fraction;
    }
}

/* The total weight unwind(p, depth, index) would leave, without changing p. */
static float unwound_sum(const path_element *p, size_t depth, size_t index)
{
    float one = p[index].one_fraction, zero = p[index].zero_fraction;
    float n = (float)(depth + 1), next = p[depth].weight, total = 0;
    for (size_t k = depth; k-- > 0;) {
        if (one != 0) {
            float w = next * n / ((float)(k + 1) * one);
            total += w;
            next = p[k].weight - w * zero * ((float)(depth - k) / n);
        } else if (zero != 0) {
            total += p[k].weight / zero / ((float)(depth - k) / n);
        }
    }
    return total;
}

typedef struct shap_walk {
    const an_gbt_forest *f;
    const double *row;
    float *phi; /* the tree's contributions */
} shap_walk;

/* Walk the subtree of node, reached through a split on feature with these
 * fractions; parent holds the path so far (depth + 1 elements), and the
 * node's own path goes right after it. */
static void walk(const shap_walk *s, uint32_t node, path_element *parent, size_t depth,
                 float zero, float one, int32_t feature)
{
    const an_gbt_forest *f = s->f;
    path_element *path = parent + depth + 1;
    memcpy(path, parent, (depth + 1) * sizeof *path);
    extend(path, depth, zero, one, feature);
    an_gbt_node n = f->nodes[node];
    if (n.info & AN_GBT_LEAF) {
        float value = (float)f->leaf[node];
        for (size_t k = 1; k <= depth; k++)
            s->phi[path[k].feature] += unwound_sum(path, depth, k) *
                                       (path[k].one_fraction - path[k].zero_fraction) * value;
        return;
    }
    uint32_t hot = an_gbt_step(f->nodes, node, s->row);
    uint32_t cold = hot == n.left ? n.left + 1 : n.left;
    int32_t split = (int32_t)(n.info & AN_GBT_FEATURE_MASK);
    float incoming_zero = 1, incoming_one = 1;
    for (size_t k = 1; k <= depth; k++)
        if (path[k].feature == split) {
            incoming_zero = path[k].zero_fraction;
            incoming_one = path[k].one_fraction;
            unwind(path, depth, k);
            depth--;
            break;
        }
    walk(s, hot, path, depth + 1, cover_share(f, node, hot) * incoming_zero, incoming_one,
         split);
    walk(s, cold, path, depth + 1, cover_share(f, node, cold) * incoming_zero, 0, split);
}

void an_gbt_contributions(const an_gbt_forest *f, const double *row, void *scratch, double *out)
{
    size_t d = f->n_features;
    path_element *start = scratch;
    float *tree = (float *)(start + path_elements(f->max_depth)), *sum = tree + d;
    memset(sum, 0, d * sizeof *sum);
    shap_walk s = {f, row, tree};
    for (size_t t = 0; t < f->n_trees; t++) {
        memset(tree, 0, d * sizeof *tree);
        start[0] = (path_element){-1, 1, 1, 1};
        walk(&s, f->roots[t], start, 0, 1, 1, -1);
        for (size_t j = 0; j < d; j++)
            sum[j] += tree[j];
    }
    for (size_t j = 0; j < d; j++)
        out[j] = sum[j];
}

void an_gbt_set_expected_margin(an_gbt_forest *f, double *scratch)
{
    float *expected = (float *)scratch, bias = 0;
    for (size_t t = 0; t < f->n_trees; t++) {
        size_t root = f->roots[t];
        size_t end = t + 1 < f->n_trees ? f->roots[t + 1] : f->n_nodes;
        /* children come after their parent: fill from the last node up */
        for (size_t i = end; i-- > root;) {
            an_gbt_node n = f->nodes[i];
            if (n.info & AN_GBT_LEAF) {
                expected[i - root] = (float)f->leaf[i];
                continue;
            }
            uint32_t l = n.left, r = n.left + 1;
            float w = (float)f->cover[i], e = expected[l - root] * (float)f->cover[l];
            e += expected[r - root] * (float)f->cover[r];
            expected[i - root] = w > 0 ? e / w : (expected[l - root] + expected[r - root]) / 2;
        }
        bias += expected[0];
    }
    f->expected_margin = bias + (float)f->base_margin;
}
