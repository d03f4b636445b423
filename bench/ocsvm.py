"""The one-class SVM against scikit-learn's OneClassSVM, on the same data in
the same run: first the user's first call (both estimators with their
defaults, one thread each: CPU-time ratios beside wall times); then fit,
batch scoring per row and single-row latency at nu = 0.1; then the SGD
variant ("ocsvm_sgd") against scikit-learn's SGDOneClassSVM on 1,000,000 x 10.

    /usr/bin/python3 bench/ocsvm.py [--quick] [--only defaults|kernel|sgd]

Uses build-bench (release build; bench/run makes it) and its row timer
(build-bench/row_latency, bench/row_latency.c): build them with
`bench/run --only stats --quick` once if absent. Data: Gaussian rows with 2 %
uniform outliers (10000 x 10, 20000 x 10) and the shared tabular datasets
(../shared/data), each feature standardised, at most 10000 rows. Both sides
get the same parameters (rbf, gamma="scale") and give the same support
vectors: the "diff" column is the largest |difference| of decision values
relative to max(1, |value|).

The defaults table: anoma.OneClassSVM() against OneClassSVM(), nothing
set (rbf, gamma="scale", nu=0.5; 10000 x 10 and the shared sets; libanoma's n_jobs=None is one thread, as
scikit-learn's libsvm has no threads). Each side fits three times, then
scores the training rows five times, the sides alternating; "first" is a
side's first fit on the data, the other columns the best of the runs, in
CPU seconds (time.process_time, which on a shared machine excludes the
wait for a core; the ratios are of these) and wall seconds
(time.perf_counter). Each table's head names the OpenBLAS core and the
load average, which is printed again after the table.

In the nu = 0.1 table, times are the best of a few runs, alternating the
two sides so that both see the same machine, in CPU time
(time.process_time), which on a shared machine excludes the wait for a
core; the single-row columns are wall time (one call takes microseconds).
Ratios are scikit-learn time / libanoma time (> 1: libanoma faster).
libanoma fits and scores on one thread, as scikit-learn, whose libsvm has
no threads.

The SGD table: anoma.SGDOneClassSVM (one thread) against scikit-learn's
SGDOneClassSVM on the same map: map="none" is the same algorithm visit for
visit (the "diff" column: largest |difference| of decision values relative
to max(1, |value|)); the Nystroem rows compare with scikit-learn's
Pipeline(Nystroem(n_components=100), SGDOneClassSVM(average=True)), the
same method with another random basis (so "diff" is not 0; ROC AUC on the
data's known outliers says whether both find them). CPU seconds
(time.process_time) beside wall seconds: on a shared machine the wall time
includes waiting for a core.
"""
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.path.join(ROOT, "build-bench")
os.environ.setdefault("ANOMA_LIBRARY", os.path.join(BUILD, "lib", "libanoma.so"))
sys.path.insert(0, os.path.join(ROOT, "bindings", "python"))
ROW_TIMER = os.path.join(BUILD, "row_latency")
DATA = os.environ.get("ANOMA_SHARED_DATA") or os.path.join(ROOT, "..", "shared", "data")
TABULAR = ["annthyroid", "breastw", "cardio", "ionosphere", "mammography", "pima",
           "satellite", "shuttle", "thyroid", "wbc"]
MAX_ROWS = 10000

import anoma  # noqa: E402
from blas_info import openblas_line  # noqa: E402
from sklearn.kernel_approximation import Nystroem  # noqa: E402
from sklearn.linear_model import SGDOneClassSVM  # noqa: E402
from sklearn.metrics import roc_auc_score  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.svm import OneClassSVM  # noqa: E402


def best(fn, repeats, clock=time.process_time):
    """(least time of `repeats` calls, the last result), in CPU time: for
    one-thread work a shared machine's wait for a core is not the work's."""
    times = []
    for _ in range(repeats):
        t = clock()
        out = fn()
        times.append(clock() - t)
    return min(times), out


def standardized(X):
    std = X.std(axis=0)
    return (X - X.mean(axis=0)) / np.where(std > 0, std, 1)


def gaussian(rows, cols, seed=0):
    rng = np.random.default_rng(seed)
    n_out = rows // 50
    return standardized(np.vstack([rng.standard_normal((rows - n_out, cols)),
                                   rng.uniform(-6, 6, (n_out, cols))]))


def shared(name):
    path = os.path.join(DATA, name + ".csv")
    if not os.path.exists(path):
        return None
    X = np.loadtxt(path, delimiter=",", skiprows=1)[:, :-1]
    if len(X) > MAX_ROWS:
        X = X[np.sort(np.random.default_rng(0).choice(len(X), MAX_ROWS, replace=False))]
    return standardized(np.ascontiguousarray(X))


