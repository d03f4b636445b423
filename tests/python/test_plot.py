"""anoma.plot and the curve functions behind it, against scikit-learn.

The curves' points and the confusion counts are compared with scikit-learn's;
each figure is rendered to PNG (Agg backend) and checked for its size and for
drawn content; bad input gives errors that name the argument.
"""
import os
import subprocess
import sys
import zlib

import numpy as np
import pytest

from conftest import BINDINGS, ROOT, dataset_params, import_anoma, load_csv

anoma = import_anoma()
skm = pytest.importorskip("sklearn.metrics")
matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the backend)

from anoma import plot  # noqa: E402


def score_vectors(name):
    """Each feature of a shared CSV as scores, rounded too (ties), and noise."""
    X, y = load_csv(name)
    if len(np.unique(y)) < 2:
        pytest.skip("%s has one class only" % name)
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    out = [("normal", rng.standard_normal(X.shape[0]))]
    for j in range(min(X.shape[1], 6)):
        out += [("f%d" % j, X[:, j]), ("round(f%d)" % j, np.round(X[:, j], 1))]
    return y, out


@pytest.mark.parametrize("name", dataset_params())
def test_curves_equal_sklearn(name):
    y, vectors = score_vectors(name)
    for what, s in vectors:
        for drop in (True, False):
            fpr, tpr, thr = anoma.roc_curve(y, s, drop_intermediate=drop)
            e_fpr, e_tpr, e_thr = skm.roc_curve(y, s, drop_intermediate=drop)
            assert np.array_equal(fpr, e_fpr) and np.array_equal(tpr, e_tpr), what
            # the first threshold (nothing flagged) is +inf here, the top
            # score + 1 in scikit-learn before 1.3
            assert thr[0] == np.inf and np.array_equal(thr[1:], e_thr[1:]), what
        for got, expected in zip(anoma.precision_recall_curve(y, s),
                                 skm.precision_recall_curve(y, s)):
            assert np.array_equal(got, expected), what


def test_curves_hand_computed():
    # scikit-learn's documentation example, worked by hand
    y, s = [0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]
    fpr, tpr, thr = anoma.roc_curve(y, s)
    assert fpr.tolist() == [0, 0, 0.5, 0.5, 1]
    assert tpr.tolist() == [0, 0.5, 0.5, 1, 1]
    assert thr.tolist() == [np.inf, 0.8, 0.4, 0.35, 0.1]
    precision, recall, thr = anoma.precision_recall_curve(y, s)
    assert precision.tolist() == [0.5, 2 / 3, 0.5, 1, 1]
    assert recall.tolist() == [1, 1, 0.5, 0.5, 0]
    assert thr.tolist() == [0.1, 0.35, 0.4, 0.8]
    # ties move together: one point for the two rows scoring 0.5
    fpr, tpr, _ = anoma.roc_curve([0, 1, 0, 1], [0.5, 0.5, 0.2, 0.9], drop_intermediate=False)
    assert fpr.tolist() == [0, 0, 0.5, 1] and tpr.tolist() == [0, 0.5, 1, 1]


@pytest.mark.parametrize("name", dataset_params(tabular_only=True)[:3])
def test_drawn_curves_are_sklearns(name):
    y, vectors = score_vectors(name)
    scores = dict(vectors[:3])
    ax = plot.roc_curves(y, scores)
    for line, s in zip(ax.lines, scores.values()):
        fpr, tpr, _ = skm.roc_curve(y, s)
        assert np.array_equal(line.get_xdata(), fpr) and np.array_equal(line.get_ydata(), tpr)
    assert [t.get_text() for t in ax.get_legend().get_texts()][:3] == [
        "%s (AUC %.3f)" % (k, skm.roc_auc_score(y, s)) for k, s in scores.items()]
    ax = plot.pr_curves(y, scores)
    for line, s in zip(ax.lines, scores.values()):
        precision, recall, _ = skm.precision_recall_curve(y, s)
        assert np.array_equal(line.get_xdata(), recall)
        assert np.array_equal(line.get_ydata(), precision)
    plt.close("all")


