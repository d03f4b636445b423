"""The components libanoma offers, the parameters each accepts and what each
can do."""
import ctypes
import enum

from ._library import KIND_DETECTOR, KIND_MODEL, KIND_STEP, STATUS, ParamInfo, lib, text
from .errors import check

__all__ = ["list_components", "list_detectors", "summary", "describe", "ComponentFlag",
           "component_flags"]

lib.anoma_component_flags.restype = ctypes.c_int
lib.anoma_component_flags.argtypes = [ctypes.c_int, ctypes.c_char_p,
                                      ctypes.POINTER(ctypes.c_uint)]

_KINDS = {"model": KIND_MODEL, "detector": KIND_DETECTOR, "step": KIND_STEP}
_TYPES = ("int", "double", "bool", "choice", "text")


def _kind(kind):
    try:
        return _KINDS[kind] if isinstance(kind, str) else int(kind)
    except KeyError:
        raise ValueError("kind must be one of %s; got %r" % (sorted(_KINDS), kind)) from None


def list_components(kind):
    """Names of the components of a kind ("model", "detector" or "step")."""
    k, names = _kind(kind), []
    while True:
        name = lib.anoma_component_name(k, len(names))
        if name is None:
            return names
        names.append(text(name))


def list_detectors():
    """Names of the detectors, such as "zscore"."""
    return list_components("detector")


def summary(kind, name):
    """One-line summary of a component, or None if unknown."""
    s = lib.anoma_component_summary(_kind(kind), name.encode())
    return text(s) if s is not None else None


def describe(kind, name):
    """The parameters of a component, as a list of dicts with keys
    key, type, min, max, default, choices (a list) and doc."""
    k, out, info = _kind(kind), [], ParamInfo()
    while True:
        status = lib.anoma_component_param(k, name.encode(), len(out), ctypes.byref(info))
        if status == STATUS["ANOMA_ERR_INVALID_ARGUMENT"]:  # past the last parameter
            return out
        check(status)
        choices = text(info.choices)
        out.append({"key": text(info.key),
                    "type": _TYPES[info.type] if 0 <= info.type < len(_TYPES) else info.type,
                    "min": info.min, "max": info.max,
                    "default": text(info.default_value),
                    "choices": choices.split("|") if choices else [],
                    "doc": text(info.doc)})


class ComponentFlag(enum.IntFlag):
    """What a component can do: the bits of ``anoma_component_flag``
    (params.h; tests/python/test_bindings.py checks the values against it)."""
    SUPERVISED = 1 << 0       # learns from labels; its score is a probability
    FEATURE_SCORES = 1 << 1   # explains a score feature by feature
    STATEFUL = 1 << 2         # per-entity state: scores through a stream
    NEEDS_LABELS = 1 << 3     # fitting without labels is an error
    SAMPLE_WEIGHTS = 1 << 4   # uses sample weights in fitting (else they are refused)
    COMPLETE_ROWS = 1 << 5    # refuses missing values (NaN): impute first


def component_flags(kind, name):
    """What component ``name`` of ``kind`` ("detector", "step" or "model") can
    do, as a ComponentFlag (``ComponentFlag(0)`` when nothing), such as
    ``ComponentFlag.FEATURE_SCORES in component_flags("detector", "zscore")``.
    An unknown name raises UnknownNameError."""
    if not isinstance(name, str):
        raise TypeError("component name must be str; got %r" % (name,))
    if "\0" in name:
        raise ValueError("component name %r contains a NUL character" % (name,))
    flags = ctypes.c_uint()
    check(lib.anoma_component_flags(_kind(kind), name.encode("utf-8"), ctypes.byref(flags)))
    return ComponentFlag(flags.value)
