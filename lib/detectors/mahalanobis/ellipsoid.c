/* Location, covariance and its factor: see mahalanobis.h. */
#include "detectors/mahalanobis/mahalanobis.h"
#include "core/alloc.h"
#include "core/clones.h"
#include "core/error.h"

#include <cblas.h>
#include <lapacke.h>
#include <math.h>
#include <string.h>

anoma_status an_ellipsoid_alloc(an_ellipsoid *e, size_t d)
{
    memset(e, 0, sizeof *e);
    e->d = d;
    e->mean = AN_NEW_ZEROED(double, d);
    e->scale = AN_NEW_ZEROED(double, d);
    e->cov = an_calloc(d * d, sizeof(double));
    e->chol = an_calloc(d * d, sizeof(double));
    e->whiten = an_calloc(d * d, sizeof(double));
    if (!e->mean || !e->scale || !e->cov || !e->chol || !e->whiten) {
        an_ellipsoid_free(e);
        return an_no_memory();
    }
    return ANOMA_OK;
}

void an_ellipsoid_free(an_ellipsoid *e)
{
    an_free(e->mean);
    an_free(e->scale);
    an_free(e->cov);
    an_free(e->chol);
    an_free(e->whiten);
    memset(e, 0, sizeof *e);
}

void an_ellipsoid_copy(an_ellipsoid *dst, const an_ellipsoid *src)
{
    size_t d = src->d;
    memcpy(dst->mean, src->mean, d * sizeof(double));
    memcpy(dst->scale, src->scale, d * sizeof(double));
    memcpy(dst->cov, src->cov, d * d * sizeof(double));
    memcpy(dst->chol, src->chol, d * d * sizeof(double));
    memcpy(dst->whiten, src->whiten, d * d * sizeof(double));
    dst->ridge = src->ridge;
    dst->log_det = src->log_det;
    dst->skip_constant = src->skip_constant;
}

anoma_status an_ellipsoid_estimate(an_ellipsoid *e, const double *x, const size_t *rows,
                                   size_t m, double *work)
{
    size_t d = e->d;
    memset(e->mean, 0, d * sizeof(double));
    for (size_t i = 0; i < m; i++) {
        const double *r = x + (rows ? rows[i] : i) * d;
        for (size_t j = 0; j < d; j++)
            e->mean[j] += r[j];
    }
    for (size_t j = 0; j < d; j++)
        e->mean[j] /= (double)m;
    /* C = sum over blocks of W^T W / m (W a block of centred rows), lower
     * triangle, then mirrored: a block at a time, so that a fit touches no
     * copy of the data (fresh pages cost more than the product) */
    for (size_t b = 0; b < m; b += AN_ELLIPSOID_BLOCK) {
        size_t count = m - b < AN_ELLIPSOID_BLOCK ? m - b : AN_ELLIPSOID_BLOCK;
        for (size_t i = 0; i < count; i++) {
            const double *r = x + (rows ? rows[b + i] : b + i) * d;
            for (size_t j = 0; j < d; j++)
                work[i * d + j] = r[j] - e->mean[j];
        }
        cblas_dsyrk(CblasRowMajor, CblasLower, CblasTrans, (int)d, (int)count, 1.0 / (double)m,
                    work, (int)d, b ? 1.0 : 0.0, e->cov, (int)d);
    }
    for (size_t i = 0; i < d; i++)
        for (size_t j = 0; j < i; j++)
            e->cov[j * d + i] = e->cov[i * d + j];
    return an_ellipsoid_factor(e);
}

/* R (+ ridge on the diagonal) into e->chol, lower triangle; its 1-norm. */
static double fill_correlation(an_ellipsoid *e, double ridge)
{
    size_t d = e->d;
    double norm = 0;
    for (size_t i = 0; i < d; i++) {
        double column = 0;
        for (size_t j = 0; j < d; j++) {
            double r = e->cov[i * d + j] / (e->scale[i] * e->scale[j]) + (i == j ? ridge : 0);
            if (i == j && e->skip_constant && e->cov[i * d + i] == 0)
                r = 1; /* its row and column are 0: an identity block */
            if (j <= i)
                e->chol[i * d + j] = r;
            column += fabs(r);
        }
        norm = column > norm ? column : norm;
    }
    return norm;
}

/* Cholesky factor of e->chol in place and its reciprocal condition number
 * (0 when the factorisation fails). */
static anoma_status cholesky(an_ellipsoid *e, double norm, double *rcond)
{
    lapack_int d = (lapack_int)e->d;
    *rcond = 0;
    if (LAPACKE_dpotrf_work(LAPACK_ROW_MAJOR, 'L', d, e->chol, d) != 0)
        return ANOMA_OK;
    double *work = AN_NEW_ARRAY(double, 3 * e->d);
    lapack_int *iwork = AN_NEW_ARRAY(lapack_int, e->d);
    anoma_status st = work && iwork ? ANOMA_OK : an_no_memory();
    if (st == ANOMA_OK &&
        LAPACKE_dpocon_work(LAPACK_ROW_MAJOR, 'L', d, e->chol, d, norm, rcond, work, iwork) != 0)
        *rcond = 0;
    an_free(work);
    an_free(iwork);
    return st;
}

