/* Explanation: how much each feature contributed to isolating a row.
 *
 * In tree t the row reaches a leaf at depth d_t after d_t splits, and its
 * path value is h_t = d_t + c(n_leaf). The tree "isolates" the row by
 * g_t = (c(psi) - h_t) / c(psi): positive when the row is isolated sooner
 * than an average point, negative when later. Every split on the path gets
 * an equal share g_t / d_t, credited to the split's feature; an extended
 * split divides its share among its features in proportion to |n_j| (equally
 * if its normal is all zero). A feature's contribution is the mean of its
 * credits over the trees:
 *
 *     contribution_j = (1 / T) sum_t (splits on j along the path / d_t) * g_t
 *
 * The contributions therefore sum to (1 / T) sum_t g_t = 1 - E[h] / c(psi)
 * = 1 + log2 s(x): positive for rows scored above 0.5 (anomalous), negative
 * for ordinary rows. A tree whose root is a leaf (d_t = 0) credits nothing,
 * and when c(psi) = 0 every contribution is 0. */
#include "detectors/iforest/iforest.h"

#include <math.h>
#include <string.h>

void an_iforest_feature_scores(const an_iforest *f, const double *row, double *out)
{
    memset(out, 0, f->n_features * sizeof *out);
    double c = an_iforest_c(f->max_samples);
    if (c == 0)
        return;
    for (size_t t = 0; t < f->n_trees; t++) {
        /* first walk: the path's length and value */
        const an_if_node *n = f->nodes + f->roots[t];
        size_t depth = 0;
        while (!(n->info & AN_IF_LEAF)) {
            n = f->nodes + an_iforest_child(f, n, row);
            depth++;
        }
        if (depth == 0)
            continue;
        double share = (c - f->leaf_value[n - f->nodes]) / c / (double)depth / (double)f->n_trees;
        /* second walk: credit each split */
        n = f->nodes + f->roots[t];
        while (!(n->info & AN_IF_LEAF)) {
            if (n->info & AN_IF_EXTENDED) {
                const an_if_comp *first = f->comps + (n->info & AN_IF_INDEX_MASK), *p = first;
                double norm = 0;
                size_t k = 1;
                for (; !p->last; p++, k++)
                    norm += fabs(p->normal);
                norm += fabs(p->normal);
                for (p = first;; p++) {
                    out[p->feature] += share * (norm > 0 ? fabs(p->normal) / norm : 1.0 / (double)k);
                    if (p->last)
                        break;
                }
            } else {
                out[n->info & AN_IF_INDEX_MASK] += share;
            }
            n = f->nodes + an_iforest_child(f, n, row);
        }
    }
}
