"""Feature pipelines: steps named and parametrised like scikit-learn's, ending
in a detector estimator, fitted and scored by the library in one model.

``Pipeline([OneHotEncoder(), StandardScaler(), IsolationForest()])`` takes a
pandas DataFrame (numbers, text and datetime columns) or a NumPy array; the
steps run in C (docs/features.md gives each step's exact formula), the last
element gives the detector and the threshold rule, and the result follows
the outlier-detector conventions of the other estimators (``score_samples``
higher = more normal, ``predict`` -1/+1; ``anomaly_score`` is the library's
higher = more anomalous). ``transform`` returns what the detector sees and
``get_feature_names_out`` its column names ("device=web", "amount").
"""
import ctypes
import inspect

import numpy as np

from ._frames import Frame as _Frame
from ._library import lib, text
from .errors import check
from .estimators import _OutlierDetector
from .model import Model, format_params, quote

__all__ = ["Pipeline", "StandardScaler", "OneHotEncoder", "Select", "SimpleImputer",
           "MissingIndicator", "MinMaxScaler", "RobustScaler", "MaxAbsScaler", "Normalizer",
           "OrdinalEncoder", "FrequencyEncoder", "Ratio"]

_p, _st = ctypes.c_void_p, ctypes.c_int
for _name, (_res, _args) in {  # the other frame calls: model.py
        "anoma_model_transform_frame": (_st, [_p, _p, _p]),
        "anoma_model_output_name": (ctypes.c_char_p, [_p, ctypes.c_size_t]),
}.items():
    _fn = getattr(lib, _name)
    _fn.restype, _fn.argtypes = _res, _args


# ---- steps ------------------------------------------------------------------

class _Step:
    """A pipeline step: its C name and the key=value parameters its
    scikit-learn-style arguments stand for."""

    _name = None

    def get_params(self, deep=True):
        names = [p for p in inspect.signature(type(self).__init__).parameters if p != "self"]
        return {name: getattr(self, name) for name in names}

    def set_params(self, **params):
        for key, value in params.items():
            if key not in self.get_params():
                raise ValueError("Invalid parameter %r for %s" % (key, type(self).__name__))
            setattr(self, key, value)
        return self

    def __repr__(self):
        return "%s(%s)" % (type(self).__name__,
                           ", ".join("%s=%r" % kv for kv in self.get_params().items()))

    @staticmethod
    def _columns(columns):
        """A column name or a list of them as parameter text, each name
        quoted when it needs it ("device type", "a,b"); None stays None."""
        if columns is None:
            return None
        if isinstance(columns, str):
            columns = [columns]
        return ",".join(quote(c) for c in columns)

    def _params(self):
        raise NotImplementedError


class StandardScaler(_Step):
    """scikit-learn's StandardScaler on number columns (``columns``: the
    columns to scale; default every number column). NaN is ignored in fit
    and kept in the output, as scikit-learn does."""

    _name = "standard_scaler"

    def __init__(self, with_mean=True, with_std=True, columns=None):
        self.with_mean = with_mean
        self.with_std = with_std
        self.columns = columns

    def _params(self):
        return {"columns": self._columns(self.columns), "with_mean": self.with_mean,
                "with_std": self.with_std}


class OneHotEncoder(_Step):
    """scikit-learn's OneHotEncoder(sparse_output=False) on text columns.

    ``handle_unknown``: "bucket" (the default: an unseen value sets its own
    ``col=<unseen>`` column), "ignore" (all zeros, as scikit-learn's) or
    "error". ``min_frequency`` (an int count or a float fraction) and
    ``max_categories`` group rare categories in ``col=<infrequent>`` as
    scikit-learn does. Missing text (None, NaN) is a category of its own."""

    _name = "one_hot"

    def __init__(self, handle_unknown="bucket", min_frequency=None, max_categories=None,
                 columns=None):
        self.handle_unknown = handle_unknown
        self.min_frequency = min_frequency
        self.max_categories = max_categories
        self.columns = columns

    def _params(self):
        freq = self.min_frequency
        if isinstance(freq, (float, np.floating)) and freq >= 1:
            raise ValueError("min_frequency as a float is a fraction in (0, 1); give a count "
                             "as an int")
        return {"columns": self._columns(self.columns), "unseen": self.handle_unknown,
                "min_frequency": freq, "max_categories": self.max_categories}


class Select(_Step):
    """Keep columns by name (``columns``, in that order) or by type
    (``types``: "number", "text", "timestamp"), or ``drop`` some."""

    _name = "select"

    def __init__(self, columns=None, types=None, drop=None):
        self.columns = columns
        self.types = types
        self.drop = drop

    def _params(self):
        return {"columns": self._columns(self.columns), "types": self._columns(self.types),
                "drop": self._columns(self.drop)}


