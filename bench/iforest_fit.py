"""IsolationForest().fit(X) against scikit-learn's, and against the forest
alone, on 10 standard-normal features (random_state=0), default parameters
(100 trees of min(256, rows) rows), one run; optionally for several libanoma
builds (before/after).

    OPENBLAS_NUM_THREADS=1 /usr/bin/python3 bench/iforest_fit.py \
        [--rows N ...] [--threads 1|all ...] [--peer-budget S] [LIBRARY ...]

Default: --rows 100000 10000000 --threads 1 all, LIBRARY build-bench/lib/
libanoma.so. Each LIBRARY is timed in its own subprocess, and for each size
the matrix is generated there (10000000 x 10 is 800 MB of doubles; it is
made once and reused, with no other copy). Columns:

- `libanoma fit ms`: anoma.IsolationForest(n_jobs).fit(X), the whole fit: the
  input check (the matrix is read once for +-Inf), the trees, and the scores
  of a sample of the rows: with contamination=0.1 at most calibration_rows
  (100000), for the threshold and the probability; with "auto" at most
  probability_rows (10000), for the probability alone.
- `no probability ms` (contamination="auto" only): the same model with
  probability_rows=0, which scores no training row: fit - this = what the
  default probability costs.
- `forest alone ms`: the same model (contamination="auto",
  probability_rows=0) fitted on X[:256]: each of its trees draws all 256
  rows, the same work per tree as on X, with no rows to check or sample
  from. fit - forest alone = what the fit pays beyond its trees.
- `scikit-learn fit ms`: sklearn.ensemble.IsolationForest(n_jobs).fit(X),
  the same contamination (0.1: it scores every training row).
- `peak MiB above X`: the process's peak resident set during that side's
  fits, above the resident set before them (X included in neither).

Times are the best of 7 fits (3 for 10^7 rows; scikit-learn's with
contamination=0.1 on 10^7 rows once), alternating the two sides. A
scikit-learn fit whose first run took longer than --peer-budget seconds
(default 300) is not repeated; one predicted to take longer (from its time
on fewer rows) is skipped, and the table says so.
"""
import argparse
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def peak_reset():
    """Reset the process's resident-set high-water mark (Linux); False if not possible."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def resident_kib(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def child(library, sizes, thread_modes, budget):
    os.environ["ANOMA_LIBRARY"] = library
    sys.path.insert(0, os.path.join(ROOT, "bindings", "python"))
    import numpy as np
    import anoma
    from sklearn.ensemble import IsolationForest

    name = os.path.basename(os.path.dirname(os.path.dirname(library))) or library
    warm = np.random.default_rng(1).standard_normal((1000, 10))
    anoma.IsolationForest(random_state=0).fit(warm)  # imports and lazy set-up
    IsolationForest(random_state=0).fit(warm)
    peer_per_row = {}  # contamination -> seconds per row of scikit-learn's fit
    for rows in sizes:
        X = None  # the previous size's matrix goes before the next is made
        X = np.random.default_rng(0).standard_normal((rows, 10))
        repeats = 7 if rows <= 1_000_000 else 3
        for mode in thread_modes:
            jobs = 1 if mode == "1" else -1
            for contamination in ("auto", 0.1):
                def ours(data=X, contamination=contamination):
                    anoma.IsolationForest(contamination=contamination, n_jobs=jobs,
                                          random_state=0).fit(data)

                def ours_without_probability(data=X):
                    model = anoma.IsolationForest(contamination="auto", n_jobs=jobs,
                                                  random_state=0)._make_model(data)[0]
                    model.set_param("probability_rows", "0")
                    model.fit(data)

                def theirs():
                    IsolationForest(contamination=contamination, n_jobs=jobs,
                                    random_state=0).fit(X)

                ours_best = forest_best = theirs_best = bare_best = float("inf")
                note = ""
                ours_peak = theirs_peak = None
                expected = peer_per_row.get((mode, contamination), 0) * rows
                peer_runs = repeats if contamination == "auto" or rows <= 1_000_000 else 1
                if expected > budget:
                    peer_runs = 0
                    note = "scikit-learn skipped: ~%.0f s predicted from %s rows" % (
                        expected, "{:,}".format(min(sizes)))
                for r in range(repeats):
                    before = resident_kib("VmRSS")
                    reset = peak_reset()
                    t = time.perf_counter()
                    ours()
                    ours_best = min(ours_best, time.perf_counter() - t)
                    if reset:
                        grown = resident_kib("VmHWM") - before
                        ours_peak = grown if ours_peak is None else max(ours_peak, grown)
                    if contamination == "auto":
                        t = time.perf_counter()
                        ours_without_probability()
                        bare_best = min(bare_best, time.perf_counter() - t)
                    t = time.perf_counter()
                    ours_without_probability(X[:256])
                    forest_best = min(forest_best, time.perf_counter() - t)
                    if r < peer_runs:
                        before = resident_kib("VmRSS")
                        reset = peak_reset()
                        t = time.perf_counter()
                        theirs()
                        took = time.perf_counter() - t
                        theirs_best = min(theirs_best, took)
                        if reset:
                            grown = resident_kib("VmHWM") - before
                            theirs_peak = grown if theirs_peak is None else max(theirs_peak, grown)
                        if took > budget:
                            peer_runs = r + 1
                            note = "scikit-learn run once: %.0f s" % took
                        elif peer_runs == 1 and rows > 1_000_000:
                            note = "scikit-learn run once"
                if peer_runs:
                    peer_per_row[(mode, contamination)] = theirs_best / rows

                def cell(v, fmt="%.1f"):
                    return "—" if v is None or v == float("inf") else fmt % v

                print("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s / %s | %s |" % (
                    name, "{:,}".format(rows), mode, contamination, cell(ours_best * 1e3),
                    cell(bare_best * 1e3), cell(forest_best * 1e3), cell(theirs_best * 1e3),
                    cell(theirs_best / ours_best if peer_runs else None, "%.0fx"),
                    cell(ours_peak / 1024 if ours_peak is not None else None),
                    cell(theirs_peak / 1024 if theirs_peak is not None else None), note),
                    flush=True)


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, nargs="+", default=[100_000, 10_000_000])
    ap.add_argument("--threads", nargs="+", choices=["1", "all"], default=["1", "all"])
    ap.add_argument("--peer-budget", type=float, default=300)
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("libraries", nargs="*")
    args = ap.parse_args()
    if args.child:
        child(args.child, args.rows, args.threads, args.peer_budget)
        sys.exit(0)
    libraries = args.libraries or [os.path.join(ROOT, "build-bench", "lib", "libanoma.so")]
    import numpy  # noqa: F401 (loaded, so that threadpoolctl sees its OpenBLAS)
    from blas_info import openblas_line
    print("- %s UTC, `%s`; load average %.2f at start; %d cores, OPENBLAS_NUM_THREADS=%s; %s" % (
        time.strftime("%Y-%m-%d %H:%M", time.gmtime()), " ".join(["bench/iforest_fit.py"] + sys.argv[1:]),
        os.getloadavg()[0], os.cpu_count(), os.environ.get("OPENBLAS_NUM_THREADS", "unset"),
        openblas_line()))
    print()
    print("| library | rows | threads | contamination | libanoma fit ms | no probability ms "
          "| forest alone ms | scikit-learn fit ms | sklearn / libanoma "
          "| peak MiB above X (libanoma / sklearn) | note |")
    print("|---|---:|---|---|---:|---:|---:|---:|---:|---:|---|")
    for library in libraries:
        subprocess.run([sys.executable, __file__, "--child", os.path.abspath(library),
                        "--rows", *map(str, args.rows), "--threads", *args.threads,
                        "--peer-budget", str(args.peer_budget)], check=True)
    print()
    print("- load average %.2f at the end" % os.getloadavg()[0])
