"""What bench/run compares: one Entry per libanoma component and its peer.

An entry has a name, a group (what `bench/run --only GROUP` selects), a
libanoma side and a peer side. Detector sides have

    fit(X) -> fitted              everything the library's fit does
    score(fitted, X) -> scores    1-D, higher = more anomalous
    threshold(fitted) -> float    the decision threshold learnt at fit
    size(fitted) -> int           bytes of the saved form

and the libanoma side (AnomaDetector) also saves its model for the C row
timer (bench/row_latency.c). A peer's single-row time is score() on a 1 x d
array. Metric sides are plain functions f(y_true, y_score) -> float.

An entry's `table` says which table bench/run puts it in: "stats" (one
row per dataset and detector, NumPy-style peers whose scores agree with
libanoma's), or "forest" (randomised models: both sides' ROC AUC instead
of a score difference, libanoma's fit on all cores as an extra column, the
peer's fit without its training-score pass, its single-row time over a few
hundred calls, and its size as a joblib file). The isolation forest is

    Entry("iforest", "iforest",
          AnomaDetector("iforest", "n_trees=100 max_samples=256 seed=0"),
          Sklearn("IsolationForest", n_estimators=100, max_samples=256,
                  n_jobs=1, random_state=0),
          peer_name="sklearn", agree=auc_gap, table="forest"),
"""
import importlib
import os
import pickle
import tempfile
import warnings
from dataclasses import dataclass
from typing import Callable

import numpy as np

CONTAMINATION = 0.1  # the model's default: threshold = the 0.9 quantile of training scores
N_THREADS = 1        # libanoma's n_threads; set from bench/run --threads


# ---- agreement: how far apart the two sides' answers are ----------------

def max_abs_diff(a, p, y):
    """Largest |difference| over batch scores, C row-path scores and the threshold."""
    d = max(np.max(np.abs(a["scores"] - p["scores"])),
            np.max(np.abs(a["row_scores"] - p["scores"])),
            abs(a["threshold"] - p["threshold"]))
    return "%.1e" % d


def auc_gap(a, p, y):
    """For randomised detectors, whose scores cannot agree: ROC AUC of each side."""
    from sklearn.metrics import roc_auc_score
    return "%.3f / %.3f" % (roc_auc_score(y, a["scores"]), roc_auc_score(y, p["scores"]))


# ---- the libanoma side -----------------------------------------------------

class AnomaDetector:
    """A one-detector anoma.Model; batch calls go through the Python bindings."""

    def __init__(self, detector, params=""):
        self.detector, self.params = detector, params

    def fit(self, X, n_threads=None):
        """A whole model fit: the detector, its scores on X, the threshold.
        n_threads: None = N_THREADS (bench/run --threads), 0 = all cores."""
        import anoma
        model_params = {"contamination": CONTAMINATION,
                        "n_threads": N_THREADS if n_threads is None else n_threads}
        return anoma.Model(model_params, [(self.detector, self.params)]).fit(X)

    def fit_estimator(self, X, n_threads=None):
        """The detector alone: contamination="auto" (the detector's own rule)
        leaves the model no training rows to score."""
        import anoma
        model_params = {"contamination": "auto",
                        "n_threads": N_THREADS if n_threads is None else n_threads}
        return anoma.Model(model_params, [(self.detector, self.params)]).fit(X)

    def score(self, model, X):
        return model.score(X)

    def threshold(self, model):
        return model.threshold

    def size(self, model):
        return len(model.to_bytes())

    def save(self, model, path):
        model.save(path)

    def cli_args(self):
        """Arguments of `anoma evaluate` for this detector."""
        return [f"--param={self.detector}.{kv}" for kv in self.params.split()]


# ---- peers -----------------------------------------------------------------

class NumpyStats:
    """Per-feature statistics in NumPy, scored with combine=max.

    fit() does what the library's model fit does: the statistics, the
    training scores and their (1 - contamination) quantile as threshold.
    stats(X) returns the fitted arrays; score(fitted, X) the row scores.
    """

    size_name = "pickle"

    def __init__(self, stats, score):
        self.stats, self._score = stats, score

    def fit(self, X):
        params = self.stats(X)
        return params, np.quantile(self._score(params, X), 1 - CONTAMINATION)

    def score(self, fitted, X):
        return self._score(fitted[0], X)

    def threshold(self, fitted):
        return fitted[1]

    def size(self, fitted):
        return len(pickle.dumps(fitted, protocol=pickle.HIGHEST_PROTOCOL))


def _nonzero(scale):
    return np.where(scale == 0, 1.0, scale)


