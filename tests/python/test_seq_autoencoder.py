"""seq_autoencoder: recurrent networks from PyTorch run in C.

References: the PyTorch modules themselves (torch computes the outputs) and
NumPy for the scores built on them; the streaming scores against the batch
scores of the same windows."""
import os
import struct
import subprocess

import numpy as np
import pytest

import anoma

torch = pytest.importorskip("torch")
at = pytest.importorskip("anoma.torch")

MODULES = {
    ("reconstruction", "lstm"): at.LSTMAutoencoder, ("reconstruction", "gru"): at.GRUAutoencoder,
    ("reconstruction", "rnn"): at.RNNAutoencoder, ("forecast", "lstm"): at.LSTMForecaster,
    ("forecast", "gru"): at.GRUForecaster, ("forecast", "rnn"): at.RNNForecaster,
    ("classification", "lstm"): at.LSTMClassifier, ("classification", "gru"): at.GRUClassifier,
    ("classification", "rnn"): at.RNNClassifier,
}

# A grid covering every value of each axis (cell, mode, layers, hidden,
# window, batch) without the full product: each (mode, cell) pair once.
GRID = [
    # mode, cell, layers, hidden, window, batch
    ("reconstruction", "lstm", 1, 8, 16, 256),
    ("reconstruction", "gru", 2, 32, 64, 1),
    ("reconstruction", "rnn", 1, 128, 1, 256),
    ("forecast", "lstm", 2, 128, 64, 256),
    ("forecast", "gru", 1, 8, 1, 1),
    ("forecast", "rnn", 2, 32, 16, 256),
    ("classification", "lstm", 1, 32, 1, 1),
    ("classification", "gru", 2, 128, 16, 256),
    ("classification", "rnn", 2, 8, 64, 1),
    ("reconstruction", "lstm", 2, 128, 64, 1),
    ("reconstruction", "gru", 1, 8, 16, 1),
]


def make(mode, cell, layers, hidden, n_features=3, horizon=1, seed=0):
    torch.manual_seed(seed)
    cls = MODULES[(mode, cell)]
    if mode == "forecast":
        return cls(n_features, hidden, layers, horizon=horizon).eval()
    return cls(n_features, hidden, layers).eval()


def run_torch(module, W):
    with torch.no_grad():
        return module(torch.from_numpy(np.ascontiguousarray(W, dtype=np.float32))).numpy()


@pytest.mark.parametrize("mode,cell,layers,hidden,window,batch", GRID)
def test_outputs_and_scores_equal_torch(mode, cell, layers, hidden, window, batch):
    rng = np.random.default_rng(hidden + window + batch)
    horizon = 2 if mode == "forecast" else 0
    module = make(mode, cell, layers, hidden, horizon=max(horizon, 1))
    seq = anoma.from_torch(module, window=window)
    W = rng.normal(size=(batch, window + horizon, 3)).astype(np.float32)
    ref = run_torch(module, W[:, :window])
    out = seq.predict_windows(W[:, :window])
    assert out.shape == ref.shape
    np.testing.assert_allclose(out, ref, rtol=1e-5, atol=1e-5)
    # the window scores, from torch's outputs with NumPy
    if mode == "reconstruction":
        expect = np.mean((W.astype(np.float64) - ref) ** 2, axis=(1, 2))
    elif mode == "forecast":
        expect = np.mean((W[:, window:].astype(np.float64) - ref) ** 2, axis=(1, 2))
    else:
        expect = ref[:, 0].astype(np.float64)
    np.testing.assert_allclose(seq.window_scores(W), expect, rtol=1e-4, atol=1e-6)