def row_latency(est, X, tmp, calls):
    """ns per row of the C row scorer on the saved model."""
    if not os.path.exists(ROW_TIMER):
        return float("nan")
    model, data = os.path.join(tmp, "m.anoma"), os.path.join(tmp, "x.f64")
    est.model_.save(model)
    np.ascontiguousarray(X[:1000]).tofile(data)
    r = subprocess.run([ROW_TIMER, model, data, str(min(len(X), 1000)), str(X.shape[1]),
                        str(calls), "5"], capture_output=True, text=True, check=True)
    return float(r.stdout.split()[0])


def sklearn_row(sk, X, calls):
    """ns per row of scikit-learn's decision_function on 1 x d arrays."""
    rows = [X[i:i + 1] for i in range(min(len(X), 200))]
    t0 = time.perf_counter()
    for i in range(calls):
        sk.decision_function(rows[i % len(rows)])
    return (time.perf_counter() - t0) / calls * 1e9


def run(name, X, nu, repeats, tmp, quick):
    params = dict(nu=nu)
    fit_ours = fit_sk = float("inf")
    for _ in range(repeats):  # alternate the sides
        t, ours = best(lambda: anoma.OneClassSVM(n_jobs=1, **params).fit(X), 1)
        fit_ours = min(fit_ours, t)
        t, sk = best(lambda: OneClassSVM(**params).fit(X), 1)
        fit_sk = min(fit_sk, t)
    d_ours, d_sk = ours.decision_function(X), sk.decision_function(X)
    diff = np.max(np.abs(d_ours - d_sk) / np.maximum(1, np.abs(d_sk)))
    score_ours = score_sk = float("inf")
    for _ in range(repeats):
        score_ours = min(score_ours, best(lambda: ours.decision_function(X), 1)[0])
        score_sk = min(score_sk, best(lambda: sk.decision_function(X), 1)[0])
    row_ns = row_latency(ours, X, tmp, 2000 if quick else 20000)
    sk_row_ns = sklearn_row(sk, X, 200 if quick else 1000)
    n, d = X.shape
    print("| %s | %d x %d | %.2f | %d | %.3f | %.3f | %.2fx | %.2f | %.2f | %.2fx "
          "| %.1f | %.1f | %.1fx | %.0e |" % (
              name, n, d, nu, ours.n_support_[0], fit_ours, fit_sk, fit_sk / fit_ours,
              score_ours / n * 1e6, score_sk / n * 1e6, score_sk / score_ours,
              row_ns / 1e3, sk_row_ns / 1e3, sk_row_ns / row_ns, diff),
          flush=True)


def timed(fn):
    """(wall s, CPU s, result) of one call."""
    t, c = time.perf_counter(), time.process_time()
    out = fn()
    return time.perf_counter() - t, time.process_time() - c, out


def defaults_run(name, X):
    """One row of the defaults table: fit and batch scoring with nothing set."""
    fit = {"ours": [], "sk": []}
    for _ in range(3):  # alternate the sides
        wall, cpu, ours = timed(lambda: anoma.OneClassSVM().fit(X))
        fit["ours"].append((cpu, wall))
        wall, cpu, sk = timed(lambda: OneClassSVM().fit(X))
        fit["sk"].append((cpu, wall))
    score = {"ours": [], "sk": []}
    for _ in range(5):
        wall, cpu, d_ours = timed(lambda: ours.decision_function(X))
        score["ours"].append((cpu, wall))
        wall, cpu, d_sk = timed(lambda: sk.decision_function(X))
        score["sk"].append((cpu, wall))
    diff = np.max(np.abs(d_ours - d_sk) / np.maximum(1, np.abs(d_sk)))
    best = {k: (min(c for c, _ in v), min(w for _, w in v)) for k, v in fit.items()}
    best_score = {k: (min(c for c, _ in v) / len(X) * 1e6, min(w for _, w in v) / len(X) * 1e6)
                  for k, v in score.items()}
    n, d = X.shape
    print("| %s | %d x %d | %d | %.4f | %.4f | %.2fx | %.2fx | %.4f | %.4f | %.2f | %.2f | %.2fx "
          "| %.2f | %.2f | %.0e |" % (
              name, n, d, ours.n_support_[0], best["ours"][0], best["sk"][0],
              best["sk"][0] / best["ours"][0], fit["sk"][0][0] / fit["ours"][0][0],
              best["ours"][1], best["sk"][1], best_score["ours"][0], best_score["sk"][0],
              best_score["sk"][0] / best_score["ours"][0], best_score["ours"][1],
              best_score["sk"][1], diff), flush=True)


def datasets(quick, gauss_rows=(10000, 20000)):
    """(name, X): the Gaussian sets, then the shared tabular ones present."""
    for rows in gauss_rows:
        if not (quick and rows > 10000):
            yield "gauss", gaussian(rows, 10)
    for name in TABULAR:
        X = shared(name)
        if X is not None:
            yield name, X


