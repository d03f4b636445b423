"""The model bundle (anoma_model): detectors, threshold, fit, score, save, load."""
import ctypes
import functools
import operator
import os
import re

import numpy as np

from ._arrays import as_labels, as_matrix, as_row, as_vector
from ._frames import Frame, Inputs, cells, has_typed_columns, is_frame
from ._library import ANOMA_ERR_BUFFER_TOO_SMALL, ANOMA_OK, STATUS, Matrix, lib, text
from .errors import ModelFileNotFoundError, check, error_for, keep_callback_error

lib.anoma_model_set_n_threads.restype = ctypes.c_int
lib.anoma_model_set_n_threads.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
# anoma_progress_fn of progress.h: (user, stage, done, total) -> nonzero to stop
_PROGRESS_FN = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_int, ctypes.c_uint64,
                                ctypes.c_uint64)
lib.anoma_model_set_progress.restype = ctypes.c_int
lib.anoma_model_set_progress.argtypes = [ctypes.c_void_p, _PROGRESS_FN, ctypes.c_void_p]
# anoma_stage of progress.h (the library has no names for them)
_STAGES = {0: "read", 1: "fit", 2: "score"}
lib.anoma_model_n_steps.restype = ctypes.c_size_t
lib.anoma_model_n_steps.argtypes = [ctypes.c_void_p]
lib.anoma_model_params.restype = ctypes.c_int
lib.anoma_model_params.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t,
                                   ctypes.POINTER(ctypes.c_size_t)]
lib.anoma_model_detector_params.restype = ctypes.c_int
lib.anoma_model_detector_params.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_char_p,
                                            ctypes.c_size_t, ctypes.POINTER(ctypes.c_size_t)]
_MATRIX_P = ctypes.POINTER(Matrix)
for _name, _args in {
        "anoma_model_member_scores": [ctypes.c_void_p, _MATRIX_P, ctypes.c_void_p,
                                      ctypes.c_void_p],
        "anoma_model_probability": [ctypes.c_void_p, _MATRIX_P, ctypes.c_void_p,
                                    ctypes.c_void_p],
        "anoma_model_fit_probability": [ctypes.c_void_p, _MATRIX_P, ctypes.c_void_p],
        "anoma_row_scorer_score_probability": [
            ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t, ctypes.POINTER(ctypes.c_double),
            ctypes.POINTER(ctypes.c_int), ctypes.POINTER(ctypes.c_double),
            ctypes.POINTER(ctypes.c_double)],
        "anoma_row_scorer_score_probability_values": [
            ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t, ctypes.POINTER(ctypes.c_double),
            ctypes.POINTER(ctypes.c_int), ctypes.POINTER(ctypes.c_double),
            ctypes.POINTER(ctypes.c_double)],
        "anoma_row_scorer_score_values": [
            ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t, ctypes.POINTER(ctypes.c_double),
            ctypes.POINTER(ctypes.c_int)],
        "anoma_row_scorer_member_scores": [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t,
                                           ctypes.c_void_p, ctypes.c_void_p],
        "anoma_row_scorer_member_scores_values": [ctypes.c_void_p, ctypes.c_void_p,
                                                  ctypes.c_size_t, ctypes.c_void_p,
                                                  ctypes.c_void_p],
        # the frame calls: a DataFrame with text or datetime columns, or a model with steps
        "anoma_model_add_step": [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_char_p,
                                 ctypes.POINTER(ctypes.c_size_t)],
        "anoma_model_fit_frame": [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p,
                                  ctypes.c_void_p],
        "anoma_model_score_frame": [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p],
        "anoma_model_predict_frame": [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p],
        "anoma_model_member_scores_frame": [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p,
                                            ctypes.c_void_p],
        "anoma_model_probability_frame": [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p,
                                          ctypes.c_void_p],
        "anoma_model_fit_probability_frame": [ctypes.c_void_p, ctypes.c_void_p,
                                              ctypes.c_void_p],
        "anoma_model_set_threshold_from_labels_frame": [ctypes.c_void_p, ctypes.c_void_p,
                                                        ctypes.c_void_p, ctypes.c_char_p],
        "anoma_model_feature_scores_frame": [ctypes.c_void_p, ctypes.c_size_t,
                                             ctypes.c_void_p, ctypes.c_void_p],
}.items():
    getattr(lib, _name).restype = ctypes.c_int
    getattr(lib, _name).argtypes = _args

__all__ = ["Model", "RowScorer", "format_params", "quote"]


# what a parameter name may not hold, and whitespace (\s is str.isspace's)
_BAD_KEY_CHAR = re.compile(r"[\s=\0]")
_WHITESPACE = re.compile(r"\s")


