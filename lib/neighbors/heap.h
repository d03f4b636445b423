/* The k best (squared distance, row index) pairs seen so far, as a max-heap
 * on that pair in lexicographic order: the root is the worst kept pair, and
 * a new pair enters only when it is strictly better. Because the order
 * includes the index, the heap ends up holding exactly the k smallest pairs
 * whatever order rows are offered in: the tie rule (lower index first) does
 * not depend on a search's visiting order, its blocks or its threads. */
#ifndef AN_NEIGHBORS_HEAP_H
#define AN_NEIGHBORS_HEAP_H

#include <math.h>
#include <stddef.h>

typedef struct an_nb {
    double d2;
    size_t index;
} an_nb;

typedef struct an_nb_heap {
    an_nb *v;
    size_t size, cap;
} an_nb_heap;

static inline int an_nb_less(an_nb a, an_nb b)
{
    return a.d2 < b.d2 || (a.d2 == b.d2 && a.index < b.index);
}

static inline void an_nb_heap_init(an_nb_heap *h, an_nb *storage, size_t k)
{
    h->v = storage;
    h->size = 0;
    h->cap = k;
}

/* The squared distance a pair must not exceed to enter (+inf until full). */
static inline double an_nb_heap_bound(const an_nb_heap *h)
{
    return h->size < h->cap ? INFINITY : h->v[0].d2;
}

static inline void an_nb_sift_down(an_nb *v, size_t size, size_t i)
{
    an_nb x = v[i];
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= size)
            break;
        if (c + 1 < size && an_nb_less(v[c], v[c + 1]))
            c++;
        if (!an_nb_less(x, v[c]))
            break;
        v[i] = v[c];
        i = c;
    }
    v[i] = x;
}

static inline void an_nb_heap_push(an_nb_heap *h, double d2, size_t index)
{
    an_nb x = {d2, index};
    if (h->size < h->cap) {
        size_t i = h->size++;
        while (i > 0 && an_nb_less(h->v[(i - 1) / 2], x)) {
            h->v[i] = h->v[(i - 1) / 2];
            i = (i - 1) / 2;
        }
        h->v[i] = x;
    } else if (h->cap && an_nb_less(x, h->v[0])) {
        h->v[0] = x;
        an_nb_sift_down(h->v, h->size, 0);
    }
}

/* Empty the heap into ascending order: Euclidean distances and indices. */
static inline void an_nb_heap_drain(an_nb_heap *h, double *dist, size_t *index)
{
    for (size_t n = h->size; n > 0; n--) {
        an_nb top = h->v[0];
        h->v[0] = h->v[n - 1];
        an_nb_sift_down(h->v, n - 1, 0);
        dist[n - 1] = sqrt(top.d2);
        index[n - 1] = top.index;
    }
    h->size = 0;
}

/* A heap kept sorted, worst pair first: a sorted array is also a valid
 * max-heap, so an_nb_heap_bound reads it as any heap. A pair that enters
 * moves the pairs it beats one place towards the front, a loop that
 * mispredicts once at its end, where the heap's sift-down mispredicts at
 * most of its levels: the better choice where pairs are few or most
 * enter. Read it out with an_nb_sorted_drain, not an_nb_heap_drain. */
#if defined(__GNUC__)
/* inlined into AVX-512 code as well, compiled there with its encoding:
 * called from the KD-tree's AVX-512 scan as a plain SSE function (as GCC
 * did once the scan grew), it took 4x the whole search, each of its
 * instructions waiting on the upper halves of the registers the AVX-512
 * code had left dirty */
__attribute__((always_inline))
#endif
static inline void an_nb_sorted_push(an_nb_heap *h, double d2, size_t index)
{
    an_nb x = {d2, index};
    an_nb *v = h->v;
    if (h->size < h->cap) {
        size_t i = h->size++;
        for (; i > 0 && an_nb_less(v[i - 1], x); i--)
            v[i] = v[i - 1];
        v[i] = x;
    } else if (h->cap && an_nb_less(x, v[0])) {
        size_t i = 0;
        for (; i + 1 < h->size && an_nb_less(x, v[i + 1]); i++)
            v[i] = v[i + 1];
        v[i] = x;
    }
}

/* A sorted heap into ascending order: Euclidean distances and indices,
 * its reverse, not k pops (a pop's sift-down mispredicts at most of its
 * levels: 8 % of thyroid's fit). */
static inline void an_nb_sorted_drain(an_nb_heap *h, double *dist, size_t *index)
{
    size_t n = h->size;
    for (size_t i = 0; i < n; i++) {
        dist[n - 1 - i] = sqrt(h->v[i].d2);
        index[n - 1 - i] = h->v[i].index;
    }
    h->size = 0;
}

/* sum_j (a_j - b_j)^2 in column order: the one distance every search ends
 * with, so that equal rows give equal distances bit for bit. */
static inline double an_sq_dist(const double *a, const double *b, size_t d)
{
    double s = 0;
    for (size_t j = 0; j < d; j++) {
        double t = a[j] - b[j];
        s += t * t;
    }
    return s;
}

/* an_sq_dist of a against four rows at once: the same operations in the
 * same order for each (so the same bits), as four independent sums that
 * the processor overlaps instead of waiting on one chain of additions. */
static inline void an_sq_dist4(const double *a, const double *b0, const double *b1,
                               const double *b2, const double *b3, size_t d, double out[4])
{
    double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    for (size_t j = 0; j < d; j++) {
        double t0 = a[j] - b0[j], t1 = a[j] - b1[j], t2 = a[j] - b2[j], t3 = a[j] - b3[j];
        s0 += t0 * t0;
        s1 += t1 * t1;
        s2 += t2 * t2;
        s3 += t3 * t3;
    }
    out[0] = s0;
    out[1] = s1;
    out[2] = s2;
    out[3] = s3;
}

#endif
