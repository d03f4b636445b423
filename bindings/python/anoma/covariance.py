"""The squared Mahalanobis distance ("mahalanobis" detector) with
scikit-learn's outlier conventions, and conversion of fitted scikit-learn
EmpiricalCovariance and MinCovDet objects.

``anomaly_score(X)`` (and ``mahalanobis(X)``) is scikit-learn's
``EmpiricalCovariance().fit(X_train).mahalanobis(X)`` (``MinCovDet``'s with
``robust=True``): the squared distance, higher = more anomalous.
"""
import struct

import numpy as np

from ._library import STATUS
from .errors import ParameterValueError
from .estimators import _OutlierDetector, _is_real, _n_threads
from .export import exported_model
from .model import Model

__all__ = ["Mahalanobis", "from_sklearn_covariance"]


def _bad(name, expected, value):
    return ParameterValueError(STATUS["ANOMA_ERR_PARAM_VALUE"],
                               "Mahalanobis: %s=%r: expected %s" % (name, value, expected))


def _symmetric(covariance):
    covariance = np.asarray(covariance, dtype=np.float64)
    return np.ascontiguousarray((covariance + covariance.T) / 2, dtype="<f8")


def _payload(robust, n, raw_support, support, location, covariance, raw=None):
    """A "mahalanobis" payload, version 2 (docs/detectors/mahalanobis.md);
    raw: None or a robust fit's (raw location, raw covariance)."""
    location = np.ascontiguousarray(location, dtype="<f8")
    parts = [struct.pack("<QBQQQ", location.size, int(robust), n, raw_support, support),
             location.tobytes(), _symmetric(covariance).tobytes(),
             struct.pack("<B", raw is not None)]
    if raw is not None:
        parts += [np.ascontiguousarray(raw[0], dtype="<f8").tobytes(),
                  _symmetric(raw[1]).tobytes()]
    return b"".join(parts)


class Mahalanobis(_OutlierDetector):
    """Squared Mahalanobis distance from the training rows' mean and
    covariance (libanoma's "mahalanobis" detector).

    ``robust=False``: the empirical covariance, as scikit-learn's
    ``EmpiricalCovariance``; ``robust=True``: FastMCD with its consistency
    correction and reweighting, as ``MinCovDet`` (``support_fraction`` and
    ``random_state`` are its parameters; ``random_state=None`` is seed 0, so
    a fit is reproducible). ``contamination`` (default 0.1, as
    ``EllipticEnvelope``) sets ``threshold_`` to the (1 - contamination)
    quantile of the training scores; the detector has no rule of its own,
    so ``"auto"`` is refused. ``feature_scores(X)`` splits each distance by
    feature: ``(x - location_)_j * (precision (x - location_))_j``, which
    sum to the distance. A singular covariance (a constant column) gets a
    ridge: see docs/detectors/mahalanobis.md. NaN is refused: impute first.

    After ``fit``: ``location_``, ``covariance_``, ``n_features_in_``,
    ``feature_names_in_``, ``model_``; with ``robust=True`` also
    ``raw_location_`` and ``raw_covariance_`` (MinCovDet's: the mean and
    covariance of the raw support FastMCD chose, before the correction and
    reweighting; the determinant of ``raw_covariance_`` is the MCD objective).
    """

    def __init__(self, robust=False, support_fraction=None, random_state=None,
                 contamination=0.1, n_jobs=None):
        self.robust = robust
        self.support_fraction = support_fraction
        self.random_state = random_state
        self.contamination = contamination
        self.n_jobs = n_jobs

    def _more_tags(self):
        return {"allow_nan": False}

    def _detector_params(self):
        if not isinstance(self.robust, (bool, np.bool_)):
            raise _bad("robust", "True or False", self.robust)
        fraction = self.support_fraction
        if fraction is not None and not (_is_real(fraction) and 0 < fraction <= 1):
            raise _bad("support_fraction", "None or a float in (0, 1]", fraction)
        seed = self.random_state
        if seed is None:
            seed = 0
        elif not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
            raise _bad("random_state", "None or an int >= 0", seed)
        return {"robust": bool(self.robust), "seed": int(seed),
                "support_fraction": "auto" if fraction is None else float(fraction)}

    def fit(self, X, y=None):
        """Fit on X (n_samples >= 2, n_features); y is ignored. Returns self."""
        detector = self._detector_params()
        x, names = self._check_X(X, reset=True)
        params = self._contamination_params()
        params["n_threads"] = _n_threads(self.n_jobs, "Mahalanobis")
        self._fit_model(Model(params, [("mahalanobis", detector)]), x, names)
        return self

    def _state(self):
        """(location, covariance, raw location or None, raw covariance or None)."""
        version, payload = self._model().detector_payload(0, with_version=True)
        d = struct.unpack_from("<Q", payload, 0)[0]
        at = struct.calcsize("<QBQQQ")
        values = np.frombuffer(payload, dtype="<f8", count=d + d * d, offset=at)
        state = [values[:d].copy(), values[d:].reshape(d, d).copy(), None, None]
        at += 8 * (d + d * d)
        if version >= 2 and payload[at]:
            raw = np.frombuffer(payload, dtype="<f8", count=d + d * d, offset=at + 1)
            state[2:] = raw[:d].copy(), raw[d:].reshape(d, d).copy()
        return state

    def _raw(self, index, name):
        value = self._state()[index]
        if value is None:
            raise AttributeError("%s: only a robust fit has one" % name)
        return value

    @property
    def location_(self):
        """The (robust) location: the training rows' mean, or MinCovDet's."""
        return self._state()[0]

    @property
    def covariance_(self):
        """The (robust) covariance, divided by the rows (numpy.cov(bias=1))."""
        return self._state()[1]

    @property
    def raw_location_(self):
        """robust=True: the mean of the raw support (MinCovDet's raw_location_)."""
        return self._raw(2, "raw_location_")

    @property
    def raw_covariance_(self):
        """robust=True: the covariance of the raw support, divided by its rows
        (MinCovDet's raw_covariance_)."""
        return self._raw(3, "raw_covariance_")

    def mahalanobis(self, X):
        """Squared Mahalanobis distances of the rows of X (scikit-learn's
        ``mahalanobis``): the same as ``anomaly_score(X)``."""
        return self.anomaly_score(X)


