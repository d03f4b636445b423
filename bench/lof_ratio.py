"""LOF outlier-mode fit_predict against scikit-learn's, in one process: CPU
milliseconds a call (process_time, best of 5 rounds of N calls) and the
ratio, one thread (set OPENBLAS_NUM_THREADS=1). Not a test: nothing here
asserts a time. For short calls (a few ms) where bench/lof.py's single
cold call rounds to 0.00 s.

    OPENBLAS_NUM_THREADS=1 ANOMA_LIBRARY=build-bench/lib/libanoma.so \\
        /usr/bin/python3 bench/lof_ratio.py SET [N=30] [novelty]

With `novelty`, novelty mode as bench/lof.py times it: fit, then
score_samples of 2000 new rows (rows of the set moved by 1e-3).

SET: a name in /work/shared/data (ANOMA_SHARED_DATA) or a CSV path; the
columns label, is_anomaly and timestamp are dropped.
"""
import os
import sys
import time

# one thread on both sides: scikit-learn's brute-force neighbour search runs
# OpenMP threads whatever n_jobs says (set before numpy and scikit-learn load)
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np
import pandas as pd
from sklearn.neighbors import LocalOutlierFactor as SkLOF

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "bindings",
                                "python"))
import anoma  # noqa: E402


def best_cpu(call, n):
    best = float("inf")
    for _ in range(5):
        t = time.process_time()
        for _ in range(n):
            call()
        best = min(best, (time.process_time() - t) / n)
    return best


def main():
    path = sys.argv[1]
    if os.sep not in path:
        path = os.path.join(os.environ.get("ANOMA_SHARED_DATA", "/work/shared/data"), path + ".csv")
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 30
    df = pd.read_csv(path)
    X = np.ascontiguousarray(
        df.drop(columns=[c for c in df.columns if c in ("label", "is_anomaly", "timestamp")])
        .to_numpy(float))
    if len(sys.argv) > 3 and sys.argv[3] == "novelty":
        new = X[np.random.default_rng(1).integers(0, len(X), 2000)] + 1e-3
        theirs = best_cpu(lambda: SkLOF(n_jobs=1, novelty=True).fit(X).score_samples(new), n)
        ours = best_cpu(
            lambda: anoma.LocalOutlierFactor(n_jobs=1, novelty=True).fit(X).score_samples(new), n)
    else:
        theirs = best_cpu(lambda: SkLOF(n_jobs=1).fit_predict(X), n)
        ours = best_cpu(lambda: anoma.LocalOutlierFactor(n_jobs=1).fit_predict(X), n)
    print(f"{os.path.basename(path)} {X.shape} sk {theirs * 1e3:.3f} ms  ours {ours * 1e3:.3f} ms"
          f"  ratio {theirs / ours:.2f}x")


if __name__ == "__main__":
    main()
