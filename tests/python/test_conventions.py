"""scikit-learn's outlier-detector conventions on every estimator, checked
against scikit-learn itself: check_estimator, its IsolationForest side by side
(signs, offset_, feature names and the messages it raises), one threshold for
predict and decision_function whichever way it is changed, the contamination
rules, sample weights, and the refusals of hostile input in the bindings."""
import errno
import os
import pickle
import subprocess
import warnings

import numpy as np
import pytest

from conftest import import_anoma

anoma = import_anoma()
sklearn = pytest.importorskip("sklearn")
from sklearn import datasets, ensemble  # noqa: E402
from sklearn.exceptions import NotFittedError as SklearnNotFittedError  # noqa: E402
from sklearn.utils.estimator_checks import check_estimator  # noqa: E402

CLI = os.environ.get("ANOMA_CLI")
ESTIMATORS = [anoma.ZScore, anoma.MAD, anoma.IQR, anoma.IsolationForest]


def gaussian(rows=400, cols=4, seed=0):
    return np.random.default_rng(seed).standard_normal((rows, cols))


def make(cls, **params):
    if cls is anoma.IsolationForest:
        params.setdefault("random_state", 0)
        params.setdefault("n_estimators", 50)
    return cls(**params)


# ---- scikit-learn's own battery ------------------------------------------------

