"""anoma.OneClassSVM and anoma.from_sklearn against scikit-learn's OneClassSVM.

Agreement is measured as |ours - theirs| <= 1e-6 * max(1, |theirs|) on
decision_function: relative where values are large, absolute (1e-6) near
the decision boundary, where a relative measure would divide by ~0. The
solver takes libsvm's steps, so the support vectors, their count, the dual
coefficients and even the iteration count are scikit-learn's."""
import os
import pickle
import subprocess
import sys
import warnings

import numpy as np
import pytest

from conftest import dataset_params, import_anoma, load_csv

anoma = import_anoma()
svm = pytest.importorskip("sklearn.svm")
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.utils.estimator_checks import check_estimator  # noqa: E402

DATASETS = dataset_params()
KERNELS = {"rbf": {}, "linear": {}, "poly": dict(degree=3, coef0=1.0)}
MAX_ROWS = 5000


def close(ours, theirs, tol=1e-6):
    """The agreement measure of this file (see the module docstring)."""
    ours, theirs = np.asarray(ours), np.asarray(theirs)
    return np.all(np.abs(ours - theirs) <= tol * np.maximum(1, np.abs(theirs)))


def standardized(name):
    """A shared dataset, at most MAX_ROWS rows (a fixed random subset, in row
    order), each feature scaled to mean 0 and variance 1 (constant ones left
    at 0): the linear and poly kernels on raw values would make the solver
    crawl, for scikit-learn as for us."""
    X = load_csv(name)[0]
    if len(X) > MAX_ROWS:
        X = X[np.sort(np.random.default_rng(0).choice(len(X), MAX_ROWS, replace=False))]
    std = X.std(axis=0)
    return (X - X.mean(axis=0)) / np.where(std > 0, std, 1)