def defaults_table(quick):
    print()
    print("The user's first call: defaults, one thread each; %s; %d cores; load average %.2f"
          % (openblas_line(), os.cpu_count(), os.getloadavg()[0]))
    print()
    print("| data | rows x features | SVs | fit CPU s | sklearn fit CPU s | fit ratio (CPU) | first "
          "fit ratio (CPU) | fit wall s | sklearn fit wall s | batch CPU us/row | sklearn CPU "
          "us/row | batch ratio (CPU) | batch wall us/row | sklearn wall us/row | diff |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, X in datasets(quick, (10000,)):  # 20000 x 10 at nu = 0.5: minutes a side
        defaults_run(name, X)
    print()
    print("load average %.2f at the end" % os.getloadavg()[0])


def sgd_run(label, X, y, ours_params, sk_make, tmp, quick):
    wall, cpu, ours = timed(lambda: anoma.SGDOneClassSVM(n_jobs=1, random_state=0,
                                                         **ours_params).fit(X))
    sk_wall, sk_cpu, sk = timed(lambda: sk_make().fit(X))
    d_ours, d_sk = ours.decision_function(X), sk.decision_function(X)
    diff = np.max(np.abs(d_ours - d_sk) / np.maximum(1, np.abs(d_sk)))
    s_wall, s_cpu, _ = timed(lambda: ours.decision_function(X))
    sk_s_wall, sk_s_cpu, _ = timed(lambda: sk.decision_function(X))
    row_ns = row_latency(ours, X, tmp, 2000 if quick else 20000)
    sk_row_ns = sklearn_row(sk, X, 200 if quick else 1000)
    n = len(X)
    print("| %s | %d x %d | %.2f (%.2f) | %.2f (%.2f) | %.2fx | %d | %.3f | %.3f | %.2fx | %.2f | "
          "%.1f | %.0fx | %.4f | %.4f | %.0e |" % (
              label, n, X.shape[1], wall, cpu, sk_wall, sk_cpu, sk_cpu / cpu, ours.n_iter_,
              s_cpu / n * 1e6, sk_s_cpu / n * 1e6, sk_s_cpu / s_cpu, row_ns / 1e3,
              sk_row_ns / 1e3, sk_row_ns / row_ns, roc_auc_score(y, -d_ours),
              roc_auc_score(y, -d_sk), diff), flush=True)


def sgd_table(tmp, quick):
    rows = 100000 if quick else 1000000
    X = gaussian(rows, 10)
    y = np.zeros(rows, dtype=int)
    y[rows - rows // 50:] = 1  # the uniform outliers are the last 2 %
    print()
    print("SGD variant; %s; %d cores; load average %.2f" % (openblas_line(), os.cpu_count(),
                                                            os.getloadavg()[0]))
    print()
    print("| map | rows x features | fit s, wall (CPU) | sklearn fit s, wall (CPU) | fit ratio "
          "(CPU) | epochs | batch us/row | sklearn us/row | batch ratio | row us | sklearn row "
          "us | row ratio | ROC AUC | sklearn ROC AUC | diff |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    sgd_run("none", X, y, dict(map="none"),
            lambda: SGDOneClassSVM(random_state=0, average=True), tmp, quick)
    sgd_run("nystroem, 100", X, y, dict(),
            lambda: make_pipeline(Nystroem(gamma=1.0 / (X.shape[1] * X.var()),
                                           n_components=100, random_state=0),
                                  SGDOneClassSVM(random_state=0, average=True)), tmp, quick)


def main():
    quick = "--quick" in sys.argv
    only = sys.argv[sys.argv.index("--only") + 1] if "--only" in sys.argv else None
    if only in (None, "defaults"):
        defaults_table(quick)
    if only in (None, "kernel"):
        kernel_table(quick)
    if only in (None, "sgd"):
        with tempfile.TemporaryDirectory() as tmp:
            sgd_table(tmp, quick)


def kernel_table(quick):
    repeats = 1 if quick else 3
    print()
    print("Kernel solver; %s; %d cores; load average %.2f" % (
        openblas_line(), os.cpu_count(), os.getloadavg()[0]))
    print()
    print("| data | rows x features | nu | SVs | fit s | sklearn fit s | fit ratio | batch us/row "
          "| sklearn us/row | batch ratio | row us | sklearn row us | row ratio | diff |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as tmp:
        run("gauss", gaussian(10000, 10), 0.5, repeats, tmp, quick)
        for name, X in datasets(quick):
            run(name, X, 0.1, repeats, tmp, quick)
    print()
    print("load average %.2f at the end" % os.getloadavg()[0])


if __name__ == "__main__":
    main()
