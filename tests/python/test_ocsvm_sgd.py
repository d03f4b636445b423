"""anoma.SGDOneClassSVM against scikit-learn's SGDOneClassSVM (map="none":
the same SGD, visit for visit) and against the kernel solver (a kernel map:
ROC AUC on every shared dataset)."""
import pickle
import warnings

import numpy as np
import pytest

from conftest import dataset_params, import_anoma, load_csv

anoma = import_anoma()
linear_model = pytest.importorskip("sklearn.linear_model")
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.metrics import roc_auc_score  # noqa: E402
from sklearn.utils.estimator_checks import check_estimator  # noqa: E402

DATASETS = dataset_params()
MAX_ROWS = 5000


def standardized(name):
    """A shared dataset (at most MAX_ROWS rows, a fixed random subset in row
    order), each feature scaled to mean 0 and variance 1, and its labels."""
    X, y = load_csv(name)
    if len(X) > MAX_ROWS:
        keep = np.sort(np.random.default_rng(0).choice(len(X), MAX_ROWS, replace=False))
        X, y = X[keep], y[keep]
    std = X.std(axis=0)
    return (X - X.mean(axis=0)) / np.where(std > 0, std, 1), y


def gaussian(rows=400, cols=4, seed=0):
    rng = np.random.default_rng(seed)
    return np.vstack([rng.standard_normal((rows, cols)) + 1,
                      rng.uniform(-6, 6, (rows // 15, cols))])


def assert_same_sgd(ours, sk, X):
    np.testing.assert_allclose(ours.coef_, sk.coef_, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(ours.offset_, sk.offset_, rtol=1e-10, atol=1e-12)
    assert ours.n_iter_ == sk.n_iter_ and ours.t_ == sk.t_
    np.testing.assert_allclose(ours.decision_function(X), sk.decision_function(X), rtol=1e-9,
                               atol=1e-10)
    np.testing.assert_allclose(ours.score_samples(X), sk.score_samples(X), rtol=1e-9, atol=1e-10)
    np.testing.assert_array_equal(ours.predict(X), sk.predict(X))


# ---- map="none" is scikit-learn's SGDOneClassSVM -----------------------------

@pytest.mark.parametrize("params", [
    dict(), dict(average=True), dict(average=50, nu=0.1), dict(random_state=7, nu=0.9),
    dict(learning_rate="constant", eta0=0.01), dict(learning_rate="invscaling", eta0=0.05),
    dict(learning_rate="adaptive", eta0=0.1), dict(fit_intercept=False), dict(shuffle=False),
    dict(tol=None, max_iter=7)],
    ids=lambda p: " ".join("%s=%s" % kv for kv in p.items()) or "default")
def test_linear_matches_sklearn(params):
    X = gaussian()
    params = dict(dict(random_state=3, average=False), **params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        sk = linear_model.SGDOneClassSVM(**params).fit(X)
        ours = anoma.SGDOneClassSVM(map="none", **params).fit(X)
    assert_same_sgd(ours, sk, X)


def test_sample_weight_matches_sklearn():
    X = gaussian(seed=1)
    w = np.random.default_rng(2).uniform(0, 2, len(X))
    w[:10] = 0
    sk = linear_model.SGDOneClassSVM(random_state=0, average=True).fit(X, sample_weight=w)
    ours = anoma.SGDOneClassSVM(map="none", random_state=0, average=True).fit(
        X, sample_weight=w)
    assert_same_sgd(ours, sk, X)


@pytest.mark.parametrize("name", DATASETS)
def test_linear_matches_sklearn_on_shared_data(name):
    X = standardized(name)[0]
    sk = linear_model.SGDOneClassSVM(nu=0.1, random_state=0, average=True).fit(X)
    ours = anoma.SGDOneClassSVM(map="none", nu=0.1, random_state=0).fit(X)
    assert_same_sgd(ours, sk, X)


def test_max_iter_warns_as_sklearn():
    X = gaussian(seed=3)
    with pytest.warns(ConvergenceWarning):
        sk = linear_model.SGDOneClassSVM(max_iter=2, random_state=0, average=True).fit(X)
    with pytest.warns(ConvergenceWarning, match="Maximum number of iteration"):
        ours = anoma.SGDOneClassSVM(map="none", max_iter=2, random_state=0).fit(X)
    assert_same_sgd(ours, sk, X)


# ---- a kernel map: the kernel solver's ranking, in linear time ---------------

@pytest.mark.parametrize("name", DATASETS)
def test_roc_auc_near_the_kernel_solver(name):
    X, y = standardized(name)
    if len(np.unique(y)) < 2:
        pytest.skip("one class only")
    kernel = roc_auc_score(y, anoma.OneClassSVM(nu=0.1).fit(X).anomaly_score(X))
    sgd = roc_auc_score(y, anoma.SGDOneClassSVM(nu=0.1, random_state=0).fit(X).anomaly_score(X))
    assert sgd >= kernel - 0.02, "ROC AUC %.4f, kernel solver %.4f" % (sgd, kernel)


# ---- scikit-learn's conventions ---------------------------------------------

def test_check_estimator_with_sklearns_own_exception():
    assert anoma.SGDOneClassSVM()._more_tags()["_xfail_checks"] == \
        linear_model.SGDOneClassSVM()._more_tags()["_xfail_checks"]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check_estimator(anoma.SGDOneClassSVM(n_components=20))
    skipped = [str(w.message) for w in caught if w.category.__name__ == "SkipTestWarning"]
    assert skipped and all("check_sample_weights_invariance" in m for m in skipped)


def test_signs_threshold_pickle_and_save(tmp_path):
    X = gaussian(seed=4)
    ours = anoma.SGDOneClassSVM(map="rff", n_components=50, random_state=1).fit(X)
    d, s = ours.decision_function(X), ours.score_samples(X)
    np.testing.assert_allclose(d, s - ours.offset_[0], atol=1e-12)
    np.testing.assert_allclose(ours.anomaly_score(X), -d, atol=1e-12)
    assert ours.threshold_ == 0
    np.testing.assert_array_equal(ours.predict(X), np.where(d < 0, -1, 1))
    offset = ours.offset_[0]
    ours.offset_ = offset + 0.25
    assert ours.threshold_ == pytest.approx(-0.25)
    np.testing.assert_array_equal(ours.predict(X), np.where(ours.decision_function(X) < 0, -1, 1))
    back = pickle.loads(pickle.dumps(ours))
    np.testing.assert_array_equal(back.decision_function(X), ours.decision_function(X))
    path = str(tmp_path / "sgd.anoma")
    ours.model_.save(path)
    loaded = anoma.Model.load(path)
    np.testing.assert_array_equal(loaded.score(X), ours.anomaly_score(X))
    text = loaded.describe()
    assert "map: rff, n_components: 50" in text and "nu: 0.5" in text and "memory:" in text


def test_missing_values_take_the_training_mean():
    X = gaussian(seed=5)
    with_nan = X.copy()
    with_nan[3, 2] = np.nan
    filled = X.copy()
    filled[3, 2] = np.delete(X[:, 2], 3).mean()
    a = anoma.SGDOneClassSVM(random_state=0).fit(with_nan)
    b = anoma.SGDOneClassSVM(random_state=0).fit(filled)
    row = np.array([[0.5, -1.0, np.nan, 2.0]])
    row_filled = row.copy()
    row_filled[0, 2] = filled[:, 2].mean()
    np.testing.assert_allclose(a.decision_function(row), b.decision_function(row_filled),
                               rtol=1e-12)


@pytest.mark.parametrize("params, key", [
    (dict(map="kernel"), "map"), (dict(gamma=0), "gamma"), (dict(nu=0), "nu"),
    (dict(nu=1.5), "nu"), (dict(n_components=0), "n_components"), (dict(max_iter=0), "max_iter"),
    (dict(learning_rate="fast"), "learning_rate"), (dict(learning_rate="constant"), "eta0"),
    (dict(average=-1), "average"), (dict(tol=-1.0), "tol")])
def test_bad_parameters_name_themselves(params, key):
    with pytest.raises(anoma.ParameterValueError, match=key):
        anoma.SGDOneClassSVM(**params).fit(gaussian())
