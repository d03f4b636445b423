"""Model.set_threshold_from_labels against a brute force over scikit-learn's
precision_recall_curve, on the shared data: the rows the chosen threshold
flags have the precision, recall and F1 of the brute-force optimum."""
import os
import subprocess

import numpy as np
import pytest

from conftest import dataset_params, import_anoma, load_csv

anoma = import_anoma()
skm = pytest.importorskip("sklearn.metrics")


def fitted_and_validation(name):
    """A z-score model fitted on the even rows; the odd rows, labelled."""
    X, y = load_csv(name)
    Xv, yv = X[1::2], y[1::2].astype(int)
    if yv.min() == yv.max():
        pytest.skip("%s: one class among the validation rows" % name)
    model = anoma.Model("threshold=0", [("zscore", "combine=max")]).fit(X[0::2])
    return model, Xv, yv


def rates(y, pred):
    return (skm.precision_score(y, pred, zero_division=0), skm.recall_score(y, pred),
            skm.f1_score(y, pred))


@pytest.mark.parametrize("name", dataset_params())
def test_rules_match_brute_force(name):
    model, Xv, yv = fitted_and_validation(name)
    s = model.score(Xv)
    # point i flags s >= thresholds[i] (ascending); the last point flags nothing
    precision, recall, thresholds = skm.precision_recall_curve(yv, s)
    precision, recall = precision[:-1], recall[:-1]

    model.set_threshold_from_labels(Xv, yv, "best_f1")
    with np.errstate(invalid="ignore", divide="ignore"):
        f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0)
    got = rates(yv, model.predict(Xv))
    assert got[2] == pytest.approx(f1.max(), abs=1e-12)
    assert np.array_equal(model.predict(Xv), (s > model.threshold).astype(int))

    for target in (0.3, 0.5, 0.8, 0.9, 1.0):
        rule = "precision=%r" % target
        reaching = np.nonzero(precision >= target)[0]
        if reaching.size == 0:
            with pytest.raises(ValueError, match="best precision is"):
                model.set_threshold_from_labels(Xv, yv, rule)
            continue
        i = reaching[np.argmin(thresholds[reaching])]  # the lowest cut reaching it
        got = rates(yv, model.set_threshold_from_labels(Xv, yv, rule).predict(Xv))
        assert got[:2] == pytest.approx((precision[i], recall[i]), abs=1e-12), rule

    for target in (0.1, 0.5, 0.9, 0.95, 1.0):
        rule = "recall=%r" % target
        reaching = np.nonzero(recall >= target)[0]
        i = reaching[np.argmax(thresholds[reaching])]  # the highest cut reaching it
        got = rates(yv, model.set_threshold_from_labels(Xv, yv, rule).predict(Xv))
        assert got[:2] == pytest.approx((precision[i], recall[i]), abs=1e-12), rule


def test_bad_input_keeps_the_threshold():
    X = np.arange(20, dtype=float).reshape(10, 2)
    model = anoma.Model("threshold=1.5", [("zscore", "combine=max")]).fit(X)
    y = np.array([0, 1] * 5)
    for bad_y, match in ((np.zeros(10), "no anomaly"), (np.full(10, 2), "expected 0 or 1")):
        with pytest.raises(ValueError, match=match):
            model.set_threshold_from_labels(X, bad_y, "best_f1")
    with pytest.raises(ValueError, match="expected best_f1"):
        model.set_threshold_from_labels(X, y, "f1")
    with pytest.raises(ValueError, match="has 3 values"):
        model.set_threshold_from_labels(X, y[:3], "best_f1")
    assert model.threshold == 1.5


CLI = os.environ.get("ANOMA_CLI")
WBC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "examples", "data",
                   "wbc.csv")


@pytest.mark.skipif(not CLI or not os.path.exists(CLI), reason="ANOMA_CLI is not set")
@pytest.mark.parametrize("rule", ["best_f1", "recall=0.9", "precision=0.5"])
def test_cli_train_validation(tmp_path, rule):
    """anoma train --validation FILE --threshold RULE: the saved model flags
    the validation rows as the brute force over precision_recall_curve says."""
    with open(WBC) as f:
        header, *lines = f.read().splitlines()
    train, valid = tmp_path / "train.csv", tmp_path / "valid.csv"
    train.write_text("\n".join([header] + lines[0::2]) + "\n")
    valid.write_text("\n".join([header] + lines[1::2]) + "\n")
    out = tmp_path / "m.anoma"
    p = subprocess.run([CLI, "train", "-d", "zscore", "--validation", str(valid),
                        "--threshold", rule, "-o", str(out), str(train)],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    data = np.loadtxt(valid, delimiter=",", skiprows=1, ndmin=2)
    Xv, yv = data[:, :-1], data[:, -1].astype(int)
    model = anoma.Model.load(str(out))
    s = model.score(Xv)
    precision, recall, thresholds = skm.precision_recall_curve(yv, s)
    precision, recall = precision[:-1], recall[:-1]
    if rule == "best_f1":
        i = np.argmax(2 * precision * recall / (precision + recall))
    elif rule.startswith("recall="):
        reaching = np.nonzero(recall >= 0.9)[0]
        i = reaching[np.argmax(thresholds[reaching])]
    else:
        reaching = np.nonzero(precision >= 0.5)[0]
        i = reaching[np.argmin(thresholds[reaching])]
    got = rates(yv, model.predict(Xv))
    assert got[:2] == pytest.approx((precision[i], recall[i]), abs=1e-12)


@pytest.mark.skipif(not CLI or not os.path.exists(CLI), reason="ANOMA_CLI is not set")
def test_cli_threshold_needs_validation(tmp_path):
    p = subprocess.run([CLI, "train", "-d", "zscore", "--threshold", "best_f1", "-o",
                        str(tmp_path / "m.anoma"), WBC], capture_output=True, text=True)
    assert p.returncode != 0 and "--threshold needs --validation" in p.stderr
