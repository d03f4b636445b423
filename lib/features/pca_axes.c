/* Principal axes: see pca_axes.h. */
#include "features/pca_axes.h"
#include "core/alloc.h"
#include "core/error.h"

#include <lapacke.h>
#include <math.h>
#include <string.h>

/* LAPACK's routines with their workspace from the library's allocator
 * (LAPACKE's high-level calls would malloc it): a size query, then the call. */
static lapack_int qr(double *x, lapack_int n, lapack_int p, double *tau)
{
    double size = 0;
    lapack_int info = LAPACKE_dgeqrf_work(LAPACK_COL_MAJOR, n, p, x, n, tau, &size, -1);
    double *work = info == 0 ? AN_NEW_ARRAY(double, (size_t)size + 1) : NULL;
    if (info == 0 && !work)
        return LAPACK_WORK_MEMORY_ERROR;
    if (info == 0)
        info = LAPACKE_dgeqrf_work(LAPACK_COL_MAJOR, n, p, x, n, tau, work, (lapack_int)size);
    an_free(work);
    return info;
}

/* dgesdd with jobz = 'S' of the n x p column-major a. */
static lapack_int sdd(double *a, lapack_int n, lapack_int p, double *sv, double *u, double *vt,
                      lapack_int ldvt)
{
    lapack_int m = n < p ? n : p;
    lapack_int *iwork = AN_NEW_ARRAY(lapack_int, 8 * (size_t)m);
    if (!iwork)
        return LAPACK_WORK_MEMORY_ERROR;
    double size = 0;
    lapack_int info = LAPACKE_dgesdd_work(LAPACK_COL_MAJOR, 'S', n, p, a, n, sv, u, n, vt, ldvt,
                                          &size, -1, iwork);
    double *work = info == 0 ? AN_NEW_ARRAY(double, (size_t)size + 1) : NULL;
    if (info == 0 && !work)
        info = LAPACK_WORK_MEMORY_ERROR;
    else if (info == 0)
        info = LAPACKE_dgesdd_work(LAPACK_COL_MAJOR, 'S', n, p, a, n, sv, u, n, vt, ldvt, work,
                                   (lapack_int)size, iwork);
    an_free(work);
    an_free(iwork);
    return info;
}

/* Singular values (into sv, min(n, p) of them) and right singular vectors
 * (into vt, min(n, p) x p, column-major with leading dimension ldvt) of the
 * n x p column-major matrix x, which is overwritten. */
static anoma_status svd(double *x, size_t n, size_t p, double *sv, double *vt, size_t ldvt,
                        const char *who)
{
    lapack_int info;
    lapack_int ln = (lapack_int)n, lp = (lapack_int)p;
    if (n > p) {
        /* x = QR; the SVD of R has the same singular values and V */
        double *tau = AN_NEW_ARRAY(double, p);
        double *r = AN_NEW_ZEROED(double, p * p);
        double *u = AN_NEW_ARRAY(double, p * p);
        info = tau && r && u ? qr(x, ln, lp, tau) : LAPACK_WORK_MEMORY_ERROR;
        for (size_t j = 0; info == 0 && j < p; j++)
            for (size_t i = 0; i <= j; i++)
                r[j * p + i] = x[j * n + i];
        if (info == 0)
            info = sdd(r, lp, lp, sv, u, vt, (lapack_int)ldvt);
        an_free(tau);
        an_free(r);
        an_free(u);
    } else {
        double *u = an_malloc_array(n * n, sizeof(double));
        info = u ? sdd(x, ln, lp, sv, u, vt, (lapack_int)ldvt) : LAPACK_WORK_MEMORY_ERROR;
        an_free(u);
    }
    if (info == LAPACK_WORK_MEMORY_ERROR)
        return an_no_memory();
    if (info != 0)
        return an_error(ANOMA_ERR_INTERNAL, "%s: the singular value decomposition did not "
                        "converge (LAPACK info %d)", who, (int)info);
    return ANOMA_OK;
}

void an_pca_axes_free(an_pca_axes *a)
{
    an_free(a->components);
    an_free(a->variance);
    an_free(a->ratio);
    memset(a, 0, sizeof *a);
}

anoma_status an_pca_axes_fit(double *x, size_t n, size_t p, const char *who, an_pca_axes *out)
{
    memset(out, 0, sizeof *out);
    size_t m = n < p ? n : p;
    double *sv = AN_NEW_ARRAY(double, m);
    double *vt = an_malloc_array(m * p, sizeof(double));
    out->components = an_malloc_array(m * p, sizeof(double));
    out->variance = AN_NEW_ARRAY(double, m);
    out->ratio = AN_NEW_ARRAY(double, m);
    anoma_status st = sv && vt && out->components && out->variance && out->ratio
                          ? svd(x, n, p, sv, vt, m, who) : an_no_memory();
    if (st == ANOMA_OK) {
        out->m = m;
        out->p = p;
        double total = 0;
        for (size_t c = 0; c < m; c++)
            total += sv[c] * sv[c];
        for (size_t c = 0; c < m; c++) {
            /* row c of V^T: vt[c + j m]; flip so its largest entry is positive */
            size_t big = 0;
            for (size_t j = 1; j < p; j++)
                if (fabs(vt[c + j * m]) > fabs(vt[c + big * m]))
                    big = j;
            double sign = vt[c + big * m] < 0 ? -1 : 1;
            for (size_t j = 0; j < p; j++)
                out->components[c * p + j] = sign * vt[c + j * m];
            out->variance[c] = sv[c] * sv[c] / (double)(n - 1);
            out->ratio[c] = total > 0 ? sv[c] * sv[c] / total : 0;
        }
    }
    an_free(sv);
    an_free(vt);
    if (st != ANOMA_OK)
        an_pca_axes_free(out);
    return st;
}

size_t an_pca_axes_choose(const an_pca_axes *a, size_t want, double fraction)
{
    if (want)
        return want;
    if (!fraction)
        return a->m;
    size_t below = 0;
    double cumulated = 0;
    for (size_t c = 0; c < a->m; c++) {
        cumulated += a->ratio[c];
        below += cumulated <= fraction;
    }
    return below + 1 < a->m ? below + 1 : a->m;
}
