"""Gradient-boosted trees ("gbt") against XGBoost 1.7 (tree_method="hist"),
on the same data in the same run: training time, batch prediction per row,
single-row latency in C, model file size, and test ROC AUC.

    /usr/bin/python3 bench/gbt.py [--quick] [--batch [--save DIR]] [--build DIR]

Data: 100000 x 20 synthetic rows with 5 % positives (a fixed nonlinear rule
plus label noise) and the shared labelled tabular datasets, split 70/30
(stratified, seed 0). Both sides train 100 trees of depth 6 with XGBoost's
defaults, on 1 and on 2 threads. Batch: probabilities of the test rows
(libanoma's Model.detector_scores; XGBoost's inplace_predict, its fastest
Python path). Single row: libanoma's C row scorer (bench/row_latency.c,
anoma_row_scorer_score) against XGBoost's C API (bench/xgboost_row_latency.c,
XGBoosterPredictFromDense on one row, libxgboost-dev), both on one thread,
compiled here with the system C compiler. Size: libanoma's model file
against XGBoost's JSON and UBJSON files.

A second table, on the same data: TreeSHAP per row on the same model
(XGBoost's trained model imported with anoma.from_xgboost, then
GradientBoostedTrees.feature_contributions against XGBoost's
predict(pred_contribs=True), 1 and 2 threads, and the largest difference
between the two), and the training time of the other ways of growing: a
random forest as XGBRFClassifier's defaults (one round of 100 trees,
subsample and colsample_bynode 0.8, eta 1) and grow_policy=lossguide with
max_leaves=31, max_depth=0 (100 rounds), 1 thread.

Times are the best of a few runs, alternating the sides. Batch prediction
is timed in runs of three calls in a row of one side, the best call kept:
XGBoost's OpenMP threads keep spinning for milliseconds after its call
returns, and a call of the other side timed right after shares the cores
with them (measured: +60 % CPU for libanoma's 2-thread batch on the
synthetic set); the later calls of a run see each side on its own, as a
host that calls one of them repeatedly does. Ratios are XGBoost time /
libanoma time (> 1: libanoma faster). Uses the library of DIR (default
build-bench if it exists, else build: a release build).

--batch: batch prediction only (both sides trained untimed), wall and CPU
time (the process's, every thread) per row on 1 and 2 threads, 5 runs each:
CPU ratios stay meaningful on a machine shared with other work, where
wall-clock times do not. --save DIR also writes each set's libanoma model
and test rows there (NAME.anoma, NAME.f64) for bench/gbt_ab.c.
"""
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = sys.argv[sys.argv.index("--build") + 1] if "--build" in sys.argv else (
    os.path.join(ROOT, "build-bench") if os.path.isdir(os.path.join(ROOT, "build-bench"))
    else os.path.join(ROOT, "build"))
LIB_DIR = os.path.join(BUILD, "lib")
os.environ.setdefault("ANOMA_LIBRARY", os.path.join(LIB_DIR, "libanoma.so"))
sys.path.insert(0, os.path.join(ROOT, "bindings", "python"))
DATA = os.environ.get("ANOMA_SHARED_DATA") or os.path.join(ROOT, "..", "shared", "data")
TABULAR = ["cardio", "mammography", "satellite", "shuttle", "annthyroid"]

import anoma  # noqa: E402
import xgboost as xgb  # noqa: E402
from sklearn.metrics import roc_auc_score  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402


def best(fn, repeats):
    times, out = [], None
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return min(times), out