def format_params(params):
    """``key=value`` text from a dict of str keys (None values are left out) or
    from text; anything else raises TypeError, a NUL character ValueError."""
    if params is None:
        return ""
    if isinstance(params, str):
        return _no_nul(params, "parameter text")
    if not hasattr(params, "items"):
        raise TypeError("parameters must be key=value text or a dict with str keys; got %s"
                        % type(params).__name__)
    parts = []
    for key, value in params.items():
        if not isinstance(key, str):
            raise TypeError("parameter names must be str; got %r (%s)"
                            % (key, type(key).__name__))
        if isinstance(value, (bytes, bytearray)):
            raise TypeError("parameter %s: values must be str, numbers or bools; got %r"
                            % (key, value))
        if not key or _BAD_KEY_CHAR.search(key):
            raise ValueError("bad parameter name %r" % (key,))
        if value is None:
            continue
        if isinstance(value, (bool, np.bool_)):
            value = "true" if value else "false"
        elif isinstance(value, (float, np.floating)):
            value = repr(float(value))
        value = str(value)
        if not value or "\0" in value:
            raise ValueError("parameter %s=%r: values may not be empty or contain NUL "
                             "characters" % (key, value))
        if _WHITESPACE.search(value) and _whitespace_outside_quotes(value):
            raise ValueError("parameter %s=%r: whitespace must be inside double quotes, as "
                             "%s=%s (anoma.quote gives a name in that form)"
                             % (key, value, key, quote(value)))
        parts.append("%s=%s" % (key, value))
    return " ".join(parts)


def quote(name):
    """``name`` as one item of parameter text, by the library's quoting rule
    (docs/features.md): as it is when it holds no whitespace, comma, double
    quote or backslash, else in double quotes with ``\\"`` and ``\\\\``
    escaped: ``quote("device type")`` is ``'"device type"'``. A NUL
    character is a ValueError."""
    name = _no_nul(str(name), "name")
    if name and not any(c.isspace() or c in ',"\\' for c in name):
        return name
    return '"%s"' % name.replace("\\", "\\\\").replace('"', '\\"')


def _whitespace_outside_quotes(value):
    """True when value has whitespace that would end it in parameter text."""
    quoted = escaped = False
    for c in value:
        if escaped:
            escaped = False
        elif quoted and c == "\\":
            escaped = True
        elif c == '"':
            quoted = not quoted
        elif c.isspace() and not quoted:
            return True
    return False


def _param_value(text, key):
    """The value ``key`` takes in parameter text, or None: the last
    ``key=value`` item naming it, the items split at whitespace outside
    double quotes, as the library reads the text."""
    if key not in text:
        return None
    value = None
    for item in _PARAM_ITEM.findall(text):
        name, eq, rest = item.partition("=")
        if eq and name == key:
            value = rest
    return value


# one item of parameter text: characters other than whitespace and double
# quotes, and double-quoted runs (where \" and \\ are escapes), which may
# hold whitespace; an unclosed quote runs to the end, as in the library
_PARAM_ITEM = re.compile(r'(?:"(?:\\["\\]|[^"])*"?|[^\s"])+')


def _no_nul(s, what):
    """s, refused with ValueError when it holds a NUL character, which the C
    side would take for the end of the text."""
    if "\0" in s:
        raise ValueError("%s %r contains a NUL character" % (what, s))
    return s


_is_frame = is_frame


def _encode(s, what="text"):
    if not isinstance(s, str):
        raise TypeError("%s must be str; got %r (%s)" % (what, s, type(s).__name__))
    return _no_nul(s, what).encode("utf-8")


