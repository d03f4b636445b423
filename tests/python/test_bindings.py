"""The binding machinery: loading, versions, errors, schemas, array views, Model."""
import os
import pickle
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest

from conftest import BINDINGS, ROOT, import_anoma

anoma = import_anoma()
from anoma import _arrays, _library  # noqa: E402


def run_python(code, env_changes, cwd=None):
    env = dict(os.environ)
    for key, value in env_changes.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return subprocess.run([sys.executable, "-c", code], env=env, cwd=cwd,
                          capture_output=True, text=True, timeout=60)


def _meson_version():
    with open(os.path.join(ROOT, "meson.build")) as f:
        return re.search(r"version\s*:\s*'([^']+)'", f.read()).group(1)


def test_version():
    assert re.fullmatch(r"\d+\.\d+\.\d+", anoma.__version__)
    assert anoma.__version__ == _meson_version()  # the project's version, from meson.build
    major, minor, patch = map(int, anoma.__version__.split("."))
    assert _library.lib.anoma_version_number() == major * 10000 + minor * 100 + patch


def test_source_tree_package_takes_the_library_version():
    """No version is typed into the package: from the source tree it has none
    of its own (meson writes one into an installed package, see
    test_install.py), so a version bump in meson.build cannot leave it behind."""
    from anoma import _version
    assert _version.VERSION is None
    assert anoma.__version__ == _library.text(_library.lib.anoma_version())


def test_version_mismatch_is_an_import_error(tmp_path):
    """A package made for another libanoma version refuses the library."""
    shutil.copytree(os.path.join(BINDINGS, "anoma"), tmp_path / "anoma",
                    ignore=shutil.ignore_patterns("__pycache__", "libanoma.so*"))
    # as meson writes it into an installed package
    (tmp_path / "anoma" / "_install.py").write_text('LIBDIR = "../../lib"\nVERSION = "9.8.7"\n')
    r = run_python("import anoma", {"ANOMA_LIBRARY": _library.path,
                                    "PYTHONPATH": str(tmp_path)}, cwd=str(tmp_path))
    assert r.returncode != 0
    assert "ImportError: cannot load libanoma 9.8.7" in r.stderr, r.stderr
    assert "is libanoma %s, but this anoma package is 9.8.7" % _meson_version() in r.stderr


def test_library_from_environment():
    r = run_python("import anoma._library as l; print(l.path)",
                   {"ANOMA_LIBRARY": _library.path, "PYTHONPATH": BINDINGS})
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == _library.path

    missing = "/nonexistent/libanoma.so"
    r = run_python("import anoma", {"ANOMA_LIBRARY": missing, "PYTHONPATH": BINDINGS})
    assert r.returncode != 0
    assert "ImportError" in r.stderr and missing in r.stderr and "ANOMA_LIBRARY" in r.stderr


def test_imports_only_numpy():
    r = run_python("import sys, anoma; print(sorted({m.split('.')[0] for m in sys.modules}))",
                   {"PYTHONPATH": BINDINGS})
    assert r.returncode == 0, r.stderr
    loaded = set(eval(r.stdout))
    for name in ("sklearn", "scipy", "pandas", "torch", "xgboost"):
        assert name not in loaded


def test_library_next_to_package(tmp_path):
    shutil.copytree(os.path.join(BINDINGS, "anoma"), tmp_path / "anoma",
                    ignore=shutil.ignore_patterns("__pycache__", "libanoma.so*"))
    shutil.copy(os.path.realpath(_library.path), tmp_path / "anoma" / "libanoma.so.0")
    r = run_python("import anoma._library as l; print(l.path)",
                   {"ANOMA_LIBRARY": None, "PYTHONPATH": str(tmp_path)}, cwd=str(tmp_path))
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == str(tmp_path / "anoma" / "libanoma.so.0")


def _header_statuses():
    """{name: code} of the anoma_status enum, read from the public header."""
    with open(os.path.join(ROOT, "include", "anoma", "common.h")) as f:
        text = f.read()
    enum = text[text.index("typedef enum anoma_status"):]
    enum = enum[:enum.index("} anoma_status;")]
    return {name: int(code) for name, code in re.findall(r"(ANOMA_\w+) = (-?\d+)", enum)}


def test_status_codes_come_from_the_library():
    assert _library.STATUS == _header_statuses()


