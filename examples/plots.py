"""Evaluate every detector on one labelled CSV and draw anoma.plot's figures.

    python3 examples/plots.py examples/data/wbc.csv figures/

The CSV has a header line, numeric columns and a 0/1 ``label`` column (the
shared datasets' layout); a ``timestamp`` column, if any, is the time axis
of the series figure. Rows are split in two, every other row of each class:
each detector is fitted on the first half (the supervised ones with its
labels) and scored on the second. Detectors that score a stream of
sequences (they need imported weights) are left out. Writes roc.png,
pr.png, histograms.png, confusion.png, importance.png, contributions.png and
series.png into the output folder (docs/python.md, "Plots").
"""
import os
import sys

import matplotlib

matplotlib.use("Agg")  # files only: no display needed
import matplotlib.pyplot as plt  # noqa: E402

import numpy as np  # noqa: E402

import anoma  # noqa: E402
from anoma import plot  # noqa: E402

Flag = anoma.ComponentFlag


def read(path):
    with open(path) as f:
        header = f.readline().strip().split(",")
    data = np.loadtxt(path, delimiter=",", skiprows=1, ndmin=2)
    label = header.index("label")
    time_col = header.index("timestamp") if "timestamp" in header else None
    features = [j for j in range(len(header)) if j not in (label, time_col)]
    time = data[:, time_col] if time_col is not None else np.arange(len(data), dtype=float)
    return (data[:, features], data[:, label].astype(int), time,
            [header[j] for j in features])


def split(y):
    """Every other row of each class to the first half, the rest to the second."""
    first = np.zeros(len(y), dtype=bool)
    for c in (0, 1):
        rows = np.flatnonzero(y == c)
        first[rows[::2]] = True
    return first, ~first


def fit_all(X, y, names, train):
    """{detector name: fitted Model}, each behind a standard scaler."""
    models = {}
    for name in anoma.list_detectors():
        flags = anoma.component_flags("detector", name)
        if Flag.STATEFUL in flags:
            continue
        model = anoma.Model("contamination=%g" % max(y.mean(), 0.01),
                            [(name, "")], steps=[("standard_scaler", "")])
        model.feature_names = names
        labels = y[train] if Flag.SUPERVISED in flags else None
        models[name] = model.fit(X[train], labels)
    return models


def main(path, out):
    X, y, time, names = read(path)
    train, test = split(y)
    models = fit_all(X, y, names, train)
    scores = {name: m.score(X[test]) for name, m in models.items()}
    yt = y[test]
    for name, s in scores.items():
        print("%-12s ROC AUC %.3f  AP %.3f" % (name, anoma.roc_auc_score(yt, s),
                                                anoma.average_precision_score(yt, s)))
    best = max(scores, key=lambda k: anoma.average_precision_score(yt, scores[k]))
    os.makedirs(out, exist_ok=True)

    def save(ax, name):
        ax.figure.tight_layout()
        ax.figure.savefig(os.path.join(out, name), dpi=100)
        plt.close(ax.figure)

    fig, ax = plt.subplots(figsize=(7, 6))
    save(plot.roc_curves(yt, scores, ax=ax), "roc.png")
    fig, ax = plt.subplots(figsize=(7, 6))
    save(plot.pr_curves(yt, scores, ax=ax), "pr.png")
    save(plot.score_histogram(yt, scores[best], models[best].threshold), "histograms.png")
    save(plot.confusion_matrix(yt, scores[best], models[best].threshold), "confusion.png")
    save(plot.feature_importance(models["gbt"], names=names), "importance.png")
    explained = next(k for k in [best] + list(models)
                     if Flag.FEATURE_SCORES in anoma.component_flags("detector", k))
    top_row = X[test][np.argmax(scores[explained])]
    ax = plot.contributions(models[explained], top_row, names=names)
    ax.set_title("%s: the highest-scored row" % explained)
    save(ax, "contributions.png")
    fig, ax = plt.subplots(figsize=(10, 4))
    save(plot.series(X[test][:, :1], scores=scores[best], threshold=models[best].threshold,
                     time=time[test], names=names[:1], ax=ax), "series.png")
    print("best by average precision: %s; figures in %s" % (best, out))


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: %s DATA.csv OUTPUT_FOLDER" % sys.argv[0])
    main(sys.argv[1], sys.argv[2])
