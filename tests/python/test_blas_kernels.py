"""Which results are the same bits on another processor.

OpenBLAS picks its kernels for the processor it runs on (SSE3 ones on an
old core, AVX2 with fused multiply-adds on a recent one), and
OPENBLAS_CORETYPE makes it pick another core's kernels here: two kernel
sets stand in for two machines. docs/reliability.md ("Determinism") says
which detectors give the same model bytes and scores whatever the kernels
(their arithmetic is the library's own, or OpenBLAS's result is only a
filter whose answer is recomputed exactly) and which do not; this test
holds the first list to it, and the second to a tolerance.

Run as a script (`python3 tests/python/test_blas_kernels.py CLI DATA.csv`)
it prints, for each detector, how many different model files and score
columns seven kernel sets give, and the largest relative difference.
"""
import hashlib
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
WBC = os.path.join(ROOT, "examples", "data", "wbc.csv")
SHARED = os.environ.get("ANOMA_SHARED_DATA") or os.path.join(ROOT, "..", "shared", "data")
CORES = ["Prescott", "Nehalem", "Sandybridge", "Haswell", "Zen", "SkylakeX", "Cooperlake"]
# OpenBLAS's rounding reaches these detectors' results (docs/reliability.md):
# training through LAPACK or GEMM whose output is kept (ocsvm_sgd's map, the
# covariance's factor, PCA's axes, the network's weights), and mahalanobis's
# whitening matrix, made at load. Scores of one model file under two kernel
# sets agree within these relative tolerances.
KERNEL_DEPENDENT = {"ocsvm_sgd": 1e-9, "mahalanobis": 1e-12, "pca": 1e-12, "autoencoder": 1e-4}


def quick_params():
    """tests/data/quick_params.txt as CLI arguments per detector."""
    table = {}
    with open(os.path.join(ROOT, "tests", "data", "quick_params.txt")) as f:
        for line in f:
            if line.strip() and not line.startswith("#"):
                name, *params = line.split()
                table[name] = [a for p in params for a in ("--param", p)]
    return table


def detectors(cli):
    """The detectors the CLI trains (not the imported sequence models)."""
    text = subprocess.run([cli, "help", "detectors"], capture_output=True, text=True,
                          check=True).stdout
    names = []
    for line in text.splitlines()[1:]:
        if line and not line.startswith(" "):
            break
        if line.startswith("  ") and not line.startswith("   ") and ":" in line:
            names.append(line.split(":")[0].strip())
    return [n for n in names if n != "seq_autoencoder"]


def environment(core):
    return dict(os.environ, OPENBLAS_CORETYPE=core, OPENBLAS_NUM_THREADS="1")


def train(cli, name, data, core, folder, params):
    model = os.path.join(folder, "%s_%s.anoma" % (name, core))
    subprocess.run([cli, "train", "--detector", name, *params, "--label", "label",
                    "--contamination", "0.1", "-o", model, data],
                   env=environment(core), capture_output=True, check=True)
    return model


def scores(cli, model, data, core):
    out = subprocess.run([cli, "score", model, data], env=environment(core),
                         capture_output=True, text=True, check=True).stdout
    return [float(line.split(",")[0]) for line in out.splitlines()[1:] if line]


def largest_relative_difference(a, b):
    return max(abs(x - y) / max(abs(x), abs(y), 1e-300) for x, y in zip(a, b))


CLI = os.environ.get("ANOMA_CLI")
needs_cli = pytest.mark.skipif(not CLI or not os.path.exists(CLI),
                               reason="ANOMA_CLI is not set to the anoma executable")


def datasets():
    sets = [WBC]
    satellite = os.path.join(SHARED, "satellite.csv")
    if os.path.exists(satellite):
        sets.append(satellite)  # wider: GEMM blocks of every shape
    return sets


@needs_cli
def test_the_kernel_choice_takes_effect():
    # Without this the comparisons below could pass by comparing one kernel set with itself.
    for core in ("Prescott", "Haswell"):
        p = subprocess.run([CLI, "help"], env=dict(environment(core), OPENBLAS_VERBOSE="2"),
                           capture_output=True, text=True)
        assert "Core: " + core in p.stderr


@needs_cli
@pytest.mark.parametrize("data", datasets(), ids=os.path.basename)
def test_same_bits_whatever_the_blas_kernels(data, tmp_path):
    quick = quick_params()
    for name in detectors(CLI):
        params = quick.get(name, [])
        old = train(CLI, name, data, "Prescott", tmp_path, params)  # SSE3, no FMA
        new = train(CLI, name, data, "Haswell", tmp_path, params)   # AVX2 with FMA
        old_scores = scores(CLI, old, data, "Prescott")
        if name in KERNEL_DEPENDENT:
            # one model file, scored under both kernel sets
            other = scores(CLI, old, data, "Haswell")
            assert largest_relative_difference(old_scores, other) <= KERNEL_DEPENDENT[name], name
            continue
        with open(old, "rb") as a, open(new, "rb") as b:
            assert a.read() == b.read(), "%s: model bytes depend on the BLAS kernels" % name
        assert old_scores == scores(CLI, new, data, "Haswell"), name


def main():
    cli, data = sys.argv[1], sys.argv[2]
    import tempfile
    with tempfile.TemporaryDirectory() as folder:
        for name in detectors(cli):
            models, columns = {}, {}
            for core in CORES:
                model = train(cli, name, data, core, folder, [])
                with open(model, "rb") as f:
                    models[core] = hashlib.sha256(f.read()).hexdigest()
                columns[core] = scores(cli, model, data, core)
            first = columns[CORES[0]]
            worst = max(largest_relative_difference(first, c) for c in columns.values())
            same_model = scores(cli, train(cli, name, data, "Haswell", folder, []), data, "Prescott")
            print("%-12s model files %d, score columns %d, largest relative difference %.3g; "
                  "one model under two kernel sets %.3g" % (
                      name, len(set(models.values())), len({tuple(c) for c in columns.values()}),
                      worst, largest_relative_difference(columns["Haswell"], same_model)),
                  flush=True)


if __name__ == "__main__":
    main()
