"""The measurement behind the neighbour engine's auto rule (docs/neighbors.md):
CPU seconds of a "lof" fit (every training row's k = 20 nearest, one thread)
with algorithm=brute and with algorithm=kd_tree, on Gaussian data over rows
and features and on the shared datasets of up to 21 features. CPU time
(process_time), so that other work on the machine skews it less than wall
time. Not a test: nothing here asserts a time.

    /usr/bin/python3 bench/knn_auto.py [--quick] [LIBRARY]

--quick leaves out the 100000-row Gaussian sets (the slowest: minutes).
"""
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = ["annthyroid.csv", "mammography.csv", "thyroid.csv", "pima.csv", "skab_anomaly_free.csv",
          "breastw.csv", "nab_machine_temperature_system_failure.csv", "cardio.csv", "shuttle.csv"]


def main():
    args = [a for a in sys.argv[1:] if a != "--quick"]
    quick = "--quick" in sys.argv
    if args:
        os.environ["ANOMA_LIBRARY"] = os.path.abspath(args[0])
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    sys.path.insert(0, os.path.join(ROOT, "bindings", "python"))
    sys.path.insert(0, os.path.join(ROOT, "tests", "python"))
    import numpy as np

    import anoma
    from conftest import load_csv

    def seconds(X, algorithm):
        t = time.process_time()
        anoma.LocalOutlierFactor(n_neighbors=20, n_jobs=1, algorithm=algorithm).fit(X)
        return time.process_time() - t

    sets = [("Gaussian", n, d) for n in (1000, 10000) + (() if quick else (100000,))
            for d in (2, 5, 8, 10)]
    sets += [(name, None, None) for name in SHARED]
    print("| data | rows x features | brute s | kd_tree s | faster |")
    print("|---|---:|---:|---:|---|")
    for name, n, d in sets:
        if n is not None:
            X = np.random.default_rng(0).normal(size=(n, d))
        else:
            X = np.array(load_csv(name)[0])
        b, k = seconds(X, "brute"), seconds(X, "kd_tree")
        print("| %s | %d x %d | %.3f | %.3f | %s %.1fx |" % (
            name.replace(".csv", ""), X.shape[0], X.shape[1], b, k,
            "brute" if b < k else "kd_tree", max(b, k) / max(min(b, k), 1e-9)), flush=True)


if __name__ == "__main__":
    main()
