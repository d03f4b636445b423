"""Isolation forest with scikit-learn's conventions, and conversion of fitted
scikit-learn isolation forests.

Signs, as ``sklearn.ensemble.IsolationForest`` and every anoma estimator
(see estimators.py): ``anomaly_score(X)`` is the library's score
s(x) = 2^(-E[h(x)] / c(psi)) in (0, 1], higher = more anomalous;
``score_samples(X) = -anomaly_score(X)``; ``offset_ = -model_.threshold``;
``decision_function = score_samples - offset_``; ``predict`` -1/+1.
"""
import numbers
import struct
import warnings

import numpy as np

from ._arrays import as_vector
from ._library import STATUS
from .errors import ParameterValueError
from .estimators import _OutlierDetector, _is_real, _n_threads
from .export import exported_model
from .model import Model

__all__ = ["IsolationForest", "from_sklearn"]


def _bad(name, expected, value):
    return ParameterValueError(STATUS["ANOMA_ERR_PARAM_VALUE"],
                               "IsolationForest: %s=%r: expected %s" % (name, value, expected))


def _is_int(v):
    return isinstance(v, numbers.Integral) and not isinstance(v, (bool, np.bool_))


def _resolve_max_samples(value, n):
    """scikit-learn's max_samples_ for n training rows."""
    if isinstance(value, str) and value == "auto":
        return min(256, n)
    if _is_int(value) and value >= 1:
        if value > n:
            warnings.warn("max_samples (%s) is greater than the total number of samples (%s). "
                          "max_samples will be set to n_samples for estimation." % (value, n))
        return min(int(value), n)
    if _is_real(value) and 0 < value <= 1:
        return int(value * n)
    raise _bad("max_samples", '"auto", an int >= 1 or a float in (0, 1]', value)


def _resolve_max_features(value, d):
    """scikit-learn's features per tree (more than d is left to the library to refuse)."""
    if _is_int(value) and value >= 1:
        return int(value)
    if _is_real(value) and 0 < value <= 1:
        return max(1, int(value * d))
    raise _bad("max_features", "an int >= 1 or a float in (0, 1]", value)


def _count(k, n):
    """The C parameter value for k rows (or features) of n: its "1" means all
    of them, so a count of 1 is given as a fraction that rounds down to 1."""
    return k if k != 1 or n <= 1 else 1.5 / n


def _seed(random_state):
    """scikit-learn's check_random_state, then a seed for the library."""
    if random_state is None:
        return int(np.random.randint(np.iinfo(np.int32).max))
    if _is_int(random_state) and 0 <= random_state < 2 ** 63:
        return int(random_state)
    if isinstance(random_state, np.random.RandomState):
        return int(random_state.randint(np.iinfo(np.int32).max))
    raise _bad("random_state", "None, an int >= 0 or a numpy.random.RandomState", random_state)


def _kept_rows(x, sample_weight):
    """Rows of x to fit on: those of non-zero weight (all without weights)."""
    if sample_weight is None:
        return x
    w = as_vector(sample_weight, np.float64, "sample_weight", x.shape[0])
    bad = ~(np.isfinite(w) & (w >= 0))
    if bad.any():
        i = int(np.argmax(bad))
        raise ValueError("sample_weight[%d] = %r: weights must be finite and >= 0" % (i, w[i]))
    return x if w.all() else x[w != 0]