def gaussian(rows=300, cols=4, seed=0):
    rng = np.random.default_rng(seed)
    return np.vstack([rng.standard_normal((rows, cols)), rng.uniform(-6, 6, (rows // 15, cols))])


def sklearn_fit_with_ordered_dots(params, X, tmp_path):
    """scikit-learn's OneClassSVM fitted on X in a process where OpenBLAS
    takes its Nehalem kernels. scikit-learn's libsvm takes its dot products
    from OpenBLAS's ddot, whose order of summation depends on the kernels
    OpenBLAS picks for the processor; Nehalem's adds a short vector's
    products in order, as the library does (lib/detectors/ocsvm/kernel.c).
    Where the kernel matrix is ill-conditioned (poly of degree 5), a last
    bit of a dot product changes libsvm's path (0.001 apart with the SSE3
    Prescott kernels OpenBLAS falls back to on an unrecognised processor),
    so the comparison needs the same dot products on both sides."""
    data = tmp_path / "x.npy"
    np.save(data, X)
    code = ("import pickle, sys, numpy as np; from sklearn import svm; "
            "sys.stdout.buffer.write(pickle.dumps(svm.OneClassSVM(**%r).fit(np.load(%r))))"
            % (params, str(data)))
    env = dict(os.environ, OPENBLAS_CORETYPE="Nehalem", OPENBLAS_NUM_THREADS="1")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, check=True)
    return pickle.loads(out.stdout)


def assert_same_fit(ours, sk, X, weights=None):
    d = ours.decision_function(X)
    ref = sk.decision_function(X)
    worst = np.max(np.abs(d - ref) / np.maximum(1, np.abs(ref)))
    assert close(d, ref), "decision_function differs by %.3g" % worst
    assert ours.n_support_[0] == sk.n_support_[0]
    np.testing.assert_array_equal(ours.support_vectors_, sk.support_vectors_)
    # support_: scikit-learn's rows; with weights of 0 it counts only the
    # rows of weight > 0, ours every row, so that X[support_] holds
    kept = np.arange(len(X)) if weights is None else np.flatnonzero(weights > 0)
    np.testing.assert_array_equal(ours.support_, kept[sk.support_])
    assert ours.support_.dtype == sk.support_.dtype
    np.testing.assert_array_equal(X[ours.support_], ours.support_vectors_)
    np.testing.assert_allclose(ours.dual_coef_, sk.dual_coef_, rtol=1e-6, atol=1e-9)
    assert close(ours.intercept_, sk.intercept_)
    assert close(ours.offset_, sk.offset_)
    assert ours._gamma == pytest.approx(sk._gamma, rel=1e-15)


# ---- (a) native fits are scikit-learn's, on every shared dataset ---------

@pytest.mark.parametrize("kernel", sorted(KERNELS))
@pytest.mark.parametrize("name", DATASETS)
def test_fit_matches_sklearn_on_shared_data(name, kernel):
    X = standardized(name)
    params = dict(kernel=kernel, nu=0.1, **KERNELS[kernel])
    sk = svm.OneClassSVM(**params).fit(X)
    ours = anoma.OneClassSVM(**params).fit(X)
    assert_same_fit(ours, sk, X)
    # the converted scikit-learn model scores as scikit-learn's too
    conv = anoma.from_sklearn(sk)
    assert close(conv.decision_function(X), sk.decision_function(X), 1e-9)


@pytest.mark.parametrize("name", ["thyroid.csv", "breastw.csv"])
def test_raw_values_with_gamma_scale_and_default_nu(name):
    """On unscaled data, gamma="scale" (1 / (n_features X.var())) as
    scikit-learn computes it, with the default nu = 0.5."""
    X = load_csv(name)[0]
    if not len(X):
        pytest.skip("no data")
    sk = svm.OneClassSVM().fit(X)
    ours = anoma.OneClassSVM().fit(X)
    assert ours._gamma == sk._gamma  # numpy's var to the last bit
    assert_same_fit(ours, sk, X)
    assert ours.n_iter_ == sk.n_iter_  # the same steps


@pytest.mark.parametrize("params", [
    dict(), dict(kernel="sigmoid", gamma=0.01, coef0=0.5), dict(gamma="auto", nu=0.05),
    dict(shrinking=False, tol=1e-4), dict(cache_size=0.01, nu=0.8), dict(kernel="poly", degree=5,
                                                                         gamma=0.3)],
    ids=lambda p: " ".join("%s=%s" % kv for kv in p.items()) or "default")
def test_parameters_match_sklearn(params, tmp_path):
    X = gaussian()
    sk = sklearn_fit_with_ordered_dots(params, X, tmp_path)
    ours = anoma.OneClassSVM(**params).fit(X)
    assert_same_fit(ours, sk, X)
    assert ours.n_iter_ == sk.n_iter_
    np.testing.assert_array_equal(ours.predict(X), sk.predict(X))
    assert close(ours.score_samples(X), sk.score_samples(X))


def test_sample_weight_matches_sklearn():
    X = gaussian(seed=3)
    w = np.random.default_rng(4).uniform(0, 3, len(X))
    w[:15] = 0
    for params in (dict(nu=0.3, gamma=0.1), dict()):
        sk = svm.OneClassSVM(**params).fit(X, sample_weight=w)
        ours = anoma.OneClassSVM(**params).fit(X, sample_weight=w)
        assert_same_fit(ours, sk, X, w)


def test_max_iter_stops_as_sklearn():
    X = gaussian(seed=5)
    with pytest.warns(ConvergenceWarning):
        sk = svm.OneClassSVM(max_iter=5).fit(X)
    with pytest.warns(ConvergenceWarning, match="max_iter=5"):
        ours = anoma.OneClassSVM(max_iter=5).fit(X)
    assert ours.fit_status_ == sk.fit_status_ == 1
    assert ours.n_iter_ == sk.n_iter_ == 5
    assert_same_fit(ours, sk, X)


# ---- (b) scikit-learn's conventions -----------------------------------------

def test_signs_attributes_and_threshold():
    X = gaussian(seed=1)
    sk = svm.OneClassSVM(kernel="linear", nu=0.2).fit(X)
    ours = anoma.OneClassSVM(kernel="linear", nu=0.2).fit(X)
    np.testing.assert_allclose(ours.coef_, sk.coef_, rtol=1e-9)
    for est in (sk, ours):
        d, s = est.decision_function(X), est.score_samples(X)
        np.testing.assert_allclose(d, s - est.offset_, rtol=0, atol=1e-12)
        assert est.offset_ == pytest.approx(-est.intercept_[0], rel=1e-12)
    # the library's score is the decision function negated; threshold 0
    np.testing.assert_allclose(ours.anomaly_score(X), -ours.decision_function(X), atol=1e-12)
    assert ours.threshold_ == 0
    np.testing.assert_array_equal(ours.predict(X), np.where(ours.anomaly_score(X) > 0, -1, 1))
    # moving offset_ moves the model's threshold, and predict with it
    rho = ours.offset_
    ours.offset_ = rho + 0.5
    assert ours.threshold_ == pytest.approx(-0.5)
    np.testing.assert_array_equal(ours.predict(X), np.where(ours.decision_function(X) < 0, -1, 1))
    with pytest.raises(AttributeError, match="linear"):
        anoma.OneClassSVM().fit(X).coef_


def test_check_estimator_with_sklearns_own_exception():
    """Every check passes but the one scikit-learn's OneClassSVM lists as not
    applying, for the same reason (gamma="scale" over zero-weight rows)."""
    assert anoma.OneClassSVM()._more_tags()["_xfail_checks"] == \
        svm.OneClassSVM()._more_tags()["_xfail_checks"]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check_estimator(anoma.OneClassSVM())
    skipped = [str(w.message) for w in caught if w.category.__name__ == "SkipTestWarning"]
    assert skipped and all("check_sample_weights_invariance" in m for m in skipped)


def test_pickle_save_load_and_convert(tmp_path):
    X = gaussian(seed=2)
    ours = anoma.OneClassSVM(kernel="poly", degree=2, gamma=0.2).fit(X)
    back = pickle.loads(pickle.dumps(ours))
    np.testing.assert_array_equal(back.decision_function(X), ours.decision_function(X))
    np.testing.assert_array_equal(back.support_vectors_, ours.support_vectors_)
    np.testing.assert_array_equal(back.support_, ours.support_)
    path = str(tmp_path / "ocsvm.anoma")
    ours.model_.save(path)
    loaded = anoma.Model.load(path)
    np.testing.assert_array_equal(loaded.score(X), ours.anomaly_score(X))
    assert "kernel: poly" in loaded.describe() and "support vectors: %d" % \
        ours.n_support_[0] in loaded.describe()
    # a converted model with feature names, and the refusals
    sk = svm.OneClassSVM(gamma=0.5).fit(X)
    sk.feature_names_in_ = np.array(["a", "b", "c", "d"], dtype=object)
    conv = anoma.from_sklearn(sk)
    assert conv.model_.feature_names == ["a", "b", "c", "d"]
    assert conv.get_params()["gamma"] == 0.5 and conv.n_iter_ == sk.n_iter_
    np.testing.assert_array_equal(conv.support_, sk.support_)
    with pytest.raises(ValueError, match="fitted"):
        anoma.from_sklearn(svm.OneClassSVM())
    with pytest.raises(ValueError, match="kernel"):
        anoma.from_sklearn(svm.OneClassSVM(kernel="precomputed").fit(X @ X.T))
    with pytest.raises(ValueError, match="OneClassSVM"):
        anoma.from_sklearn(object())


def test_missing_values_take_the_training_mean():
    X = gaussian(seed=6)
    with_nan = X.copy()
    with_nan[4, 1] = np.nan
    ours = anoma.OneClassSVM(gamma=0.3).fit(with_nan)
    filled = X.copy()
    filled[4, 1] = np.delete(X[:, 1], 4).mean()
    ref = anoma.OneClassSVM(gamma=0.3).fit(filled)
    row = np.array([[0.5, np.nan, -0.5, 1.0]])
    row_filled = row.copy()
    row_filled[0, 1] = filled[:, 1].mean()
    assert close(ours.decision_function(row), ref.decision_function(row_filled), 1e-9)


@pytest.mark.parametrize("params, key", [
    (dict(kernel="precomputed"), "kernel"), (dict(gamma=0), "gamma"), (dict(gamma="big"), "gamma"),
    (dict(nu=0), "nu"), (dict(nu=1.5), "nu"), (dict(tol=0), "tol"), (dict(cache_size=0),
                                                                     "cache_size"),
    (dict(degree=-1), "degree"), (dict(max_iter=-2), "max_iter")])
def test_bad_parameters_name_themselves(params, key):
    with pytest.raises(anoma.ParameterValueError, match=key):
        anoma.OneClassSVM(**params).fit(gaussian())


# ---- end to end: the command-line tool ---------------------------------------

def test_cli_train_and_inspect_say_what_the_model_is(tmp_path):
    """`anoma train -d ocsvm` then `anoma inspect`: the kernel, gamma, nu, rho
    and support-vector count are scikit-learn's for the same data, and the
    memory is the documented (n_sv (n_features + 3) + n_features) doubles
    plus the detector's fixed state."""
    import os
    import re
    import subprocess
    cli = os.environ.get("ANOMA_CLI")
    if not cli or not os.path.exists(cli):
        pytest.skip("the anoma tool is not built (ANOMA_CLI)")
    X = gaussian(seed=7)
    data = tmp_path / "x.csv"
    with open(data, "w") as f:
        f.write("a,b,c,d\n")
        for row in X:
            f.write(",".join("%.17g" % v for v in row) + "\n")
    model = tmp_path / "m.anoma"
    subprocess.run([cli, "train", "-d", "ocsvm", "-p", "nu=0.1", "-p", "gamma=0.2",
                    "-o", str(model), str(data)], check=True, capture_output=True)
    text = subprocess.run([cli, "inspect", str(model)], check=True, capture_output=True,
                          text=True).stdout
    sk = svm.OneClassSVM(nu=0.1, gamma=0.2).fit(X)
    assert "kernel: rbf, gamma: 0.2" in text
    rho = float(re.search(r"nu: 0\.1, rho: (\S+)", text).group(1))
    assert rho == pytest.approx(-sk.intercept_[0], rel=1e-9)
    n_sv = int(re.search(r"support vectors: (\d+) of 4 features", text).group(1))
    assert n_sv == sk.n_support_[0]
    memory = int(re.search(r"  memory: (\d+) bytes", text).group(1))
    arrays = (n_sv * (4 + 3) + 4) * 8
    assert arrays < memory < arrays + 1024
