/* The recurrent layer graph (lib/nn) through the seq_autoencoder detector:
 * one-unit networks against PyTorch's equations written out in double
 * precision, the vectorised sigmoid and tanh against the C library's
 * double ones, and the import's out-of-memory paths. The comparison with
 * PyTorch itself is in tests/python/test_seq_autoencoder.py. */
#include "testing.h"
#include "nn/nn.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct bytes {
    unsigned char data[4096];
    size_t len;
} bytes;

static void put(bytes *b, const void *v, size_t n)
{
    memcpy(b->data + b->len, v, n); /* the test runs on little-endian hosts */
    b->len += n;
}
static void put_u32(bytes *b, uint32_t v) { put(b, &v, 4); }
static void put_f32s(bytes *b, const float *v, size_t n) { put(b, v, 4 * n); }

/* Header of a one-feature payload: identity scaling, weight 1. */
static void head(bytes *b, uint32_t mode, uint32_t window, uint32_t horizon, uint64_t layers)
{
    double zero = 0, one = 1;
    b->len = 0;
    put_u32(b, mode);
    put_u32(b, window);
    put_u32(b, horizon);
    put(b, &zero, 8);
    put(b, &one, 8);
    put(b, &one, 8);
    put(b, &layers, 8);
}

static void layer(bytes *b, uint32_t kind, uint32_t in, uint32_t out, uint32_t option)
{
    put_u32(b, kind);
    put_u32(b, in);
    put_u32(b, out);
    put_u32(b, option);
}

static double sig(double v) { return 1 / (1 + exp(-v)); }

/* Distance of a float from the exact value in units of the float's last
 * place at that value (subnormals: the smallest step). */
static double ulps(float got, double exact)
{
    int e;
    frexp(exact, &e);
    double ulp = ldexp(1.0, (e < -125 ? -125 : e) - 24);
    return fabs(got - exact) / ulp;
}

/* an_nn_sigmoid and an_nn_tanh within 3 ulp (sigmoid: where it is above
 * 2e-35; below, 1e-38 absolute) over magnitudes from 1e-30 to 100, both
 * signs, the odd lengths that leave a vector loop's tail, and the ends:
 * +-0, +-Inf, NaN. */
static void test_vector_sigmoid_tanh(void)
{
    enum { N = 100003 };
    float *x = malloc(N * sizeof *x), *s = malloc(N * sizeof *s), *t = malloc(N * sizeof *t);
    if (!x || !s || !t) {
        CHECK(!"out of memory");
        free(x), free(s), free(t);
        return;
    }
    for (size_t i = 0; i < N; i++) {
        double u = (double)i / N;
        x[i] = i % 2 ? (float)((u - 0.5) * 200) : (float)((i % 4 ? -1 : 1) * pow(10, -30 + 32 * u));
    }
    memcpy(s, x, N * sizeof *x);
    memcpy(t, x, N * sizeof *x);
    an_nn_sigmoid(s, N);
    an_nn_tanh(t, N);
    double worst_s = 0, worst_t = 0;
    for (size_t i = 0; i < N; i++) {
        double v = x[i], es = 1 / (1 + exp(-v)), et = tanh(v);
        double ds = x[i] >= -80 ? ulps(s[i], es) : fabs(s[i] - es) / 1e-38 * 3;
        worst_s = fmax(worst_s, ds);
        worst_t = fmax(worst_t, ulps(t[i], et));
    }
    CHECK(worst_s <= 3 && worst_t <= 3);
    if (worst_s > 3 || worst_t > 3)
        fprintf(stderr, "sigmoid %.2f ulp, tanh %.2f ulp\n", worst_s, worst_t);
    float ends[5] = {0.0f, -0.0f, INFINITY, -INFINITY, NAN};
    memcpy(s, ends, sizeof ends);
    memcpy(t, ends, sizeof ends);
    an_nn_sigmoid(s, 5);
    an_nn_tanh(t, 5);
    CHECK(s[0] == 0.5f && s[1] == 0.5f && s[2] == 1.0f && isnan(s[4]));
    CHECK(s[3] >= 0 && s[3] < 1e-38f);
    CHECK(t[0] == 0.0f && !signbit(t[0]) && t[1] == 0.0f && signbit(t[1]));
    CHECK(t[2] == 1.0f && t[3] == -1.0f && isnan(t[4]));
    free(x), free(s), free(t);
}

/* an_nn_matvec on the packed matrix against the product in double: row
 * counts that fill whole 64-row blocks, leave a narrower last block, and
 * are not a multiple of 8 (the padding rows must not be written). */
