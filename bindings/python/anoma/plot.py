"""Figures for judging a detector, drawn with matplotlib.

matplotlib (Debian: python3-matplotlib) is imported by each function when it
is called, never by ``import anoma``. Every function draws on the Axes given
as ``ax`` (or on a new figure's) and returns that Axes. Scores follow the
library's sign (higher = more anomalous), labels are 0/1 (1 = anomaly) and a
row is flagged when its score is above the threshold, as ``Model.predict``
decides. See docs/python.md, "Plots".
"""
import numpy as np

from ._arrays import as_labels, as_vector
from .gbt import GradientBoostedTrees
from .metrics import (average_precision_score, confusion_at, precision_recall_curve,
                      roc_auc_score, roc_curve)

__all__ = ["series", "roc_curves", "pr_curves", "score_histogram", "confusion_matrix",
           "feature_importance", "contributions"]

ANOMALY_COLOR = "tab:red"
NORMAL_COLOR = "tab:blue"


def _axes(ax):
    """ax, or the Axes of a new figure."""
    if ax is not None:
        return ax
    try:
        import matplotlib.pyplot as plt
    except ImportError as e:
        raise ImportError("anoma.plot needs matplotlib (Debian: python3-matplotlib): %s" % e) \
            from None
    return plt.subplots()[1]


def _threshold(threshold, name="threshold"):
    try:
        t = float(threshold)
    except (TypeError, ValueError):
        raise ValueError("%s must be a number; got %r" % (name, threshold)) from None
    if not np.isfinite(t):
        raise ValueError("%s must be finite; got %r" % (name, threshold))
    return t


def _scores_by_name(scores):
    """{name: scores}: a dict kept as given, one array named "scores"."""
    if isinstance(scores, dict):
        if not scores:
            raise ValueError("scores: an empty dict; give {detector name: scores}")
        return {str(k): v for k, v in scores.items()}
    return {"scores": scores}


def _labelled(y_true, y_score, name="scores"):
    s = as_vector(y_score, np.float64, name)
    y = as_labels(y_true, "y_true", s.shape[0])
    if s.shape[0] == 0:
        raise ValueError("%s: no rows" % name)
    return y, s


def roc_curves(y_true, scores, ax=None):
    """ROC curves of one or several detectors on one Axes.

    ``scores`` is an array of scores, or a dict {detector name: scores} whose
    curves share the Axes; each legend entry gives the detector's ROC AUC
    (``roc_auc_score``). The points are ``anoma.roc_curve``'s, which equal
    scikit-learn's ``roc_curve``. Both classes must be present (ValueError)."""
    ax = _axes(ax)
    for name, s in _scores_by_name(scores).items():
        fpr, tpr, _ = roc_curve(y_true, s)
        ax.plot(fpr, tpr, drawstyle="default",
                label="%s (AUC %.3f)" % (name, roc_auc_score(y_true, s)))
    ax.plot([0, 1], [0, 1], color="0.6", linestyle=":", linewidth=1, label="chance")
    ax.set(xlim=(0, 1), ylim=(0, 1.02), xlabel="false positive rate",
           ylabel="true positive rate (recall)", title="ROC curve")
    ax.legend(loc="lower right")
    return ax


def pr_curves(y_true, scores, ax=None):
    """Precision-recall curves of one or several detectors on one Axes.

    As roc_curves(); legend entries give the average precision, drawn as
    the step curve it sums, and a dotted line marks the anomaly rate (a
    random ranking's precision). The points are
    ``anoma.precision_recall_curve``'s, which equal scikit-learn's."""
    ax = _axes(ax)
    for name, s in _scores_by_name(scores).items():
        precision, recall, _ = precision_recall_curve(y_true, s)
        ax.step(recall, precision, where="post",
                label="%s (AP %.3f)" % (name, average_precision_score(y_true, s)))
    y = as_labels(y_true, "y_true")
    ax.axhline(float(np.mean(y)), color="0.6", linestyle=":", linewidth=1, label="anomaly rate")
    ax.set(xlim=(0, 1), ylim=(0, 1.02), xlabel="recall", ylabel="precision",
           title="Precision-recall curve")
    ax.legend(loc="upper right")
    return ax


