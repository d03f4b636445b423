"""autoencoder: dense networks on rows, imported from PyTorch and run in C.

References: the PyTorch modules themselves (torch computes the
reconstructions) and NumPy for the scores built on them."""
import os
import struct
import subprocess

import numpy as np
import pytest

import anoma

torch = pytest.importorskip("torch")
at = pytest.importorskip("anoma.torch")


def run_torch(module, Z):
    with torch.no_grad():
        return module(torch.from_numpy(np.ascontiguousarray(Z, dtype=np.float32))).numpy()


def reference_terms(module, X, center, scale, weights):
    """Each feature's w_j (z_j - y_j)^2 / sum w, z the scaled row (float32,
    as the network reads it) and y torch's reconstruction."""
    Z = ((X - center) / scale).astype(np.float32)
    Y = run_torch(module, Z)
    e = Z.astype(np.float64) - Y.astype(np.float64)
    return weights * e * e / weights.sum()


@pytest.mark.parametrize("hidden,activation", [((64, 16, 64), "relu"), ((8,), "tanh"),
                                               ((32, 4, 32), "sigmoid"), ((5, 3), "identity")])
def test_scores_equal_torch(hidden, activation):
    torch.manual_seed(len(hidden))
    rng = np.random.default_rng(3)
    X = rng.normal(size=(300, 6)) * [1, 2, 3, 4, 5, 6] + 10
    module = at.DenseAutoencoder(6, hidden, activation).eval()
    center, scale = X.mean(axis=0), X.std(axis=0)
    weights = rng.uniform(0.5, 2, size=6)
    est = anoma.from_torch(module, scaler=(center, scale), feature_weights=weights)
    assert isinstance(est, anoma.Autoencoder)
    terms = reference_terms(module, X, center, scale, weights)
    np.testing.assert_allclose(est.anomaly_score(X), terms.sum(axis=1), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(est.feature_scores(X), terms, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(est.score_samples(X), -terms.sum(axis=1), rtol=1e-5, atol=1e-7)


def test_plain_sequential_and_sklearn_scaler():
    from sklearn.preprocessing import StandardScaler
    torch.manual_seed(1)
    module = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.Tanh(), torch.nn.Dropout(0.2),
                                 torch.nn.Linear(3, 4), torch.nn.Sigmoid()).eval()
    X = np.random.default_rng(2).normal(size=(50, 4)) * 3 + 1
    scaler = StandardScaler().fit(X)
    est = anoma.from_torch(module, scaler=scaler)
    terms = reference_terms(module, X, scaler.mean_, scaler.scale_, np.ones(4))
    np.testing.assert_allclose(est.anomaly_score(X), terms.sum(axis=1), rtol=1e-5, atol=1e-7)
    # unsupported layers are named
    with pytest.raises(ValueError, match="layer 1 \\(GELU\\)"):
        anoma.from_torch(torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.GELU()))


def test_threshold_predict_and_missing_values():
    torch.manual_seed(2)
    module = at.DenseAutoencoder(3, (4, 2, 4)).eval()
    X = np.random.default_rng(4).normal(size=(40, 3))
    est = anoma.from_torch(module)
    assert (est.predict(X) == 1).all()  # nothing flagged until a threshold is set
    scores = est.anomaly_score(X)
    est.threshold_ = float(np.median(scores))
    np.testing.assert_array_equal(est.predict(X), np.where(scores > est.threshold_, -1, 1))
    X[7, 1] = np.nan
    with pytest.raises(anoma.AnomaError, match="row 7"):
        est.anomaly_score(X)


