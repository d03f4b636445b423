"""The "mahalanobis" detector and anoma.Mahalanobis against scikit-learn's
EmpiricalCovariance and MinCovDet (their mahalanobis(X): the squared
distance), and NumPy for the per-feature split."""
import pickle
import struct
import warnings

import numpy as np
import pytest

from conftest import dataset_params, import_anoma, load_csv

anoma = import_anoma()
covariance = pytest.importorskip("sklearn.covariance")


def close(got, ref, d):
    """Relative 1e-9, with an absolute floor of 1e-9 times the mean squared
    distance of a training row (which is d): a row at the mean scores ~0,
    where a last-bit difference in the mean is all there is."""
    np.testing.assert_allclose(got, ref, rtol=1e-9, atol=1e-9 * d)


@pytest.mark.parametrize("name", dataset_params())
def test_empirical_equals_scikit_learn(name):
    """The distance does not change when each feature is divided by a
    constant, so scikit-learn fitted on the features divided by their
    standard deviations is the same definition, computed without the
    rounding of pinvh on a badly scaled covariance (the skab sets' condition
    numbers reach 2e9, where pinvh alone errs by ~5e-9). cardio's covariance
    is singular (collinear columns, written to 10 digits): pinvh drops that
    direction, the ridge keeps it with weight 1/1e-10, and a training row's
    rounding along it moves its score by up to 2e-9, relative."""
    X, _ = load_csv(name)
    s = X.std(axis=0)
    s[s == 0] = 1
    ref = covariance.EmpiricalCovariance().fit(X / s)
    singular = np.linalg.matrix_rank(np.cov(X.T, bias=True).reshape(X.shape[1], -1)) < X.shape[1]
    check = close if not singular else (
        lambda got, want, d: np.testing.assert_allclose(got, want, rtol=1e-8, atol=1e-8 * d))
    est = anoma.Mahalanobis().fit(X)
    check(est.anomaly_score(X), ref.mahalanobis(X / s), X.shape[1])
    # new rows (off the null direction of a singular covariance, the ridge
    # and pinvh part by design: docs/detectors/mahalanobis.md)
    held = X[:: max(1, len(X) // 200)] * (1 if singular else 1.01) + (0 if singular else 0.5)
    check(est.mahalanobis(held), ref.mahalanobis(held / s), X.shape[1])
    np.testing.assert_allclose(est.location_ / s, ref.location_, rtol=1e-12, atol=1e-12)
    # from_sklearn: the same distances from scikit-learn's own estimate
    direct = covariance.EmpiricalCovariance().fit(X)
    check(anoma.from_sklearn(direct).anomaly_score(held), ref.mahalanobis(held / s), X.shape[1])


def test_feature_scores_split_the_distance():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((300, 4)) @ rng.standard_normal((4, 4))
    new = rng.standard_normal((20, 4)) * 3
    est = anoma.Mahalanobis().fit(X)
    mu = X.mean(axis=0)
    precision = np.linalg.inv(np.cov(X.T, bias=True))
    ref = (new - mu) * ((new - mu) @ precision)
    np.testing.assert_allclose(est.feature_scores(new), ref, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(est.feature_scores(new).sum(axis=1), est.anomaly_score(new),
                               rtol=1e-12)


def test_constant_column_gets_the_ridge():
    rng = np.random.default_rng(1)
    X = np.column_stack([rng.standard_normal((200, 2)), np.full(200, 7.0)])
    est = anoma.Mahalanobis().fit(X)
    ref = covariance.EmpiricalCovariance().fit(X)
    close(est.anomaly_score(X), ref.mahalanobis(X), 3)  # the training rows: no change
    # a move off the constant counts as 0.01^2 / ridge (1e-10, on a unit scale)
    moved = X[:3].copy()
    moved[:, 2] += 0.01
    np.testing.assert_allclose(est.anomaly_score(moved) - est.anomaly_score(X[:3]), 1e6,
                               rtol=1e-6)


def gaussian_with_outliers(seed, n=400, d=3, share=0.1):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((d, d))
    X = rng.standard_normal((n, d)) @ A
    k = int(n * share)
    X[:k] = rng.standard_normal((k, d)) + 12
    return X


def min_cov_det_outcomes(X, seeds=10):
    """MinCovDet's fits for random_state 0..seeds-1: FastMCD is randomised,
    and on some data different seeds settle on different supports."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return [covariance.MinCovDet(random_state=seed).fit(X) for seed in range(seeds)]


@pytest.mark.parametrize("n", [300, 900])
def test_robust_lands_on_a_min_cov_det_outcome(n):
    """Gaussian rows and a far cluster: whatever the seed, the fit is one of
    MinCovDet's (the same reweighted support, so the same location and
    covariance to rounding); on 900 rows every seed of both agrees."""
    X = gaussian_with_outliers(n, n=n)
    outcomes = min_cov_det_outcomes(X)
    for seed in range(3):
        est = anoma.Mahalanobis(robust=True, random_state=seed).fit(X)
        same = [ref for ref in outcomes
                if np.allclose(est.location_, ref.location_, rtol=1e-9, atol=1e-12)]
        assert same, "seed %d: no MinCovDet seed gives this location" % seed
        np.testing.assert_allclose(est.covariance_, same[0].covariance_, rtol=1e-9)
        close(est.anomaly_score(X), same[0].mahalanobis(X), 3)
    ref = outcomes[0]
    converted = anoma.from_sklearn(ref)
    close(converted.anomaly_score(X), ref.mahalanobis(X), 3)
    np.testing.assert_array_equal(converted.raw_location_, ref.raw_location_)
    np.testing.assert_allclose(converted.raw_covariance_, ref.raw_covariance_, rtol=1e-15)
    # the raw estimate is the raw support's mean and covariance, MinCovDet's
    # raw_support_ for the same outcome
    same = [r for r in outcomes if np.allclose(est.location_, r.location_, rtol=1e-9)][0]
    np.testing.assert_allclose(est.raw_location_, same.raw_location_, rtol=1e-9)
    np.testing.assert_allclose(est.raw_covariance_, same.raw_covariance_, rtol=1e-9)
    # one feature: the shortest half, as scikit-learn
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref1 = covariance.MinCovDet(random_state=0).fit(X[:, :1])
    est1 = anoma.Mahalanobis(robust=True).fit(X[:, :1])
    np.testing.assert_allclose(est1.covariance_, ref1.covariance_, rtol=1e-10)
    close(est1.anomaly_score(X[:, :1]), ref1.mahalanobis(X[:, :1]), 1)


def test_robust_support_fraction_and_seed():
    X = gaussian_with_outliers(5, n=600)
    a = anoma.Mahalanobis(robust=True, support_fraction=0.8, random_state=1).fit(X)
    b = anoma.Mahalanobis(robust=True, support_fraction=0.8, random_state=1, n_jobs=2).fit(X)
    np.testing.assert_array_equal(a.anomaly_score(X), b.anomaly_score(X))
    with pytest.raises(anoma.ParameterValueError, match="support_fraction"):
        anoma.Mahalanobis(robust=True, support_fraction=1.5).fit(X)
    with pytest.raises(anoma.ParameterValueError, match="support_fraction"):
        anoma.Model({"contamination": 0.1}, [("mahalanobis", {"robust": True,
                                                               "support_fraction": 0.001})]
                    ).fit(X[:100])


def test_row_scorer_threads_pickle_agree():
    X = gaussian_with_outliers(2, n=500, d=5)
    est = anoma.Mahalanobis().fit(X)
    batch = est.anomaly_score(X[:50])
    scorer = est.model_.row_scorer()
    for i, row in enumerate(X[:50]):
        assert scorer.score(row)[0] == batch[i]
    np.testing.assert_array_equal(anoma.Mahalanobis(n_jobs=3).fit(X).anomaly_score(X[:50]), batch)
    back = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(back.anomaly_score(X[:50]), batch)
    assert est.threshold_ == pytest.approx(np.percentile(est.anomaly_score(X), 90), rel=1e-12)


def test_conventions_and_refusals():
    from sklearn.utils.estimator_checks import check_estimator
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check_estimator(anoma.Mahalanobis())
        check_estimator(anoma.Mahalanobis(robust=True))
    X = np.random.default_rng(2).standard_normal((50, 3))
    with pytest.raises(anoma.ParameterValueError, match="no threshold of its own"):
        anoma.Mahalanobis(contamination="auto").fit(X)
    with pytest.raises(anoma.ParameterValueError, match="robust"):
        anoma.Mahalanobis(robust="yes").fit(X)
    with pytest.raises(anoma.EmptyInputError, match="at least 2 rows"):
        anoma.Mahalanobis().fit(X[:1])
    with pytest.raises(anoma.NonFiniteError, match="overflows"):
        anoma.Mahalanobis().fit(X * 1e300)
    X[4, 1] = np.nan
    with pytest.raises(anoma.InvalidArgumentError, match="feature 1 of row 4"):
        anoma.Mahalanobis().fit(X)


def test_hostile_payloads_are_refused():
    mean = np.array([1.0, 2.0])
    cov = np.array([[2.0, 0.5], [0.5, 1.0]])

    def payload(d=2, robust=0, n=10, raw=10, support=10, mean=mean, cov=cov, has_raw=0,
                raw_mean=mean, raw_cov=cov):
        data = (struct.pack("<QBQQQ", d, robust, n, raw, support)
                + np.asarray(mean, "<f8").tobytes() + np.asarray(cov, "<f8").tobytes()
                + struct.pack("<B", has_raw))
        if has_raw:
            data += np.asarray(raw_mean, "<f8").tobytes() + np.asarray(raw_cov, "<f8").tobytes()
        return data

    def load(data, width=2):
        return anoma.Model({"threshold": 2.0}, detectors=()).import_detector(
            "mahalanobis", data, width, {})

    x = np.array([[3.0, 1.0]])
    model = load(payload())
    delta = x[0] - mean
    assert model.score(x)[0] == pytest.approx(delta @ np.linalg.inv(cov) @ delta, rel=1e-14)
    not_psd = np.array([[1.0, 2.0], [2.0, 1.0]])
    for bad in (payload(d=3), payload(robust=2), payload(raw=11), payload(support=11),
                payload(mean=[np.nan, 0]), payload(cov=[[2, 0.5], [0.4, 1]]),
                payload(cov=[[-1, 0], [0, 1]]), payload(cov=[[np.inf, 0], [0, 1]]),
                payload(cov=not_psd), struct.pack("<QBQQQ", 2 ** 40, 0, 1, 1, 1) + bytes(48),
                # a raw estimate: only a robust fit has one, finite and symmetric
                payload(has_raw=1), payload(robust=1, has_raw=2),
                payload(robust=1, has_raw=1, raw_mean=[np.inf, 0]),
                payload(robust=1, has_raw=1, raw_cov=[[2, 0.5], [0.4, 1]]),
                payload(robust=1, has_raw=1, raw_cov=[[-1, 0], [0, 1]]),
                payload(robust=1, has_raw=1) + bytes(1)):
        with pytest.raises(anoma.AnomaError):
            load(bad, width=3 if bad[:8] == struct.pack("<Q", 3) else 2)
    robust = load(payload(robust=1, has_raw=1, raw_mean=[5.0, 6.0]))
    assert robust.score(x)[0] == pytest.approx(delta @ np.linalg.inv(cov) @ delta, rel=1e-14)
    for data in (payload(), payload(robust=1, has_raw=1)):
        for cut in range(len(data)):
            with pytest.raises(anoma.AnomaError):
                load(data[:cut])
        with pytest.raises(anoma.AnomaError):
            load(data, width=3)


def test_exact_fit_is_reached_and_said():
    """70% of the rows on the plane x2 = x0 + x1: the smallest determinant
    of a raw support (h = 51% of the rows) is 0, reached by supports on the
    plane (Rousseeuw and Van Driessen's exact-fit situation). The raw
    estimate is then the plane's: its covariance is singular, with the
    plane's normal as its null direction, and inspect says so."""
    rng = np.random.default_rng(3)
    X = rng.standard_normal((400, 3)) * [1.0, 2.0, 3.0]
    on_plane = rng.random(400) < 0.7
    X[on_plane, 2] = X[on_plane, 0] + X[on_plane, 1]
    normal = np.array([1.0, 1.0, -1.0]) / np.sqrt(3)
    for seed in range(3):
        est = anoma.Mahalanobis(robust=True, random_state=seed).fit(X)
        raw = est.raw_covariance_
        assert normal @ raw @ normal <= 1e-12 * np.trace(raw)
        assert abs(est.raw_location_ @ normal) <= 1e-12 * np.abs(est.raw_location_).max()
        assert "exact fit" in est.model_.describe()
    # off the plane a row scores ~ its offset^2 / 1e-10 (in standard
    # deviations): every one of them far above every row on the plane
    est = anoma.Mahalanobis(robust=True).fit(X)
    assert est.anomaly_score(X[~on_plane]).min() > 1e3 * est.anomaly_score(X[on_plane]).max()
    # Gaussian data: a raw determinant, and its value is MinCovDet's objective
    G = gaussian_with_outliers(4, n=400)
    est = anoma.Mahalanobis(robust=True).fit(G)
    text = est.model_.describe()
    assert "log-determinant of the raw support covariance: %.6g" % np.linalg.slogdet(
        est.raw_covariance_)[1] in text
    with pytest.raises(AttributeError, match="robust"):
        anoma.Mahalanobis().fit(G).raw_covariance_
