"""anoma.IsolationForest and anoma.from_sklearn against scikit-learn's
IsolationForest: converted forests score as scikit-learn's to 1e-12, natively
trained ones rank as well (ROC AUC), and the estimator keeps scikit-learn's
signs and habits (clone, pickle, model selection)."""
import os
import pickle
import subprocess

import numpy as np
import pytest

from conftest import dataset_names, dataset_params, import_anoma, load_csv

anoma = import_anoma()
ensemble = pytest.importorskip("sklearn.ensemble")
metrics = pytest.importorskip("sklearn.metrics")

DATASETS = dataset_params()
CLI = os.environ.get("ANOMA_CLI")


def gaussian(rows=500, cols=4, seed=0):
    return np.random.default_rng(seed).standard_normal((rows, cols))


# ---- (a) converted scikit-learn forests score as scikit-learn's ---------

VARIANTS = {"default": {},
            "subsampled": dict(max_samples=64, max_features=0.5, bootstrap=True,
                               contamination=0.05)}


@pytest.mark.parametrize("variant", sorted(VARIANTS))
@pytest.mark.parametrize("name", DATASETS)
def test_from_sklearn_matches_sklearn(name, variant):
    X, _ = load_csv(name)
    sk = ensemble.IsolationForest(random_state=0, **VARIANTS[variant]).fit(X)
    est = anoma.from_sklearn(sk)
    ours, theirs = est.score_samples(X), sk.score_samples(X)
    # numpy's log/power may differ from the C library's in the last bit
    assert np.max(np.abs(ours - theirs)) <= 1e-12
    assert est.offset_ == sk.offset_ and est.model_.threshold == -sk.offset_
    assert est.max_samples_ == sk.max_samples_ and est.n_features_in_ == X.shape[1]
    np.testing.assert_array_equal(est.predict(X), sk.predict(X))
    np.testing.assert_allclose(est.decision_function(X), sk.decision_function(X), rtol=0,
                               atol=1e-12)
    np.testing.assert_array_equal(est.anomaly_score(X), -ours)
    assert est.get_params()["max_samples"] == sk.max_samples


def test_from_sklearn_other_settings():
    X = gaussian(700, 5, seed=1)
    X[::50, 2] = 40.0
    for params in (dict(max_samples=100, max_features=3), dict(max_samples=0.3, bootstrap=True),
                   dict(max_samples=1), dict(n_estimators=7, max_features=1)):
        sk = ensemble.IsolationForest(random_state=4, **params).fit(X)
        est = anoma.from_sklearn(sk)
        assert np.max(np.abs(est.score_samples(X) - sk.score_samples(X))) <= 1e-12, params
        np.testing.assert_array_equal(est.predict(X), sk.predict(X))


def test_from_sklearn_saves_and_loads(tmp_path):
    X, _ = load_csv(dataset_names()[0]) if dataset_names() else (gaussian(), None)
    sk = ensemble.IsolationForest(random_state=0, max_features=0.5, contamination=0.1).fit(X)
    est = anoma.from_sklearn(sk)
    path = tmp_path / "converted.anoma"
    est.model_.save(str(path))
    loaded = anoma.Model.load(str(path))
    np.testing.assert_array_equal(loaded.score(X), est.anomaly_score(X))
    np.testing.assert_array_equal(1 - 2 * loaded.predict(X), sk.predict(X))
    assert loaded.threshold == -sk.offset_ and loaded.detectors == ["iforest"]
    assert "float32" in loaded.describe()
    scorer = loaded.row_scorer()
    assert all(scorer.score(row)[0] == s for row, s in zip(X[:50], est.anomaly_score(X[:50])))
    assert anoma.Model.from_bytes(path.read_bytes()).to_bytes() == path.read_bytes()


def test_from_sklearn_feature_names_and_errors():
    X = gaussian()
    sk = ensemble.IsolationForest(random_state=0).fit(X)
    sk.feature_names_in_ = np.array(["a", "b", "c", "d"], dtype=object)  # as from a DataFrame
    assert anoma.from_sklearn(sk).model_.feature_names == ["a", "b", "c", "d"]
    with pytest.raises(ValueError, match="fitted"):
        anoma.from_sklearn(ensemble.IsolationForest())


