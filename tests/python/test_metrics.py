"""anoma.metrics against scikit-learn and brute force, on the shared data."""
import zlib

import numpy as np
import pytest

from conftest import dataset_params, import_anoma, load_csv

anoma = import_anoma()
skm = pytest.importorskip("sklearn.metrics")


def score_vectors(name):
    """(label, scores) pairs: each feature, each feature rounded (ties), noise."""
    X, _ = load_csv(name)
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    for j in range(X.shape[1]):
        yield "f%d" % j, X[:, j]
        yield "round(f%d)" % j, np.round(X[:, j], 1)
    yield "normal", rng.standard_normal(X.shape[0])


def labelled(name):
    X, y = load_csv(name)
    if len(np.unique(y)) < 2:
        pytest.skip("%s has one class only" % name)
    return X, y


@pytest.mark.parametrize("name", dataset_params())
def test_auc_and_ap_match_sklearn(name):
    _, y = labelled(name)
    for what, s in score_vectors(name):
        assert abs(anoma.roc_auc_score(y, s) - skm.roc_auc_score(y, s)) <= 1e-12, what
        assert abs(anoma.average_precision_score(y, s)
                   - skm.average_precision_score(y, s)) <= 1e-12, what


@pytest.mark.parametrize("name", dataset_params())
def test_confusion_matches_sklearn(name):
    _, y = labelled(name)
    for what, s in score_vectors(name):
        for t in np.unique(np.quantile(s, [0.0, 0.5, 0.9, 0.99, 1.0])):
            pred = (s > t).astype(int)
            c = anoma.confusion_at(y, s, t)
            tn, fp, fn, tp = skm.confusion_matrix(y, pred, labels=[0, 1]).ravel()
            assert (c["tp"], c["fp"], c["tn"], c["fn"]) == (tp, fp, tn, fn), (what, t)
            assert c["precision"] == pytest.approx(
                skm.precision_score(y, pred, zero_division=0), abs=1e-12)
            assert c["recall"] == pytest.approx(
                skm.recall_score(y, pred, zero_division=0), abs=1e-12)
            assert c["f1"] == pytest.approx(skm.f1_score(y, pred, zero_division=0), abs=1e-12)
            assert c["accuracy"] == pytest.approx(skm.accuracy_score(y, pred), abs=1e-12)


def brute_best_f1(y, s):
    """Best F1 over every cut 'score > t'; ties go to the highest cut."""
    values = np.unique(s)
    cuts = np.concatenate([[np.nextafter(values[0], -np.inf)], values])
    order = np.argsort(s)
    s_sorted, y_sorted = s[order], y[order]
    # rows flagged by cut t: those with score > t
    below = np.searchsorted(s_sorted, cuts, side="right")
    pos_below = np.concatenate([[0], np.cumsum(y_sorted)])[below]
    tp = y.sum() - pos_below
    flagged = len(s) - below
    fp = flagged - tp
    fn = y.sum() - tp
    num, den = 2 * tp, 2 * tp + fp + fn
    f = np.where(den > 0, num / np.maximum(den, 1), 0.0)
    k = int(np.argmax(f))
    # exact ties with the best fraction, then the highest cut among them
    tied = np.nonzero(num * den[k] == num[k] * den)[0] if den[k] else np.nonzero(f == 0)[0]
    k = int(tied.max())
    return cuts[k], f[k]


@pytest.mark.parametrize("name", dataset_params())
def test_best_f1_matches_brute_force(name):
    _, y = labelled(name)
    for what, s in score_vectors(name):
        t, f1 = anoma.best_f1(y, s)
        bt, bf1 = brute_best_f1(y, s)
        assert f1 == pytest.approx(bf1, abs=1e-12), what
        assert t == bt, what
        assert anoma.confusion_at(y, s, t)["f1"] == pytest.approx(f1, abs=1e-12), what


def test_small_cases():
    y, s = [0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]
    assert anoma.roc_auc_score(y, s) == pytest.approx(0.75, abs=1e-15)
    assert anoma.average_precision_score(y, s) == pytest.approx(skm.average_precision_score(y, s))
    # all ties: AUC 1/2
    assert anoma.roc_auc_score(y, [1.0] * 4) == 0.5
    # all anomalies: AP is defined (1), as in scikit-learn
    assert anoma.average_precision_score([1, 1, 1], [0.1, 0.2, 0.3]) == 1.0
    # labels may be bool or float 0./1.
    assert anoma.roc_auc_score(np.array(y, bool), s) == anoma.roc_auc_score(np.array(y, float), s)


def test_bad_inputs():
    s = [0.1, 0.2, 0.3, 0.4]
    with pytest.raises(ValueError) as e:  # one class
        anoma.roc_auc_score([0, 0, 0, 0], s)
    assert isinstance(e.value, anoma.AnomaError)
    with pytest.raises(anoma.AnomaError):
        anoma.average_precision_score([0, 0, 0, 0], s)
    with pytest.raises(anoma.NonFiniteError):
        anoma.roc_auc_score([0, 1, 0, 1], [0.1, np.nan, 0.3, 0.4])
    with pytest.raises(anoma.NonFiniteError):
        anoma.average_precision_score([0, 1, 0, 1], [0.1, np.inf, 0.3, 0.4])
    with pytest.raises(anoma.InvalidArgumentError):
        anoma.roc_auc_score([0, 1, 2, 1], s)
    with pytest.raises(anoma.InvalidArgumentError):
        anoma.confusion_at([0, 1, -1, 1], s, 0.2)
    with pytest.raises(anoma.InvalidArgumentError):
        anoma.confusion_at([0, 1, 0, 1], s, np.nan)
    with pytest.raises(ValueError, match="labels"):
        anoma.roc_auc_score([0, 1, 0.5, 1], s)
    with pytest.raises(ValueError, match="expected 4"):  # length mismatch, checked in Python
        anoma.roc_auc_score([0, 1, 0], s)
    with pytest.raises(ValueError, match="1-D"):
        anoma.best_f1([[0, 1, 0, 1]], [s])
    with pytest.raises(anoma.EmptyInputError):
        anoma.roc_auc_score([], [])