def test_save_load_and_inspect(tmp_path):
    torch.manual_seed(3)
    module = at.DenseAutoencoder(5, (8, 2, 8), "tanh").eval()
    est = anoma.from_torch(module, threshold=0.5)
    path = str(tmp_path / "dense.anoma")
    est.model_.save(path)
    back = anoma.Model.load(path)
    X = np.random.default_rng(5).normal(size=(20, 5))
    np.testing.assert_array_equal(back.score(X), est.anomaly_score(X))
    assert anoma.Model.from_bytes(est.model_.to_bytes()).to_bytes() == est.model_.to_bytes()
    # linear 5 -> 8: 48, 8 -> 2: 18, 2 -> 8: 24, 8 -> 5: 45
    params = 48 + 18 + 24 + 45
    text = back.describe()
    assert "%d parameters" % params in text and "imported" in text
    assert "0: linear 5 -> 8 per step" in text and "1: activation tanh" in text
    cli = os.environ.get("ANOMA_CLI")
    if cli:
        out = subprocess.run([cli, "inspect", path], capture_output=True, text=True, check=True)
        assert "%d parameters" % params in out.stdout
        assert "6: linear 8 -> 5 per step" in out.stdout


def import_payload(data, n_features=3):
    return anoma.Model("threshold=1", detectors=()).import_detector("autoencoder", data,
                                                                     n_features)


def test_malformed_payloads_refused():
    torch.manual_seed(4)
    layers = anoma.autoencoder.dense_layers(at.DenseAutoencoder(3, (4,)))
    good = anoma.autoencoder.dense_payload(3, layers)
    import_payload(good)
    head = 12 + 3 * 3 * 8  # epochs, loss; center, scale, weights
    nan_weight = bytearray(good)
    nan_weight[head + 8 + 16:head + 8 + 20] = struct.pack("<f", float("nan"))
    cases = {
        "truncated": good[:-3],
        "loss must be": good[:4] + struct.pack("<d", -1.0) + good[12:],
        "scale finite and > 0": good[:12 + 24] + struct.pack("<d", 0.0) + good[12 + 32:],
        "weights must not all be 0": good[:12 + 48] + bytes(24) + good[12 + 72:],
        "layer count out of range": good[:head] + struct.pack("<Q", 1 << 40) + good[head + 8:],
        "layer 0: unknown layer kind": good[:head + 8] + struct.pack("<I", 99) + good[head + 12:],
        "layer 0: input width": good[:head + 12] + struct.pack("<I", 5) + good[head + 16:],
        "not finite": bytes(nan_weight),
    }
    for message, data in cases.items():
        with pytest.raises(anoma.AnomaError, match=message):
            import_payload(data)
    # the output must be the input's width
    short = anoma.autoencoder.dense_payload(3, layers[:-1])
    with pytest.raises(anoma.AnomaError, match="output width differs"):
        import_payload(short)
    # a recurrent layer is not a dense one
    lstm = {"kind": "lstm", "in": 3, "out": 3, "sequences": True,
            "weight_ih": np.zeros((12, 3)), "weight_hh": np.zeros((12, 3)),
            "bias_ih": np.zeros(12), "bias_hh": np.zeros(12)}
    with pytest.raises(anoma.AnomaError, match="only linear and activation"):
        import_payload(anoma.autoencoder.dense_payload(3, [lstm]))


# ---- native training against torch ----

def layers_of(model):
    """The Linear layers' (weight, bias) of a model's autoencoder payload."""
    payload = model.detector_payload(0)
    f = model.n_features
    at_ = 12 + 3 * 8 * f
    (n,) = struct.unpack_from("<Q", payload, at_)
    at_ += 8
    out = []
    for _ in range(n):
        kind, i, o, _opt = struct.unpack_from("<IIII", payload, at_)
        at_ += 16
        if kind == 4:
            w = np.frombuffer(payload, "<f4", o * i, at_).reshape(o, i)
            b = np.frombuffer(payload, "<f4", o, at_ + 4 * o * i)
            out.append((w.copy(), b.copy()))
            at_ += 4 * (o * i + o)
    return out


def native(X, **params):
    model = anoma.Model({"contamination": 0.1, "n_threads": 1}, [("autoencoder", params)])
    return model.fit(X)


