"""The "lof" detector and anoma.LocalOutlierFactor against scikit-learn.

scikit-learn's own neighbour searches disagree with each other on data with
ties (its brute force rounds through a GEMM, its trees keep whichever tied
row they meet first): on breastw its kd_tree and ball_tree LOFs differ by a
factor of 2, its brute force and kd_tree by 1e9 (docs/neighbors.md). The
library's rule is exact distances, ties to the lower row index. So the
reference here is scikit-learn's LocalOutlierFactor arithmetic (its own
fit, score_samples, lrd, 1e-10 guard and self-exclusion) fed with
neighbours under that rule: candidates from scikit-learn's KDTree, their
distances recomputed in NumPy and ordered by (distance, index), with a
NumPy brute force for any row whose tie group may run past the candidates.
Where scikit-learn's kd_tree and ball_tree agree (the data leave no tie to
resolve), its stock LocalOutlierFactor is compared too."""
import gc
import pickle
import struct
import warnings

import numpy as np
import pytest

from conftest import dataset_names, dataset_params, import_anoma, load_csv

anoma = import_anoma()
neighbors = pytest.importorskip("sklearn.neighbors")

TOL = 1e-9


# ---- the reference ------------------------------------------------------------

def _sq_dist(queries, train, cand):
    """Squared distances queries[i] - train[cand[i, t]], summed in column order."""
    d2 = np.zeros(cand.shape)
    for j in range(train.shape[1]):
        d2 += (queries[:, j, None] - train[cand, j]) ** 2
    return d2


def exact_neighbours(train, queries, k, self_query, extra=16):
    """(distances, indices) of the k nearest rows of train to each query:
    sum of squared differences in column order, ties by lower index; a row
    leaves itself out when self_query."""
    m, n = len(queries), len(train)
    k_query = min(n, k + extra + (1 if self_query else 0))
    cand = neighbors.KDTree(train).query(queries, k=k_query, return_distance=False)
    d2 = _sq_dist(queries, train, cand)
    if self_query:
        d2[cand == np.arange(m)[:, None]] = np.inf
    order = np.lexsort((cand, d2), axis=-1)[:, :k]
    dist = np.take_along_axis(d2, order, 1)
    ind = np.take_along_axis(cand, order, 1)
    # a tie group at the k-th distance may run past the candidates: brute force
    kept = k_query - (1 if self_query else 0)
    unsure = (dist[:, -1] >= np.where(np.isinf(d2), -np.inf, d2).max(1)) & (kept < n - self_query)
    everyone = np.arange(n)
    for i in np.flatnonzero(unsure):
        c = everyone[everyone != i] if self_query else everyone
        row_d2 = _sq_dist(queries[i:i + 1], train, c[None, :])[0]
        o = np.lexsort((c, row_d2))[:k]
        dist[i], ind[i] = row_d2[o], c[o]
    return np.sqrt(dist), ind


def sklearn_lof(train, k, novelty=False, contamination="auto"):
    """scikit-learn's LocalOutlierFactor with the exact, index-ordered search."""
    lof = neighbors.LocalOutlierFactor(n_neighbors=k, novelty=novelty, algorithm="brute",
                                       contamination=contamination)

    def kneighbors(X=None, n_neighbors=None, return_distance=True):
        if X is None:
            return exact_neighbours(train, train, n_neighbors, True)
        return exact_neighbours(train, np.asarray(X, dtype=float), n_neighbors, False)

    lof.kneighbors = kneighbors
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return lof.fit(train)


def assert_close(ours, ref, what):
    err = np.max(np.abs(ours - ref) / np.maximum(1.0, np.abs(ref)))
    assert err <= TOL, "%s: relative error %.3g" % (what, err)


# ---- the shared datasets --------------------------------------------------------

