"""Isolation-forest batch scoring per row: libanoma on one thread and on all
cores (its default, n_threads=0) against scikit-learn's score_samples, 100
trees of 256 samples (seed 0 / random_state=0), fitted and scored on all
rows of each dataset: 100000 x 10 standard-normal rows, and mammography
(11183 x 6, the shared data) when it is there.

The three are timed in turns, round after round, so that all see the same
machine load; each round gives a ratio (scikit-learn's time / libanoma's
best of a few calls in that round), and the table shows the median ratio
over the rounds beside the ratio of the best times. The one-thread
comparison is also given in CPU time of the calling thread (both run on
it), which other jobs on a shared machine do not inflate. Set
OPENBLAS_NUM_THREADS=1, or numpy's OpenBLAS threads keep spinning for a
while after scikit-learn's calls and take a core from libanoma's workers.
Run:

    ANOMA_LIBRARY=build-bench/lib/libanoma.so OPENBLAS_NUM_THREADS=1 \\
        PYTHONPATH=bindings/python /usr/bin/python3 bench/iforest_threads.py [ROUNDS]
"""
import os
import statistics
import sys
import time

import numpy as np

import anoma
from blas_info import openblas_line

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.environ.get("ANOMA_SHARED_DATA", os.path.join(ROOT, "..", "shared", "data"))


def timed(f):
    start = time.perf_counter()
    f()
    return time.perf_counter() - start


def thread_cpu(f):
    """CPU seconds of the calling thread spent in f."""
    start = time.thread_time()
    f()
    return time.thread_time() - start


def datasets():
    yield "gauss-100000x10", np.random.default_rng(0).standard_normal((100000, 10))
    path = os.path.join(SHARED, "mammography.csv")
    if os.path.exists(path):
        yield "mammography", np.loadtxt(path, delimiter=",", skiprows=1)[:, :-1].copy()


def measure(X, rounds):
    from sklearn.ensemble import IsolationForest
    models = {threads: anoma.Model("n_threads=%d" % threads,
                                   [("iforest", "n_trees=100 max_samples=256 seed=0")]).fit(X)
              for threads in (1, 0)}
    peer = IsolationForest(n_estimators=100, max_samples=256, random_state=0, n_jobs=1).fit(X)
    best = {1: float("inf"), 0: float("inf"), "peer": float("inf"),
            "cpu1": float("inf"), "cpu_peer": float("inf")}
    ratios = {1: [], 0: []}
    for _ in range(rounds):
        this_round = {}
        for threads, model in models.items():
            this_round[threads] = min(timed(lambda: model.score(X)) for _ in range(4))
            best[threads] = min(best[threads], this_round[threads])
        best["cpu1"] = min(best["cpu1"], min(thread_cpu(lambda: models[1].score(X))
                                             for _ in range(4)))
        best["cpu_peer"] = min(best["cpu_peer"], thread_cpu(lambda: peer.score_samples(X)))
        peer_time = timed(lambda: peer.score_samples(X))
        best["peer"] = min(best["peer"], peer_time)
        for threads in ratios:
            ratios[threads].append(peer_time / this_round[threads])
    return best, ratios


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    load = os.getloadavg()[0]
    print("| data | rows x cols | scikit-learn ns/row | libanoma 1 thread ns/row | best / best "
          "| median ratio (min-max) | one thread, CPU time | libanoma all cores ns/row | median ratio |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, X in datasets():
        best, ratios = measure(X, rounds)
        per_row = {k: v / len(X) * 1e9 for k, v in best.items()}
        print("| %s | %dx%d | %.0f | %.0f | %.1fx | %.1fx (%.1f-%.1f) | %.1fx | %.0f | %.1fx |" % (
            name, X.shape[0], X.shape[1], per_row["peer"], per_row[1],
            best["peer"] / best[1], statistics.median(ratios[1]), min(ratios[1]), max(ratios[1]),
            best["cpu_peer"] / best["cpu1"], per_row[0], statistics.median(ratios[0])), flush=True)
    print()
    print("%s; cores: %d; load average %.2f at start, %.2f at end; %d rounds" % (
        openblas_line(), os.cpu_count(), load, os.getloadavg()[0], rounds))


main()
