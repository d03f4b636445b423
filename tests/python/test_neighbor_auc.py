"""Accuracy of the neighbour detectors on every labelled shared dataset:
the ROC AUC of "lof" within 0.005 of scikit-learn's LocalOutlierFactor
(stock, n_neighbors=20, its default search: its ties may fall otherwise,
docs/neighbors.md, hence a tolerance and not equality) and of "knn" within
0.005 of PyOD's KNN definition (distance to the 5th nearest other training
row) computed with scikit-learn's NearestNeighbors. Outlier mode: fitted on
all rows, each row scored as a training row. bench/neighbors_auc.py prints
the same numbers as a table (docs/benchmarks.md)."""
import numpy as np
import pytest

from conftest import dataset_params, import_anoma, load_csv

anoma = import_anoma()
neighbors = pytest.importorskip("sklearn.neighbors")
metrics = pytest.importorskip("sklearn.metrics")

GAP = 0.005


def labelled(name):
    X, y = load_csv(name)
    if y.min() == y.max():
        pytest.skip("%s has one class: no ROC AUC" % name)
    return X, y


@pytest.mark.parametrize("name", dataset_params())
def test_lof_auc_matches_sklearn(name):
    X, y = labelled(name)
    ours = -anoma.LocalOutlierFactor(n_neighbors=20, n_jobs=-1).fit(X).negative_outlier_factor_
    theirs = -neighbors.LocalOutlierFactor(n_neighbors=20).fit(X).negative_outlier_factor_
    a, b = metrics.roc_auc_score(y, ours), metrics.roc_auc_score(y, theirs)
    assert abs(a - b) <= GAP, "%s: ROC AUC %.4f, scikit-learn %.4f" % (name, a, b)


@pytest.mark.parametrize("name", dataset_params())
def test_knn_auc_matches_pyod_definition(name):
    X, y = labelled(name)
    ours = anoma.KNNDetector(n_neighbors=5, n_jobs=-1).fit(X).decision_scores_
    theirs = neighbors.NearestNeighbors(n_neighbors=5).fit(X).kneighbors()[0][:, -1]
    a, b = metrics.roc_auc_score(y, ours), metrics.roc_auc_score(y, theirs)
    assert abs(a - b) <= GAP, "%s: ROC AUC %.4f, PyOD's definition %.4f" % (name, a, b)
