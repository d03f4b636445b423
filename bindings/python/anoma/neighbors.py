"""Detectors on the exact k-nearest-neighbour engine, with scikit-learn's
conventions: LocalOutlierFactor (libanoma's "lof") and KNNDetector ("knn",
PyOD's KNN).

Signs (as every anoma estimator, see estimators.py): ``anomaly_score(X)`` is
the library's score, the local outlier factor, higher = more anomalous;
``score_samples = -anomaly_score``; ``offset_ = -threshold_``.

Neighbours are exact, ties broken by the lower training-row index, whatever
``algorithm`` and ``n_jobs`` (docs/neighbors.md). Missing values (NaN) are
refused with an error naming the row and the feature: impute them first.
"""
import numbers
import warnings

import numpy as np

from ._library import STATUS
from .errors import ParameterValueError
from .estimators import _OutlierDetector, _n_threads
from .model import Model

__all__ = ["LocalOutlierFactor", "KNNDetector"]

_ALGORITHMS = ("auto", "brute", "kd_tree")


class _available_if:
    """A method that exists only when ``check(obj)`` passes (it raises
    AttributeError otherwise), as scikit-learn's ``available_if``: hasattr
    then answers False, as for scikit-learn's own LocalOutlierFactor."""

    def __init__(self, check, fn):
        self.check, self.fn = check, fn
        self.__doc__ = fn.__doc__

    def __get__(self, obj, owner=None):
        if obj is None:
            return self
        self.check(obj)
        return self.fn.__get__(obj, owner)


def _only_if(check):
    return lambda fn: _available_if(check, fn)


def _bad(who, name, expected, value):
    return ParameterValueError(STATUS["ANOMA_ERR_PARAM_VALUE"],
                               "%s: %s=%r: expected %s" % (who, name, value, expected))


def _check_k(who, k):
    if not isinstance(k, numbers.Integral) or isinstance(k, (bool, np.bool_)) or k < 1:
        raise _bad(who, "n_neighbors", "an int >= 1", k)
    return int(k)


def _check_algorithm(who, algorithm):
    if algorithm not in _ALGORITHMS:
        raise _bad(who, "algorithm", " or ".join(repr(a) for a in _ALGORITHMS), algorithm)
    return algorithm


def _needs_novelty(method):
    def check(est):
        if not est.novelty:
            raise AttributeError("%s is not available when novelty=False. Use novelty=True "
                                 "if you want to use LOF for novelty detection on new unseen "
                                 "data; the scores of the training samples are "
                                 "negative_outlier_factor_." % method)
        return True
    return check


def _novelty_only(name, doc):
    """_OutlierDetector's method ``name`` (scoring new rows), there only
    with novelty=True, as scikit-learn's LocalOutlierFactor hides it."""
    inherited = getattr(_OutlierDetector, name)

    def method(self, X):
        return inherited(self, X)
    method.__name__ = method.__qualname__ = name
    method.__doc__ = doc
    return _available_if(_needs_novelty(name), method)


def _borrowing(x, detector):
    """x as the model will reference it instead of copying it, as
    scikit-learn's ``_fit_X`` (the library's rows=borrow, set in the
    detector's params): one contiguous float64 array, x itself when it is
    one, else converted once. The model keeps that array alive
    (Model._borrowed_rows), so a caller's ``del X`` is safe. The library
    refuses to borrow only a float32, strided or pipeline-transformed
    matrix, none of which this array is."""
    detector["rows"] = "borrow"
    return np.ascontiguousarray(x, dtype=np.float64)


def _needs_outlier_mode(est):
    if est.novelty:
        raise AttributeError("fit_predict is not available when novelty=True. Use "
                             "novelty=False if you want to predict on the training set.")
    return True