class IsolationForest(_OutlierDetector):
    """Isolation forest (libanoma's "iforest" detector) with scikit-learn's
    parameters and signs; ``extension_level`` > 0 grows an extended forest.

    ``score_samples`` is higher = more normal, ``anomaly_score`` higher = more
    anomalous, ``predict`` gives -1/+1 (see the module's docstring).
    ``contamination="auto"`` sets ``offset_ = -0.5``; a rate sets ``offset_``
    to the ``contamination`` quantile of the training ``score_samples``.
    After ``fit``: ``model_``, ``offset_``, ``threshold_``, ``n_features_in_``,
    ``feature_names_in_`` (from a DataFrame), ``max_samples_``.
    ``sample_weight``: a row of weight 0 is left out of the fit (as scikit-
    learn's trees leave it out); positive weights do not change an isolation
    forest, whose splits are drawn at random (scikit-learn's neither).
    """

    def __init__(self, n_estimators=100, max_samples="auto", contamination="auto",
                 max_features=1.0, bootstrap=False, random_state=None, n_jobs=1,
                 extension_level=0):
        self.n_estimators = n_estimators
        self.max_samples = max_samples
        self.contamination = contamination
        self.max_features = max_features
        self.bootstrap = bootstrap
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.extension_level = extension_level

    def _make_model(self, x):
        """(the unfitted model for the rows x, max_samples_)."""
        if not _is_int(self.n_estimators) or self.n_estimators < 1:
            raise _bad("n_estimators", "an int >= 1", self.n_estimators)
        model_params = self._contamination_params()
        model_params["n_threads"] = _n_threads(self.n_jobs, "IsolationForest")
        n, d = x.shape
        psi = _resolve_max_samples(self.max_samples, n)
        n_feats = _resolve_max_features(self.max_features, d)
        detector = {"n_trees": int(self.n_estimators),
                    "max_samples": _count(psi, n),
                    "max_features": _count(n_feats, d),
                    "bootstrap": bool(self.bootstrap),
                    "seed": _seed(self.random_state),
                    "extension_level": self.extension_level}
        return Model(model_params, [("iforest", detector)]), psi

    def fit(self, X, y=None, sample_weight=None):
        """Grow the forest on X (n_samples, n_features); y is ignored; rows
        of zero ``sample_weight`` are left out. Returns self.

        NaN values are missing (see docs/detectors/iforest.md); +-Inf raises."""
        x, names = self._check_X(X, reset=True)
        x = _kept_rows(x, sample_weight)
        self._check_X(x, reset=True)  # every row of weight 0: no sample left
        model, psi = self._make_model(x)
        self._fit_model(model, x, names)
        self.max_samples_ = psi
        return self

    def fit_predict(self, X, y=None, sample_weight=None):
        """fit(X) then predict(X)."""
        return self.fit(X, sample_weight=sample_weight).predict(X)

    def feature_contributions(self, X):
        """Each feature's share of each row's isolation, shape (n_samples,
        n_features); a row's contributions sum to 1 + log2(anomaly_score)."""
        return self.feature_scores(X)


# ---- scikit-learn forests -------------------------------------------------

def _sklearn_payload(forest, n_features):
    """The iforest payload (docs/detectors/iforest.md, version 1) of a fitted
    sklearn.ensemble.IsolationForest."""
    parts = [struct.pack("<IIQQQ", 1, 1,  # version 1; flags: compare_as_float32
                         n_features, int(forest.max_samples_), len(forest.estimators_))]
    # scikit-learn indexes X[:, features] only when it uses fewer features
    subsample = forest._max_features != n_features
    for tree, features in zip(forest.estimators_, forest.estimators_features_):
        t = tree.tree_
        left = t.children_left.astype("<i4")  # -1 -> 0xFFFFFFFF
        right = t.children_right.astype("<i4")
        leaf = left == -1
        samples = t.n_node_samples.astype("<u8")
        flags = np.zeros(t.node_count, dtype="u1")  # NaN: to the child with more rows
        flags[~leaf] = samples[right[~leaf]] > samples[left[~leaf]]
        feature_map = np.asarray(features, dtype="<u4") if subsample else np.empty(0, "<u4")
        parts += [struct.pack("<QQ", t.node_count, feature_map.size), feature_map.tobytes(),
                  left.tobytes(), right.tobytes(),
                  np.where(leaf, 0, t.feature).astype("<u4").tobytes(),
                  np.where(leaf, 0.0, t.threshold).astype("<f8").tobytes(),
                  samples.tobytes(), flags.tobytes(), struct.pack("<Q", 0)]
    return b"".join(parts)


def from_sklearn(forest):
    """An IsolationForest scoring as the fitted ``sklearn.ensemble.IsolationForest``
    ``forest``: same trees (float32 comparisons, as scikit-learn), same
    ``offset_`` (the model's threshold is ``-offset_``), same parameters and
    feature names. ``score_samples`` agrees with scikit-learn's to ~1e-15."""
    if not hasattr(forest, "estimators_features_") or not hasattr(forest, "offset_"):
        raise ValueError("from_sklearn expects a fitted sklearn.ensemble.IsolationForest")
    d = int(forest.n_features_in_)
    params = {k: v for k, v in forest.get_params().items()
              if k in IsolationForest._param_names()}
    est = IsolationForest(**params)
    detector = {"n_trees": len(forest.estimators_),
                "max_samples": _count(int(forest.max_samples_), int(forest.max_samples_)),
                "max_features": _count(int(forest._max_features), d),
                "bootstrap": bool(forest.bootstrap)}
    if _is_int(forest.random_state):
        detector["seed"] = int(forest.random_state)
    est.model_ = exported_model("iforest", _sklearn_payload(forest, d), d, detector,
                                threshold=-float(forest.offset_),
                                feature_names=getattr(forest, "feature_names_in_", None),
                                n_threads=_n_threads(forest.n_jobs, "IsolationForest"))
    est.max_samples_ = int(forest.max_samples_)
    return est