class Model:
    """A libanoma model: detectors, score combination and threshold.

    ``Model("contamination=0.05", [("zscore", "combine=max")])``. Parameters
    are ``key=value`` text or a dict; detectors are names or
    ``(name, params)`` pairs; several make an ensemble
    (``Model("ensemble=wmean weights=2,1 normalize=rank", ["iforest", "zscore"])``,
    docs/model.md "Ensembles"). Scores are higher = more anomalous;
    ``predict`` gives 1 for rows whose score is strictly above ``threshold``,
    ``predict_proba`` the anomaly probability. X may be a 2-D array or a
    pandas DataFrame: fitted on a DataFrame, the model takes its column
    names as feature names and later picks those columns by name. Pipeline
    steps (``steps=[("one_hot", "columns=device"), ("time_features",
    "column=when")]``, docs/features.md) turn text and datetime columns into
    numbers: a DataFrame holding such columns, or any DataFrame given to a
    model with steps, goes to the library as a typed frame (the ``_frame``
    calls), as the ``anoma`` tool reads a CSV file.
    A fitted model is immutable and may be scored from several threads.
    """

    def __init__(self, params="", detectors=(("zscore", "combine=max"),), steps=()):
        self._handle = None
        self._spec = {"params": format_params(params), "detectors": [], "set": [],
                      "steps": []}
        handle = ctypes.c_void_p()
        check(lib.anoma_model_create(_encode(self._spec["params"]), ctypes.byref(handle)))
        self._handle = handle
        for d in detectors or ():
            if isinstance(d, (str, bytes)):
                self.add_detector(d)
            else:
                self.add_detector(*d)
        for step in steps or ():
            if isinstance(step, (str, bytes)):
                self.add_step(step)
            else:
                self.add_step(*step)

    @classmethod
    def create(cls, params="", detectors=(("zscore", "combine=max"),), steps=()):
        """Same as the constructor."""
        return cls(params, detectors, steps)

    @classmethod
    def _from_handle(cls, handle):
        self = cls.__new__(cls)
        self._handle = handle
        self._spec = None  # loaded: fitted, pickled through its bytes
        return self

    def __del__(self, _free=lib.anoma_model_free):
        if getattr(self, "_handle", None):
            _free(self._handle)
            self._handle = None

    # --- building -------------------------------------------------------
    def add_detector(self, name, params=""):
        """Add a detector (before fitting); returns its index."""
        text_params = format_params(params)
        index = ctypes.c_size_t()
        check(lib.anoma_model_add_detector(self._handle, _encode(name, "detector name"),
                                           _encode(text_params), ctypes.byref(index)))
        if self._spec is not None:
            self._spec["detectors"].append((name, text_params))
        self._note_rows(index.value, _param_value(text_params, "rows"))
        return index.value

    def add_step(self, name, params=""):
        """Append a pipeline step (before fitting), such as
        ``add_step("one_hot", "columns=device")``; returns its index."""
        text_params = format_params(params)
        index = ctypes.c_size_t()
        check(lib.anoma_model_add_step(self._handle, _encode(name, "step name"),
                                       _encode(text_params), ctypes.byref(index)))
        if self._spec is not None:
            self._spec["steps"].append((name, text_params))
        return index.value

    @property
    def n_steps(self):
        """Number of pipeline steps."""
        return lib.anoma_model_n_steps(self._handle)

    def import_detector(self, name, state, n_features, params=""):
        """Add a detector fitted elsewhere from its payload bytes (laid out as
        its page in docs/detectors/ says) to this empty model, whose
        ``threshold`` must be set; the model is then fitted."""
        state = bytes(state)
        check(lib.anoma_model_import_detector(self._handle, _encode(name, "detector name"),
                                              _encode(format_params(params)), state,
                                              len(state), n_features))
        return self

    def import_xgboost(self, json_text):
        """Add a "gbt" detector from an XGBoost 1.7 JSON model (the bytes or
        text of ``save_model("m.json")``), as import_detector adds one
        (anoma_model_import_xgboost)."""
        data = json_text.encode() if isinstance(json_text, str) else bytes(json_text)
        check(lib.anoma_model_import_xgboost(self._handle, data, len(data)))
        return self

    def set_param(self, key, value):
        """Set a model parameter; only "threshold" may change after fitting."""
        value = format_params({key: value}).partition("=")[2]
        check(lib.anoma_model_set_param(self._handle, _encode(key), _encode(value)))
        if self._spec is not None and not self.is_fitted:
            self._spec["set"].append((None, key, value))

    def set_detector_param(self, index, key, value):
        """Set a parameter of detector ``index`` before fitting."""
        value = format_params({key: value}).partition("=")[2]
        index = self._detector_index(index)
        check(lib.anoma_model_set_detector_param(self._handle, index, _encode(key),
                                                 _encode(value)))
        if self._spec is not None:
            self._spec["set"].append((index, key, value))
        if key == "rows":
            self._note_rows(index, value)

    # detectors given rows=borrow (lof, knn): their fitted state points into
    # the training array, which fit then keeps alive. Known from the
    # parameters as they are given (the library has accepted them by then),
    # so fit reads nothing back; a loaded model has none ("rows" is not saved).
    _borrowing = frozenset()

    def _note_rows(self, index, value):
        """Record detector ``index``'s rows parameter (None: not given)."""
        if value == "borrow":
            self._borrowing = self._borrowing | {index}
        elif value is not None:
            self._borrowing = self._borrowing - {index}

    def _detector_index(self, index):
        """index as a valid detector position, else IndexError (TypeError for
        a non-integer): never wrapped modulo 2**64 on the way to C."""
        try:
            i = operator.index(index)
        except TypeError:
            raise TypeError("detector must be an int index; got %r" % (index,)) from None
        n = lib.anoma_model_n_detectors(self._handle)
        if not 0 <= i < n:
            raise IndexError("detector=%d is out of range: the model has %d detector%s%s"
                             % (i, n, "" if n == 1 else "s",
                                " (0 to %d)" % (n - 1) if n else ""))
        return i

    # --- fitting and scoring -------------------------------------------
    def _frame(self, X):
        """X as a typed frame when it goes through the frame calls: a
        DataFrame with a text, category or datetime column, or any DataFrame
        for a model with steps (the steps pick their columns by name); else
        None, and X goes as a matrix."""
        if is_frame(X) and (self.n_steps or has_typed_columns(X)):
            return Frame(X)
        return None

    def _matrix(self, X):
        """X as a matrix: a DataFrame's columns picked by the model's feature
        names when it has them (a missing one is a ValueError naming it),
        else taken in order."""
        if _is_frame(X):
            names = self.feature_names
            if names is not None and self.is_fitted:
                columns = [str(c) for c in X.columns]
                missing = [n for n in names if n not in columns]
                if missing:
                    raise ValueError("X lacks the model's feature column%s %s (it has %s)"
                                     % ("s" if len(missing) > 1 else "",
                                        ", ".join(repr(n) for n in missing),
                                        ", ".join(repr(c) for c in columns)))
                X = X.iloc[:, [columns.index(n) for n in names]]
            X = X.to_numpy()
        return as_matrix(X)

    def fit(self, X, y=None, sample_weight=None):
        """Fit on X (n_samples, n_features), an array or a DataFrame (whose
        column names become the feature names unless names were set); y:
        optional 0/1 labels; returns self."""
        frame = self._frame(X)
        if frame is None and _is_frame(X) and self.feature_names is None and not self.is_fitted:
            self.feature_names = [str(c) for c in X.columns]
        x = self._matrix(X) if frame is None else None
        rows = frame.rows if x is None else x.rows
        labels = None if y is None else as_labels(y, "y", rows)
        weights = (None if sample_weight is None
                   else as_vector(sample_weight, np.float64, "sample_weight", rows))
        labels_p = None if labels is None else labels.ctypes.data
        weights_p = None if weights is None else weights.ctypes.data
        if frame is not None:  # the frame's column names become the input names
            check(lib.anoma_model_fit_frame(self._handle, frame.handle, labels_p, weights_p))
        else:
            check(lib.anoma_model_fit(self._handle, ctypes.byref(x), labels_p, weights_p))
            if self._borrowing:
                # a detector with rows=borrow references this array's memory
                # for as long as the C model lives: the model keeps it alive
                # (released with the model, not pickled: the bytes hold the rows)
                self._borrowed_rows = x.array
        return self

    # the array a detector with rows=borrow references (None: none)
    _borrowed_rows = None

    def set_eval_set(self, X, y, sample_weight=None):
        """Labelled rows the next fit watches but does not train on (gbt's
        early stopping: ``early_stopping_rounds``, ``eval_metric``), as
        XGBoost's eval_set; None forgets them. Copied; released by the fit.
        Returns self."""
        if X is None:
            check(lib.anoma_model_set_eval_set(self._handle, None, None, None))
            return self
        x = self._matrix(X)
        labels = as_labels(y, "y", x.rows)
        weights = (None if sample_weight is None
                   else as_vector(sample_weight, np.float64, "sample_weight", x.rows))
        check(lib.anoma_model_set_eval_set(self._handle, ctypes.byref(x), labels.ctypes.data,
                                           None if weights is None else weights.ctypes.data))
        return self

    def add_eval_set(self, X, y, sample_weight=None):
        """Add a set of labelled rows the next fit watches but does not
        train on (one of XGBoost's eval_set pairs): gbt records its
        ``eval_metric`` values on every set after every round
        (``eval_history``) and early-stops on the last set added. X has
        the training input's columns: a model with steps runs it through
        the steps fitted on the training rows (a DataFrame, or a Frame,
        goes as a frame, its columns found by name). Copied; released by
        the fit. Returns self."""
        frame = X if isinstance(X, Frame) else self._frame(X)
        x = self._matrix(X) if frame is None else None
        rows = frame.rows if x is None else x.rows
        labels = as_labels(y, "y", rows)
        weights = (None if sample_weight is None
                   else as_vector(sample_weight, np.float64, "sample_weight", rows))
        weights_p = None if weights is None else weights.ctypes.data
        if frame is not None:
            check(lib.anoma_model_add_eval_set_frame(self._handle, frame.handle,
                                                     labels.ctypes.data, weights_p))
        else:
            check(lib.anoma_model_add_eval_set(self._handle, ctypes.byref(x), labels.ctypes.data,
                                               weights_p))
        return self

    def eval_history(self, metric, eval_set=0, detector=0):
        """The values of ``metric`` ("logloss", "auc", "aucpr", "rmse") on
        evaluation set ``eval_set`` (in the order added) after each round
        the detector grew: a 1-D float array (XGBoost's evals_result)."""
        n = ctypes.c_size_t()
        name = _encode(metric, "metric")
        index = self._detector_index(detector)
        eval_set = operator.index(eval_set)
        if eval_set < 0:
            raise IndexError("eval_set=%d: sets are numbered from 0" % eval_set)
        check(lib.anoma_model_eval_history(self._handle, index, eval_set, name, None, 0,
                                           ctypes.byref(n)))
        out = np.empty(n.value, dtype=np.float64)
        check(lib.anoma_model_eval_history(self._handle, index, eval_set, name,
                                           out.ctypes.data, n.value, ctypes.byref(n)))
        return out

    def score(self, X):
        """Anomaly scores, one per row (higher = more anomalous)."""
        frame = self._frame(X)
        if frame is not None:
            out = np.empty(frame.rows, dtype=np.float64)
            check(lib.anoma_model_score_frame(self._handle, frame.handle, out.ctypes.data))
            return out
        x = self._matrix(X)
        out = np.empty(x.rows, dtype=np.float64)
        check(lib.anoma_model_score(self._handle, ctypes.byref(x), out.ctypes.data))
        return out

    def detector_scores(self, X, detector=0):
        """Raw scores of one detector, before normalisation and combination."""
        detector = self._detector_index(detector)
        x = self._matrix(X)
        out = np.empty(x.rows, dtype=np.float64)
        check(lib.anoma_model_score_detector(self._handle, detector, ctypes.byref(x),
                                             out.ctypes.data))
        return out

    def training_scores(self, detector=0):
        """A detector's own raw scores of its training rows, where it defines
        them apart from scoring the rows afresh (lof: each row's neighbours
        leave it out); UnsupportedError for other detectors."""
        detector = self._detector_index(detector)
        needed = ctypes.c_size_t(0)
        check(lib.anoma_model_training_scores(self._handle, detector, None, 0,
                                              ctypes.byref(needed)))
        out = np.empty(needed.value, dtype=np.float64)
        check(lib.anoma_model_training_scores(self._handle, detector, out.ctypes.data,
                                              needed.value, None))
        return out

    def predict(self, X):
        """0/1 decisions: 1 (anomaly) when the score is above the threshold."""
        frame = self._frame(X)
        if frame is not None:
            out = np.empty(frame.rows, dtype=np.intc)
            check(lib.anoma_model_predict_frame(self._handle, frame.handle, out.ctypes.data))
            return out.astype(np.int64)
        x = self._matrix(X)
        out = np.empty(x.rows, dtype=np.intc)
        check(lib.anoma_model_predict(self._handle, ctypes.byref(x), out.ctypes.data))
        return out.astype(np.int64)

    def member_scores(self, X, normalized=False):
        """Every detector's score of each row, shape (n_samples, n_detectors),
        in the order of ``detectors``: raw scores, or with ``normalized=True``
        the normalised ones the combination reads. A DataFrame X gives a
        DataFrame with the detector names as columns and X's index."""
        frame = self._frame(X)
        x = self._matrix(X) if frame is None else None
        n = lib.anoma_model_n_detectors(self._handle)
        out = np.empty((frame.rows if x is None else x.rows, n), dtype=np.float64)
        raw, z = (None, out.ctypes.data) if normalized else (out.ctypes.data, None)
        if frame is not None:
            check(lib.anoma_model_member_scores_frame(self._handle, frame.handle, raw, z))
        else:
            check(lib.anoma_model_member_scores(self._handle, ctypes.byref(x), raw, z))
        if _is_frame(X):
            import pandas as pd  # X is a DataFrame: pandas is there
            return pd.DataFrame(out, columns=self.detectors, index=X.index)
        return out

    def _probability(self, X):
        frame = self._frame(X)
        x = self._matrix(X) if frame is None else None
        rows = frame.rows if x is None else x.rows
        p = np.empty(rows, dtype=np.float64)
        c = np.empty(rows, dtype=np.float64)
        if frame is not None:
            check(lib.anoma_model_probability_frame(self._handle, frame.handle, p.ctypes.data,
                                                    c.ctypes.data))
        else:
            check(lib.anoma_model_probability(self._handle, ctypes.byref(x), p.ctypes.data,
                                              c.ctypes.data))
        return p, c

    def predict_proba(self, X):
        """Anomaly probabilities in scikit-learn's shape (n_samples, 2):
        column 0 P(normal), column 1 P(anomaly). By default P(anomaly) is the
        rank of the row's score among the model's scores on its training
        rows; after fit_probability, Platt's logistic curve (docs/model.md,
        "Probability"). A model that learned none (``probability_rows=0``
        with nothing else scoring training rows, an imported detector alone)
        raises."""
        p = self._probability(X)[0]
        return np.column_stack((1 - p, p))

    def predict_confidence(self, X):
        """How sure each decision is, in [0, 1]: 0 at the threshold's
        probability q, 1 at probability 1 or 0; (p - q) / (1 - q) above q,
        (q - p) / q below."""
        return self._probability(X)[1]

    def fit_probability(self, X, y):
        """Fit P(anomaly | score) on labelled rows (rows the model was not
        fitted on) by Platt's logistic method; it replaces the default
        probability and is saved with the model. Returns self."""
        frame = self._frame(X)
        if frame is not None:
            labels = as_labels(y, "y", frame.rows)
            check(lib.anoma_model_fit_probability_frame(self._handle, frame.handle,
                                                        labels.ctypes.data))
            return self
        x = self._matrix(X)
        labels = as_labels(y, "y", x.rows)
        check(lib.anoma_model_fit_probability(self._handle, ctypes.byref(x),
                                              labels.ctypes.data))
        return self

    def feature_scores(self, X, detector=0):
        """Per-feature scores of one detector, shape (n_samples, n_features)."""
        detector = self._detector_index(detector)
        frame = self._frame(X)
        if frame is not None:  # one per column the detectors see (the steps' outputs)
            out = np.empty((frame.rows, lib.anoma_model_n_outputs(self._handle)))
            check(lib.anoma_model_feature_scores_frame(self._handle, detector, frame.handle,
                                                       out.ctypes.data))
            return out
        x = self._matrix(X)
        out = np.empty((x.rows, x.cols), dtype=np.float64)
        check(lib.anoma_model_feature_scores(self._handle, detector, ctypes.byref(x),
                                             out.ctypes.data))
        return out

    def feature_scores_base(self, detector=0):
        """The value a detector's feature scores add up from, when they are
        contributions (gbt: TreeSHAP's bias, the margin's expected value):
        margin = base + the row's feature scores summed. AnomaError
        (ANOMA_ERR_UNSUPPORTED) for detectors whose feature scores are not."""
        detector = self._detector_index(detector)
        base = ctypes.c_double()
        check(lib.anoma_model_feature_scores_base(self._handle, detector, ctypes.byref(base)))
        return base.value

    def feature_importance(self, kind="gain", detector=0):
        """Each feature's importance to a detector, one value per column it
        sees. gbt: XGBoost's get_score kinds, ``weight``, ``gain``,
        ``cover``, ``total_gain``, ``total_cover`` (0 for a feature no split
        uses). AnomaError (ANOMA_ERR_UNSUPPORTED) for detectors without."""
        detector = self._detector_index(detector)
        out = np.empty(lib.anoma_model_n_outputs(self._handle), dtype=np.float64)
        check(lib.anoma_model_feature_importance(self._handle, detector, _encode(kind, "kind"),
                                                 out.ctypes.data))
        return out

    def set_threshold_from_labels(self, X, y, rule="best_f1"):
        """Choose the threshold on labelled validation rows; returns self.

        The model scores X and ``rule`` picks the cut: ``"best_f1"`` (the
        highest F1; the highest cut among equals), ``"precision=P"`` (the
        lowest cut whose precision is at least P) or ``"recall=R"`` (the
        highest cut whose recall is at least R). ``predict(X)`` then flags
        exactly the rows the rule counted. An unreachable precision, labels
        other than 0/1 or no anomaly in y raise ValueError and leave the
        threshold as it was (docs/model.md).
        """
        frame = self._frame(X)
        if frame is not None:
            labels = as_labels(y, "y", frame.rows)
            check(lib.anoma_model_set_threshold_from_labels_frame(
                self._handle, frame.handle, labels.ctypes.data, _encode(rule, "rule")))
            return self
        x = self._matrix(X)
        labels = as_labels(y, "y", x.rows)
        check(lib.anoma_model_set_threshold_from_labels(self._handle, ctypes.byref(x),
                                                        labels.ctypes.data,
                                                        _encode(rule, "rule")))
        return self

    def row_scorer(self):
        """A RowScorer: the fast path for one row at a time."""
        return RowScorer(self)

    # --- properties -------------------------------------------------------
    @property
    def is_fitted(self):
        return bool(lib.anoma_model_is_fitted(self._handle))

    @property
    def threshold(self):
        """Decision threshold (fitted models only); settable."""
        value = ctypes.c_double()
        check(lib.anoma_model_threshold(self._handle, ctypes.byref(value)))
        return value.value

    @threshold.setter
    def threshold(self, value):
        self.set_param("threshold", float(value))

    @property
    def n_threads(self):
        """Threads used for fitting and batch scoring (0 = one per core).

        A run-time option, not part of the model: settable on a fitted or
        loaded model, never saved (a loaded or unpickled model starts at the
        model parameter's default, 0), and no result depends on it. Not to
        be changed while other threads use the model."""
        params = self.params()
        for token in params.split():
            key, _, value = token.partition("=")
            if key == "n_threads":
                return int(value)
        raise RuntimeError("the library's model parameters lack n_threads: %r" % params)

    @n_threads.setter
    def n_threads(self, value):
        try:
            n = operator.index(value)
        except TypeError:
            raise TypeError("n_threads must be an int; got %r" % (value,)) from None
        if n < 0:
            raise ValueError("n_threads=%d: expected 0 (one per core) or a positive count" % n)
        check(lib.anoma_model_set_n_threads(self._handle, n))
        self._threads_set = n

    # what the n_threads setter last set (None: never set through it)
    _threads_set = None

    def set_progress(self, callback):
        """Report how far fit and batch scoring are to ``callback``, which
        may stop them; None stops reporting.

        ``callback(stage, done, total)``: stage is "fit" (trees an isolation
        forest has built) or "score" (rows scored, also by predict); done
        only grows within a call and the last report of a stage has
        ``done == total``. A truthy return cancels the call, which raises
        CancelledError (a cancelled fit leaves the model unfitted and
        fittable). An exception raised in the callback, KeyboardInterrupt
        included, cancels the call too and is raised again, as itself, once
        the call has returned: it never crosses the C library. The callback
        runs on the thread that made the call, about a hundred times per
        stage at most; it must not use this model. A run-time option, as
        n_threads: not saved nor pickled. Not to be changed while other
        threads use the model."""
        if callback is None:
            check(lib.anoma_model_set_progress(self._handle, _PROGRESS_FN(), None))  # NULL
            self._progress = None
            return
        if not callable(callback):
            raise TypeError("progress callback must be callable or None; got %r" % (callback,))

        def report(user, stage, done, total):
            try:
                return 1 if callback(_STAGES.get(stage, stage), done, total) else 0
            except BaseException as e:  # noqa: B036 - kept, raised after the call
                keep_callback_error(e)
                return 1

        c_callback = _PROGRESS_FN(report)
        check(lib.anoma_model_set_progress(self._handle, c_callback, None))
        self._progress = c_callback  # the library holds its address: keep it alive

    # the ctypes callback the library holds (None: none)
    _progress = None

    def params(self):
        """The model's parameters as ``key=value`` text, every key included
        (``anoma_model_params``)."""
        needed = ctypes.c_size_t()
        check(lib.anoma_model_params(self._handle, None, 0, ctypes.byref(needed)))
        buf = ctypes.create_string_buffer(needed.value + 1)
        check(lib.anoma_model_params(self._handle, buf, len(buf), ctypes.byref(needed)))
        return text(buf.value)

    @property
    def n_features(self):
        """Number of input columns (0 before fitting)."""
        return lib.anoma_model_n_features(self._handle)

    @property
    def detectors(self):
        """Names of the detectors, in order."""
        n = lib.anoma_model_n_detectors(self._handle)
        return [text(lib.anoma_model_detector_name(self._handle, i)) for i in range(n)]

    @property
    def feature_names(self):
        """Names of the input features (kept in the model file), or None."""
        # A fitted model's names change only through the setter: read them
        # from the library once (estimators check them on every call).
        if "_fitted_names" in self.__dict__:
            names = self._fitted_names
            return None if names is None else list(names)
        n = self.n_features
        raw = [lib.anoma_model_feature_name(self._handle, j) for j in range(n)]
        names = [text(b) for b in raw] if n and all(b is not None for b in raw) else None
        if self.is_fitted:
            self._fitted_names = None if names is None else tuple(names)
        return names

    @feature_names.setter
    def feature_names(self, names):
        names = [str(name) for name in names]
        raw = [_encode(name, "feature name") for name in names]
        self.__dict__.pop("_fitted_names", None)
        check(lib.anoma_model_set_feature_names(self._handle, (ctypes.c_char_p * len(raw))(*raw),
                                                len(raw)))
        if self._spec is not None and not self.is_fitted:
            self._spec["names"] = names

    @property
    def memory_bytes(self):
        """Bytes of memory the model holds."""
        return lib.anoma_model_memory_bytes(self._handle)

    def describe(self):
        """Human-readable description (what ``anoma inspect`` prints)."""
        # one call when the text fits a first guess (most models), a second
        # sized by the first otherwise: a small fit (OneClassSVM reads rho
        # from here) then formats the description once, not twice
        needed = ctypes.c_size_t()
        buf = ctypes.create_string_buffer(4096)
        check(lib.anoma_model_describe(self._handle, buf, len(buf), ctypes.byref(needed)))
        if needed.value >= len(buf):
            buf = ctypes.create_string_buffer(needed.value + 1)
            check(lib.anoma_model_describe(self._handle, buf, len(buf), ctypes.byref(needed)))
        return text(buf.value)

    def __repr__(self):
        state = "fitted" if self.is_fitted else "not fitted"
        return "<anoma.Model %s, detectors=%s>" % (state, self.detectors)

    # --- saving and loading --------------------------------------------
    def save(self, path):
        """Save the fitted model to a file (atomically)."""
        encoded = os.fsencode(path)
        if b"\0" in encoded:
            raise ValueError("path %r contains a NUL character" % (path,))
        check(lib.anoma_model_save(self._handle, encoded))

    @classmethod
    def load(cls, path):
        """Load a model saved with save(). A path that does not exist raises
        ModelFileNotFoundError (a FileNotFoundError and an AnomaError)."""
        handle = ctypes.c_void_p()
        encoded = os.fsencode(path)
        if b"\0" in encoded:
            raise ValueError("path %r contains a NUL character" % (path,))
        status = lib.anoma_model_load(encoded, ctypes.byref(handle))
        if status != ANOMA_OK:
            if status == STATUS["ANOMA_ERR_IO"] and not os.path.lexists(path):
                raise ModelFileNotFoundError(status, filename=os.fspath(path))
            raise error_for(status)
        return cls._from_handle(handle)

    def to_bytes(self):
        """The fitted model in the file format, as bytes."""
        size = ctypes.c_size_t()
        status = lib.anoma_model_save_memory(self._handle, None, 0, ctypes.byref(size))
        while True:
            if status not in (0, ANOMA_ERR_BUFFER_TOO_SMALL):
                check(status)
            buf = ctypes.create_string_buffer(max(size.value, 1))
            status = lib.anoma_model_save_memory(self._handle, buf, size.value,
                                                 ctypes.byref(size))
            if status == 0:
                return buf.raw[:size.value]

    def detector_payload(self, detector=0, with_version=False):
        """A fitted detector's payload (its saved state, laid out as its page
        in docs/detectors/ says), the bytes ``import_detector`` takes back
        (anoma_model_detector_payload). With ``with_version``, the pair
        (layout version, bytes) (anoma_model_detector_payload_version), for
        a reader of the bytes that must know which layout it reads.
        AnomaError (ANOMA_ERR_UNSUPPORTED) for a detector whose training
        rows the model holds (lof, knn)."""
        detector = self._detector_index(detector)
        size = ctypes.c_size_t()
        check(lib.anoma_model_detector_payload(self._handle, detector, None, 0,
                                               ctypes.byref(size)))
        buf = ctypes.create_string_buffer(max(size.value, 1))
        check(lib.anoma_model_detector_payload(self._handle, detector, buf, size.value,
                                               ctypes.byref(size)))
        if not with_version:
            return buf.raw[:size.value]
        version = ctypes.c_uint32()
        check(lib.anoma_model_detector_payload_version(self._handle, detector,
                                                       ctypes.byref(version)))
        return version.value, buf.raw[:size.value]

    @classmethod
    def merged(cls, models, params=None):
        """One new fitted model from ``models`` (``Model`` objects) fitted
        apart, each of one detector that merges (iforest: all their trees in
        one forest), with model ``params`` (anoma_model_merge; anoma.merge's
        ``merge_forests`` is the usual way in). InvalidArgumentError (a
        ValueError) names the first model that does not merge and why."""
        handles = (ctypes.c_void_p * len(models))(*[m._handle for m in models])
        handle = ctypes.c_void_p()
        check(lib.anoma_model_merge(handles, len(models), _encode(format_params(params)),
                                    ctypes.byref(handle)))
        return cls._from_handle(handle)

    @classmethod
    def from_bytes(cls, data):
        """Load a model from bytes made by to_bytes() (or a model file's content)."""
        data = bytes(data)
        handle = ctypes.c_void_p()
        check(lib.anoma_model_load_memory(data, len(data), ctypes.byref(handle)))
        return cls._from_handle(handle)

    # --- pickling: a fitted model as its bytes, an unfitted one as its recipe
    def __getstate__(self):
        if self.is_fitted:
            return {"bytes": self.to_bytes()}
        return {"spec": self._spec}

    def __setstate__(self, state):
        if "bytes" in state:
            other = Model.from_bytes(state["bytes"])
        else:
            spec = state["spec"]
            other = Model(spec["params"], spec["detectors"], spec.get("steps", ()))
            for index, key, value in spec["set"]:
                if index is None:
                    other.set_param(key, value)
                else:
                    other.set_detector_param(index, key, value)
            if spec.get("names") is not None:
                other.feature_names = spec["names"]
        self._handle, other._handle = other._handle, None
        self._spec = other._spec