/* W = L^-1 S^-1 from the factor, stored by columns: L inverted by LAPACK's
 * dtrtri (on a copy), transposed, then column j divided by s_j, or zeroed
 * for a constant feature left out of distances. */
static anoma_status fill_whiten(an_ellipsoid *e)
{
    size_t d = e->d;
    memcpy(e->whiten, e->chol, d * d * sizeof(double));
    if (LAPACKE_dtrtri_work(LAPACK_ROW_MAJOR, 'L', 'N', (lapack_int)d, e->whiten,
                            (lapack_int)d) != 0)
        return an_error(ANOMA_ERR_INTERNAL, "mahalanobis: the Cholesky factor could not be "
                        "inverted");
    /* transposed in place: whiten[j * d + i] = W[i][j] */
    for (size_t i = 0; i < d; i++)
        for (size_t j = 0; j < i; j++) {
            double t = e->whiten[i * d + j];
            e->whiten[i * d + j] = e->whiten[j * d + i];
            e->whiten[j * d + i] = t;
        }
    for (size_t j = 0; j < d; j++)
        for (size_t i = 0; i < d; i++) {
            int skipped = e->skip_constant && e->cov[j * d + j] == 0;
            e->whiten[j * d + i] = i < j || skipped ? 0 : e->whiten[j * d + i] / e->scale[j];
        }
    return ANOMA_OK;
}

anoma_status an_ellipsoid_factor(an_ellipsoid *e)
{
    size_t d = e->d;
    for (size_t j = 0; j < d * d; j++)
        if (!isfinite(e->cov[j]))
            return an_error(ANOMA_ERR_NONFINITE, "mahalanobis: the covariance overflows (values "
                            "too large for double precision)");
    for (size_t j = 0; j < d; j++) {
        double v = e->cov[j * d + j];
        e->scale[j] = v > 0 ? sqrt(v) : 1;
    }
    double rcond;
    e->ridge = 0;
    AN_TRY(cholesky(e, fill_correlation(e, 0), &rcond));
    if (!(rcond >= AN_MAHALANOBIS_MIN_RCOND)) {
        e->ridge = AN_MAHALANOBIS_RIDGE;
        AN_TRY(cholesky(e, fill_correlation(e, e->ridge), &rcond));
        if (!(rcond > 0))
            return an_error(ANOMA_ERR_INTERNAL, "mahalanobis: the covariance could not be "
                            "factored even with a ridge (is a value too large?)");
    }
    AN_TRY(fill_whiten(e));
    int constant = 0;
    for (size_t j = 0; j < d; j++)
        constant |= e->cov[j * d + j] == 0;
    if (e->ridge > 0 || constant) {
        e->log_det = -INFINITY;
        return ANOMA_OK;
    }
    double log_det = 0;
    for (size_t j = 0; j < d; j++)
        log_det += 2 * log(e->chol[j * d + j]) + 2 * log(e->scale[j]);
    e->log_det = log_det;
    return ANOMA_OK;
}

/* work = W (row - mean) = L^-1 S^-1 (row - mean). Eight outputs at a time
 * stay in registers while the columns of W (stored contiguous) stream
 * past; each work[i] adds its terms in the order j = 0..i, then the zeros
 * of W above the diagonal in the block, which change no sum. */
typedef double four __attribute__((vector_size(32)));

AN_VECTOR_CLONES static void forward(const an_ellipsoid *e, const double *row, double *work)
{
    size_t d = e->d, i0 = 0;
    for (; i0 + 8 <= d; i0 += 8) {
        four low = {0, 0, 0, 0}, high = {0, 0, 0, 0};
        for (size_t j = 0; j < i0 + 8; j++) {
            const double *column = e->whiten + j * d + i0;
            double c = row[j] - e->mean[j];
            four w_low, w_high, cs = {c, c, c, c};
            memcpy(&w_low, column, sizeof w_low);
            memcpy(&w_high, column + 4, sizeof w_high);
            low += w_low * cs;
            high += w_high * cs;
        }
        memcpy(work + i0, &low, sizeof low);
        memcpy(work + i0 + 4, &high, sizeof high);
    }
    for (size_t i = i0; i < d; i++) { /* the last d % 8 */
        double sum = 0;
        for (size_t j = 0; j <= i; j++)
            sum += e->whiten[j * d + i] * (row[j] - e->mean[j]);
        work[i] = sum;
    }
}

double an_ellipsoid_distance(const an_ellipsoid *e, const double *row, double *work)
{
    forward(e, row, work);
    double sum = 0;
    for (size_t i = 0; i < e->d; i++)
        sum += work[i] * work[i];
    return sum;
}

void an_ellipsoid_contributions(const an_ellipsoid *e, const double *row, double *work,
                                double *out)
{
    size_t d = e->d;
    forward(e, row, work);
    /* out = L^-T work = R^-1 z, from the last feature back */
    for (size_t i = d; i-- > 0;) {
        double sum = work[i];
        for (size_t j = i + 1; j < d; j++)
            sum -= e->chol[j * d + i] * out[j];
        out[i] = sum / e->chol[i * d + i];
    }
    for (size_t j = 0; j < d; j++)
        out[j] *= (row[j] - e->mean[j]) / e->scale[j];
}