def test_error_mapping():
    expected = {-1: anoma.InvalidArgumentError, -2: anoma.ShapeError, -3: anoma.NonFiniteError,
                -4: anoma.EmptyInputError, -5: anoma.UnknownParameterError,
                -6: anoma.ParameterValueError, -7: anoma.NotFittedError,
                -12: anoma.UnknownNameError, -9: anoma.AnomaError, -10: anoma.AnomaError}
    for status, cls in expected.items():
        e = anoma.errors.error_for(status, "detail")
        assert isinstance(e, cls) and e.status == status and e.message == "detail"
        assert e.name.startswith("ANOMA_ERR_")
        if status in (-1, -2, -3, -4, -5, -6, -7, -12):
            assert isinstance(e, ValueError)
    assert isinstance(anoma.errors.error_for(-7), AttributeError)
    assert anoma.errors.error_for(-2).name == "ANOMA_ERR_SHAPE"
    assert anoma.errors.error_for(-10).name == "ANOMA_ERR_FORMAT"
    anoma.errors.check(0)


def test_error_from_the_library():
    with pytest.raises(anoma.ParameterValueError) as info:
        anoma.Model("contamination=2")
    e = info.value
    assert e.status == -6 and e.name == "ANOMA_ERR_PARAM_VALUE"
    assert "contamination" in e.message and "contamination" in str(e)
    with pytest.raises(anoma.NotFittedError) as info:
        anoma.Model().threshold
    assert isinstance(info.value, (ValueError, AttributeError))
    assert info.value.name == "ANOMA_ERR_NOT_FITTED"


def test_list_and_describe():
    names = anoma.list_detectors()
    assert {"zscore", "mad", "iqr"} <= set(names)
    assert anoma.list_components("model") == ["model"]
    model = {p["key"]: p for p in anoma.describe("model", "model")}
    assert model["contamination"]["type"] == "double"
    assert model["contamination"]["default"] == "0.1"
    zscore = {p["key"]: p for p in anoma.describe("detector", "zscore")}
    assert zscore["combine"]["type"] == "choice"
    assert zscore["combine"]["choices"] == ["max", "mean", "l2"]
    for p in zscore.values():
        assert p["doc"] and p["type"] in ("int", "double", "bool", "choice", "text")
    with pytest.raises(anoma.UnknownNameError):
        anoma.describe("detector", "nosuch")
    with pytest.raises(ValueError):
        anoma.describe("widget", "zscore")


@pytest.mark.parametrize("cls", [anoma.ZScore, anoma.MAD, anoma.IQR])
def test_estimator_parameters_follow_the_schema(cls):
    """Every estimator argument is a C parameter, with the C default, except
    n_jobs: scikit-learn's name and default (None = 1 thread) for the model's
    run-time n_threads (test_runtime_options.py), and contamination: "auto",
    the default for a model of one detector (docs/model.md, "Default
    contamination"), where the model's own default, 0.1, is an ensemble's."""
    schema = {p["key"]: p for p in anoma.describe("detector", cls._detector)}
    model_keys = ("contamination",)
    schema.update({p["key"]: p for p in anoma.describe("model", "model")
                   if p["key"] in model_keys})
    params = cls().get_params()
    assert params.pop("n_jobs") is None
    assert params.pop("contamination") == "auto" and schema["contamination"]["default"] == "0.1"
    assert set(params) - set(model_keys) == {k for k in schema if k not in model_keys}
    for key, value in params.items():
        assert anoma.model.format_params({key: value}) == "%s=%s" % (key, schema[key]["default"])


def test_zero_copy_views():
    X = np.arange(60, dtype=np.float64).reshape(10, 6)
    for view in (X, X[::2], X[:, 1:4], X[2:5, :], X.astype(np.float32)[:, 2:]):
        m = _arrays.as_matrix(view)
        assert m.array is view or np.shares_memory(m.array, view)
        assert m.data == view.ctypes.data
    for copied in (np.asfortranarray(X), X[:, ::2], X[::-1], X.astype(np.int32)):
        m = _arrays.as_matrix(copied)
        assert m.array.flags.c_contiguous and m.row_stride == m.cols
    m = _arrays.as_matrix(X[:, 1:4])
    assert (m.rows, m.cols, m.row_stride, m.dtype) == (10, 3, 6, 0)
    assert _arrays.as_matrix(X.astype(np.float32)).dtype == 1
    with pytest.raises(ValueError, match="2-D"):
        _arrays.as_matrix(X[0])


