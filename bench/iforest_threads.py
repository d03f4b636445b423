"""Isolation-forest batch scoring per row: libanoma on one thread and on all
cores (its default, n_threads=0) against scikit-learn's score_samples, on
100000 x 10 standard-normal rows, 100 trees of 256 samples.

The three are timed in turns, round after round (best of each kept), so that
all see the same machine load; set OPENBLAS_NUM_THREADS=1, or numpy's
OpenBLAS threads keep spinning for a while after scikit-learn's calls and
take a core from libanoma's workers. Run:

    ANOMA_LIBRARY=build-bench/lib/libanoma.so OPENBLAS_NUM_THREADS=1 \\
        PYTHONPATH=bindings/python /usr/bin/python3 bench/iforest_threads.py [ROUNDS]
"""
import os
import sys
import time

import numpy as np

import anoma


def timed(f):
    start = time.perf_counter()
    f()
    return time.perf_counter() - start


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    X = np.random.default_rng(0).standard_normal((100000, 10))
    models = {threads: anoma.Model("n_threads=%d" % threads,
                                   [("iforest", "n_trees=100 max_samples=256 seed=0")]).fit(X)
              for threads in (1, 0)}
    from sklearn.ensemble import IsolationForest
    peer = IsolationForest(n_estimators=100, max_samples=256, random_state=0, n_jobs=1).fit(X)
    ours = {1: float("inf"), 0: float("inf")}
    theirs = float("inf")
    load = os.getloadavg()[0]
    for _ in range(rounds):
        for threads, model in models.items():
            for _ in range(4):  # cheap: a few calls per turn
                ours[threads] = min(ours[threads], timed(lambda: model.score(X)))
        theirs = min(theirs, timed(lambda: peer.score_samples(X)))
    rows = len(X)
    print("cores: %d; load average %.2f at start, %.2f at end; %d rounds" % (
        os.cpu_count(), load, os.getloadavg()[0], rounds))
    print("scikit-learn score_samples: %.0f ns/row" % (theirs / rows * 1e9))
    for threads, label in ((1, "1 thread"), (0, "all cores (default)")):
        print("libanoma %s: %.0f ns/row, %.1fx" % (label, ours[threads] / rows * 1e9,
                                                   theirs / ours[threads]))


main()
