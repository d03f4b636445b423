/* Principal axes of centred data, as scikit-learn's PCA(svd_solver="full")
 * finds them: shared by the pipeline's "pca" step (features/pca.c) and the
 * "pca" detector (detectors/pca.c). */
#ifndef AN_FEATURES_PCA_AXES_H
#define AN_FEATURES_PCA_AXES_H

#include "anoma/common.h"

#include <stddef.h>

typedef struct an_pca_axes {
    size_t m, p;        /* m = min(rows, columns) axes of p columns */
    double *components; /* m x p, row-major, by decreasing variance */
    double *variance;   /* m: explained variance, s^2 / (rows - 1) */
    double *ratio;      /* m: explained variance ratio, s^2 / sum of s^2 (0 when all are 0) */
} an_pca_axes;

/* The axes of the n x p column-major centred matrix x (n >= 2; overwritten):
 * the SVD through LAPACKE (dgeqrf then dgesdd of R when n > p, dgesdd of x
 * otherwise), each axis flipped so that its entry of largest magnitude is
 * positive (scikit-learn's svd_flip on the components, its rule since 1.5).
 * `who` names the caller in messages. */
anoma_status an_pca_axes_fit(double *x, size_t n, size_t p, const char *who, an_pca_axes *out);
void an_pca_axes_free(an_pca_axes *a);

/* Axes kept: `want` when not 0, else for a fraction f in (0, 1) the fewest
 * whose cumulated ratio exceeds f (scikit-learn's searchsorted(cumsum, f,
 * side="right") + 1, at most m), else (f = 0) all m. */
size_t an_pca_axes_choose(const an_pca_axes *a, size_t want, double fraction);

#endif