static void test_packed_matvec(void)
{
    enum { MAX_ROWS = 200, COLS = 37 };
    static const size_t rows_of[] = {1, 7, 8, 24, 64, 67, 128, 130, 200};
    static float w[MAX_ROWS * COLS], packed[(MAX_ROWS + 8) * COLS], y[MAX_ROWS + 1];
    float x[COLS];
    for (size_t k = 0; k < COLS; k++)
        x[k] = (float)sin(0.7 * (double)k + 0.3);
    for (size_t c = 0; c < sizeof rows_of / sizeof *rows_of; c++) {
        size_t rows = rows_of[c];
        for (size_t i = 0; i < rows * COLS; i++)
            w[i] = (float)cos(1.3 * (double)i) * (i % 3 ? 1.0f : -2.0f);
        CHECK(an_nn_packed_floats(rows, COLS) <= sizeof packed / sizeof *packed);
        an_nn_pack(w, rows, COLS, packed);
        y[rows] = 12345.0f; /* the first float after y's rows stays as it was */
        an_nn_matvec(packed, rows, COLS, x, y);
        double worst = 0;
        for (size_t r = 0; r < rows; r++) {
            double sum = 0, scale = 0;
            for (size_t k = 0; k < COLS; k++) {
                sum += (double)w[r * COLS + k] * x[k];
                scale += fabs((double)w[r * COLS + k] * x[k]);
            }
            worst = fmax(worst, fabs(y[r] - sum) / scale);
        }
        CHECK(worst < 1e-6);
        CHECK(y[rows] == 12345.0f);
    }
}

static anoma_model *import(const bytes *b)
{
    anoma_model *m = NULL;
    CHECK_OK(anoma_model_create("threshold=1", &m));
    if (anoma_model_import_detector(m, "seq_autoencoder", NULL, b->data, b->len, 1) != ANOMA_OK) {
        test_fail(__FILE__, __LINE__, "import: %s", anoma_last_error());
        anoma_model_free(m);
        return NULL;
    }
    return m;
}

static const float W_IH[4] = {0.5f, -0.3f, 0.8f, 0.1f}, W_HH[4] = {0.2f, 0.4f, -0.6f, 0.9f},
                   B_IH[4] = {0.1f, 0.2f, 0.3f, 0.4f}, B_HH[4] = {-0.1f, 0.05f, 0.0f, 0.2f};
static const double X[3] = {0.7, -1.2, 2.0};

/* LSTM 1 -> 1 (last state), Linear 1 -> 1 (w 1.5, b -0.25): a forecast. */
static void test_lstm_one_unit(void)
{
    bytes b;
    float w = 1.5f, bias = -0.25f;
    head(&b, 1, 3, 1, 2);
    layer(&b, 1, 1, 1, 0);
    put_f32s(&b, W_IH, 4);
    put_f32s(&b, W_HH, 4);
    put_f32s(&b, B_IH, 4);
    put_f32s(&b, B_HH, 4);
    layer(&b, 4, 1, 1, 0);
    put_f32s(&b, &w, 1);
    put_f32s(&b, &bias, 1);
    anoma_model *m = import(&b);
    if (!m)
        return;
    /* nn.LSTM: gates i, f, g, o */
    double h = 0, c = 0, a[4];
    for (int t = 0; t < 3; t++) {
        for (int k = 0; k < 4; k++)
            a[k] = (double)W_IH[k] * X[t] + B_IH[k] + (double)W_HH[k] * h + B_HH[k];
        c = sig(a[1]) * c + sig(a[0]) * tanh(a[2]);
        h = sig(a[3]) * tanh(c);
    }
    double expect = 1.5 * h - 0.25;
    float out = 0;
    size_t needed = 0;
    CHECK_OK(anoma_model_predict_windows(m, 0, X, 1, &out, 1, &needed));
    CHECK(needed == 1 && fabs(out - expect) < 1e-6);
    /* the forecast error of the window X then the point 3.0 */
    double window[4] = {X[0], X[1], X[2], 3.0}, score = 0;
    CHECK_OK(anoma_model_window_scores(m, 0, window, 1, &score));
    CHECK(fabs(score - (3.0 - expect) * (3.0 - expect)) < 1e-5);
    CHECK_STATUS(anoma_model_predict_windows(m, 0, X, 1, &out, 0, &needed),
                 ANOMA_ERR_BUFFER_TOO_SMALL);
    anoma_model_free(m);
}

