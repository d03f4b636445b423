"""The robust Mahalanobis distance (FastMCD) against scikit-learn's MinCovDet
on every labelled shared dataset, over seeds 0-4 on each side (the two
libraries' generators differ, so a seed here is not a seed there):

- the search: the MCD objective, the log-determinant of the raw support's
  covariance (raw_covariance_), at its best over the seeds is no worse
  than scikit-learn's best, to 0.01 (1% of the determinant);
- the correction and reweighting: MinCovDet's own correct_covariance and
  reweight_covariance, given our raw estimate and its distances (NumPy, by
  the detector's documented rule), give our final location and covariance
  to 1e-9. (scikit-learn's final estimate is not always that of its own
  raw estimate: MinCovDet.fit corrects with the distances fast_mcd
  returns, which its last C-step computed with the covariance of the step
  before, so they are the raw estimate's own only when that step left the
  support unchanged.);
- the ROC AUC: the mean over the seeds within 0.005 of scikit-learn's,
  plus three standard errors of the difference (two of the SKAB sets have
  two local minima of the objective, and each seed of either library
  lands in one of them: skab_other_9 scores 0.56 in one and 0.998 in the
  other), except on the exact-fit sets below;
- off the exact fit (support_fraction=0.8) on shuttle and mammography: the
  same objective and the same ROC AUC to 0.005.

On the exact-fit sets half the rows or more lie on a hyperplane (a column
constant on them, or a linear relation between columns): the smallest
determinant is 0 and is reached by many supports, so the objective does
not say which one to keep, and neither library's AUC is a property of the
search (scikit-learn's ranges over 0.47-0.73 on mammography from seed to
seed). There the test checks that our search reaches the exact fit. On
shuttle only our search does: 72% of its rows satisfy f6 = f2 - f0
exactly, and scikit-learn's pseudo-inverse drops that direction when a
subset's support is singular, so its search leaves the hyperplane and
settles at log-determinant 7.81. docs/detectors/mahalanobis.md has the
numbers."""
import warnings

import numpy as np
import pytest

from conftest import dataset_names, dataset_params, import_anoma, load_csv
from mcd_objective import objective

anoma = import_anoma()
metrics = pytest.importorskip("sklearn.metrics")
covariance = pytest.importorskip("sklearn.covariance")

SEEDS = range(5)
GAP = 0.005
OBJECTIVE_GAP = 0.01
EXACT_FIT = {"breastw.csv", "cardio.csv", "mammography.csv", "shuttle.csv", "skab_valve1_0.csv",
             "wbc.csv"}


def distances_ridge(X, location, cov):
    """Squared distances by the detector's documented rule: a column of
    variance 0 left out, the correlation matrix R inverted, R + 1e-10 I when
    its reciprocal condition number is below 1e-10."""
    variance = np.diag(cov)
    constant = variance == 0
    s = np.where(constant, 1.0, np.sqrt(variance))
    R = cov / np.outer(s, s)
    R[constant, :] = 0
    R[:, constant] = 0
    R[constant, constant] = 1
    if 1 / np.linalg.cond(R, 1) < 1e-10:
        R = R + 1e-10 * np.eye(len(R))
    Z = (X - location) / s
    Z[:, constant] = 0
    return (Z * np.linalg.solve(R, Z.T).T).sum(axis=1)


def reweight(X, raw_location, raw_covariance, raw_distances):
    """(location, covariance) from MinCovDet's own consistency correction and
    reweighting of a raw estimate, as MinCovDet.fit applies them to
    fast_mcd's result."""
    mcd = covariance.MinCovDet()
    mcd.raw_location_ = mcd.location_ = raw_location
    mcd.raw_covariance_ = raw_covariance
    mcd.support_ = np.ones(len(X), dtype=bool)  # read for its count only
    mcd.dist_ = raw_distances.copy()
    mcd.correct_covariance(X)
    location, cov, _ = mcd.reweight_covariance(X)
    return location, cov


