"""Every exporter's round trip through the one export path (anoma.export):
a model trained by scikit-learn, XGBoost or PyTorch is exported, saved to a
file, loaded by the C library through the CLI (`anoma score`), and its
scores equal the source library's own, to the tolerances of each
exporter's own tests. Skipped without ANOMA_CLI (meson sets it); each kind
skips without its library."""
import os
import subprocess

import numpy as np
import pytest

from conftest import import_anoma

anoma = import_anoma()
CLI = os.environ.get("ANOMA_CLI")
pytestmark = pytest.mark.skipif(not CLI, reason="ANOMA_CLI is not set")

ROWS = np.random.default_rng(7).normal(size=(300, 4)) * [1.0, 2.0, 0.5, 3.0]
ROWS[::37] += 4
LABELS = (np.abs(ROWS).max(axis=1) > 3).astype(int)
SERIES = np.random.default_rng(8).normal(size=(80, 3))
SERIES[40] += 5


def _sklearn(name):
    sk = pytest.importorskip("sklearn")
    import importlib
    module, _, cls = name.rpartition(".")
    return getattr(importlib.import_module("sklearn." + module), cls), sk


def isolation_forest():
    cls, _ = _sklearn("ensemble.IsolationForest")
    sk = cls(n_estimators=50, random_state=0).fit(ROWS)
    return anoma.from_sklearn(sk), -sk.score_samples(ROWS), dict(rtol=1e-12, atol=0)


def one_class_svm():
    cls, _ = _sklearn("svm.OneClassSVM")
    sk = cls(gamma=0.2, nu=0.1).fit(ROWS)
    return anoma.from_sklearn(sk), -sk.decision_function(ROWS), dict(rtol=1e-9, atol=1e-6)


def empirical_covariance():
    cls, _ = _sklearn("covariance.EmpiricalCovariance")
    sk = cls().fit(ROWS)
    return anoma.from_sklearn(sk), sk.mahalanobis(ROWS), dict(rtol=1e-9, atol=4e-9)


def min_cov_det():
    cls, _ = _sklearn("covariance.MinCovDet")
    sk = cls(random_state=0).fit(ROWS)
    return anoma.from_sklearn(sk), sk.mahalanobis(ROWS), dict(rtol=1e-9, atol=4e-9)


def pca():
    cls, _ = _sklearn("decomposition.PCA")
    sk = cls(n_components=2).fit(ROWS)
    error = ((ROWS - sk.inverse_transform(sk.transform(ROWS))) ** 2).sum(axis=1)
    scale = ((ROWS - ROWS.mean(axis=0)) ** 2).sum(axis=1).mean()
    return anoma.from_sklearn(sk), error, dict(rtol=1e-9, atol=1e-9 * scale)


def kmeans():
    cls, _ = _sklearn("cluster.KMeans")
    sk = cls(n_clusters=3, n_init=3, random_state=0).fit(ROWS)
    atol = 1e-9 * np.sqrt(sk.inertia_ / len(ROWS))
    return anoma.from_sklearn(sk), sk.transform(ROWS).min(axis=1), dict(rtol=1e-9, atol=atol)


def _classifier(name, **params):
    cls, _ = _sklearn("ensemble." + name)
    sk = cls(random_state=0, **params).fit(ROWS, LABELS)
    return anoma.from_sklearn(sk), sk.predict_proba(ROWS)[:, 1], dict(rtol=0, atol=1e-12)


def random_forest():
    return _classifier("RandomForestClassifier", n_estimators=20, max_depth=5)


def extra_trees():
    return _classifier("ExtraTreesClassifier", n_estimators=20, max_depth=5)


def gradient_boosting():
    return _classifier("GradientBoostingClassifier", n_estimators=20, max_depth=3)


def xgb_classifier():
    xgb = pytest.importorskip("xgboost")
    ref = xgb.XGBClassifier(n_estimators=20, max_depth=3, random_state=0).fit(ROWS, LABELS)
    return anoma.from_xgboost(ref), ref.predict_proba(ROWS)[:, 1], dict(rtol=0, atol=1e-6)


def xgb_booster():
    xgb = pytest.importorskip("xgboost")
    booster = xgb.train({"objective": "reg:squarederror", "max_depth": 3},
                        xgb.DMatrix(ROWS, label=ROWS[:, 0] * 2), num_boost_round=15)
    return (anoma.from_xgboost(booster), booster.predict(xgb.DMatrix(ROWS)),
            dict(rtol=0, atol=1e-6))


def dense_autoencoder():
    torch = pytest.importorskip("torch")
    at = pytest.importorskip("anoma.torch")
    torch.manual_seed(0)
    module = at.DenseAutoencoder(4, hidden=(8, 2, 8)).eval()
    with torch.no_grad():
        out = module(torch.from_numpy(ROWS.astype(np.float32))).numpy().astype(np.float64)
    error = ((out - ROWS) ** 2).mean(axis=1)
    return anoma.from_torch(module), error, dict(rtol=1e-5, atol=1e-7)


def lstm_autoencoder():
    torch = pytest.importorskip("torch")
    at = pytest.importorskip("anoma.torch")
    torch.manual_seed(0)
    module, window = at.LSTMAutoencoder(3, 8).eval(), 6
    W = np.lib.stride_tricks.sliding_window_view(SERIES, (window, 3))[:, 0]
    with torch.no_grad():
        out = module(torch.from_numpy(np.ascontiguousarray(W, dtype=np.float32))).numpy()
    windows = np.mean((W - out) ** 2, axis=(1, 2))
    # each point's score: the mean of the windows that cover it (point_score=mean)
    points = np.array([windows[max(0, i - window + 1):i + 1].mean() for i in range(len(SERIES))])
    return anoma.from_torch(module, window=window), points, dict(rtol=1e-4, atol=1e-6)


KINDS = [isolation_forest, one_class_svm, empirical_covariance, min_cov_det, pca, kmeans,
         random_forest, extra_trees, gradient_boosting, xgb_classifier, xgb_booster,
         dense_autoencoder, lstm_autoencoder]


def _model(exported):
    """The anoma.Model inside what an exporter returns."""
    if isinstance(exported, anoma.Model):
        return exported
    return getattr(exported, "model_", None) or exported.model


@pytest.mark.parametrize("kind", KINDS, ids=[k.__name__ for k in KINDS])
def test_export_save_and_score_in_c_equal_the_source(kind, tmp_path):
    exported, expected, tolerance = kind()
    data = SERIES if kind is lstm_autoencoder else ROWS
    csv = tmp_path / "data.csv"
    names = ",".join("x%d" % j for j in range(data.shape[1]))
    np.savetxt(csv, data, delimiter=",", header=names, comments="", fmt="%.17g")
    path = tmp_path / "exported.anoma"
    _model(exported).save(str(path))
    out = subprocess.run([CLI, "score", str(path), str(csv)], capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].split(",")[:2] == ["score", "is_anomaly"]
    scores = np.array([float(line.split(",")[0]) for line in lines[1:]])
    np.testing.assert_allclose(scores, expected, **tolerance)
