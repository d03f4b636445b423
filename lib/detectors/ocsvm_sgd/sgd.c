/* scikit-learn's plain SGD for the one-class SVM, step for step.
 *
 * sklearn/linear_model/_sgd_fast.pyx (_plain_sgd) with the hinge loss
 * (threshold 1), y = +1, the l2 penalty alpha = nu / 2, C = 1 and
 * one_class = 1; SGDOneClassSVM starts from w = 0 and intercept 1 (offset
 * = 1 - intercept = 0). Per row, in the shuffled order of the epoch:
 *
 *   p = w.x + intercept;  eta from the schedule ("optimal": 1 / (alpha
 *   (t0 + t - 1)), t0 = 1 / (typw alpha), typw = sqrt(1 / sqrt(alpha)));
 *   update = eta * sample_weight if p <= 1, else 0;
 *   w *= max(0, 1 - eta alpha);  w += update x;
 *   intercept += update - 2 eta alpha;
 *
 * with w kept as a scale times a vector (scikit-learn's WeightVector, the
 * vector rescaled when the scale falls below 1e-9), the averaged weights
 * (ASGD) kept the same way, and an epoch's loss (the unweighted hinge
 * losses) stopping the run after 5 epochs without improvement by tol * n.
 * Each epoch shuffles the previous epoch's order with the same seed
 * through scikit-learn's rand_r (sklearn/utils/_random.pxd), so for the
 * seed scikit-learn draws (random_state.randint(0, 2^31 - 1)) the visits,
 * and so the results, are scikit-learn's (tested to 1e-12). */
#include "detectors/ocsvm_sgd/ocsvm_sgd.h"
#include "core/alloc.h"
#include "core/error.h"
#include "core/matrix.h"

#include <math.h>
#include <string.h>

enum { N_ITER_NO_CHANGE = 5 };
#define WSCALE_THRESHOLD 1e-9

/* scikit-learn's our_rand_r: xorshift32, then modulo 2^31. */
static uint32_t rand_r_sklearn(uint32_t *seed)
{
    if (*seed == 0)
        *seed = 1;
    *seed ^= (uint32_t)(*seed << 13);
    *seed ^= (uint32_t)(*seed >> 17);
    *seed ^= (uint32_t)(*seed << 5);
    return *seed % ((uint32_t)2147483647 + 1);
}

/* SequentialDataset.shuffle: the seed is passed by value, so every epoch
 * draws the same numbers, applied to the order the last epoch left. */
static void shuffle(uint32_t *index, size_t n, uint32_t seed)
{
    for (size_t i = 0; i + 1 < n; i++) {
        size_t j = i + rand_r_sklearn(&seed) % (uint32_t)(n - i);
        uint32_t t = index[i];
        index[i] = index[j];
        index[j] = t;
    }
}

/* w = wscale * v, averaged weights = (aw + a * v) / b (WeightVector). */
typedef struct weights {
    double *v, *aw;
    size_t m;
    double wscale, a, b;
} weights;

static void reset_wscale(weights *w)
{
    if (w->aw) {
        for (size_t k = 0; k < w->m; k++)
            w->aw[k] += w->a * w->v[k];
        double inv_b = 1.0 / w->b;
        for (size_t k = 0; k < w->m; k++)
            w->aw[k] *= inv_b;
        w->a = 0.0;
        w->b = 1.0;
    }
    for (size_t k = 0; k < w->m; k++)
        w->v[k] *= w->wscale;
    w->wscale = 1.0;
}

