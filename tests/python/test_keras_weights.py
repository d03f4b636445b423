"""from_keras_weights: Keras layouts converted at import, checked against an
independent NumPy implementation of Keras's own equations on Keras's
layouts (no TensorFlow needed)."""
import numpy as np
import pytest

import anoma
from anoma.keras import from_keras_weights


def sig(v):
    return 1 / (1 + np.exp(-v))


def keras_lstm(x, kernel, recurrent, bias, return_sequences):
    """keras.layers.LSTM: gates i, f, c, o along the last axis of the kernels."""
    u = recurrent.shape[0]
    h = c = np.zeros((x.shape[0], u))
    out = []
    for t in range(x.shape[1]):
        z = x[:, t] @ kernel + h @ recurrent + bias
        i, f, g, o = sig(z[:, :u]), sig(z[:, u:2 * u]), np.tanh(z[:, 2 * u:3 * u]), sig(z[:, 3 * u:])
        c = f * c + i * g
        h = o * np.tanh(c)
        out.append(h)
    return np.stack(out, 1) if return_sequences else h


def keras_gru(x, kernel, recurrent, bias, reset_after, return_sequences):
    """keras.layers.GRU: gates z, r, h; reset_after applies the reset to the
    recurrent product (with its own bias), else to h before it."""
    u = recurrent.shape[0]
    h = np.zeros((x.shape[0], u))
    out = []
    for t in range(x.shape[1]):
        if reset_after:
            mx = x[:, t] @ kernel + bias[0]
            mh = h @ recurrent + bias[1]
            z = sig(mx[:, :u] + mh[:, :u])
            r = sig(mx[:, u:2 * u] + mh[:, u:2 * u])
            hh = np.tanh(mx[:, 2 * u:] + r * mh[:, 2 * u:])
        else:
            mx = x[:, t] @ kernel + bias
            z = sig(mx[:, :u] + h @ recurrent[:, :u])
            r = sig(mx[:, u:2 * u] + h @ recurrent[:, u:2 * u])
            hh = np.tanh(mx[:, 2 * u:] + (r * h) @ recurrent[:, 2 * u:])
        h = z * h + (1 - z) * hh
        out.append(h)
    return np.stack(out, 1) if return_sequences else h


def keras_rnn(x, kernel, recurrent, bias, return_sequences):
    h = np.zeros((x.shape[0], recurrent.shape[0]))
    out = []
    for t in range(x.shape[1]):
        h = np.tanh(x[:, t] @ kernel + h @ recurrent + bias)
        out.append(h)
    return np.stack(out, 1) if return_sequences else h


def weights(rng, *shapes):
    # float32 values, as Keras holds them, so both sides start from the same numbers
    return [rng.normal(scale=0.4, size=s).astype(np.float32).astype(np.float64) for s in shapes]


F, T, U = 3, 12, 16


def test_lstm_autoencoder():
    rng = np.random.default_rng(0)
    enc = weights(rng, (F, 4 * U), (U, 4 * U), (4 * U,))
    dec = weights(rng, (U, 4 * U), (U, 4 * U), (4 * U,))
    dense = weights(rng, (U, F), (F,))
    layers = [{"type": "LSTM", "weights": enc},
              {"type": "RepeatVector", "n": T},
              {"type": "LSTM", "weights": dec, "return_sequences": True},
              {"type": "TimeDistributed", "weights": dense}]
    seq = from_keras_weights(layers, window=T, n_features=F)
    X = rng.normal(size=(20, T, F)).astype(np.float32).astype(np.float64)
    h = keras_lstm(X, *enc, False)
    y = keras_lstm(np.repeat(h[:, None], T, 1), *dec, True) @ dense[0] + dense[1]
    np.testing.assert_allclose(seq.predict_windows(X), y, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(seq.window_scores(X), ((X - y) ** 2).mean(axis=(1, 2)),
                               rtol=1e-4, atol=1e-7)


@pytest.mark.parametrize("reset_after", [True, False])
def test_gru_classifier(reset_after):
    rng = np.random.default_rng(1)
    bias_shape = (2, 3 * U) if reset_after else (3 * U,)
    gru = weights(rng, (F, 3 * U), (U, 3 * U), bias_shape)
    gru2 = weights(rng, (U, 3 * U), (U, 3 * U), bias_shape)
    dense = weights(rng, (U, 1), (1,))
    layers = [{"type": "GRU", "weights": gru, "reset_after": reset_after,
               "return_sequences": True},
              {"type": "GRU", "weights": gru2, "reset_after": reset_after},
              {"type": "Dense", "weights": dense, "activation": "sigmoid"}]
    seq = from_keras_weights(layers, window=T, n_features=F, mode="classification")
    X = rng.normal(size=(30, T, F))
    h = keras_gru(keras_gru(X, *gru, reset_after, True), *gru2, reset_after, False)
    p = sig(h @ dense[0] + dense[1])
    np.testing.assert_allclose(seq.predict_windows(X), p, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(seq.window_scores(X), p[:, 0], rtol=1e-5, atol=1e-6)


def test_simple_rnn_forecaster():
    rng = np.random.default_rng(2)
    rnn = weights(rng, (F, U), (U, U), (U,))
    dense = weights(rng, (U, 2 * F), (2 * F,))
    layers = [{"type": "SimpleRNN", "weights": rnn},
              {"type": "Dense", "weights": dense}]
    seq = from_keras_weights(layers, window=T, n_features=F, mode="forecast", horizon=2)
    X = rng.normal(size=(10, T + 2, F))
    y = (keras_rnn(X[:, :T], *rnn, False) @ dense[0] + dense[1]).reshape(10, 2, F)
    np.testing.assert_allclose(seq.predict_windows(X[:, :T]), y, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(seq.window_scores(X), ((X[:, T:] - y) ** 2).mean(axis=(1, 2)),
                               rtol=1e-4, atol=1e-7)


def test_bad_keras_layers_refused():
    rng = np.random.default_rng(3)
    lstm = weights(rng, (F, 4 * U), (U, 4 * U), (4 * U,))
    with pytest.raises(ValueError, match="layer 0 \\(LSTM\\): kernel"):
        from_keras_weights([{"type": "LSTM", "weights": lstm}], window=T, n_features=F + 1)
    with pytest.raises(ValueError, match="recurrent_activation 'hard_sigmoid'"):
        from_keras_weights([{"type": "LSTM", "weights": lstm,
                             "recurrent_activation": "hard_sigmoid"}], window=T, n_features=F)
    gru = weights(rng, (F, 3 * U), (U, 3 * U), (3 * U,))
    with pytest.raises(ValueError, match="reset_after=True expects bias"):
        from_keras_weights([{"type": "GRU", "weights": gru}], window=T, n_features=F)
    with pytest.raises(ValueError, match="unsupported layer type"):
        from_keras_weights([{"type": "Conv1D", "weights": []}], window=T, n_features=F)
    # the graph's output must fit the mode
    with pytest.raises(anoma.AnomaError, match="does not fit the mode"):
        from_keras_weights([{"type": "LSTM", "weights": lstm}], window=T, n_features=F)
