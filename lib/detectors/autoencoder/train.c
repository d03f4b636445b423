/* Native training of the "autoencoder" detector (its fit).
 *
 * 1. Scaling: with standardize, center = the training mean and scale = the
 *    standard deviation (ddof 0; 1 for a constant feature), as
 *    scikit-learn's StandardScaler; else the rows as they are.
 * 2. The rows are shuffled once (seeded); the last validation_fraction of
 *    them (at least one when the fraction is > 0) are held out.
 * 3. Each epoch shuffles the training rows and takes Adam steps on
 *    mini-batches of batch_size (the last one smaller), then measures the
 *    validation loss. The weights of the best validation loss are kept;
 *    training stops after `patience` epochs without improving on it. With
 *    no validation rows every epoch runs and the last weights are kept.
 * Rows are gathered into float32 batches in the shuffled order; nothing
 * depends on the thread count (lib/nn/train.h). */
#include "detectors/autoencoder/autoencoder.h"
#include "detectors/neighbor_data.h"
#include "nn/train.h"
#include "core/alloc.h"
#include "core/error.h"

#include <math.h>
#include <string.h>

static void shuffle(size_t *index, size_t n, an_rng *rng)
{
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)an_rng_below(rng, i);
        size_t tmp = index[i - 1];
        index[i - 1] = index[j];
        index[j] = tmp;
    }
}

static void fit_scaling(an_ae *s, const double *x, size_t rows)
{
    size_t f = s->nn.n_features;
    for (size_t j = 0; j < f; j++) {
        s->nn.center[j] = 0;
        s->nn.scale[j] = 1;
        s->nn.weights[j] = 1;
    }
    s->nn.weight_total = (double)f;
    if (!s->standardize)
        return;
    for (size_t j = 0; j < f; j++) {
        double mean = 0, ss = 0;
        for (size_t i = 0; i < rows; i++)
            mean += x[i * f + j];
        mean /= (double)rows;
        for (size_t i = 0; i < rows; i++)
            ss += (x[i * f + j] - mean) * (x[i * f + j] - mean);
        double sd = sqrt(ss / (double)rows);
        s->nn.center[j] = mean;
        s->nn.scale[j] = sd > 0 && isfinite(sd) ? sd : 1;
    }
}

/* Rows index[0..n) of the scaled data into a contiguous float batch. */
static void gather(const an_ae *s, const double *x, const size_t *index, size_t n, float *out)
{
    size_t f = s->nn.n_features;
    for (size_t r = 0; r < n; r++)
        for (size_t j = 0; j < f; j++)
            out[r * f + j] = (float)((x[index[r] * f + j] - s->nn.center[j]) / s->nn.scale[j]);
}

typedef struct run {
    an_nn_trainer t;
    size_t *index;
    float *batch, *valid, *best;
} run;

static void run_free(run *r)
{
    an_nn_trainer_free(&r->t);
    an_free(r->index);
    an_free(r->batch);
    an_free(r->valid);
    an_free(r->best);
}

/* The epochs, on the network already in s->nn.net. */
static anoma_status train(an_ae *s, const double *x, size_t rows, an_rng *rng)
{
    size_t f = s->nn.n_features;
    size_t n_valid = (size_t)(s->validation_fraction * (double)rows);
    if (s->validation_fraction > 0 && n_valid == 0)
        n_valid = 1;
    if (n_valid >= rows)
        return an_error(ANOMA_ERR_EMPTY, "autoencoder: validation_fraction=%g of %zu rows "
                        "leaves no row to train on", s->validation_fraction, rows);
    size_t n_train = rows - n_valid;
    size_t batch = s->batch_size < n_train ? s->batch_size : n_train;
    size_t max_rows = batch > n_valid ? batch : n_valid;
    run r = {0};
    anoma_status st = an_nn_trainer_init(&r.t, &s->nn.net, max_rows, s->learning_rate);
    if (st != ANOMA_OK)
        return st;
    r.index = AN_NEW_ARRAY(size_t, rows);
    r.batch = an_malloc_array(batch, f * sizeof(float));
    r.valid = an_malloc_array(n_valid ? n_valid : 1, f * sizeof(float));
    r.best = AN_NEW_ARRAY(float, s->nn.net.n_params);
    if (!r.index || !r.batch || !r.valid || !r.best) {
        run_free(&r);
        return an_no_memory();
    }
    for (size_t i = 0; i < rows; i++)
        r.index[i] = i;
    shuffle(r.index, rows, rng);
    gather(s, x, r.index + n_train, n_valid, r.valid);
    double best = INFINITY;
    size_t stale = 0, epoch = 0;
    s->loss = NAN;
    while (epoch < s->max_epochs) {
        shuffle(r.index, n_train, rng);
        double sum = 0;
        for (size_t first = 0; first < n_train; first += batch) {
            size_t n = n_train - first < batch ? n_train - first : batch;
            gather(s, x, r.index + first, n, r.batch);
            sum += an_nn_train_step(&r.t, r.batch, n) * (double)n;
        }
        epoch++;
        if (!isfinite(sum)) {
            run_free(&r);
            return an_error(ANOMA_ERR_NONFINITE, "autoencoder: the training loss diverged at "
                            "epoch %zu; lower learning_rate=%g", epoch, s->learning_rate);
        }
        if (!n_valid) {
            s->loss = sum / (double)n_train;
            continue;
        }
        double loss = an_nn_reconstruction_loss(&r.t, r.valid, n_valid);
        if (loss < best) {
            best = loss;
            stale = 0;
            an_nn_params_get(&s->nn.net, r.best);
        } else if (++stale >= s->patience) {
            break;
        }
    }
    if (n_valid && isfinite(best)) {
        an_nn_params_set(&s->nn.net, r.best);
        s->loss = best;
    }
    s->epochs = (uint32_t)epoch;
    run_free(&r);
    return ANOMA_OK;
}

anoma_status an_ae_fit(an_ae *s, const an_fit_data *data)
{
    an_ae_release(s);
    size_t rows = data->rows, f = data->cols;
    if (rows < 2)
        return an_error(ANOMA_ERR_EMPTY, "autoencoder: fit needs at least 2 rows, got "
                        "n_samples = %zu", rows);
    AN_TRY(an_nb_check_complete("autoencoder: fit", data->x, rows, f));
    AN_TRY(an_nn_payload_alloc(&s->nn, f));
    fit_scaling(s, data->x, rows);
    an_rng rng;
    an_rng_init(&rng, s->seed, 0);
    anoma_status st = an_nn_dense_create(&s->nn.net, f, s->hidden, s->n_hidden, s->activation, &rng);
    if (st == ANOMA_OK)
        st = train(s, data->x, rows, &rng);
    if (st != ANOMA_OK) {
        an_ae_release(s);
        return st;
    }
    s->fitted = 1;
    return ANOMA_OK;
}