def test_scaler_and_feature_weights():
    from sklearn.preprocessing import MinMaxScaler, StandardScaler
    rng = np.random.default_rng(1)
    series = rng.normal(loc=[10, -5, 100], scale=[2, 0.5, 30], size=(200, 3))
    module = make("reconstruction", "lstm", 1, 16)
    W = np.lib.stride_tricks.sliding_window_view(series, (16, 3))[:, 0]
    weights = np.array([1.0, 3.0, 0.0])
    for scaler in (StandardScaler().fit(series), MinMaxScaler().fit(series)):
        seq = anoma.from_torch(module, window=16, scaler=scaler, feature_weights=weights)
        scaled = scaler.transform(series.reshape(-1, 3)).reshape(series.shape)
        Ws = np.lib.stride_tricks.sliding_window_view(scaled, (16, 3))[:, 0]
        ref = run_torch(module, Ws)
        np.testing.assert_allclose(seq.predict_windows(W), ref, rtol=1e-5, atol=1e-5)
        err = (Ws - ref) ** 2 * weights / weights.sum()
        np.testing.assert_allclose(seq.window_scores(W), err.sum(axis=2).mean(axis=1),
                                   rtol=1e-4, atol=1e-7)


def sliding(series, length, stride=1):
    return np.lib.stride_tricks.sliding_window_view(series, (length, series.shape[1]))[::stride, 0]


@pytest.mark.parametrize("mode", ["reconstruction", "forecast"])
def test_series_scores(mode):
    rng = np.random.default_rng(2)
    series = rng.normal(size=(101, 3))
    series[40:43] += 4
    window = 8
    module = make(mode, "gru", 1, 16)
    length = window + (mode == "forecast")
    for stride in (1, 3):
        seq = anoma.from_torch(module, window=window, stride=stride)
        ws = seq.window_scores(sliding(series, length, stride))
        # mean over the windows covering each point, by hand
        total, count = np.zeros(len(series)), np.zeros(len(series))
        for i, s in enumerate(ws):
            total[i * stride:i * stride + length] += s
            count[i * stride:i * stride + length] += 1
        expect = np.where(count > 0, total / np.maximum(count, 1), np.nan)
        np.testing.assert_allclose(seq.anomaly_score(series), expect, rtol=1e-12)
    last = anoma.from_torch(module, window=window, point_score="last").anomaly_score(series)
    assert np.isnan(last[:length - 1]).all()
    np.testing.assert_allclose(last[length - 1:], seq.window_scores(sliding(series, length)),
                               rtol=1e-12)


def test_missing_values_make_nan_windows():
    module = make("reconstruction", "lstm", 1, 8)
    seq = anoma.from_torch(module, window=4)
    series = np.random.default_rng(3).normal(size=(20, 3))
    series[10, 1] = np.nan
    ws = seq.window_scores(sliding(series, 4))
    assert np.isnan(ws[7:11]).all() and np.isfinite(ws[:7]).all() and np.isfinite(ws[11:]).all()
    with pytest.raises(anoma.NonFiniteError, match="window 7"):
        seq.predict_windows(sliding(series, 4))


@pytest.mark.parametrize("mode", ["reconstruction", "forecast", "classification"])
def test_stream_equals_batch_across_save_restore(mode):
    rng = np.random.default_rng(4)
    a, b = rng.normal(size=(60, 3)), rng.normal(size=(60, 3))
    module = make(mode, "lstm", 2, 16)
    seq = anoma.from_torch(module, window=10, point_score="last")
    expect_a, expect_b = seq.anomaly_score(a), seq.anomaly_score(b)
    stream = anoma.Stream(seq.model)
    got_a, got_b = [], []
    for i in range(60):
        if i == 30:  # a restart: the state goes to bytes and comes back
            stream = anoma.Stream.from_bytes(seq.model, stream.to_bytes())
        got_a.append(stream.push("a", a[i]).score)
        got_b.append(stream.push("b", b[i]).score)
    length = 10 + (mode == "forecast")
    for got, expect in ((got_a, expect_a), (got_b, expect_b)):
        got = np.array(got)
        assert np.isnan(got[:length - 1]).all()
        np.testing.assert_allclose(got[length - 1:], expect[length - 1:], rtol=1e-5, atol=1e-7)


