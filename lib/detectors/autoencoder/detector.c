/* The "autoencoder" detector: parameters, payload, scoring and the vtable.
 *
 * A row x is scaled, z = (x - center) / scale, run through the network in
 * float32 and compared with its reconstruction y in double precision:
 *   score = sum_j w_j (z_j - y_j)^2 / sum_j w_j,
 * the weighted mean squared error (the plain mean with the default unit
 * weights). Feature scores are the terms w_j (z_j - y_j)^2 / sum_j w_j, so
 * they sum to the score and rank features as their squared errors do.
 *
 * Payload (version 1, docs/detectors/autoencoder.md): u32 epochs, f64 loss,
 * center, scale and weights (F f64 each), then the graph (lib/nn/net_io.c)
 * for one step of F features, of Linear and activation layers only,
 * ending at F features. */
#include "detectors/autoencoder/autoencoder.h"
#include "detectors/neighbor_data.h"
#include "core/alloc.h"
#include "core/error.h"
#include "core/threads.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Floats of buffers one row may need (64 MB): a few payload bytes must not
 * make every scorer of the model allocate gigabytes. */
#define MAX_ROW_FLOATS ((size_t)1 << 24)

static const anoma_param_info ae_params[] = {
    {"hidden", ANOMA_PARAM_TEXT, 0, 0, "64,16,64", "",
     "widths of the hidden layers, comma-separated (1 to 31 layers of 1 to 65536 units); the "
     "output layer gives the input's width back"},
    {"activation", ANOMA_PARAM_CHOICE, 0, 0, "relu", "relu|tanh|sigmoid|identity",
     "activation after every layer but the last"},
    {"epochs", ANOMA_PARAM_INT, 0, 1e6, "100", "",
     "passes over the training rows at most (0: the initial network, untrained)"},
    {"batch_size", ANOMA_PARAM_INT, 1, 1e9, "64", "", "rows per Adam step"},
    {"learning_rate", ANOMA_PARAM_DOUBLE, 1e-12, 10, "0.001", "", "Adam's step size"},
    {"validation_fraction", ANOMA_PARAM_DOUBLE, 0, 0.9, "0.1", "",
     "share of the rows held out to stop early and pick the weights kept; 0 = none (every "
     "epoch runs)"},
    {"patience", ANOMA_PARAM_INT, 1, 1e6, "10", "",
     "epochs without a better validation loss before training stops"},
    {"seed", ANOMA_PARAM_INT, 0, 9223372036854775807.0, "0", "",
     "seed of the initial weights, the split and the batches"},
    {"standardize", ANOMA_PARAM_BOOL, 0, 1, "true", "",
     "scale each feature to mean 0 and standard deviation 1 before the network"},
};

/* "64,16,64" into widths; 0 when malformed. */
static int parse_hidden(const char *text, size_t *widths, size_t *n)
{
    *n = 0;
    const char *p = text;
    while (*p) {
        char *end;
        double v;
        char buf[32];
        size_t len = strcspn(p, ",");
        if (len == 0 || len >= sizeof buf || *n == AN_AE_MAX_HIDDEN)
            return 0;
        memcpy(buf, p, len);
        buf[len] = '\0';
        v = strtod(buf, &end);
        if (*end || !(v >= 1 && v <= AN_NN_MAX_WIDTH) || v != floor(v))
            return 0;
        widths[(*n)++] = (size_t)v;
        p += len;
        if (*p == ',' && !*++p)
            return 0;
    }
    return *n > 0;
}

static anoma_status ae_create(const an_params *params, void **out)
{
    size_t widths[AN_AE_MAX_HIDDEN], n;
    const char *hidden = an_params_text(params, "hidden");
    if (!parse_hidden(hidden, widths, &n))
        return an_error(ANOMA_ERR_PARAM_VALUE, "autoencoder: hidden=%s: expected 1 to %d "
                        "comma-separated widths in [1, 65536], such as 64,16,64", hidden,
                        AN_AE_MAX_HIDDEN);
    an_ae *s = AN_NEW_ZEROED(an_ae, 1);
    if (!s)
        return an_no_memory();
    memcpy(s->hidden, widths, n * sizeof *widths);
    s->n_hidden = n;
    static const an_nn_activation activations[] = {AN_NN_RELU, AN_NN_TANH, AN_NN_SIGMOID,
                                                   AN_NN_IDENTITY};
    s->activation = activations[an_params_choice(params, "activation")];
    s->max_epochs = (size_t)an_params_int(params, "epochs");
    s->batch_size = (size_t)an_params_int(params, "batch_size");
    s->learning_rate = an_params_double(params, "learning_rate");
    s->validation_fraction = an_params_double(params, "validation_fraction");
    s->patience = (size_t)an_params_int(params, "patience");
    s->seed = (uint64_t)an_params_int(params, "seed");
    s->standardize = an_params_bool(params, "standardize");
    s->loss = NAN;
    *out = s;
    return ANOMA_OK;
}