def score_histogram(y_true, scores, threshold=None, bins=50, ax=None):
    """Histogram of the scores of normal and anomalous rows, on shared bins.

    Each class is drawn as a density (its bars sum to 1 times the bin width),
    so a class of a few rows stays visible next to a large one; the legend
    gives each class's row count. ``threshold`` (optional) is drawn as a
    vertical line. ``bins`` is a number of bins (>= 1)."""
    y, s = _labelled(y_true, scores)
    if isinstance(bins, (bool, np.bool_)) or not isinstance(bins, (int, np.integer)) or bins < 1:
        raise ValueError("bins must be an integer >= 1; got %r" % (bins,))
    t = None if threshold is None else _threshold(threshold)
    ax = _axes(ax)
    edges = np.histogram_bin_edges(s, bins=int(bins))
    for label, name, color in ((0, "normal", NORMAL_COLOR), (1, "anomaly", ANOMALY_COLOR)):
        part = s[y == label]
        if part.size:
            ax.hist(part, bins=edges, density=True, alpha=0.55, color=color,
                    label="%s (%d)" % (name, part.size))
    if t is not None:
        ax.axvline(t, color="black", linestyle="--", linewidth=1, label="threshold %.4g" % t)
    ax.set(xlabel="anomaly score", ylabel="density", title="Scores by label")
    ax.legend(loc="upper right")
    return ax


def confusion_matrix(y_true, scores, threshold, ax=None):
    """The confusion matrix when rows scoring above ``threshold`` are flagged.

    Laid out as scikit-learn's ``confusion_matrix(y_true, y_pred)``: rows are
    the true label (normal, anomaly), columns the decision, so the image
    holds [[tn, fp], [fn, tp]]; the counts come from ``confusion_at`` and
    are written in the cells, precision and recall in the title."""
    y, s = _labelled(y_true, scores)
    c = confusion_at(y, s, _threshold(threshold))
    counts = np.array([[c["tn"], c["fp"]], [c["fn"], c["tp"]]], dtype=np.int64)
    ax = _axes(ax)
    ax.imshow(counts, cmap="Blues", vmin=0)
    top = counts.max()
    for i in range(2):
        for j in range(2):
            ax.text(j, i, "%d" % counts[i, j], ha="center", va="center",
                    color="white" if top and counts[i, j] > top / 2 else "black")
    names = ["normal", "anomaly"]
    ax.set(xticks=[0, 1], yticks=[0, 1], xticklabels=names, yticklabels=names,
           xlabel="flagged as", ylabel="true label",
           title="threshold %.4g: precision %.3f, recall %.3f"
           % (float(threshold), c["precision"], c["recall"]))
    return ax


def _names(names, n, source=None):
    """Feature names: given, else the source's (feature_names_in_ or a
    Model's feature_names), else f0, f1, ..."""
    if names is None and source is not None:
        names = getattr(source, "feature_names_in_", None)
        if names is None:
            model = source if hasattr(source, "feature_names") else getattr(source, "model_", None)
            names = getattr(model, "feature_names", None) or None
    if names is None:
        return ["f%d" % j for j in range(n)]
    names = [str(v) for v in names]
    if len(names) != n:
        raise ValueError("names has %d entries; expected %d (one per feature)" % (len(names), n))
    return names


def _bars(values, names, top, ax, title, xlabel):
    """Horizontal bars of the ``top`` values largest in size, largest on top."""
    if isinstance(top, (bool, np.bool_)) or not isinstance(top, (int, np.integer)) or top < 1:
        raise ValueError("top must be an integer >= 1; got %r" % (top,))
    if not np.all(np.isfinite(values)):
        j = int(np.flatnonzero(~np.isfinite(values))[0])
        raise ValueError("values[%d] (%s) is %s; values must be finite" % (j, names[j], values[j]))
    order = np.argsort(-np.abs(values), kind="mergesort")[:int(top)][::-1]
    colors = [ANOMALY_COLOR if values[j] > 0 else NORMAL_COLOR for j in order]
    ax.barh(np.arange(order.size), values[order], color=colors)
    ax.set_yticks(np.arange(order.size))
    ax.set_yticklabels([names[j] for j in order])
    ax.axvline(0, color="0.3", linewidth=0.8)
    ax.set(xlabel=xlabel, title=title)
    return ax


def feature_importance(source, names=None, top=20, ax=None):
    """Bars of each feature's importance, the ``top`` largest.

    ``source`` is a fitted estimator with ``feature_importances_`` (such as
    GradientBoostedTrees: average gain, normalised), a fitted ``Model`` whose
    detector gives importances (``Model.feature_importance("gain")``), or an
    array of one value per feature. Names come from ``names``, else the
    estimator's ``feature_names_in_`` or the model's ``feature_names``, else
    f0, f1, ..."""
    if hasattr(source, "feature_importances_"):
        values = np.asarray(source.feature_importances_, dtype=np.float64)
    elif hasattr(source, "feature_importance"):
        values = source.feature_importance("gain")
    else:
        values = as_vector(source, np.float64, "source")
        source = None
    if values.ndim != 1 or values.shape[0] == 0:
        raise ValueError("source: one importance per feature expected; got shape %s"
                         % (values.shape,))
    return _bars(values, _names(names, values.shape[0], source), top, _axes(ax),
                 "Feature importance", "importance")