def test_model_api(tmp_path):
    rng = np.random.default_rng(5)
    X = rng.standard_normal((400, 3))
    m = anoma.Model.create({"contamination": 0.05}, ["zscore", ("mad", {"combine": "mean"})])
    assert m.detectors == ["zscore", "mad"] and not m.is_fitted and m.n_features == 0
    assert m.fit(X) is m and m.is_fitted and m.n_features == 3
    s = m.score(X)
    assert s.shape == (400,) and s.dtype == np.float64
    assert m.threshold == pytest.approx(np.percentile(s, 95), rel=1e-15, abs=0)
    assert m.predict(X).tolist() == (s > m.threshold).astype(int).tolist()
    assert m.feature_scores(X, detector=1).shape == (400, 3)
    np.testing.assert_allclose(m.detector_scores(X, 0),
                               np.max(np.abs(X - X.mean(0)) / X.std(0), axis=1), rtol=1e-12)
    assert m.memory_bytes > 0
    text = m.describe()
    assert "zscore" in text and "mad" in text and "fitted" in text
    m.threshold = 1.5
    assert m.threshold == 1.5
    assert m.predict(X).tolist() == (s > 1.5).astype(int).tolist()
    with pytest.raises(anoma.AnomaError):
        m.add_detector("iqr")  # a fitted model is immutable
    with pytest.raises(anoma.EmptyInputError):
        anoma.Model("", []).fit(X)  # no detector
    assert "fitted" in repr(m)

    # a threshold set after fitting is part of the saved model
    again = anoma.Model.from_bytes(m.to_bytes())
    assert again.threshold == 1.5
    assert pickle.loads(pickle.dumps(m)).threshold == 1.5


def test_labels_and_weights_no_detector_uses_are_refused():
    """Model.fit(X, y, sample_weight) used to ignore both silently."""
    X = np.random.default_rng(2).standard_normal((50, 2))
    y = np.zeros(50, dtype=int)
    for kwargs, word in (({"y": y}, "labels"), ({"sample_weight": np.ones(50)}, "weights")):
        m = anoma.Model.create({}, ["zscore", "iforest"])
        with pytest.raises(anoma.InvalidArgumentError, match=word + r".*zscore, iforest"):
            m.fit(X, **kwargs)
        assert not m.is_fitted
        assert m.fit(X).is_fitted


def test_contamination_and_threshold_are_one_choice():
    """A threshold used to override a contamination silently."""
    with pytest.raises(anoma.ParameterValueError, match="contamination=0.05.*threshold=2"):
        anoma.Model.create({"contamination": 0.05, "threshold": 2}, ["zscore"])
    m = anoma.Model.create({"contamination": 0.05}, ["zscore"])
    with pytest.raises(anoma.ParameterValueError):
        m.set_param("threshold", 2)
    X = np.random.default_rng(3).standard_normal((60, 2))
    m.fit(X)
    m.threshold = 2.0  # replacing a fitted threshold is allowed
    assert m.threshold == 2.0 and "contamination=0.1 threshold=2" in m.describe()


def test_threads_score_alike():
    from concurrent.futures import ThreadPoolExecutor
    X = np.random.default_rng(6).standard_normal((5000, 8))
    m = anoma.Model().fit(X)
    expected = m.score(X)
    with ThreadPoolExecutor(4) as pool:
        for s in pool.map(lambda _: m.score(X), range(16)):
            np.testing.assert_array_equal(s, expected)


def test_sklearn_pipeline():
    pipeline = pytest.importorskip("sklearn.pipeline")
    preprocessing = pytest.importorskip("sklearn.preprocessing")
    X = np.random.default_rng(7).standard_normal((300, 4)) * [1, 10, 100, 1000]
    p = pipeline.make_pipeline(preprocessing.StandardScaler(), anoma.ZScore())
    p.fit(X)
    direct = anoma.ZScore().fit(X)
    np.testing.assert_allclose(p.score_samples(X), direct.score_samples(X), rtol=1e-9)
    assert p.predict(X).tolist() == np.where(p.decision_function(X) < 0, -1, 1).tolist()


def test_describe_longer_than_the_first_buffer():
    """Model.describe reads a long description whole: one call fills a
    first buffer, a second sized by the library's `needed` takes the rest."""
    import ctypes
    X = np.random.default_rng(0).normal(size=(50, 3))
    model = anoma.Model("", [("zscore", "combine=max")] * 40).fit(X)
    needed = ctypes.c_size_t()
    _library.lib.anoma_model_describe(model._handle, None, 0, ctypes.byref(needed))
    text = model.describe()
    assert needed.value > 4096
    assert len(text) == needed.value
    assert text.endswith("\n") and text.count("detector 39: zscore") == 1
    short = anoma.Model().fit(X).describe()
    assert short.startswith("model: fitted\n") and short.endswith("\n")