def assert_same_estimate(got_location, got_cov, location, cov, what):
    scale = np.sqrt(np.abs(np.diag(cov)).max())
    np.testing.assert_allclose(got_location, location, rtol=1e-9, atol=1e-12 * scale,
                               err_msg=what + ": location")
    np.testing.assert_allclose(got_cov, cov, rtol=1e-9, atol=1e-12 * scale ** 2,
                               err_msg=what + ": covariance")


@pytest.mark.parametrize("name", dataset_params())
def test_robust_matches_min_cov_det(name):
    X, y = load_csv(name)
    if y.min() == y.max():
        pytest.skip("%s has one class: no ROC AUC" % name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "not full rank", "determinant has increased"
        theirs = [covariance.MinCovDet(random_state=s).fit(X) for s in SEEDS]
    ours = [anoma.Mahalanobis(robust=True, random_state=s).fit(X) for s in SEEDS]

    our_objective = [objective(e.raw_covariance_, X) for e in ours]
    their_objective = [objective(e.raw_covariance_, X) for e in theirs]
    assert min(our_objective) <= min(their_objective) + OBJECTIVE_GAP, (
        "%s: best log det of the raw covariance %.4f (seeds %s), scikit-learn %.4f (seeds %s)"
        % (name, min(our_objective), np.round(our_objective, 4), min(their_objective),
           np.round(their_objective, 4)))

    for s, est in enumerate(ours):
        raw_distances = distances_ridge(X, est.raw_location_, est.raw_covariance_)
        location, cov = reweight(X, est.raw_location_, est.raw_covariance_, raw_distances)
        assert_same_estimate(est.location_, est.covariance_, location, cov,
                             "%s seed %d: reweighting" % (name, s))

    if name in EXACT_FIT:
        assert max(our_objective) == -np.inf, (
            "%s: half the rows lie on a hyperplane, yet the raw supports have log det %s"
            % (name, np.round(our_objective, 4)))
        return
    our_auc = [metrics.roc_auc_score(y, e.anomaly_score(X)) for e in ours]
    their_auc = [metrics.roc_auc_score(y, e.mahalanobis(X)) for e in theirs]
    gap = abs(np.mean(our_auc) - np.mean(their_auc))
    stderr = np.sqrt((np.var(our_auc, ddof=1) + np.var(their_auc, ddof=1)) / len(SEEDS))
    assert gap <= GAP + 3 * stderr, (
        "%s: mean ROC AUC %.4f (seeds %s), scikit-learn %.4f (seeds %s)"
        % (name, np.mean(our_auc), np.round(our_auc, 4), np.mean(their_auc),
           np.round(their_auc, 4)))


@pytest.mark.parametrize("name", ["mammography.csv", "shuttle.csv"])
def test_off_the_exact_fit_both_searches_agree(name):
    """With support_fraction=0.8 no support lies on mammography's or
    shuttle's hyperplane (76% and 72% of the rows): both searches then
    reach the same objective (every seed 0-4 of either library gives the
    same, bench/mcd_search.py) and the same ROC AUC."""
    if name not in dataset_names():
        pytest.skip("%s is not in the shared data" % name)
    X, y = load_csv(name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = covariance.MinCovDet(support_fraction=0.8, random_state=0).fit(X)
    est = anoma.Mahalanobis(robust=True, support_fraction=0.8).fit(X)
    ours, theirs = objective(est.raw_covariance_, X), objective(ref.raw_covariance_, X)
    assert theirs > -np.inf and abs(ours - theirs) <= OBJECTIVE_GAP, (ours, theirs)
    a = metrics.roc_auc_score(y, est.anomaly_score(X))
    b = metrics.roc_auc_score(y, ref.mahalanobis(X))
    assert abs(a - b) <= GAP, "%s: ROC AUC %.4f, scikit-learn %.4f" % (name, a, b)
