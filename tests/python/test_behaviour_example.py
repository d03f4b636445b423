"""The end-to-end behaviour example (docs/behaviour.md): the generator, the
`anoma` commands and examples/behaviour.c.

The data are generated into a temporary folder; the ROC AUC on the planted
labels is computed here with scikit-learn from the scores the tools write,
and compared with an isolation forest on the raw numbers of the same file,
also computed here. No number from an earlier run is used beyond a sane
lower bound.
"""
import csv
import io
import os
import re
import subprocess
import sys

import numpy as np
import pytest

CLI = os.environ.get("ANOMA_CLI")
EXAMPLE = os.environ.get("ANOMA_BEHAVIOUR_EXAMPLE")
if not CLI or not EXAMPLE or not os.path.exists(CLI) or not os.path.exists(EXAMPLE):
    pytest.skip("ANOMA_CLI or ANOMA_BEHAVIOUR_EXAMPLE is not set", allow_module_level=True)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
GENERATOR = os.path.join(ROOT, "examples", "behaviour_data.py")
# the commands of docs/behaviour.md
STEPS = ["--step", "time_features column=timestamp features=hour,night,since_previous "
                   "entity=user_id",
         "--step", "ratio numerator=clicks denominator=session_seconds",
         "--step", "ratio numerator=amount denominator=items",
         "--step", "window columns=amount entity=user_id rolling=10 deviation=true "
                   "min_periods=3",
         "--step", "one_hot columns=device",
         "--step", "select drop=user_id",
         "--step", "standard_scaler"]


def run(*args, input=None):
    p = subprocess.run([str(a) for a in args], capture_output=True, text=True, input=input,
                       timeout=300)
    assert p.returncode == 0, p.stderr
    return p.stdout


@pytest.fixture(scope="module")
def sessions(tmp_path_factory):
    path = tmp_path_factory.mktemp("behaviour") / "sessions.csv"
    run(sys.executable, GENERATOR, path)
    with open(path) as f:
        rows = list(csv.DictReader(f))
    return path, rows, np.array([int(r["label"]) for r in rows])


def scores_of(text, column="score"):
    return np.array([float(r[column]) for r in csv.DictReader(io.StringIO(text))])


def raw_auc(path, y, seed):
    """An isolation forest on the raw numbers only: clicks, amount, items,
    session_seconds (the text and timestamp columns are left out)."""
    from sklearn.metrics import roc_auc_score
    model = os.path.join(os.path.dirname(path), "raw-%d.anoma" % seed)
    run(CLI, "train", "-d", "iforest", "-p", "seed=%d" % seed, "-o", model, path)
    return roc_auc_score(y, scores_of(run(CLI, "score", model, path)))


def test_generator_is_documented_and_fixed(sessions, tmp_path):
    path, rows, y = sessions
    assert list(rows[0]) == ["user_id", "device", "timestamp", "clicks", "amount", "items",
                             "session_seconds", "label"]
    assert 0.02 < y.mean() < 0.04
    assert {r["device"] for r in rows} == {"Desktop", "Mobile", "Tablet", "Emulator"}
    assert all(r["label"] == "1" for r in rows if r["device"] == "Emulator")
    again = tmp_path / "again.csv"
    run(sys.executable, GENERATOR, again)
    assert again.read_bytes() == open(path, "rb").read()  # the same file for the same seed
    assert "usage" in run(sys.executable, GENERATOR, "--help")


def test_cli_pipeline_beats_raw_numbers(sessions, tmp_path):
    from sklearn.metrics import roc_auc_score
    path, _, y = sessions
    for seed in (1, 2):
        model = tmp_path / ("behaviour-%d.anoma" % seed)
        run(CLI, "train", *STEPS, "-d", "iforest", "-p", "seed=%d" % seed, "-o", model, path)
        ours = roc_auc_score(y, scores_of(run(CLI, "score", model, path)))
        raw = raw_auc(str(path), y, seed)
        assert ours > 0.85 and ours > raw + 0.1, (seed, ours, raw)
        # evaluate: the same pipeline, the same ROC AUC
        table = run(CLI, "evaluate", "--label", "label", *STEPS, "--detectors", "iforest",
                    "--param", "iforest.seed=%d" % seed, "--format", "csv", path)
        assert abs(scores_of(table, "roc_auc")[0] - ours) < 1e-12
    # explanations name the derived features: a planted rare device is
    # explained first by its one-hot column on most of its rows
    text = run(CLI, "score", model, path, "--explain", 1, "--keep", "device")
    reasons = [r["feature_1"] for r in csv.DictReader(io.StringIO(text))
               if r["device"] == "Emulator"]
    assert reasons and reasons.count("device=Emulator") > len(reasons) / 2
    # the stream gives the batch's scores line by line (per-user history kept)
    # (its last column, error, is empty on every line)
    streamed = run(CLI, "stream", model, input=open(path).read()).splitlines()
    assert streamed[0].endswith(",error") and all(line.endswith(",") for line in streamed[1:])
    assert [line.rsplit(",", 1)[0] for line in streamed] == \
        run(CLI, "score", model, path).splitlines()


def test_c_example_beats_raw_numbers(sessions, tmp_path):
    from sklearn.metrics import roc_auc_score
    path, _, y = sessions
    model = tmp_path / "from-c.anoma"
    out = run(EXAMPLE, path, model)
    printed = float(re.search(r"ROC AUC on the planted labels: ([0-9.]+)", out).group(1))
    # the model the C program saved, scored by the command-line tool
    ours = roc_auc_score(y, scores_of(run(CLI, "score", model, path)))
    assert abs(printed - ours) < 1e-4
    assert ours > 0.85 and ours > raw_auc(str(path), y, 1) + 0.1, out
    top = out.split("with the features that isolated them:\n")[1].splitlines()
    assert len(top) == 5
    derived = ("device=", "timestamp_", "_per_", "amount_", "clicks", "items", "session")
    assert all(any(d in line for d in derived) for line in top)