def _range(pair, what):
    """A (low, high) pair as the "low,high" text of a range parameter."""
    try:
        low, high = pair
    except (TypeError, ValueError):
        raise ValueError("%s must be a (low, high) pair; got %r" % (what, pair)) from None
    return "%r,%r" % (float(low), float(high))


class SimpleImputer(_Step):
    """scikit-learn's SimpleImputer: missing values (NaN; None or NaN in text)
    filled with the column's mean, median, most frequent value or
    ``fill_value``. Text columns may be named in ``columns`` with
    "most_frequent" and "constant". A column with no value in training is
    dropped as scikit-learn 1.2 does (kept, filled with 0, with
    ``keep_empty_features``); ``add_indicator`` appends "NAME_missing" 0/1
    columns (scikit-learn calls them "missingindicator_NAME")."""

    _name = "imputer"

    def __init__(self, missing_values=np.nan, strategy="mean", fill_value=None,
                 add_indicator=False, keep_empty_features=False, columns=None):
        self.missing_values = missing_values
        self.strategy = strategy
        self.fill_value = fill_value
        self.add_indicator = add_indicator
        self.keep_empty_features = keep_empty_features
        self.columns = columns

    def _params(self):
        mv = self.missing_values
        if not (mv is None or (isinstance(mv, float) and mv != mv)):
            raise ValueError("SimpleImputer: missing_values must be np.nan (NaN in numbers, "
                             "None or NaN in text); got %r" % (mv,))
        fill = quote(self.fill_value) if isinstance(self.fill_value, str) else self.fill_value
        return {"columns": self._columns(self.columns), "strategy": self.strategy,
                "fill_value": fill, "add_indicator": self.add_indicator,
                "keep_empty_features": self.keep_empty_features}


class MissingIndicator(_Step):
    """scikit-learn's MissingIndicator: a 0/1 column "NAME_missing" per column
    (``features="missing-only"``: those with missing values in training;
    "all": every column). The columns stay in place for the steps after;
    with ``error_on_new``, a missing value in a column that had none in
    training is an error naming the column and the row."""

    _name = "missing_indicator"

    def __init__(self, features="missing-only", error_on_new=True, columns=None):
        self.features = features
        self.error_on_new = error_on_new
        self.columns = columns

    def _params(self):
        return {"columns": self._columns(self.columns), "features": self.features,
                "error_on_new": self.error_on_new}


class MinMaxScaler(_Step):
    """scikit-learn's MinMaxScaler: each number column mapped onto
    ``feature_range``; ``clip`` keeps new values inside it. NaN is ignored in
    fit and kept in the output."""

    _name = "minmax_scaler"

    def __init__(self, feature_range=(0, 1), clip=False, columns=None):
        self.feature_range = feature_range
        self.clip = clip
        self.columns = columns

    def _params(self):
        return {"columns": self._columns(self.columns),
                "feature_range": _range(self.feature_range, "feature_range"), "clip": self.clip}


class RobustScaler(_Step):
    """scikit-learn's RobustScaler: (x - median) / (percentile q_max -
    percentile q_min), with numpy's percentile arithmetic. NaN is ignored in
    fit and kept in the output. (``unit_variance`` is not offered.)"""

    _name = "robust_scaler"

    def __init__(self, with_centering=True, with_scaling=True, quantile_range=(25.0, 75.0),
                 columns=None):
        self.with_centering = with_centering
        self.with_scaling = with_scaling
        self.quantile_range = quantile_range
        self.columns = columns

    def _params(self):
        return {"columns": self._columns(self.columns), "with_centering": self.with_centering,
                "with_scaling": self.with_scaling,
                "quantile_range": _range(self.quantile_range, "quantile_range")}


class MaxAbsScaler(_Step):
    """scikit-learn's MaxAbsScaler: each number column divided by its largest
    absolute training value. NaN is ignored in fit and kept in the output."""

    _name = "maxabs_scaler"

    def __init__(self, columns=None):
        self.columns = columns

    def _params(self):
        return {"columns": self._columns(self.columns)}


class Normalizer(_Step):
    """scikit-learn's Normalizer: each row of the number columns (``columns``)
    divided by its "l2", "l1" or "max" norm. NaN is left out of the norm and
    kept (scikit-learn refuses NaN)."""

    _name = "normalizer"

    def __init__(self, norm="l2", columns=None):
        self.norm = norm
        self.columns = columns

    def _params(self):
        return {"columns": self._columns(self.columns), "norm": self.norm}


