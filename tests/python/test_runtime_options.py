"""What the C API offers beside models, from Python: thread counts set on a
fitted model (Model.n_threads, the estimators' n_jobs), the library's worker
threads stopped (anoma.shutdown) and component capability flags
(anoma.component_flags), checked against the header, the operating system's
thread list and the library's behaviour."""
import os
import pickle
import re

import numpy as np
import pytest

from conftest import ROOT, import_anoma

anoma = import_anoma()

ESTIMATORS = [anoma.ZScore, anoma.MAD, anoma.IQR, anoma.IsolationForest]


def data(rows=2000, cols=5, seed=3):
    return np.random.default_rng(seed).standard_normal((rows, cols))


def make(cls, **params):
    if cls is anoma.IsolationForest:
        params.setdefault("random_state", 0)
        params.setdefault("n_estimators", 20)
    return cls(**params)


def os_threads():
    """Threads of this process, as the kernel lists them."""
    return len(os.listdir("/proc/self/task"))


# ---- Model.n_threads -----------------------------------------------------------

def test_model_n_threads_is_a_run_time_option(tmp_path):
    X = data()
    model = anoma.Model("", [("zscore", "")])
    assert model.n_threads == 0  # the model parameter's default: one per core
    model.n_threads = 1
    model.fit(X)
    assert model.n_threads == 1
    one = model.score(X)
    model.n_threads = 4  # on a fitted model
    assert model.n_threads == 4
    assert np.array_equal(model.score(X), one)
    path = tmp_path / "m.anoma"
    model.save(str(path))
    loaded = anoma.Model.load(str(path))
    assert loaded.n_threads == 0  # never saved
    assert loaded.to_bytes() == model.to_bytes()
    assert pickle.loads(pickle.dumps(model)).n_threads == 0


def test_model_n_threads_refuses_bad_counts():
    model = anoma.Model("", [("zscore", "")])
    with pytest.raises(ValueError, match="n_threads=-1"):
        model.n_threads = -1  # would wrap to a huge size_t in C
    with pytest.raises(TypeError, match="n_threads must be an int"):
        model.n_threads = 2.5
    with pytest.raises(anoma.ParameterValueError, match="n_threads"):
        model.n_threads = 5000  # above the library's 1024
    assert model.n_threads == 0  # unchanged


# ---- n_jobs on every estimator ---------------------------------------------------

@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda c: c.__name__)
def test_n_jobs_maps_to_the_model_threads(cls):
    X = data(500, 4)
    for n_jobs, threads in ((None, 1), (1, 1), (3, 3), (-1, 0),
                            (-2, max(1, (os.cpu_count() or 1) - 1))):
        est = make(cls, n_jobs=n_jobs).fit(X)
        assert est.model_.n_threads == threads, n_jobs
    with pytest.raises(anoma.ParameterValueError, match="n_jobs=0"):
        make(cls, n_jobs=0).fit(X)


@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda c: c.__name__)
def test_n_jobs_changes_after_fit_without_refit(cls):
    X = data(3000, 4)
    est = make(cls, n_jobs=1).fit(X)
    model = est.model_
    before = est.score_samples(X)
    est.set_params(n_jobs=3)
    assert np.array_equal(est.score_samples(X), before)
    assert est.model_ is model and model.n_threads == 3  # the same fitted model
    est.n_jobs = -1  # plain assignment too, as scikit-learn reads n_jobs when it runs
    assert np.array_equal(est.predict(X), 1 - 2 * (est.anomaly_score(X) > est.threshold_))
    assert model.n_threads == 0
    # a thread count is not saved: an unpickled estimator sets it again
    est.set_params(n_jobs=2)
    copy = pickle.loads(pickle.dumps(est))
    assert np.array_equal(copy.score_samples(X), before)
    assert copy.model_.n_threads == 2


def test_pipeline_follows_its_detector_n_jobs():
    X = data(500, 3)
    pipe = anoma.Pipeline([anoma.StandardScaler(), anoma.ZScore(n_jobs=2)]).fit(X)
    assert pipe.model_.n_threads == 2
    before = pipe.anomaly_score(X)
    pipe.steps[-1].set_params(n_jobs=4)
    assert np.array_equal(pipe.anomaly_score(X), before)
    assert pipe.model_.n_threads == 4


# ---- anoma.shutdown ---------------------------------------------------------------

def test_shutdown_joins_the_workers_and_the_pool_starts_again():
    X = data(20000, 8)
    model = anoma.Model("n_threads=4", [("zscore", "")]).fit(X)
    expected = model.score(X)
    working = os_threads()
    anoma.shutdown()
    stopped = os_threads()
    assert stopped < working  # the pool's threads are gone (OpenBLAS keeps its own)
    assert np.array_equal(model.score(X), expected)  # the next call starts it again
    restarted = os_threads()
    assert restarted > stopped
    anoma.shutdown()
    anoma.shutdown()  # twice is harmless
    # fewer threads again (compared with the restarted pool only: a thread
    # another test left behind may end or start meanwhile)
    assert os_threads() < restarted


# ---- anoma.component_flags ----------------------------------------------------------

def test_component_flags_match_the_header():
    with open(os.path.join(ROOT, "include", "anoma", "params.h")) as f:
        header = dict(re.findall(r"ANOMA_FLAG_(\w+) = 1u << (\d+)", f.read()))
    assert {name: 1 << int(bit) for name, bit in header.items()} == \
        {flag.name: flag.value for flag in anoma.ComponentFlag}


def test_component_flags_say_what_a_detector_does():
    """FEATURE_SCORES is set exactly on the detectors whose feature scores
    work, STATEFUL on the steps whose output depends on earlier rows."""
    X = data(200, 3)
    for name in anoma.list_detectors():
        flags = anoma.component_flags("detector", name)
        assert isinstance(flags, anoma.ComponentFlag)
        if flags & (anoma.ComponentFlag.STATEFUL | anoma.ComponentFlag.NEEDS_LABELS):
            continue
        model = anoma.Model("", [(name, "")]).fit(X)
        try:
            model.feature_scores(X[:5])
            explains = True
        except anoma.AnomaError as e:
            assert e.name == "ANOMA_ERR_UNSUPPORTED", e
            explains = False
        assert explains == (anoma.ComponentFlag.FEATURE_SCORES in flags), name
    assert anoma.ComponentFlag.STATEFUL in anoma.component_flags("step", "window")
    assert anoma.component_flags("step", "standard_scaler") == anoma.ComponentFlag(0)
    assert anoma.component_flags("model", "model") == anoma.ComponentFlag(0)


def test_component_flags_refuse_unknown_names():
    with pytest.raises(anoma.UnknownNameError):
        anoma.component_flags("detector", "no_such_detector")
    with pytest.raises(ValueError, match="kind must be one of"):
        anoma.component_flags("widget", "zscore")
    with pytest.raises(ValueError, match="NUL"):
        anoma.component_flags("detector", "zscore\0x")
    with pytest.raises(TypeError):
        anoma.component_flags("detector", b"zscore")
