"""LocalOutlierFactor against scikit-learn 1.2, on the same data in the same
run, in the two modes a user meets, the default first:

- outlier mode (scikit-learn's default, novelty=False): ``fit_predict(X)`` of
  the training rows, then their ``negative_outlier_factor_``;
- novelty mode (novelty=True): fit, then ``score_samples`` of 2000 new rows,
  and the single-row latency.

Not a test: nothing here asserts a time.

    /usr/bin/python3 bench/lof.py [--quick] [--only SETS] [--one-thread] [--mode M] [LIBRARY]

LIBRARY defaults to build-bench/lib/libanoma.so (bench/run builds it). Each
measurement runs in its own subprocess, so that its peak memory (ru_maxrss
after the work minus before it, the data already loaded) is its own.
scikit-learn runs with n_jobs=1 and algorithm="auto", and with
OMP_NUM_THREADS=1 and OPENBLAS_NUM_THREADS=1 (its brute-force neighbour
search runs OpenMP threads whatever n_jobs says, and their CPU seconds,
spin-waits included, would count against it); libanoma with one
thread and with every core, each one-thread run timed in CPU seconds of
the process (process_time: on a shared machine under load, wall time
measures the other work more than this one) and the all-cores runs in wall
seconds, and with each search algorithm where it
matters for the auto rule. Prints the OpenBLAS line (bench/blas_info.py),
then one Markdown table a mode: seconds, peak MiB, single-row latency
(novelty mode; median of one call per row: libanoma's RowScorer,
scikit-learn's score_samples on a 1-row array) and the ratio
scikit-learn / libanoma (> 1: libanoma faster or smaller). A call shorter
than 0.2 s (the small sets) is timed, on both sides, as the least mean of
3 rounds of repeated calls after the first (which gives the peak): one
such call is below the clock's resolution. A set whose scikit-learn run
takes under a second is measured in 3 processes a side, alternating
(scikit-learn, libanoma, scikit-learn, ...), each side's least time kept:
on this machine one process's times move by up to a third from one
process to the next, on both sides. Every tabular set in the
shared data is in the default list, with one NAB series.
"""
import json
import os
import resource
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Calls shorter than this (seconds) are timed as the best mean of repeats.
SHORT = 0.2
# Processes a side, alternating, for a set done in under a second.
ROUNDS = 3


def data(name):
    import numpy as np
    if name.startswith("random"):
        n, d = (int(v) for v in name.split(":")[1].split("x"))
        return np.random.default_rng(0).normal(size=(n, d))
    sys.path.insert(0, os.path.join(ROOT, "tests", "python"))
    from conftest import load_csv
    return np.array(load_csv(name)[0])


def child(library, impl, name, algorithm, threads, mode):
    os.environ["ANOMA_LIBRARY"] = library
    sys.path.insert(0, os.path.join(ROOT, "bindings", "python"))
    import numpy as np
    X = data(name)
    new = X[np.random.default_rng(1).integers(0, len(X), 2000)] + 1e-3
    novelty = mode == "novelty"
    if impl == "sklearn":
        from sklearn.neighbors import LocalOutlierFactor
        make = lambda: LocalOutlierFactor(n_jobs=1, novelty=novelty)  # noqa: E731
    else:
        import anoma
        make = lambda: anoma.LocalOutlierFactor(n_jobs=threads, algorithm=algorithm,  # noqa: E731
                                                novelty=novelty)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    clock = time.process_time if threads == 1 else time.perf_counter

    def timed(work):
        """Seconds of one call of work; a call under SHORT seconds is
        repeated (3 rounds of enough calls for SHORT seconds each) and its
        least mean kept, as the clock cannot time it once."""
        t = clock()
        work()
        best = clock() - t
        if best < SHORT:
            calls = min(500, max(2, int(SHORT / max(best, 1e-6))))
            for _ in range(3):
                t = clock()
                for _ in range(calls):
                    work()
                best = min(best, (clock() - t) / calls)
        return best

    result = {"score": 0.0, "row_us": float("nan")}
    if not novelty:  # what a user meets first: the default estimator's fit_predict
        def fit_predict():
            est = make()
            est.fit_predict(X)
            est.negative_outlier_factor_
        t = clock()
        fit_predict()
        result["fit"] = clock() - t
        result["peak"] = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
        result["fit"] = min(result["fit"], timed(fit_predict))
        print(json.dumps(result))
        return
    t = clock()
    est = make().fit(X)
    result["fit"] = clock() - t
    t = clock()
    est.score_samples(new)
    result["score"] = clock() - t
    result["peak"] = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    result["fit"] = min(result["fit"], timed(lambda: make().fit(X)))
    result["score"] = min(result["score"], timed(lambda: est.score_samples(new)))
    # single-row latency: the median over rows scored one call each
    rows = new[:200 if impl != "sklearn" else 50]
    if impl == "sklearn":
        call = lambda r: est.score_samples(r[None, :])  # noqa: E731
    else:
        call = est.model_.row_scorer().score
    times = []
    for r in rows:
        t = time.perf_counter()
        call(r)
        times.append(time.perf_counter() - t)
    result["row_us"] = 1e6 * float(np.median(times))
    print(json.dumps(result))


