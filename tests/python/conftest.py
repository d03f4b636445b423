"""Shared helpers of the Python binding tests.

The bindings are found through PYTHONPATH (set by meson) or, when pytest is
run by hand, from bindings/python of this tree. The library is found as the
bindings find it (ANOMA_LIBRARY first). Data come from ANOMA_SHARED_DATA, or
../shared/data next to the tree; tests that need them skip when absent.
"""
import functools
import os
import sys

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BINDINGS = os.path.join(ROOT, "bindings", "python")
if BINDINGS not in sys.path:
    sys.path.append(BINDINGS)

DATA_DIR = os.environ.get("ANOMA_SHARED_DATA") or os.path.join(ROOT, "..", "shared", "data")


def import_anoma():
    """The anoma package, or skip the calling test module."""
    try:
        import anoma
    except ImportError as e:
        pytest.skip("libanoma bindings not loadable: %s" % e, allow_module_level=True)
    return anoma


def _csv_names():
    """The all-numeric shared CSVs; sets with text columns (nslkdd) need a
    pipeline and are named by the tests that use them."""
    if not os.path.isdir(DATA_DIR):
        return []
    return sorted(f for f in os.listdir(DATA_DIR) if f.endswith(".csv") and _all_numeric(f))


def _all_numeric(name):
    with open(os.path.join(DATA_DIR, name)) as f:
        f.readline()
        first = f.readline().strip().split(",")
    try:
        [float(v) for v in first]
    except ValueError:
        return False
    return True


def _header(name):
    with open(os.path.join(DATA_DIR, name)) as f:
        return f.readline().strip().split(",")


@functools.lru_cache(maxsize=None)
def load_csv(name):
    """(X, y) of a shared CSV: label = last column, a leading timestamp dropped.
    Skips the calling test when the shared data are absent."""
    path = os.path.join(DATA_DIR, name)
    if not os.path.isfile(path):
        pytest.skip("shared dataset %s not found (ANOMA_SHARED_DATA or ../shared/data)" % name)
    data = np.loadtxt(path, delimiter=",", skiprows=1, ndmin=2)
    start = 1 if _header(name)[0] == "timestamp" else 0
    X = np.ascontiguousarray(data[:, start:-1])
    y = data[:, -1].astype(int)
    X.flags.writeable = False
    y.flags.writeable = False
    return X, y


def dataset_names(tabular_only=False):
    """Names of the shared CSVs ([] when the folder is absent)."""
    names = _csv_names()
    if tabular_only:
        names = [n for n in names if _header(n)[0] != "timestamp"]
    return names


def dataset_params(tabular_only=False):
    """pytest parameters over the shared CSVs (one skipped one when absent)."""
    names = dataset_names(tabular_only)
    if not names:
        return [pytest.param(None, marks=pytest.mark.skip(
            reason="no shared data in %s (set ANOMA_SHARED_DATA)" % DATA_DIR))]
    return names
