"""examples/lstm_autoencoder.py on a small setting: it runs, its PNG is a
PNG of a sensible size, `anoma score` and the bindings give the same scores
and flags, and those scores are the ones the trained torch network gives,
computed here with torch and NumPy from the weights the example saved.

Skips when the shared series, torch, matplotlib or the `anoma` tool is
missing."""
import csv
import os
import struct
import subprocess
import sys

import numpy as np
import pytest

from conftest import BINDINGS, DATA_DIR, ROOT, import_anoma

anoma = import_anoma()
torch = pytest.importorskip("torch")
pytest.importorskip("matplotlib")
import anoma.torch as at  # noqa: E402

CLI = os.environ.get("ANOMA_CLI")
EXAMPLE = os.path.join(ROOT, "examples", "lstm_autoencoder.py")
SERIES = os.path.join(DATA_DIR, "nab_machine_temperature_system_failure.csv")
ROWS, WINDOW, HIDDEN = 3000, 16, 8


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    if not CLI or not os.path.exists(CLI):
        pytest.skip("ANOMA_CLI is not set to the anoma executable")
    if not os.path.exists(SERIES):
        pytest.skip("shared data absent: %s" % SERIES)
    out = tmp_path_factory.mktemp("lstm")
    env = dict(os.environ, PYTHONPATH=BINDINGS, ANOMA_LIBRARY=anoma._library.path)
    p = subprocess.run([sys.executable, EXAMPLE, "--data", SERIES, "--rows", str(ROWS),
                        "--window", str(WINDOW), "--hidden", str(HIDDEN), "--epochs", "1",
                        "--train-windows", "256", "--cli", CLI, "--out", str(out)],
                       env=env, capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr
    assert "agree on all %d points" % ROWS in p.stdout, p.stdout
    return out


def test_png(run):
    data = (run / "lstm_autoencoder.png").read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    assert 600 <= width <= 2000 and 300 <= height <= 1200, (width, height)
    assert len(data) > 20000  # two panels of 3000 points, not an empty canvas


def test_cli_scores_are_the_torch_networks(run):
    with open(run / "scores_cli.csv") as f:
        rows = list(csv.DictReader(f))
    cli = np.array([float(r["score"]) for r in rows])
    flags = np.array([int(r["is_anomaly"]) for r in rows])
    series = np.loadtxt(run / "series.csv", delimiter=",", skiprows=1, ndmin=2)
    assert series.shape == (ROWS, 1) and cli.shape == (ROWS,)

    seq = anoma.SequenceModel.load(str(run / "model.anoma"))
    np.testing.assert_array_equal(cli, seq.anomaly_score(series))
    threshold = seq.model.threshold
    np.testing.assert_array_equal(flags, cli > threshold)
    assert 0 < flags.sum() < ROWS // 10  # the example's 1 % contamination

    # the same scores from torch: windows of the standardised series through
    # the saved network, mean squared error per window, mean over the
    # windows covering each point
    net = at.LSTMAutoencoder(1, HIDDEN)
    net.load_state_dict(torch.load(run / "net.pt"))
    z = (series - series.mean(axis=0)) / series.std(axis=0)
    W = np.lib.stride_tricks.sliding_window_view(z, (WINDOW, 1))[:, 0]
    with torch.no_grad():
        err = ((net.eval()(torch.from_numpy(W.astype(np.float32))).numpy() - W) ** 2)
    per_window = err.mean(axis=(1, 2))
    total, count = np.zeros(ROWS), np.zeros(ROWS)
    for s, e in enumerate(per_window):
        total[s:s + WINDOW] += e
        count[s:s + WINDOW] += 1
    np.testing.assert_allclose(cli, total / count, rtol=1e-4)
