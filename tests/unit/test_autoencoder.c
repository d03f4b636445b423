/* The dense autoencoder's native training (lib/nn/train.c,
 * lib/detectors/autoencoder): the backward pass against central finite
 * differences of the loss, the fitted bytes independent of the thread
 * count, parameter and data errors, and allocation failures in fit. The
 * comparison with PyTorch (initial weights, one Adam step, ROC AUC) is in
 * tests/python/test_autoencoder.py. */
#include "testing.h"

#include "nn/train.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { ROWS = 200, COLS = 4 };
static double data[ROWS * COLS];

/* Every gradient of a small network, each activation in turn, against
 * (L(p + h) - L(p - h)) / 2h computed in the same float32 network. */
static void test_gradients_match_finite_differences(void)
{
    const an_nn_activation acts[] = {AN_NN_TANH, AN_NN_SIGMOID, AN_NN_RELU, AN_NN_IDENTITY};
    size_t hidden[] = {5, 2, 5};
    float x[6 * 3];
    for (size_t i = 0; i < 18; i++)
        x[i] = (float)sin(0.7 * (double)i + 0.3) * 1.5f;
    for (size_t a = 0; a < 4; a++) {
        an_rng rng;
        an_rng_init(&rng, 3, 0);
        an_nn net;
        CHECK_OK(an_nn_dense_create(&net, 3, hidden, 3, acts[a], &rng));
        an_nn_trainer t;
        CHECK_OK(an_nn_trainer_init(&t, &net, 6, 1e-3));
        an_nn_gradients(&t, x, 6);
        float *p = malloc(net.n_params * sizeof *p), *g = malloc(net.n_params * sizeof *g);
        memcpy(g, t.grad, net.n_params * sizeof *g);
        an_nn_params_get(&net, p);
        double worst = 0;
        for (size_t i = 0; i < net.n_params; i++) {
            float keep = p[i], h = 1e-2f;
            p[i] = keep + h;
            an_nn_params_set(&net, p);
            double up = an_nn_reconstruction_loss(&t, x, 6);
            p[i] = keep - h;
            an_nn_params_set(&net, p);
            double down = an_nn_reconstruction_loss(&t, x, 6);
            p[i] = keep;
            an_nn_params_set(&net, p);
            double fd = (up - down) / (2.0 * (double)h);
            double err = fabs(fd - g[i]) / fmax(1e-2, fabs(fd));
            worst = err > worst ? err : worst;
        }
        /* relu's kink can sit inside a step of h: allow it a looser bound */
        CHECK(worst < (acts[a] == AN_NN_RELU ? 5e-2 : 1e-2));
        free(p);
        free(g);
        an_nn_trainer_free(&t);
        an_nn_free(&net);
    }
}

static unsigned char *fitted_bytes(const char *model_params, const char *params, size_t *size)
{
    anoma_model *m = NULL;
    CHECK_OK(anoma_model_create(model_params, &m));
    CHECK_OK(anoma_model_add_detector(m, "autoencoder", params, NULL));
    anoma_matrix x = anoma_matrix_f64(data, ROWS, COLS);
    CHECK_OK(anoma_model_fit(m, &x, NULL, NULL));
    unsigned char *buf = TEST_SAVED_BYTES(m, size);
    anoma_model_free(m);
    return buf;
}

static void test_same_bytes_whatever_the_threads(void)
{
    const char *params = "hidden=8,3,8 epochs=15 batch_size=16 seed=5";
    size_t a_size, b_size, c_size;
    unsigned char *a = fitted_bytes("n_threads=1", params, &a_size);
    unsigned char *b = fitted_bytes("n_threads=2", params, &b_size);
    unsigned char *c = fitted_bytes("n_threads=1", "hidden=8,3,8 epochs=15 batch_size=16 seed=6",
                                    &c_size);
    CHECK(a_size == b_size && memcmp(a, b, a_size) == 0);
    CHECK(a_size != c_size || memcmp(a, c, a_size) != 0); /* the seed matters */
    free(a);
    free(b);
    free(c);
}

static void test_errors_name_the_problem(void)
{
    const char *bad[] = {"hidden=", "hidden=0", "hidden=4,,4", "hidden=4,", "hidden=1.5",
                         "hidden=70000", "activation=gelu", "epochs=-1", "batch_size=0",
                         "learning_rate=0", "validation_fraction=0.95", "patience=0"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        anoma_model *m = NULL;
        CHECK_OK(anoma_model_create(NULL, &m));
        CHECK_STATUS(anoma_model_add_detector(m, "autoencoder", bad[i], NULL),
                     ANOMA_ERR_PARAM_VALUE);
        char key[32];
        memcpy(key, bad[i], strcspn(bad[i], "=") + 1);
        key[strcspn(bad[i], "=")] = '\0';
        CHECK(strstr(anoma_last_error(), key) != NULL);
        anoma_model_free(m);
    }
    /* too few rows */
    anoma_model *m = NULL;
    CHECK_OK(anoma_model_create(NULL, &m));
    CHECK_OK(anoma_model_add_detector(m, "autoencoder", "validation_fraction=0.9", NULL));
    anoma_matrix one = anoma_matrix_f64(data, 1, COLS);
    CHECK_STATUS(anoma_model_fit(m, &one, NULL, NULL), ANOMA_ERR_EMPTY);
    CHECK(strstr(anoma_last_error(), "at least 2 rows") != NULL);
    CHECK(!anoma_model_is_fitted(m));
    anoma_model_free(m);
}

static anoma_status fit_attempt(void *ctx)
{
    (void)ctx;
    anoma_model *m = NULL;
    anoma_status st = anoma_model_create("n_threads=1", &m);
    if (st == ANOMA_OK)
        st = anoma_model_add_detector(m, "autoencoder", "hidden=4,2,4 epochs=2", NULL);
    anoma_matrix x = anoma_matrix_f64(data, ROWS, COLS);
    if (st == ANOMA_OK)
        st = anoma_model_fit(m, &x, NULL, NULL);
    anoma_model_free(m);
    return st;
}

static void test_allocation_failures(void) { CHECK_ALLOC_FAILURES(fit_attempt, NULL); }

int main(void)
{
    test_fill(data, ROWS * COLS, 99u, 10000, 1000.0);
    RUN(test_gradients_match_finite_differences);
    RUN(test_same_bytes_whatever_the_threads);
    RUN(test_errors_name_the_problem);
    RUN(test_allocation_failures);
    return test_summary();
}
