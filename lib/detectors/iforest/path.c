/* Path-length maths: the normaliser c(n) and the depth limit.
 *
 * c(n) is the average path length of an unsuccessful search in a binary
 * search tree of n keys (Liu et al. 2008, eq. 1): the depth a point would
 * still need, on average, to be isolated among the n training samples left
 * in its leaf. The formulas below repeat scikit-learn 1.2's
 * _average_path_length operation for operation so that scores agree to the
 * last bit with converted scikit-learn forests. */
#include "detectors/iforest/iforest.h"

#include <math.h>

/* numpy.euler_gamma */
#define EULER_GAMMA 0.57721566490153286060

double an_iforest_c(uint64_t n)
{
    if (n <= 1)
        return 0.0;
    if (n == 2)
        return 1.0;
    double x = (double)n;
    return 2.0 * (log(x - 1.0) + EULER_GAMMA) - 2.0 * (x - 1.0) / x;
}

unsigned an_iforest_depth_limit(uint64_t psi)
{
    unsigned d = 1; /* psi <= 2 */
    while (d < 64 && ((uint64_t)1 << d) < psi)
        d++;
    return d;
}

double an_iforest_leaf_value(size_t depth, uint64_t n)
{
    /* scikit-learn adds (nodes on the path = depth + 1) + c(n) - 1.0 */
    return ((double)(depth + 1) + an_iforest_c(n)) - 1.0;
}
