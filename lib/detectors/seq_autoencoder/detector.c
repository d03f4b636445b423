/* The "seq_autoencoder" detector: parameters, payload and the vtable.
 *
 * The network is trained elsewhere (PyTorch, Keras) and imported with
 * anoma_model_import_detector(): the payload below is the import format and
 * also what a model file stores. Fitting is refused: this detector has no
 * training of its own yet. It is stateful: in a stream each entity keeps its
 * last `length` points and each new point is scored by the window that ends
 * at it; batch work goes through the sequence calls (anoma/sequence.h). */
#include "detectors/seq_autoencoder/seq_autoencoder.h"
#include "core/alloc.h"
#include "core/error.h"

#include <math.h>
#include <string.h>

/* Bounds of the payload's shape fields. */
enum { MAX_WINDOW = 100000, MAX_HORIZON = 100000 };
/* Buffers one window may need, in floats (128 MB): a few bytes of payload
 * (a long window, a large repeat count) must not make every stream and
 * scorer of the model allocate gigabytes. */
#define MAX_WINDOW_FLOATS ((size_t)1 << 25)

static const anoma_param_info seq_params[] = {
    {"stride", ANOMA_PARAM_INT, 1, 1e9, "1", "",
     "points between the starts of two windows when a whole series is scored"},
    {"point_score", ANOMA_PARAM_CHOICE, 0, 0, "mean", "mean|last",
     "a point's score in a series: mean = mean over the windows covering it; last = the "
     "window that ends at it (what a stream gives)"},
};

static const char *const mode_names[] = {"reconstruction", "forecast", "classification"};

static anoma_status seq_create(const an_params *params, void **out)
{
    an_seq *s = AN_NEW_ZEROED(an_seq, 1);
    if (!s)
        return an_no_memory();
    s->stride = (size_t)an_params_int(params, "stride");
    s->point_last = an_params_is(params, "point_score", "last");
    *out = s;
    return ANOMA_OK;
}

static void release(an_seq *s)
{
    an_nn_payload_release(&s->nn);
    s->fitted = 0;
}

static void seq_destroy(void *state)
{
    if (state)
        release(state);
    an_free(state);
}

static anoma_status seq_fit(void *state, const an_fit_data *data)
{
    (void)state;
    (void)data;
    return an_error(ANOMA_ERR_UNSUPPORTED, "seq_autoencoder: the network is trained elsewhere; "
                    "import it (anoma_model_import_detector, anoma.from_torch)");
}

const an_seq *an_seq_of(const an_detector_vtable *vt, const void *state)
{
    return vt == &an_seq_autoencoder_detector ? state : NULL;
}

/* A stateful detector is never scored row by row (the model refuses it). */
static void seq_score_row(const void *state, const double *row, void *scratch, double *score)
{
    (void)state;
    (void)row;
    (void)scratch;
    *score = NAN;
}

static anoma_status seq_save(const void *state, an_writer *w)
{
    const an_seq *s = state;
    if (!s->fitted)
        return an_error(ANOMA_ERR_NOT_FITTED, "seq_autoencoder: not imported");
    an_put_u32(w, (uint32_t)s->mode);
    an_put_u32(w, (uint32_t)s->window);
    an_put_u32(w, (uint32_t)s->horizon);
    an_nn_payload_write(&s->nn, w);
    return ANOMA_OK;
}

static anoma_status fail(an_reader *r, const char *fmt, const char *detail)
{
    an_reader_fail(r);
    return an_error(ANOMA_ERR_FORMAT, "seq_autoencoder payload: %s%s", fmt, detail);
}

/* The header; the scaling, weights and graph follow (payload.h). */
static anoma_status read_head(an_seq *s, an_reader *r)
{
    uint32_t mode = an_get_u32(r), window = an_get_u32(r), horizon = an_get_u32(r);
    if (r->failed)
        return fail(r, "truncated", "");
    if (mode > AN_SEQ_CLASSIFICATION)
        return fail(r, "mode must be 0 (reconstruction), 1 (forecast) or 2 (classification)", "");
    if (window == 0 || window > MAX_WINDOW)
        return fail(r, "window out of range [1, 100000]", "");
    if (mode == AN_SEQ_FORECAST ? horizon == 0 || horizon > MAX_HORIZON : horizon != 0)
        return fail(r, "horizon must be in [1, 100000] for a forecast, 0 otherwise", "");
    s->mode = (an_seq_mode)mode;
    s->window = window;
    s->horizon = horizon;
    s->length = (size_t)window + horizon;
    return ANOMA_OK;
}

/* The graph's output against the mode. */
static anoma_status check_output(an_seq *s, an_reader *r)
{
    size_t steps = s->nn.net.out_steps, width = s->nn.net.out_features, f = s->nn.n_features;
    int ok = s->mode == AN_SEQ_RECONSTRUCTION ? steps == s->window && width == f
             : s->mode == AN_SEQ_FORECAST     ? steps * width == s->horizon * f
                                              : steps * width == 1;
    if (!ok)
        return fail(r, "the network's output does not fit the mode: ", mode_names[s->mode]);
    size_t floats = an_nn_scratch_floats(&s->nn.net, 1);
    if (!floats || floats > MAX_WINDOW_FLOATS)
        return fail(r, "the network is too large: one window needs more than 128 MB of buffers",
                    "");
    return ANOMA_OK;
}

