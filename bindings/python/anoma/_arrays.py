"""numpy arrays to the C views and buffers of data.h."""
import sys

import numpy as np

from ._library import ANOMA_F32, ANOMA_F64, Matrix

_DTYPES = {np.dtype(np.float64): ANOMA_F64, np.dtype(np.float32): ANOMA_F32}


def _viewable(a):
    """True when libanoma can read the 2-D array a in place."""
    if a.dtype not in _DTYPES or not a.flags.aligned:
        return False
    rows, cols = a.shape
    size = a.itemsize
    if cols > 1 and a.strides[1] != size:
        return False
    if rows > 1:
        step = a.strides[0]
        return step > 0 and step % size == 0 and step // size >= cols
    return True


def dense_array(X):
    """np.asarray(X), refused with scikit-learn's messages when X is sparse
    (TypeError) or complex (ValueError)."""
    sparse = sys.modules.get("scipy.sparse")  # a sparse X means scipy is loaded
    if sparse is not None and sparse.issparse(X):
        raise TypeError("A sparse matrix was passed, but dense data is required. Use "
                        "X.toarray() to convert to a dense numpy array.")
    a = np.asarray(X)
    if a.dtype.kind == "c" or (a.dtype.kind == "O" and any(isinstance(v, complex)
                                                            for v in a.flat)):
        raise ValueError("Complex data not supported\n{}\n".format(a))
    return a


def as_matrix(X, name="X"):
    """An anoma_matrix viewing X (2-D), without copying when possible.

    float64 and float32 arrays with contiguous columns and a positive row
    stride are viewed in place; anything else is copied (float32 stays float32,
    other types become float64). Sparse and complex input raise (TypeError,
    ValueError), as in scikit-learn. The returned struct keeps the array alive in
    its ``array`` attribute: hold the struct for the duration of the call.
    """
    a = dense_array(X)
    if a.ndim != 2:
        raise ValueError("%s must be a 2-D array of shape (n_samples, n_features); got %d-D "
                         "with shape %s (use X.reshape(-1, 1) for one feature or "
                         "X.reshape(1, -1) for one sample)" % (name, a.ndim, a.shape))
    if not _viewable(a):
        dtype = a.dtype if a.dtype in _DTYPES else np.float64
        a = np.ascontiguousarray(a, dtype=dtype)
    rows, cols = a.shape
    stride = a.strides[0] // a.itemsize if rows > 1 else cols
    m = Matrix(a.ctypes.data, rows, cols, stride, _DTYPES[a.dtype])
    m.array = a
    return m


def as_row(row):
    """One row of values as a contiguous float64 1-D array."""
    a = np.ascontiguousarray(dense_array(row), dtype=np.float64)
    if a.ndim != 1:
        raise ValueError("row must be 1-D; got shape %s" % (a.shape,))
    return a


def as_vector(v, dtype, name, n=None):
    """v as a contiguous 1-D array of dtype (length n when given)."""
    a = dense_array(v)
    if a.ndim != 1:
        raise ValueError("%s must be 1-D; got shape %s" % (name, a.shape))
    if n is not None and a.shape[0] != n:
        raise ValueError("%s has %d values; expected %d" % (name, a.shape[0], n))
    return np.ascontiguousarray(a, dtype=dtype)


def as_labels(y, name="y_true", n=None):
    """0/1 labels as a C int array; values that are not integers raise ValueError."""
    a = dense_array(y)
    if a.ndim != 1:
        raise ValueError("%s must be 1-D; got shape %s" % (name, a.shape))
    if n is not None and a.shape[0] != n:
        raise ValueError("%s has %d values; expected %d" % (name, a.shape[0], n))
    if a.dtype.kind not in "biu":
        with np.errstate(invalid="ignore"):
            f = a.astype(np.float64)
        if not np.all(np.isfinite(f)) or np.any(f != np.round(f)):
            raise ValueError("%s must hold labels 0 and 1" % name)
        a = f
    if a.size and (a.min() < np.iinfo(np.intc).min or a.max() > np.iinfo(np.intc).max):
        raise ValueError("%s must hold labels 0 and 1" % name)
    return np.ascontiguousarray(a, dtype=np.intc)