void an_ae_release(an_ae *s)
{
    an_nn_payload_release(&s->nn);
    s->fitted = 0;
    s->epochs = 0;
    s->loss = NAN;
}

static void ae_destroy(void *state)
{
    if (state)
        an_ae_release(state);
    an_free(state);
}

static anoma_status ae_fit(void *state, const an_fit_data *data)
{
    return an_ae_fit(state, data);
}

/* Scratch of one row: the network's input and output (F floats each), then
 * the graph's own buffers. */
static size_t row_floats(const an_ae *s)
{
    return 2 * s->nn.n_features + an_nn_scratch_floats(&s->nn.net, 1);
}

static size_t ae_scratch_bytes(const void *state)
{
    const an_ae *s = state;
    return s->fitted ? row_floats(s) * sizeof(float) : 0;
}

/* The reconstruction of row into scratch; returns the output (F floats) and
 * the scaled input in *in, or NULL when a value is missing. */
static const float *reconstruct(const an_ae *s, const double *row, float *scratch,
                                const float **in)
{
    size_t f = s->nn.n_features;
    float *x = scratch, *y = x + f, *work = y + f;
    for (size_t j = 0; j < f; j++) {
        double v = (row[j] - s->nn.center[j]) / s->nn.scale[j];
        if (!isfinite(v))
            return NULL;
        x[j] = (float)v;
    }
    an_nn_forward_block(&s->nn.net, x, 1, y, work);
    *in = x;
    return y;
}

/* The term of feature j: its weighted squared error over the weights' sum. */
static double term(const an_ae *s, size_t j, float x, float y)
{
    double e = (double)x - (double)y;
    return s->nn.weights[j] * e * e / s->nn.weight_total;
}

static void ae_score_row(const void *state, const double *row, void *scratch, double *score)
{
    const an_ae *s = state;
    const float *x, *y = reconstruct(s, row, scratch, &x);
    if (!y) {
        *score = NAN;
        return;
    }
    double sum = 0;
    for (size_t j = 0; j < s->nn.n_features; j++)
        sum += term(s, j, x[j], y[j]);
    *score = sum;
}

static void ae_feature_scores_row(const void *state, const double *row, void *scratch,
                                  double *out)
{
    const an_ae *s = state;
    const float *x, *y = reconstruct(s, row, scratch, &x);
    for (size_t j = 0; j < s->nn.n_features; j++)
        out[j] = y ? term(s, j, x[j], y[j]) : NAN;
}

typedef struct batch {
    const an_ae *s;
    const double *x;
    double *scores;
    float *work; /* row_floats per worker */
} batch;

static void score_range(void *ctx, size_t begin, size_t end, size_t worker)
{
    batch *b = ctx;
    float *work = b->work + worker * row_floats(b->s);
    for (size_t i = begin; i < end; i++)
        ae_score_row(b->s, b->x + i * b->s->nn.n_features, work, b->scores + i);
}

/* Row by row as score_row (a row's GEMVs, not a block's GEMM, so that both
 * paths give the same bits), in parallel after refusing a missing value. */
static anoma_status ae_score_batch(const void *state, const double *x, size_t rows,
                                   size_t n_threads, double *scores)
{
    const an_ae *s = state;
    AN_TRY(an_nb_check_complete("autoencoder: score", x, rows, s->nn.n_features));
    size_t chunks = an_parallel_workers(rows, n_threads, 64);
    batch b = {s, x, scores, an_malloc_array(chunks ? chunks : 1, row_floats(s) * sizeof(float))};
    if (!b.work)
        return an_no_memory();
    an_parallel_for(rows, n_threads, 64, score_range, &b);
    an_free(b.work);
    return ANOMA_OK;
}

static anoma_status ae_save(const void *state, an_writer *w)
{
    const an_ae *s = state;
    if (!s->fitted)
        return an_error(ANOMA_ERR_NOT_FITTED, "autoencoder: not fitted");
    an_put_u32(w, s->epochs);
    an_put_f64(w, s->loss);
    an_nn_payload_write(&s->nn, w);
    return an_writer_status(w);
}

