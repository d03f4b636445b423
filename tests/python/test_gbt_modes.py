"""The "gbt" detector's other ways of growing trees, against XGBoost 1.7
(python3-xgboost), tree_method="hist": random-forest mode
(num_parallel_tree), column sampling by level and by node, and growth
leaf by leaf (grow_policy=lossguide).

Where no random draw is involved the trees are XGBoost's and the
probabilities agree to float32 rounding; where rows or features are
sampled the draws cannot be XGBoost's, so the test ROC AUC must be within
0.005 of XGBoost's on every labelled shared dataset (70/30 split,
stratified, seed 0), with forests large enough that the draws average
out."""
import re

import numpy as np
import pytest

from conftest import dataset_params, import_anoma, load_csv
# the same split, holes and pima fixture as the boosting tests
from test_gbt import holed, pima_holed, split  # noqa: F401

anoma = import_anoma()
xgb = pytest.importorskip("xgboost")
from sklearn.metrics import roc_auc_score  # noqa: E402


def ours(X, y, params, sample_weight=None):
    return anoma.Model("normalize=none", [("gbt", params)]).fit(X, y, sample_weight)


def theirs(X, y, params, rounds, sample_weight=None):
    """xgb.train with native parameters; its predict is the probability."""
    p = dict(tree_method="hist", objective="binary:logistic", nthread=1, **params)
    return xgb.train(p, xgb.DMatrix(X, label=y, weight=sample_weight), rounds)


def their_scores(booster, X):
    return booster.predict(xgb.DMatrix(X))


def labelled(name):
    X, y = load_csv(name)
    if len(np.unique(y)) < 2:
        pytest.skip("one class only: nothing to learn or rank")
    return X, y


# ---- random-forest mode: num_parallel_tree ----

@pytest.mark.parametrize("weighted", [False, True])
def test_parallel_trees_without_sampling_are_xgboost(pima_holed, weighted):
    """With no sampling, a round's trees are XGBoost's: each the round's
    tree with its leaves scaled by eta / num_parallel_tree."""
    X, y, w = pima_holed
    w = w if weighted else None
    mine = ours(X, y, "n_trees=10 num_parallel_tree=3 eta=0.3 max_depth=4", w)
    ref = theirs(X, y, dict(num_parallel_tree=3, eta=0.3, max_depth=4), 10, w)
    np.testing.assert_allclose(mine.detector_scores(X), their_scores(ref, X), rtol=0, atol=1e-5)
    # the estimator's parameter is XGBClassifier's
    est = anoma.GradientBoostedTrees(n_estimators=10, num_parallel_tree=2, max_depth=3)
    cls = xgb.XGBClassifier(tree_method="hist", nthread=1, n_estimators=10,
                            num_parallel_tree=2, max_depth=3)
    np.testing.assert_allclose(est.fit(X, y, sample_weight=w).predict_proba(X),
                               cls.fit(X, y, sample_weight=w).predict_proba(X), rtol=0,
                               atol=1e-5)
    assert "trees: 20," in est.model_.describe()
    assert "rounds: 10 of 2 parallel trees" in est.model_.describe()


# a random forest as XGBRFClassifier grows it, with tree-level sampling
FOREST = dict(eta=1, subsample=0.8, colsample_bytree=0.8)


def forest_size(rows):
    """Trees enough for two forests of other draws to rank alike: a small
    training set varies more from draw to draw."""
    return 1000 if rows < 2000 else 300


@pytest.mark.parametrize("name", dataset_params())
def test_random_forest_roc_auc_as_xgboost(name):
    Xtr, Xte, ytr, yte = split(*labelled(name))
    n = forest_size(len(Xtr))
    mine = ours(Xtr, ytr, "n_trees=1 num_parallel_tree=%d eta=1 subsample=0.8 "
                "colsample_bytree=0.8" % n)
    ref = theirs(Xtr, ytr, dict(FOREST, num_parallel_tree=n), 1)
    auc = roc_auc_score(yte, mine.detector_scores(Xte))
    ref_auc = roc_auc_score(yte, their_scores(ref, Xte))
    assert abs(auc - ref_auc) <= 0.005, (auc, ref_auc)


