/* One column: the indexed values sorted by (value, row index), and each
 * query answered from its position in that order by two fronts moving
 * outwards, the nearer one first, with no tree.
 *
 * Exactness: a distance here is an_sq_dist of one column, (q - x)^2, and
 * rounding is monotone, so moving a front away from the query never gives
 * a smaller distance. A front therefore stops only when its next value is
 * strictly farther than the worst kept pair; a value at an equal distance
 * is still offered, as it may win on its lower index. With the heap's
 * (distance, index) order this gives exactly the brute-force answer. */
#include "neighbors/knn.h"
#include "core/alloc.h"
#include "core/error.h"
#include "core/order.h"

anoma_status an_sorted_build(an_knn_index *ix)
{
    size_t n = ix->n;
    ix->perm = AN_NEW_ARRAY(size_t, n);
    ix->values = AN_NEW_ARRAY(double, n);
    if (!ix->perm || !ix->values)
        return an_no_memory();
    for (size_t i = 0; i < n; i++)
        ix->perm[i] = i;
    return an_sort_rows_by_value(ix->perm, n, ix->x, 1, ix->values);
}

void an_sorted_search(const an_knn_index *ix, const double *row, size_t exclude, an_nb_heap *h)
{
    const double *values = ix->values;
    double q = row[0];
    size_t n = ix->n, right = an_lower_bound(values, n, q), left = right; /* left: one past */
    for (;;) {
        double dl = INFINITY, dr = INFINITY;
        if (left > 0) {
            double t = q - values[left - 1];
            dl = t * t;
        }
        if (right < n) {
            double t = q - values[right];
            dr = t * t;
        }
        if (left == 0 && right == n)
            return;
        int take_left = right == n || (left > 0 && dl <= dr);
        double d2 = take_left ? dl : dr;
        if (d2 > an_nb_heap_bound(h))
            return; /* both fronts are strictly beyond the worst kept pair */
        size_t at = take_left ? ix->perm[--left] : ix->perm[right++];
        if (at != exclude)
            an_nb_heap_push(h, d2, at);
    }
}

/* The fronts' merge gives the rows in nondecreasing distance, so its
 * first k are the k nearest unless a row left behind ties the k-th
 * distance (it could win on its index): then the caller falls back to the
 * heap search. With distinct values (nab_machine_temperature: 22695 of
 * 22695) that is rare, and the merge writes the answer in place, without
 * the heap's k pushes and k pops per query. */
int an_sorted_search_direct(const an_knn_index *ix, const double *row, size_t exclude, size_t k,
                            double *dist, size_t *index)
{
    const double *values = ix->values;
    double q = row[0];
    size_t n = ix->n, right = an_lower_bound(values, n, q), left = right; /* left: one past */
    size_t count = 0;
    if (!k)
        return 1;
    double dl = INFINITY, dr = INFINITY;
    if (left > 0)
        dl = (q - values[left - 1]) * (q - values[left - 1]);
    if (right < n)
        dr = (q - values[right]) * (q - values[right]);
    while (count < k) {
        if (left == 0 && right == n)
            return 0; /* fewer rows than k: not for this path */
        int take_left = right == n || (left > 0 && dl <= dr);
        double d2 = take_left ? dl : dr;
        size_t at = take_left ? ix->perm[--left] : ix->perm[right++];
        if (take_left) {
            dl = INFINITY;
            if (left > 0)
                dl = (q - values[left - 1]) * (q - values[left - 1]);
        } else {
            dr = INFINITY;
            if (right < n)
                dr = (q - values[right]) * (q - values[right]);
        }
        if (at == exclude)
            continue;
        dist[count] = d2;
        index[count++] = at;
    }
    double last = dist[k - 1];
    if ((left > 0 && dl <= last) || (right < n && dr <= last))
        return 0; /* a row left behind ties the k-th distance */
    /* equal distances, next to each other, in index order; then roots */
    for (size_t t = 1; t < k; t++) {
        double d2 = dist[t];
        size_t at = index[t], s = t;
        for (; s > 0 && dist[s - 1] == d2 && index[s - 1] > at; s--) {
            dist[s] = dist[s - 1];
            index[s] = index[s - 1];
        }
        dist[s] = d2;
        index[s] = at;
    }
    for (size_t t = 0; t < k; t++)
        dist[t] = sqrt(dist[t]);
    return 1;
}
