"""The "pca" detector and anoma.PCADetector against scikit-learn's PCA
(svd_solver="full"): the squared error of inverse_transform(transform(X)),
and the minor-axis score computed here from scikit-learn's fitted axes."""
import pickle
import struct
import warnings

import numpy as np
import pytest

from conftest import dataset_params, import_anoma, load_csv

anoma = import_anoma()
decomposition = pytest.importorskip("sklearn.decomposition")


def reconstruction_error(pca, X):
    return ((X - pca.inverse_transform(pca.transform(X))) ** 2).sum(axis=1)


def minor_score(X_train, X, k):
    """sum over the axes after the first k of y_c^2 / explained variance_c."""
    full = decomposition.PCA(svd_solver="full").fit(X_train)
    y = (X - full.mean_) @ full.components_[k:].T
    var = np.maximum(full.explained_variance_[k:], 1e-12 * full.explained_variance_[0])
    return (y ** 2 / var).sum(axis=1)


def close(got, ref, X):
    """Relative 1e-9, with an absolute floor of 1e-9 times the mean squared
    norm of a centred training row: a row on the subspace scores ~0, where
    the residual is all rounding."""
    scale = ((X - X.mean(axis=0)) ** 2).sum(axis=1).mean()
    np.testing.assert_allclose(got, ref, rtol=1e-9, atol=1e-9 * scale)


@pytest.mark.parametrize("name", dataset_params())
def test_reconstruction_equals_scikit_learn(name):
    X, _ = load_csv(name)
    held = X[:: max(1, len(X) // 200)] * 1.01 + 0.5
    p = X.shape[1]
    for n in sorted({1, max(1, p // 2), 0.9}, key=str):
        if p == 1 and n != 0.9:
            continue
        ref = decomposition.PCA(n_components=n, svd_solver="full").fit(X)
        est = anoma.PCADetector(n_components=n).fit(X)
        assert est.n_components_ == ref.n_components_
        close(est.anomaly_score(X), reconstruction_error(ref, X), X)
        close(est.anomaly_score(held), reconstruction_error(ref, held), X)
        close(anoma.from_sklearn(ref).anomaly_score(held), reconstruction_error(ref, held), X)
        np.testing.assert_allclose(est.mean_, ref.mean_, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", dataset_params(tabular_only=True))
def test_minor_score_on_shared_data(name):
    X, _ = load_csv(name)
    k = max(1, X.shape[1] // 2)
    est = anoma.PCADetector(n_components=k, method="minor").fit(X)
    ref = minor_score(X, X, k)
    np.testing.assert_allclose(est.anomaly_score(X), ref, rtol=1e-7, atol=1e-9 * X.shape[1])


def test_feature_scores_and_whiten():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((300, 5)) @ rng.standard_normal((5, 5))
    new = rng.standard_normal((20, 5)) * 2
    ref = decomposition.PCA(n_components=2, svd_solver="full").fit(X)
    est = anoma.PCADetector(n_components=2).fit(X)
    residual = new - ref.inverse_transform(ref.transform(new))
    np.testing.assert_allclose(est.feature_scores(new), residual ** 2, rtol=1e-9, atol=1e-12)
    white = decomposition.PCA(n_components=2, whiten=True, svd_solver="full").fit(X)
    np.testing.assert_allclose(anoma.PCADetector(n_components=2, whiten=True).fit(X)
                               .anomaly_score(new), reconstruction_error(white, new), rtol=1e-9)
    minor = anoma.PCADetector(n_components=2, method="minor").fit(X)
    split = minor.feature_scores(new)
    np.testing.assert_allclose(split.sum(axis=1), minor.anomaly_score(new), rtol=1e-9)
    np.testing.assert_allclose(minor.anomaly_score(new), minor_score(X, new, 2), rtol=1e-9)


def test_row_scorer_threads_pickle_agree():
    rng = np.random.default_rng(3)
    X = rng.standard_normal((500, 6)) @ rng.standard_normal((6, 6))
    est = anoma.PCADetector(n_components=3).fit(X)
    batch = est.anomaly_score(X[:50])
    scorer = est.model_.row_scorer()
    for i, row in enumerate(X[:50]):
        assert scorer.score(row)[0] == batch[i]
    np.testing.assert_array_equal(anoma.PCADetector(n_components=3, n_jobs=3).fit(X)
                                  .anomaly_score(X[:50]), batch)
    back = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(back.anomaly_score(X[:50]), batch)


def test_conventions_and_refusals():
    from sklearn.utils.estimator_checks import check_estimator
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check_estimator(anoma.PCADetector(n_components=1))
        check_estimator(anoma.PCADetector(n_components=1, method="minor"))
    X = np.random.default_rng(2).standard_normal((50, 3))
    with pytest.raises(anoma.ParameterValueError, match="no threshold of its own"):
        anoma.PCADetector(contamination="auto").fit(X)
    for bad in (0, 1.5, -1, "all", True):
        with pytest.raises(anoma.ParameterValueError, match="n_components"):
            anoma.PCADetector(n_components=bad).fit(X)
    with pytest.raises(anoma.ParameterValueError, match="n_components=4"):
        anoma.PCADetector(n_components=4).fit(X)
    with pytest.raises(anoma.ParameterValueError, match="method"):
        anoma.PCADetector(method="major").fit(X)
    X[4, 1] = np.nan
    with pytest.raises(anoma.InvalidArgumentError, match="feature 1 of row 4"):
        anoma.PCADetector().fit(X)


def test_hostile_payloads_are_refused():
    mean = np.array([1.0, 2.0])
    axes = np.array([[0.6, 0.8]])

    def payload(minor=0, whiten=0, p=2, k=1, a=1, ratio=0.9, mean=mean, axes=axes, div=(1.0,)):
        return (struct.pack("<BBQQQd", minor, whiten, p, k, a, ratio)
                + np.asarray(mean, "<f8").tobytes() + np.asarray(axes, "<f8").tobytes()
                + np.asarray(div, "<f8").tobytes())

    def load(data, width=2):
        return anoma.Model({"threshold": 2.0}, detectors=()).import_detector("pca", data, width, {})

    x = np.array([[3.0, 1.0]])
    r = x[0] - mean
    r = r - (r @ axes[0]) * axes[0]
    assert load(payload()).score(x)[0] == pytest.approx(r @ r, rel=1e-14)
    y = (x[0] - mean) @ axes[0]
    assert load(payload(minor=1, k=1, div=(4.0,))).score(x)[0] == pytest.approx(y * y / 4)
    for bad in (payload(minor=2), payload(whiten=2), payload(p=3), payload(k=0), payload(k=3),
                payload(a=2), payload(minor=1, k=2), payload(ratio=2), payload(ratio=np.nan),
                payload(mean=[np.nan, 0]), payload(axes=[[np.inf, 0]]), payload(div=(2.0,)),
                payload(minor=1, div=(0.0,)), payload(minor=1, div=(-1.0,)),
                struct.pack("<BBQQQd", 0, 0, 2, 1, 2 ** 60, 0.5) + bytes(40)):
        with pytest.raises(anoma.AnomaError):
            load(bad)
    data = payload()
    for cut in range(len(data)):
        with pytest.raises(anoma.AnomaError):
            load(data[:cut])
    with pytest.raises(anoma.AnomaError):
        load(data, width=3)