@pytest.mark.parametrize("name", dataset_params())
def test_outlier_and_novelty_modes_match_sklearn(name):
    X, _ = load_csv(name)
    rng = np.random.default_rng(0)
    held = rng.permutation(len(X))[: min(500, len(X) // 5)]
    ref = sklearn_lof(X, 20)
    ours = anoma.LocalOutlierFactor(n_neighbors=20, n_jobs=-1).fit(X)
    assert_close(ours.negative_outlier_factor_, ref.negative_outlier_factor_, name + " outlier mode")
    assert ours.n_neighbors_ == ref.n_neighbors_
    # novelty mode: new rows (a held-out copy, jittered) and training rows themselves
    nov = sklearn_lof(X, 20, novelty=True)
    new = X[held] + rng.normal(scale=1e-3, size=(len(held), X.shape[1])) * (X.std(0) + 1)
    ours_nov = anoma.LocalOutlierFactor(n_neighbors=20, novelty=True, n_jobs=-1).fit(X)
    assert_close(ours_nov.score_samples(new), nov.score_samples(new), name + " novelty mode")
    assert_close(ours_nov.score_samples(X[held]), nov.score_samples(X[held]),
                 name + " novelty mode, training rows")


def _sklearn_agrees_with_itself(X):
    kd = neighbors.LocalOutlierFactor(algorithm="kd_tree").fit(X).negative_outlier_factor_
    ball = neighbors.LocalOutlierFactor(algorithm="ball_tree").fit(X).negative_outlier_factor_
    return kd if np.array_equal(kd, ball) else None


@pytest.mark.parametrize("name", dataset_params())
def test_stock_sklearn_where_it_has_no_tie_to_resolve(name):
    X, _ = load_csv(name)
    if len(X) > 12000:
        pytest.skip("scikit-learn's two tree searches take too long on %d rows" % len(X))
    kd = _sklearn_agrees_with_itself(X)
    if kd is None:
        pytest.skip("scikit-learn's kd_tree and ball_tree disagree: ties (see the module)")
    ours = anoma.LocalOutlierFactor().fit(X).negative_outlier_factor_
    assert_close(ours, kd, name)


def test_sklearn_disagrees_with_itself_on_ties():
    """Why the reference fixes the tie rule: two exact searches of
    scikit-learn break a tie differently (the module's docstring)."""
    X = np.array([[0.0], [1.0], [-1.0], [2.0], [-2.0], [5.0]])
    ours = anoma.LocalOutlierFactor(n_neighbors=1).fit(X)
    ref = sklearn_lof(X, 1)
    # row 0 has rows 1 and 2 at distance 1: the lower index, 1, is its neighbour
    np.testing.assert_allclose(ours.negative_outlier_factor_, ref.negative_outlier_factor_,
                               rtol=TOL, atol=0)


# ---- the rule itself, by hand -----------------------------------------------------

def test_hand_computed_values():
    """Points 0, 1, 3 on a line, k = 1: neighbours 1, 0, 1; k-distances 1, 1, 2;
    reach distances max(d, kdist(o)) = 1, 1, 2; lrd = 1/(r + 1e-10);
    LOF(0) = lrd(1)/lrd(0) = 1, LOF(1) = 1, LOF(3) = lrd(1)/lrd(3) = (2+g)/(1+g).
    A new point at 6: neighbour 3 at distance 3, reach max(3, 2) = 3,
    LOF = lrd(3)/lrd(6) = (3+g)/(2+g)."""
    g = 1e-10
    X = np.array([[0.0], [1.0], [3.0]])
    est = anoma.LocalOutlierFactor(n_neighbors=1, novelty=True).fit(X)
    np.testing.assert_allclose(-est.negative_outlier_factor_, [1, 1, (2 + g) / (1 + g)],
                               rtol=1e-15)
    np.testing.assert_allclose(-est.score_samples([[6.0]]), [(3 + g) / (2 + g)], rtol=1e-15)


def test_duplicates_beyond_k():
    """More copies of a point than k: every reach distance is 0, lrd = 1e10,
    and the copies score 1 (scikit-learn's guard); a far point scores huge."""
    X = np.vstack([np.zeros((30, 2)), [[1.0, 1.0]]])
    est = anoma.LocalOutlierFactor(n_neighbors=5).fit(X)
    nof = est.negative_outlier_factor_
    np.testing.assert_allclose(nof[:30], -1.0, rtol=1e-15)
    assert_close(nof, sklearn_lof(X, 5).negative_outlier_factor_, "duplicates")
    assert -nof[30] > 1e9


# ---- algorithms, threads, save/load, the row path ---------------------------------------

def _tied_data(seed=0, n=600, d=4):
    rng = np.random.default_rng(seed)
    X = rng.integers(0, 4, size=(n, d)).astype(float)
    X[::5] = X[1::5][: len(X[::5])]
    return X


@pytest.mark.parametrize("d", [3, 20])
def test_algorithms_and_threads_give_the_same_bits(d):
    X = _tied_data(1, 700, d)
    new = _tied_data(2, 100, d) + 0.5
    outs = []
    for algorithm in ("auto", "brute", "kd_tree"):
        for n_jobs in (1, 2, 3):
            est = anoma.LocalOutlierFactor(algorithm=algorithm, n_jobs=n_jobs, novelty=True).fit(X)
            outs.append((est.negative_outlier_factor_, est.score_samples(new)))
    for nof, s in outs[1:]:
        np.testing.assert_array_equal(nof, outs[0][0])
        np.testing.assert_array_equal(s, outs[0][1])
    assert_close(outs[0][0], sklearn_lof(X, 20).negative_outlier_factor_, "tied data")


def test_row_scorer_and_saved_model_give_the_same_bits(tmp_path):
    X = _tied_data(3)
    est = anoma.LocalOutlierFactor(novelty=True, contamination=0.1).fit(X)
    batch = est.anomaly_score(X[:50] + 0.25)
    scorer = est.model_.row_scorer()
    for i, row in enumerate(X[:50] + 0.25):
        assert scorer.score(row)[0] == batch[i]
    restored = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(restored.anomaly_score(X[:50] + 0.25), batch)
    np.testing.assert_array_equal(restored.negative_outlier_factor_, est.negative_outlier_factor_)
    path = tmp_path / "lof.anoma"
    est.model_.save(str(path))
    loaded = anoma.Model.load(str(path))
    np.testing.assert_array_equal(loaded.training_scores(), est.model_.training_scores())
    assert loaded.threshold == est.threshold_


# ---- outlier mode keeps no copy of the training rows (keep_rows=false) ----------------

@pytest.mark.parametrize("algorithm", ["brute", "kd_tree"])
def test_outlier_mode_keeps_no_rows_and_gives_the_same_bits(algorithm):
    """novelty=False fits keep_rows=false: the training rows' LOF equal the
    copying model's bit for bit (ties and duplicates beyond k included), and
    scikit-learn's; the model holds about n x d doubles less."""
    X = _tied_data(6, 500, 3)
    X[:40] = X[40]  # 41 copies of one row, more than k
    outlier = anoma.LocalOutlierFactor(algorithm=algorithm, n_jobs=2).fit(X)
    novelty = anoma.LocalOutlierFactor(algorithm=algorithm, novelty=True).fit(X)
    np.testing.assert_array_equal(outlier.negative_outlier_factor_,
                                  novelty.negative_outlier_factor_)
    assert_close(outlier.negative_outlier_factor_, sklearn_lof(X, 20).negative_outlier_factor_,
                 "keep_rows=false")
    assert outlier.offset_ == novelty.offset_
    copying = anoma.Model({"contamination": "auto"}, [("lof", {"algorithm": algorithm})]).fit(X)
    np.testing.assert_array_equal(copying.training_scores(), -outlier.negative_outlier_factor_)
    assert copying.memory_bytes - outlier.model_.memory_bytes >= X.nbytes
    assert "none kept" in outlier.model_.describe()


# ---- novelty mode references the caller's X (rows=borrow), as scikit-learn's _fit_X -------

def _borrowing_fit(X_source):
    """A novelty-mode estimator fitted on a fresh array, which the caller then
    deletes (and writes over the memory its allocator hands out next)."""
    X = np.array(X_source)  # the only reference is here
    est = anoma.LocalOutlierFactor(novelty=True).fit(X)
    assert est._fit_X is X  # referenced, not copied
    del X
    gc.collect()
    np.full(X_source.shape, 1e300)  # a likely reuse of freed memory, had it been freed
    return est


def test_novelty_mode_survives_the_callers_del_and_equals_sklearn():
    rng = np.random.default_rng(11)
    X = _tied_data(11, 800, 5) + rng.normal(scale=0.1, size=(800, 5))
    new = X[:300] + rng.normal(scale=0.05, size=(300, 5))
    est = _borrowing_fit(X)
    ref = sklearn_lof(X, 20, novelty=True)
    assert_close(est.score_samples(new), ref.score_samples(new), "borrowed rows after del X")
    assert_close(est.negative_outlier_factor_, ref.negative_outlier_factor_, "borrowed rows")
    # the model counts no copy of X, and a copying model gives the same bits
    copying = anoma.Model({"contamination": "auto"}, [("lof", {})]).fit(X)
    np.testing.assert_array_equal(copying.score(new), est.anomaly_score(new))
    assert copying.memory_bytes - est.model_.memory_bytes >= X.nbytes
    assert "borrowed" in est.model_.describe()
    # pickled through its bytes, which hold the rows: the copy owns them
    restored = pickle.loads(pickle.dumps(est))
    assert restored._fit_X is None
    np.testing.assert_array_equal(restored.score_samples(new), est.score_samples(new))
    assert restored.model_.to_bytes() == copying.to_bytes()  # the same bytes as a copy's
    scorer = est.model_.row_scorer()
    del est
    gc.collect()
    assert scorer.score(new[0])[0] == copying.score(new[:1])[0]  # the scorer keeps X alive


def test_novelty_mode_copies_only_what_is_not_contiguous_float64():
    X = np.asfortranarray(_tied_data(12, 300, 3))
    est = anoma.LocalOutlierFactor(novelty=True).fit(X)
    assert est._fit_X is not X and est._fit_X.flags.c_contiguous
    assert est._fit_X.dtype == np.float64
    X32 = X.astype(np.float32)
    est32 = anoma.LocalOutlierFactor(novelty=True).fit(X32)
    assert est32._fit_X.dtype == np.float64
    np.testing.assert_array_equal(est.score_samples(X[:20] + 0.5),
                                  anoma.LocalOutlierFactor(novelty=True).fit(
                                      np.ascontiguousarray(X)).score_samples(X[:20] + 0.5))
    assert anoma.LocalOutlierFactor().fit(X)._fit_X is None  # outlier mode keeps nothing


def test_borrowing_through_a_pipeline_is_refused():
    X = _tied_data(13, 200, 3)
    model = anoma.Model({"contamination": "auto"}, [("lof", {"rows": "borrow"})],
                        steps=[("minmax_scaler", {})])
    with pytest.raises(anoma.errors.AnomaError) as err:
        model.fit(X)
    assert "rows=borrow" in str(err.value) and "rows=copy" in str(err.value)


def test_outlier_mode_model_refuses_to_score_with_the_reason():
    X = _tied_data(7, 200)
    est = anoma.LocalOutlierFactor().fit(X)
    for method in ("anomaly_score", "predict_proba", "predict_confidence"):
        assert not hasattr(est, method)
    with pytest.raises(anoma.AnomaError, match="keep_rows=false") as info:
        est.model_.score(X[:3])
    assert info.value.name == "ANOMA_ERR_UNSUPPORTED"
    with pytest.raises(anoma.AnomaError, match="keep_rows=false"):
        est.model_.row_scorer()
    with pytest.raises(anoma.AnomaError, match="keep_rows=false"):
        est.model_.predict(X[:3])


def test_outlier_mode_model_round_trips(tmp_path):
    X = _tied_data(8, 300)
    est = anoma.LocalOutlierFactor(contamination=0.1).fit(X)
    labels = est.fit_predict(X)
    restored = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(restored.negative_outlier_factor_, est.negative_outlier_factor_)
    assert restored.offset_ == est.offset_
    path = tmp_path / "lof-outlier.anoma"
    est.model_.save(str(path))
    loaded = anoma.Model.load(str(path))
    np.testing.assert_array_equal(loaded.training_scores(), est.model_.training_scores())
    np.testing.assert_array_equal(np.where(-loaded.training_scores() < -loaded.threshold, -1, 1),
                                  labels)
    with pytest.raises(anoma.AnomaError, match="keep_rows=false"):
        loaded.score(X[:2])


def test_payload_must_match_keep_rows():
    """The rows field says "none kept" (0xFFFFFFFF, then n) exactly when
    keep_rows=false; either mismatch, and a bad count, is refused."""
    x = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 3.0]])
    values = (np.asarray([1.0, 1.0, 3.0], "<f8").tobytes() + np.asarray([1.0, 1.0, 0.3], "<f8")
              .tobytes() + np.asarray([1.0, 1.0, 3.3], "<f8").tobytes())
    rowless = struct.pack("<QIQ", 1, 0xFFFFFFFF, 3) + values
    model = anoma.Model({"threshold": 1.5}, detectors=()).import_detector(
        "lof", rowless, 2, {"n_neighbors": 1, "keep_rows": False})
    np.testing.assert_array_equal(model.training_scores(), [1.0, 1.0, 3.3])
    with_rows = _payload(k=1, x=x, kdist=[1.0, 1.0, 3.0], lrd=[1.0, 1.0, 0.3],
                         scores=[1.0, 1.0, 3.3])
    bad = [(rowless, {}), (with_rows, {"keep_rows": False}),
           (struct.pack("<QIQ", 3, 0xFFFFFFFF, 3) + values, {"keep_rows": False}),
           (struct.pack("<QIQ", 1, 0xFFFFFFFF, 1) + values[:8], {"keep_rows": False}),
           (struct.pack("<QIQ", 1, 0xFFFFFFFF, 2 ** 40) + values, {"keep_rows": False})]
    for payload, params in bad:
        with pytest.raises(anoma.AnomaError):
            anoma.Model({"threshold": 1.5}, detectors=()).import_detector(
                "lof", payload, 2, dict(params, n_neighbors=1))
    for cut in range(len(rowless)):
        with pytest.raises(anoma.AnomaError):
            anoma.Model({"threshold": 1.5}, detectors=()).import_detector(
                "lof", rowless[:cut], 2, {"n_neighbors": 1, "keep_rows": False})


