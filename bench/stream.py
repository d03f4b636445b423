#!/usr/bin/python3
"""bench/stream.py: a stream over 100,000 entities against the per-row loop
a Python user would write with scikit-learn, in one run. Not a test:
nothing asserts a time.

    bench/stream.py [--entities N] [--pushes P] [--repeats R] [--library PATH]

It measures the library at PATH (default build-bench/lib/libanoma.so, which
bench/run builds) and its `anoma` next to it.

Model: an isolation forest (100 trees, 256 samples) behind a 5-step pipeline:
window features of amount and clicks (lag 1, rolling mean and std of 10,
EWMA 0.3), a median imputer, the ratio amount / clicks, a robust scaler of
x2 and x3, a standard scaler; fitted by `anoma train` on 100,000 rows.
Stream (bench/stream_latency.c, in C, one thread): every entity pushed once
(each push makes an entity), then P pushes to uniformly random entities,
best of R: observations per second of wall time and per second of the
process's CPU time (per core, which other jobs on a shared machine do not
inflate); then the same pushes timed one by one:
p50 / p99 / p99.9 in ns (the clock's own cost is printed beside). Memory:
anoma_stream_entity_bytes and the stream's whole memory per entity. Peer:
the per-row loop a user writes without a stream: per-entity deques for the
window features in Python, then scikit-learn's IsolationForest.score_samples
on the one row (and that call alone). Also: anoma.Stream.push_many from
Python, and `anoma stream --entity user` on a CSV pipe, lines per second.
See docs/benchmarks.md.
"""
import argparse
import collections
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
STEPS = ["window columns=amount,clicks lags=1 rolling=10 stats=mean,std ewma_alpha=0.3",
         "imputer strategy=median",
         "ratio numerator=amount denominator=clicks",
         "robust_scaler columns=x2,x3",
         "standard_scaler"]


