"""Streams (anoma_stream): one fitted model scoring observations of many
entities (users, sensors) one at a time, with per-entity history, alerts and
a state that saves and restores. docs/stream.md describes the rules;
docs/python.md shows the use."""
import collections
import ctypes
import datetime

import numpy as np

from ._frames import Inputs, cells
from ._library import ANOMA_ERR_BUFFER_TOO_SMALL, lib, text
from .errors import check
from .model import Model, format_params

__all__ = ["Stream", "StreamResult", "AlertEvent"]

MAX_KEY = 255  # ANOMA_STREAM_MAX_KEY
_MAX_TOP = 8   # ANOMA_STREAM_MAX_TOP


class _Event(ctypes.Structure):
    """anoma_stream_event of stream.h (frozen layout)."""
    _fields_ = [("kind", ctypes.c_int), ("entity", ctypes.c_char * (MAX_KEY + 1)),
                ("start_time", ctypes.c_double), ("end_time", ctypes.c_double),
                ("peak_time", ctypes.c_double), ("peak_score", ctypes.c_double),
                ("n_anomalous", ctypes.c_uint64), ("evicted", ctypes.c_int),
                ("dropped", ctypes.c_uint64), ("n_top", ctypes.c_size_t),
                ("top_feature", ctypes.c_size_t * _MAX_TOP),
                ("top_value", ctypes.c_double * _MAX_TOP)]


_p, _st, _size = ctypes.c_void_p, ctypes.c_int, ctypes.c_size_t
_dbl_p, _int_p = ctypes.POINTER(ctypes.c_double), ctypes.POINTER(ctypes.c_int)
for _name, (_res, _args) in {
        "anoma_stream_create": (_st, [_p, ctypes.c_char_p, ctypes.POINTER(_p)]),
        "anoma_stream_free": (None, [_p]),
        "anoma_stream_push": (_st, [_p, ctypes.c_char_p, ctypes.c_double, _p, _size, _dbl_p,
                                    _dbl_p, _int_p]),
        "anoma_stream_push_values": (_st, [_p, ctypes.c_char_p, ctypes.c_double, _p, _size,
                                           _dbl_p, _dbl_p, _int_p]),
        "anoma_stream_last_feature_scores": (_st, [_p, _size, _p]),
        "anoma_stream_next_event": (ctypes.c_int, [_p, ctypes.POINTER(_Event)]),
        "anoma_stream_n_entities": (_size, [_p]),
        "anoma_stream_entity_bytes": (_size, [_p]),
        "anoma_stream_memory_bytes": (_size, [_p]),
        "anoma_stream_save": (_st, [_p, _p, _size, ctypes.POINTER(_size)]),
        "anoma_stream_restore": (_st, [_p, ctypes.c_char_p, _size]),
        "anoma_stream_fingerprint": (_st, [_p, ctypes.POINTER(ctypes.c_uint64)]),
        "anoma_model_n_outputs": (_size, [_p]),
        "anoma_model_output_name": (ctypes.c_char_p, [_p, _size]),
}.items():
    _fn = getattr(lib, _name)
    _fn.restype, _fn.argtypes = _res, _args

StreamResult = collections.namedtuple("StreamResult", ["score", "probability", "is_anomaly"])
StreamResult.__doc__ = """One push's answer: the score (higher = more anomalous), the anomaly
probability (as Model.predict_proba's anomaly column; NaN when the model learned none) and the
decision (True when above the model's threshold)."""

AlertEvent = collections.namedtuple(
    "AlertEvent", ["kind", "entity", "start_time", "end_time", "peak_time", "peak_score",
                   "n_anomalous", "evicted", "dropped", "top_features"])
AlertEvent.__doc__ = """An alert event: kind "open" or "close", the entity's key, the times
(seconds), the peak score, the anomalous observations counted, whether the close came from
an eviction, the events dropped before it (full queue), and top_features, a list of
(output column name, per-feature score) at the peak, highest first."""


def _seconds(t):
    """A push time as float seconds: numbers as they are; datetime,
    numpy.datetime64 and pandas.Timestamp as seconds since 1970 (naive ones
    read as UTC)."""
    if t is None:
        return None
    if isinstance(t, np.datetime64):
        return float(t.astype("datetime64[ns]").astype(np.int64)) / 1e9
    if isinstance(t, datetime.datetime):
        if t.tzinfo is None:
            t = t.replace(tzinfo=datetime.timezone.utc)
        return t.timestamp()
    if hasattr(t, "to_datetime64"):  # pandas.Timestamp, without importing pandas
        return _seconds(t.to_datetime64())
    return float(t)


