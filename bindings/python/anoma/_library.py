"""Find and load libanoma, and declare the C signatures the bindings use.

Search order: the ANOMA_LIBRARY environment variable, a libanoma.so* next to
the package (in its folder or the folder above), the library `meson install`
put beside it (_install.LIBDIR, relative to the package), then the system
(ctypes.util.find_library("anoma"), then "libanoma.so.0"). An installed
package passes over a library whose version differs from its own
(_version.VERSION, written by meson); if none fits, the import fails naming
both versions. From the source tree (no version of its own) the first
library found is used.
"""
import ctypes
import ctypes.util
import glob
import os

from ctypes import (POINTER, Structure, c_char_p, c_double, c_int, c_size_t,
                    c_uint32, c_void_p)

from ._version import VERSION

# Enums of data.h and params.h (all C `int`); status codes are read from the
# library itself (STATUS, below).
ANOMA_F64, ANOMA_F32 = 0, 1
KIND_MODEL, KIND_DETECTOR, KIND_STEP = 0, 1, 2


class Matrix(Structure):
    """anoma_matrix of data.h (frozen layout)."""
    _fields_ = [("data", c_void_p), ("rows", c_size_t), ("cols", c_size_t),
                ("row_stride", c_size_t), ("dtype", c_int)]


class ParamInfo(Structure):
    """anoma_param_info of params.h (frozen layout)."""
    _fields_ = [("key", c_char_p), ("type", c_int), ("min", c_double),
                ("max", c_double), ("default_value", c_char_p),
                ("choices", c_char_p), ("doc", c_char_p)]


class Confusion(Structure):
    """anoma_confusion of metrics.h (frozen layout)."""
    _fields_ = [("tp", c_size_t), ("fp", c_size_t), ("tn", c_size_t),
                ("fn", c_size_t), ("precision", c_double), ("recall", c_double),
                ("f1", c_double), ("accuracy", c_double)]


_st = c_int          # anoma_status
_p = c_void_p        # opaque handles and array pointers (numpy .ctypes.data)
_size_p = POINTER(c_size_t)
_mat_p = POINTER(Matrix)

# name: (restype, argtypes)
_SIGNATURES = {
    "anoma_status_str": (c_char_p, [c_int]),
    "anoma_status_text": (c_char_p, [c_int]),
    "anoma_last_error": (c_char_p, []),
    "anoma_clear_error": (None, []),
    "anoma_version": (c_char_p, []),
    "anoma_version_number": (c_int, []),
    "anoma_component_name": (c_char_p, [c_int, c_size_t]),
    "anoma_component_summary": (c_char_p, [c_int, c_char_p]),
    "anoma_component_param": (_st, [c_int, c_char_p, c_size_t, POINTER(ParamInfo)]),
    "anoma_model_create": (_st, [c_char_p, POINTER(_p)]),
    "anoma_model_free": (None, [_p]),
    "anoma_model_add_detector": (_st, [_p, c_char_p, c_char_p, _size_p]),
    "anoma_model_import_detector": (_st, [_p, c_char_p, c_char_p, c_char_p, c_size_t, c_size_t]),
    "anoma_model_import_xgboost": (_st, [_p, c_char_p, c_size_t]),
    "anoma_model_set_param": (_st, [_p, c_char_p, c_char_p]),
    "anoma_model_set_detector_param": (_st, [_p, c_size_t, c_char_p, c_char_p]),
    "anoma_model_fit": (_st, [_p, _mat_p, _p, _p]),
    "anoma_model_score": (_st, [_p, _mat_p, _p]),
    "anoma_model_score_detector": (_st, [_p, c_size_t, _mat_p, _p]),
    "anoma_model_feature_scores": (_st, [_p, c_size_t, _mat_p, _p]),
    "anoma_model_feature_scores_base": (_st, [_p, c_size_t, POINTER(c_double)]),
    "anoma_model_feature_importance": (_st, [_p, c_size_t, c_char_p, _p]),
    "anoma_model_set_eval_set": (_st, [_p, _mat_p, _p, _p]),
    "anoma_model_add_eval_set": (_st, [_p, _mat_p, _p, _p]),
    "anoma_model_add_eval_set_frame": (_st, [_p, _p, _p, _p]),
    "anoma_model_eval_history": (_st, [_p, c_size_t, c_size_t, c_char_p, _p, c_size_t, _size_p]),
    "anoma_model_training_scores": (_st, [_p, c_size_t, _p, c_size_t, _size_p]),
    "anoma_model_predict": (_st, [_p, _mat_p, _p]),
    "anoma_model_threshold": (_st, [_p, POINTER(c_double)]),
    "anoma_model_set_threshold_from_labels": (_st, [_p, _mat_p, _p, c_char_p]),
    "anoma_model_is_fitted": (c_int, [_p]),
    "anoma_model_n_features": (c_size_t, [_p]),
    "anoma_model_n_detectors": (c_size_t, [_p]),
    "anoma_model_detector_name": (c_char_p, [_p, c_size_t]),
    "anoma_model_set_feature_names": (_st, [_p, POINTER(c_char_p), c_size_t]),
    "anoma_model_feature_name": (c_char_p, [_p, c_size_t]),
    "anoma_model_memory_bytes": (c_size_t, [_p]),
    "anoma_model_describe": (_st, [_p, c_char_p, c_size_t, _size_p]),
    "anoma_model_save": (_st, [_p, c_char_p]),
    "anoma_model_save_memory": (_st, [_p, _p, c_size_t, _size_p]),
    "anoma_model_detector_payload": (_st, [_p, c_size_t, _p, c_size_t, _size_p]),
    "anoma_model_merge": (_st, [POINTER(_p), c_size_t, c_char_p, POINTER(_p)]),
    "anoma_model_detector_payload_version": (_st, [_p, c_size_t, POINTER(c_uint32)]),
    "anoma_model_load": (_st, [c_char_p, POINTER(_p)]),
    "anoma_model_load_memory": (_st, [c_char_p, c_size_t, POINTER(_p)]),
    "anoma_row_scorer_create": (_st, [_p, POINTER(_p)]),
    "anoma_row_scorer_free": (None, [_p]),
    "anoma_row_scorer_score": (_st, [_p, _p, c_size_t, POINTER(c_double), POINTER(c_int)]),
    "anoma_row_scorer_feature_scores": (_st, [_p, c_size_t, _p, c_size_t, _p]),
    "anoma_roc_auc": (_st, [_p, _p, c_size_t, POINTER(c_double)]),
    "anoma_average_precision": (_st, [_p, _p, c_size_t, POINTER(c_double)]),
    "anoma_confusion_at": (_st, [_p, _p, c_size_t, c_double, POINTER(Confusion)]),
    "anoma_best_f1": (_st, [_p, _p, c_size_t, POINTER(c_double), POINTER(c_double)]),
    "anoma_curve_points": (_st, [_p, _p, c_size_t, c_double, _p, c_size_t, POINTER(c_size_t)]),
}