# ---- (b) native training ranks as scikit-learn does ----------------------

def mean_auc_over_seeds(X, y, seeds):
    ours = np.mean([metrics.roc_auc_score(y, anoma.IsolationForest(random_state=s)
                                          .fit(X).anomaly_score(X)) for s in seeds])
    theirs = np.mean([metrics.roc_auc_score(y, -ensemble.IsolationForest(random_state=s)
                                            .fit(X).score_samples(X)) for s in seeds])
    return ours, theirs


@pytest.mark.parametrize("name", dataset_params())
def test_native_roc_auc_close_to_sklearn(name):
    """Mean ROC AUC over 5 seeds within 0.01 of scikit-learn's. On a few sets
    (satellite, skab_other_9, skab_valve1_0 when measured) one forest's AUC
    varies by several hundredths from seed to seed, so 5-seed means can differ
    by more than 0.01 with no bias at all; there 30 seeds decide, with the
    same 0.01 bound."""
    X, y = load_csv(name)
    if y.min() == y.max():
        pytest.skip("one class only")
    ours, theirs = mean_auc_over_seeds(X, y, range(5))
    if abs(ours - theirs) > 0.01:
        ours, theirs = mean_auc_over_seeds(X, y, range(30))
    assert abs(ours - theirs) <= 0.01, (ours, theirs)


# ---- signs, threshold, offset ------------------------------------------------

def test_signs_and_offset():
    X = gaussian(1000, 5)
    est = anoma.IsolationForest(random_state=1).fit(X)
    assert est.offset_ == -0.5 and est.model_.threshold == 0.5
    s = est.score_samples(X)
    np.testing.assert_array_equal(s, -est.model_.score(X))
    np.testing.assert_array_equal(est.anomaly_score(X), -s)
    np.testing.assert_array_equal(est.decision_function(X), s - est.offset_)
    assert np.all((s < 0) & (s >= -1))
    for c in (0.01, 0.05, 0.1, 0.185, 0.5):
        est = anoma.IsolationForest(random_state=1, contamination=c).fit(X)
        s = est.score_samples(X)
        reference = np.percentile(s, 100 * c)
        # the library interpolates the same two scores from the other end
        assert abs(est.offset_ - reference) <= 2 * np.spacing(abs(reference)), c
        assert est.offset_ == -est.model_.threshold
        pred = est.predict(X)
        np.testing.assert_array_equal(pred, np.where(s - est.offset_ < 0, -1, 1))
        assert abs(np.mean(pred == -1) - c) <= 1.5 / len(X)


def test_max_samples_and_features_resolution():
    X = gaussian(500, 4)
    assert anoma.IsolationForest(random_state=0).fit(X).max_samples_ == 256
    assert anoma.IsolationForest(max_samples=0.3, random_state=0).fit(X).max_samples_ == 150
    assert anoma.IsolationForest(max_samples=100, random_state=0).fit(X).max_samples_ == 100
    with pytest.warns(UserWarning, match="max_samples"):
        assert anoma.IsolationForest(max_samples=900, random_state=0).fit(X).max_samples_ == 500
    one = anoma.IsolationForest(max_samples=1, random_state=0).fit(X)  # as scikit-learn: all 0.5
    assert one.max_samples_ == 1 and np.all(one.score_samples(X) == -0.5)
    assert "max_samples: 1 " in one.model_.describe()
    # max_features=1 (one feature per tree) is not "all features" as the C text "1" is
    X[::25, 0] = 30.0  # outliers in feature 0 only
    full = anoma.IsolationForest(random_state=0).fit(X).anomaly_score(X)
    single = anoma.IsolationForest(max_features=1, random_state=0).fit(X).anomaly_score(X)
    assert not np.array_equal(full, single)


# ---- (c) determinism ------------------------------------------------------------

@pytest.mark.parametrize("params", [{}, dict(bootstrap=True, max_features=0.5),
                                    dict(extension_level=2)])
