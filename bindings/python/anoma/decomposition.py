"""Distance from the principal subspace ("pca" detector) with scikit-learn's
outlier conventions, and conversion of fitted scikit-learn PCA objects.

``anomaly_score(X)`` is, with ``method="reconstruction"``, scikit-learn's
``((X - pca.inverse_transform(pca.transform(X))) ** 2).sum(axis=1)`` for
``PCA(n_components, svd_solver="full").fit(X_train)``; with
``method="minor"``, the sum over the axes not kept of the squared scores
divided by their explained variance.
"""
import numbers
import struct

import numpy as np

from ._library import STATUS
from .errors import ParameterValueError
from .estimators import _OutlierDetector, _is_real, _n_threads
from .export import exported_model
from .model import Model

__all__ = ["PCADetector", "from_sklearn_pca"]

_HEAD = "<BBQQQd"


def _bad(name, expected, value):
    return ParameterValueError(STATUS["ANOMA_ERR_PARAM_VALUE"],
                               "PCADetector: %s=%r: expected %s" % (name, value, expected))


def _payload(minor, whiten, k, ratio, mean, axes, divisors):
    """A "pca" payload, version 1 (docs/detectors/pca.md)."""
    axes = np.ascontiguousarray(axes, dtype="<f8")
    mean = np.ascontiguousarray(mean, dtype="<f8")
    return b"".join([struct.pack(_HEAD, int(minor), int(whiten), mean.size, k, axes.shape[0],
                                 float(ratio)),
                     mean.tobytes(), axes.tobytes(),
                     np.ascontiguousarray(divisors, dtype="<f8").tobytes()])


class PCADetector(_OutlierDetector):
    """Squared distance from the training rows' principal subspace
    (libanoma's "pca" detector).

    ``n_components``: the axes kept, a count >= 1 or a fraction in (0, 1) of
    the variance to explain (default 0.95), chosen as scikit-learn's
    ``PCA(svd_solver="full")`` chooses them. ``method="reconstruction"``: the
    squared reconstruction error (``feature_scores``: each feature's squared
    residual); ``method="minor"``: the squared standardised scores on the axes
    not kept. ``whiten`` is scikit-learn's, and changes no score (the
    reconstruction does not depend on it). ``contamination`` (default 0.1)
    sets ``threshold_`` to the (1 - contamination) quantile of the training
    scores; ``"auto"`` is refused. NaN is refused: impute first.

    After ``fit``: ``n_components_``, ``mean_``, ``n_features_in_``,
    ``feature_names_in_``, ``model_``.
    """

    def __init__(self, n_components=0.95, whiten=False, method="reconstruction",
                 contamination=0.1, n_jobs=None):
        self.n_components = n_components
        self.whiten = whiten
        self.method = method
        self.contamination = contamination
        self.n_jobs = n_jobs

    def _more_tags(self):
        return {"allow_nan": False}

    def _detector_params(self):
        n = self.n_components
        if isinstance(n, numbers.Integral) and not isinstance(n, (bool, np.bool_)) and n >= 1:
            n = int(n)
        elif _is_real(n) and 0 < n < 1:
            n = float(n)
        else:
            raise _bad("n_components", "an int >= 1 or a float in (0, 1)", n)
        if not isinstance(self.whiten, (bool, np.bool_)):
            raise _bad("whiten", "True or False", self.whiten)
        if self.method not in ("reconstruction", "minor"):
            raise _bad("method", "'reconstruction' or 'minor'", self.method)
        return {"n_components": n, "whiten": bool(self.whiten), "method": self.method}

    def fit(self, X, y=None):
        """Fit on X (n_samples >= 2, n_features); y is ignored. Returns self."""
        detector = self._detector_params()
        x, names = self._check_X(X, reset=True)
        params = self._contamination_params()
        params["n_threads"] = _n_threads(self.n_jobs, "PCADetector")
        self._fit_model(Model(params, [("pca", detector)]), x, names)
        return self

    def _state(self):
        payload = self._model().detector_payload(0)
        _minor, _whiten, p, k, a, _ratio = struct.unpack_from(_HEAD, payload, 0)
        values = np.frombuffer(payload, dtype="<f8", offset=struct.calcsize(_HEAD))
        return k, values[:p].copy()

    @property
    def n_components_(self):
        """Number of principal axes kept."""
        return self._state()[0]

    @property
    def mean_(self):
        """The training rows' mean."""
        return self._state()[1]


def from_sklearn_pca(pca):
    """A PCADetector scoring as the fitted ``sklearn.decomposition.PCA``
    ``pca``: ``anomaly_score(X)`` is its squared reconstruction error
    ``((X - pca.inverse_transform(pca.transform(X))) ** 2).sum(axis=1)``, to
    rounding. scikit-learn keeps no training scores to take a threshold from,
    so ``threshold_`` starts at the largest double (nothing is flagged):
    set it for ``predict``."""
    if not hasattr(pca, "components_") or not hasattr(pca, "mean_"):
        raise ValueError("from_sklearn expects a fitted sklearn.decomposition.PCA")
    components = np.asarray(pca.components_, dtype=np.float64)
    k, p = components.shape
    est = PCADetector(n_components=k, whiten=bool(pca.whiten))
    ratio = float(np.sum(pca.explained_variance_ratio_))
    payload = _payload(False, pca.whiten, k, min(max(ratio, 0.0), 1.0), pca.mean_, components,
                       np.ones(k))
    est.model_ = exported_model("pca", payload, p, {"n_components": k, "whiten": bool(pca.whiten)},
                                threshold=float(np.finfo(np.float64).max),
                                feature_names=getattr(pca, "feature_names_in_", None),
                                n_threads=1)
    return est
