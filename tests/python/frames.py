"""Pandas DataFrames through a model's feature pipeline, with ctypes on the
public C API (anoma_frame_*, anoma_model_add_step, anoma_model_fit_frame,
anoma_model_transform_frame): what the step tests compare with pandas and
scikit-learn. Skips the calling module when the library lacks that API."""
import ctypes

import numpy as np
import pytest

from conftest import import_anoma

anoma = import_anoma()
from anoma import _library  # noqa: E402

lib = _library.lib
_P = ctypes.c_void_p
_API = {
    "anoma_frame_create": (ctypes.c_int, [ctypes.c_size_t, ctypes.POINTER(_P)]),
    "anoma_frame_free": (None, [_P]),
    "anoma_frame_add_column": (ctypes.c_int, [_P, ctypes.c_char_p, ctypes.c_int, _P]),
    "anoma_model_create": (ctypes.c_int, [ctypes.c_char_p, ctypes.POINTER(_P)]),
    "anoma_model_free": (None, [_P]),
    "anoma_model_add_step": (ctypes.c_int, [_P, ctypes.c_char_p, ctypes.c_char_p,
                                            ctypes.POINTER(ctypes.c_size_t)]),
    "anoma_model_add_detector": (ctypes.c_int, [_P, ctypes.c_char_p, ctypes.c_char_p,
                                                ctypes.POINTER(ctypes.c_size_t)]),
    "anoma_model_fit_frame": (ctypes.c_int, [_P, _P, _P, _P]),
    "anoma_model_transform_frame": (ctypes.c_int, [_P, _P, _P]),
    "anoma_model_n_outputs": (ctypes.c_size_t, [_P]),
    "anoma_model_output_name": (ctypes.c_char_p, [_P, ctypes.c_size_t]),
    "anoma_model_score_frame": (ctypes.c_int, [_P, _P, _P]),
    "anoma_model_save_memory": (ctypes.c_int, [_P, _P, ctypes.c_size_t,
                                               ctypes.POINTER(ctypes.c_size_t)]),
    "anoma_model_load_memory": (ctypes.c_int, [_P, ctypes.c_size_t, ctypes.POINTER(_P)]),
    "anoma_row_scorer_create": (ctypes.c_int, [_P, ctypes.POINTER(_P)]),
    "anoma_row_scorer_free": (None, [_P]),
    "anoma_row_scorer_score_values": (ctypes.c_int, [_P, _P, ctypes.c_size_t,
                                                     ctypes.POINTER(ctypes.c_double), _P]),
    "anoma_model_save": (ctypes.c_int, [_P, ctypes.c_char_p]),
    "anoma_model_set_n_threads": (ctypes.c_int, [_P, ctypes.c_size_t]),
    "anoma_last_error": (ctypes.c_char_p, []),
}
if not all(hasattr(lib, name) for name in _API):
    pytest.skip("this libanoma has no frame pipeline API", allow_module_level=True)
for _name, (_res, _args) in _API.items():
    getattr(lib, _name).restype = _res
    getattr(lib, _name).argtypes = _args

DOUBLE, INT64, STRING, TIMESTAMP = 0, 1, 2, 3
TIMESTAMP_MISSING = np.iinfo(np.int64).min


class PipelineError(Exception):
    """A failed call, with the library's message."""


def _check(status):
    if status != 0:
        raise PipelineError(_library.text(lib.anoma_last_error()))