def test_thread_count_gives_the_same_forest(params):
    X = gaussian(3000, 6, seed=3)
    one = anoma.IsolationForest(random_state=7, n_jobs=1, **params).fit(X)
    two = anoma.IsolationForest(random_state=7, n_jobs=2, **params).fit(X)
    every = anoma.IsolationForest(random_state=7, n_jobs=-1, **params).fit(X)
    np.testing.assert_array_equal(one.anomaly_score(X), two.anomaly_score(X))
    np.testing.assert_array_equal(one.anomaly_score(X), every.anomaly_score(X))
    assert one.model_.to_bytes() == two.model_.to_bytes() == every.model_.to_bytes()
    again = anoma.IsolationForest(random_state=7, n_jobs=1, **params).fit(X)
    assert again.model_.to_bytes() == one.model_.to_bytes()


def test_random_state_kinds():
    X = gaussian(300, 3)

    def fitted_bytes(random_state):
        return anoma.IsolationForest(random_state=random_state).fit(X).model_.to_bytes()

    assert fitted_bytes(5) == fitted_bytes(5) != fitted_bytes(6)
    np.random.seed(11)
    first = fitted_bytes(None)
    np.random.seed(11)
    assert fitted_bytes(None) == first
    assert fitted_bytes(np.random.RandomState(3)) == fitted_bytes(np.random.RandomState(3))
    rs = np.random.RandomState(3)
    assert fitted_bytes(rs) != fitted_bytes(rs)  # the generator moves on, as in scikit-learn


# ---- (d) missing values --------------------------------------------------------

def test_nan_rows_score_finite():
    X = gaussian(1000, 5, seed=2)
    X[np.random.default_rng(0).random(X.shape) < 0.1] = np.nan
    X[3] = np.nan
    for params in ({}, dict(extension_level=2), dict(bootstrap=True, max_features=0.6)):
        est = anoma.IsolationForest(random_state=0, **params).fit(X)
        s = est.anomaly_score(X)
        assert np.all(np.isfinite(s)) and np.all((s > 0) & (s <= 1))
        assert np.all(np.isfinite(est.feature_contributions(X)))
        assert set(np.unique(est.predict(X))) <= {-1, 1}
    sk = ensemble.IsolationForest(random_state=0).fit(np.nan_to_num(X))
    assert np.all(np.isfinite(anoma.from_sklearn(sk).score_samples(X)))


# ---- (e) bad parameters ----------------------------------------------------------

@pytest.mark.parametrize("params, key", [
    (dict(n_estimators=0), "n_estimators"),
    (dict(n_estimators=2.5), "n_estimators"),
    (dict(max_samples=0), "max_samples"),
    (dict(max_samples=1.5), "max_samples"),
    (dict(max_samples="all"), "max_samples"),
    (dict(max_features=0), "max_features"),
    (dict(max_features=9), "max_features"),
    (dict(extension_level=3), "extension_level"),
    (dict(extension_level=-1), "extension_level"),
    (dict(contamination=0.7), "contamination"),
    (dict(contamination=0), "contamination"),
    (dict(contamination="high"), "contamination"),
    (dict(random_state=-1), "random_state"),
    (dict(random_state="x"), "random_state"),
    (dict(n_jobs=0), "n_jobs"),
])
def test_bad_parameters_name_the_key(params, key):
    with pytest.raises(ValueError, match=key):
        anoma.IsolationForest(**params).fit(gaussian(100, 3))


# ---- (f) explanation -----------------------------------------------------------

def planted():
    X = gaussian(2000, 6, seed=5)
    X[0, 3] = 8.0
    return X


def test_explanation_ranks_the_planted_feature_first():
    X = planted()
    est = anoma.IsolationForest(random_state=0).fit(X)
    c = est.feature_contributions(X)
    assert c.shape == X.shape and np.argmax(c[0]) == 3
    np.testing.assert_allclose(c.sum(axis=1), 1 + np.log2(est.anomaly_score(X)), atol=1e-12)
    sk = anoma.from_sklearn(ensemble.IsolationForest(random_state=0).fit(X))
    assert np.argmax(sk.feature_contributions(X)[0]) == 3
    extended = anoma.IsolationForest(random_state=0, extension_level=2).fit(X)
    assert np.argmax(extended.feature_contributions(X[:1])[0]) == 3