def test_save_load_and_inspect(tmp_path):
    module = make("forecast", "rnn", 2, 8, horizon=3)
    seq = anoma.from_torch(module, window=5, threshold=0.25)
    path = str(tmp_path / "net.anoma")
    seq.save(path)
    back = anoma.SequenceModel.load(path)
    assert (back.window, back.length, back.n_outputs) == (5, 8, 9)
    W = np.random.default_rng(5).normal(size=(7, 5, 3))
    np.testing.assert_array_equal(back.predict_windows(W), seq.predict_windows(W))
    text = back.describe()
    assert "mode: forecast, window: 5, horizon: 3" in text
    # rnn 3 -> 8: 8*3 + 8*8 + 16; rnn 8 -> 8: 64 + 64 + 16; linear 8 -> 9: 72 + 9
    assert "%d parameters" % (104 + 144 + 81) in text
    assert "0: rnn 3 -> 8, all steps" in text and "1: rnn 8 -> 8, last state" in text
    cli = os.environ.get("ANOMA_CLI")
    if cli:  # `anoma inspect` prints the same graph
        out = subprocess.run([cli, "inspect", path], capture_output=True, text=True, check=True)
        assert "%d parameters" % (104 + 144 + 81) in out.stdout
        assert "2: linear 8 -> 9 per step" in out.stdout


def test_batch_scoring_of_model_refused():
    seq = anoma.from_torch(make("reconstruction", "gru", 1, 8), window=4)
    with pytest.raises(anoma.AnomaError, match="stateful"):
        seq.model.score(np.zeros((10, 3)))


def test_cli_score_reads_a_series(tmp_path):
    """`anoma score` on a one-sequence-detector model: the file as one
    series, each row's score the mean of its covering windows (computed here
    from window_scores), NaN (not flagged) before any window covers it at
    point_score=last; the old tool refused the model."""
    cli = os.environ.get("ANOMA_CLI")
    if not cli:
        pytest.skip("ANOMA_CLI is not set")
    rng = np.random.default_rng(11)
    series = rng.normal(size=(60, 3))
    series[30] += 5
    path = tmp_path / "series.csv"
    np.savetxt(path, series, delimiter=",", header="a,b,c", comments="", fmt="%.17g")
    for rule in ("mean", "last"):
        seq = anoma.from_torch(make("reconstruction", "lstm", 1, 8), window=6, point_score=rule)
        ws = seq.window_scores(sliding(series, 6))
        expect = np.full(len(series), np.nan)
        if rule == "mean":
            expect = np.array([ws[max(0, i - 5):i + 1].mean() for i in range(len(series))])
        else:
            expect[5:] = ws
        seq.model.threshold = float(np.nanmedian(expect))
        seq.save(str(tmp_path / "m.anoma"))
        out = subprocess.run([cli, "score", str(tmp_path / "m.anoma"), str(path)],
                             capture_output=True, text=True, check=True).stdout.splitlines()
        assert out[0] == "score,is_anomaly"
        got = np.array([float(line.split(",")[0]) for line in out[1:]])
        flags = np.array([int(line.split(",")[1]) for line in out[1:]])
        np.testing.assert_allclose(got, expect, rtol=1e-12)
        np.testing.assert_array_equal(flags, expect > seq.model.threshold)


def payload_of(module, window):
    graph = module.anoma_graph(window)
    return graph, anoma.sequence.sequence_payload(graph["mode"], window, graph["n_features"],
                                                  graph["layers"], horizon=graph.get("horizon", 0))


def import_payload(data, n_features=3):
    return anoma.Model("threshold=1", detectors=()).import_detector("seq_autoencoder", data,
                                                                     n_features)


MESSAGES = {
    "truncated": "truncated", "mode": "mode must be", "window": "window out of range",
    "horizon": "horizon must be", "scale": "scale finite and > 0",
    "layer count": "layer count out of range", "kind": "layer 0: unknown layer kind",
    "input width": "layer 0: input width", "output width": "layer 0: output width out of range",
}


