"""FastMCD's search against scikit-learn 1.2's MinCovDet on the labelled
shared datasets, seeds 0-4 on each side: the MCD objective (the
log-determinant of the raw support's covariance; -inf when it is singular
to rounding, as tests/python/mcd_objective.py defines it), and the ROC
AUC of the squared distances of the training rows. Not a test: the test
asserts the comparison; this prints the numbers of
docs/detectors/mahalanobis.md.

    /usr/bin/python3 bench/mcd_search.py [--support-fraction F] [DATASET ...] [LIBRARY]

LIBRARY defaults to build/lib/libanoma.so. Prints one Markdown row per
dataset: rows, raw support rows, the best and worst objective over the
seeds on each side, and the ROC AUC (mean, then min-max) on each side.
"""
import os
import sys
import warnings

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SEEDS = range(5)


def main(argv):
    fraction = None
    if "--support-fraction" in argv:
        at = argv.index("--support-fraction")
        fraction = float(argv[at + 1])
        del argv[at:at + 2]
    library = [a for a in argv if a.endswith(".so")]
    names = [a for a in argv if not a.endswith(".so")]
    os.environ["ANOMA_LIBRARY"] = library[0] if library else os.path.join(
        ROOT, "build", "lib", "libanoma.so")
    sys.path.insert(0, os.path.join(ROOT, "bindings", "python"))
    sys.path.insert(0, os.path.join(ROOT, "tests", "python"))
    import anoma
    from conftest import dataset_names, load_csv
    from mcd_objective import objective
    from sklearn.covariance import MinCovDet
    from sklearn.metrics import roc_auc_score

    print("load average %.2f %.2f %.2f" % os.getloadavg())
    print("| dataset | rows | h | objective ours best / worst | scikit-learn best / worst "
          "| ROC AUC ours mean (min-max) | scikit-learn mean (min-max) |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name in names or dataset_names():
        X, y = load_csv(name if name.endswith(".csv") else name + ".csv")
        if y.min() == y.max():
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            theirs = [MinCovDet(support_fraction=fraction, random_state=s).fit(X)
                      for s in SEEDS]
        ours = [anoma.Mahalanobis(robust=True, support_fraction=fraction, random_state=s,
                                  n_jobs=1).fit(X) for s in SEEDS]
        row = [name.replace(".csv", ""), len(X), int(theirs[0].raw_support_.sum())]
        for side in (ours, theirs):
            values = [objective(e.raw_covariance_, X) for e in side]
            row.append("%.4f / %.4f" % (min(values), max(values)))
        for side, score in ((ours, "anomaly_score"), (theirs, "mahalanobis")):
            auc = [roc_auc_score(y, getattr(e, score)(X)) for e in side]
            row.append("%.4f (%.4f-%.4f)" % (np.mean(auc), min(auc), max(auc)))
        print("| " + " | ".join(str(v) for v in row) + " |", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
