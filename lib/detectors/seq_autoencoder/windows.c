/* Windows in, scores out: scaling into the network's float32 input, the
 * score of each mode, and the per-point scores of a whole series. */
#include "detectors/seq_autoencoder/seq_autoencoder.h"
#include "core/alloc.h"
#include "core/error.h"

#include <math.h>
#include <string.h>

/* Windows per forward call when scoring many: about 16 MB of input. */
enum { CHUNK_FLOATS = 1 << 22 };

static size_t out_size(const an_seq *s) { return s->nn.net.out_steps * s->nn.net.out_features; }

size_t an_seq_window_floats(const an_seq *s)
{
    return s->window * s->nn.n_features + out_size(s) + an_nn_scratch_floats(&s->nn.net, 1);
}

/* The network input of the window starting at x (T points of F values). */
static int window_input(const an_seq *s, const double *x, float *in)
{
    size_t n = s->window * s->nn.n_features, f = s->nn.n_features;
    for (size_t i = 0; i < n; i++) {
        double v = (x[i] - s->nn.center[i % f]) / s->nn.scale[i % f];
        if (!isfinite(v))
            return 0;
        in[i] = (float)v;
    }
    return 1;
}

double an_seq_window_score(const an_seq *s, const double *window, const float *out)
{
    if (s->mode == AN_SEQ_CLASSIFICATION)
        return out[0];
    size_t f = s->nn.n_features;
    /* the points compared: the window itself, or the `horizon` after its
     * first T */
    size_t points = s->mode == AN_SEQ_FORECAST ? s->horizon : s->window;
    const double *target = s->mode == AN_SEQ_FORECAST ? window + s->window * f : window;
    double sum = 0;
    for (size_t t = 0; t < points; t++)
        for (size_t j = 0; j < f; j++) {
            double v = (target[t * f + j] - s->nn.center[j]) / s->nn.scale[j];
            double e = v - (double)out[t * f + j];
            sum += s->nn.weights[j] * e * e;
        }
    return sum / (s->nn.weight_total * (double)points);
}

double an_seq_score_one(const an_seq *s, const double *window, float *scratch)
{
    float *in = scratch, *out = in + s->window * s->nn.n_features, *work = out + out_size(s);
    if (!window_input(s, window, in))
        return NAN;
    /* a forecast target must be known too */
    if (s->mode == AN_SEQ_FORECAST)
        for (size_t i = s->window * s->nn.n_features; i < s->length * s->nn.n_features; i++)
            if (!isfinite(window[i]))
                return NAN;
    an_nn_forward_block(&s->nn.net, in, 1, out, work);
    return an_seq_window_score(s, window, out);
}

/* Scores of n windows, window i at x + i * step points; in chunks so that
 * a long series needs bounded memory. */
static anoma_status score_windows(const an_seq *s, const double *x, size_t n, size_t step,
                                  size_t n_threads, double *scores)
{
    size_t f = s->nn.n_features, in_size = s->window * f, os = out_size(s);
    size_t chunk = CHUNK_FLOATS / (in_size + os);
    if (chunk == 0)
        chunk = 1;
    if (chunk > n)
        chunk = n;
    float *in = AN_NEW_ARRAY(float, chunk * in_size), *out = AN_NEW_ARRAY(float, chunk * os);
    unsigned char *valid = AN_NEW_ARRAY(unsigned char, chunk);
    anoma_status st = in && out && valid ? ANOMA_OK : an_no_memory();
    for (size_t first = 0; first < n && st == ANOMA_OK; first += chunk) {
        size_t m = n - first < chunk ? n - first : chunk;
        for (size_t i = 0; i < m; i++) {
            const double *w = x + (first + i) * step * f;
            valid[i] = (unsigned char)window_input(s, w, in + i * in_size);
            if (s->mode == AN_SEQ_FORECAST)
                for (size_t k = in_size; k < s->length * f && valid[i]; k++)
                    valid[i] = isfinite(w[k]) != 0;
            if (!valid[i])
                memset(in + i * in_size, 0, in_size * sizeof *in);
        }
        st = an_nn_forward(&s->nn.net, in, m, n_threads, out);
        for (size_t i = 0; i < m && st == ANOMA_OK; i++)
            scores[first + i] = valid[i] ? an_seq_window_score(s, x + (first + i) * step * f,
                                                               out + i * os)
                                         : NAN;
    }
    an_free(in);
    an_free(out);
    an_free(valid);
    return st;
}

anoma_status an_seq_predict(const an_seq *s, const double *windows, size_t n, size_t n_threads,
                            float *out)
{
    size_t in_size = s->window * s->nn.n_features;
    float *in = AN_NEW_ARRAY(float, n * in_size);
    if (!in && n)
        return an_no_memory();
    for (size_t i = 0; i < n; i++)
        if (!window_input(s, windows + i * in_size, in + i * in_size)) {
            an_free(in);
            return an_error(ANOMA_ERR_NONFINITE, "predict_windows: window %zu has a missing or "
                            "infinite value", i);
        }
    anoma_status st = an_nn_forward(&s->nn.net, in, n, n_threads, out);
    an_free(in);
    return st;
}

anoma_status an_seq_window_scores(const an_seq *s, const double *windows, size_t n,
                                  size_t n_threads, double *scores)
{
    return n ? score_windows(s, windows, n, s->length, n_threads, scores) : ANOMA_OK;
}

anoma_status an_seq_series_scores(const an_seq *s, const double *x, size_t rows,
                                  size_t n_threads, double *scores)
{
    size_t len = s->length, stride = s->point_last ? 1 : s->stride;
    for (size_t i = 0; i < rows; i++)
        scores[i] = NAN;
    if (rows < len)
        return ANOMA_OK;
    size_t n = (rows - len) / stride + 1;
    double *ws = AN_NEW_ARRAY(double, n);
    if (!ws)
        return an_no_memory();
    anoma_status st = score_windows(s, x, n, stride, n_threads, ws);
    if (st == ANOMA_OK && s->point_last) { /* the window that ends at the point */
        for (size_t i = 0; i < n; i++)
            scores[i + len - 1] = ws[i];
    } else if (st == ANOMA_OK) { /* the mean over the windows covering the point */
        double *count = AN_NEW_ZEROED(double, rows);
        if (!count)
            st = an_no_memory();
        for (size_t i = 0; i < rows && count; i++)
            scores[i] = 0;
        for (size_t i = 0; i < n && count; i++)
            if (!isnan(ws[i]))
                for (size_t t = i * stride; t < i * stride + len; t++) {
                    scores[t] += ws[i];
                    count[t] += 1;
                }
        for (size_t i = 0; i < rows && count; i++)
            scores[i] = count[i] > 0 ? scores[i] / count[i] : NAN;
        an_free(count);
    }
    an_free(ws);
    return st;
}
