"""The distance detectors without neighbours -- kmeans, mahalanobis
(empirical and robust MCD) and pca -- against scikit-learn 1.2 on the same
data in the same run: fit, batch scoring, single-row latency, peak memory,
and on the labelled shared sets the ROC AUC of both. Not a test: nothing
here asserts a time.

    /usr/bin/python3 bench/distance.py [--quick] [--only DETECTOR[,...]] [LIBRARY]

LIBRARY defaults to build-bench/lib/libanoma.so (bench/run builds it).

Peers (the same score on both sides, checked by the tests):
  kmeans       KMeans(n_clusters=8, n_init=10, random_state=0), score
               transform(X).min(axis=1); ours KMeansDetector(n_clusters=8,
               n_init=10, random_state=0)
  mahalanobis  EmpiricalCovariance().mahalanobis; ours Mahalanobis()
  mcd          MinCovDet(random_state=0).mahalanobis; ours
               Mahalanobis(robust=True, random_state=0)
  pca          PCA(n_components=0.95, svd_solver="full"), score the squared
               error of inverse_transform(transform(X)); ours
               PCADetector(n_components=0.95)

One thread against one thread: OPENBLAS_NUM_THREADS=1 and OMP_NUM_THREADS=1
for both sides, n_jobs=1 for libanoma. Times are CPU seconds of the process
(time.process_time): on a machine shared with other work, wall time
measures the other work more than this one. Each measurement runs in its
own subprocess, so its peak memory (ru_maxrss after the work minus before
it, the data already loaded and one fit on 200 rows done first, so that
imports and first-call set-up are not measured) is its own. Fit is on the
data; "score" is
2000 new rows (training rows plus 1e-3) in one call; "row µs" the median of
one call per row over 200 rows (libanoma's RowScorer, scikit-learn's call
on a 1-row array, 50 rows). Ratio = scikit-learn's fit + score CPU seconds
over libanoma's (> 1: libanoma faster); "row ratio" the same for the
single-row latency. Prints the OpenBLAS line (bench/blas_info.py) and the
load average, then Markdown tables.
"""
import json
import os
import resource
import subprocess
import sys
import time
import warnings

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DETECTORS = ("kmeans", "mahalanobis", "mcd", "pca")


def data(name):
    import numpy as np
    if name.startswith("random"):
        n, d = (int(v) for v in name.split(":")[1].split("x"))
        return np.random.default_rng(0).normal(size=(n, d)), None
    sys.path.insert(0, os.path.join(ROOT, "tests", "python"))
    from conftest import load_csv
    X, y = load_csv(name)
    return np.array(X), np.array(y)


def make(impl, detector):
    if impl == "sklearn":
        from sklearn import cluster, covariance, decomposition
        return {"kmeans": lambda: cluster.KMeans(n_clusters=8, n_init=10, random_state=0),
                "mahalanobis": covariance.EmpiricalCovariance,
                "mcd": lambda: covariance.MinCovDet(random_state=0),
                "pca": lambda: decomposition.PCA(n_components=0.95, svd_solver="full")}[detector]()
    import anoma
    return {"kmeans": lambda: anoma.KMeansDetector(n_clusters=8, n_init=10, random_state=0,
                                                   n_jobs=1),
            "mahalanobis": lambda: anoma.Mahalanobis(n_jobs=1),
            "mcd": lambda: anoma.Mahalanobis(robust=True, random_state=0, n_jobs=1),
            "pca": lambda: anoma.PCADetector(n_components=0.95, n_jobs=1)}[detector]()


def scorer(impl, detector, est):
    """The batch score function, higher = more anomalous on both sides."""
    if impl != "sklearn":
        return est.anomaly_score
    if detector == "kmeans":
        return lambda X: est.transform(X).min(axis=1)
    if detector == "pca":
        return lambda X: ((X - est.inverse_transform(est.transform(X))) ** 2).sum(axis=1)
    return est.mahalanobis


