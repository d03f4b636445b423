/* The kernel maps SGD trains on: z(x) in R^m, so that z(x).z(y)
 * approximates the rbf kernel exp(-gamma |x - y|^2).
 *
 * - rff (Rahimi and Recht 2007; scikit-learn's RBFSampler):
 *   z(x) = sqrt(2) / sqrt(m) cos(W x + b), the m rows of W drawn from
 *   N(0, 2 gamma I), b uniform in [0, 2 pi).
 * - nystroem (Williams and Seeger 2001; scikit-learn's Nystroem): m
 *   training rows drawn without replacement as the basis, z(x) =
 *   K(x, basis) N with N = K(basis, basis)^(-1/2) from its eigenvalues
 *   (each at least 1e-12, scikit-learn's floor), so that z(x).z(y) is the
 *   kernel exactly on the basis and its projection elsewhere.
 * - none: z(x) = x, a linear one-class SVM (scikit-learn's SGDOneClassSVM
 *   on the raw features).
 *
 * Products by OpenBLAS GEMM, the rbf values through the vectorised exp of
 * the kernel solver (an_ocsvm_exp). The draws come from the library's
 * generator (lib/core/rng), not numpy's: the same seed gives the same map
 * here on every platform, not scikit-learn's map. */
#include "detectors/ocsvm_sgd/ocsvm_sgd.h"
#include "core/alloc.h"
#include "core/error.h"
#include "core/matrix.h"
#include "core/rng.h"
#include "core/sample.h"
#include "detectors/ocsvm/ocsvm.h"

#include <cblas.h>
#include <lapacke.h>
#include <math.h>
#include <string.h>

#define TWO_PI 6.283185307179586
#define EIGEN_FLOOR 1e-12

void an_sgd_map_free(an_sgd_map *map)
{
    an_free(map->w);
    an_free(map->b);
    an_free(map->norm);
    map->w = map->b = map->norm = NULL;
}

static anoma_status alloc_arrays(an_sgd_map *map)
{
    if (map->type == AN_SGD_MAP_NONE)
        return ANOMA_OK;
    map->w = AN_NEW_ARRAY(double, map->m * map->d);
    map->b = AN_NEW_ARRAY(double, map->m);
    if (map->type == AN_SGD_MAP_NYSTROEM)
        map->norm = AN_NEW_ARRAY(double, map->m * map->m);
    if (!map->w || !map->b || (map->type == AN_SGD_MAP_NYSTROEM && !map->norm)) {
        an_sgd_map_free(map);
        return an_no_memory();
    }
    return ANOMA_OK;
}

/* Squared norms of the basis rows. */
static void basis_norms(an_sgd_map *map)
{
    for (size_t k = 0; k < map->m; k++)
        map->b[k] = an_ocsvm_dot(map->w + k * map->d, map->w + k * map->d, map->d);
}

void an_sgd_map_kernel(const an_sgd_map *map, const double *x, size_t rows, double *k)
{
    size_t m = map->m, d = map->d;
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)rows, (int)m, (int)d, 1.0, x,
                (int)d, map->w, (int)d, 0.0, k, (int)m);
    for (size_t i = 0; i < rows; i++) {
        double sq = an_ocsvm_dot(x + i * d, x + i * d, d), *ki = k + i * m;
        for (size_t j = 0; j < m; j++) {
            double d2 = sq + map->b[j] - 2 * ki[j];
            ki[j] = -map->gamma * (d2 > 0 ? d2 : 0);
        }
        an_ocsvm_exp(ki, m);
    }
}

/* N = V diag(1 / sqrt(max(lambda, 1e-12))) V' of the basis's kernel. */
static anoma_status nystroem_normalization(an_sgd_map *map)
{
    size_t m = map->m;
    double *k = AN_NEW_ARRAY(double, m * m), *lambda = AN_NEW_ARRAY(double, m);
    double *scaled = AN_NEW_ARRAY(double, m * m), size = 0;
    anoma_status st = k && lambda && scaled ? ANOMA_OK : an_no_memory();
    if (st == ANOMA_OK) {
        an_sgd_map_kernel(map, map->w, m, k);
        /* symmetric: eigenvectors into k (row-major = column-major of k') */
        lapack_int info = LAPACKE_dsyev_work(LAPACK_ROW_MAJOR, 'V', 'U', (lapack_int)m, k,
                                             (lapack_int)m, lambda, &size, -1);
        double *work = info == 0 ? AN_NEW_ARRAY(double, (size_t)size + 1) : NULL;
        if (info == 0 && work)
            info = LAPACKE_dsyev_work(LAPACK_ROW_MAJOR, 'V', 'U', (lapack_int)m, k,
                                      (lapack_int)m, lambda, work, (lapack_int)size);
        an_free(work);
        if (info == 0 && !work)
            st = an_no_memory();
        else if (info != 0)
            st = an_error(ANOMA_ERR_INTERNAL,
                          "ocsvm_sgd: the eigenvalues of the nystroem basis did not converge "
                          "(LAPACK dsyev %d)",
                          (int)info);
    }
    if (st == ANOMA_OK) {
        /* column j of k is eigenvector j */
        for (size_t i = 0; i < m; i++)
            for (size_t j = 0; j < m; j++)
                scaled[i * m + j] =
                    k[i * m + j] / sqrt(lambda[j] > EIGEN_FLOOR ? lambda[j] : EIGEN_FLOOR);
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)m, (int)m, (int)m, 1.0, scaled,
                    (int)m, k, (int)m, 0.0, map->norm, (int)m);
    }
    an_free(k);
    an_free(lambda);
    an_free(scaled);
    return st;
}