_REAL_KINDS = "fiub"  # numpy dtype kinds copied into a float64 row as they are


class RowScorer:
    """Scores one row at a time without per-row set-up in the library.

    Made by Model.row_scorer(); holds the model alive. Single-owner: create
    one per thread.
    """

    def __init__(self, model):
        self._handle = None
        handle = ctypes.c_void_p()
        check(lib.anoma_row_scorer_create(model._handle, ctypes.byref(handle)))
        self._handle = handle
        self.model = model
        n = model.n_features
        self._shape = (n,)
        self._row = np.empty(n, dtype=np.float64)  # rows are copied here: no per-row pointer work
        self._call = functools.partial(lib.anoma_row_scorer_score, handle, self._row.ctypes.data,
                                       n)
        self._score = ctypes.c_double()
        self._flag = ctypes.c_int()
        self._out = (ctypes.byref(self._score), ctypes.byref(self._flag))
        # a model with text or timestamp inputs takes typed rows (anoma_value cells)
        inputs = Inputs(model._handle, n)
        self._inputs = inputs if inputs.typed else None

    def _cells(self, row):
        """A typed row as n anoma_value cells, and what keeps its text alive."""
        columns = self._inputs.columns([self._inputs.row(row)], "RowScorer")
        return cells(columns, 1)

    def score(self, row):
        """(score, is_anomaly) of one row: n_features values in input order,
        or (for a model with text or timestamp inputs) a mapping or pandas
        Series by input name."""
        if self._inputs is not None:
            row, keep = self._cells(row)
            check(lib.anoma_row_scorer_score_values(self._handle, row.ctypes.data,
                                                    row.shape[1], *self._out))
            return self._score.value, self._flag.value == 1
        if getattr(row, "shape", None) == self._shape and row.dtype.kind in _REAL_KINDS:
            self._row[:] = row
            status = self._call(*self._out)
        else:
            a = as_row(row)
            status = lib.anoma_row_scorer_score(self._handle, a.ctypes.data, a.shape[0],
                                                *self._out)
        if status:
            check(status)
        return self._score.value, self._flag.value == 1

    def score_probability(self, row):
        """(score, is_anomaly, probability, confidence) of one row."""
        p, c = ctypes.c_double(), ctypes.c_double()
        if self._inputs is not None:
            a, keep = self._cells(row)
            call = lib.anoma_row_scorer_score_probability_values
        else:
            a, call = as_row(row).reshape(1, -1), lib.anoma_row_scorer_score_probability
        check(call(self._handle, a.ctypes.data, a.shape[1], *self._out, ctypes.byref(p),
                   ctypes.byref(c)))
        return self._score.value, self._flag.value == 1, p.value, c.value

    def member_scores(self, row, normalized=False):
        """Every detector's score of one row (raw, or the normalised ones the
        combination reads), in the order of ``Model.detectors``."""
        out = np.empty(lib.anoma_model_n_detectors(self.model._handle), dtype=np.float64)
        raw, z = (None, out.ctypes.data) if normalized else (out.ctypes.data, None)
        if self._inputs is not None:
            a, keep = self._cells(row)
            call = lib.anoma_row_scorer_member_scores_values
        else:
            a, call = as_row(row).reshape(1, -1), lib.anoma_row_scorer_member_scores
        check(call(self._handle, a.ctypes.data, a.shape[1], raw, z))
        return out

    def feature_scores(self, row, detector=0):
        """Per-feature scores (explanation) of one row for one detector."""
        detector = self.model._detector_index(detector)
        a = as_row(row)
        out = np.empty(a.shape[0], dtype=np.float64)
        check(lib.anoma_row_scorer_feature_scores(self._handle, detector, a.ctypes.data,
                                                  a.shape[0], out.ctypes.data))
        return out

    def __del__(self, _free=lib.anoma_row_scorer_free):
        if getattr(self, "_handle", None):
            _free(self._handle)
            self._handle = None
