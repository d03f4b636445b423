/* Kernel functions with libsvm's arithmetic, and scikit-learn's gamma rules.
 *
 * Training and scoring share an_ocsvm_kernel_of_dot, so a kernel value
 * depends only on a dot product and two squared norms. libsvm computes an
 * rbf entry of the training matrix as exp(-gamma (|a|^2 + |b|^2 - 2 a.b))
 * and rounds it to float32; doing the same, with dot products added in the
 * same order, gives the same float32 column entries, hence the same solver
 * steps. */
#include "detectors/ocsvm/ocsvm.h"
#include "core/alloc.h"
#include "core/error.h"
#include "core/stats.h"

double an_ocsvm_dot(const double *a, const double *b, size_t n)
{
    double sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += a[i] * b[i];
    return sum;
}

anoma_status an_ocsvm_gamma_scale(const double *x, size_t rows, size_t cols, double *gamma)
{
    /* numpy's x.var(): the mean of the squared deviations from the mean,
     * both summed pairwise over the flattened array, so over a copy */
    size_t n = rows * cols;
    double *dev = AN_NEW_ARRAY(double, n);
    if (!dev)
        return an_no_memory();
    double mean = an_mean(x, n);
    for (size_t i = 0; i < n; i++) {
        double d = x[i] - mean;
        dev[i] = d * d;
    }
    double var = an_sum(dev, n) / (double)n;
    an_free(dev);
    *gamma = var != 0 ? 1.0 / ((double)cols * var) : 1.0;
    return ANOMA_OK;
}
