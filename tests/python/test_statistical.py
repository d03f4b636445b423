"""ZScore, MAD and IQR against independent numpy computations, plus the
estimator and model machinery (inputs, errors, cloning, pickling, files).
anomaly_score is the library's score (higher = more anomalous); the
scikit-learn conventions (score_samples = -anomaly_score, offset_, predict
-1/+1) are checked here against that reference and in test_conventions.py."""
import os
import pickle

import numpy as np
import pytest

from conftest import dataset_names, dataset_params, import_anoma, load_csv

anoma = import_anoma()

TABULAR = dataset_params(tabular_only=True)
RTOL = ATOL = 1e-12


# ---- references: per-feature scores, then combined -------------------------

def ref_feature_scores(kind, train, X, ddof=0, k=1.5):
    """Each feature's own score of X for a detector fitted on train (NaN = missing);
    for iqr, the distance outside Tukey's fences Q1 - k IQR, Q3 + k IQR in IQRs
    (in units of 1 when the IQR is 0)."""
    with np.errstate(all="ignore"):
        if kind == "zscore":
            centre = np.nanmean(train, axis=0)
            scale = np.nanstd(train, axis=0, ddof=ddof)
            constant = np.nanmin(train, axis=0) == np.nanmax(train, axis=0)
            centre = np.where(constant, np.nanmin(train, axis=0), centre)
            scale[constant | (np.sum(~np.isnan(train), axis=0) <= ddof)] = 1.0
            lower = upper = centre
        elif kind == "mad":
            centre = np.nanmedian(train, axis=0)
            dev = np.abs(train - centre)
            scale = 1.482602218505602 * np.nanmedian(dev, axis=0)
            scale = np.where(scale == 0, 1.2533141373155001 * np.nanmean(dev, axis=0), scale)
            lower = upper = centre
        else:
            lower, upper = np.nanpercentile(train, [25, 75], axis=0)
            scale = upper - lower
            return np.maximum(lower - X, X - upper) / np.where(scale == 0, 1.0, scale) - k
        scale = np.where(scale == 0, 1.0, scale)
        return np.maximum(lower - X, X - upper) / scale


def ref_combine(fs, combine):
    """Row scores from feature scores, NaN (missing) left out; all missing: 0."""
    present = ~np.isnan(fs)
    any_present = present.any(axis=1)
    with np.errstate(all="ignore"), np.testing.suppress_warnings() as sup:
        sup.filter(RuntimeWarning)
        if combine == "max":
            out = np.nanmax(fs, axis=1)
        elif combine == "mean":
            out = np.nanmean(fs, axis=1)
        else:  # l2: norm of the positive parts; when none is positive, the max
            top = np.nanmax(fs, axis=1)
            pos = np.where(present & (fs > 0), fs, 0.0)
            out = np.where(top > 0, np.sqrt(np.sum(pos * pos, axis=1)), top)
    return np.where(any_present, out, 0.0)


ESTIMATORS = {"zscore": anoma.ZScore, "mad": anoma.MAD, "iqr": anoma.IQR}


def make(kind, **params):
    return ESTIMATORS[kind](**params)


# ---- exact agreement on the shared data ----------------------------------