class OrdinalEncoder(_Step):
    """scikit-learn's OrdinalEncoder on text columns: categories in sorted
    order coded 0, 1, ...; missing text coded ``encoded_missing_value``.
    ``handle_unknown``: "error" (scikit-learn's default), "use_encoded_value"
    (``unknown_value``, an int or np.nan) or "bucket" (the library's own: one
    past the last code)."""

    _name = "ordinal"

    def __init__(self, handle_unknown="error", unknown_value=None,
                 encoded_missing_value=np.nan, columns=None):
        self.handle_unknown = handle_unknown
        self.unknown_value = unknown_value
        self.encoded_missing_value = encoded_missing_value
        self.columns = columns

    def _params(self):
        if (self.unknown_value is None) == (self.handle_unknown == "use_encoded_value"):
            raise ValueError("OrdinalEncoder: unknown_value is given with, and only with, "
                             "handle_unknown='use_encoded_value'")
        return {"columns": self._columns(self.columns), "handle_unknown": self.handle_unknown,
                "unknown_value": self.unknown_value,
                "encoded_missing_value": self.encoded_missing_value}


class FrequencyEncoder(_Step):
    """Each text column replaced by how common its value was in training, as
    a fraction of the training rows ("NAME_frequency"); an unseen value
    gets 0, a missing one the fraction of training rows that were missing."""

    _name = "frequency"

    def __init__(self, columns=None):
        self.columns = columns

    def _params(self):
        return {"columns": self._columns(self.columns)}


class Ratio(_Step):
    """A new column from two number columns: ``op`` "ratio" (numerator /
    denominator; x / 0 gives ``zero_division``, 0 / 0 gives 0), "product" or
    "difference"; NaN in either gives NaN; named ``name`` (default
    "NUM_per_DEN", "NUM_times_DEN", "NUM_minus_DEN")."""

    _name = "ratio"

    def __init__(self, numerator, denominator, op="ratio", name=None, zero_division=np.nan):
        self.numerator = numerator
        self.denominator = denominator
        self.op = op
        self.name = name
        self.zero_division = zero_division

    def _params(self):
        return {"numerator": quote(self.numerator), "denominator": quote(self.denominator),
                "op": self.op, "name": None if self.name is None else quote(self.name),
                "zero_division": self.zero_division}


# ---- frames -------------------------------------------------------------------

# ---- the pipeline ---------------------------------------------------------------

def _is_classifier(estimator):
    """A supervised last element (GradientBoostedTrees): fitted on labels."""
    return getattr(estimator, "_estimator_type", None) == "classifier"