def _column(series):
    """(type, buffer kept alive, pointer) of a pandas column."""
    if series.dtype.kind == "M":
        ns = series.to_numpy("datetime64[ns]").astype(np.int64)
        sec = np.where(ns == TIMESTAMP_MISSING, TIMESTAMP_MISSING, ns // 1_000_000_000)
        values = np.ascontiguousarray(sec, dtype=np.int64)
        return TIMESTAMP, values, values.ctypes.data
    if series.dtype.kind in "if":
        values = np.ascontiguousarray(series.to_numpy(np.float64))
        return DOUBLE, values, values.ctypes.data
    # one buffer of NUL-terminated texts, as a CSV reader holds them, and
    # pointers into it (kept alive with the column)
    missing = [v is None or v != v for v in series]
    encoded = [b"" if m else str(v).encode() for v, m in zip(series, missing)]
    lengths = np.fromiter((len(e) + 1 for e in encoded), dtype=np.int64, count=len(encoded))
    blob = ctypes.create_string_buffer(b"\0".join(encoded) + b"\0")
    starts = np.concatenate(([0], np.cumsum(lengths)[:-1])) + ctypes.addressof(blob)
    pointers = np.where(missing, 0, starts).astype(np.uint64)
    return STRING, (blob, pointers), pointers.ctypes.data


class Frame:
    """An anoma_frame over a DataFrame's columns (kept alive with it)."""

    def __init__(self, df):
        self.handle = _P()
        _check(lib.anoma_frame_create(len(df), ctypes.byref(self.handle)))
        self.keep = []
        for name in df.columns:
            kind, buffer, pointer = _column(df[name])
            self.keep.append(buffer)
            _check(lib.anoma_frame_add_column(self.handle, str(name).encode(), kind, pointer))

    def __del__(self):
        lib.anoma_frame_free(self.handle)


class Model:
    """A fitted model with these steps and a zscore detector, for the
    batch / row / reloaded comparisons."""

    def __init__(self, df, steps, n_threads=0):
        self.handle = _P()
        _check(lib.anoma_model_create(None, ctypes.byref(self.handle)))
        _check(lib.anoma_model_set_n_threads(self.handle, n_threads))
        for step in steps:
            name, _, params = step.partition(" ")
            _check(lib.anoma_model_add_step(self.handle, name.encode(), params.encode(), None))
        _check(lib.anoma_model_add_detector(self.handle, b"zscore", None, None))
        frame = Frame(df)  # kept alive through the call
        _check(lib.anoma_model_fit_frame(self.handle, frame.handle, None, None))

    def __del__(self):
        lib.anoma_model_free(self.handle)

    def score(self, df):
        out = np.empty(len(df))
        frame = Frame(df)
        _check(lib.anoma_model_score_frame(self.handle, frame.handle, out.ctypes.data))
        return out

    def score_rows(self, df):
        """Each row through one row scorer, in order (anoma_value rows)."""
        scorer = _P()
        _check(lib.anoma_row_scorer_create(self.handle, ctypes.byref(scorer)))
        try:
            values = (ctypes.c_uint64 * len(df.columns))()
            columns = [_column(df[name]) for name in df.columns]
            out = np.empty(len(df))
            score = ctypes.c_double()
            for i in range(len(df)):
                for j, (kind, buffer, _) in enumerate(columns):
                    if kind == STRING:
                        values[j] = int(buffer[1][i])
                    else:
                        values[j] = buffer[i:i + 1].view(np.uint64)[0]
                _check(lib.anoma_row_scorer_score_values(scorer, values, len(values),
                                                         ctypes.byref(score), None))
                out[i] = score.value
            return out
        finally:
            lib.anoma_row_scorer_free(scorer)

    def save(self, path):
        _check(lib.anoma_model_save(self.handle, path.encode()))

    def reloaded(self):
        """The same model through its saved bytes."""
        size = ctypes.c_size_t()
        lib.anoma_model_save_memory(self.handle, None, 0, ctypes.byref(size))
        buf = ctypes.create_string_buffer(size.value)
        _check(lib.anoma_model_save_memory(self.handle, buf, size.value, ctypes.byref(size)))
        copy = Model.__new__(Model)
        copy.handle = _P()
        _check(lib.anoma_model_load_memory(buf, size.value, ctypes.byref(copy.handle)))
        return copy


def fit_transform(df, steps, apply_to=None):
    """Fit a model with these steps ("name key=value ...") and a zscore
    detector on df; return (output names, the pipeline's output for
    apply_to, or df, as a rows x outputs array)."""
    model = _P()
    _check(lib.anoma_model_create(None, ctypes.byref(model)))
    try:
        for step in steps:
            name, _, params = step.partition(" ")
            _check(lib.anoma_model_add_step(model, name.encode(), params.encode(), None))
        _check(lib.anoma_model_add_detector(model, b"zscore", None, None))
        frame = Frame(df)
        _check(lib.anoma_model_fit_frame(model, frame.handle, None, None))
        target = frame if apply_to is None else Frame(apply_to)
        rows = len(df) if apply_to is None else len(apply_to)
        width = lib.anoma_model_n_outputs(model)
        names = [_library.text(lib.anoma_model_output_name(model, k)) for k in range(width)]
        out = np.empty((rows, width))
        _check(lib.anoma_model_transform_frame(model, target.handle, out.ctypes.data))
        return names, out
    finally:
        lib.anoma_model_free(model)
