"""Combining what was fitted on separate partitions of the rows into one
model (docs/scale-out.md, "Training per partition").

- Isolation forests: ``merge_forests(models)`` puts the trees of forests
  fitted apart into one forest, which scores as a forest of all those trees
  (the mean path length over every tree). All must share ``max_samples``
  (psi): the score normalises the mean path by c(psi), one number for the
  whole forest, so forests grown on different subsample sizes are refused
  rather than normalised by a psi that some trees did not use.
- zscore and mahalanobis: ``Statistics.of(X)`` on each partition, merged
  exactly with ``Statistics.merge`` (counts, means and centred sums of
  squares or co-moments, combined as Chan, Golub and LeVeque), then
  ``Statistics.model("zscore")``: the same centre and scale as fitting on
  all the rows at once, to rounding.
- mad and iqr use medians and quartiles, order statistics that partitions do
  not determine: they are refused, as are the robust (MCD) Mahalanobis and
  every other detector. Fit those on all the rows or on a sample.
"""
import struct

import numpy as np

from .covariance import _payload as _mahalanobis_payload
from .export import exported_model, threshold_params
from .model import Model, format_params

__all__ = ["merge_forests", "Statistics"]

_MERGEABLE = ("iforest", "zscore", "mahalanobis")


def _model_of(m, what):
    model = getattr(m, "model_", m)
    if not isinstance(model, Model):
        raise TypeError("%s expects anoma.Model objects or fitted anoma estimators; got %s"
                        % (what, type(m).__name__))
    return model


def merge_forests(models, threshold="auto"):
    """One isolation forest holding the trees of every fitted forest in
    ``models`` (``anoma.Model`` objects with one "iforest" detector, or
    fitted ``anoma.IsolationForest`` estimators), in order. ``threshold``:
    "auto" (iforest's 0.5 rule) or a number. The forests must have the same
    width, feature names, ``max_samples`` and float32 flag (imported from
    scikit-learn or not); ValueError names the first that differs. The
    merge itself is the library's (``Model.merged``, anoma_model_merge)."""
    models = [_model_of(m, "merge_forests") for m in models]
    if not models:
        raise ValueError("merge_forests: no forest given")
    return Model.merged(models, threshold_params(threshold))


