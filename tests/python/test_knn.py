"""The "knn" detector and anoma.KNNDetector against PyOD's definition of its
KNN detector, computed here with NumPy: the distances to the k nearest
training rows (each training row left out of its own neighbours for the
training scores, nothing left out for new rows), combined by their largest,
mean or median; the threshold the (1 - contamination) percentile of the
training scores. Neighbours: exact distances, ties to the lower index
(docs/neighbors.md), found as in test_lof.py."""
import pickle
import struct
import warnings

import numpy as np
import pytest

from conftest import dataset_params, import_anoma, load_csv

anoma = import_anoma()
pytest.importorskip("sklearn.neighbors")
from test_lof import exact_neighbours  # noqa: E402  (the same reference search)

TOL = 1e-12
COMBINE = {"largest": lambda d: d[:, -1], "mean": lambda d: np.mean(d, axis=1),
           "median": lambda d: np.median(d, axis=1)}


def brute_distances(train, queries, k, self_query):
    """The k smallest distances by a full NumPy sort (small data only)."""
    d2 = ((queries[:, None, :] - train[None, :, :]) ** 2).sum(-1)
    if self_query:
        np.fill_diagonal(d2, np.inf)
    return np.sqrt(np.sort(d2, axis=1)[:, :k])


@pytest.mark.parametrize("method", ["largest", "mean", "median"])
def test_definition_on_tied_data(method):
    rng = np.random.default_rng(0)
    X = rng.integers(0, 4, size=(400, 3)).astype(float)
    X[7::7] = X[1:len(X) - 6:7]  # duplicate rows
    new = rng.integers(0, 5, size=(60, 3)) + 0.5
    for algorithm in ("brute", "kd_tree"):
        est = anoma.KNNDetector(n_neighbors=6, method=method, algorithm=algorithm).fit(X)
        np.testing.assert_allclose(est.decision_scores_,
                                   COMBINE[method](brute_distances(X, X, 6, True)), rtol=TOL)
        np.testing.assert_allclose(est.anomaly_score(new),
                                   COMBINE[method](brute_distances(X, new, 6, False)), rtol=TOL)
        assert est.threshold_ == pytest.approx(np.percentile(est.decision_scores_, 90), rel=1e-14)


@pytest.mark.parametrize("name", dataset_params())
def test_shared_datasets(name):
    X, _ = load_csv(name)
    est = anoma.KNNDetector(n_neighbors=5, n_jobs=-1).fit(X)
    ref = exact_neighbours(X, X, 5, True)[0]
    np.testing.assert_allclose(est.decision_scores_, ref[:, -1], rtol=1e-9, atol=0)
    held = X[:: max(1, len(X) // 300)] + 0.5
    np.testing.assert_allclose(est.anomaly_score(held), exact_neighbours(X, held, 5, False)[0][:, -1],
                               rtol=1e-9, atol=0)


def test_threads_algorithms_row_and_reload_agree():
    rng = np.random.default_rng(1)
    X = rng.integers(0, 3, size=(500, 18)).astype(float)
    new = X[:40] + 0.25
    ref = anoma.KNNDetector(method="mean").fit(X)
    for algorithm in ("brute", "kd_tree"):
        for n_jobs in (1, 3):
            est = anoma.KNNDetector(method="mean", algorithm=algorithm, n_jobs=n_jobs).fit(X)
            np.testing.assert_array_equal(est.decision_scores_, ref.decision_scores_)
            np.testing.assert_array_equal(est.anomaly_score(new), ref.anomaly_score(new))
    scorer = ref.model_.row_scorer()
    batch = ref.anomaly_score(new)
    for i, row in enumerate(new):
        assert scorer.score(row)[0] == batch[i]
    back = pickle.loads(pickle.dumps(ref))
    np.testing.assert_array_equal(back.anomaly_score(new), batch)
    np.testing.assert_array_equal(back.decision_scores_, ref.decision_scores_)


def test_conventions_and_refusals():
    from sklearn.utils.estimator_checks import check_estimator
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check_estimator(anoma.KNNDetector())
    skipped = [str(w.message) for w in caught if w.category.__name__ == "SkipTestWarning"
               and "pandas" not in str(w.message)]
    assert sorted(name for m in skipped for name in ("check_outliers_train",
                                                     "check_outliers_fit_predict") if name in m) \
        == ["check_outliers_fit_predict", "check_outliers_train", "check_outliers_train"]
    # the reason holds: training rows scored afresh see themselves at distance 0
    X = np.random.default_rng(2).standard_normal((300, 3))
    est = anoma.KNNDetector().fit(X)
    assert np.all(est.anomaly_score(X) <= est.decision_scores_)
    assert np.mean(est.decision_scores_ > est.threshold_) == pytest.approx(0.1, abs=1 / 300)
    X = np.random.default_rng(2).standard_normal((50, 3))
    with pytest.raises(anoma.ParameterValueError, match="no threshold of its own"):
        anoma.KNNDetector(contamination="auto").fit(X)
    with pytest.raises(anoma.ParameterValueError, match="method"):
        anoma.KNNDetector(method="max").fit(X)
    X[4, 1] = np.nan
    with pytest.raises(anoma.InvalidArgumentError, match="feature 1 of row 4"):
        anoma.KNNDetector().fit(X)
    est = anoma.KNNDetector(n_neighbors=100).fit(X[5:])
    assert est.n_neighbors_ == 44


def test_hostile_payloads_are_refused():
    x = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 3.0]])

    def payload(k=1, rows=x, scores=(1.0, 1.0, 3.0), ref=0):
        """Payload version 2 (docs/detectors/knn.md), the matrix inline (ref 0)."""
        n, d = rows.shape
        return (struct.pack("<QIQQ", k, ref, n, d) + np.asarray(rows, "<f8").tobytes()
                + np.asarray(scores, "<f8").tobytes())

    def load(data, width=2):
        return anoma.Model({"threshold": 2.0}, detectors=()).import_detector(
            "knn", data, width, {"n_neighbors": 1})

    model = load(payload())
    np.testing.assert_array_equal(model.training_scores(), [1.0, 1.0, 3.0])
    assert model.score([[0.0, 1.0]])[0] == 1.0
    for bad in (payload(k=0), payload(k=3), payload(scores=(1.0, -1.0, 3.0)),
                payload(scores=(1.0, np.nan, 3.0)), payload(rows=np.where(x == 3, np.inf, x)),
                payload(ref=1),  # a model file's shared rows: none outside one
                struct.pack("<QIQQ", 1, 0, 2 ** 40, 2) + bytes(48)):
        with pytest.raises(anoma.AnomaError):
            load(bad)
    data = payload()
    for cut in range(len(data)):
        with pytest.raises(anoma.AnomaError):
            load(data[:cut])
    with pytest.raises(anoma.AnomaError):
        load(data, width=3)