def from_sklearn_covariance(estimator):
    """A Mahalanobis scoring as the fitted scikit-learn ``EmpiricalCovariance``
    or ``MinCovDet`` ``estimator``: ``anomaly_score(X)`` is its
    ``mahalanobis(X)`` to rounding (the precision is factored again here, by
    Cholesky, instead of scikit-learn's ``pinvh``; a singular covariance gets
    the ridge of docs/detectors/mahalanobis.md where ``pinvh`` drops the
    null directions). The threshold is the chi-squared(n_features) 0.975
    quantile, MinCovDet's own cut-off for reweighting."""
    from scipy.stats import chi2

    if not hasattr(estimator, "location_") or not hasattr(estimator, "covariance_"):
        raise ValueError("from_sklearn expects a fitted EmpiricalCovariance or MinCovDet")
    if getattr(estimator, "assume_centered", False):
        raise ValueError("%s: assume_centered=True cannot be converted"
                         % type(estimator).__name__)
    location = np.asarray(estimator.location_, dtype=np.float64)
    d = location.size
    robust = hasattr(estimator, "raw_support_")
    support = getattr(estimator, "support_", None)
    n = len(support) if support is not None else 0
    raw = int(np.sum(estimator.raw_support_)) if robust else n
    used = int(np.sum(support)) if support is not None else 0
    params = {"robust": robust}
    est = Mahalanobis(robust=robust)
    if robust:
        est.support_fraction = estimator.support_fraction
        params["support_fraction"] = ("auto" if estimator.support_fraction is None
                                      else float(estimator.support_fraction))
    raw_estimate = (estimator.raw_location_, estimator.raw_covariance_) if robust else None
    est.model_ = exported_model("mahalanobis",
                                _payload(robust, n, raw, used, location, estimator.covariance_,
                                         raw_estimate),
                                d, params, threshold=float(chi2(d).isf(0.025)),
                                feature_names=getattr(estimator, "feature_names_in_", None),
                                n_threads=1)
    return est