@pytest.mark.parametrize("name", dataset_params(tabular_only=True))
def test_confusion_matrix_counts_equal_sklearn(name):
    y, vectors = score_vectors(name)
    for what, s in vectors[:4]:
        for q in (0.5, 0.9, 0.99):
            t = float(np.quantile(s, q))
            ax = plot.confusion_matrix(y, s, t)
            expected = skm.confusion_matrix(y, (s > t).astype(int), labels=[0, 1])
            assert np.array_equal(ax.images[0].get_array(), expected), (what, q)
            assert [int(x.get_text()) for x in ax.texts] == expected.ravel().tolist()
            plt.close(ax.figure)


def labelled_data(n=400, d=4, seed=3):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    y = (rng.random(n) < 0.1).astype(int)
    X[y == 1] += 2.5
    return X, y


def drawn_png(ax, tmp_path, size=(6.4, 4.8), dpi=50):
    """Save ax's figure; the pixels, checked to be of the expected size and
    to hold more than the blank background."""
    fig = ax.figure
    fig.set_size_inches(*size)
    path = tmp_path / "figure.png"
    fig.savefig(path, dpi=dpi)
    plt.close(fig)
    pixels = matplotlib.image.imread(str(path))
    assert pixels.shape[:2] == (round(size[1] * dpi), round(size[0] * dpi))
    blank = plt.figure(figsize=size)
    blank.savefig(tmp_path / "blank.png", dpi=dpi)
    plt.close(blank)
    empty = matplotlib.image.imread(str(tmp_path / "blank.png"))
    changed = np.any(np.abs(pixels[..., :3] - empty[..., :3]) > 0.1, axis=-1).mean()
    assert changed > 0.02, "the figure is (nearly) blank: %.4f of its pixels drawn" % changed
    return pixels


def test_each_function_draws(tmp_path):
    X, y = labelled_data()
    zs = anoma.ZScore(contamination=0.1).fit(X)
    s = zs.anomaly_score(X)
    forest = anoma.IsolationForest(random_state=0).fit(X)
    gbt = anoma.GradientBoostedTrees(n_estimators=10, max_depth=3).fit(X, y)
    figures = [
        plot.roc_curves(y, {"zscore": s, "iforest": forest.anomaly_score(X)}),
        plot.pr_curves(y, {"zscore": s, "iforest": forest.anomaly_score(X)}),
        plot.score_histogram(y, s, threshold=zs.threshold_),
        plot.confusion_matrix(y, s, zs.threshold_),
        plot.feature_importance(gbt),
        plot.contributions(gbt, X[0]),
        plot.contributions(zs, X[:1]),
        plot.contributions(forest, X[0]),
        plot.series(X[:, :2], scores=s, threshold=zs.threshold_),
    ]
    for i, ax in enumerate(figures):
        (tmp_path / str(i)).mkdir()
        drawn_png(ax, tmp_path / str(i))


def test_given_axes_are_used():
    X, y = labelled_data()
    fig, axes = plt.subplots(1, 2)
    assert plot.roc_curves(y, X[:, 0], ax=axes[1]) is axes[1]
    assert len(axes[1].lines) == 2 and not axes[0].lines  # the curve and the chance line
    plt.close(fig)


def test_bars_show_the_models_values():
    X, y = labelled_data()
    gbt = anoma.GradientBoostedTrees(n_estimators=10, max_depth=3).fit(X, y)
    ax = plot.feature_importance(gbt, top=10)
    widths = sorted(p.get_width() for p in ax.patches)
    assert np.allclose(widths, sorted(gbt.feature_importances_))
    ax = plot.contributions(gbt, X[5], names=["a", "b", "c", "d"], top=2)
    row = gbt.feature_contributions(X[5:6])[0, :-1]
    biggest = np.argsort(-np.abs(row))[:2][::-1]  # drawn bottom-up
    assert [p.get_width() for p in ax.patches] == pytest.approx(row[biggest].tolist())
    assert [t.get_text() for t in ax.get_yticklabels()] == [["a", "b", "c", "d"][j]
                                                           for j in biggest]
    zs = anoma.ZScore().fit(X)
    ax = plot.contributions(zs, X[7])
    # zscore's feature score is |x - mean| / std (NumPy's population std)
    expected = np.abs(X[7] - X.mean(axis=0)) / X.std(axis=0)
    assert sorted(p.get_width() for p in ax.patches) == pytest.approx(sorted(expected))
    plt.close("all")