def run_check_estimator(est):
    """check_estimator(est); returns the checks it skipped (pandas aside)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check_estimator(est)
    return [str(w.message) for w in caught
            if w.category.__name__ == "SkipTestWarning" and "pandas" not in str(w.message)]


@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda c: c.__name__)
def test_check_estimator(cls):
    """Every check of scikit-learn's check_estimator passes with the default
    parameters (zero sample weights remove rows in IsolationForest, so the
    check scikit-learn's own IsolationForest fails applies and passes here).
    Two checks are listed as not applying to the statistical detectors'
    default contamination="auto", with their reason, which is checked here:
    check_outliers_fit_predict and check_outliers_train want the default to
    flag some rows of make_blobs' data, and the classic rules rightly flag
    none; with a rate every check runs and passes."""
    assert cls()._more_tags()["allow_nan"] is True
    if cls is anoma.IsolationForest:
        assert "_xfail_checks" not in cls()._more_tags()
        assert not run_check_estimator(cls())
        return
    xfail = {"check_outliers_fit_predict", "check_outliers_train"}
    assert set(cls()._more_tags()["_xfail_checks"]) == xfail
    skipped = run_check_estimator(cls())  # check_outliers_train runs twice (memmap or not)
    assert sorted(name for msg in skipped for name in xfail if name in msg) == \
        ["check_outliers_fit_predict", "check_outliers_train", "check_outliers_train"]
    # the reason holds: on the check's data (numpy references) no value breaks the rule
    X, _ = datasets.make_blobs(n_samples=300, random_state=0)
    z = np.abs(X - X.mean(0)) / X.std(0)
    med = np.median(X, 0)
    m = np.abs(X - med) / (1.482602218505602 * np.median(np.abs(X - med), 0))
    q1, q3 = np.percentile(X, [25, 75], axis=0)
    outside = (X < q1 - 1.5 * (q3 - q1)) | (X > q3 + 1.5 * (q3 - q1))
    assert not {anoma.ZScore: z > 3, anoma.MAD: m > 3.5, anoma.IQR: outside}[cls].any()
    assert np.all(cls().fit_predict(X) == 1)
    # with a rate, nothing is skipped
    with_rate = cls(contamination=0.1)
    assert "_xfail_checks" not in with_rate._more_tags()
    assert not run_check_estimator(with_rate)


# ---- side by side with sklearn.ensemble.IsolationForest ------------------------

def test_signs_and_offset_match_sklearn_isolation_forest():
    rng = np.random.default_rng(1)
    X = np.vstack([rng.standard_normal((500, 3)), rng.uniform(-8, 8, (25, 3))])
    for contamination in ("auto", 0.05, 0.2):
        sk = ensemble.IsolationForest(random_state=0, contamination=contamination).fit(X)
        ours = anoma.IsolationForest(random_state=0, contamination=contamination).fit(X)
        for est in (sk, ours):
            s, d, p = est.score_samples(X), est.decision_function(X), est.predict(X)
            assert np.all(s < 0)  # higher = more normal, in [-1, 0)
            np.testing.assert_allclose(d, s - est.offset_, rtol=0, atol=1e-15)
            np.testing.assert_array_equal(p, np.where(d < 0, -1, 1))
            np.testing.assert_array_equal(est.fit_predict(X), p)
        if contamination == "auto":
            assert ours.offset_ == sk.offset_ == -0.5
        else:
            assert ours.offset_ == pytest.approx(np.percentile(ours.score_samples(X),
                                                               100 * contamination), abs=1e-15)
            assert abs(np.mean(ours.predict(X) == -1) - contamination) <= 1.5 / len(X)
        # both flag the planted rows first
        worst = np.argsort(ours.score_samples(X))[:20]
        assert np.mean(worst >= 500) >= 0.9
        np.testing.assert_array_equal(ours.anomaly_score(X), -ours.score_samples(X))


def test_statistical_signs():
    X = gaussian(300, 3, seed=2)
    X[7] = [9.0, 0.0, 0.0]
    for cls in (anoma.ZScore, anoma.MAD, anoma.IQR):
        est = cls().fit(X)
        a, s = est.anomaly_score(X), est.score_samples(X)
        np.testing.assert_array_equal(s, -a)
        assert np.argmin(s) == 7 and np.argmax(a) == 7  # the outlier: least normal
        assert est.predict(X)[7] == -1
        assert est.decision_function(X)[7] < 0


def pandas_or_skip():
    return pytest.importorskip("pandas")


def frame(columns, seed=0, rows=200):
    pd = pandas_or_skip()
    return pd.DataFrame(gaussian(rows, len(columns), seed), columns=columns)


def message(callable_, *args):
    """(type, message) of what callable_(*args) raises."""
    with pytest.raises(Exception) as info:
        callable_(*args)
    return type(info.value), str(info.value)


@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda c: c.__name__)
def test_column_names_as_sklearn(cls):
    """Regression: estimators ignored a DataFrame's column names, so
    reordered columns scored silently wrong. Now every mismatch raises a
    ValueError whose message is scikit-learn's, word for word."""
    X = frame(["b", "a", "c", "d"])
    ours = make(cls).fit(X)
    sk = ensemble.IsolationForest(random_state=0, n_estimators=10).fit(X)
    np.testing.assert_array_equal(ours.feature_names_in_, sk.feature_names_in_)
    assert ours.feature_names_in_.dtype == object and ours.n_features_in_ == 4
    assert ours.model_.feature_names == ["b", "a", "c", "d"]
    pd = pandas_or_skip()
    bad_frames = {
        "reordered": X[["a", "b", "c", "d"]],
        "missing": X[["b", "a", "c"]],
        "extra": X.assign(e=1.0),
        "renamed": X.rename(columns={"c": "C", "d": "D"}),
        "many unseen": pd.DataFrame(gaussian(5, 8), columns=["x%d" % i for i in range(8)]),
    }
    for what, bad in bad_frames.items():
        for method in ("predict", "decision_function", "score_samples"):
            expected = message(getattr(sk, method), bad)
            got = message(getattr(ours, method), bad)
            assert expected[0] is ValueError
            assert issubclass(got[0], ValueError), (what, method)
            assert got[1] == expected[1], (what, method)
    # the same columns in the fitted order score as the array does
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        np.testing.assert_array_equal(ours.score_samples(X), ours.score_samples(X.to_numpy()))


@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda c: c.__name__)
def test_column_name_warnings_and_types_as_sklearn(cls):
    X = frame(["a", "b", "c"])
    ours, sk = make(cls).fit(X), ensemble.IsolationForest(n_estimators=5).fit(X)

    def warning_of(est, data):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            est.score_samples(data)
        return [str(w.message).replace(type(est).__name__, "EST") for w in caught
                if issubclass(w.category, UserWarning)]

    assert warning_of(ours, X.to_numpy()) == warning_of(sk, X.to_numpy()) != []
    plain_ours = make(cls).fit(X.to_numpy())
    plain_sk = ensemble.IsolationForest(n_estimators=5).fit(X.to_numpy())
    assert warning_of(plain_ours, X) == warning_of(plain_sk, X) != []
    assert not hasattr(plain_ours, "feature_names_in_") and plain_ours.model_.feature_names is None
    assert warning_of(ours, X) == []
    # names that are not all str: no names (ints), or scikit-learn's TypeError (mixed)
    pd = pandas_or_skip()
    ints = pd.DataFrame(X.to_numpy(), columns=[0, 1, 2])
    assert not hasattr(make(cls).fit(ints), "feature_names_in_")
    mixed = pd.DataFrame(X.to_numpy(), columns=["a", 1, "c"])
    expected = message(ensemble.IsolationForest().fit, mixed)
    assert message(make(cls).fit, mixed) == expected and expected[0] is TypeError


