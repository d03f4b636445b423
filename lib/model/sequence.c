/* The public batch calls of sequence detectors (anoma/sequence.h): argument
 * checks here, the work in lib/detectors/seq_autoencoder. */
#include "anoma/sequence.h"
#include "core/alloc.h"
#include "core/error.h"
#include "core/matrix.h"
#include "detectors/seq_autoencoder/seq_autoencoder.h"
#include "model/model.h"

static anoma_status find(const anoma_model *m, size_t index, const char *what, const an_seq **s)
{
    if (!m)
        return an_error(ANOMA_ERR_INVALID_ARGUMENT, "%s: NULL model", what);
    if (!m->fitted)
        return an_error(ANOMA_ERR_NOT_FITTED, "%s: the model is not fitted", what);
    const an_model_detector *d = NULL;
    anoma_status st = an_model_detector_at(m, index, AN_USE_ANY, &d);
    if (st != ANOMA_OK)
        return an_error(st, "%s: %s", what, anoma_last_error());
    if (!(*s = an_seq_of(d->vt, d->state)))
        return an_error(ANOMA_ERR_INVALID_ARGUMENT, "%s: detector %zu is '%s', not a sequence "
                        "detector", what, index, d->vt->name);
    if (m->pipeline.n_steps)
        return an_error(ANOMA_ERR_UNSUPPORTED, "%s: the model has pipeline steps; sequence "
                        "scoring reads the series as the network's input", what);
    return ANOMA_OK;
}

static size_t outputs(const an_seq *s) { return s->nn.net.out_steps * s->nn.net.out_features; }

anoma_status anoma_model_sequence_shape(const anoma_model *model, size_t index, size_t *window,
                                        size_t *length, size_t *n_outputs)
{
    const an_seq *s = NULL;
    AN_TRY(find(model, index, "sequence_shape", &s));
    if (window)
        *window = s->window;
    if (length)
        *length = s->length;
    if (n_outputs)
        *n_outputs = outputs(s);
    return ANOMA_OK;
}

anoma_status anoma_model_predict_windows(const anoma_model *model, size_t index,
                                         const double *windows, size_t n_windows, float *out,
                                         size_t cap, size_t *needed)
{
    const an_seq *s = NULL;
    AN_TRY(find(model, index, "predict_windows", &s));
    size_t need;
    if (__builtin_mul_overflow(n_windows, outputs(s), &need))
        return an_error(ANOMA_ERR_INVALID_ARGUMENT, "predict_windows: n_windows %zu too large",
                        n_windows);
    if (needed)
        *needed = need;
    if (cap < need)
        return an_error(ANOMA_ERR_BUFFER_TOO_SMALL, "predict_windows: out holds %zu floats, "
                        "%zu needed", cap, need);
    if (n_windows && (!windows || !out))
        return an_error(ANOMA_ERR_INVALID_ARGUMENT, "predict_windows: NULL windows or out");
    return an_seq_predict(s, windows, n_windows, an_model_n_threads(model), out);
}

anoma_status anoma_model_window_scores(const anoma_model *model, size_t index,
                                       const double *windows, size_t n_windows, double *scores)
{
    const an_seq *s = NULL;
    AN_TRY(find(model, index, "window_scores", &s));
    if (n_windows && (!windows || !scores))
        return an_error(ANOMA_ERR_INVALID_ARGUMENT, "window_scores: NULL windows or scores");
    return an_seq_window_scores(s, windows, n_windows, an_model_n_threads(model), scores);
}

anoma_status anoma_model_series_scores(const anoma_model *model, size_t index,
                                       const anoma_matrix *series, double *scores)
{
    const an_seq *s = NULL;
    AN_TRY(find(model, index, "series_scores", &s));
    AN_TRY(an_matrix_check(series, "series_scores: series"));
    if (series->cols != s->nn.n_features)
        return an_error(ANOMA_ERR_SHAPE, "series_scores: series has %zu columns, the model %zu",
                        series->cols, s->nn.n_features);
    if (series->rows && !scores)
        return an_error(ANOMA_ERR_INVALID_ARGUMENT, "series_scores: NULL scores");
    double *x;
    AN_TRY(an_matrix_to_f64(series, &x));
    anoma_status st = an_seq_series_scores(s, x, series->rows, an_model_n_threads(model), scores);
    an_free(x);
    return st;
}