def test_series_spans_cover_flagged_runs():
    t = np.arange(10) * 2.0
    s = np.array([0, 0, 5, 5, 0, 0, 0, 7, 0, 0], dtype=float)
    ax = plot.series(np.sin(t), scores=s, threshold=1, time=t)
    spans = [p for p in ax.patches]
    # runs 2-3 and 7, reaching half-way to their neighbours
    xs = [(p.get_xy()[:, 0].min(), p.get_xy()[:, 0].max()) for p in spans]
    assert xs == [(3.0, 7.0), (13.0, 15.0)]
    assert ax.scores_axes.lines[1].get_ydata()[0] == 1
    plt.close("all")


def test_import_anoma_does_not_import_matplotlib():
    env = dict(os.environ, PYTHONPATH=BINDINGS)
    code = "import sys, anoma, anoma.plot; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize("call, message", [
    (lambda: anoma.roc_curve([0, 1, 2], [1, 2, 3]), r"labels\[2\] = 2"),
    (lambda: anoma.roc_curve([0, 1, 1], [1, np.nan, 3]), r"scores\[1\] is NaN"),
    (lambda: anoma.roc_curve([1, 1], [1, 2]), "only anomalous"),
    (lambda: anoma.precision_recall_curve([0, 0], [1, 2]), "only normal"),
    (lambda: anoma.roc_curve([0, 1], [1, 2, 3]), "y_true has 2 values; expected 3"),
    (lambda: anoma.roc_curve([], []), "no rows"),
    (lambda: plot.roc_curves([0, 1], {}), "empty dict"),
    (lambda: plot.score_histogram([0, 1], [1, 2], bins=0), "bins must be"),
    (lambda: plot.score_histogram([0, 1], [1, 2], threshold=np.inf), "threshold must be finite"),
    (lambda: plot.confusion_matrix([0, 1], [1, 2], "high"), "threshold must be a number"),
    (lambda: plot.feature_importance([1.0, 2.0], names=["a"]), "names has 1 entries; expected 2"),
    (lambda: plot.feature_importance([1.0, np.nan], names=["a", "b"]), r"values\[1\] \(b\)"),
    (lambda: plot.contributions([1.0, 2.0], top=0), "top must be"),
    (lambda: plot.contributions(object(), [1.0]), "gives no feature scores"),
    (lambda: plot.contributions(anoma.ZScore(), np.ones((2, 2))), "row must be one row"),
    (lambda: plot.series([1, 2, 3], time=[0, 2, 1]), "increase strictly; it does not at row 2"),
    (lambda: plot.series([1, 2, 3], scores=[1, 2]), "scores has 2 values; expected 3"),
    (lambda: plot.series([1, 2, 3], flagged=[True]), "flagged must hold 3 booleans"),
])
def test_bad_input_is_named(call, message):
    with pytest.raises((ValueError, TypeError), match=message):
        call()
    plt.close("all")


def test_example_writes_every_figure(tmp_path):
    script = os.path.join(ROOT, "examples", "plots.py")
    data = os.path.join(ROOT, "examples", "data", "wbc.csv")
    env = dict(os.environ, MPLBACKEND="Agg")
    env["PYTHONPATH"] = os.pathsep.join(p for p in (env.get("PYTHONPATH"), BINDINGS) if p)
    subprocess.run([sys.executable, script, data, str(tmp_path)], env=env, check=True,
                   capture_output=True, text=True, timeout=600)
    written = sorted(p.name for p in tmp_path.glob("*.png"))
    assert written == sorted(["roc.png", "pr.png", "histograms.png", "confusion.png",
                              "importance.png", "contributions.png", "series.png"])
    for name in written:
        pixels = matplotlib.image.imread(str(tmp_path / name))
        assert pixels.shape[0] > 100 and pixels.shape[1] > 100
        assert np.ptp(pixels[..., :3]) > 0.5, name
