"""IsolationForest().fit(X) on 100000 x 10 against scikit-learn's, one thread
each, in one run; optionally against a second libanoma build (before/after).

    /usr/bin/python3 bench/iforest_fit.py [LIBRARY ...]

Each LIBRARY (default: build-bench/lib/libanoma.so) is timed in its own
subprocess, alternating with scikit-learn's fit in the same process so both
see the same machine. Best of 7 fits each, for contamination="auto" (the
default of both: no training scores) and contamination=0.1 (scikit-learn
scores every training row; libanoma at most calibration_rows of them).
Prints milliseconds and the ratio scikit-learn / libanoma (> 1: faster).
"""
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def child(library):
    os.environ["ANOMA_LIBRARY"] = library
    sys.path.insert(0, os.path.join(ROOT, "bindings", "python"))
    import numpy as np
    import anoma
    from sklearn.ensemble import IsolationForest
    X = np.random.default_rng(0).normal(size=(100_000, 10))

    def best(fit, repeats=7):
        times = []
        for _ in range(repeats):
            t = time.perf_counter()
            fit()
            times.append(time.perf_counter() - t)
        return min(times)

    for contamination in ("auto", 0.1):
        ours = theirs = float("inf")
        for _ in range(3):  # alternate, so that both see the same load
            ours = min(ours, best(lambda: anoma.IsolationForest(
                contamination=contamination, n_jobs=1, random_state=0).fit(X)))
            theirs = min(theirs, best(lambda: IsolationForest(
                contamination=contamination, n_jobs=1, random_state=0).fit(X)))
        print("| %s | %s | %.1f | %.1f | %.1fx |" % (
            os.path.basename(os.path.dirname(library)) or library, contamination,
            ours * 1e3, theirs * 1e3, theirs / ours), flush=True)


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        child(sys.argv[2])
        sys.exit(0)
    libraries = sys.argv[1:] or [os.path.join(ROOT, "build-bench", "lib", "libanoma.so")]
    print("| library | contamination | libanoma fit ms | scikit-learn fit ms | ratio |")
    print("|---|---|---:|---:|---:|")
    for library in libraries:
        subprocess.run([sys.executable, __file__, "--child", os.path.abspath(library)], check=True)