def torch_twin(model, hidden, activation):
    """A DenseAutoencoder holding the model's weights."""
    module = at.DenseAutoencoder(model.n_features, hidden, activation)
    linears = [m for m in module.net if isinstance(m, torch.nn.Linear)]
    for linear, (w, b) in zip(linears, layers_of(model)):
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(w))
            linear.bias.copy_(torch.from_numpy(b))
    return module


@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid"])
def test_one_adam_step_equals_torch(activation):
    """epochs=0 gives the initial network; torch takes one full-batch Adam
    step from it on the same standardised rows; libanoma's epochs=1 with
    one batch must reach the same weights."""
    rng = np.random.default_rng(7)
    X = rng.normal(size=(40, 5)) * [1, 3, 0.5, 2, 1] + 4
    hidden = (6, 3, 6)
    common = dict(hidden="6,3,6", activation=activation, batch_size=40, validation_fraction=0,
                  seed=11)
    start = native(X, epochs=0, **common)
    module = torch_twin(start, hidden, activation)
    # initial weights as nn.Linear draws them: within 1/sqrt(in)
    for (w, b), fan_in in zip(layers_of(start), (5, 6, 3, 6)):
        assert np.abs(w).max() <= fan_in ** -0.5 and np.abs(b).max() <= fan_in ** -0.5
    Z = torch.from_numpy(((X - X.mean(axis=0)) / X.std(axis=0)).astype(np.float32))
    opt = torch.optim.Adam(module.parameters(), lr=1e-3)
    loss = torch.nn.functional.mse_loss(module(Z), Z)
    opt.zero_grad()
    loss.backward()
    opt.step()
    stepped = native(X, epochs=1, **common)
    linears = [m for m in module.net if isinstance(m, torch.nn.Linear)]
    for linear, (w, b) in zip(linears, layers_of(stepped)):
        np.testing.assert_allclose(w, linear.weight.detach().numpy(), rtol=0, atol=1e-6)
        np.testing.assert_allclose(b, linear.bias.detach().numpy(), rtol=0, atol=1e-6)


