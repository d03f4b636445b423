"""ROC AUC of the isolation forest, LOF and kNN detectors on every labelled
shared dataset, libanoma against its counterpart, on the same rows in the
same run: scikit-learn's IsolationForest (seed 0 on each side; different
random streams) and LocalOutlierFactor (n_neighbors=20, outlier mode, its
default search), and PyOD's KNN definition (the distance to the 5th nearest
other training row) computed with scikit-learn's NearestNeighbors. Each
detector is fitted on all rows and scores them (outlier mode); the labels
only score the result. Not a test: tests/python/test_neighbor_auc.py checks
the LOF and kNN gaps.

    /usr/bin/python3 bench/neighbors_auc.py [LIBRARY]

Prints a Markdown table: rows x columns, then ours / theirs per detector.
"""
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main():
    if len(sys.argv) > 1:
        os.environ["ANOMA_LIBRARY"] = os.path.abspath(sys.argv[1])
    sys.path.insert(0, os.path.join(ROOT, "bindings", "python"))
    sys.path.insert(0, os.path.join(ROOT, "tests", "python"))
    import numpy as np
    from sklearn.ensemble import IsolationForest
    from sklearn.metrics import roc_auc_score
    from sklearn.neighbors import LocalOutlierFactor, NearestNeighbors

    import anoma
    from conftest import dataset_names, load_csv

    print("| data | rows x cols | iforest ours / sklearn | lof ours / sklearn | knn ours / PyOD def. |")
    print("|---|---:|---:|---:|---:|")
    for name in dataset_names():
        X, y = load_csv(name)
        if y.min() == y.max():
            continue  # one class: no ROC AUC
        auc = lambda s: roc_auc_score(y, s)  # noqa: E731
        cells = []
        ours = anoma.IsolationForest(random_state=0).fit(X).anomaly_score(X)
        theirs = -IsolationForest(random_state=0).fit(X).score_samples(X)
        cells.append((auc(ours), auc(theirs)))
        ours = -anoma.LocalOutlierFactor(n_neighbors=20).fit(X).negative_outlier_factor_
        theirs = -LocalOutlierFactor(n_neighbors=20).fit(X).negative_outlier_factor_
        cells.append((auc(ours), auc(theirs)))
        ours = anoma.KNNDetector(n_neighbors=5).fit(X).decision_scores_
        theirs = NearestNeighbors(n_neighbors=5).fit(X).kneighbors()[0][:, -1]
        cells.append((auc(ours), auc(theirs)))
        print("| %s | %d x %d | %s |" % (name[:-4], X.shape[0], X.shape[1], " | ".join(
            "%.4f / %.4f" % c for c in cells)), flush=True)


if __name__ == "__main__":
    main()