def synthetic(rows=100000, cols=20, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((rows, cols))
    margin = X[:, 0] * X[:, 1] + np.sin(2 * X[:, 2]) + 0.5 * X[:, 3] ** 2 - X[:, 4]
    margin += 0.5 * rng.standard_normal(rows)
    y = (margin > np.quantile(margin, 0.95)).astype(int)
    return X, y


def shared(name):
    path = os.path.join(DATA, name + ".csv")
    if not os.path.exists(path):
        return None
    d = np.loadtxt(path, delimiter=",", skiprows=1)
    return np.ascontiguousarray(d[:, :-1]), d[:, -1].astype(int)


def compile_timers(tmp):
    """The two single-row timers, or None where a compiler or library is missing."""
    ours, theirs = os.path.join(tmp, "row_latency"), os.path.join(tmp, "xgb_row")
    cc = os.environ.get("CC", "cc")
    built = []
    for out, args in ((ours, [os.path.join(ROOT, "bench", "row_latency.c"),
                              "-I" + os.path.join(ROOT, "include"), "-L" + LIB_DIR, "-lanoma",
                              "-Wl,-rpath," + LIB_DIR]),
                      (theirs, [os.path.join(ROOT, "bench", "xgboost_row_latency.c"),
                                "-lxgboost"])):
        r = subprocess.run([cc, "-O2", "-o", out] + args, capture_output=True, text=True)
        built.append(out if r.returncode == 0 else None)
    return built


def timer(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return float(r.stdout.split()[0])


def timed(fn):
    """fn's wall and process CPU seconds (every thread), and its result."""
    w, c = time.perf_counter(), time.process_time()
    out = fn()
    return time.perf_counter() - w, time.process_time() - c, out


def batch_times(ours, booster, Xte, repeats):
    """Best wall and CPU seconds of each side's batch prediction of Xte on 1
    and 2 threads, keyed ("ours" or "xgb", threads), in runs of three calls
    of one side (see the docstring); and both predictions."""
    wall, cpu, pred = {}, {}, {}
    for threads in (1, 2):
        ours.n_threads = threads
        booster.set_param({"nthread": threads})
        for _ in range(repeats):
            for side, fn in (("ours", lambda: ours.detector_scores(Xte)),
                             ("xgb", lambda: booster.inplace_predict(Xte))):
                for _ in range(3):
                    w, c, pred[side] = timed(fn)
                    wall[side, threads] = min(wall.get((side, threads), 1e300), w)
                    cpu[side, threads] = min(cpu.get((side, threads), 1e300), c)
    return wall, cpu, pred["ours"], pred["xgb"]


def batch_only(name, X, y, repeats):
    Xtr, Xte, ytr, _ = train_test_split(X, y, test_size=0.3, random_state=0, stratify=y)
    ours = anoma.Model({"contamination": "auto", "n_threads": 1}, [("gbt", "")]).fit(Xtr, ytr)
    booster = xgb.XGBClassifier(tree_method="hist", n_estimators=100, max_depth=6,
                                nthread=1).fit(Xtr, ytr).get_booster()
    if "--save" in sys.argv:
        save = sys.argv[sys.argv.index("--save") + 1]
        ours.save(os.path.join(save, name + ".anoma"))
        np.ascontiguousarray(Xte, dtype=np.float64).tofile(os.path.join(save, name + ".f64"))
    wall, cpu, _, _ = batch_times(ours, booster, Xte, repeats)
    n = len(Xte)
    cells = []
    for threads in (1, 2):
        o, r = wall["ours", threads], wall["xgb", threads]
        co, cr = cpu["ours", threads], cpu["xgb", threads]
        cells += ["%.3f" % (o / n * 1e6), "%.3f" % (r / n * 1e6), "%.1fx" % (r / o),
                  "%.3f" % (co / n * 1e6), "%.3f" % (cr / n * 1e6), "%.1fx" % (cr / co)]
    print("| %s | %d x %d | %s |" % (name, n, X.shape[1], " | ".join(cells)), flush=True)


def run(name, X, y, repeats, timers, tmp, quick):
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.3, random_state=0, stratify=y)
    fit = {}
    for _ in range(repeats):  # alternate the sides
        for threads in (1, 2):
            t, ours = best(lambda: anoma.Model({"contamination": "auto",
                                                "n_threads": threads},
                                               [("gbt", "")]).fit(Xtr, ytr), 1)
            fit["ours", threads] = min(fit.get(("ours", threads), 1e300), t)
            t, ref = best(lambda: xgb.XGBClassifier(tree_method="hist", n_estimators=100,
                                                    max_depth=6, nthread=threads).fit(Xtr, ytr), 1)
            fit["xgb", threads] = min(fit.get(("xgb", threads), 1e300), t)
    booster = ref.get_booster()
    batch, _, p_ours, p_ref = batch_times(ours, booster, Xte, repeats)
    auc, ref_auc = roc_auc_score(yte, p_ours), roc_auc_score(yte, p_ref)
    paths = {k: os.path.join(tmp, name + k) for k in (".anoma", ".json", ".ubj", ".f64", ".f32")}
    ours.save(paths[".anoma"])
    booster.save_model(paths[".json"])
    booster.save_model(paths[".ubj"])
    rows = min(len(Xte), 1000)
    np.ascontiguousarray(Xte[:rows], dtype=np.float64).tofile(paths[".f64"])
    np.ascontiguousarray(Xte[:rows], dtype=np.float32).tofile(paths[".f32"])
    calls = "20000" if quick else "200000"
    row = {"ours": float("nan"), "xgb": float("nan")}
    if timers[0]:
        row["ours"] = timer([timers[0], paths[".anoma"], paths[".f64"], str(rows),
                             str(X.shape[1]), calls, "5"])
    if timers[1]:
        row["xgb"] = timer([timers[1], paths[".json"], paths[".f32"], str(rows),
                            str(X.shape[1]), calls, "5"])
    size = {k: os.path.getsize(paths[k]) for k in (".anoma", ".json", ".ubj")}
    n = len(Xte)
    print("| %s | %d x %d | %.2f | %.2f | %.2fx | %.2f | %.2f | %.2fx | %.3f | %.3f | %.1fx "
          "| %.3f | %.3f | %.1fx | %.2f | %.2f | %.1fx | %.0f | %.0f / %.0f | %.4f / %.4f |" % (
              name, len(X), X.shape[1],
              fit["ours", 1], fit["xgb", 1], fit["xgb", 1] / fit["ours", 1],
              fit["ours", 2], fit["xgb", 2], fit["xgb", 2] / fit["ours", 2],
              batch["ours", 1] / n * 1e6, batch["xgb", 1] / n * 1e6,
              batch["xgb", 1] / batch["ours", 1],
              batch["ours", 2] / n * 1e6, batch["xgb", 2] / n * 1e6,
              batch["xgb", 2] / batch["ours", 2],
              row["ours"] / 1e3, row["xgb"] / 1e3, row["xgb"] / row["ours"],
              size[".anoma"] / 1e3, size[".json"] / 1e3, size[".ubj"] / 1e3, auc, ref_auc),
          flush=True)


def explain_and_modes(name, X, y, repeats):
    Xtr, Xte, ytr, _ = train_test_split(X, y, test_size=0.3, random_state=0, stratify=y)
    ref = xgb.XGBClassifier(tree_method="hist", n_estimators=100, max_depth=6,
                            nthread=1).fit(Xtr, ytr)
    booster = ref.get_booster()
    mine = anoma.from_xgboost(ref)
    rows = Xte[:2000]
    shap = {}
    for threads in (1, 2):
        mine.n_jobs = threads
        booster.set_param({"nthread": threads})
        dm = xgb.DMatrix(rows, nthread=threads)
        for _ in range(repeats):
            t, c_ours = best(lambda: mine.feature_contributions(rows), 1)
            shap["ours", threads] = min(shap.get(("ours", threads), 1e300), t)
            t, c_ref = best(lambda: booster.predict(dm, pred_contribs=True), 1)
            shap["xgb", threads] = min(shap.get(("xgb", threads), 1e300), t)
    diff = float(np.max(np.abs(c_ours - c_ref)))
    fit = {}
    rf = dict(n_estimators=1, num_parallel_tree=100, learning_rate=1, subsample=0.8,
              colsample_bynode=0.8, reg_lambda=1e-5)
    lg = dict(n_estimators=100, grow_policy="lossguide", max_leaves=31, max_depth=0)
    for _ in range(repeats):  # alternate the sides
        for mode, kw, xkw in (("rf", rf, dict(n_estimators=100)), ("lg", lg, lg)):
            t, _ = best(lambda: anoma.GradientBoostedTrees(n_jobs=1, **kw).fit(Xtr, ytr), 1)
            fit["ours", mode] = min(fit.get(("ours", mode), 1e300), t)
            cls = xgb.XGBRFClassifier if mode == "rf" else xgb.XGBClassifier
            t, _ = best(lambda: cls(tree_method="hist", nthread=1, **xkw).fit(Xtr, ytr), 1)
            fit["xgb", mode] = min(fit.get(("xgb", mode), 1e300), t)
    n = len(rows)
    print("| %s | %.1f | %.1f | %.1fx | %.1f | %.1f | %.1fx | %.1e | %.2f | %.2f | %.2fx "
          "| %.2f | %.2f | %.2fx |" % (
              name, shap["ours", 1] / n * 1e6, shap["xgb", 1] / n * 1e6,
              shap["xgb", 1] / shap["ours", 1], shap["ours", 2] / n * 1e6,
              shap["xgb", 2] / n * 1e6, shap["xgb", 2] / shap["ours", 2], diff,
              fit["ours", "rf"], fit["xgb", "rf"], fit["xgb", "rf"] / fit["ours", "rf"],
              fit["ours", "lg"], fit["xgb", "lg"], fit["xgb", "lg"] / fit["ours", "lg"]),
          flush=True)


def main():
    quick = "--quick" in sys.argv
    repeats = 1 if quick else 3
    if "--batch" in sys.argv:
        print("| data | test rows x features | batch us/row, 1 thread | XGBoost | ratio "
              "| CPU us/row | XGBoost | CPU ratio | 2 threads | XGBoost | ratio | CPU us/row "
              "| XGBoost | CPU ratio |")
        print("|---|---|" + "---:|" * 12)
        batch_only("synthetic", *synthetic(20000 if quick else 100000), 5)
        for name in TABULAR:
            data = shared(name)
            if data is not None:
                batch_only(name, *data, 5)
        return
    print("| data | rows x features | fit s, 1 thread | XGBoost | ratio | fit s, 2 threads "
          "| XGBoost | ratio | batch us/row, 1 thread | XGBoost | ratio | batch us/row, "
          "2 threads | XGBoost | ratio | row us (C) | XGBoost C API | ratio | file kB "
          "| XGBoost json / ubj kB | test ROC AUC ours / XGBoost |")
    print("|---|---|" + "---:|" * 19)
    with tempfile.TemporaryDirectory() as tmp:
        timers = compile_timers(tmp)
        run("synthetic", *synthetic(20000 if quick else 100000), repeats, timers, tmp, quick)
        for name in TABULAR:
            data = shared(name)
            if data is not None:
                run(name, *data, repeats, timers, tmp, quick)
    print()
    print("| data | TreeSHAP us/row, 1 thread | XGBoost pred_contribs | ratio | 2 threads "
          "| XGBoost | ratio | largest difference | random forest fit s | XGBRFClassifier "
          "| ratio | lossguide fit s | XGBoost | ratio |")
    print("|---|" + "---:|" * 13)
    explain_and_modes("synthetic", *synthetic(20000 if quick else 100000), repeats)
    for name in TABULAR:
        data = shared(name)
        if data is not None:
            explain_and_modes(name, *data, repeats)


if __name__ == "__main__":
    main()