/* GRU 1 -> 1 (last state), then sigmoid: a classifier. */
static void test_gru_one_unit(void)
{
    bytes b;
    head(&b, 2, 3, 0, 2);
    layer(&b, 2, 1, 1, 0);
    put_f32s(&b, W_IH, 3);
    put_f32s(&b, W_HH, 3);
    put_f32s(&b, B_IH, 3);
    put_f32s(&b, B_HH, 3);
    layer(&b, 6, 1, 1, 2);
    anoma_model *m = import(&b);
    if (!m)
        return;
    /* nn.GRU: r, z, n; the reset multiplies W_hn h + b_hn */
    double h = 0;
    for (int t = 0; t < 3; t++) {
        double r = sig(W_IH[0] * X[t] + B_IH[0] + W_HH[0] * h + B_HH[0]);
        double z = sig(W_IH[1] * X[t] + B_IH[1] + W_HH[1] * h + B_HH[1]);
        double n = tanh(W_IH[2] * X[t] + B_IH[2] + r * (W_HH[2] * h + B_HH[2]));
        h = (1 - z) * n + z * h;
    }
    double score = 0;
    CHECK_OK(anoma_model_window_scores(m, 0, X, 1, &score));
    CHECK(fabs(score - sig(h)) < 1e-6);
    anoma_model_free(m);
}

/* RNN 1 -> 1 (last state), RepeatVector 3, Linear 1 -> 1, relu: an
 * autoencoder of 3 steps. */
static void test_rnn_repeat_relu(void)
{
    bytes b;
    float w = -2.0f, bias = 0.5f;
    head(&b, 0, 3, 0, 4);
    layer(&b, 3, 1, 1, 0);
    put_f32s(&b, W_IH, 1);
    put_f32s(&b, W_HH, 1);
    put_f32s(&b, B_IH, 1);
    put_f32s(&b, B_HH, 1);
    layer(&b, 5, 1, 1, 3);
    layer(&b, 4, 1, 1, 0);
    put_f32s(&b, &w, 1);
    put_f32s(&b, &bias, 1);
    layer(&b, 6, 1, 1, 3);
    anoma_model *m = import(&b);
    if (!m)
        return;
    double h = 0;
    for (int t = 0; t < 3; t++)
        h = tanh(W_IH[0] * X[t] + B_IH[0] + W_HH[0] * h + B_HH[0]);
    double y = -2.0 * h + 0.5;
    y = y > 0 ? y : 0;
    float out[3];
    CHECK_OK(anoma_model_predict_windows(m, 0, X, 1, out, 3, NULL));
    for (int t = 0; t < 3; t++)
        CHECK(fabs(out[t] - y) < 1e-6);
    double score = 0, expect = 0;
    for (int t = 0; t < 3; t++)
        expect += (X[t] - y) * (X[t] - y) / 3;
    CHECK_OK(anoma_model_window_scores(m, 0, X, 1, &score));
    CHECK(fabs(score - expect) < 1e-5);
    /* a per-point series score: one window covers all three points */
    anoma_matrix series = anoma_matrix_f64(X, 3, 1);
    double points[3];
    CHECK_OK(anoma_model_series_scores(m, 0, &series, points));
    for (int t = 0; t < 3; t++)
        CHECK(fabs(points[t] - expect) < 1e-5);
    /* batch scoring of a stateful detector is refused */
    double s[3];
    CHECK_STATUS(anoma_model_score(m, &series, s), ANOMA_ERR_UNSUPPORTED);
    anoma_model_free(m);
}

static bytes oom_payload;

static anoma_status import_attempt(void *ctx)
{
    (void)ctx;
    anoma_model *m = NULL;
    anoma_status st = anoma_model_create("threshold=1", &m);
    if (st == ANOMA_OK)
        st = anoma_model_import_detector(m, "seq_autoencoder", NULL, oom_payload.data,
                                         oom_payload.len, 1);
    double score;
    if (st == ANOMA_OK)
        st = anoma_model_window_scores(m, 0, X, 1, &score);
    anoma_model_free(m);
    return st;
}

static void test_allocation_failures(void)
{
    head(&oom_payload, 2, 3, 0, 2);
    layer(&oom_payload, 1, 1, 1, 0);
    put_f32s(&oom_payload, W_IH, 4);
    put_f32s(&oom_payload, W_HH, 4);
    put_f32s(&oom_payload, B_IH, 4);
    put_f32s(&oom_payload, B_HH, 4);
    layer(&oom_payload, 6, 1, 1, 2);
    CHECK_ALLOC_FAILURES(import_attempt, NULL);
}

int main(void)
{
    RUN(test_vector_sigmoid_tanh);
    RUN(test_packed_matvec);
    RUN(test_lstm_one_unit);
    RUN(test_gru_one_unit);
    RUN(test_rnn_repeat_relu);
    RUN(test_allocation_failures);
    return test_summary();
}