@pytest.mark.parametrize("name", dataset_params())
def test_import_xgbrfclassifier(name):
    """An XGBRFClassifier (one round of n_estimators parallel trees,
    sampling by node) imports as a GradientBoostedTrees predicting as it,
    to 1e-6, with missing values in training and scoring."""
    X, y = labelled(name)
    Xtr, Xte, ytr, _ = split(holed(X, 1), y)
    Xte = holed(Xte, 2, 0.2)
    ref = xgb.XGBRFClassifier(tree_method="hist", n_estimators=50, nthread=1,
                              random_state=0).fit(Xtr, ytr)
    mine = anoma.from_xgboost(ref)
    assert isinstance(mine, anoma.GradientBoostedTrees)
    assert mine.n_estimators == 1 and mine.num_parallel_tree == 50
    assert mine.learning_rate == 1 and mine.subsample == 0.8 and mine.colsample_bynode == 0.8
    np.testing.assert_allclose(mine.predict_proba(Xte), ref.predict_proba(Xte), rtol=0,
                               atol=1e-6)


def test_import_rounds_of_parallel_trees(pima_holed):
    """Several rounds of parallel trees, early stopped: the import keeps the
    trees of the rounds up to the best, as XGBClassifier predicts."""
    X, y, _ = pima_holed
    Xtr, Xva, ytr, yva = split(X, y)
    ref = xgb.XGBClassifier(tree_method="hist", nthread=1, n_estimators=60, num_parallel_tree=3,
                            subsample=0.7, colsample_bytree=0.8, learning_rate=0.3,
                            early_stopping_rounds=4, random_state=1)
    ref.fit(Xtr, ytr, eval_set=[(Xva, yva)], verbose=False)
    assert ref.best_iteration < 59
    mine = anoma.from_xgboost(ref)
    np.testing.assert_allclose(mine.predict_proba(Xva), ref.predict_proba(Xva), rtol=0,
                               atol=1e-6)
    booster = anoma.from_xgboost(ref.get_booster()[:ref.best_iteration + 1])
    assert "trees: %d," % (3 * (ref.best_iteration + 1)) in booster.describe()


def test_early_stopping_counts_rounds(pima_holed, tmp_path):
    """best_iteration is a round of num_parallel_tree trees, as XGBoost's;
    with no sampling, the same round and the same predictions; the record
    survives saving (payload version 3)."""
    X, y, _ = pima_holed
    Xtr, Xva, ytr, yva = split(X, y)
    kw = dict(n_estimators=80, num_parallel_tree=2, max_depth=4, learning_rate=0.3)
    mine = anoma.GradientBoostedTrees(**kw).fit(Xtr, ytr, eval_set=[(Xva, yva)],
                                                early_stopping_rounds=5)
    ref = xgb.XGBClassifier(tree_method="hist", nthread=1, early_stopping_rounds=5, **kw)
    ref.fit(Xtr, ytr, eval_set=[(Xva, yva)], verbose=False)
    assert mine.best_iteration_ == ref.best_iteration < 79
    assert mine.best_score_ == pytest.approx(ref.best_score, rel=1e-5)
    np.testing.assert_allclose(mine.predict_proba(Xva), ref.predict_proba(Xva), atol=1e-5)
    path = str(tmp_path / "m.anoma")
    mine.model_.save(path)
    back = anoma.Model.load(path)
    text = back.describe()
    assert "trees: %d," % (2 * (ref.best_iteration + 1)) in text
    assert "best iteration %d of" % ref.best_iteration in text
    np.testing.assert_array_equal(back.detector_scores(Xva), mine.model_.detector_scores(Xva))


def test_parallel_tree_errors(pima_holed):
    X, y, _ = pima_holed
    with pytest.raises(anoma.ParameterValueError, match="num_parallel_tree"):
        anoma.GradientBoostedTrees(num_parallel_tree=0).fit(X, y)
    with pytest.raises(anoma.ParameterValueError, match="num_parallel_tree"):
        anoma.GradientBoostedTrees(n_estimators=2000, num_parallel_tree=1000).fit(X, y)