def sklearn_message(method_of_sklearn, data, ours):
    """scikit-learn's message for data, with its class name replaced by ours."""
    kind, text = message(method_of_sklearn, data)
    name = type(method_of_sklearn.__self__).__name__
    return kind, text.replace(name, type(ours).__name__)


@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda c: c.__name__)
def test_input_errors_as_sklearn(cls):
    """Bad input raises what scikit-learn raises, with its message: its
    IsolationForest for shapes and complex values, its EllipticEnvelope for
    sparse matrices (its IsolationForest accepts them)."""
    sparse = pytest.importorskip("scipy.sparse")
    covariance = pytest.importorskip("sklearn.covariance")
    X = gaussian(50, 3)
    ours = make(cls).fit(X)
    forest = ensemble.IsolationForest(n_estimators=5).fit(X)
    envelope = covariance.EllipticEnvelope().fit(X)
    cases = {"1-D": (forest, X[:, 0]), "wrong width": (forest, X[:, :2]),
             "no rows": (forest, np.empty((0, 3))), "complex": (forest, X + 1j),
             "sparse": (envelope, sparse.csr_matrix(X))}
    for what, (sk, data) in cases.items():
        for method in ("predict", "score_samples", "decision_function"):
            kind, text = sklearn_message(getattr(sk, method), data, ours)
            got = message(getattr(ours, method), data)
            assert issubclass(got[0], kind) and got[1] == text, (what, method, got)
    cases = {"no rows": (ensemble.IsolationForest(), np.empty((0, 3))),
             "no columns": (ensemble.IsolationForest(), np.empty((5, 0))),
             "complex": (ensemble.IsolationForest(), X + 1j),
             "sparse": (covariance.EllipticEnvelope(), sparse.csr_matrix(X))}
    for what, (sk, data) in cases.items():
        kind, text = sklearn_message(sk.fit, data, ours)
        got = message(make(cls).fit, data)
        assert issubclass(got[0], kind) and got[1] == text, (what, got)


@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda c: c.__name__)
def test_not_fitted_is_sklearns(cls):
    for method in ("predict", "decision_function", "score_samples", "anomaly_score"):
        with pytest.raises(SklearnNotFittedError) as info:
            getattr(cls(), method)(gaussian(5, 2))
        e = info.value
        assert isinstance(e, anoma.NotFittedError) and isinstance(e, anoma.AnomaError)
        assert isinstance(e, ValueError) and isinstance(e, AttributeError)
        assert e.name == "ANOMA_ERR_NOT_FITTED" and cls.__name__ in str(e)
        again = pickle.loads(pickle.dumps(e))
        assert type(again) is type(e) and again.message == e.message
    for attr in ("offset_", "threshold_", "n_features_in_", "feature_names_in_"):
        assert not hasattr(cls(), attr)


# ---- one threshold ----------------------------------------------------------------

def consistent(est, X):
    """predict, decision_function, offset_ and threshold_ all follow the C
    model's threshold."""
    s, d, p = est.score_samples(X), est.decision_function(X), est.predict(X)
    assert est.offset_ == -est.model_.threshold and est.threshold_ == est.model_.threshold
    np.testing.assert_array_equal(d, s - est.offset_)
    np.testing.assert_array_equal(p, np.where(d < 0, -1, 1))
    np.testing.assert_array_equal(p, 1 - 2 * est.model_.predict(X))
    return p


@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda c: c.__name__)
def test_one_threshold_whichever_way_it_changes(cls, tmp_path):
    """Regression: offset_/threshold_ were copies taken at fit time, so a
    threshold set on the model moved predict but not decision_function."""
    X = gaussian(300, 3, seed=4)
    est = make(cls, contamination=0.1).fit(X)
    first = consistent(est, X)
    s = est.score_samples(X)
    order = np.sort(s)

    est.offset_ = order[100]  # a row's own score: its decision is 0, an inlier
    p = consistent(est, X)
    assert np.sum(p == -1) == 100 and p[np.argsort(s)[100]] == 1

    est.threshold_ = -order[50]
    assert np.sum(consistent(est, X) == -1) == 50
    est.model_.threshold = -order[10]
    assert est.offset_ == order[10] and np.sum(consistent(est, X) == -1) == 10
    est.model_.set_param("threshold", -order[20])
    assert np.sum(consistent(est, X) == -1) == 20

    again = pickle.loads(pickle.dumps(est))
    assert again.offset_ == order[20]
    np.testing.assert_array_equal(consistent(again, X), est.predict(X))

    path = tmp_path / "m.anoma"
    est.model_.save(str(path))
    loaded = anoma.Model.load(str(path))
    assert loaded.threshold == -order[20]

    est.set_params(contamination=0.05).fit(X)
    assert abs(np.mean(consistent(est, X) == -1) - 0.05) <= 1.5 / len(X)
    est.set_params(contamination=0.1).fit(X)
    np.testing.assert_array_equal(consistent(est, X), first)