# ---- thresholds and scikit-learn's conventions ------------------------------------------

@pytest.mark.parametrize("contamination", ["auto", 0.05, 0.2])
def test_offset_and_labels_follow_sklearn(contamination):
    X = _tied_data(4)
    X[:8] += 9.0
    ref = sklearn_lof(X, 20, contamination=contamination)
    ours = anoma.LocalOutlierFactor(contamination=contamination)
    labels = ours.fit_predict(X)
    assert ours.offset_ == pytest.approx(ref.offset_, rel=1e-12, abs=1e-12)
    np.testing.assert_array_equal(labels, np.where(ref.negative_outlier_factor_ < ref.offset_,
                                                   -1, 1))
    nov = anoma.LocalOutlierFactor(contamination=contamination, novelty=True).fit(X)
    assert nov.offset_ == ours.offset_  # from the training rows' LOF in both modes
    new = X[:40] + 0.5
    np.testing.assert_array_equal(nov.predict(new), np.where(nov.decision_function(new) < 0,
                                                             -1, 1))


def test_methods_exist_only_in_their_mode():
    X = _tied_data(5, 200)
    outlier = anoma.LocalOutlierFactor().fit(X)
    for method in ("score_samples", "decision_function", "predict"):
        assert not hasattr(outlier, method)
        with pytest.raises(AttributeError, match="novelty=False"):
            getattr(outlier, method)
    novelty = anoma.LocalOutlierFactor(novelty=True).fit(X)
    assert not hasattr(novelty, "fit_predict")
    assert hasattr(novelty, "predict") and hasattr(neighbors.LocalOutlierFactor(novelty=True),
                                                   "predict")