class Statistics:
    """Per-feature count, mean and centred sum of squares (``m2``) of some
    rows, and with ``covariance=True`` their co-moment matrix (complete rows
    only): what zscore and the empirical Mahalanobis distance are fitted
    from. Made by ``Statistics.of(X)`` on each partition and combined
    exactly by ``merge``; ``model(...)`` builds the detector."""

    def __init__(self, count, mean, m2, comoment=None, feature_names=None):
        self.count = np.asarray(count, dtype=np.int64)
        self.mean = np.asarray(mean, dtype=np.float64)
        self.m2 = np.asarray(m2, dtype=np.float64)
        self.comoment = None if comoment is None else np.asarray(comoment, dtype=np.float64)
        self.feature_names = None if feature_names is None else list(feature_names)

    @classmethod
    def of(cls, X, covariance=False):
        """The statistics of the rows of X (an array or a DataFrame, whose
        column names are kept). NaN is a missing value for the per-feature
        statistics; with ``covariance=True`` it is refused, naming the row
        and column (the Mahalanobis detector refuses it too)."""
        names = [str(c) for c in X.columns] if hasattr(X, "columns") else None
        x = np.asarray(X, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] == 0:
            raise ValueError("Statistics.of: X must be 2-D with at least one column; got "
                             "shape %s" % (x.shape,))
        if np.isinf(x).any():
            i, j = np.argwhere(np.isinf(x))[0]
            raise ValueError("Statistics.of: X[%d, %d] is infinite" % (i, j))
        present = ~np.isnan(x)
        count = present.sum(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.where(count > 0, np.nansum(x, axis=0) / np.maximum(count, 1), 0.0)
        m2 = np.nansum((x - mean) ** 2, axis=0)
        comoment = None
        if covariance:
            if not present.all():
                i, j = np.argwhere(~present)[0]
                raise ValueError("Statistics.of: X[%d, %d] is missing (NaN); the covariance "
                                 "needs complete rows: impute first" % (i, j))
            centred = x - mean
            comoment = centred.T @ centred
        return cls(count, mean, m2, comoment, names)

    def merge(self, other):
        """The statistics of both sets of rows (Chan, Golub and LeVeque's
        pairwise update): exact up to rounding, in any order."""
        if self.mean.shape != other.mean.shape:
            raise ValueError("Statistics.merge: %d features and %d features"
                             % (self.mean.size, other.mean.size))
        if self.feature_names != other.feature_names:
            raise ValueError("Statistics.merge: feature names %s and %s"
                             % (self.feature_names, other.feature_names))
        if (self.comoment is None) != (other.comoment is None):
            raise ValueError("Statistics.merge: one side has a covariance, the other not")
        na, nb = self.count, other.count
        n = na + nb
        delta = other.mean - self.mean
        safe = np.maximum(n, 1)
        mean = np.where(nb == 0, self.mean, np.where(na == 0, other.mean,
                                                     self.mean + delta * (nb / safe)))
        m2 = self.m2 + other.m2 + delta ** 2 * (na * nb / safe)
        comoment = None
        if self.comoment is not None:  # complete rows: one count for every feature
            comoment = (self.comoment + other.comoment
                        + np.outer(delta, delta) * (na[0] * nb[0] / max(n[0], 1)))
        return Statistics(n, mean, m2, comoment, self.feature_names)

    @staticmethod
    def merge_all(parts):
        """``merge`` of every Statistics in ``parts``, left to right."""
        parts = list(parts)
        if not parts:
            raise ValueError("Statistics.merge_all: nothing to merge")
        total = parts[0]
        for p in parts[1:]:
            total = total.merge(p)
        return total

    def model(self, detector="zscore", params=None, threshold="auto"):
        """A fitted model of one ``detector`` from these statistics:
        "zscore" (``params``: ``ddof``, ``combine``, as the detector's) or
        "mahalanobis" (empirical covariance; needs ``covariance=True`` and
        a numeric ``threshold``: the detector has no rule of its own).
        ``threshold``: "auto" (zscore's three sigma) or a number. mad, iqr
        and every other detector are refused: see the module's docstring."""
        params = dict(params or {})
        d = self.mean.size
        if detector == "zscore":
            ddof = int(params.get("ddof", 0))
            empty = np.flatnonzero(self.count == 0)
            if empty.size:
                raise ValueError("Statistics.model: feature %s has no non-missing value"
                                 % self._name(empty[0]))
            n = self.count
            with np.errstate(invalid="ignore", divide="ignore"):
                scale = np.sqrt(self.m2 / np.maximum(n - ddof, 1))
            # as the detector: a constant feature, or n <= ddof, has scale 1
            scale = np.where((self.m2 == 0) | (n <= ddof) | (scale == 0), 1.0, scale)
            payload = struct.pack("<Q", d) + np.concatenate([self.mean, scale]).astype("<f8").tobytes()
        elif detector == "mahalanobis":
            if params.get("robust") not in (None, False, 0, "false", "0"):
                raise ValueError("Statistics.model: the robust (MCD) Mahalanobis distance "
                                 "depends on which rows it keeps and does not merge; use "
                                 "robust=False")
            if self.comoment is None:
                raise ValueError("Statistics.model: mahalanobis needs the covariance: "
                                 "Statistics.of(X, covariance=True)")
            if isinstance(threshold, str):
                raise ValueError("Statistics.model: mahalanobis has no automatic threshold; "
                                 "give threshold=<number>")
            n = int(self.count[0])
            payload = _mahalanobis_payload(False, n, n, n, self.mean, self.comoment / n)
        elif detector in ("mad", "iqr"):
            raise ValueError("Statistics.model: %s uses medians or quartiles, order "
                             "statistics that partitions do not merge exactly; fit it on all "
                             "the rows or on a sample" % detector)
        else:
            raise ValueError("Statistics.model: %r does not merge from statistics (%s do; "
                             "iforest with merge_forests)" % (detector, ", ".join(_MERGEABLE[1:])))
        return exported_model(detector, payload, d, format_params(params), threshold=threshold,
                              feature_names=self.feature_names)

    def _name(self, j):
        return repr(self.feature_names[j]) if self.feature_names else "%d" % j