# ---- contamination -------------------------------------------------------------------

@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda c: c.__name__)
def test_contamination_rules(cls):
    X = gaussian(500, 3, seed=6)
    default = cls().get_params()["contamination"]
    assert default == "auto"  # as scikit-learn's IsolationForest, and the CLI for one detector
    # a rate: that share of the training rows is flagged (no ties here)
    for c in (0.01, 0.1, 0.5):
        est = make(cls, contamination=c).fit(X)
        assert np.sum(est.predict(X) == -1) == pytest.approx(c * len(X), abs=1)
        assert est.threshold_ == pytest.approx(np.percentile(est.anomaly_score(X),
                                                             100 * (1 - c)), abs=1e-15)
    for bad in (0, -0.1, 0.51, 1, "high", None, True):
        with pytest.raises(ValueError, match="contamination"):
            make(cls, contamination=bad).fit(X)


def test_auto_is_the_classic_rule():
    """contamination="auto": the three-sigma rule (ZScore), Iglewicz and
    Hoaglin's 3.5 (MAD), Tukey's fences at k (IQR), with combine="max"."""
    X = gaussian(1000, 3, seed=8)
    X[::97, 1] += 6
    z = np.abs(X - X.mean(0)) / X.std(0)
    med = np.median(X, 0)
    m = np.abs(X - med) / (1.482602218505602 * np.median(np.abs(X - med), 0))
    q1, q3 = np.percentile(X, [25, 75], axis=0)
    expected = {anoma.ZScore(contamination="auto"): (z > 3).any(1),
                anoma.MAD(contamination="auto"): (m > 3.5).any(1)}
    for k in (0.5, 1.5, 3.0):
        iqr = q3 - q1
        outside = ((X < q1 - k * iqr) | (X > q3 + k * iqr)).any(1)
        expected[anoma.IQR(k=k, contamination="auto")] = outside
        expected[anoma.IQR(k=k, combine="l2", contamination="auto")] = outside
    for est, flagged in expected.items():
        assert 0 < flagged.sum() < len(X)
        np.testing.assert_array_equal(est.fit(X).predict(X), np.where(flagged, -1, 1), repr(est))
    assert anoma.IQR(contamination="auto").fit(X).threshold_ == 0


def test_iqr_k_changes_what_it_should():
    """Regression: k changed neither scores nor thresholds. Now it moves the
    fences: feature scores shift by k (numpy reference), l2 rankings and
    Tukey decisions change."""
    X = gaussian(400, 3, seed=9)
    q1, q3 = np.percentile(X, [25, 75], axis=0)
    for k in (0.0, 1.5, 3.0):
        ref = np.maximum(q1 - X, X - q3) / (q3 - q1) - k
        est = anoma.IQR(k=k).fit(X)
        np.testing.assert_allclose(est.feature_scores(X), ref, rtol=1e-13, atol=1e-13)
        np.testing.assert_allclose(est.anomaly_score(X), ref.max(1), rtol=1e-13, atol=1e-13)
    l2 = [anoma.IQR(k=k, combine="l2").fit(X).score_samples(X) for k in (0.0, 1.5)]
    assert not np.array_equal(np.argsort(l2[0]), np.argsort(l2[1]))
    auto = [anoma.IQR(k=k, contamination="auto").fit(X).predict(X) for k in (1.0, 2.0)]
    assert np.sum(auto[0] == -1) > np.sum(auto[1] == -1)


# ---- sample weights ---------------------------------------------------------------------