def run(library, impl, name, mode, algorithm="auto", threads=1):
    env = dict(os.environ)
    if threads == 1:  # scikit-learn's n_jobs=1 still runs OpenMP threads in its neighbour search
        env.update(OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    out = subprocess.run([sys.executable, __file__, "--child", library, impl, name, algorithm,
                          str(threads), mode], check=True, capture_output=True, text=True,
                         env=env).stdout
    return json.loads(out)


def least(a, b):
    """Each time of two measurements of one side at its least; the first's peak."""
    return dict(a, fit=min(a["fit"], b["fit"]), score=min(a["score"], b["score"]),
                row_us=min(a["row_us"], b["row_us"]))


def table(library, sets, mode, one_thread):
    if mode == "outlier":
        print("Outlier mode (default): `LocalOutlierFactor().fit_predict(X)`\n")
        print("| data | libanoma | fit_predict s | peak MiB | scikit-learn fit_predict s "
              "| peak MiB | time ratio | peak ratio |")
        print("|---|---|---:|---:|---:|---:|---:|---:|")
    else:
        print("Novelty mode: `LocalOutlierFactor(novelty=True).fit(X).score_samples(2000 rows)`"
              "\n")
        print("| data | libanoma | fit s | score 2000 s | peak MiB | row µs | scikit-learn fit s "
              "| score s | peak MiB | row µs | time ratio (fit+score) | peak ratio |")
        print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name in sets:
        try:
            theirs = run(library, "sklearn", name, mode)
        except subprocess.CalledProcessError as e:
            print("| %s | scikit-learn failed: %s |" % (name, e.stderr.strip()[-80:]))
            continue
        # a set done in under a second is measured in ROUNDS processes a side,
        # alternating, each side's least kept: one process's time moves by a
        # third from one process to the next on this machine, both sides'
        rounds = ROUNDS if theirs["fit"] + theirs["score"] < 1.0 else 1
        d = int(name.split("x")[1]) if name.startswith("random") else None
        variants = [("auto", 1), ("auto", -1)]
        if one_thread:
            variants = [("auto", 1)]
        elif d is not None and d <= 15:  # the algorithm auto does not take, for the auto rule
            variants.append(("kd_tree" if d >= 10 else "brute", 1))
        for algorithm, threads in variants:
            ours = run(library, "anoma", name, mode, algorithm, threads)
            for _ in range(rounds - 1):
                theirs = least(theirs, run(library, "sklearn", name, mode))
                ours = least(ours, run(library, "anoma", name, mode, algorithm, threads))
            time_ratio = (theirs["fit"] + theirs["score"]) / (ours["fit"] + ours["score"])
            peak_ratio = theirs["peak"] / ours["peak"] if ours["peak"] > 0 else float("inf")
            who = "%s, %s" % (algorithm, "1 thread" if threads == 1 else "all cores")
            if mode == "outlier":
                print("| %s | %s | %.4g | %.1f | %.4g | %.1f | %.1fx | %.2fx |" % (
                    name, who, ours["fit"], ours["peak"], theirs["fit"], theirs["peak"],
                    time_ratio, peak_ratio), flush=True)
            else:
                print("| %s | %s | %.4g | %.4g | %.1f | %.1f | %.4g | %.4g | %.1f | %.0f "
                      "| %.1fx | %.2fx |" % (
                          name, who, ours["fit"], ours["score"], ours["peak"], ours["row_us"],
                          theirs["fit"], theirs["score"], theirs["peak"], theirs["row_us"],
                          time_ratio, peak_ratio), flush=True)
    print()


def main():
    import argparse
    ap = argparse.ArgumentParser(description="LOF against scikit-learn, outlier then novelty mode")
    ap.add_argument("library", nargs="?",
                    default=os.path.join(ROOT, "build-bench", "lib", "libanoma.so"))
    ap.add_argument("--quick", action="store_true", help="the two 20000-row sets only")
    ap.add_argument("--only", help="comma-separated data sets (names as printed, or a "
                    "part of one: cardio,20000x100)")
    ap.add_argument("--one-thread", action="store_true",
                    help="only libanoma's auto, one thread row (no all-cores, no other algorithm)")
    ap.add_argument("--mode", choices=("both", "outlier", "novelty"), default="both",
                    help="outlier mode (the default estimator's fit_predict), novelty mode, "
                    "or both, in that order (default)")
    opts = ap.parse_args()
    library = os.path.abspath(opts.library)
    sets = ["random:20000x10", "random:20000x100"]
    if not opts.quick:
        sets += ["random:100000x10", "cardio.csv", "satellite.csv", "mammography.csv",
                 "shuttle.csv", "breastw.csv", "nab_machine_temperature_system_failure.csv",
                 "thyroid.csv", "annthyroid.csv", "pima.csv", "ionosphere.csv", "wbc.csv"]
    if opts.only:
        wanted = opts.only.split(",")
        sets = [s for s in sets if any(w in s for w in wanted)]
    sys.path.insert(0, os.path.join(ROOT, "bench"))
    from blas_info import openblas_line
    print(openblas_line() + "\n")
    for mode in ("outlier", "novelty"):
        if opts.mode in (mode, "both"):
            table(library, sets, mode, opts.one_thread)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5], int(sys.argv[6]), sys.argv[7])
    else:
        main()
