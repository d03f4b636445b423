"""The "knn" detector and anoma.KNNDetector against PyOD's definition of its
KNN detector, computed here with NumPy: the distances to the k nearest
training rows (each training row left out of its own neighbours for the
training scores, nothing left out for new rows), combined by their largest,
mean or median; the threshold the (1 - contamination) percentile of the
training scores. Neighbours: exact distances, ties to the lower index
(docs/neighbors.md), found as in test_lof.py."""
import gc
import os
import pickle
import struct
import subprocess
import sys
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


# ---- the model references the caller's X (rows=borrow), as LocalOutlierFactor(novelty=True) --

def test_model_references_X_and_survives_the_callers_del():
    rng = np.random.default_rng(3)
    source = rng.integers(0, 4, size=(600, 4)) + rng.normal(scale=0.1, size=(600, 4))
    new = source[:80] + 0.3
    X = np.array(source)  # the only reference is here
    est = anoma.KNNDetector(n_neighbors=7, method="mean").fit(X)
    assert est._fit_X is X  # referenced, not copied
    del X
    gc.collect()
    np.full(source.shape, 1e300)  # a likely reuse of freed memory, had it been freed
    # the definition, and a model that copies its rows, bit for bit
    np.testing.assert_allclose(est.anomaly_score(new),
                               brute_distances(source, new, 7, False).mean(axis=1), rtol=TOL)
    copying = anoma.Model({"contamination": 0.1},
                          [("knn", {"n_neighbors": 7, "method": "mean"})]).fit(source)
    assert "rows=copy" in copying.describe() and "borrowed" in est.model_.describe()
    np.testing.assert_array_equal(est.anomaly_score(new), copying.score(new))
    np.testing.assert_array_equal(est.decision_scores_, copying.training_scores())
    assert copying.memory_bytes - est.model_.memory_bytes >= source.nbytes
    # pickled through its bytes, which hold the rows: the copy owns them
    restored = pickle.loads(pickle.dumps(est))
    assert restored._fit_X is None
    assert restored.model_.to_bytes() == copying.to_bytes()
    scorer = est.model_.row_scorer()
    del est
    gc.collect()
    assert scorer.score(new[0])[0] == copying.score(new[:1])[0]  # the scorer keeps X alive


def test_X_not_contiguous_float64_is_converted_once_and_that_is_kept():
    X = np.asfortranarray(np.random.default_rng(4).standard_normal((300, 3)))
    new = X[:20] + 0.5
    want = anoma.KNNDetector().fit(np.ascontiguousarray(X)).anomaly_score(new)
    for given in (X, X.astype(np.float32), X[:, ::-1][:, ::-1]):
        est = anoma.KNNDetector().fit(given)
        assert est._fit_X is not given
        assert est._fit_X.flags.c_contiguous and est._fit_X.dtype == np.float64
        if given.dtype == np.float64:
            np.testing.assert_array_equal(est.anomaly_score(new), want)


def test_model_keeps_X_for_exactly_the_detectors_that_borrow():
    """Model knows which detectors borrow from the parameters as given (text
    or dict, set later, the last word winning); the library's own account
    (describe) must agree with what it keeps."""
    X = np.random.default_rng(6).standard_normal((120, 3))
    cases = [([("knn", "n_neighbors=3 rows=borrow")], [], True),
             ([("knn", 'rows=borrow method=mean')], [(0, "rows", "copy")], False),
             ([("knn", {})], [(0, "rows", "borrow")], True),
             ([("lof", {"rows": "borrow"}), ("knn", "rows=copy")], [], True),
             ([("knn", "rows=borrow rows=copy")], [], False),
             ([("knn", {}), ("lof", {})], [], False)]
    for detectors, sets, borrows in cases:
        model = anoma.Model({"contamination": 0.1}, detectors)
        for index, key, value in sets:
            model.set_detector_param(index, key, value)
        model.fit(X)
        assert ("borrowed" in model.describe()) == borrows, detectors
        assert (model._borrowed_rows is X) == borrows, detectors


# the process's peak resident size, VmHWM (kB): ru_maxrss would carry over
# the parent's peak into a child, across fork and exec
_PEAK_SCRIPT = """
import sys
import numpy as np
import anoma
def peak():
    with open("/proc/self/status") as f:
        return int(next(line for line in f if line.startswith("VmHWM:")).split()[1])
X = np.random.default_rng(5).standard_normal((100000, 4))
before = peak()
if sys.argv[1] == "copy":
    anoma.Model({"contamination": 0.1}, [("knn", {"rows": "copy"})]).fit(X)
else:
    anoma.KNNDetector().fit(X)
print(peak() - before)
"""


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="needs Linux's VmHWM")
def test_borrowing_lowers_the_fits_peak_resident_size():
    """The fit's peak resident size (a fresh process each, kilobytes), above
    the same process with X made: borrowing saves most of X's 3.2 MB,
    which a copying fit allocates and keeps."""
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    peak = {}
    for how in ("copy", "borrow"):
        out = subprocess.run([sys.executable, "-c", _PEAK_SCRIPT, how], env=env, check=True,
                             capture_output=True, text=True).stdout
        peak[how] = int(out.split()[-1])
    assert peak["copy"] - peak["borrow"] >= 0.75 * 100000 * 4 * 8 / 1024, peak


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