@pytest.mark.skipif(not CLI or not os.path.exists(CLI), reason="ANOMA_CLI is not set")
def test_cli_explain_and_score_converted_model(tmp_path):
    X = planted()
    data = tmp_path / "planted.csv"
    np.savetxt(data, X, delimiter=",", header=",".join("c%d" % j for j in range(6)),
               comments="", fmt="%.17g")
    model = tmp_path / "native.anoma"
    anoma.IsolationForest(random_state=0).fit(X).model_.save(str(model))
    p = subprocess.run([CLI, "score", str(model), str(data), "--explain", "1"],
                       capture_output=True, text=True, check=True)
    lines = [line.split(",") for line in p.stdout.splitlines()]
    assert lines[0] == ["score", "is_anomaly", "feature_1", "contribution_1"]
    assert lines[1][2] == "f3"  # no feature names in the model: f<column>

    sk = ensemble.IsolationForest(random_state=0, contamination=0.01).fit(X)
    converted = tmp_path / "converted.anoma"
    anoma.from_sklearn(sk).model_.save(str(converted))
    p = subprocess.run([CLI, "score", str(converted), str(data)], capture_output=True, text=True,
                       check=True)
    out = np.loadtxt(p.stdout.splitlines()[1:], delimiter=",")
    assert np.max(np.abs(-out[:, 0] - sk.score_samples(X))) <= 1e-12
    np.testing.assert_array_equal(1 - 2 * out[:, 1], sk.predict(X))


# ---- (g) scikit-learn habits ------------------------------------------------------

def test_clone_pickle_predict():
    base = pytest.importorskip("sklearn.base")
    est = anoma.IsolationForest(n_estimators=50, max_samples=128, contamination=0.1,
                                random_state=3)
    assert est.get_params() == dict(n_estimators=50, max_samples=128, contamination=0.1,
                                    max_features=1.0, bootstrap=False, random_state=3,
                                    n_jobs=1, extension_level=0)
    c = base.clone(est)
    assert c is not est and c.get_params() == est.get_params()
    X = gaussian(400, 4)
    est.fit(X)
    assert not hasattr(base.clone(est), "model_")
    pytest.importorskip("sklearn.utils.validation").check_is_fitted(est)
    again = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(again.score_samples(X), est.score_samples(X))
    assert again.offset_ == est.offset_ and again.max_samples_ == 128
    pred = est.predict(X)
    assert set(np.unique(pred)) == {-1, 1}
    np.testing.assert_array_equal(pred == -1, est.decision_function(X) < 0)
    np.testing.assert_array_equal(est.fit_predict(X), pred)
    with pytest.raises(anoma.NotFittedError):
        anoma.IsolationForest().predict(X)
    assert "IsolationForest(" in repr(est)


# ---- (h) model selection -----------------------------------------------------------

def test_model_selection_runs():
    ms = pytest.importorskip("sklearn.model_selection")
    rng = np.random.default_rng(0)
    X = np.vstack([rng.standard_normal((300, 4)), rng.uniform(-6, 6, (20, 4))])
    y = np.r_[np.zeros(300, int), np.ones(20, int)]

    def auc(estimator, X, y):
        return metrics.roc_auc_score(y, -estimator.score_samples(X))

    cv = ms.StratifiedKFold(3, shuffle=True, random_state=0)
    scores = ms.cross_val_score(anoma.IsolationForest(random_state=0), X, y, scoring=auc, cv=cv)
    assert scores.shape == (3,) and np.all(scores > 0.8)
    search = ms.GridSearchCV(anoma.IsolationForest(random_state=0),
                             {"n_estimators": [10, 50], "max_samples": [64, "auto"]},
                             scoring=auc, cv=cv).fit(X, y)
    assert search.best_params_["n_estimators"] in (10, 50)
    assert search.best_estimator_.score_samples(X).shape == (320,)
