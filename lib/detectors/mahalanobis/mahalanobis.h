/* mahalanobis: the squared Mahalanobis distance from a Gaussian fitted to
 * the training rows, with the empirical covariance (scikit-learn's
 * EmpiricalCovariance) or the robust FastMCD one (its MinCovDet).
 *
 * Files: ellipsoid.c (location and covariance of rows, their Cholesky
 * factor with the ridge rule, distances), mcd.c (FastMCD, its consistency
 * correction and reweighting), detector.c (the vtable: parameters, save,
 * load, describe). User page: docs/detectors/mahalanobis.md. */
#ifndef AN_DETECTORS_MAHALANOBIS_H
#define AN_DETECTORS_MAHALANOBIS_H

#include "anoma/common.h"
#include "core/rng.h"

#include <stddef.h>

/* Added to the diagonal of the correlation matrix when the covariance is
 * singular or nearly so (see an_ellipsoid_factor). */
#define AN_MAHALANOBIS_RIDGE 1e-10
/* Reciprocal condition number of the correlation matrix below which the
 * ridge is added. */
#define AN_MAHALANOBIS_MIN_RCOND 1e-10

/* A location and a covariance, with what scoring needs. The covariance is
 * factored after scaling each feature by its standard deviation (s_j = the
 * square root of the diagonal, 1 where it is 0): R = S^-1 C S^-1 has a unit
 * diagonal, which keeps the factor accurate when features have very
 * different scales. */
typedef struct an_ellipsoid {
    size_t d;
    double *mean;  /* d */
    double *cov;   /* d x d, as estimated, without the ridge */
    double *scale; /* d: s_j */
    double *chol;  /* d x d, row-major lower triangle: L L^T = R (+ ridge I) */
    /* d x d, W = L^-1 S^-1 by columns (whiten[j * d + i] = W[i][j] for
     * i >= j, else 0), the columns of skipped constant features zero: a
     * row's whitened vector is one triangular matrix-vector product, with
     * no division (the substitution's divisions made scoring 3x slower). */
    double *whiten;
    double ridge;  /* 0, or AN_MAHALANOBIS_RIDGE when added */
    double log_det; /* log det C; -INFINITY when C is singular */
    /* FastMCD's C-steps only: a column constant on the support (variance
     * 0) is left out of distances, as scikit-learn's pseudo-inverse leaves
     * out that null direction, instead of counting through the ridge. */
    int skip_constant;
} an_ellipsoid;

anoma_status an_ellipsoid_alloc(an_ellipsoid *e, size_t d);
void an_ellipsoid_free(an_ellipsoid *e);
void an_ellipsoid_copy(an_ellipsoid *dst, const an_ellipsoid *src); /* same d */

/* Rows centred at a time by an_ellipsoid_estimate. */
#define AN_ELLIPSOID_BLOCK 256

/* Mean and covariance (divided by the count, as numpy.cov(bias=1)) of the
 * rows `rows[0..m)` of x (n x d row-major), or of its first m rows when rows
 * is NULL; work holds min(m, AN_ELLIPSOID_BLOCK) * d doubles. Then
 * an_ellipsoid_factor. */
anoma_status an_ellipsoid_estimate(an_ellipsoid *e, const double *x, const size_t *rows,
                                   size_t m, double *work);

/* Scale, factor and log-determinant of e->cov. The ridge rule: when the
 * Cholesky factorisation of R fails or its reciprocal condition number
 * (LAPACK's dpocon) is below AN_MAHALANOBIS_MIN_RCOND, R + ridge I is
 * factored instead and the covariance counts as singular. */
anoma_status an_ellipsoid_factor(an_ellipsoid *e);

/* Squared distance of one row: |W (row - mean)|^2 with W = L^-1 S^-1; work
 * holds d doubles (it is left holding W (row - mean)). No allocation. */
double an_ellipsoid_distance(const an_ellipsoid *e, const double *row, double *work);

/* The squared distance split by feature: out_j = z_j (R^-1 z)_j with
 * z = S^-1 (row - mean), which is (row - mean)_j (C^-1 (row - mean))_j and
 * sums to the distance; work holds d doubles. No allocation. */
void an_ellipsoid_contributions(const an_ellipsoid *e, const double *row, double *work,
                                double *out);

/* The robust estimate: FastMCD (Rousseeuw and Van Driessen 1999) as
 * scikit-learn's fast_mcd, then MinCovDet's consistency correction and
 * reweighting, into e (allocated for d). h = rows of the raw support.
 * raw_mean (d) and raw_cov (d x d) get the raw estimate (the mean and
 * covariance of the h rows FastMCD chose: MinCovDet's raw_location_ and
 * raw_covariance_); *raw_support and *support the sizes of the raw and
 * reweighted supports. */
anoma_status an_mcd_fit(an_ellipsoid *e, const double *x, size_t n, size_t h, uint64_t seed,
                        double *raw_mean, double *raw_cov, size_t *raw_support,
                        size_t *support);

#endif
