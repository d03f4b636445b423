#!/usr/bin/python3
"""valgrind memcheck over the command-line tool: for every detector the CLI
trains, `anoma train`, `score`, `evaluate`, `inspect` and `stream` (with a
saved state, restored by a second run) run under memcheck on a small
labelled CSV file. Any memcheck error, and any heap block left at exit
(definite, indirect, possible or still reachable), fails the run.

    cli_memcheck.py ANOMA_CLI DATA.csv [--jobs N] [--only a,b]

Prints one line per command and a summary; exit status 1 when any failed.
Used by `scripts/dev memcheck` (and .ci/run); docs/reliability.md gives the
figures.
"""
import concurrent.futures
import os
import subprocess
import sys
import tempfile

VALGRIND = ["valgrind", "-q", "--error-exitcode=99", "--leak-check=full",
            "--show-leak-kinds=all", "--errors-for-leak-kinds=all"]

# Parameters that keep the runs short under valgrind (~30x slower).


def quick_params():
    """tests/data/quick_params.txt as CLI options per detector: the one table
    of quick-fitting parameters the C tests use too."""
    path = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                        "data", "quick_params.txt")
    table = {}
    with open(path) as f:
        for line in f:
            if line.strip() and not line.startswith("#"):
                name, *params = line.split()
                table[name] = [a for p in params for a in ("--param", p)]
    return table


QUICK = quick_params()


def detectors(cli):
    """The detectors `anoma help detectors` lists, but the stateful ones that
    are imported with their weights and never trained by the CLI."""
    text = subprocess.run([cli, "help", "detectors"], capture_output=True, text=True,
                          check=True).stdout
    names = []
    for line in text.splitlines()[1:]:
        if line and not line.startswith(" "):
            break  # the next list (steps, model parameters)
        if line.startswith("  ") and not line.startswith("   ") and ":" in line:
            names.append(line.split(":")[0].strip())
    return [n for n in names if n != "seq_autoencoder"]


def run(args, stdin=None):
    done = subprocess.run(VALGRIND + args, input=stdin, capture_output=True)
    return done.returncode, done.stderr.decode(errors="replace")


def check_detector(cli, data, name, folder):
    model = os.path.join(folder, name + ".anoma")
    state = os.path.join(folder, name + ".state")
    label = ["--label", "label"]
    with open(data, "rb") as f:
        lines = f.read()
    commands = [
        ("train", [cli, "train", "--detector", name, "--contamination", "0.1"]
         + QUICK.get(name, []) + label
         + ["-o", model, data], None),
        ("score", [cli, "score", model, data, "--proba"], None),
        ("inspect", [cli, "inspect", model], None),
        ("stream", [cli, "stream", model, "--label", "label", "--state", state], lines),
        ("stream restored", [cli, "stream", model, "--label", "label", "--state", state], lines),
        ("evaluate", [cli, "evaluate", "--label", "label", "--detectors", name, data], None),
    ]
    results = []
    for what, args, stdin in commands:
        status, errors = run(args, stdin)
        results.append((name, what, status, errors))
        if what == "train" and status != 0:
            break
    return results


def main():
    cli, data = sys.argv[1], sys.argv[2]
    jobs = int(sys.argv[sys.argv.index("--jobs") + 1]) if "--jobs" in sys.argv else 2
    names = detectors(cli)
    if "--only" in sys.argv:
        names = [n for n in names if n in sys.argv[sys.argv.index("--only") + 1].split(",")]
    failed = commands_run = 0
    with tempfile.TemporaryDirectory() as folder, \
            concurrent.futures.ThreadPoolExecutor(jobs) as pool:
        for results in pool.map(lambda n: check_detector(cli, data, n, folder), names):
            for name, what, status, errors in results:
                commands_run += 1
                ok = status == 0
                failed += not ok
                print("%s memcheck %s %s" % ("ok" if ok else "FAIL", name, what))
                if not ok:
                    print("  exit status %d\n%s" % (status, errors[-4000:]))
    print("memcheck: %d detectors, %d commands, %d failed" % (len(names), commands_run, failed))
    return 1 if failed or not names else 0


if __name__ == "__main__":
    sys.exit(main())