@pytest.mark.parametrize("name", TABULAR)
@pytest.mark.parametrize("kind", ["zscore", "mad", "iqr"])
def test_scores_match_reference(name, kind):
    X, _ = load_csv(name)
    fs_ref = ref_feature_scores(kind, X, X)
    for combine in ("max", "mean", "l2"):
        for contamination in (0.1, 0.02):
            est = make(kind, combine=combine, contamination=contamination).fit(X)
            assert est.n_features_in_ == X.shape[1]
            s = est.anomaly_score(X)
            np.testing.assert_allclose(s, ref_combine(fs_ref, combine), rtol=RTOL, atol=ATOL)
            np.testing.assert_array_equal(est.score_samples(X), -s)
            q = np.percentile(s, 100 * (1 - contamination))
            assert est.threshold_ == pytest.approx(q, rel=1e-15, abs=0)
            assert est.offset_ == -est.threshold_
            np.testing.assert_array_equal(est.predict(X), np.where(s > est.threshold_, -1, 1))
            np.testing.assert_array_equal(est.decision_function(X), -s - est.offset_)
    np.testing.assert_allclose(est.feature_scores(X), fs_ref, rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("kind, rule, combines", [("zscore", 3.0, ("max",)),
                                                  ("mad", 3.5, ("max",)),
                                                  ("iqr", 0.0, ("max", "l2"))])
def test_contamination_auto_is_the_classic_rule(kind, rule, combines):
    """contamination="auto" flags the rows the rule flags on the numpy
    reference score, for the combines where the rule holds, and raises for
    the others (the C library decides; Python keeps no table of its own)."""
    rng = np.random.default_rng(11)
    X = rng.standard_normal((300, 4))
    X[[5, 70, 200], [0, 2, 3]] = [9.0, -8.0, 7.5]
    for combine in ("max", "mean", "l2"):
        est = make(kind, combine=combine, contamination="auto")
        if combine not in combines:
            with pytest.raises(anoma.ParameterValueError, match="combine=" + combine):
                est.fit(X)
            continue
        est.fit(X)
        ref = ref_combine(ref_feature_scores(kind, X, X), combine)
        assert est.threshold_ == rule and est.offset_ == -rule
        np.testing.assert_array_equal(est.predict(X), np.where(ref > rule, -1, 1))


@pytest.mark.parametrize("name", TABULAR)
def test_zscore_ddof(name):
    X, _ = load_csv(name)
    s = anoma.ZScore(ddof=1, combine="mean", contamination=0.1).fit(X).anomaly_score(X)
    np.testing.assert_allclose(s, ref_combine(ref_feature_scores("zscore", X, X, 1), "mean"),
                               rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("name", TABULAR)
@pytest.mark.parametrize("kind", ["zscore", "mad", "iqr"])
def test_nan_is_missing(name, kind):
    X, _ = load_csv(name)
    rng = np.random.default_rng(1)
    train = X.copy()
    train[rng.random(X.shape) < 0.05] = np.nan
    fs_ref = ref_feature_scores(kind, train, X)
    for combine in ("max", "mean", "l2"):
        est = make(kind, combine=combine, contamination=0.1).fit(train)
        np.testing.assert_allclose(est.anomaly_score(X), ref_combine(fs_ref, combine),
                                   rtol=RTOL, atol=ATOL)
        # scoring rows with missing values: they are left out of the combination
        fs_nan = ref_feature_scores(kind, train, train)
        s = est.anomaly_score(train)
        np.testing.assert_allclose(s, ref_combine(fs_nan, combine), rtol=RTOL, atol=ATOL)
        assert est.threshold_ == pytest.approx(np.percentile(s, 90), rel=1e-15, abs=0)
    all_missing = np.full((2, X.shape[1]), np.nan)
    np.testing.assert_array_equal(est.anomaly_score(all_missing), [0.0, 0.0])


# ---- input layouts --------------------------------------------------------

def _data():
    """One shared tabular dataset (cardio when present), or None."""
    names = dataset_names(tabular_only=True)
    if not names:
        return None
    return load_csv("cardio.csv" if "cardio.csv" in names else names[0])[0]


@pytest.mark.parametrize("kind", ["zscore", "mad", "iqr"])
def test_float32_and_layouts(kind):
    X = _data()
    if X is None:
        pytest.skip("no shared data")
    X32 = X.astype(np.float32)
    a = make(kind).fit(X32)
    b = make(kind).fit(X32.astype(np.float64))
    np.testing.assert_array_equal(a.score_samples(X32), b.score_samples(X32.astype(np.float64)))
    assert a.threshold_ == b.threshold_

    ref = make(kind).fit(X)
    variants = {
        "fortran": np.asfortranarray(X),
        "rows[::2]": X[::2],
        "cols[1:]": X[:, 1:],
        "cols[::2]": X[:, ::2],
        "reversed": X[::-1],
        "fortran float32": np.asfortranarray(X32),
        "int": np.round(X * 10).astype(np.int64),
        "list": X[:50].tolist(),
    }
    for what, V in variants.items():
        C = np.ascontiguousarray(V, dtype=np.asarray(V).dtype
                                 if np.asarray(V).dtype == np.float32 else np.float64)
        fit_v, fit_c = make(kind).fit(V), make(kind).fit(C)
        np.testing.assert_array_equal(fit_v.score_samples(V), fit_c.score_samples(C), what)
        assert fit_v.threshold_ == fit_c.threshold_, what
        if np.asarray(V).shape[1] == X.shape[1]:
            np.testing.assert_array_equal(ref.score_samples(V), ref.score_samples(C), what)


# ---- errors ---------------------------------------------------------------

def test_bad_inputs():
    X = np.random.default_rng(0).standard_normal((50, 3))
    est = anoma.ZScore().fit(X)
    with pytest.raises(ValueError, match="X has 2 features, but ZScore is expecting 3 features"):
        est.score_samples(X[:, :2])
    with pytest.raises(anoma.ShapeError, match="column"):
        est.model_.score(X[:, :2])
    with pytest.raises(anoma.ShapeError):
        est.model_.row_scorer().score(X[0, :2])
    bad = X.copy()
    bad[3, 1] = np.inf
    with pytest.raises(anoma.NonFiniteError):
        anoma.ZScore().fit(bad)
    with pytest.raises(anoma.NonFiniteError):
        est.score_samples(bad)
    with pytest.raises(anoma.NonFiniteError):
        est.model_.row_scorer().score(bad[3])
    with pytest.raises(ValueError, match=r"0 sample\(s\) \(shape=\(0, 3\)\)"):
        anoma.ZScore().fit(np.empty((0, 3)))
    with pytest.raises(ValueError, match=r"0 feature\(s\) \(shape=\(5, 0\)\)"):
        anoma.ZScore().fit(np.empty((5, 0)))
    with pytest.raises(anoma.EmptyInputError):
        anoma.Model().fit(np.empty((0, 3)))
    with pytest.raises(anoma.EmptyInputError):
        anoma.Model().fit(np.empty((5, 0)))
    with pytest.raises(ValueError, match="Expected 2D array"):
        anoma.ZScore().fit(X[:, 0])
    with pytest.raises(ValueError, match="Expected 2D array"):
        est.score_samples(X[0])
    with pytest.raises(ValueError, match="2-D"):
        anoma.Model().fit(X[:, 0])
    with pytest.raises(anoma.NotFittedError):
        anoma.MAD().score_samples(X)
    with pytest.raises(anoma.NotFittedError):
        anoma.Model().score(X)
    assert est.model_.score(np.empty((0, 3))).shape == (0,)


def test_bad_parameters():
    X = np.random.default_rng(0).standard_normal((50, 3))
    with pytest.raises(anoma.UnknownParameterError, match="bogus"):
        anoma.Model("", [("zscore", "bogus=1")])
    with pytest.raises(anoma.UnknownParameterError, match="bogus"):
        anoma.Model({"bogus": 3}, [])
    with pytest.raises(anoma.ParameterValueError, match="combine"):
        anoma.ZScore(combine="median").fit(X)
    with pytest.raises(anoma.ParameterValueError, match="contamination"):
        anoma.IQR(contamination=0.9).fit(X)
    with pytest.raises(anoma.ParameterValueError, match="ddof"):
        anoma.ZScore(ddof=5).fit(X)
    with pytest.raises(anoma.UnknownNameError, match="nosuch"):
        anoma.Model("", ["nosuch"])
    with pytest.raises(ValueError, match="Invalid parameter"):
        anoma.ZScore().set_params(bogus=1)


# ---- sklearn habits, pickling, files ----------------------------------------

def test_clone_and_params():
    base = pytest.importorskip("sklearn.base")
    est = anoma.IQR(combine="l2", k=3.0, contamination=0.05)
    assert est.get_params() == {"combine": "l2", "k": 3.0, "contamination": 0.05, "n_jobs": None}
    c = base.clone(est)
    assert c.get_params() == est.get_params() and c is not est
    assert est.set_params(k=2.0) is est and est.k == 2.0
    X = np.random.default_rng(0).standard_normal((100, 4))
    fitted = base.clone(est).fit(X)
    assert not hasattr(base.clone(fitted), "model_")
    validation = pytest.importorskip("sklearn.utils.validation")
    validation.check_is_fitted(fitted)


@pytest.mark.parametrize("kind", ["zscore", "mad", "iqr"])
def test_pickle_save_load_bytes(kind, tmp_path):
    X = _data()
    if X is None:
        X = np.random.default_rng(0).standard_normal((300, 5))
    est = make(kind, combine="mean", contamination=0.05).fit(X)
    s = est.score_samples(X)

    again = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(again.score_samples(X), s)
    assert again.threshold_ == est.threshold_ and again.get_params() == est.get_params()

    path = tmp_path / "m.anoma"
    est.model_.save(path)
    loaded = anoma.Model.load(str(path))
    np.testing.assert_array_equal(-loaded.score(X), s)
    assert loaded.threshold == est.threshold_ and loaded.detectors == [kind]
    assert os.listdir(tmp_path) == ["m.anoma"]  # no temporary file left behind

    data = est.model_.to_bytes()
    assert data == path.read_bytes()
    restored = anoma.Model.from_bytes(data)
    np.testing.assert_array_equal(-restored.score(X), s)
    np.testing.assert_array_equal(1 - 2 * restored.predict(X), est.predict(X))


def test_unfitted_model_pickles_its_parameters():
    X = np.random.default_rng(2).standard_normal((200, 3))
    m = anoma.Model("contamination=0.2", [("zscore", "combine=mean")])
    m.add_detector("iqr", {"combine": "l2"})
    m.set_detector_param(0, "ddof", 1)
    m2 = pickle.loads(pickle.dumps(m))
    assert not m2.is_fitted and m2.detectors == ["zscore", "iqr"]
    m.fit(X)
    m2.fit(X)
    np.testing.assert_array_equal(m.score(X), m2.score(X))
    assert m.threshold == m2.threshold


def test_corrupt_bytes_raise():
    X = np.random.default_rng(3).standard_normal((100, 4))
    data = anoma.Model().fit(X).to_bytes()
    for pos in (0, 3, 8, len(data) // 3, len(data) // 2, len(data) - 9, len(data) - 1):
        bad = bytearray(data)
        bad[pos] ^= 0xFF
        with pytest.raises(anoma.AnomaError):
            anoma.Model.from_bytes(bytes(bad))
    for n in range(len(data)):  # every truncation fails cleanly
        with pytest.raises(anoma.AnomaError):
            anoma.Model.from_bytes(data[:n])
    for pos in range(len(data)):  # any single flip: an error or a model, never a crash
        bad = bytearray(data)
        bad[pos] ^= 0x01
        try:
            anoma.Model.from_bytes(bytes(bad))
        except anoma.AnomaError:
            pass
    with pytest.raises(anoma.AnomaError):
        anoma.Model.from_bytes(b"")
    with pytest.raises(anoma.AnomaError):
        anoma.Model.load("/nonexistent/dir/model.anoma")


@pytest.mark.parametrize("kind", ["zscore", "mad", "iqr"])
def test_row_scorer_matches_batch(kind):
    X = _data()
    if X is None:
        pytest.skip("no shared data")
    model = make(kind, combine="l2", contamination=0.1).fit(X).model_
    batch, flags = model.score(X), model.predict(X)
    per_feature = model.feature_scores(X)
    scorer = model.row_scorer()
    del model  # the scorer keeps the model alive
    for i, row in enumerate(X):
        s, flag = scorer.score(row)
        assert s == batch[i] and flag == bool(flags[i]), i
        np.testing.assert_array_equal(scorer.feature_scores(row), per_feature[i])
    assert scorer.score(list(X[0])) == scorer.score(X[0])
