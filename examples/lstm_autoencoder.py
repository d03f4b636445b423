"""An LSTM autoencoder trained with PyTorch, scored by libanoma.

Trains anoma.torch.LSTMAutoencoder on windows of a labelled NAB series
(../shared/data, docs/detectors/seq_autoencoder.md "Example"), exports it
with anoma.from_torch, saves the model, scores the whole series in C through
the bindings and again with `anoma score` on the saved file (the two must
agree), and draws the series, the per-point scores, the threshold and the
flagged spans into a PNG. --out gets model.anoma, net.pt (the torch
weights), series.csv, scores_cli.csv and lstm_autoencoder.png.

    ANOMA_LIBRARY=build/lib/libanoma.so PYTHONPATH=bindings/python \\
        /usr/bin/python3 examples/lstm_autoencoder.py --out /tmp/lstm
"""
import argparse
import csv
import os
import subprocess
import sys
import time

import numpy as np
import torch

import anoma
import anoma.torch as at

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.environ.get("ANOMA_SHARED_DATA") or os.path.join(ROOT, "..", "shared", "data")
SERIES = os.path.join(DATA, "nab_machine_temperature_system_failure.csv")


def arguments():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", default=SERIES, help="CSV: timestamp,f0,...,label")
    p.add_argument("--rows", type=int, default=0, help="use only the first ROWS (0 = all)")
    p.add_argument("--window", type=int, default=32, help="T, the points the network reads")
    p.add_argument("--hidden", type=int, default=16)
    p.add_argument("--epochs", type=int, default=4)
    p.add_argument("--train-windows", type=int, default=2000,
                   help="windows sampled from the series for training")
    p.add_argument("--contamination", type=float, default=0.01,
                   help="share of points above the threshold")
    p.add_argument("--cli", default=os.environ.get("ANOMA_CLI") or
                   os.path.join(ROOT, "build", "examples", "anoma"), help="the anoma tool")
    p.add_argument("--out", default="lstm_autoencoder", help="folder for the model, CSVs, PNG")
    return p.parse_args()


def train(series, args):
    """The autoencoder, fitted on windows of the standardised series."""
    torch.manual_seed(0)
    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    starts = rng.choice(len(series) - args.window + 1,
                        min(args.train_windows, len(series) - args.window + 1), replace=False)
    W = torch.from_numpy(np.stack([series[s:s + args.window] for s in starts]).astype(np.float32))
    net = at.LSTMAutoencoder(series.shape[1], args.hidden)
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    for _ in range(args.epochs):
        for idx in torch.randperm(len(W)).split(64):
            loss = torch.nn.functional.mse_loss(net(W[idx]), W[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    return net.eval(), float(loss)


def cli_scores(args, model_path, csv_path):
    """`anoma score MODEL series.csv` read back: (scores, is_anomaly)."""
    out = os.path.join(args.out, "scores_cli.csv")
    subprocess.run([args.cli, "score", model_path, csv_path, "-o", out], check=True)
    with open(out) as f:
        rows = list(csv.DictReader(f))
    return (np.array([float(r["score"]) for r in rows]),
            np.array([int(r["is_anomaly"]) for r in rows]))


def spans(flags):
    """[start, end) of each run of 1s."""
    edges = np.diff(np.concatenate(([0], flags.astype(int), [0])))
    return list(zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)))


def plot(path, when, values, label, scores, threshold, flags):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, (top, bottom) = plt.subplots(2, 1, sharex=True, figsize=(12, 6))
    top.plot(when, values, lw=0.6, color="black")
    for a, b in spans(label == 1):
        top.axvspan(when[a], when[b - 1], color="orange", alpha=0.25, lw=0)
    for a, b in spans(flags):
        top.axvspan(when[a], when[b - 1], color="red", alpha=0.6, lw=0)
    top.set_ylabel("series (f0)")
    top.set_title("orange: labelled anomaly windows; red: flagged spans")
    bottom.plot(when, scores, lw=0.6, color="tab:blue")
    bottom.axhline(threshold, color="red", ls="--", lw=1, label="threshold %.3g" % threshold)
    bottom.set_yscale("log")
    bottom.set_ylabel("score (reconstruction error)")
    bottom.legend(loc="upper left")
    fig.autofmt_xdate()
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def main():
    args = arguments()
    os.makedirs(args.out, exist_ok=True)
    data = np.loadtxt(args.data, delimiter=",", skiprows=1, ndmin=2)
    if args.rows:
        data = data[:args.rows]
    when = data[:, 0].astype("datetime64[s]")
    series, label = data[:, 1:-1], data[:, -1].astype(int)
    center, scale = series.mean(axis=0), series.std(axis=0)

    t0 = time.process_time()
    net, loss = train((series - center) / scale, args)
    print("trained on %d windows of %d points: %.1f CPU s, last loss %.4f"
          % (args.train_windows, args.window, time.process_time() - t0, loss))

    torch.save(net.state_dict(), os.path.join(args.out, "net.pt"))  # for a check in torch
    seq = anoma.from_torch(net, window=args.window, scaler=(center, scale))
    scores = seq.anomaly_score(series)  # in C, through the bindings
    threshold = float(np.nanquantile(scores, 1 - args.contamination))
    seq.model.threshold = threshold
    model_path = os.path.join(args.out, "model.anoma")
    seq.save(model_path)

    csv_path = os.path.join(args.out, "series.csv")
    np.savetxt(csv_path, series, delimiter=",", header=",".join(
        "f%d" % j for j in range(series.shape[1])), comments="", fmt="%.17g")
    cli, flags = cli_scores(args, model_path, csv_path)
    np.testing.assert_array_equal(cli, scores)  # NaN equal to NaN, else the same bits
    np.testing.assert_array_equal(flags, scores > threshold)
    print("C (bindings) and `anoma score` agree on all %d points" % len(scores))

    png = os.path.join(args.out, "lstm_autoencoder.png")
    plot(png, when, series[:, 0], label, scores, threshold, flags)
    auc = anoma.metrics.roc_auc_score(label, np.nan_to_num(scores)) if 0 < label.sum() < len(
        label) else float("nan")
    print("threshold %.4g flags %d points in %d spans; ROC AUC against the labels %.3f; %s"
          % (threshold, flags.sum(), len(spans(flags)), auc, png))


if __name__ == "__main__":
    sys.exit(main())
