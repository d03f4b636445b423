"""Scoring 10,000,000 rows on Dask: libanoma with 1 and 2 worker processes
against libanoma in one process, and the same Dask job with
scikit-learn's IsolationForest, in one run.

Every job is the same: generate the rows of each partition (8 standard-
normal features, seeded by the partition's number; generated where they
are scored: on the workers, never shipped from the client), score them
with an isolation forest of 100 trees of 256 samples fitted on a 20,000-row
sample, and return the number of rows above the threshold. The single-
process job does the same partitions one after the other in this process
(model n_threads=1). The Dask jobs ship the model once per worker
(anoma.dask.scatter_model; scikit-learn's model is scattered the same way,
as its pickle) on a LocalCluster on loopback with one thread per worker.

Dask's nanny starts workers with MALLOC_TRIM_THRESHOLD_=65536
(distributed.nanny.pre-spawn-environ), which turns off glibc's adaptive
mmap threshold: scikit-learn's scoring, which allocates large arrays per
tree, then runs about 10 times slower (measured: 5.0 s instead of 0.5 s of
CPU for 25,000 rows). libanoma allocates nothing per row and does not
notice. This benchmark removes the setting, so the peer runs at its best.
scikit-learn's jobs may score fewer rows (SKLEARN_ROWS, default all) to
keep the run short; rows per second compare across sizes.

Reported per job: wall seconds, CPU seconds (this process, or the sum over
the workers' processes: what a busy shared machine does not inflate), rows
per wall second, and ratios against the single-process libanoma job:
wall(one process) / wall(job) (above 1: faster) and cpu(job) / cpu(one
process) (the CPU overhead of going through Dask). Not a test: nothing
asserts a time. Run:

    ANOMA_LIBRARY=build/lib/libanoma.so OPENBLAS_NUM_THREADS=1 \\
        PYTHONPATH=bindings/python /usr/bin/python3 bench/dask.py [ROWS] [PARTITIONS] [SKLEARN_ROWS]
"""
import os
import sys
import time

# This file is named dask.py: its folder must not hide the dask package.
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != os.path.dirname(os.path.abspath(__file__))]

import numpy as np  # noqa: E402

import anoma  # noqa: E402
import anoma.dask  # noqa: E402

N_FEATURES = 8
FOREST = dict(n_trees=100, max_samples=256, seed=0)


def partition(k, rows):
    """Partition k: rows x N_FEATURES, seeded by k, 1 % shifted away."""
    rng = np.random.default_rng(k)
    x = rng.standard_normal((rows, N_FEATURES))
    x[rng.random(rows) < 0.01] += 5
    return x


def _frame(k, rows):
    import pandas as pd
    return pd.DataFrame(partition(k, rows), columns=["x%d" % j for j in range(N_FEATURES)])


def _count_flagged_anoma(part, data, key, threshold):
    return int((anoma.dask._worker_model(key, data).score(part) > threshold).sum())


def _count_flagged_sklearn(part, model_bytes, key):
    import pickle
    from distributed import get_worker
    worker = get_worker()  # the cache lives on the worker: this function is pickled by value
    cache = worker.__dict__.setdefault("_bench_sklearn_models", {})
    if key not in cache:  # once per worker process, as anoma.dask does
        cache[key] = pickle.loads(model_bytes)
    return int((cache[key].predict(part.to_numpy()) == -1).sum())


def _process_cpu():
    return time.process_time()


def single_process(count_flagged, n_parts, rows):
    cpu, wall = time.process_time(), time.perf_counter()
    flagged = sum(count_flagged(partition(k, rows)) for k in range(n_parts))
    return time.perf_counter() - wall, time.process_time() - cpu, flagged


def on_dask(n_workers, n_parts, rows, job):
    """(wall, worker CPU, flagged) of job(client, ddf) on a fresh cluster."""
    import dask
    import dask.dataframe as dd
    from distributed import Client, LocalCluster
    dask.config.config["distributed"]["nanny"]["pre-spawn-environ"].pop(
        "MALLOC_TRIM_THRESHOLD_", None)  # see the docstring
    with LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                      host="127.0.0.1", dashboard_address=None, silence_logs=50) as cluster, \
            Client(cluster) as client:
        ddf = dd.from_delayed([dask.delayed(_frame)(k, rows) for k in range(n_parts)],
                              meta=_frame(0, 0))
        lazy = job(client, ddf)
        cpu = sum(client.run(_process_cpu).values())
        wall = time.perf_counter()
        flagged = int(lazy.compute().sum())
        wall = time.perf_counter() - wall
        cpu = sum(client.run(_process_cpu).values()) - cpu
    return wall, cpu, flagged


def main():
    import pickle
    from sklearn.ensemble import IsolationForest
    rows_total = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000_000
    n_parts = int(sys.argv[2]) if len(sys.argv) > 2 else 40
    rows = rows_total // n_parts
    sk_parts = (int(sys.argv[3]) // rows) if len(sys.argv) > 3 else n_parts
    sample = partition(10**6, 20_000)  # a sample from the same distribution
    model = anoma.Model("contamination=0.01",
                        [("iforest", " ".join("%s=%s" % kv for kv in FOREST.items()))])
    model.fit(sample)
    peer = IsolationForest(n_estimators=100, max_samples=256, random_state=0,
                           contamination=0.01).fit(sample)
    peer_bytes = pickle.dumps(peer)

    def anoma_job(client, ddf):
        shipped = anoma.dask.scatter_model(client, model)
        return ddf.map_partitions(_count_flagged_anoma, shipped.future, shipped.key,
                                  model.threshold, meta=(None, "int64"))

    def sklearn_job(client, ddf):
        future = client.scatter(peer_bytes, broadcast=True, hash=True)
        return ddf.map_partitions(_count_flagged_sklearn, future, "sklearn:" + future.key,
                                  meta=(None, "int64"))

    print("rows %d in %d partitions of %d, %d features; iforest 100 trees x 256; cpus %d; "
          "load average at start %.2f %.2f %.2f" % (rows * n_parts, n_parts, rows, N_FEATURES,
                                                     os.cpu_count(), *os.getloadavg()))
    model.n_threads = 1
    results = [("libanoma, one process", n_parts, *single_process(
        lambda x: int((model.score(x) > model.threshold).sum()), n_parts, rows))]
    for workers in (1, 2):
        results.append(("libanoma, Dask %d worker%s" % (workers, "s" * (workers > 1)), n_parts,
                        *on_dask(workers, n_parts, rows, anoma_job)))
    results.append(("scikit-learn, one process", sk_parts, *single_process(
        lambda x: int((peer.predict(x) == -1).sum()), sk_parts, rows)))
    for workers in (1, 2):
        results.append(("scikit-learn, Dask %d worker%s" % (workers, "s" * (workers > 1)),
                        sk_parts, *on_dask(workers, sk_parts, rows, sklearn_job)))
    # per row, against libanoma in one process
    base_wall, base_cpu = results[0][2] / n_parts, results[0][3] / n_parts
    print("| job | rows | wall s | CPU s | rows/s (wall) | flagged | one process wall / wall "
          "(per row) | CPU / one process CPU (per row) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, parts, wall, cpu, flagged in results:
        print("| %s | %d | %.1f | %.1f | %.3g | %d | %.3g | %.3g |"
              % (name, parts * rows, wall, cpu, parts * rows / wall, flagged,
                 base_wall / (wall / parts), (cpu / parts) / base_cpu))
    print("load average at end %.2f %.2f %.2f" % os.getloadavg())


if __name__ == "__main__":
    main()
