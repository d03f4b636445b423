"""One-class SVM with scikit-learn's conventions, and conversion of fitted
scikit-learn OneClassSVMs.

Signs. The library's score (``anomaly_score``) is
``rho - sum_i dual_coef_i K(sv_i, x)``: scikit-learn's ``decision_function``
negated, higher = more anomalous, and the model's threshold is 0
(contamination="auto", the detector's own rule). On top of it this class
keeps scikit-learn's OneClassSVM attributes exactly:

- ``decision_function(X) = sum_i dual_coef_i K(sv_i, x) - rho``, negative
  outside the learned region;
- ``score_samples(X) = decision_function(X) + offset_``, that is
  ``sum_i dual_coef_i K(sv_i, x)``, higher = more normal;
- ``offset_ = rho = -intercept_[0]`` (with the threshold 0; setting
  ``offset_`` or ``threshold_`` moves the model's threshold, the one source of
  truth, and ``decision_function`` with it);
- ``predict``: -1 when the anomaly score is above the threshold. scikit-learn
  calls a row with a decision value of exactly 0 an outlier, this model an
  inlier; no other row differs.
"""
import re
import struct
import warnings

import numpy as np

from ._library import STATUS
from .errors import ParameterValueError
from .estimators import _OutlierDetector, _is_real, _n_threads
from .export import exported_model
from .model import Model

__all__ = ["OneClassSVM", "from_sklearn_ocsvm"]

_KERNELS = ("rbf", "linear", "poly", "sigmoid")


def _bad(name, expected, value):
    return ParameterValueError(STATUS["ANOMA_ERR_PARAM_VALUE"],
                               "OneClassSVM: %s=%r: expected %s" % (name, value, expected))


class _Fitted:
    """The fitted state read from an "ocsvm" payload (version 1 or 2)."""

    def __init__(self, version, payload):
        kernel, degree, gamma, coef0, rho, d, n_sv = struct.unpack_from("<IIdddQQ", payload, 0)
        at = struct.calcsize("<IIdddQQ")
        values = np.frombuffer(payload, dtype="<f8", offset=at, count=d + n_sv + n_sv * d)
        self.kernel = _KERNELS[kernel]
        self.degree, self.gamma, self.coef0, self.rho = degree, gamma, coef0, rho
        self.fill = values[:d].copy()
        self.coef = values[d:d + n_sv].copy()
        self.sv = values[d + n_sv:d + n_sv + n_sv * d].reshape(n_sv, d).copy()
        self.support = None  # the training rows, unknown in version 1
        at += values.nbytes
        if version >= 2 and struct.unpack_from("<Q", payload, at)[0]:
            self.support = np.frombuffer(payload, dtype="<u8", offset=at + 8,
                                         count=n_sv).astype(np.int32)


def _payload(kernel, degree, gamma, coef0, rho, fill, coef, sv, support):
    """An "ocsvm" payload, version 2 (docs/detectors/ocsvm.md)."""
    sv = np.ascontiguousarray(sv, dtype="<f8")
    return b"".join([struct.pack("<IIdddQQ", _KERNELS.index(kernel), int(degree), float(gamma),
                                 float(coef0), float(rho), sv.shape[1], sv.shape[0]),
                     np.asarray(fill, dtype="<f8").tobytes(),
                     np.asarray(coef, dtype="<f8").tobytes(), sv.tobytes(),
                     struct.pack("<Q", len(support)), np.asarray(support, dtype="<u8").tobytes()])


