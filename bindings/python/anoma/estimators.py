"""scikit-learn style estimators over libanoma detectors.

Sign conventions of the statistical detectors (ZScore, MAD, IQR):
``score_samples`` follows the library, **higher = more anomalous** (unlike
scikit-learn's outlier detectors, where higher = more normal);
``decision_function`` is ``score_samples - threshold_``, positive for an
anomaly; ``predict`` gives **1 for an anomaly and 0 for a normal row**
(scikit-learn gives -1 and 1).
"""
import inspect

from .errors import NotFittedError
from .model import Model

__all__ = ["ZScore", "MAD", "IQR"]


class _Estimator:
    """What every estimator shares: parameters are the arguments of
    ``__init__`` (``get_params``/``set_params``, so ``sklearn.base.clone``
    and model selection work), the fitted C model is ``model_``, and pickling
    goes through the model's bytes."""

    _estimator_type = "outlier_detector"

    @classmethod
    def _param_names(cls):
        sig = inspect.signature(cls.__init__)
        return sorted(p for p in sig.parameters if p != "self")

    def get_params(self, deep=True):
        """Parameters given to __init__, as a dict (``deep`` has no effect)."""
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params):
        """Set parameters by name; returns self."""
        valid = self._param_names()
        for key, value in params.items():
            if key not in valid:
                raise ValueError("Invalid parameter %r for estimator %s. Valid parameters are: %s."
                                 % (key, type(self).__name__, valid))
            setattr(self, key, value)
        return self

    def __repr__(self):
        args = ", ".join("%s=%r" % kv for kv in self.get_params().items())
        return "%s(%s)" % (type(self).__name__, args)

    def _model(self):
        try:
            return self.__dict__["model_"]
        except KeyError:
            raise NotFittedError(-7, "This %s instance is not fitted yet. Call 'fit' first."
                                 % type(self).__name__) from None


class _DetectorEstimator(_Estimator):
    """A statistical detector: a subclass names its C detector and lists its
    parameters in ``__init__``; ``_model_keys`` are those of the model
    bundle, all others go to the detector as ``key=value`` text."""

    _detector = None
    _model_keys = ("contamination",)

    def _make_model(self):
        params = self.get_params()
        model_params = {k: params.pop(k) for k in self._model_keys}
        return Model(model_params, [(self._detector, params)])

    def fit(self, X, y=None):
        """Fit on X (n_samples, n_features); y is ignored. Returns self.

        NaN values are missing and ignored; +-Inf raises."""
        model = self._make_model().fit(X)
        self.model_ = model
        self.threshold_ = model.threshold
        self.n_features_in_ = model.n_features
        return self

    def score_samples(self, X):
        """Anomaly score of each row: **higher = more anomalous**."""
        return self._model().score(X)

    def decision_function(self, X):
        """``score_samples(X) - threshold_``: positive for an anomaly."""
        return self._model().score(X) - self.threshold_

    def predict(self, X):
        """1 for an anomaly (score above ``threshold_``), 0 for a normal row."""
        return self._model().predict(X)

    def fit_predict(self, X, y=None):
        """fit(X) then predict(X)."""
        return self.fit(X).predict(X)

    def feature_scores(self, X):
        """Each feature's own score, shape (n_samples, n_features)."""
        return self._model().feature_scores(X)


class ZScore(_DetectorEstimator):
    """Per-feature |x - mean| / std, combined over features by ``combine``.

    Scores: higher = more anomalous. ``contamination`` sets ``threshold_``
    as the (1 - contamination) quantile of the training scores.
    """
    _detector = "zscore"

    def __init__(self, combine="max", ddof=0, contamination=0.1):
        self.combine = combine
        self.ddof = ddof
        self.contamination = contamination


class MAD(_DetectorEstimator):
    """Per-feature |x - median| / (1.4826 MAD), combined by ``combine``.

    Scores: higher = more anomalous.
    """
    _detector = "mad"

    def __init__(self, combine="max", contamination=0.1):
        self.combine = combine
        self.contamination = contamination


class IQR(_DetectorEstimator):
    """Per-feature distance outside [Q1, Q3] in units of the IQR, combined
    by ``combine``; ``k`` is Tukey's fence factor.

    Scores: higher = more anomalous.
    """
    _detector = "iqr"

    def __init__(self, combine="max", k=1.5, contamination=0.1):
        self.combine = combine
        self.k = k
        self.contamination = contamination