def rows(n, seed):
    """As stream_latency.c draws them: amount with rare spikes, clicks, x2, x3."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "amount": 40 + 10 * rng.standard_normal(n) + np.where(rng.random(n) < 0.01, 400, 0),
        "clicks": np.floor(3 + 1.5 * np.abs(rng.standard_normal(n))),
        "x2": rng.standard_normal(n),
        "x3": 2 * rng.standard_normal(n) + 1,
    })


def build_timer(library, folder):
    exe = os.path.join(folder, "stream_latency")
    subprocess.run(["cc", "-O2", "-std=c11", "-Wall", "-I", os.path.join(ROOT, "include"),
                    os.path.join(ROOT, "bench", "stream_latency.c"), "-o", exe, "-lm",
                    "-L", os.path.dirname(library), "-lanoma",
                    "-Wl,-rpath," + os.path.dirname(library)], check=True)
    return exe


def python_features(window, row, alpha=0.3):
    """The window step's features for one row in a per-entity deque, as a
    Python loop computes them (lag 1, rolling mean / std of 10, EWMA)."""
    out = []
    for c in (0, 1):
        past = window["values"][c]
        x = row[c]
        out.append(past[-1] if past else np.nan)
        last = list(past)[-9:] + [x]
        out.append(np.mean(last) if len(last) == 10 else np.nan)
        out.append(np.std(last, ddof=1) if len(last) == 10 else np.nan)
        e = window["ewma"][c]
        window["ewma"][c] = x if e is None else (1 - alpha) * e + alpha * x
        out.append(window["ewma"][c])
        past.append(x)
    return out


def peer_loop(iforest, medians, X, who, n):
    """The per-row loop: per-entity state in dicts of deques, features in
    Python, one score_samples call per row. Seconds per row."""
    state = collections.defaultdict(lambda: {"values": [collections.deque(maxlen=10),
                                                        collections.deque(maxlen=10)],
                                             "ewma": [None, None]})
    t = time.perf_counter()
    for i in range(n):
        row = X[i]
        f = list(row) + python_features(state[who[i]], row)
        f = [medians[k] if v != v else v for k, v in enumerate(f)]
        f.append(f[0] / f[1] if f[1] else np.nan)
        iforest.score_samples(np.asarray(f).reshape(1, -1))
    return (time.perf_counter() - t) / n


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--entities", type=int, default=100_000)
    ap.add_argument("--pushes", type=int, default=2_000_000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--library", default=os.path.join(BUILD, "lib", "libanoma.so"))
    args = ap.parse_args()
    os.environ["ANOMA_LIBRARY"] = args.library
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    sys.path.insert(0, os.path.join(ROOT, "bindings", "python"))
    import anoma
    from sklearn.ensemble import IsolationForest
    cli = os.path.join(os.path.dirname(os.path.dirname(args.library)), "examples", "anoma")
    load = os.getloadavg()[0]

    with tempfile.TemporaryDirectory() as tmp:
        train = rows(100_000, 1)
        train_csv = os.path.join(tmp, "train.csv")
        train.to_csv(train_csv, index=False)
        model_path = os.path.join(tmp, "model.anoma")
        step_args = [a for s in STEPS for a in ("--step", s)]
        subprocess.run([cli, "train", *step_args, "-d", "iforest", "-p", "seed=1", "-o",
                        model_path, train_csv], check=True, capture_output=True)
        exe = build_timer(args.library, tmp)
        r = subprocess.run([exe, model_path, str(args.entities), str(args.pushes),
                            str(args.repeats)], capture_output=True, text=True, check=True)
        c = {k: float(v) for k, v in (line.split() for line in r.stdout.splitlines())}

        # the peer: scikit-learn's forest on the same features, row by row
        feats = train.copy()
        for col in ("amount", "clicks"):
            feats[col + "_lag"] = train[col].shift(1)
            feats[col + "_mean"] = train[col].rolling(10).mean()
            feats[col + "_std"] = train[col].rolling(10).std()
            feats[col + "_ewma"] = train[col].ewm(alpha=0.3).mean()
        medians = feats.median().to_numpy()
        feats = feats.fillna(feats.median())
        feats["ratio"] = feats["amount"] / feats["clicks"]
        iforest = IsolationForest(n_estimators=100, random_state=1).fit(feats.to_numpy())
        probe = rows(20_000, 2)
        X = probe.to_numpy()
        who = np.random.default_rng(3).integers(0, args.entities, len(X))
        n_peer = 200
        t_peer = peer_loop(iforest, medians, X, who, n_peer)
        one = feats.to_numpy()[:1]
        iforest.score_samples(one)
        t = time.perf_counter()
        for _ in range(n_peer):
            iforest.score_samples(one)
        t_call = (time.perf_counter() - t) / n_peer

        # the Python binding: push_many over the same entities
        stream = anoma.Stream(anoma.Model.load(model_path), max_entities=args.entities)
        keys = np.array(["user-%d" % k for k in who], dtype=object)
        t = time.perf_counter()
        stream.push_many(keys, X)
        t_py = (time.perf_counter() - t) / len(X)

        # the CLI on a pipe
        n_lines = 200_000
        lines = rows(n_lines, 4)
        lines.insert(0, "user", ["user-%d" % k for k in
                                 np.random.default_rng(5).integers(0, args.entities, n_lines)])
        data_csv = os.path.join(tmp, "lines.csv")
        lines.to_csv(data_csv, index=False)
        with open(data_csv) as src, open(os.devnull, "w") as sink:
            t = time.perf_counter()
            subprocess.run([cli, "stream", model_path, "--entity", "user"], stdin=src,
                           stdout=sink, check=True)
            t_cli = time.perf_counter() - t

    per_push = 1e9 / c["throughput"]
    print("## Stream: iforest behind 5 steps (window features), %d entities"
          % args.entities)
    print()
    print("- %s; %d cores; one thread; load average %.2f at start, %.2f at end"
          % (openblas_line(), os.cpu_count(), load, os.getloadavg()[0]))
    print("- %d pushes to random known entities, best of %d; latency of the same pushes one by "
          "one (the clock's own cost, %.0f ns, included)" % (args.pushes, args.repeats,
                                                             c["clock_ns"]))
    print()
    print("| | per observation | observations/s | ratio |")
    print("|---|---|---|---|")
    print("| anoma_stream_push (C), known entity, per CPU second (per core) | %.2f µs | %.3g | "
          "%.0fx |" % (1e6 / c["throughput_cpu"], c["throughput_cpu"],
                       t_peer * c["throughput_cpu"]))
    print("| anoma_stream_push (C), known entity, wall clock | %.2f µs | %.3g | %.0fx |"
          % (per_push / 1e3, c["throughput"], t_peer * c["throughput"]))
    print("| anoma_stream_push (C), new entity | %.2f µs | %.3g | %.0fx |"
          % (1e6 / c["first_sight"], c["first_sight"], t_peer * c["first_sight"]))
    print("| anoma.Stream.push_many (Python) | %.2f µs | %.3g | %.0fx |"
          % (t_py * 1e6, 1 / t_py, t_peer / t_py))
    print("| `anoma stream --entity user` (CSV pipe) | %.2f µs | %.3g lines/s | %.0fx |"
          % (t_cli / n_lines * 1e6, n_lines / t_cli, t_peer * n_lines / t_cli))
    print("| Python loop: deques + sklearn score_samples per row | %.0f µs | %.3g | 1 |"
          % (t_peer * 1e6, 1 / t_peer))
    print("| sklearn IsolationForest.score_samples, one row, alone | %.0f µs | %.3g | %.2f |"
          % (t_call * 1e6, 1 / t_call, t_peer / t_call))
    print()
    print("| push latency (C) | p50 | p99 | p99.9 |")
    print("|---|---|---|---|")
    print("| known entity | %.2f µs | %.2f µs | %.2f µs |"
          % (c["p50"] / 1e3, c["p99"] / 1e3, c["p999"] / 1e3))
    print()
    print("| memory | bytes |")
    print("|---|---|")
    print("| per entity, anoma_stream_entity_bytes (key aside) | %d |" % c["entity_bytes"])
    print("| per entity, the whole stream / entities (keys, queue, buffers) | %.0f |"
          % (c["memory_bytes"] / c["entities"]))
    print("| saved state per entity | %.0f (save %.0f ms, restore %.0f ms for %d entities) |"
          % (c["state_bytes"] / c["entities"], c["save_ms"], c["restore_ms"], c["entities"]))


if __name__ == "__main__":
    main()
