"""Evaluation metrics (y_true first, as in scikit-learn).

Labels are 0/1 (1 = anomaly); scores are higher = more anomalous. Ties are
handled as scikit-learn handles them.
"""
import ctypes

import numpy as np

from ._arrays import as_labels, as_vector
from ._library import Confusion, lib
from .errors import check

__all__ = ["roc_auc_score", "average_precision_score", "confusion_at", "best_f1", "roc_curve",
           "precision_recall_curve"]


def _inputs(y_true, y_score):
    scores = as_vector(y_score, np.float64, "y_score")
    labels = as_labels(y_true, "y_true", scores.shape[0])
    return scores, labels


def roc_auc_score(y_true, y_score):
    """Area under the ROC curve."""
    s, y = _inputs(y_true, y_score)
    out = ctypes.c_double()
    check(lib.anoma_roc_auc(s.ctypes.data, y.ctypes.data, s.shape[0], ctypes.byref(out)))
    return out.value


def average_precision_score(y_true, y_score):
    """Average precision (PR AUC as a step sum)."""
    s, y = _inputs(y_true, y_score)
    out = ctypes.c_double()
    check(lib.anoma_average_precision(s.ctypes.data, y.ctypes.data, s.shape[0],
                                      ctypes.byref(out)))
    return out.value


def confusion_at(y_true, y_score, threshold):
    """Counts and rates when rows with score > threshold are flagged.

    Returns a dict with tp, fp, tn, fn, precision, recall, f1, accuracy.
    """
    s, y = _inputs(y_true, y_score)
    c = Confusion()
    check(lib.anoma_confusion_at(s.ctypes.data, y.ctypes.data, s.shape[0], float(threshold),
                                 ctypes.byref(c)))
    return {name: getattr(c, name) for name, _ in Confusion._fields_}


def best_f1(y_true, y_score):
    """(threshold, f1) of the cut with the best F1; flag rows with score > threshold."""
    s, y = _inputs(y_true, y_score)
    t, f1 = ctypes.c_double(), ctypes.c_double()
    check(lib.anoma_best_f1(s.ctypes.data, y.ctypes.data, s.shape[0], ctypes.byref(t),
                            ctypes.byref(f1)))
    return t.value, f1.value


# anoma_curve_point of metrics.h (frozen layout: a double and two size_t)
_CURVE_POINT = np.dtype([("threshold", np.float64), ("tp", np.uintp), ("fp", np.uintp)])


def _counts(y_true, y_score):
    """(fps, tps, scores): at each distinct score from high to low, the normal
    and anomalous rows scoring at least that much (tied rows move together):
    the library's ranking (``anoma_curve_points``, the one its metrics sum
    over), which is scikit-learn's ``_binary_clf_curve``. Bad input raises
    with the library's message."""
    s, y = _inputs(y_true, y_score)
    points = np.empty(max(s.shape[0], 1), dtype=_CURVE_POINT)  # at most one per row
    n = ctypes.c_size_t()
    check(lib.anoma_curve_points(s.ctypes.data, y.ctypes.data, s.shape[0], 0.0,
                                 points.ctypes.data, points.shape[0], ctypes.byref(n)))
    points = points[:n.value]
    return (points["fp"].astype(np.int64), points["tp"].astype(np.int64),
            points["threshold"].copy())


def roc_curve(y_true, y_score, drop_intermediate=True):
    """ROC curve points (fpr, tpr, thresholds), equal to scikit-learn's
    ``roc_curve``: rows with score >= thresholds[i] are flagged; the first
    point (0, 0) has threshold +inf (scikit-learn 1.3's; older versions put
    the top score + 1 there). ``drop_intermediate`` drops points on a
    straight segment, as scikit-learn does by default. Both classes must be
    present (ValueError otherwise: the rates are undefined)."""
    fps, tps, thresholds = _counts(y_true, y_score)
    if tps[-1] == 0 or fps[-1] == 0:
        raise ValueError("y_true holds only %s rows: the ROC curve needs both classes"
                         % ("normal (0)" if tps[-1] == 0 else "anomalous (1)"))
    if drop_intermediate and fps.shape[0] > 2:
        keep = np.r_[True, np.logical_or(np.diff(fps, 2), np.diff(tps, 2)), True]
        fps, tps, thresholds = fps[keep], tps[keep], thresholds[keep]
    fps, tps = np.r_[0, fps], np.r_[0, tps]
    return fps / fps[-1], tps / tps[-1], np.r_[np.inf, thresholds]


def precision_recall_curve(y_true, y_score):
    """Precision-recall curve (precision, recall, thresholds), equal to
    scikit-learn's ``precision_recall_curve``: thresholds increase, rows with
    score >= thresholds[i] give precision[i] and recall[i], and a last point
    (precision 1, recall 0) has no threshold. At least one anomaly (1) must
    be present (ValueError otherwise: recall is undefined)."""
    fps, tps, thresholds = _counts(y_true, y_score)
    if tps[-1] == 0:
        raise ValueError("y_true holds only normal (0) rows: recall needs an anomaly (1)")
    precision = tps / (tps + fps)
    recall = tps / tps[-1]
    return np.r_[precision[::-1], 1.0], np.r_[recall[::-1], 0.0], thresholds[::-1]