def test_malformed_payloads_refused():
    module = make("reconstruction", "lstm", 1, 4)
    graph, good = payload_of(module, 6)
    import_payload(good)
    head = 12 + 3 * 3 * 8  # mode, window, horizon; center, scale, weights
    cases = {
        "truncated": good[:-3],
        "mode": struct.pack("<I", 7) + good[4:],
        "window": good[:4] + struct.pack("<I", 0) + good[8:],
        "horizon": good[:8] + struct.pack("<I", 2) + good[12:],
        "scale": good[:12 + 24] + struct.pack("<d", 0.0) + good[12 + 32:],
        "layer count": good[:head] + struct.pack("<Q", 1 << 40) + good[head + 8:],
        "kind": good[:head + 8] + struct.pack("<I", 99) + good[head + 12:],
        "input width": good[:head + 12] + struct.pack("<I", 5) + good[head + 16:],
        "output width": good[:head + 16] + struct.pack("<I", 1 << 30) + good[head + 20:],
    }
    for what, data in cases.items():
        with pytest.raises(anoma.AnomaError, match=MESSAGES[what]):
            import_payload(data)
    # a graph whose output does not fit the mode: an autoencoder without its
    # output layer gives hidden-width steps
    layers = graph["layers"][:-1]
    bad = anoma.sequence.sequence_payload("reconstruction", 6, 3, layers)
    with pytest.raises(anoma.AnomaError, match="does not fit the mode"):
        import_payload(bad)
    # repeat after a layer that returns all steps
    layers = [dict(graph["layers"][0], sequences=True)] + graph["layers"][1:]
    with pytest.raises(anoma.AnomaError, match="repeat takes one step"):
        import_payload(anoma.sequence.sequence_payload("reconstruction", 6, 3, layers))
    # width of the series differs from the network's input
    wide = anoma.sequence.sequence_payload("reconstruction", 6, 4, graph["layers"])
    with pytest.raises(anoma.AnomaError, match="layer 0: input width"):
        import_payload(wide, n_features=4)


def test_save_writes_back_the_imported_weights():
    """A reload saves the same bytes: the feature weights are kept as
    imported (normalising them at load changed their last bits on each
    save and reload)."""
    module = make("reconstruction", "gru", 1, 4)
    rng = np.random.default_rng(6)
    for _ in range(20):
        weights = rng.uniform(0.01, 10, size=3)
        seq = anoma.from_torch(module, window=3, feature_weights=weights)
        first = seq.model.to_bytes()
        assert anoma.Model.from_bytes(first).to_bytes() == first


def test_stream_moves_to_retrained_weights():
    """Other weights, the same window and columns: the entities' windows move
    to the new network (anoma_stream_fingerprint is equal) and score as its
    batch scores of the whole series; another window length refuses them."""
    rng = np.random.default_rng(5)
    a = rng.normal(size=(40, 3))
    old = anoma.from_torch(make("reconstruction", "gru", 1, 8, seed=0), window=6,
                           point_score="last")
    new = anoma.from_torch(make("reconstruction", "gru", 1, 8, seed=1), window=6,
                           point_score="last")
    expect = new.anomaly_score(a)
    assert not np.allclose(expect[5:], old.anomaly_score(a)[5:])
    stream = anoma.Stream(old.model)
    for i in range(20):
        stream.push("a", a[i])
    moved = anoma.Stream.from_bytes(new.model, stream.to_bytes())
    got = [moved.push("a", a[i]).score for i in range(20, 40)]
    np.testing.assert_allclose(got, expect[20:], rtol=1e-5, atol=1e-7)
    longer = anoma.from_torch(make("reconstruction", "gru", 1, 8, seed=1), window=7)
    with pytest.raises(anoma.InvalidArgumentError, match="another model"):
        anoma.Stream.from_bytes(longer.model, stream.to_bytes())
