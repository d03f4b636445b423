#!/usr/bin/python3
"""bench/pipeline.py: a 10-step feature pipeline against the equivalent
scikit-learn ColumnTransformer, in one run. Not a test: nothing asserts a time.

    bench/pipeline.py [--rows N] [--repeats R] [--library PATH]

It measures the library at PATH (default build-bench/lib/libanoma.so, which
bench/run builds).

Data: N rows (default 1,000,000) of 20 columns: a timestamp, three text
columns (device, country, browser) and 16 numbers, about 5 % of x0..x3
missing. Steps: time features; one-hot of the three text columns; median
imputation then standard scaling of x0..x3; robust scaling of x4..x7;
min-max of x8, x9; max-abs of x10, x11; PCA of x12..x15 to 2 components,
then scaled; a select into scikit-learn's column order. Both sides fit on
the data and transform it; the outputs are checked to agree (to 1e-9, PCA
up to sign) before any time is reported. Times: the best of R transforms
of the fitted pipeline, on one thread: libanoma's
anoma_model_transform_frame on a frame over the columns (made once, outside
the timing, as a host would hold its data) into an array the caller keeps
(and, for comparison, into a new array each call, as scikit-learn returns),
scikit-learn's ColumnTransformer.transform on the pandas DataFrame; then
each library's default (libanoma on every core). Then the per-row latency of the same pipeline through the row
scorer (bench/pipeline_latency.c, in C), and of a model without steps on
the pipeline's output width, so that the difference is the steps' cost.
See docs/benchmarks.md.
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import pandas as pd

from blas_info import openblas_line

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.path.join(ROOT, "build-bench")

NUMBERS = ["x%d" % j for j in range(16)]
IMPUTED = NUMBERS[0:4]  # about 5 % of their values are missing
STEPS = [
    "time_features column=ts features=hour,day_of_week,month,weekend",
    "one_hot columns=device,country,browser unseen=ignore",
    "imputer columns=x0,x1,x2,x3 strategy=median",
    "standard_scaler columns=x0,x1,x2,x3",
    "robust_scaler columns=x4,x5,x6,x7",
    "minmax_scaler columns=x8,x9",
    "maxabs_scaler columns=x10,x11",
    "pca columns=x12,x13,x14,x15 n_components=2",
    "standard_scaler columns=pca0,pca1",
    None,  # select: scikit-learn's column order (filled in by main)
]


def data(rows, seed=0):
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({
        "ts": pd.to_datetime(1_600_000_000 + rng.integers(0, 3 * 365 * 86400, rows), unit="s"),
        "device": rng.choice(["web", "ios", "android", "tv", "kiosk"], rows),
        "country": rng.choice(["c%02d" % k for k in range(20)], rows),
        "browser": rng.choice(["b%d" % k for k in range(8)], rows),
    })
    mix = rng.normal(size=(16, 16))
    values = rng.normal(size=(rows, 16)) @ mix * rng.uniform(0.5, 50, 16) + rng.normal(size=16)
    values[:, :len(IMPUTED)][rng.random((rows, len(IMPUTED))) < 0.05] = np.nan
    for j, name in enumerate(NUMBERS):
        df[name] = values[:, j]
    return df


def sklearn_pipeline():
    from sklearn.compose import ColumnTransformer
    from sklearn.decomposition import PCA
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import (FunctionTransformer, MaxAbsScaler, MinMaxScaler,
                                       OneHotEncoder, RobustScaler, StandardScaler)

    def time_features(frame):
        t = frame["ts"]
        sec = (t.dt.hour * 3600 + t.dt.minute * 60 + t.dt.second).to_numpy(float)
        dow = t.dt.dayofweek.to_numpy(float)
        month = (t.dt.month - 1).to_numpy(float)
        angle = [2 * np.pi * sec / 86400, 2 * np.pi * dow / 7, 2 * np.pi * month / 12]
        cols = []
        for a in angle:
            cols += [np.sin(a), np.cos(a)]
        return np.column_stack(cols + [(dow >= 5).astype(float)])

    return ColumnTransformer([
        ("time", FunctionTransformer(time_features), ["ts"]),
        ("onehot", OneHotEncoder(handle_unknown="ignore", sparse_output=False),
         ["device", "country", "browser"]),
        ("impute", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), IMPUTED),
        ("robust", RobustScaler(), NUMBERS[4:8]),
        ("minmax", MinMaxScaler(), NUMBERS[8:10]),
        ("maxabs", MaxAbsScaler(), NUMBERS[10:12]),
        ("pca", make_pipeline(PCA(2, svd_solver="full"), StandardScaler()), NUMBERS[12:16]),
    ])


def best(fn, repeats):
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def build_latency_timer(library, folder):
    """bench/pipeline_latency.c, linked to the library measured."""
    src = os.path.join(ROOT, "bench", "pipeline_latency.c")
    exe = os.path.join(folder, "pipeline_latency")
    lib = os.path.dirname(os.path.realpath(library))
    subprocess.run(["cc", "-O2", "-std=c11", "-Wall", "-I", os.path.join(ROOT, "include"), src,
                    "-o", exe, "-L", lib, "-lanoma", "-Wl,-rpath," + lib], check=True)
    return exe


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--library", default=os.path.join(BUILD, "lib", "libanoma.so"))
    args = ap.parse_args()
    os.environ["ANOMA_LIBRARY"] = args.library
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    sys.path[:0] = [os.path.join(ROOT, "bindings", "python"), os.path.join(ROOT, "tests", "python")]
    import frames  # the ctypes frame helpers of the step tests

    df = data(args.rows)
    sk = sklearn_pipeline().fit(df)
    # libanoma's names for scikit-learn's columns, in scikit-learn's order
    names = ["ts_hour_sin", "ts_hour_cos", "ts_day_of_week_sin", "ts_day_of_week_cos",
             "ts_month_sin", "ts_month_cos", "ts_weekend"]
    for col, cats in zip(("device", "country", "browser"), sk.named_transformers_["onehot"].categories_):
        names += ["%s=%s" % (col, v) for v in cats]
    names += NUMBERS[:12] + ["pca0", "pca1"]
    steps = STEPS[:-1] + ["select columns=" + ",".join(names)]
    model = frames.Model(df, steps, n_threads=1)
    frame = frames.Frame(df)
    width = len(names)
    out = np.empty((len(df), width))

    def anoma_transform():
        frames._check(frames.lib.anoma_model_transform_frame(model.handle, frame.handle,
                                                             out.ctypes.data))

    anoma_transform()
    ref = sk.transform(df)
    pca = [k for k, n in enumerate(names) if n.startswith("pca")]
    sign = np.where(np.sum(out[:, pca] * ref[:, pca], axis=0) < 0, -1.0, 1.0)
    ref[:, pca] *= sign
    gap = np.max(np.abs(out - ref) / np.maximum(1, np.abs(ref)))
    if not gap <= 1e-9:  # a NaN anywhere fails too
        sys.exit("bench/pipeline.py: outputs differ by %.3g" % gap)

    def anoma_transform_new_array():
        fresh = np.empty((len(df), width))
        frames._check(frames.lib.anoma_model_transform_frame(model.handle, frame.handle,
                                                             fresh.ctypes.data))

    t_anoma = best(anoma_transform, args.repeats)
    t_anoma_new = best(anoma_transform_new_array, args.repeats)
    t_sk = best(lambda: sk.transform(df), args.repeats)
    # the default view: libanoma on every core (n_threads=0, its default);
    # scikit-learn's ColumnTransformer runs on one (n_jobs=None, its default)
    frames._check(frames.lib.anoma_model_set_n_threads(model.handle, 0))
    t_anoma_all = best(anoma_transform, args.repeats)
    frames._check(frames.lib.anoma_model_set_n_threads(model.handle, 1))

    print("## Feature pipeline: 10 steps, %d rows x 20 columns -> %d features" % (len(df), width))
    print()
    print("- %s; %d cores; one thread on both sides; load average %.2f"
          % (openblas_line(), os.cpu_count(), os.getloadavg()[0]))
    print("- outputs agree to %.1e (relative; PCA up to sign)" % gap)
    print()
    print("| transform | seconds | rows/s | ratio |")
    print("|---|---|---|---|")
    print("| libanoma | %.3f | %.3g | %.1fx |" % (t_anoma, len(df) / t_anoma, t_sk / t_anoma))
    print("| libanoma, into a new array each call | %.3f | %.3g | %.1fx |"
          % (t_anoma_new, len(df) / t_anoma_new, t_sk / t_anoma_new))
    print("| scikit-learn ColumnTransformer | %.3f | %.3g | 1 |" % (t_sk, len(df) / t_sk))
    print()
    print("| transform, each library's default threads | seconds | rows/s | ratio |")
    print("|---|---|---|---|")
    print("| libanoma, n_threads=0 (%d cores) | %.3f | %.3g | %.1fx |"
          % (os.cpu_count(), t_anoma_all, len(df) / t_anoma_all, t_sk / t_anoma_all))
    print("| scikit-learn ColumnTransformer, n_jobs=None | %.3f | %.3g | 1 |"
          % (t_sk, len(df) / t_sk))

    # per-row latency, in C, through the row scorer; and without steps
    with tempfile.TemporaryDirectory() as tmp:
        exe = build_latency_timer(args.library, tmp)
        sample = df.iloc[:20000]
        csv = os.path.join(tmp, "rows.csv")
        sample.assign(ts=sample["ts"].astype("int64") // 10**9).to_csv(csv, index=False)
        plain = os.path.join(tmp, "plain.csv")
        pd.DataFrame(out[:20000], columns=["f%d" % k for k in range(width)]).to_csv(
            plain, index=False)
        model_path = os.path.join(tmp, "model.anoma")
        model.save(model_path)
        bare = frames.Model(pd.read_csv(plain), [], n_threads=1)
        bare_path = os.path.join(tmp, "bare.anoma")
        bare.save(bare_path)
        rows = []
        for label, path, data_csv, opts in (("10 steps + zscore", model_path, csv, "types=ts:timestamp"),
                                            ("zscore alone, %d columns" % width, bare_path, plain, "")):
            r = subprocess.run([exe, path, data_csv, opts, "200000", "5"], capture_output=True,
                               text=True, check=True)
            rows.append((label, float(r.stdout.split()[0])))
    print()
    print("| row scorer, one row at a time | ns per row |")
    print("|---|---|")
    for label, ns in rows:
        print("| %s | %.0f |" % (label, ns))
    print("| the steps' share (difference) | %.0f |" % (rows[0][1] - rows[1][1]))


if __name__ == "__main__":
    main()
