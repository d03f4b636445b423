"""Isolation-forest batch scoring per row: libanoma on one thread and on all
cores (its default, n_threads=0) against scikit-learn's score_samples, on
100000 x 10 standard-normal rows, 100 trees of 256 samples.

libanoma is timed first: numpy's OpenBLAS threads keep spinning for a while
after scikit-learn's calls and would take the second core from libanoma's
workers. Run: ANOMA_LIBRARY=build/lib/libanoma.so.0 PYTHONPATH=bindings/python
/usr/bin/python3 bench/iforest_threads.py
"""
import os
import time

import numpy as np

import anoma


def best(f, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        f()
        times.append(time.perf_counter() - start)
    return min(times)


def main():
    X = np.random.default_rng(0).standard_normal((100000, 10))
    ours = {}
    for threads in (1, 0):
        model = anoma.Model("n_threads=%d" % threads,
                            [("iforest", "n_trees=100 max_samples=256 seed=0")]).fit(X)
        ours[threads] = best(lambda: model.score(X), 20)
    from sklearn.ensemble import IsolationForest
    peer = IsolationForest(n_estimators=100, max_samples=256, random_state=0, n_jobs=1).fit(X)
    theirs = best(lambda: peer.score_samples(X), 3)
    rows = len(X)
    print("cores: %d; scikit-learn score_samples: %.0f ns/row" % (os.cpu_count(), theirs / rows * 1e9))
    for threads, label in ((1, "1 thread"), (0, "all cores (default)")):
        print("libanoma %s: %.0f ns/row, %.1fx" % (label, ours[threads] / rows * 1e9,
                                                   theirs / ours[threads]))


main()