def test_sample_weight_removes_rows_or_is_refused():
    X = gaussian(300, 3, seed=10)
    extra = gaussian(40, 3, seed=11) * 5
    both = np.vstack([X, extra])
    w = np.r_[np.ones(300), np.zeros(40)]
    plain = anoma.IsolationForest(random_state=3).fit(X)
    weighted = anoma.IsolationForest(random_state=3).fit(both, sample_weight=w)
    assert weighted.model_.to_bytes() == plain.model_.to_bytes()
    assert weighted.max_samples_ == plain.max_samples_ == 256
    with pytest.raises(ValueError, match=r"sample_weight\[2\]"):
        anoma.IsolationForest().fit(X, sample_weight=np.r_[1, 1, -1, np.ones(297)])
    with pytest.raises(ValueError, match="sample_weight"):
        anoma.IsolationForest().fit(X, sample_weight=np.ones(5))
    with pytest.raises(ValueError, match="0 sample"):
        anoma.IsolationForest().fit(X, sample_weight=np.zeros(300))
    for cls in (anoma.ZScore, anoma.MAD, anoma.IQR):
        with pytest.raises(TypeError, match="sample_weight"):
            cls().fit(X, sample_weight=np.ones(300))


# ---- names into the model file and the CLI ----------------------------------------------

@pytest.mark.skipif(not CLI or not os.path.exists(CLI), reason="ANOMA_CLI is not set")
@pytest.mark.parametrize("cls", [anoma.MAD, anoma.IsolationForest], ids=lambda c: c.__name__)
def test_model_from_a_dataframe_scores_a_csv_by_name(cls, tmp_path):
    X = frame(["speed", "load", "temp"], seed=12)
    est = make(cls).fit(X)
    path = tmp_path / "m.anoma"
    est.model_.save(str(path))
    data = tmp_path / "data.csv"
    X[["temp", "speed", "load"]].assign(id=np.arange(len(X))).to_csv(data, index=False,
                                                                       float_format="%.17g")
    p = subprocess.run([CLI, "score", str(path), str(data)], capture_output=True, text=True,
                       check=True)
    out = np.loadtxt(p.stdout.splitlines()[1:], delimiter=",", ndmin=2)
    np.testing.assert_array_equal(out[:, 0], est.anomaly_score(X))
    np.testing.assert_array_equal(np.where(out[:, 1] == 1, -1, 1), est.predict(X))


# ---- errors ---------------------------------------------------------------------------

def test_missing_model_file_is_file_not_found(tmp_path):
    """Regression: a missing file raised a bare AnomaError."""
    path = str(tmp_path / "absent.anoma")
    with pytest.raises(FileNotFoundError) as info:
        anoma.Model.load(path)
    e = info.value
    assert isinstance(e, anoma.AnomaError) and e.errno == errno.ENOENT
    assert e.filename == path and e.name == "ANOMA_ERR_IO" and "absent.anoma" in str(e)
    assert isinstance(pickle.loads(pickle.dumps(e)), FileNotFoundError)
    with pytest.raises(anoma.AnomaError) as info:  # exists, but not a model file
        anoma.Model.load(str(tmp_path))
    assert not isinstance(info.value, FileNotFoundError)


# ---- hostile input in the bindings (issue 7, item 7) --------------------------------

def test_nul_in_parameter_text_is_refused():
    """Regression: the C side cut the text at the NUL, so the rest was ignored."""
    with pytest.raises(ValueError, match="NUL"):
        anoma.Model("contamination=0.2\x00 garbage=1")
    with pytest.raises(ValueError, match="NUL"):
        anoma.Model({"contamination": "0.2\x00garbage"})
    with pytest.raises(ValueError, match="NUL"):
        anoma.Model("", [("zscore", "combine=max\x00 bogus=1")])
    with pytest.raises(ValueError, match="NUL"):
        anoma.Model().set_param("contamination", "0.2\x00x")
    with pytest.raises(ValueError, match="NUL"):
        anoma.ZScore(combine="max\x00junk").fit(gaussian(20, 2))


def test_nul_in_detector_name_is_refused():
    with pytest.raises(ValueError, match="detector name"):
        anoma.Model("", ["zscore\x00anything"])
    with pytest.raises(ValueError, match="detector name"):
        anoma.Model("", []).add_detector("mad\x00")


def test_nul_in_feature_name_is_refused():
    """Regression: "a\\0b" was stored as "a"."""
    m = anoma.Model().fit(gaussian(20, 2))
    with pytest.raises(ValueError, match="feature name"):
        m.feature_names = ["a\x00b", "c"]
    assert m.feature_names is None
    pd = pandas_or_skip()
    with pytest.raises(ValueError, match="feature name"):
        anoma.MAD().fit(pd.DataFrame(gaussian(20, 2), columns=["a\x00b", "c"]))