anoma_status an_sgd_map_fit(an_sgd_map *map, an_sgd_map_type type, size_t m, double gamma,
                            uint64_t seed, const double *x, size_t rows, size_t d)
{
    if (type == AN_SGD_MAP_NYSTROEM && m > rows)
        m = rows;
    *map = (an_sgd_map){.type = type, .d = d, .m = type == AN_SGD_MAP_NONE ? d : m,
                        .gamma = gamma};
    AN_TRY(alloc_arrays(map));
    an_rng rng;
    an_rng_init(&rng, seed, 0);
    if (type == AN_SGD_MAP_RFF) {
        double sd = sqrt(2 * gamma);
        for (size_t i = 0; i < m * d; i++)
            map->w[i] = sd * an_rng_normal(&rng);
        for (size_t k = 0; k < m; k++)
            map->b[k] = TWO_PI * an_rng_uniform(&rng);
    } else if (type == AN_SGD_MAP_NYSTROEM) {
        an_row_set set = {AN_NEW_ARRAY(size_t, an_row_set_slots(m)), an_row_set_slots(m) - 1};
        size_t *pick = AN_NEW_ARRAY(size_t, m);
        if (!set.slots || !pick) {
            an_free(set.slots);
            an_free(pick);
            an_sgd_map_free(map);
            return an_no_memory();
        }
        an_sample_distinct(&rng, rows, m, &set, pick);
        for (size_t k = 0; k < m; k++)
            memcpy(map->w + k * d, x + pick[k] * d, d * sizeof *x);
        an_free(set.slots);
        an_free(pick);
        basis_norms(map);
        anoma_status st = nystroem_normalization(map);
        if (st != ANOMA_OK) {
            an_sgd_map_free(map);
            return st;
        }
    }
    return ANOMA_OK;
}

void an_sgd_map_fold(const an_sgd_map *map, const double *coef, double *v)
{
    size_t m = map->m;
    for (size_t i = 0; i < m; i++)
        v[i] = 0;
    for (size_t j = 0; j < m; j++)
        for (size_t i = 0; i < m; i++)
            v[i] += map->norm[j * m + i] * coef[j];
}

size_t an_sgd_map_scratch(const an_sgd_map *map, size_t rows)
{
    return map->type == AN_SGD_MAP_NYSTROEM ? rows * map->m : 0;
}

void an_sgd_map_rows(const an_sgd_map *map, const double *x, size_t rows, double *out,
                     double *scratch)
{
    size_t m = map->m, d = map->d;
    if (map->type == AN_SGD_MAP_NONE) {
        memcpy(out, x, rows * d * sizeof *x);
    } else if (map->type == AN_SGD_MAP_RFF) {
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)rows, (int)m, (int)d, 1.0, x,
                    (int)d, map->w, (int)d, 0.0, out, (int)m);
        double scale = sqrt(2.0) / sqrt((double)m);
        for (size_t i = 0; i < rows; i++)
            for (size_t k = 0; k < m; k++)
                out[i * m + k] = cos(out[i * m + k] + map->b[k]) * scale;
    } else {
        an_sgd_map_kernel(map, x, rows, scratch);
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)rows, (int)m, (int)m, 1.0,
                    scratch, (int)m, map->norm, (int)m, 0.0, out, (int)m);
    }
}

size_t an_sgd_map_memory(const an_sgd_map *map)
{
    if (map->type == AN_SGD_MAP_NONE)
        return 0;
    return (map->m * map->d + map->m + (map->norm ? map->m * map->m : 0)) * sizeof(double);
}

void an_sgd_map_save(const an_sgd_map *map, an_writer *w)
{
    if (map->type == AN_SGD_MAP_NONE)
        return;
    an_put_f64_array(w, map->w, map->m * map->d);
    if (map->type == AN_SGD_MAP_RFF)
        an_put_f64_array(w, map->b, map->m);
    else
        an_put_f64_array(w, map->norm, map->m * map->m);
}

anoma_status an_sgd_map_load(an_sgd_map *map, an_reader *r, an_sgd_map_type type, size_t d,
                             size_t m, double gamma)
{
    *map = (an_sgd_map){.type = type, .d = d, .m = m, .gamma = gamma};
    if (type == AN_SGD_MAP_NONE)
        return ANOMA_OK;
    size_t values = m * d + (type == AN_SGD_MAP_RFF ? m : m * m);
    if (!an_reader_can_hold(r, values, 8))
        return an_reader_status(r);
    AN_TRY(alloc_arrays(map));
    an_get_f64_array(r, map->w, m * d);
    if (type == AN_SGD_MAP_RFF)
        an_get_f64_array(r, map->b, m);
    else
        an_get_f64_array(r, map->norm, m * m);
    anoma_status st = an_reader_status(r);
    size_t bad;
    if (st == ANOMA_OK && (bad = an_first_not_finite(map->w, m * d)) < m * d)
        st = an_error(ANOMA_ERR_FORMAT, "ocsvm_sgd: map row %zu has a value that is not finite",
                      bad / d);
    if (st == ANOMA_OK && type == AN_SGD_MAP_RFF && an_first_not_finite(map->b, m) < m)
        st = an_error(ANOMA_ERR_FORMAT, "ocsvm_sgd: an rff phase is not finite");
    if (st == ANOMA_OK && type == AN_SGD_MAP_NYSTROEM && an_first_not_finite(map->norm, m * m) < m * m)
        st = an_error(ANOMA_ERR_FORMAT, "ocsvm_sgd: the nystroem normalization has a value that "
                      "is not finite");
    if (st != ANOMA_OK) {
        an_sgd_map_free(map);
        return st;
    }
    if (type == AN_SGD_MAP_NYSTROEM)
        basis_norms(map);
    return ANOMA_OK;
}