def test_check_estimator_passes():
    from sklearn.utils.estimator_checks import check_estimator
    for est in (anoma.LocalOutlierFactor(), anoma.LocalOutlierFactor(novelty=True),
                anoma.LocalOutlierFactor(contamination=0.1)):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            check_estimator(est)
        assert not [w for w in caught if w.category.__name__ == "SkipTestWarning"
                    and "pandas" not in str(w.message)]


# ---- bad input --------------------------------------------------------------------

def test_missing_values_are_refused_by_name():
    X = _tied_data(6, 100)
    X[17, 2] = np.nan
    with pytest.raises(anoma.InvalidArgumentError, match=r"feature 2 of row 17.*imputer"):
        anoma.LocalOutlierFactor().fit(X)
    est = anoma.LocalOutlierFactor(novelty=True).fit(_tied_data(6, 100))
    Y = np.ones((4, 4))
    Y[3, 1] = np.nan
    with pytest.raises(anoma.InvalidArgumentError, match=r"feature 1 of row 3"):
        est.score_samples(Y)
    assert np.isnan(est.model_.row_scorer().score([1.0, np.nan, 2.0, 3.0])[0])


def test_bad_parameters_and_shapes():
    X = _tied_data(7, 50)
    with pytest.raises(anoma.ParameterValueError, match="n_neighbors"):
        anoma.LocalOutlierFactor(n_neighbors=0).fit(X)
    with pytest.raises(anoma.ParameterValueError, match="algorithm"):
        anoma.LocalOutlierFactor(algorithm="ball_tree").fit(X)
    with pytest.raises(ValueError, match="n_samples = 1"):
        anoma.LocalOutlierFactor(n_neighbors=1).fit(X[:1])
    with pytest.warns(UserWarning, match="greater than the total number of samples"):
        est = anoma.LocalOutlierFactor(n_neighbors=80).fit(X)
    assert est.n_neighbors_ == 49
    assert_close(est.negative_outlier_factor_, sklearn_lof(X, 80).negative_outlier_factor_,
                 "k capped")