class LocalOutlierFactor(_OutlierDetector):
    """Local Outlier Factor (Breunig et al. 2000) as scikit-learn's
    ``sklearn.neighbors.LocalOutlierFactor``, on libanoma's "lof" detector.

    ``novelty=False`` (outlier detection, the default): ``fit_predict(X)``
    labels the training rows, and ``negative_outlier_factor_`` holds their
    scores (each row's neighbours leave the row itself out);
    ``score_samples``, ``decision_function``, ``predict`` (and libanoma's
    ``anomaly_score``, ``predict_proba``, ``predict_confidence``) do not exist.
    The fitted model (``model_``) then keeps no copy of the training rows
    (the library's ``keep_rows=false``): its own scoring of rows
    (``model_.score``, ``model_.row_scorer()``) raises
    ``anoma.errors.AnomaError`` (status ``ANOMA_ERR_UNSUPPORTED``, naming
    ``keep_rows=false``), while saving, loading and pickling work.
    ``novelty=True``: those three score new rows against the training rows,
    and ``fit_predict`` does not exist. Either way ``offset_`` is -1.5 for
    ``contamination="auto"``, else the ``contamination`` percentile of
    ``negative_outlier_factor_``.

    ``n_neighbors`` (k, capped at the training rows - 1: ``n_neighbors_``),
    ``algorithm`` ("auto", "brute", "kd_tree": the same answers, only the
    speed differs), ``n_jobs`` (threads; the answers do not depend on it).
    """

    def __init__(self, n_neighbors=20, algorithm="auto", contamination="auto", novelty=False,
                 n_jobs=1):
        self.n_neighbors = n_neighbors
        self.algorithm = algorithm
        self.contamination = contamination
        self.novelty = novelty
        self.n_jobs = n_jobs

    def _more_tags(self):
        return {"allow_nan": False}

    def fit(self, X, y=None):
        """Fit on X (n_samples >= 2, n_features); y is ignored. Returns self."""
        who = type(self).__name__
        k = _check_k(who, self.n_neighbors)
        algorithm = _check_algorithm(who, self.algorithm)
        x, names = self._check_X(X, reset=True)
        n = x.shape[0]
        if k > n:
            warnings.warn("n_neighbors (%s) is greater than the total number of samples (%s). "
                          "n_neighbors will be set to (n_samples - 1) for estimation." % (k, n))
        model_params = self._contamination_params()
        model_params["n_threads"] = _n_threads(self.n_jobs, who)
        # outlier mode never scores new rows: the model keeps no copy of X;
        # novelty mode references it
        detector = {"n_neighbors": k, "algorithm": algorithm, "keep_rows": bool(self.novelty)}
        if self.novelty:
            x = _borrowing(x, detector)
        model = Model(model_params, [("lof", detector)])
        self._fit_model(model, x, names)
        self.n_neighbors_ = max(1, min(k, n - 1))
        self.n_samples_fit_ = n
        return self

    @property
    def _fit_X(self):
        """The training rows the fitted model references (novelty=True), as
        scikit-learn's ``_fit_X``; None in outlier mode or after unpickling,
        where the model holds its own rows."""
        return self._model()._borrowed_rows

    @property
    def negative_outlier_factor_(self):
        """-LOF of each training row (its neighbours leave it out): higher =
        more normal, as scikit-learn's."""
        return -self._model().training_scores()

    @_only_if(_needs_outlier_mode)
    def fit_predict(self, X, y=None):
        """fit(X), then -1 for the training rows whose
        ``negative_outlier_factor_`` is below ``offset_``, +1 for the others."""
        self.fit(X)
        return np.where(self.negative_outlier_factor_ < self.offset_, -1, 1)

    anomaly_score = _novelty_only("anomaly_score", """LOF of new rows against the training
        rows, higher = more anomalous (novelty=True only).""")
    score_samples = _novelty_only("score_samples", """-LOF of new rows against the training
        rows (novelty=True only).""")
    decision_function = _novelty_only("decision_function", """``score_samples(X) - offset_``
        (novelty=True only).""")
    predict = _novelty_only("predict", """-1 (outlier) or +1 for new rows (novelty=True
        only).""")
    predict_proba = _novelty_only("predict_proba", """P(normal), P(anomaly) of new rows
        (novelty=True only).""")
    predict_confidence = _novelty_only("predict_confidence", """How sure each decision on new
        rows is (novelty=True only).""")


class KNNDetector(_OutlierDetector):
    """Distance to the k nearest training rows, PyOD's ``KNN`` detector, on
    libanoma's "knn" detector, with scikit-learn's outlier conventions.

    ``method``: ``"largest"`` (the k-th distance, PyOD's default), ``"mean"``
    or ``"median"`` of the k distances. ``decision_scores_`` are the training
    rows' scores with each row left out of its own neighbours (PyOD's
    ``decision_scores_``); ``anomaly_score(X)`` scores rows against the
    training rows, nothing left out (PyOD's ``decision_function``). Note that
    ``decision_function`` here is scikit-learn's, ``score_samples(X) -
    offset_`` (negative = outlier). ``contamination`` (default 0.1, PyOD's)
    sets ``threshold_`` to the (1 - contamination) quantile of
    ``decision_scores_``, as PyOD's ``threshold_``; the detector has no rule of
    its own, so ``"auto"`` is refused. ``n_neighbors`` is capped at the
    training rows - 1. NaN is refused: impute first.
    """

    def __init__(self, n_neighbors=5, method="largest", algorithm="auto", contamination=0.1,
                 n_jobs=1):
        self.n_neighbors = n_neighbors
        self.method = method
        self.algorithm = algorithm
        self.contamination = contamination
        self.n_jobs = n_jobs

    def _more_tags(self):
        # predict(X_train) scores each row with itself as a neighbour at
        # distance 0 (PyOD's decision_function does too), while the
        # threshold comes from the rows left out of their own neighbours
        # (decision_scores_): the share of training rows predict flags is
        # not the contamination, which is what these two checks count.
        reason = ("predict(X_train) counts each row as its own neighbour; the "
                  "contamination is the share of decision_scores_ above threshold_")
        return {"allow_nan": False, "_xfail_checks": {"check_outliers_train": reason,
                                                      "check_outliers_fit_predict": reason}}

    def fit(self, X, y=None):
        """Fit on X (n_samples >= 2, n_features); y is ignored. Returns self."""
        who = type(self).__name__
        k = _check_k(who, self.n_neighbors)
        algorithm = _check_algorithm(who, self.algorithm)
        if self.method not in ("largest", "mean", "median"):
            raise _bad(who, "method", "'largest', 'mean' or 'median'", self.method)
        x, names = self._check_X(X, reset=True)
        model_params = self._contamination_params()
        model_params["n_threads"] = _n_threads(self.n_jobs, who)
        # every model scores new rows, so references X rather than copying it
        detector = {"n_neighbors": k, "method": self.method, "algorithm": algorithm}
        x = _borrowing(x, detector)
        model = Model(model_params, [("knn", detector)])
        self._fit_model(model, x, names)
        self.n_neighbors_ = max(1, min(k, x.shape[0] - 1))
        return self

    @property
    def _fit_X(self):
        """The training rows the fitted model references, as
        LocalOutlierFactor's; None after unpickling, where the model holds
        its own rows."""
        return self._model()._borrowed_rows

    @property
    def decision_scores_(self):
        """Each training row's score, the row left out of its neighbours."""
        return self._model().training_scores()