class Pipeline(_OutlierDetector):
    """Steps then a detector estimator (ZScore, MAD, IQR, IsolationForest),
    fitted and scored by the library as one model. The detector's parameters,
    ``contamination`` rule and ``n_jobs`` are the last element's (changing
    its ``n_jobs`` after fit takes effect at the next call)."""

    def __init__(self, steps):
        self.steps = steps

    def _parts(self):
        steps = list(self.steps)
        if not steps or not (hasattr(steps[-1], "_contamination_params")
                             or _is_classifier(steps[-1])):
            raise TypeError("Pipeline: the last element must be a detector estimator "
                            "(ZScore, MAD, IQR, IsolationForest, GradientBoostedTrees)")
        for s in steps[:-1]:
            if not isinstance(s, _Step):
                raise TypeError("Pipeline: %r is not a step (StandardScaler, OneHotEncoder, "
                                "Select, SimpleImputer, MinMaxScaler, ...)" % (s,))
        return steps[:-1], steps[-1]

    @staticmethod
    def _add_steps(model, steps):
        for s in steps:
            check(lib.anoma_model_add_step(model._handle, s._name.encode(),
                                           format_params(s._params()).encode("utf-8"), None))

    def _make_model(self, steps, final, frame):
        """The unfitted model: the steps, then the last element's detector
        for the width the steps make (found by fitting them once)."""
        wants_x = "x" in inspect.signature(final._make_model).parameters
        if not wants_x:
            model = final._make_model()
        else:
            probe = Model("", [("zscore", "")])
            self._add_steps(probe, steps)
            check(lib.anoma_model_fit_frame(probe._handle, frame.handle, None, None))
            width = lib.anoma_model_n_outputs(probe._handle)
            shape_only = np.lib.stride_tricks.as_strided(np.zeros(1), (frame.rows, width), (0, 0))
            made = final._make_model(shape_only)
            model = made[0] if isinstance(made, tuple) else made
        self._add_steps(model, steps)  # steps and detectors are separate lists
        return model

    def fit(self, X, y=None, **fit_params):
        """Fit the steps in order, then the detector, on X (a DataFrame or a
        2-D array). y is ignored, except by a supervised last element
        (GradientBoostedTrees), which also takes its fit parameters here:
        ``sample_weight``, ``eval_set`` (pairs of (X, y) with X's columns:
        the steps, fitted on X only, transform them before the detector
        watches them), ``sample_weight_eval_set``, ``eval_metric``,
        ``early_stopping_rounds``. Returns self."""
        steps, final = self._parts()
        frame = _Frame(X)
        if _is_classifier(final):
            return self._fit_classifier(steps, final, frame, y, **fit_params)
        if fit_params:
            raise TypeError("Pipeline.fit: %s takes no fit parameters (got %s)"
                            % (type(final).__name__, ", ".join(sorted(fit_params))))
        model = self._make_model(steps, final, frame)
        check(lib.anoma_model_fit_frame(model._handle, frame.handle, None, None))
        self.model_ = model
        return self

    def _fit_classifier(self, steps, final, frame, y, sample_weight=None, eval_set=None,
                        sample_weight_eval_set=None, eval_metric=None,
                        early_stopping_rounds=None):
        """Fit with a supervised last element (GradientBoostedTrees): its
        labels, evaluation sets and early stopping, as its own fit."""
        from .gbt import _evals_recorded
        if y is None:
            raise ValueError("Pipeline.fit: %s needs labels y" % type(final).__name__)
        classes, labels = final._labels(y, frame.rows)
        stopping = final._stopping(early_stopping_rounds, eval_metric, eval_set)
        model = final._make_model(stopping)
        self._add_steps(model, steps)
        n_sets = final._watch(model, eval_set, sample_weight_eval_set, classes, checked=False)
        weights = None
        if sample_weight is not None:
            weights = np.ascontiguousarray(sample_weight, dtype=np.float64)
            if weights.shape != (frame.rows,):
                raise ValueError("sample_weight: %d weights for %d rows"
                                 % (weights.size, frame.rows))
        check(lib.anoma_model_fit_frame(model._handle, frame.handle, labels.ctypes.data,
                                        None if weights is None else weights.ctypes.data))
        self.model_ = model
        self.classes_ = classes
        self._evals = _evals_recorded(n_sets, stopping)
        return self

    def predict_proba(self, X):
        """A supervised last element's class probabilities, shape
        (n_samples, 2), columns in ``classes_`` order."""
        if not _is_classifier(self._parts()[1]):
            raise AttributeError("predict_proba: the pipeline ends in an outlier detector")
        p = self.anomaly_score(X)
        return np.column_stack([1 - p, p])

    def evals_result(self):
        """A supervised last element's evaluation history, as
        GradientBoostedTrees.evals_result() (XGBoost's shape)."""
        from .gbt import _evals_result
        return _evals_result(self._model(), getattr(self, "_evals", None))

    def _n_jobs(self):
        return self._parts()[1].n_jobs

    def _frame(self, X):
        """X as a frame, and the fitted model set to the threads the
        detector's n_jobs asks for now."""
        return _Frame(X), self._threaded_model()

    def anomaly_score(self, X):
        """The library's score of each row: higher = more anomalous."""
        frame, model = self._frame(X)
        out = np.empty(frame.rows, dtype=np.float64)
        check(lib.anoma_model_score_frame(model._handle, frame.handle, out.ctypes.data))
        return out

    def predict(self, X):
        """-1 for an outlier, +1 for an inlier."""
        frame, model = self._frame(X)
        out = np.empty(frame.rows, dtype=np.intc)
        check(lib.anoma_model_predict_frame(model._handle, frame.handle, out.ctypes.data))
        return 1 - 2 * out.astype(np.int64)

    def transform(self, X):
        """What the detector sees: (n_samples, n_outputs) floats."""
        frame, model = self._frame(X)
        out = np.empty((frame.rows, lib.anoma_model_n_outputs(model._handle)))
        check(lib.anoma_model_transform_frame(model._handle, frame.handle, out.ctypes.data))
        return out

    def get_feature_names_out(self, input_features=None):
        """Names of the columns the detector sees, such as "device=web"."""
        handle = self._model()._handle
        n = lib.anoma_model_n_outputs(handle)
        return np.asarray([text(lib.anoma_model_output_name(handle, k)) for k in range(n)],
                          dtype=object)

    def feature_scores(self, X):
        raise NotImplementedError("Pipeline.feature_scores: explain through model_ on "
                                  "transform(X)")