def test_detector_index_out_of_range_is_refused():
    """Regression: 2**64 + 1 wrapped to 1 and scored the second detector."""
    X = gaussian(100, 3)
    m = anoma.Model("", ["zscore", "mad"]).fit(X)
    scorer = m.row_scorer()
    for bad in (2, 2 ** 64 + 1, 2 ** 64, -1, -(2 ** 64) + 1):
        with pytest.raises(IndexError, match="detector=%d is out of range" % bad):
            m.detector_scores(X, bad)
        with pytest.raises(IndexError):
            m.feature_scores(X, bad)
        with pytest.raises(IndexError):
            scorer.feature_scores(X[0], bad)
        with pytest.raises(IndexError):
            anoma.Model("", ["zscore", "mad"]).set_detector_param(bad, "combine", "mean")
    for bad in (1.0, "1", None):
        with pytest.raises(TypeError):
            m.detector_scores(X, bad)
    np.testing.assert_array_equal(m.detector_scores(X, np.int64(1)), m.detector_scores(X, 1))


def test_complex_input_is_refused():
    """Regression: the imaginary part was dropped with a warning at most."""
    X = gaussian(50, 3)
    Z = X + 1j
    m = anoma.Model().fit(X)
    for call in (lambda: anoma.Model().fit(Z), lambda: m.score(Z), lambda: m.predict(Z),
                 lambda: m.row_scorer().score(Z[0]), lambda: m.row_scorer().feature_scores(Z[0]),
                 lambda: m.score(Z.astype(object)), lambda: m.score([[1 + 2j, 0, 0]]),
                 lambda: anoma.ZScore().fit(Z), lambda: anoma.ZScore().fit(X).predict(Z)):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            with pytest.raises(ValueError, match="Complex data not supported"):
                call()


def test_parameter_keys_must_be_str():
    """Regression: bytes keys raised AttributeError from deep inside."""
    with pytest.raises(TypeError, match="parameter names must be str"):
        anoma.Model({b"contamination": 0.1})
    with pytest.raises(TypeError, match="parameter contamination"):
        anoma.Model({"contamination": b"0.1"})
    with pytest.raises(TypeError, match="key=value text or a dict"):
        anoma.Model(b"contamination=0.1")
    with pytest.raises(TypeError, match="detector name must be str"):
        anoma.Model("", [b"zscore"])


# ---- every parameter does something ---------------------------------------------------

# Two values of each parameter and what they change: a parameter that
# changed nothing (IQR's k did) would make a grid search over it meaningless.
PARAMETER_EFFECTS = {
    anoma.ZScore: {"combine": ("max", "mean"), "ddof": (0, 1), "contamination": (0.05, 0.2)},
    anoma.MAD: {"combine": ("max", "l2"), "contamination": (0.05, 0.2)},
    anoma.IQR: {"combine": ("max", "l2"), "k": (0.5, 3.0), "contamination": (0.05, 0.2)},
    anoma.IsolationForest: {"n_estimators": (10, 50), "max_samples": (32, "auto"),
                            "contamination": ("auto", 0.2), "max_features": (1.0, 0.5),
                            "bootstrap": (False, True), "random_state": (0, 1),
                            "extension_level": (0, 2)},
}
# n_jobs is a run-time option: results are the same for every thread count
# by design (test_iforest.py and test_runtime_options.py check that).
RUN_TIME_ONLY = {cls: {"n_jobs"} for cls in ESTIMATORS}


@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda c: c.__name__)
def test_every_parameter_changes_the_result(cls):
    assert set(PARAMETER_EFFECTS[cls]) | RUN_TIME_ONLY.get(cls, set()) == set(cls._param_names())
    X = gaussian(300, 4, seed=13)
    X[::30, 2] += 5
    for key, (a, b) in PARAMETER_EFFECTS[cls].items():
        # a combine without a classic rule needs a rate (the default "auto" raises)
        base = {"contamination": 0.1} if key == "combine" else {}
        fitted = [make(cls, **base, **{key: v}).fit(X) for v in (a, b)]
        scores = [f.score_samples(X) for f in fitted]
        decisions = [f.predict(X) for f in fitted]
        assert (not np.array_equal(scores[0], scores[1])
                or not np.array_equal(decisions[0], decisions[1])), key