def _payload(k, x, kdist, lrd, scores, rows=0):
    """Payload version 2 (docs/detectors/lof.md), the matrix inline (rows 0)."""
    n, d = x.shape
    return (struct.pack("<QIQQ", k, rows, n, d) + np.asarray(x, "<f8").tobytes()
            + np.asarray(kdist, "<f8").tobytes() + np.asarray(lrd, "<f8").tobytes()
            + np.asarray(scores, "<f8").tobytes())


def test_hostile_payloads_are_refused():
    x = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 3.0]])
    good = dict(k=1, x=x, kdist=[1.0, 1.0, 3.0], lrd=[1.0, 1.0, 0.3], scores=[1.0, 1.0, 3.3])
    model = anoma.Model({"threshold": 1.5}, detectors=()).import_detector(
        "lof", _payload(**good), 2, {"n_neighbors": 1})
    np.testing.assert_array_equal(model.training_scores(), good["scores"])
    assert model.score([[0.0, 0.0]])[0] == pytest.approx(1.0)
    bad = [dict(good, k=0), dict(good, k=3), dict(good, k=2 ** 63),
           dict(good, x=x[:1], kdist=[1.0], lrd=[1.0], scores=[1.0]),
           dict(good, x=np.where(x == 3.0, np.nan, x)), dict(good, x=np.where(x == 3.0, np.inf, x)),
           dict(good, kdist=[1.0, -1.0, 3.0]), dict(good, lrd=[1.0, 0.0, 1.0]),
           dict(good, lrd=[1.0, 2e10, 1.0]), dict(good, scores=[1.0, np.nan, 1.0]),
           dict(good, rows=1)]  # a model file's shared rows: none outside one
    for b in bad:
        with pytest.raises(anoma.AnomaError):
            anoma.Model({"threshold": 1.5}, detectors=()).import_detector(
                "lof", _payload(**b), 2, {"n_neighbors": 1})
    data = _payload(**good)
    for cut in range(len(data)):
        with pytest.raises(anoma.AnomaError):
            anoma.Model({"threshold": 1.5}, detectors=()).import_detector(
                "lof", data[:cut], 2, {"n_neighbors": 1})
    for n_features in (1, 3):  # the matrix's width must be the model's
        with pytest.raises(anoma.AnomaError):
            anoma.Model({"threshold": 1.5}, detectors=()).import_detector(
                "lof", data, n_features, {"n_neighbors": 1})
    huge = struct.pack("<QIQQ", 1, 0, 2 ** 40, 2) + bytes(64)
    with pytest.raises(anoma.AnomaError):
        anoma.Model({"threshold": 1.5}, detectors=()).import_detector("lof", huge, 2)


def test_detector_without_training_scores_says_so():
    X = _tied_data(8, 100)
    model = anoma.Model({}, [("zscore", {})]).fit(X)
    with pytest.raises(anoma.AnomaError, match="no training scores"):
        model.training_scores()