static anoma_status seq_load(void *state, an_reader *r, size_t n_features, uint32_t version)
{
    (void)version; /* only version 1 exists */
    an_seq *s = state;
    release(s);
    anoma_status st = read_head(s, r);
    if (st == ANOMA_OK)
        st = an_nn_payload_read(&s->nn, r, n_features, s->window, "seq_autoencoder payload");
    if (st == ANOMA_OK)
        st = check_output(s, r);
    if (st == ANOMA_OK && r->failed)
        st = an_reader_status(r);
    if (st != ANOMA_OK) {
        release(s);
        return st;
    }
    s->fitted = 1;
    return ANOMA_OK;
}

static size_t seq_memory_bytes(const void *state)
{
    const an_seq *s = state;
    return sizeof *s + an_nn_payload_memory_bytes(&s->nn);
}

static void seq_describe(const void *state, an_strbuf *out)
{
    const an_seq *s = state;
    if (!s->fitted) {
        an_strbuf_printf(out, "  not imported\n");
        return;
    }
    an_strbuf_printf(out, "  mode: %s, window: %zu", mode_names[s->mode], s->window);
    if (s->mode == AN_SEQ_FORECAST)
        an_strbuf_printf(out, ", horizon: %zu", s->horizon);
    an_strbuf_printf(out, ", features: %zu\n", s->nn.n_features);
    an_nn_describe(&s->nn.net, out);
    an_strbuf_printf(out, "  memory: %zu bytes\n", seq_memory_bytes(s));
}

/* A classifier's probability has the natural threshold 0.5; errors have none. */
static anoma_status seq_auto_threshold(const an_params *params, double *threshold)
{
    (void)params;
    (void)threshold;
    return an_error(ANOMA_ERR_PARAM_VALUE, "seq_autoencoder: a reconstruction or forecast "
                    "error has no natural threshold: set the model's threshold");
}

/* ---- the stream's state: the entity's last `length` points ----
 * u64 points seen, then a ring of length x F doubles (point i at i % length). */

static size_t seq_entity_bytes(const void *state)
{
    const an_seq *s = state;
    return sizeof(uint64_t) + s->length * s->nn.n_features * sizeof(double);
}

static void seq_entity_init(const void *state, void *entity)
{
    (void)state;
    memset(entity, 0, sizeof(uint64_t));
}

static void seq_entity_update_score(const void *state, void *entity, const double *row,
                                    void *scratch, double *score)
{
    const an_seq *s = state;
    size_t f = s->nn.n_features, len = s->length;
    uint64_t seen;
    memcpy(&seen, entity, sizeof seen);
    double *ring = (double *)((unsigned char *)entity + sizeof(uint64_t));
    memcpy(ring + (seen % len) * f, row, f * sizeof *row);
    seen++;
    memcpy(entity, &seen, sizeof seen);
    if (seen < len) { /* not ready: fewer points than a window */
        *score = NAN;
        return;
    }
    /* the window in order, oldest first, after the scratch's float part */
    size_t floats = an_seq_window_floats(s);
    double *window = (double *)((unsigned char *)scratch + an_align_up(floats * sizeof(float), 8));
    size_t start = seen % len;
    memcpy(window, ring + start * f, (len - start) * f * sizeof *window);
    memcpy(window + (len - start) * f, ring, start * f * sizeof *window);
    *score = an_seq_score_one(s, window, scratch);
}

static anoma_status seq_entity_save(const void *state, const void *entity, an_writer *w)
{
    const an_seq *s = state;
    uint64_t seen;
    memcpy(&seen, entity, sizeof seen);
    an_put_u64(w, seen);
    an_put_f64_array(w, (const double *)((const unsigned char *)entity + sizeof seen),
                     s->length * s->nn.n_features);
    return ANOMA_OK;
}

static anoma_status seq_entity_restore(const void *state, void *entity, an_reader *r)
{
    const an_seq *s = state;
    uint64_t seen = an_get_u64(r);
    double *ring = (double *)((unsigned char *)entity + sizeof seen);
    an_get_f64_array(r, ring, s->length * s->nn.n_features);
    if (r->failed) {
        seq_entity_init(state, entity);
        return an_reader_status(r);
    }
    memcpy(entity, &seen, sizeof seen);
    return ANOMA_OK;
}

/* The stream gives update_score one scratch block: the single-window floats
 * and, after them, the window as doubles. */
static size_t seq_stream_scratch_bytes(const void *state)
{
    const an_seq *s = state;
    if (!s->fitted)
        return 0;
    return an_align_up(an_seq_window_floats(s) * sizeof(float), 8) +
           s->length * s->nn.n_features * sizeof(double);
}

const an_detector_vtable an_seq_autoencoder_detector = {
    .name = "seq_autoencoder",
    .summary = "recurrent network (LSTM, GRU, RNN) on windows of a series, imported: "
               "reconstruction or forecast error, or a classifier's probability",
    .params = seq_params,
    .n_params = sizeof seq_params / sizeof *seq_params,
    .flags = ANOMA_FLAG_STATEFUL,
    .payload_version = AN_SEQ_PAYLOAD_VERSION,
    .create = seq_create,
    .destroy = seq_destroy,
    .fit = seq_fit,
    .scratch_bytes = seq_stream_scratch_bytes,
    .scratch_align = AN_MAX_ALIGN,
    .score_row = seq_score_row,
    .save = seq_save,
    .load = seq_load,
    .memory_bytes = seq_memory_bytes,
    .describe = seq_describe,
    .auto_threshold = seq_auto_threshold,
    .entity_bytes = seq_entity_bytes,
    .entity_align = 8,
    .entity_init = seq_entity_init,
    .entity_update_score = seq_entity_update_score,
    .entity_save = seq_entity_save,
    .entity_restore = seq_entity_restore,
};
