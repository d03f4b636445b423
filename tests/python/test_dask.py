"""Scoring a dask DataFrame on a local distributed cluster (a scheduler and
two workers, each a process of its own on loopback, started and stopped
here): the model's
bytes go to each worker once, and the scores equal single-process scoring
exactly. Skipped without dask and distributed (python3-dask,
python3-distributed)."""
import os
import socket
import subprocess
import sys

import numpy as np
import pytest

from conftest import BINDINGS, import_anoma

anoma = import_anoma()
dd = pytest.importorskip("dask.dataframe")
distributed = pytest.importorskip("distributed")
pd = pytest.importorskip("pandas")
import anoma.dask  # noqa: E402 - after the skips
from anoma.merge import merge_forests  # noqa: E402


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    """A scheduler and two workers, each its own process, on loopback."""
    folder = tmp_path_factory.mktemp("dask")
    address = "tcp://127.0.0.1:%d" % _free_port()
    env = dict(os.environ, ANOMA_LIBRARY=anoma._library.path,
               PYTHONPATH=os.pathsep.join([BINDINGS] + sys.path[1:]))
    cli = [sys.executable, "-m"]
    processes = [subprocess.Popen(
        cli + ["distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port",
               address.rsplit(":", 1)[1], "--no-dashboard"],
        env=env, cwd=str(folder), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    try:
        client = distributed.Client(address, timeout=60)
        for k in range(2):
            processes.append(subprocess.Popen(
                cli + ["distributed.cli.dask_worker", address, "--nthreads", "2",
                       "--host", "127.0.0.1", "--no-dashboard", "--name", "worker-%d" % k,
                       "--local-directory", str(folder)],
                env=env, cwd=str(folder), stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL))
        client.wait_for_workers(2, timeout=120)
        yield client
        client.close()
    finally:
        for p in reversed(processes):  # the workers, then the scheduler
            p.terminate()
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


def _holds(task, data):
    """Whether a task (nested tuples, lists, dicts) holds the bytes ``data``."""
    if isinstance(task, bytes):
        return task == data
    if isinstance(task, (tuple, list)):
        return any(_holds(t, data) for t in task)
    if isinstance(task, dict):
        return any(_holds(t, data) for t in task.values())
    return False


def _frame(rows, seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, 4))
    x[::97] += 6  # some outliers
    return pd.DataFrame(x, columns=["a", "b", "c", "d"])


@pytest.mark.parametrize("detector", ["iforest", "zscore", "mahalanobis"])
def test_scores_equal_single_process_and_bytes_go_once(client, detector):
    df = _frame(20000, 1)
    model = anoma.Model("contamination=0.01", [detector]).fit(df.sample(2000, random_state=0))
    ddf = dd.from_pandas(df[["d", "c", "b", "a"]], npartitions=12)  # picked by name
    shipped = anoma.dask.scatter_model(client, model)
    lazy = anoma.dask.score(ddf, shipped)
    tasks = dict(lazy.__dask_graph__()).values()
    assert not any(_holds(t, model.to_bytes()) for t in tasks)  # a reference, not the bytes
    scores = lazy.compute()
    decisions = anoma.dask.score(ddf, shipped, method="predict").compute()
    np.testing.assert_array_equal(scores.to_numpy(), model.score(df))
    np.testing.assert_array_equal(scores.index.to_numpy(), df.index.to_numpy())
    np.testing.assert_array_equal(decisions.to_numpy(), model.predict(df))
    loads = anoma.dask.model_loads(client, shipped)
    assert len(loads) == 2 and set(loads.values()) <= {0, 1} and sum(loads.values()) >= 1, loads
    assert max(loads.values()) == 1  # 24 tasks, at most one load per worker


def test_estimators_ship_and_bad_arguments_are_named(client):
    df = _frame(3000, 2)
    est = anoma.IsolationForest(random_state=0).fit(df)
    shipped = anoma.dask.scatter_model(client, est)
    scores = anoma.dask.score(dd.from_pandas(df, npartitions=3), shipped).compute()
    np.testing.assert_array_equal(scores.to_numpy(), est.anomaly_score(df))
    with pytest.raises(TypeError, match="anoma.Model"):
        anoma.dask.scatter_model(client, object())
    with pytest.raises(ValueError, match="method"):
        anoma.dask.score(dd.from_pandas(df, npartitions=3), shipped, method="proba")
    with pytest.raises(TypeError, match="ShippedModel"):
        anoma.dask.score(dd.from_pandas(df, npartitions=3), est)


def test_example_runs_and_matches_one_process():
    import os
    import subprocess
    import sys
    from conftest import ROOT
    example = os.path.join(ROOT, "examples", "dask_scoring.py")
    done = subprocess.run([sys.executable, example, "--rows", "40000", "--partitions", "4"],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "equal to one process: True" in done.stdout, done.stdout
    assert "loads per worker: [1, 1]" in done.stdout, done.stdout


def test_forest_fitted_per_partition_is_the_merge_of_partition_forests(client):
    df = _frame(6000, 3)
    ddf = dd.from_pandas(df, npartitions=3)
    merged = anoma.dask.fit_forest(ddf, {"n_trees": 20})
    assert merged.feature_names == ["a", "b", "c", "d"]
    # the same forests grown here, partition k with seed k, then merged
    local = [anoma.Model("contamination=auto", [("iforest", "n_trees=20 seed=%d" % k)]).fit(p)
             for k, p in enumerate(ddf.partitions[i].compute() for i in range(3))]
    np.testing.assert_array_equal(merged.score(df), merge_forests(local).score(df))
    logs = np.array([np.log2(m.score(df)) for m in local])
    np.testing.assert_allclose(merged.score(df), 2.0 ** logs.mean(axis=0), rtol=1e-12)
    with pytest.raises(ValueError, match="max_samples"):
        anoma.dask.fit_forest(dd.from_pandas(df.iloc[:700], npartitions=3), "n_trees=5")


def test_statistics_per_partition_equal_all_rows(client):
    from sklearn.covariance import EmpiricalCovariance
    df = _frame(9000, 4)
    ddf = dd.from_pandas(df, npartitions=4)
    zscore = anoma.dask.fit_statistics(ddf).model("zscore")
    whole = anoma.Model("contamination=auto", ["zscore"]).fit(df)
    np.testing.assert_allclose(zscore.score(df), whole.score(df), rtol=1e-12)
    stats = anoma.dask.fit_statistics(ddf, covariance=True)
    np.testing.assert_allclose(stats.comoment / stats.count[0],
                               EmpiricalCovariance().fit(df).covariance_, rtol=1e-12)