def _key(entity):
    key = str(entity).encode("utf-8")
    if b"\0" in key:
        raise ValueError("entity %r: a key may not contain a NUL character" % (entity,))
    return key


def stream_fingerprint(model):
    """The 64-bit fingerprint (an int) of what ``model``'s per-entity stream
    state means (docs/stream.md, "Saving and restoring"): a stream state
    saved with one model restores into another exactly when their
    fingerprints are equal, so a host compares them before moving states to
    a retrained model. ``model`` is a fitted ``anoma.Model``, estimator or
    ``Pipeline``."""
    model = _fitted_model(model, "stream_fingerprint")
    value = ctypes.c_uint64()
    check(lib.anoma_stream_fingerprint(model._handle, ctypes.byref(value)))
    return value.value


def _fitted_model(model, who):
    found = model if isinstance(model, Model) else getattr(model, "model_", model)
    if not isinstance(found, Model):
        raise TypeError("%s: expected a fitted anoma.Model, estimator or Pipeline; got %s"
                        % (who, type(model).__name__))
    return found


class Stream:
    """Score observations of many entities with one fitted model, keeping
    each entity's history (window features, time since its previous row,
    stateful detectors), its alerts and its last-seen time.

    ``model`` is a fitted ``anoma.Model`` or a fitted estimator or
    ``Pipeline`` (its ``model_``); the stream keeps it alive. ``options`` are
    the stream's (docs/stream.md): ``max_entities``, ``evict`` ("lru" or
    "idle"), ``idle_seconds``, ``alert_min``, ``alert_window``,
    ``alert_quiet``, ``alert_quiet_seconds``, ``alert_top``,
    ``alert_detector``, ``max_events``. Single-owner: use one stream from one
    thread at a time. Pickles as its model, options and state."""

    def __init__(self, model, **options):
        self._handle = None
        self.model = _fitted_model(model, "Stream")
        self.options = dict(options)
        handle = ctypes.c_void_p()
        check(lib.anoma_stream_create(self.model._handle,
                                      format_params(self.options).encode("utf-8"),
                                      ctypes.byref(handle)))
        self._handle = handle
        m = self.model._handle
        self.n_features = self.model.n_features
        self._inputs = Inputs(m, self.n_features)
        self._typed, self._names = self._inputs.typed, self._inputs.names
        self._outputs = [text(lib.anoma_model_output_name(m, k))
                         for k in range(lib.anoma_model_n_outputs(m))]
        self._score, self._proba, self._flag = ctypes.c_double(), ctypes.c_double(), ctypes.c_int()
        self._out = (ctypes.byref(self._score), ctypes.byref(self._proba),
                     ctypes.byref(self._flag))
        self._pushes = 0  # the default time: the count of pushes

    def __del__(self, _free=lib.anoma_stream_free):
        if getattr(self, "_handle", None):
            _free(self._handle)
            self._handle = None

    # ---- pushing ----------------------------------------------------------

    def _columns(self, rows):
        """Per model input, its column of `rows` (a DataFrame by the model's
        input names, a 2-D array or a list of rows in input order) as
        (type, buffer) of data.h."""
        return self._inputs.columns(rows, "Stream")

    _cells = staticmethod(cells)

    def _time(self, time):
        self._pushes += 1
        t = _seconds(time)
        return float(self._pushes) if t is None else t

    def push(self, entity, row, time=None):
        """Score one observation of ``entity`` (any value; its text is the
        key) and fold it into the entity's history. ``row`` holds the
        model's input columns: a sequence in input order, or a mapping or
        pandas Series by input name. ``time`` (seconds, or a datetime):
        dates alerts and drives idle eviction; default the count of pushes
        so far. Returns a StreamResult(score, probability, is_anomaly)."""
        if hasattr(row, "keys") and hasattr(row, "__getitem__"):
            row = [row[n] for n in self._names]
        key, t = _key(entity), self._time(time)
        if self._typed:
            cells, keep = self._cells(self._columns([list(row)]), 1)
            status = lib.anoma_stream_push_values(self._handle, key, t, cells.ctypes.data,
                                                  self.n_features, *self._out)
            del keep
        else:
            a = np.ascontiguousarray(row, dtype=np.float64).reshape(-1)
            status = lib.anoma_stream_push(self._handle, key, t, a.ctypes.data, a.shape[0],
                                           *self._out)
        check(status)
        return StreamResult(self._score.value, self._proba.value, self._flag.value == 1)

    def push_many(self, entities, rows, times=None):
        """Push rows in order: ``entities`` one key per row, ``rows`` a
        DataFrame (columns by the model's input names) or a 2-D array,
        ``times`` one time per row (default: the count of pushes). Returns
        StreamResult of arrays (float64 scores and probabilities, bool
        decisions). A bad row
        raises, after the rows before it were pushed."""
        columns = self._columns(rows)
        n = len(columns[0][1]) if columns else len(entities)
        entities = list(entities)
        if len(entities) != n:
            raise ValueError("Stream.push_many: %d entities for %d rows" % (len(entities), n))
        if times is not None:
            times = list(times)
            if len(times) != n:
                raise ValueError("Stream.push_many: %d times for %d rows" % (len(times), n))
        scores = np.empty(n, dtype=np.float64)
        probabilities = np.empty(n, dtype=np.float64)
        flags = np.empty(n, dtype=bool)
        if self._typed:
            cells, keep = self._cells(columns, n)
            push, base, step = lib.anoma_stream_push_values, cells.ctypes.data, 8 * cells.shape[1]
        else:
            cells = np.ascontiguousarray(np.column_stack([c for _, c in columns])
                                         if columns else np.empty((n, 0)))
            push, base, step = lib.anoma_stream_push, cells.ctypes.data, 8 * cells.shape[1]
        score, proba, flag, out = self._score, self._proba, self._flag, self._out
        for i in range(n):
            t = self._time(None if times is None else times[i])
            check(push(self._handle, _key(entities[i]), t, base + i * step, self.n_features,
                       *out))
            scores[i] = score.value
            probabilities[i] = proba.value
            flags[i] = flag.value == 1
        return StreamResult(scores, probabilities, flags)

    def feature_scores(self, detector=0):
        """Per-feature scores of the last pushed observation for one
        detector, one per output column (``output_names``)."""
        detector = self.model._detector_index(detector)
        out = np.empty(len(self._outputs), dtype=np.float64)
        check(lib.anoma_stream_last_feature_scores(self._handle, detector, out.ctypes.data))
        return out

    @property
    def output_names(self):
        """The columns the detectors see (alert features name them)."""
        return list(self._outputs)

    # ---- events and sizes -------------------------------------------------

    def events(self):
        """The queued alert events, oldest first (the queue is emptied)."""
        out, ev = [], _Event()
        while lib.anoma_stream_next_event(self._handle, ctypes.byref(ev)):
            top = [(self._outputs[ev.top_feature[k]], ev.top_value[k]) for k in range(ev.n_top)]
            out.append(AlertEvent("open" if ev.kind == 1 else "close",
                                  ev.entity.decode("utf-8", "replace"), ev.start_time,
                                  ev.end_time, ev.peak_time, ev.peak_score, ev.n_anomalous,
                                  bool(ev.evicted), ev.dropped, top))
        return out

    @property
    def n_entities(self):
        """Entities held now."""
        return lib.anoma_stream_n_entities(self._handle)

    @property
    def entity_bytes(self):
        """Bytes one entity takes apart from its key (docs/stream.md, "Memory")."""
        return lib.anoma_stream_entity_bytes(self._handle)

    @property
    def memory_bytes(self):
        """Bytes the stream holds now."""
        return lib.anoma_stream_memory_bytes(self._handle)

    # ---- state ------------------------------------------------------------

    @property
    def fingerprint(self):
        """``stream_fingerprint(self.model)``: the value this stream's saved
        state carries and a restored state must carry."""
        return stream_fingerprint(self.model)

    def to_bytes(self):
        """The whole entity state (docs/stream.md, "State format"), bound to
        the model. Queued events are not part of it."""
        size = ctypes.c_size_t()
        status = lib.anoma_stream_save(self._handle, None, 0, ctypes.byref(size))
        while True:
            if status not in (0, ANOMA_ERR_BUFFER_TOO_SMALL):
                check(status)
            buf = ctypes.create_string_buffer(max(size.value, 1))
            status = lib.anoma_stream_save(self._handle, buf, size.value, ctypes.byref(size))
            if status == 0:
                return buf.raw[:size.value]

    def restore(self, data):
        """Replace the entities with a state from to_bytes() of a stream of
        the same model; a state of another model, truncated or corrupt,
        raises and leaves the stream as it was."""
        data = bytes(data)
        check(lib.anoma_stream_restore(self._handle, data, len(data)))

    @classmethod
    def from_bytes(cls, model, data, **options):
        """A new stream of ``model`` with ``options``, restored from ``data``."""
        s = cls(model, **options)
        s.restore(data)
        return s

    def __getstate__(self):
        return {"model": self.model, "options": self.options, "state": self.to_bytes(),
                "pushes": self._pushes}

    def __setstate__(self, state):
        self.__init__(state["model"], **state["options"])
        self.restore(state["state"])
        self._pushes = state["pushes"]

    def __repr__(self):
        return "Stream(%d entities, %s)" % (self.n_entities, self.options or "defaults")
