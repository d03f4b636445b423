/* The fitted model in a model file: the detector payload, version 2
 * (version 1 without the support vectors' training rows, still loaded).
 *
 * Fixed-width little-endian fields then arrays, so that a script can write
 * one from a scikit-learn OneClassSVM with struct and numpy's tobytes();
 * docs/detectors/ocsvm.md gives the layout field by field. Loading checks
 * every field before use: kernel code, degree, gamma > 0 and finite,
 * finite coef0 and rho, the width against the model's, the support-vector
 * count against the bytes left, every value finite, and the training rows
 * increasing. */
#include "detectors/ocsvm/ocsvm.h"
#include "core/alloc.h"
#include "core/error.h"
#include "core/matrix.h"

#include <math.h>

anoma_status an_ocsvm_save(const an_ocsvm *m, an_writer *w)
{
    an_put_u32(w, (uint32_t)m->kernel.type);
    an_put_u32(w, (uint32_t)m->kernel.degree);
    an_put_f64(w, m->kernel.gamma);
    an_put_f64(w, m->kernel.coef0);
    an_put_f64(w, m->rho);
    an_put_u64(w, m->n_features);
    an_put_u64(w, m->n_sv);
    an_put_f64_array(w, m->fill, m->n_features);
    an_put_f64_array(w, m->coef, m->n_sv);
    an_put_f64_array(w, m->sv, m->n_sv * m->n_features);
    /* n_sv training rows, or 0 where they are unknown (loaded from version 1) */
    an_put_u64(w, m->support ? m->n_sv : 0);
    for (size_t s = 0; m->support && s < m->n_sv; s++)
        an_put_u64(w, m->support[s]);
    return an_writer_status(w);
}

static anoma_status check_arrays(const an_ocsvm *m)
{
    size_t d = m->n_features, bad;
    if ((bad = an_first_not_finite(m->fill, d)) < d)
        return an_error(ANOMA_ERR_FORMAT, "ocsvm: the fill value of feature %zu is not finite",
                        bad);
    if ((bad = an_first_not_finite(m->coef, m->n_sv)) < m->n_sv)
        return an_error(ANOMA_ERR_FORMAT,
                        "ocsvm: the dual coefficient of support vector %zu is not finite", bad);
    if ((bad = an_first_not_finite(m->sv, m->n_sv * d)) < m->n_sv * d)
        return an_error(ANOMA_ERR_FORMAT,
                        "ocsvm: support vector %zu has a value that is not finite (feature %zu)",
                        bad / d, bad % d);
    return ANOMA_OK;
}

/* Version 2's training rows of the support vectors: a count, n_sv or 0
 * (unknown), then the rows, increasing. */
static anoma_status load_support(an_ocsvm *m, an_reader *r)
{
    uint64_t n = an_get_u64(r);
    AN_TRY(an_reader_status(r));
    if (n == 0) {
        an_free(m->support);
        m->support = NULL;
        return ANOMA_OK;
    }
    if (n != m->n_sv)
        return an_error(ANOMA_ERR_FORMAT, "ocsvm: %llu support-vector rows for %zu support vectors",
                        (unsigned long long)n, m->n_sv);
    for (size_t s = 0; s < m->n_sv; s++)
        m->support[s] = an_get_u64(r);
    AN_TRY(an_reader_status(r));
    for (size_t s = 1; s < m->n_sv; s++)
        if (m->support[s] <= m->support[s - 1])
            return an_error(ANOMA_ERR_FORMAT,
                            "ocsvm: the training row of support vector %zu is not above the "
                            "previous one's",
                            s);
    return ANOMA_OK;
}

anoma_status an_ocsvm_load(an_ocsvm *m, an_reader *r, size_t n_features, uint32_t version)
{
    *m = (an_ocsvm){0};
    uint32_t kernel = an_get_u32(r);
    uint32_t degree = an_get_u32(r);
    double gamma = an_get_f64(r), coef0 = an_get_f64(r), rho = an_get_f64(r);
    uint64_t width = an_get_u64(r);
    AN_TRY(an_reader_status(r));
    if (kernel >= AN_OCSVM_N_KERNELS)
        return an_error(ANOMA_ERR_FORMAT, "ocsvm: unknown kernel code %u (0 to %d)", kernel,
                        AN_OCSVM_N_KERNELS - 1);
    if (degree > AN_OCSVM_MAX_DEGREE)
        return an_error(ANOMA_ERR_FORMAT, "ocsvm: degree %u is above %d", degree,
                        AN_OCSVM_MAX_DEGREE);
    if (!(isfinite(gamma) && gamma > 0))
        return an_error(ANOMA_ERR_FORMAT, "ocsvm: gamma %g is not a finite number > 0", gamma);
    if (!isfinite(coef0) || !isfinite(rho))
        return an_error(ANOMA_ERR_FORMAT, "ocsvm: coef0 or rho is not finite");
    if (width != n_features)
        return an_error(ANOMA_ERR_FORMAT, "ocsvm: the payload has %llu features, the model %zu",
                        (unsigned long long)width, n_features);
    /* each support vector takes its coefficient and its values */
    size_t n_sv = an_get_count(r, SIZE_MAX / 8 / (n_features + 1), 8 * (n_features + 1));
    if (!r->failed)
        an_reader_can_hold(r, (uint64_t)n_sv * (n_features + 1) + n_features, 8);
    AN_TRY(an_reader_status(r));
    if (n_sv == 0)
        return an_error(ANOMA_ERR_FORMAT, "ocsvm: no support vector");
    AN_TRY(an_ocsvm_alloc(m, n_sv, n_features));
    m->kernel = (an_ocsvm_kernel){(an_ocsvm_kernel_type)kernel, (int)degree, gamma, coef0};
    m->rho = rho;
    an_get_f64_array(r, m->fill, n_features);
    an_get_f64_array(r, m->coef, n_sv);
    an_get_f64_array(r, m->sv, n_sv * n_features);
    anoma_status st = an_reader_status(r);
    if (st == ANOMA_OK)
        st = check_arrays(m);
    if (st == ANOMA_OK && version >= 2)
        st = load_support(m, r);
    else if (st == ANOMA_OK) {
        an_free(m->support);
        m->support = NULL;
    }
    if (st != ANOMA_OK) {
        an_ocsvm_free(m);
        return st;
    }
    an_ocsvm_finish(m);
    return ANOMA_OK;
}
