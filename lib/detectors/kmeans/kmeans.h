/* kmeans: the distance to the nearest k-means centroid.
 *
 * Files: lloyd.c (k-means++ seeding and Lloyd's iterations, as
 * scikit-learn's KMeans(algorithm="lloyd")), detector.c (the vtable:
 * parameters, scoring, save, load, describe). User page:
 * docs/detectors/kmeans.md. */
#ifndef AN_DETECTORS_KMEANS_H
#define AN_DETECTORS_KMEANS_H

#include "anoma/common.h"

#include <stddef.h>
#include <stdint.h>

/* One clustering of n x d rows into k clusters. */
typedef struct an_kmeans_fit {
    double *centers; /* k x d, row-major */
    size_t *labels;  /* n */
    double inertia;  /* sum of squared distances to the assigned centre */
    size_t n_iter;   /* Lloyd iterations run */
} an_kmeans_fit;

typedef struct an_kmeans_options {
    size_t k, n_init, max_iter;
    double tol;        /* relative to the mean feature variance, as scikit-learn */
    uint64_t seed;
    size_t n_threads;  /* 0 = all cores; the result does not depend on it */
} an_kmeans_options;

/* The best (least inertia) of n_init runs of k-means++ then Lloyd, into out
 * (centers k x d and labels n, allocated by the caller). Run r draws from
 * the generator (seed, r), so the result depends on the seed only. */
anoma_status an_kmeans_run(const double *x, size_t n, size_t d, const an_kmeans_options *opt,
                           an_kmeans_fit *out);

#endif