class OneClassSVM(_OutlierDetector):
    """One-class SVM (libanoma's "ocsvm" detector), the nu formulation solved
    as libsvm solves it, with scikit-learn's parameters, attributes and signs
    (see the module's docstring): the support vectors, dual coefficients and
    rho are scikit-learn's for the same data and parameters.

    Parameters are scikit-learn's OneClassSVM's; ``n_jobs`` (not in
    scikit-learn) sets the threads for kernel columns while fitting and for
    batch scoring; no result depends on it. ``cache_size`` (MB) bounds the
    kernel columns kept while fitting. ``verbose`` is not taken: the library
    prints nothing.

    After ``fit``: ``support_vectors_``, ``dual_coef_`` (1, n_SV),
    ``intercept_`` (``[-rho]``), ``offset_``, ``n_support_``, ``fit_status_``
    (1 when ``max_iter`` stopped the solver, with a ConvergenceWarning as
    scikit-learn), ``n_iter_`` (solver iterations), ``coef_`` (linear kernel), ``_gamma``, ``n_features_in_``,
    ``feature_names_in_``, ``model_``, ``support_`` (the support vectors'
    rows in the training data). NaN values are replaced by the feature's
    training mean (scikit-learn refuses them).
    """

    def __init__(self, kernel="rbf", degree=3, gamma="scale", coef0=0.0, tol=1e-3, nu=0.5,
                 shrinking=True, cache_size=200, max_iter=-1, n_jobs=None):
        self.kernel = kernel
        self.degree = degree
        self.gamma = gamma
        self.coef0 = coef0
        self.tol = tol
        self.nu = nu
        self.shrinking = shrinking
        self.cache_size = cache_size
        self.max_iter = max_iter
        self.n_jobs = n_jobs

    def _detector_params(self):
        if not isinstance(self.kernel, str) or self.kernel not in _KERNELS:
            raise _bad("kernel", "one of %s" % ", ".join(map(repr, _KERNELS)), self.kernel)
        gamma = self.gamma
        if not (isinstance(gamma, str) and gamma in ("scale", "auto")) and \
                not (_is_real(gamma) and gamma > 0):
            raise _bad("gamma", '"scale", "auto" or a float > 0', gamma)
        return {"kernel": self.kernel, "degree": self.degree, "gamma": gamma,
                "coef0": self.coef0, "tol": self.tol, "nu": self.nu,
                "shrinking": bool(self.shrinking), "cache_size": self.cache_size,
                "max_iter": self.max_iter}

    def fit(self, X, y=None, sample_weight=None):
        """Solve on X (n_samples, n_features); y is ignored; ``sample_weight``
        bounds each row's dual coefficient (a row of weight 0 is left out),
        as scikit-learn's. Returns self."""
        x, names = self._check_X(X, reset=True)
        model = Model({"contamination": "auto",
                       "n_threads": _n_threads(self.n_jobs, "OneClassSVM")},
                      [("ocsvm", self._detector_params())])
        model.fit(x, sample_weight=sample_weight)
        if names is not None:
            model.feature_names = list(names)
        self.model_ = model
        text = model.describe()
        self._summary(text)
        self.fit_status_ = 1 if "stopped at max_iter" in text else 0
        self.n_iter_ = int(re.search(r"solver iterations: (\d+)", text).group(1))
        if self.fit_status_:
            from sklearn.exceptions import ConvergenceWarning
            warnings.warn("Solver terminated early (max_iter=%i).  Consider pre-processing your "
                          "data with StandardScaler or MinMaxScaler." % self.max_iter,
                          ConvergenceWarning)
        return self

    def _more_tags(self):
        tags = super()._more_tags()
        # scikit-learn's own OneClassSVM lists this check, for the same
        # reason: gamma="scale" is computed over every row, those of weight
        # 0 included, as scikit-learn does (tested against it)
        tags["_xfail_checks"] = {"check_sample_weights_invariance":
                                 "zero sample_weight is not equivalent to removing samples"}
        return tags

    def fit_predict(self, X, y=None, sample_weight=None):
        """fit(X) then predict(X)."""
        return self.fit(X, sample_weight=sample_weight).predict(X)

    # --- the fitted state, read from the model (its one source) -------------
    def _summary(self, text=None):
        """rho, from the model's description (printed to the last bit), read
        once per model: scoring needs only rho, and the full state (support
        vectors and coefficients, _fitted) costs a serialisation of the
        model, more than a small fit itself."""
        model = self._model()
        cached = self.__dict__.get("_summary_cache")
        if cached is None or cached[0] is not model:
            if text is None:
                text = model.describe()
            rho = float(re.search(r"\n  nu: [^,\n]*, rho: (\S+)\n", text).group(1))
            cached = (model, rho)
            self.__dict__["_summary_cache"] = cached
        return cached[1]

    def _fitted(self):
        model = self._model()
        cached = self.__dict__.get("_fitted_cache")
        if cached is None or cached[0] is not model:
            cached = (model, _Fitted(*model.detector_payload(0, with_version=True)))
            self.__dict__["_fitted_cache"] = cached
        return cached[1]

    @property
    def support_vectors_(self):
        """The support vectors, shape (n_SV, n_features)."""
        return self._fitted().sv.copy()

    @property
    def support_(self):
        """The support vectors' rows in the training data, increasing (int32, as
        scikit-learn's): ``X[support_]`` is ``support_vectors_``. Equal to
        scikit-learn's; with sample weights of 0, scikit-learn counts only the
        rows of weight > 0, this counts every row. AttributeError for a model
        saved by libanoma 0.1, which did not keep them."""
        support = self._fitted().support
        if support is None:
            raise AttributeError("support_ is unknown: the model was saved without it")
        return support.copy()

    @property
    def dual_coef_(self):
        """Their coefficients in the decision function, shape (1, n_SV)."""
        return self._fitted().coef[None, :].copy()

    @property
    def intercept_(self):
        """``[-rho]``, as scikit-learn's."""
        return np.array([-self._summary()])

    @property
    def n_support_(self):
        """``[n_SV]``, as scikit-learn's (int32)."""
        return np.array([self._fitted().coef.size], dtype=np.int32)

    @property
    def coef_(self):
        """``dual_coef_ @ support_vectors_``: the linear kernel's weights."""
        if self.kernel != "linear":
            raise AttributeError("coef_ is only available when using a linear kernel")
        f = self._fitted()
        return (f.coef[None, :] @ f.sv)

    @property
    def _gamma(self):
        """The gamma the kernel used (after "scale" or "auto")."""
        return self._fitted().gamma

    @property
    def offset_(self):
        """``rho - threshold_``: scikit-learn's ``-intercept_`` with the
        default threshold 0. Settable (moves the model's threshold)."""
        return self._summary() - self._model().threshold

    @offset_.setter
    def offset_(self, value):
        self._model().threshold = self._summary() - float(value)

    # --- scikit-learn's signs ---------------------------------------------------
    def score_samples(self, X):
        """``sum_i dual_coef_i K(sv_i, x)``: higher = more normal."""
        return self._summary() - self.anomaly_score(X)