def child(library, impl, detector, name):
    os.environ["ANOMA_LIBRARY"] = library
    sys.path.insert(0, os.path.join(ROOT, "bindings", "python"))
    import numpy as np
    warnings.simplefilter("ignore")
    X, y = data(name)
    new = X[np.random.default_rng(1).integers(0, len(X), 2000)] + 1e-3
    # warm up: imports and first-call set-up are not the work measured
    scorer(impl, detector, make(impl, detector).fit(X[:200]))(new[:10])
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t = time.process_time()
    est = make(impl, detector).fit(X)
    fit = time.process_time() - t
    score = scorer(impl, detector, est)
    t = time.process_time()
    score(new)
    batch = time.process_time() - t
    peak = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    auc = None
    if y is not None and y.min() != y.max():
        from sklearn.metrics import roc_auc_score
        auc = roc_auc_score(y, score(X))
    if impl == "sklearn":
        rows, call = new[:50], lambda r: score(r[None, :])
    else:
        rows, call = new[:200], est.model_.row_scorer().score
    times = []
    for r in rows:
        t = time.perf_counter()
        call(r)
        times.append(time.perf_counter() - t)
    print(json.dumps({"fit": fit, "score": batch, "peak": peak, "auc": auc,
                      "row_us": 1e6 * float(np.median(times))}))


def run(library, impl, detector, name):
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    out = subprocess.run([sys.executable, __file__, "--child", library, impl, detector, name],
                         check=True, capture_output=True, text=True, env=env).stdout
    return json.loads(out)


def main():
    args = [a for a in sys.argv[1:] if a != "--quick"]
    quick = "--quick" in sys.argv
    detectors = DETECTORS
    if "--only" in args:
        at = args.index("--only")
        detectors = args[at + 1].split(",")
        del args[at:at + 2]
        unknown = set(detectors) - set(DETECTORS)
        if unknown:
            sys.exit("bench/distance.py: --only: unknown detector(s) %s (known: %s)"
                     % (", ".join(sorted(unknown)), ", ".join(DETECTORS)))
    library = os.path.abspath(args[0] if args else
                              os.path.join(ROOT, "build-bench", "lib", "libanoma.so"))
    sets = ["random:20000x10", "random:20000x100"]
    if not quick:
        sets += ["random:100000x10", "cardio.csv", "satellite.csv", "mammography.csv",
                 "shuttle.csv", "wbc.csv"]
    sys.path.insert(0, os.path.join(ROOT, "bench"))
    from blas_info import openblas_line
    print(openblas_line())
    print("load average at start: %.2f %.2f %.2f\n" % os.getloadavg())
    print("| detector | data | libanoma fit s | score 2000 s | peak MiB | row µs "
          "| scikit-learn fit s | score s | peak MiB | row µs | ratio (fit+score) | row ratio "
          "| ROC AUC ours / sklearn |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for detector in detectors:
        for name in sets:
            try:
                theirs = run(library, "sklearn", detector, name)
                ours = run(library, "anoma", detector, name)
            except subprocess.CalledProcessError as e:
                print("| %s | %s | failed: %s |" % (detector, name, e.stderr.strip()[-100:]))
                continue
            auc = ("%.4f / %.4f" % (ours["auc"], theirs["auc"])) if ours["auc"] is not None else ""
            print("| %s | %s | %.3f | %.4f | %.0f | %.1f | %.3f | %.4f | %.0f | %.1f | %.1fx "
                  "| %.1fx | %s |" % (
                      detector, name.replace(".csv", "").replace("random:", "gauss "),
                      ours["fit"], ours["score"], ours["peak"], ours["row_us"], theirs["fit"],
                      theirs["score"], theirs["peak"], theirs["row_us"],
                      (theirs["fit"] + theirs["score"]) / max(ours["fit"] + ours["score"], 1e-9),
                      theirs["row_us"] / ours["row_us"], auc), flush=True)
    print("\nload average at end: %.2f %.2f %.2f" % os.getloadavg())


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(*sys.argv[2:6])
    else:
        main()