def torch_train(Z, hidden, activation, epochs, batch, lr, seed):
    torch.manual_seed(seed)
    module = at.DenseAutoencoder(Z.shape[1], hidden, activation)
    opt = torch.optim.Adam(module.parameters(), lr=lr)
    data = torch.from_numpy(Z.astype(np.float32))
    for _ in range(epochs):
        for idx in torch.randperm(len(data)).split(batch):
            loss = torch.nn.functional.mse_loss(module(data[idx]), data[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    return module.eval()


DATA = os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "data")


@pytest.mark.parametrize("name", ["thyroid", "breastw", "pima"])
def test_native_training_auc_near_torch(name):
    """The same architecture, epochs, learning rate and batch size trained
    by torch and natively: ROC AUC within 0.01 (each the mean over three
    seeds, on at most 3000 rows)."""
    from sklearn.metrics import roc_auc_score
    path = os.path.join(DATA, name + ".csv")
    if not os.path.exists(path):
        pytest.skip("../shared/data is absent")
    data = np.loadtxt(path, delimiter=",", skiprows=1)
    data = data[np.random.default_rng(0).permutation(len(data))[:3000]]
    X, y = data[:, :-1], data[:, -1]
    sd = X.std(axis=0)
    Z = (X - X.mean(axis=0)) / np.where(sd > 0, sd, 1)
    hidden, epochs, batch = (16, 4, 16), 30, 32
    ours, theirs = [], []
    for seed in range(3):
        model = native(X, hidden="16,4,16", epochs=epochs, batch_size=batch,
                       validation_fraction=0, seed=seed)
        ours.append(roc_auc_score(y, model.score(X)))
        module = torch_train(Z, hidden, "relu", epochs, batch, 1e-3, seed)
        with torch.no_grad():
            R = module(torch.from_numpy(Z.astype(np.float32))).numpy()
        theirs.append(roc_auc_score(y, ((Z - R) ** 2).mean(axis=1)))
    assert abs(np.mean(ours) - np.mean(theirs)) < 0.01, (ours, theirs)


# ---- anoma.Autoencoder, the estimator trained in C ----

def test_estimator_scores_are_its_network_on_standardised_rows():
    """The fitted network and scaling, read from the model, reproduce the
    scores through torch: the scaling saved is the training rows' mean and
    standard deviation."""
    rng = np.random.default_rng(8)
    X = rng.normal(size=(300, 4)) * [1, 10, 0.1, 3] + [0, 5, -2, 1]
    est = anoma.Autoencoder(hidden=(8, 2, 8), activation="tanh", epochs=20, batch_size=32,
                            random_state=3).fit(X)
    assert 1 <= est.n_epochs_ <= 20 and est.loss_ >= 0
    module = torch_twin(est.model_, (8, 2, 8), "tanh").eval()
    terms = reference_terms(module, X, X.mean(axis=0), X.std(axis=0), np.ones(4))
    np.testing.assert_allclose(est.anomaly_score(X), terms.sum(axis=1), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(est.feature_scores(X[:5]), terms[:5], rtol=1e-5, atol=1e-7)
    scores = est.anomaly_score(X)
    assert np.isclose(est.threshold_, np.quantile(scores, 0.9), rtol=1e-6)
    np.testing.assert_array_equal(est.predict(X), np.where(scores > est.threshold_, -1, 1))
    # reproducible with the same random_state, different with another
    again = anoma.Autoencoder(hidden=(8, 2, 8), activation="tanh", epochs=20, batch_size=32,
                              random_state=3).fit(X)
    np.testing.assert_array_equal(again.anomaly_score(X), scores)
    other = anoma.Autoencoder(hidden=(8, 2, 8), activation="tanh", epochs=20, batch_size=32,
                              random_state=4).fit(X)
    assert not np.array_equal(other.anomaly_score(X), scores)
    # no result depends on n_jobs
    threaded = anoma.Autoencoder(hidden=(8, 2, 8), activation="tanh", epochs=20, batch_size=32,
                                 random_state=3, n_jobs=2).fit(X)
    assert threaded.model_.to_bytes() == est.model_.to_bytes()


def test_estimator_early_stopping_keeps_the_best_epoch():
    X = np.random.default_rng(9).normal(size=(200, 3))
    # a huge step: the validation loss stops improving quickly
    est = anoma.Autoencoder(hidden=(3,), epochs=500, learning_rate=0.5, patience=2,
                            random_state=0).fit(X)
    assert est.n_epochs_ < 500
    full = anoma.Autoencoder(hidden=(3,), epochs=7, validation_fraction=0, random_state=0).fit(X)
    assert full.n_epochs_ == 7


def test_estimator_conventions_and_refusals():
    import pickle
    import warnings
    from sklearn.base import clone
    from sklearn.utils.estimator_checks import check_estimator
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check_estimator(anoma.Autoencoder(hidden=(4,), epochs=5))
    X = np.random.default_rng(2).standard_normal((50, 3))
    est = anoma.Autoencoder(hidden=[5, 2, 5], epochs=3)
    assert clone(est).get_params() == est.get_params()
    est.fit(X)
    back = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(back.anomaly_score(X), est.anomaly_score(X))
    with pytest.raises(anoma.ParameterValueError, match="no threshold of its own|auto"):
        anoma.Autoencoder(contamination="auto", epochs=1).fit(X)
    for name, bad in (("hidden", ()), ("hidden", (4.5,)), ("hidden", "64"), ("epochs", 1.5),
                      ("learning_rate", "fast"), ("standardize", "yes"),
                      ("random_state", -1), ("activation", "gelu"), ("batch_size", 0)):
        with pytest.raises(anoma.ParameterValueError, match=name):
            anoma.Autoencoder(**{name: bad}).fit(X)
    X[3, 1] = np.nan
    with pytest.raises(anoma.AnomaError, match="row 3"):
        anoma.Autoencoder(epochs=1).fit(X)