def zscore_stats(X):
    # (libanoma also pins a constant feature's centre to its value; the
    # datasets here have none, so numpy's mean/std agree without that.)
    return X.mean(axis=0), _nonzero(X.std(axis=0))


def mad_stats(X):
    med = np.median(X, axis=0)
    dev = np.abs(X - med)
    scale = np.median(dev, axis=0) / 0.6744897501960817  # scipy's scale='normal'
    zero = scale == 0  # fall back to the mean absolute deviation, then to 1
    if zero.any():
        scale[zero] = 1.2533141373155001 * dev[:, zero].mean(axis=0)
    return med, _nonzero(scale)


def centre_score(params, X):
    centre, scale = params
    return (np.abs(X - centre) / scale).max(axis=1)


IQR_K = 1.5  # libanoma's default fence factor


def iqr_stats(X):
    q1, q3 = np.percentile(X, [25, 75], axis=0)
    return q1, q3, _nonzero(q3 - q1)


def iqr_score(params, X):
    q1, q3, scale = params
    return (np.maximum(q1 - X, X - q3) / scale - IQR_K).max(axis=1)


class Sklearn:
    """A scikit-learn outlier detector; its score_samples sign is flipped so
    that higher = more anomalous. Threshold: the same quantile rule.

    fit() is the whole model fit, as libanoma's: the estimator, its scores
    on the training rows and their (1 - contamination) quantile (what
    scikit-learn's own fit does with contamination=0.1). fit_estimator()
    is the estimator alone (contamination="auto": no training-score pass).
    Saved size: joblib.dump to a file (pickle if joblib is missing)."""

    size_name = "joblib"

    def __init__(self, name, module="sklearn.ensemble", **params):
        self.name, self.module, self.params = name, module, params

    def fit_estimator(self, X):
        cls = getattr(importlib.import_module(self.module), self.name)
        with warnings.catch_warnings():  # "max_samples (256) is greater than the total number of samples"
            warnings.simplefilter("ignore", UserWarning)
            return cls(**self.params).fit(X)

    def fit(self, X):
        est = self.fit_estimator(X)
        return est, np.quantile(-est.score_samples(X), 1 - CONTAMINATION)

    def score(self, fitted, X):
        return -fitted[0].score_samples(X)

    def threshold(self, fitted):
        return fitted[1]

    def size(self, fitted, compress=0):
        """Bytes of the fitted estimator saved by joblib.dump (compress as joblib's)."""
        try:
            import joblib
        except ImportError:
            self.size_name = "pickle"
            return len(pickle.dumps(fitted[0], protocol=pickle.HIGHEST_PROTOCOL))
        with tempfile.TemporaryDirectory(prefix="anoma-bench-") as tmp:
            path = os.path.join(tmp, "model.joblib")
            joblib.dump(fitted[0], path, compress=compress)
            return os.path.getsize(path)


def anoma_metric(name):
    def f(y, s):
        import anoma
        return getattr(anoma.metrics, name)(y, s)
    return f


def sklearn_metric(name):
    def f(y, s):
        import sklearn.metrics
        return getattr(sklearn.metrics, name)(y, s)
    return f


# ---- the entries -----------------------------------------------------------

@dataclass
class Entry:
    name: str
    group: str
    anoma: object
    peer: object
    peer_name: str = "numpy"
    agree: Callable = max_abs_diff  # detectors only
    table: str = "stats"            # detectors only: "stats" or "forest" (see the docstring)


ENTRIES = [
    Entry("zscore", "stats", AnomaDetector("zscore"), NumpyStats(zscore_stats, centre_score)),
    Entry("mad", "stats", AnomaDetector("mad"), NumpyStats(mad_stats, centre_score)),
    Entry("iqr", "stats", AnomaDetector("iqr"), NumpyStats(iqr_stats, iqr_score)),
    Entry("roc_auc", "metrics", anoma_metric("roc_auc_score"),
          sklearn_metric("roc_auc_score"), "sklearn"),
    Entry("average_precision", "metrics", anoma_metric("average_precision_score"),
          sklearn_metric("average_precision_score"), "sklearn"),
    Entry("iforest", "iforest",
          AnomaDetector("iforest", "n_trees=100 max_samples=256 seed=0"),
          Sklearn("IsolationForest", n_estimators=100, max_samples=256,
                  n_jobs=1, random_state=0),
          peer_name="sklearn", agree=auc_gap, table="forest"),
]

GROUPS = list(dict.fromkeys(e.group for e in ENTRIES))  # in entry order


def is_detector(entry):
    return hasattr(entry.anoma, "fit")