def _candidates():
    """(description, path) pairs in search order."""
    env = os.environ.get("ANOMA_LIBRARY")
    if env:
        yield "ANOMA_LIBRARY", env
    here = os.path.dirname(os.path.abspath(__file__))
    for folder in (here, os.path.dirname(here)):
        for path in sorted(glob.glob(os.path.join(folder, "libanoma.so*"))):
            yield "next to the package", path
    try:  # present only in an installed package
        from ._install import LIBDIR
        yield "the install's libdir", os.path.normpath(os.path.join(here, LIBDIR, "libanoma.so.0"))
    except ImportError:
        pass
    found = ctypes.util.find_library("anoma")
    if found:
        yield "ctypes.util.find_library('anoma')", found
    yield "the system loader", "libanoma.so.0"


def _load():
    tried = []
    for where, path in _candidates():
        try:
            lib = ctypes.CDLL(path)
        except OSError as e:
            tried.append("  %s: %s (%s)" % (where, path, e))
            if where == "ANOMA_LIBRARY":  # an explicit choice: do not fall back
                break
            continue
        missing = [name for name in _SIGNATURES if not hasattr(lib, name)]
        if missing:
            tried.append("  %s: %s lacks %s" % (where, path, ", ".join(missing)))
            if where == "ANOMA_LIBRARY":
                break
            continue
        lib.anoma_version.restype = c_char_p
        version = (lib.anoma_version() or b"").decode("ascii", "replace")
        if VERSION is not None and version != VERSION:
            tried.append("  %s: %s is libanoma %s, but this anoma package is %s"
                         % (where, path, version, VERSION))
            if where == "ANOMA_LIBRARY":
                break
            continue
        return lib, path
    if not any(line.startswith("  ANOMA_LIBRARY") for line in tried):
        tried.insert(0, "  ANOMA_LIBRARY: not set")
    version = "" if VERSION is None else " " + VERSION
    raise ImportError("cannot load libanoma%s; looked in:\n%s\nSet ANOMA_LIBRARY to the path "
                      "of libanoma.so%s." % (version, "\n".join(tried), version))


lib, path = _load()
for _name, (_res, _args) in _SIGNATURES.items():
    _f = getattr(lib, _name)
    _f.restype = _res
    _f.argtypes = _args


def text(b):
    """A C string as str ("" for NULL)."""
    return b.decode("utf-8", "replace") if b else ""


def _status_codes():
    """{name: code} of every status the library names (anoma_status_str),
    such as {"ANOMA_OK": 0, "ANOMA_ERR_SHAPE": -2, ...}."""
    unknown = lib.anoma_status_str(1)  # no status is positive
    codes = {}
    for code in range(0, -1000, -1):
        name = lib.anoma_status_str(code)
        if name != unknown:
            codes[text(name)] = code
    return codes


STATUS = _status_codes()
ANOMA_OK = STATUS["ANOMA_OK"]
ANOMA_ERR_BUFFER_TOO_SMALL = STATUS["ANOMA_ERR_BUFFER_TOO_SMALL"]
