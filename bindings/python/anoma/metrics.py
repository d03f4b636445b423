"""Evaluation metrics (y_true first, as in scikit-learn).

Labels are 0/1 (1 = anomaly); scores are higher = more anomalous. Ties are
handled as scikit-learn handles them.
"""
import ctypes

import numpy as np

from ._arrays import as_labels, as_vector
from ._library import Confusion, lib
from .errors import check

__all__ = ["roc_auc_score", "average_precision_score", "confusion_at", "best_f1"]


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