static anoma_status fail(an_reader *r, const char *what)
{
    an_reader_fail(r);
    return an_error(ANOMA_ERR_FORMAT, "autoencoder payload: %s", what);
}

/* The training record; the scaling, weights and graph follow (payload.h). */
static anoma_status read_head(an_ae *s, an_reader *r)
{
    s->epochs = an_get_u32(r);
    s->loss = an_get_f64(r);
    if (r->failed)
        return fail(r, "truncated");
    if (!isnan(s->loss) && !(s->loss >= 0 && isfinite(s->loss)))
        return fail(r, "loss must be finite and >= 0, or NaN (imported)");
    return ANOMA_OK;
}

/* A dense graph: Linear and activation layers back to F features. */
static anoma_status check_graph(an_ae *s, an_reader *r)
{
    for (size_t k = 0; k < s->nn.net.n_layers; k++) {
        an_nn_kind kind = s->nn.net.layers[k].kind;
        if (kind != AN_NN_LINEAR && kind != AN_NN_ACTIVATION)
            return fail(r, "the network must hold only linear and activation layers");
    }
    if (s->nn.net.out_features != s->nn.n_features)
        return fail(r, "the network's output width differs from the input's");
    size_t floats = an_nn_scratch_floats(&s->nn.net, 1);
    if (!floats || floats > MAX_ROW_FLOATS)
        return fail(r, "the network is too large: one row needs more than 64 MB of buffers");
    for (size_t k = 0; k < s->nn.net.n_layers; k++) {
        const an_nn_layer *l = &s->nn.net.layers[k];
        if (l->kind != AN_NN_LINEAR)
            continue;
        for (size_t i = 0; i < l->in * l->out; i++)
            if (!isfinite(l->w_ih[i]))
                return fail(r, "a weight is not finite");
        for (size_t i = 0; i < l->out; i++)
            if (!isfinite(l->b_ih[i]))
                return fail(r, "a bias is not finite");
    }
    return ANOMA_OK;
}

static anoma_status ae_load(void *state, an_reader *r, size_t n_features, uint32_t version)
{
    (void)version; /* only version 1 exists */
    an_ae *s = state;
    an_ae_release(s);
    anoma_status st = read_head(s, r);
    if (st == ANOMA_OK)
        st = an_nn_payload_read(&s->nn, r, n_features, 1, "autoencoder payload");
    if (st == ANOMA_OK)
        st = check_graph(s, r);
    if (st == ANOMA_OK && r->failed)
        st = an_reader_status(r);
    if (st != ANOMA_OK) {
        an_ae_release(s);
        return st;
    }
    s->fitted = 1;
    return ANOMA_OK;
}

static size_t ae_memory_bytes(const void *state)
{
    const an_ae *s = state;
    return sizeof *s + an_nn_payload_memory_bytes(&s->nn);
}

static void ae_describe(const void *state, an_strbuf *out)
{
    const an_ae *s = state;
    if (!s->fitted) {
        an_strbuf_printf(out, "  not fitted\n");
        return;
    }
    an_strbuf_printf(out, "  dense autoencoder on %zu features, score: weighted mean squared "
                     "reconstruction error\n", s->nn.n_features);
    if (s->epochs)
        an_strbuf_printf(out, "  trained here: %u epochs, loss %.6g\n", (unsigned)s->epochs,
                         s->loss);
    else
        an_strbuf_printf(out, "  imported (or epochs=0: untrained)\n");
    an_nn_describe(&s->nn.net, out);
    an_strbuf_printf(out, "  memory: %zu bytes\n", ae_memory_bytes(s));
}

const an_detector_vtable an_autoencoder_detector = {
    .name = "autoencoder",
    .summary = "dense autoencoder on rows (Linear layers and activations), trained here or "
               "imported: weighted mean squared reconstruction error (unsupervised)",
    .params = ae_params,
    .n_params = sizeof ae_params / sizeof *ae_params,
    .flags = ANOMA_FLAG_FEATURE_SCORES | ANOMA_FLAG_COMPLETE_ROWS,
    .payload_version = AN_AE_PAYLOAD_VERSION,
    .create = ae_create,
    .destroy = ae_destroy,
    .fit = ae_fit,
    .scratch_bytes = ae_scratch_bytes,
    .scratch_align = _Alignof(float),
    .score_row = ae_score_row,
    .score_batch = ae_score_batch,
    .feature_scores_row = ae_feature_scores_row,
    .save = ae_save,
    .load = ae_load,
    .memory_bytes = ae_memory_bytes,
    .describe = ae_describe,
};