# ---- column sampling by level and by node ----

@pytest.mark.parametrize("name", dataset_params())
def test_xgbrfclassifier_roc_auc(name):
    """XGBRFClassifier's forest (one round, eta 1, rows and features per
    node sampled at 0.8, lambda 1e-5) through the estimator's parameters."""
    Xtr, Xte, ytr, yte = split(*labelled(name))
    n = forest_size(len(Xtr))
    ref = xgb.XGBRFClassifier(tree_method="hist", n_estimators=n, nthread=1,
                              random_state=0).fit(Xtr, ytr)
    mine = anoma.GradientBoostedTrees(n_estimators=1, num_parallel_tree=n, learning_rate=1,
                                      subsample=0.8, colsample_bynode=0.8, reg_lambda=1e-5)
    auc = roc_auc_score(yte, mine.fit(Xtr, ytr).predict_proba(Xte)[:, 1])
    ref_auc = roc_auc_score(yte, ref.predict_proba(Xte)[:, 1])
    assert abs(auc - ref_auc) <= 0.005, (auc, ref_auc)


@pytest.mark.parametrize("name", dataset_params())
def test_nested_column_samples_roc_auc(name):
    """By tree, by level and by node at once, each drawn from the one
    before, as XGBoost draws them."""
    Xtr, Xte, ytr, yte = split(*labelled(name))
    n = forest_size(len(Xtr))
    shares = dict(subsample=0.8, colsample_bytree=0.8, colsample_bylevel=0.7,
                  colsample_bynode=0.8)
    mine = ours(Xtr, ytr, "n_trees=1 num_parallel_tree=%d eta=1 %s"
                % (n, " ".join("%s=%s" % kv for kv in shares.items())))
    ref = theirs(Xtr, ytr, dict(shares, num_parallel_tree=n, eta=1), 1)
    auc = roc_auc_score(yte, mine.detector_scores(Xte))
    ref_auc = roc_auc_score(yte, their_scores(ref, Xte))
    assert abs(auc - ref_auc) <= 0.005, (auc, ref_auc)


def test_column_sample_errors(pima_holed):
    X, y, _ = pima_holed
    for name in ("colsample_bylevel", "colsample_bynode"):
        with pytest.raises(anoma.ParameterValueError, match=name):
            anoma.GradientBoostedTrees(**{name: 0}).fit(X, y)
        with pytest.raises(anoma.ParameterValueError, match=name):
            anoma.GradientBoostedTrees(**{name: "half"}).fit(X, y)


# ---- grow_policy=lossguide, max_leaves ----

EXACT_SKETCH_ROWS = 4098

LOSSGUIDE = [(8, 6), (16, 0), (31, 0), (5, 2), (0, 4)]


@pytest.mark.parametrize("max_leaves,max_depth", LOSSGUIDE)
@pytest.mark.parametrize("weighted", [False, True])
def test_lossguide_is_xgboost(pima_holed, max_leaves, max_depth, weighted):
    """With no sampling the trees are XGBoost's: the node of largest loss
    change splits first (ties: the older node), up to max_leaves leaves,
    max_depth 0 no depth limit."""
    X, y, w = pima_holed
    w = w if weighted else None
    mine = ours(X, y, "grow_policy=lossguide max_leaves=%d max_depth=%d n_trees=30"
                % (max_leaves, max_depth), w)
    ref = theirs(X, y, dict(grow_policy="lossguide", max_leaves=max_leaves, max_depth=max_depth),
                 30, w)
    np.testing.assert_allclose(mine.detector_scores(X), their_scores(ref, X), rtol=0, atol=1e-6)