def contributions(source, row=None, names=None, top=20, ax=None):
    """Bars of each feature's part in one row's score, the ``top`` largest
    in size (positive: towards "anomaly", in red).

    ``source`` is an array of one value per feature (``row`` is then not
    given), or a fitted estimator or ``Model`` with ``row`` one row of input
    (1-D, or 2-D with one row). The values are ``feature_contributions``
    where the estimator has it (GradientBoostedTrees: TreeSHAP values of the
    margin, the bias left out; IsolationForest), else ``feature_scores``
    (the statistical and distance detectors, ``Model``): any detector that
    scores feature by feature."""
    if row is None:
        values = as_vector(source, np.float64, "source")
        source = None
    else:
        x = np.asarray(row)
        if x.ndim == 1:
            x = x.reshape(1, -1)
        if x.ndim != 2 or x.shape[0] != 1:
            raise ValueError("row must be one row of input (1-D, or 2-D with one row); got "
                             "shape %s" % (np.shape(row),))
        if hasattr(source, "feature_contributions"):
            values = np.asarray(source.feature_contributions(x), dtype=np.float64)[0]
            if isinstance(source, GradientBoostedTrees):  # the last column is the bias
                values = values[:-1]
        elif hasattr(source, "feature_scores"):
            values = np.asarray(source.feature_scores(x), dtype=np.float64)[0]
        else:
            raise TypeError("source: %s gives no feature scores; give a fitted estimator or "
                            "Model whose detector scores features, or an array"
                            % type(source).__name__)
    if values.shape[0] == 0:
        raise ValueError("source: no features")
    return _bars(values, _names(names, values.shape[0], source), top, _axes(ax),
                 "Feature contributions", "contribution to the score")


def _runs(flags):
    """(start, stop) index pairs of the runs of True in a 1-D bool array."""
    edges = np.diff(np.r_[0, flags.astype(np.int8), 0])
    return zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1))


def series(values, scores=None, threshold=None, time=None, flagged=None, names=None, ax=None):
    """A time series with its scores, threshold and alert spans.

    ``values`` (n rows, 1-D or 2-D: one line per column) are drawn against
    ``time`` (n increasing numbers or datetime64; default 0..n-1). The
    ``scores`` (optional) go on a second y axis on the right, in black, with
    ``threshold`` as a dashed line. Alert spans are shaded in red: the runs
    of rows in ``flagged`` (n booleans) when given, else of rows scoring
    above the threshold; each span reaches half-way to its neighbours, so a
    single flagged row shows. The scores' Axes is ``ax.scores_axes``."""
    v = np.asarray(values, dtype=np.float64)
    if v.ndim == 1:
        v = v.reshape(-1, 1)
    if v.ndim != 2 or v.shape[0] == 0:
        raise ValueError("values must be 1-D or 2-D with at least one row; got shape %s"
                         % (np.shape(values),))
    n = v.shape[0]
    t = np.arange(n) if time is None else np.asarray(time)
    if t.shape != (n,):
        raise ValueError("time has shape %s; expected (%d,), one per row of values"
                         % (t.shape, n))
    if n > 1 and not np.all(t[1:] > t[:-1]):
        raise ValueError("time must increase strictly; it does not at row %d"
                         % (int(np.flatnonzero(~(t[1:] > t[:-1]))[0]) + 1))
    s = None if scores is None else as_vector(scores, np.float64, "scores", n)
    thr = None if threshold is None else _threshold(threshold)
    if flagged is not None:
        flags = np.asarray(flagged)
        if flags.shape != (n,) or flags.dtype.kind not in "bi":
            raise ValueError("flagged must hold %d booleans; got shape %s, dtype %s"
                             % (n, flags.shape, flags.dtype))
        flags = flags.astype(bool)
    elif s is not None and thr is not None:
        flags = s > thr
    else:
        flags = np.zeros(n, dtype=bool)
    labels = _names(names, v.shape[1])
    ax = _axes(ax)
    for j in range(v.shape[1]):
        ax.plot(t, v[:, j], linewidth=1, label=labels[j])
    if n > 1:  # span edges half-way between rows
        mid = t[:-1] + (t[1:] - t[:-1]) / 2
        left, right = np.r_[t[:1], mid], np.r_[mid, t[-1:]]
    else:
        left = right = t
    first = True
    for a, b in _runs(flags):
        ax.axvspan(left[a], right[b - 1], color=ANOMALY_COLOR, alpha=0.2,
                   label="alert" if first else None)
        first = False
    ax.set(xlabel="time", ylabel="value", title="Series")
    ax.scores_axes = None
    if s is not None:
        right_ax = ax.twinx()
        right_ax.plot(t, s, color="black", linewidth=0.8, label="score")
        if thr is not None:
            right_ax.axhline(thr, color="black", linestyle="--", linewidth=1,
                             label="threshold %.4g" % thr)
        right_ax.set_ylabel("anomaly score")
        right_ax.legend(loc="upper right")
        ax.scores_axes = right_ax
    ax.legend(loc="upper left")
    return ax
