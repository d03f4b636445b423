"""The "kmeans" detector and anoma.KMeansDetector against scikit-learn's
KMeans: inertia no worse on the shared datasets, a fit that is a fixed point
of scikit-learn's Lloyd iterations, and scores = KMeans.transform(X).min(1)."""
import contextlib
import pickle
import struct
import warnings

import numpy as np
import pytest

from conftest import dataset_params, import_anoma, load_csv

anoma = import_anoma()
cluster = pytest.importorskip("sklearn.cluster")


@contextlib.contextmanager
def one_blas_thread():
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        yield
        return
    with threadpool_limits(limits=1):
        yield


def sklearn_kmeans(X, k, seed, **kw):
    with warnings.catch_warnings(), one_blas_thread():
        warnings.simplefilter("ignore")
        return cluster.KMeans(n_clusters=k, n_init=kw.pop("n_init", 10), random_state=seed,
                              **kw).fit(X)


@pytest.mark.parametrize("name", dataset_params())
def test_inertia_no_worse_than_scikit_learn(name):
    """k-means++ and Lloyd are randomised the same way in both libraries
    (150 single runs on wbc: mean inertia 1977.3 here, 1976.3 there), so
    one seed against one seed is a coin toss between local minima: the mean
    over seeds 0-2 of the best of n_init=10 runs is compared, with 1 % for
    that randomness (the largest gap seen, cardio, is 0.86 %; the seeds are
    fixed on both sides, so the outcome is too)."""
    X, _ = load_csv(name)
    k = min(8, len(np.unique(X, axis=0)))
    ours = [anoma.KMeansDetector(n_clusters=k, random_state=s).fit(X) for s in range(3)]
    theirs = [sklearn_kmeans(X, k, s) for s in range(3)]
    assert np.mean([e.inertia_ for e in ours]) <= 1.01 * np.mean([t.inertia_ for t in theirs])
    est = ours[0]
    # the inertia is the training rows' squared distances to the centres
    d2 = ((X[:, None, :] - est.cluster_centers_[None]) ** 2).sum(-1).min(axis=1)
    assert est.inertia_ == pytest.approx(d2.sum(), rel=1e-9)
    # run to the end (tol=0), a fit is a fixed point of scikit-learn's Lloyd
    strict = anoma.KMeansDetector(n_clusters=k, n_init=1, tol=0).fit(X)
    again = sklearn_kmeans(X, k, 0, n_init=1, init=strict.cluster_centers_, tol=0)
    assert again.inertia_ == pytest.approx(strict.inertia_, rel=1e-9)
    # scores: the distance to the nearest centre, as KMeans.transform
    held = X[:: max(1, len(X) // 200)] * 1.01 + 0.5
    ref = cluster.KMeans(n_clusters=k, n_init=1, init=est.cluster_centers_, max_iter=1)
    ref.fit(est.cluster_centers_)  # a KMeans whose centres are ours
    ref.cluster_centers_ = est.cluster_centers_
    np.testing.assert_allclose(est.anomaly_score(held), ref.transform(held).min(axis=1),
                               rtol=1e-9, atol=1e-9 * np.sqrt(est.inertia_ / len(X)))
    conv = anoma.from_sklearn(theirs[0])
    np.testing.assert_allclose(conv.anomaly_score(held), theirs[0].transform(held).min(axis=1),
                               rtol=1e-9, atol=1e-9 * np.sqrt(theirs[0].inertia_ / len(X)))


def test_threads_seed_row_scorer_pickle():
    rng = np.random.default_rng(0)
    X = np.vstack([rng.standard_normal((400, 4)) + c for c in (0, 6, 12)])
    a = anoma.KMeansDetector(n_clusters=3, n_jobs=1).fit(X)
    for n_jobs in (2, 3):
        b = anoma.KMeansDetector(n_clusters=3, n_jobs=n_jobs).fit(X)
        np.testing.assert_array_equal(a.cluster_centers_, b.cluster_centers_)
        assert a.inertia_ == b.inertia_
    batch = a.anomaly_score(X[:40])
    scorer = a.model_.row_scorer()
    for i, row in enumerate(X[:40]):
        assert scorer.score(row)[0] == batch[i]
    back = pickle.loads(pickle.dumps(a))
    np.testing.assert_array_equal(back.anomaly_score(X[:40]), batch)
    assert a.threshold_ == pytest.approx(np.percentile(a.anomaly_score(X), 90), rel=1e-12)


def test_mahalanobis_within_the_cluster():
    rng = np.random.default_rng(1)
    A = rng.standard_normal((300, 2)) * [1, 5]
    B = rng.standard_normal((300, 2)) * [4, 1] + [40, 0]
    X = np.vstack([A, B])
    est = anoma.KMeansDetector(n_clusters=2, distance="mahalanobis").fit(X)
    new = np.array([[0.0, 6.0], [6.0, 0.0], [40.0, 3.0]])
    centers = est.cluster_centers_
    expect = []
    for row in new:
        c = np.argmin(((centers - row) ** 2).sum(axis=1))
        members = X[np.argmin(((X[:, None, :] - centers[None]) ** 2).sum(-1), axis=1) == c]
        mu, cov = members.mean(axis=0), np.cov(members.T, bias=True)
        expect.append(np.sqrt((row - mu) @ np.linalg.inv(cov) @ (row - mu)))
    np.testing.assert_allclose(est.anomaly_score(new), expect, rtol=1e-9)
    back = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(back.anomaly_score(new), est.anomaly_score(new))


def test_conventions_and_refusals():
    from sklearn.utils.estimator_checks import check_estimator
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check_estimator(anoma.KMeansDetector(n_clusters=2, n_init=2))
    X = np.random.default_rng(2).standard_normal((50, 3))
    with pytest.raises(anoma.ParameterValueError, match="no threshold of its own"):
        anoma.KMeansDetector(contamination="auto").fit(X)
    capped = anoma.KMeansDetector(n_clusters=60).fit(X)  # at the rows, as knn's k
    assert capped.cluster_centers_.shape == (50, 3)
    assert np.all(capped.anomaly_score(X) == 0)
    for name, bad in (("n_clusters", 0), ("n_init", 0), ("max_iter", 1.5), ("tol", -1),
                      ("distance", "cosine"), ("random_state", -3)):
        with pytest.raises(anoma.ParameterValueError, match=name):
            anoma.KMeansDetector(**{name: bad}).fit(X)
    X[4, 1] = np.nan
    with pytest.raises(anoma.InvalidArgumentError, match="feature 1 of row 4"):
        anoma.KMeansDetector().fit(X)


def test_hostile_payloads_are_refused():
    centers = np.array([[0.0, 0.0], [10.0, 0.0]])

    def payload(distance=0, k=2, d=2, inertia=5.0, n_iter=3, centers=centers, sizes=(3, 4),
                extra=b""):
        return (struct.pack("<BQQdQ", distance, k, d, inertia, n_iter)
                + np.asarray(centers, "<f8").tobytes() + np.asarray(sizes, "<u8").tobytes()
                + extra)

    def load(data, width=2):
        return anoma.Model({"threshold": 2.0}, detectors=()).import_detector(
            "kmeans", data, width, {})

    assert load(payload()).score(np.array([[7.0, 4.0]]))[0] == pytest.approx(5.0)
    cluster_part = b"".join(np.asarray(v, "<f8").tobytes()
                            for v in ([0, 0], [[1, 0], [0, 1]], [10, 0], [[4, 0], [0, 1]]))
    m = load(payload(distance=1, extra=cluster_part))
    assert m.score(np.array([[14.0, 0.0]]))[0] == pytest.approx(2.0)
    bad_cov = b"".join(np.asarray(v, "<f8").tobytes()
                       for v in ([0, 0], [[1, 2], [2, 1]], [10, 0], [[4, 0], [0, 1]]))
    for bad in (payload(distance=2), payload(k=0), payload(d=3), payload(inertia=-1),
                payload(inertia=np.nan), payload(centers=[[np.inf, 0], [1, 1]]),
                payload(sizes=(2 ** 63, 2 ** 63)), payload(distance=1, extra=bad_cov),
                payload(distance=1, extra=cluster_part[:-8]),
                struct.pack("<BQQdQ", 0, 2 ** 60, 2, 1.0, 1) + bytes(64)):
        with pytest.raises(anoma.AnomaError):
            load(bad)
    data = payload()
    for cut in range(len(data)):
        with pytest.raises(anoma.AnomaError):
            load(data[:cut])
    with pytest.raises(anoma.AnomaError):
        load(data, width=3)
