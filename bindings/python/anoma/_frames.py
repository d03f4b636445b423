"""Typed data for the library: pandas DataFrames (numbers, text, datetimes)
as anoma_frame columns for the batch calls, and rows as anoma_value cells
for the single-row calls. Shared by Model, RowScorer, Pipeline and Stream."""
import ctypes

import numpy as np

from ._library import lib, text
from .errors import check

# Column types of data.h.
COL_DOUBLE, COL_STRING, COL_TIMESTAMP = 0, 2, 3

_p, _st, _size = ctypes.c_void_p, ctypes.c_int, ctypes.c_size_t
for _name, (_res, _args) in {
        "anoma_frame_create": (_st, [_size, ctypes.POINTER(_p)]),
        "anoma_frame_free": (None, [_p]),
        "anoma_frame_add_column": (_st, [_p, ctypes.c_char_p, ctypes.c_int, _p]),
        "anoma_model_input_type": (_st, [_p, _size, ctypes.POINTER(ctypes.c_int)]),
        "anoma_model_input_name": (ctypes.c_char_p, [_p, _size]),
        "anoma_model_n_outputs": (_size, [_p]),
}.items():
    _fn = getattr(lib, _name)
    _fn.restype, _fn.argtypes = _res, _args


def is_frame(X):
    """True for a pandas DataFrame (named columns and iloc)."""
    return hasattr(X, "columns") and hasattr(X, "iloc")


def has_typed_columns(X):
    """True when a DataFrame holds a column that is not numbers (text,
    categories, datetimes): only the frame calls take it."""
    return any(getattr(d, "kind", "O") not in "biuf" for d in X.dtypes)


class Frame:
    """An anoma_frame over a DataFrame's or an array's columns; the arrays it
    points to live as long as this object."""

    def __init__(self, X):
        self.handle = None
        columns = columns_of(X)
        rows = len(columns[0][1]) if columns else 0
        handle = ctypes.c_void_p()
        check(lib.anoma_frame_create(rows, ctypes.byref(handle)))
        self.handle = handle
        self.names = [name for name, _ in columns]
        self._keep = []
        for name, values in columns:
            if "\0" in name:
                raise ValueError("column %r: a column name may not contain a NUL character"
                                 % (name,))
            kind, buf = column_buffer(values)
            self._keep.append(buf)
            address = ctypes.cast(buf, ctypes.c_void_p) if kind == COL_STRING \
                else buf.ctypes.data
            check(lib.anoma_frame_add_column(handle, name.encode("utf-8"), kind, address))
        self.rows = rows

    def __del__(self, _free=lib.anoma_frame_free):
        if getattr(self, "handle", None):
            _free(self.handle)
            self.handle = None


def columns_of(X):
    """[(name, 1-D values)] of a DataFrame (its column names) or of a 2-D
    array (x0, x1, ...)."""
    if is_frame(X):
        return [(str(name), X.iloc[:, j]) for j, name in enumerate(X.columns)]
    a = np.asarray(X)
    if a.ndim != 2:
        raise ValueError("X must be 2-D (n_samples, n_features); got shape %s" % (a.shape,))
    return [("x%d" % j, a[:, j]) for j in range(a.shape[1])]


def column_buffer(values):
    """(column type, buffer) for one column: float64 numbers, int64 seconds
    for datetimes, an array of UTF-8 char pointers (NULL = missing) for text."""
    dtype = getattr(values, "dtype", None)
    a = np.asarray(values)
    if dtype is not None and str(dtype) == "category":
        a = np.asarray(values.astype(object))
    if a.dtype.kind in "biuf":
        return COL_DOUBLE, np.ascontiguousarray(a, dtype=np.float64)
    if a.dtype.kind == "M":
        seconds = a.astype("datetime64[s]").astype(np.int64)
        return COL_TIMESTAMP, np.ascontiguousarray(seconds)
    texts = []
    for v in a.tolist():
        if v is None or (isinstance(v, float) and v != v):
            texts.append(None)
        else:
            texts.append(str(v).encode("utf-8"))
    return COL_STRING, (ctypes.c_char_p * len(texts))(*texts)


class Inputs:
    """A fitted model's input columns: names and types (data.h), to lay out
    typed rows for the single-row calls."""

    def __init__(self, handle, n):
        self.names = [text(lib.anoma_model_input_name(handle, j)) for j in range(n)]
        kinds = []
        for j in range(n):
            kind = ctypes.c_int()
            check(lib.anoma_model_input_type(handle, j, ctypes.byref(kind)))
            kinds.append(kind.value)
        self.kinds = kinds
        self.typed = any(k in (COL_STRING, COL_TIMESTAMP) for k in kinds)

    def columns(self, rows, who):
        """Per input, its column of `rows` (a DataFrame by the input names, a
        2-D array or a list of rows in input order) as (type, buffer)."""
        if is_frame(rows):
            missing = [n for n in self.names if n not in rows.columns]
            if missing:
                raise ValueError("%s: the data has no column %r, which the model was "
                                 "fitted on" % (who, missing[0]))
            columns = [rows[n] for n in self.names]
        else:
            a = np.asarray(rows, dtype=object if self.typed else np.float64)
            if a.ndim != 2 or a.shape[1] != len(self.names):
                raise ValueError("%s: rows must be 2-D with %d columns; got shape %s"
                                 % (who, len(self.names), a.shape))
            columns = [a[:, j] for j in range(len(self.names))]
        out = []
        for j, values in enumerate(columns):
            if self.kinds[j] == COL_TIMESTAMP:
                values = np.asarray(values, dtype="datetime64[s]")
            elif self.kinds[j] == COL_STRING:
                values = np.asarray(values, dtype=object)
            else:
                values = np.asarray(values, dtype=np.float64)
            out.append(column_buffer(values))
        return out

    def row(self, row):
        """One row (a sequence in input order, or a mapping or pandas Series
        by input name) as a list in input order."""
        if hasattr(row, "keys") and hasattr(row, "__getitem__"):
            return [row[n] for n in self.names]
        return list(row)


def cells(columns, n):
    """rows x inputs 8-byte cells (anoma_value), and what keeps the text
    they point to alive."""
    out = np.empty((n, len(columns)), dtype=np.uint64)
    keep = []
    for j, (kind, buf) in enumerate(columns):
        if kind == COL_STRING:
            out[:, j] = np.ctypeslib.as_array(ctypes.cast(buf, ctypes.POINTER(
                ctypes.c_uint64)), shape=(n,)) if n else []
            keep.append(buf)
        else:
            out[:, j] = np.ascontiguousarray(buf).view(np.uint64)
    return out, keep
