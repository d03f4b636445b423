"""The distance to the nearest k-means centroid ("kmeans" detector) with
scikit-learn's outlier conventions, and conversion of fitted scikit-learn
KMeans objects.

``anomaly_score(X)`` is ``KMeans(...).fit(X_train).transform(X).min(axis=1)``
for the fitted centres: the Euclidean distance to the nearest one (or, with
``distance="mahalanobis"``, the Mahalanobis distance within its cluster).
"""
import numbers
import struct

import numpy as np

from ._library import STATUS
from .errors import ParameterValueError
from .estimators import _OutlierDetector, _is_real, _n_threads
from .export import exported_model
from .model import Model

__all__ = ["KMeansDetector", "from_sklearn_kmeans"]

_HEAD = "<BQQdQ"


def _bad(name, expected, value):
    return ParameterValueError(STATUS["ANOMA_ERR_PARAM_VALUE"],
                               "KMeansDetector: %s=%r: expected %s" % (name, value, expected))


def _int_at_least(name, value, low):
    if isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_)) \
            and value >= low:
        return int(value)
    raise _bad(name, "an int >= %d" % low, value)


def _payload(centers, inertia, n_iter, sizes):
    """A "kmeans" payload with Euclidean distance, version 1 (docs/detectors/kmeans.md)."""
    centers = np.ascontiguousarray(centers, dtype="<f8")
    k, d = centers.shape
    return b"".join([struct.pack(_HEAD, 0, k, d, float(inertia), int(n_iter)), centers.tobytes(),
                     np.asarray(sizes, dtype="<u8").tobytes()])


class KMeansDetector(_OutlierDetector):
    """Distance to the nearest k-means centroid (libanoma's "kmeans"
    detector): k-means++ seeding and Lloyd's iterations as scikit-learn's
    ``KMeans(algorithm="lloyd")``, the best of ``n_init`` runs.

    ``n_init=10`` is scikit-learn 1.2's default (1.4 moves to "auto", one
    run for k-means++): ten seeds cost ten fits but rarely leave a poor local
    minimum, and a detector is fitted once and scored often. ``random_state``
    (None = seed 0, so a fit is reproducible) seeds the runs; the result
    does not depend on ``n_jobs``. ``distance="mahalanobis"`` scores by the
    Mahalanobis distance within the nearest centroid's cluster.
    ``n_clusters`` is capped at the training rows (scikit-learn refuses).
    ``contamination`` (default 0.1) sets ``threshold_`` to the (1 -
    contamination) quantile of the training scores; ``"auto"`` is refused.
    NaN is refused: impute first.

    After ``fit``: ``cluster_centers_``, ``inertia_``, ``n_iter_``,
    ``n_features_in_``, ``feature_names_in_``, ``model_``.
    """

    def __init__(self, n_clusters=8, n_init=10, max_iter=300, tol=1e-4, random_state=None,
                 distance="euclidean", contamination=0.1, n_jobs=None):
        self.n_clusters = n_clusters
        self.n_init = n_init
        self.max_iter = max_iter
        self.tol = tol
        self.random_state = random_state
        self.distance = distance
        self.contamination = contamination
        self.n_jobs = n_jobs

    def _more_tags(self):
        return {"allow_nan": False}

    def _detector_params(self):
        seed = 0 if self.random_state is None else self.random_state
        if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
            raise _bad("random_state", "None or an int >= 0", self.random_state)
        if not (_is_real(self.tol) and self.tol >= 0):
            raise _bad("tol", "a float >= 0", self.tol)
        if self.distance not in ("euclidean", "mahalanobis"):
            raise _bad("distance", "'euclidean' or 'mahalanobis'", self.distance)
        return {"n_clusters": _int_at_least("n_clusters", self.n_clusters, 1),
                "n_init": _int_at_least("n_init", self.n_init, 1),
                "max_iter": _int_at_least("max_iter", self.max_iter, 1),
                "tol": float(self.tol), "seed": int(seed), "distance": self.distance}

    def fit(self, X, y=None):
        """Fit on X (n_samples, n_features); y is ignored. Returns self."""
        detector = self._detector_params()
        x, names = self._check_X(X, reset=True)
        params = self._contamination_params()
        params["n_threads"] = _n_threads(self.n_jobs, "KMeansDetector")
        self._fit_model(Model(params, [("kmeans", detector)]), x, names)
        return self

    def _state(self):
        payload = self._model().detector_payload(0)
        _distance, k, d, inertia, n_iter = struct.unpack_from(_HEAD, payload, 0)
        centers = np.frombuffer(payload, dtype="<f8", offset=struct.calcsize(_HEAD),
                                count=k * d).reshape(k, d).copy()
        return centers, inertia, n_iter

    @property
    def cluster_centers_(self):
        """The centroids, shape (n_clusters, n_features)."""
        return self._state()[0]

    @property
    def inertia_(self):
        """Sum of squared distances of the training rows to their centroid."""
        return self._state()[1]

    @property
    def n_iter_(self):
        """Lloyd iterations of the winning run."""
        return self._state()[2]


def from_sklearn_kmeans(kmeans):
    """A KMeansDetector scoring as the fitted ``sklearn.cluster.KMeans``
    ``kmeans``: ``anomaly_score(X)`` is ``kmeans.transform(X).min(axis=1)``,
    to rounding (Euclidean distance). scikit-learn keeps no training scores to
    take a threshold from, so ``threshold_`` starts at the largest double
    (nothing is flagged): set it for ``predict``."""
    if not hasattr(kmeans, "cluster_centers_"):
        raise ValueError("from_sklearn expects a fitted sklearn.cluster.KMeans")
    centers = np.asarray(kmeans.cluster_centers_, dtype=np.float64)
    k, d = centers.shape
    sizes = np.bincount(kmeans.labels_, minlength=k) if hasattr(kmeans, "labels_") \
        else np.zeros(k, dtype=np.int64)
    est = KMeansDetector(n_clusters=k, max_iter=int(kmeans.max_iter), tol=float(kmeans.tol))
    est.model_ = exported_model("kmeans", _payload(centers, kmeans.inertia_, kmeans.n_iter_, sizes),
                                d, {"n_clusters": k}, threshold=float(np.finfo(np.float64).max),
                                feature_names=getattr(kmeans, "feature_names_in_", None),
                                n_threads=1)
    return est