def test_lossguide_regularised_estimator_is_xgbclassifier(pima_holed):
    X, y, w = pima_holed
    kw = dict(n_estimators=20, grow_policy="lossguide", max_leaves=12, max_depth=0,
              reg_lambda=2.0, reg_alpha=0.3, gamma=0.2, min_child_weight=2, learning_rate=0.2)
    mine = anoma.GradientBoostedTrees(**kw).fit(X, y, sample_weight=w)
    ref = xgb.XGBClassifier(tree_method="hist", nthread=1, **kw).fit(X, y, sample_weight=w)
    np.testing.assert_allclose(mine.predict_proba(X), ref.predict_proba(X), rtol=0, atol=1e-6)
    np.testing.assert_allclose(mine.feature_importances_, ref.feature_importances_, atol=1e-5)


@pytest.mark.parametrize("name", dataset_params())
def test_lossguide_on_every_dataset(name):
    """Where XGBoost's sketch is exact, the same probabilities; elsewhere
    (its cuts approximate) the test ROC AUC within 0.005."""
    Xtr, Xte, ytr, yte = split(*labelled(name))
    mine = ours(Xtr, ytr, "grow_policy=lossguide max_leaves=16 max_depth=0 n_trees=50")
    ref = theirs(Xtr, ytr, dict(grow_policy="lossguide", max_leaves=16, max_depth=0), 50)
    p, q = mine.detector_scores(Xte), their_scores(ref, Xte)
    assert abs(roc_auc_score(yte, p) - roc_auc_score(yte, q)) <= 0.005
    if len(Xtr) < EXACT_SKETCH_ROWS:
        np.testing.assert_allclose(p, q, rtol=0, atol=1e-6)


DEPTHWISE_LEAVES = [(8, 6), (5, 3), (20, 0), (3, 6), (40, 4)]


@pytest.mark.parametrize("max_leaves,max_depth", DEPTHWISE_LEAVES)
@pytest.mark.parametrize("weighted", [False, True])
def test_depthwise_max_leaves_is_xgboost(pima_holed, max_leaves, max_depth, weighted):
    """Depthwise growth with max_leaves: the nodes of a level split in the
    order they were made until the tree has max_leaves leaves, as XGBoost
    1.7's hist updater (max_depth 0: no depth limit; (40, 4): the depth
    binds first)."""
    X, y, w = pima_holed
    w = w if weighted else None
    mine = ours(X, y, "max_leaves=%d max_depth=%d n_trees=30" % (max_leaves, max_depth), w)
    ref = theirs(X, y, dict(grow_policy="depthwise", max_leaves=max_leaves, max_depth=max_depth),
                 30, w)
    np.testing.assert_allclose(mine.detector_scores(X), their_scores(ref, X), rtol=0, atol=1e-6)
    leaves = int(re.search(r"\((\d+) leaves\)", mine.describe()).group(1))
    assert leaves <= 30 * max_leaves


@pytest.mark.parametrize("name", dataset_params())
def test_depthwise_max_leaves_on_every_dataset(name):
    """As lossguide: the same probabilities where XGBoost's sketch is
    exact, the test ROC AUC within 0.005 elsewhere."""
    Xtr, Xte, ytr, yte = split(*labelled(name))
    mine = ours(Xtr, ytr, "max_leaves=12 max_depth=6 n_trees=50 gamma=0.1")
    ref = theirs(Xtr, ytr, dict(grow_policy="depthwise", max_leaves=12, max_depth=6, gamma=0.1),
                 50)
    p, q = mine.detector_scores(Xte), their_scores(ref, Xte)
    assert abs(roc_auc_score(yte, p) - roc_auc_score(yte, q)) <= 0.005
    if len(Xtr) < EXACT_SKETCH_ROWS:
        np.testing.assert_allclose(p, q, rtol=0, atol=1e-6)


def test_lossguide_errors(pima_holed):
    X, y, _ = pima_holed
    with pytest.raises(anoma.ParameterValueError, match="max_depth"):
        anoma.GradientBoostedTrees(max_depth=0).fit(X, y)
    with pytest.raises(anoma.ParameterValueError, match="grow_policy"):
        anoma.GradientBoostedTrees(grow_policy="levelwise").fit(X, y)
    with pytest.raises(anoma.ParameterValueError, match="max_leaves"):
        anoma.GradientBoostedTrees(grow_policy="lossguide", max_leaves=-1).fit(X, y)