def _sorted_support(svm):
    """scikit-learn's ``support_`` when increasing (as its one-class fit makes
    it), else none: the payload keeps only increasing rows."""
    support = np.asarray(getattr(svm, "support_", []), dtype=np.int64)
    if support.size == len(svm.support_vectors_) and np.all(support >= 0) and \
            np.all(np.diff(support) > 0):
        return support
    return np.zeros(0, dtype=np.int64)


def from_sklearn_ocsvm(svm):
    """A OneClassSVM scoring as the fitted ``sklearn.svm.OneClassSVM`` ``svm``:
    the same support vectors, dual coefficients, rho and kernel (gamma as
    scikit-learn resolved it), feature names and parameters. Its
    ``decision_function`` agrees with scikit-learn's to rounding (~1e-12
    relative). A missing value, which scikit-learn refuses, is replaced by
    the support vectors' mean."""
    if not hasattr(svm, "support_vectors_") or not hasattr(svm, "_gamma"):
        raise ValueError("from_sklearn expects a fitted sklearn.svm.OneClassSVM")
    if not isinstance(svm.kernel, str) or svm.kernel not in _KERNELS:
        raise ValueError("OneClassSVM: kernel=%r cannot be converted: expected one of %s"
                         % (svm.kernel, ", ".join(_KERNELS)))
    if not (np.isfinite(svm._gamma) and svm._gamma > 0):
        raise ValueError("OneClassSVM: gamma=%r cannot be converted: expected a number > 0"
                         % svm._gamma)
    sv = np.asarray(svm.support_vectors_, dtype=np.float64)
    d = int(svm.n_features_in_)
    params = {k: v for k, v in svm.get_params().items() if k in OneClassSVM._param_names()}
    est = OneClassSVM(**params)
    detector = est._detector_params()
    detector["gamma"] = float(svm._gamma)
    payload = _payload(svm.kernel, svm.degree, svm._gamma, svm.coef0, -float(svm.intercept_[0]),
                       sv.mean(axis=0), np.asarray(svm.dual_coef_, np.float64).ravel(), sv,
                       _sorted_support(svm))
    est.model_ = exported_model("ocsvm", payload, d, detector, threshold=0.0,
                                feature_names=getattr(svm, "feature_names_in_", None),
                                n_threads=1)
    est._fitted()
    est.fit_status_ = int(svm.fit_status_)
    est.n_iter_ = int(svm.n_iter_)
    return est