anoma_status an_sgd_one_class(const an_sgd_problem *p, double *coef, an_sgd_result *out)
{
    size_t n = p->rows, m = p->m;
    uint32_t *index = AN_NEW_ARRAY(uint32_t, n);
    double *aw = p->average > 0 ? AN_NEW_ZEROED(double, m) : NULL;
    if (!index || (p->average > 0 && !aw)) {
        an_free(index);
        an_free(aw);
        return an_no_memory();
    }
    for (size_t i = 0; i < n; i++)
        index[i] = (uint32_t)i;
    memset(coef, 0, m * sizeof *coef);
    weights w = {coef, aw, m, 1.0, 0.0, 1.0};
    double alpha = p->nu / 2, intercept = 1.0, average_intercept = 0.0;
    double eta = p->eta0, optimal_init = 0.0, t = 1.0;
    if (p->rate == AN_SGD_OPTIMAL) {
        double typw = sqrt(1.0 / sqrt(alpha));
        /* the hinge loss's dloss(-typw, 1) is -1: eta0 = typw / max(1, -1) */
        optimal_init = 1.0 / (typw * alpha);
    }
    double best_loss = INFINITY;
    int no_improvement = 0, diverged = 0;
    long long epoch = 0;
    for (epoch = 0; epoch < p->max_iter; epoch++) {
        double sumloss = 0;
        if (p->shuffle)
            shuffle(index, n, p->seed);
        for (size_t r = 0; r < n; r++) {
            const double *x = p->z + (size_t)index[r] * m;
            double dot = 0;
            for (size_t k = 0; k < m; k++)
                dot += w.v[k] * x[k];
            double pred = dot * w.wscale + intercept;
            if (p->rate == AN_SGD_OPTIMAL)
                eta = 1.0 / (alpha * (optimal_init + t - 1));
            else if (p->rate == AN_SGD_INVSCALING)
                eta = p->eta0 / pow(t, p->power_t);
            int margin = pred <= 1.0;
            sumloss += margin ? 1.0 - pred : 0.0;
            double update = margin ? eta : 0.0; /* -eta * dloss, dloss = -1 */
            update *= p->weights ? p->weights[index[r]] : 1.0;
            double shrink = 1.0 - eta * alpha;
            w.wscale *= shrink > 0 ? shrink : 0;
            if (w.wscale < WSCALE_THRESHOLD)
                reset_wscale(&w);
            if (update != 0.0) {
                double step = update / w.wscale;
                for (size_t k = 0; k < m; k++)
                    w.v[k] += x[k] * step;
            }
            if (p->fit_intercept) {
                double intercept_update = update - 2. * eta * alpha;
                if (intercept_update != 0)
                    intercept += intercept_update;
            }
            if (p->average > 0 && (double)p->average <= t) {
                double seen = t - (double)p->average + 1, mu = 1.0 / seen;
                double step = -update / w.wscale;
                for (size_t k = 0; k < m; k++)
                    w.aw[k] += w.a * x[k] * step;
                if (seen > 1)
                    w.b /= 1.0 - mu;
                w.a += mu * w.b * w.wscale;
                average_intercept += (intercept - average_intercept) / seen;
            }
            t += 1;
        }
        if (!isfinite(intercept) || an_first_not_finite(w.v, m) < m) {
            diverged = 1;
            break;
        }
        if (p->tol > -INFINITY && sumloss > best_loss - p->tol * (double)n)
            no_improvement++;
        else
            no_improvement = 0;
        if (sumloss < best_loss)
            best_loss = sumloss;
        if (no_improvement >= N_ITER_NO_CHANGE) {
            if (p->rate == AN_SGD_ADAPTIVE && eta > 1e-6) {
                eta = eta / 5;
                no_improvement = 0;
            } else {
                break;
            }
        }
    }
    if (diverged) {
        an_free(index);
        an_free(aw);
        return an_error(ANOMA_ERR_NONFINITE,
                        "ocsvm_sgd: the weights became infinite or NaN in epoch %lld: scale the "
                        "features or lower eta0",
                        epoch + 1);
    }
    reset_wscale(&w);
    out->n_iter = epoch < p->max_iter ? epoch + 1 : p->max_iter;
    out->t = t;
    out->offset = 1 - intercept;
    if (p->average > 0 && (double)p->average <= t - 1.0) {
        memcpy(coef, aw, m * sizeof *coef);
        out->offset = 1 - average_intercept;
    }
    an_free(index);
    an_free(aw);
    return ANOMA_OK;
}
