"""The "gbt" detector against XGBoost 1.7 (python3-xgboost), tree_method="hist".

Every labelled shared dataset is split once (70/30, stratified, seed 0);
both libraries train on the same rows with the same parameters, and the
test ROC AUC of our probabilities must be within 0.005 of XGBoost's. Where
the training columns are short enough for XGBoost's quantile sketch to be
exact (under 4098 values, docs/detectors/gbt.md "Cuts"), our cuts are its
cuts and the probabilities themselves agree to 1e-5 (float32 rounding of
the gradients is the rest)."""
import os

import numpy as np
import pytest

from conftest import DATA_DIR, dataset_params, import_anoma, load_csv

anoma = import_anoma()
xgb = pytest.importorskip("xgboost")
from sklearn.metrics import roc_auc_score  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402

EXACT_SKETCH_ROWS = 4098


def split(X, y):
    return train_test_split(X, y, test_size=0.3, random_state=0, stratify=y)


def ours(Xtr, ytr, params="", sample_weight=None):
    return anoma.Model("normalize=none", [("gbt", params)]).fit(Xtr, ytr, sample_weight)


def theirs(Xtr, ytr, sample_weight=None, **kw):
    kw.setdefault("n_estimators", 100)
    cls = xgb.XGBRegressor if kw.get("objective") == "reg:squarederror" else xgb.XGBClassifier
    return cls(tree_method="hist", nthread=1, **kw).fit(Xtr, ytr, sample_weight=sample_weight)


def their_scores(model, X):
    if isinstance(model, xgb.XGBClassifier):
        return model.predict_proba(X)[:, 1]
    return model.predict(X)


def compare_roc(X, y):
    if len(np.unique(y)) < 2:
        pytest.skip("one class only: nothing to learn or rank")
    Xtr, Xte, ytr, yte = split(X, y)
    mine = ours(Xtr, ytr).detector_scores(Xte)
    ref = their_scores(theirs(Xtr, ytr), Xte)
    auc, ref_auc = roc_auc_score(yte, mine), roc_auc_score(yte, ref)
    assert abs(auc - ref_auc) <= 0.005, (auc, ref_auc)
    if len(Xtr) < EXACT_SKETCH_ROWS:
        np.testing.assert_allclose(mine, ref, rtol=0, atol=1e-5)


@pytest.mark.parametrize("name", dataset_params())
def test_roc_auc_as_xgboost(name):
    compare_roc(*load_csv(name))


def test_roc_auc_as_xgboost_nslkdd():
    """The set with text columns, one-hot encoded for both libraries."""
    pd = pytest.importorskip("pandas")
    path = os.path.join(DATA_DIR, "nslkdd.csv")
    if not os.path.exists(path):
        pytest.skip("no nslkdd.csv in %s" % DATA_DIR)
    df = pd.read_csv(path)
    y = df.pop("label").to_numpy().astype(int)
    X = pd.get_dummies(df).to_numpy(dtype=np.float64)
    compare_roc(X, y)


@pytest.fixture(scope="module")
def pima_holed():
    """pima with a tenth of its values missing, and sample weights."""
    if not os.path.exists(os.path.join(DATA_DIR, "pima.csv")):
        pytest.skip("no pima.csv in %s" % DATA_DIR)
    X, y = load_csv("pima.csv")
    rng = np.random.default_rng(0)
    X = X.copy()
    X[rng.random(X.shape) < 0.1] = np.nan
    return X, y, rng.uniform(0.5, 2, len(y))


CASES = [
    ("", {}),
    ("lambda=2 alpha=0.5 gamma=0.3 min_child_weight=3 max_depth=4 eta=0.1 scale_pos_weight=3",
     dict(reg_lambda=2, reg_alpha=0.5, gamma=0.3, min_child_weight=3, max_depth=4,
          learning_rate=0.1, scale_pos_weight=3)),
    ("base_score=0.3 n_trees=30", dict(base_score=0.3, n_estimators=30)),
    ("objective=reg:squarederror", dict(objective="reg:squarederror")),
    ("objective=reg:squarederror base_score=-1 max_depth=3",
     dict(objective="reg:squarederror", base_score=-1, max_depth=3)),
]


@pytest.mark.parametrize("params,kw", CASES)
@pytest.mark.parametrize("weighted", [False, True])
def test_parameters_missing_values_and_weights_as_xgboost(pima_holed, params, kw, weighted):
    """Each parameter means what it means to XGBoost: the same model, with
    missing values (each split's learned default) and sample weights."""
    X, y, w = pima_holed
    w = w if weighted else None
    mine = ours(X, y, params, w).detector_scores(X)
    ref = their_scores(theirs(X, y, w, **kw), X)
    np.testing.assert_allclose(mine, ref, rtol=0, atol=1e-5)


def test_threshold_and_probability_convention(pima_holed):
    """Score = the probability of label 1 (the anomaly); the detector's own
    threshold is one half, XGBClassifier.predict's."""
    X, y, _ = pima_holed
    m = anoma.Model("contamination=auto", ["gbt"]).fit(X, y)
    ref = theirs(X, y)
    assert m.threshold == 0.5
    np.testing.assert_array_equal(m.predict(X), ref.predict(X))


def test_save_load_and_describe(tmp_path, pima_holed):
    X, y, _ = pima_holed
    m = ours(X, y, "n_trees=10 max_depth=3")
    path = str(tmp_path / "m.anoma")
    m.save(path)
    back = anoma.Model.load(path)
    np.testing.assert_array_equal(back.detector_scores(X), m.detector_scores(X))
    text = back.describe()
    assert "objective: binary:logistic" in text and "trees: 10" in text
    assert "max depth: 3" in text and "importance, top 10 by gain" in text
    # the features listed are the ten of largest average gain, largest first
    gain = m.feature_importance("gain")
    listed = [int(line.split()[1].rstrip(":")) for line in text.splitlines()
              if line.strip().startswith("feature ")]
    assert listed == list(np.argsort(-gain, kind="stable")[:min(10, np.sum(gain > 0))])


def test_labels_needed_and_checked(pima_holed):
    X, y, _ = pima_holed
    with pytest.raises(anoma.AnomaError, match="labels"):
        anoma.Model("", ["gbt"]).fit(X)
    m = ours(X, y)
    with pytest.raises(anoma.AnomaError, match="8"):
        m.detector_scores(X[:, :5])


# ---- anoma.GradientBoostedTrees, a scikit-learn classifier ----

def test_estimator_as_xgbclassifier(pima_holed):
    """Same parameters, same probabilities, predictions and importances as
    XGBClassifier; labels of any two values (classes_ sorted, the second
    positive)."""
    X, y, w = pima_holed
    kw = dict(n_estimators=40, max_depth=4, learning_rate=0.2, reg_lambda=2.0, gamma=0.1)
    words = np.where(y == 1, "sick", "healthy")
    mine = anoma.GradientBoostedTrees(**kw).fit(X, words, sample_weight=w)
    ref = xgb.XGBClassifier(tree_method="hist", nthread=1, **kw).fit(X, y, sample_weight=w)
    assert list(mine.classes_) == ["healthy", "sick"]
    np.testing.assert_allclose(mine.predict_proba(X), ref.predict_proba(X), rtol=0, atol=1e-5)
    np.testing.assert_array_equal(mine.predict(X) == "sick", ref.predict(X) == 1)
    np.testing.assert_allclose(mine.feature_importances_, ref.feature_importances_, atol=1e-5)
    assert mine.score(X, words) == pytest.approx(np.mean((ref.predict(X) == 1) == (y == 1)))


def test_estimator_errors(pima_holed):
    X, y, _ = pima_holed
    with pytest.raises(ValueError, match="class"):
        anoma.GradientBoostedTrees().fit(X, np.zeros(len(y)))
    with pytest.raises(ValueError, match="class"):
        anoma.GradientBoostedTrees().fit(X, np.arange(len(y)) % 3)
    with pytest.raises(anoma.ParameterValueError, match="learning_rate"):
        anoma.GradientBoostedTrees(learning_rate=2).fit(X, y)
    with pytest.raises(anoma.ParameterValueError, match="objective"):
        anoma.GradientBoostedTrees(objective="reg:squarederror").fit(X, y)
    with pytest.raises(ValueError, match="eval_set"):
        anoma.GradientBoostedTrees().fit(X, y, early_stopping_rounds=5)
    with pytest.raises(anoma.ParameterValueError, match="early_stopping_rounds"):
        anoma.GradientBoostedTrees().fit(X, y, eval_set=[(X, y)], early_stopping_rounds=0)
    with pytest.raises(anoma.ParameterValueError, match="eval_metric"):
        anoma.GradientBoostedTrees().fit(X, y, eval_set=[(X, y)], early_stopping_rounds=2,
                                         eval_metric="error")
    with pytest.raises(ValueError, match="label 7"):
        anoma.GradientBoostedTrees().fit(X, y, eval_set=[(X, np.full(len(y), 7))],
                                         early_stopping_rounds=2)
    m = anoma.GradientBoostedTrees(n_estimators=5).fit(X, y)
    with pytest.raises(ValueError, match="8 features"):
        m.predict_proba(X[:, :5])


def test_model_selection_and_pickling(pima_holed):
    """cross_val_score, RandomizedSearchCV and RFE drive it; a pickled one
    predicts the same."""
    import pickle

    from sklearn.feature_selection import RFE
    from sklearn.model_selection import RandomizedSearchCV, cross_val_score

    X, y, _ = pima_holed
    scores = cross_val_score(anoma.GradientBoostedTrees(n_estimators=20), X, y, cv=3,
                             scoring="roc_auc")
    assert scores.shape == (3,) and np.all(scores > 0.7)
    search = RandomizedSearchCV(anoma.GradientBoostedTrees(n_estimators=10),
                                {"max_depth": [2, 3, 4], "learning_rate": [0.1, 0.3]},
                                n_iter=3, cv=2, scoring="roc_auc", random_state=0).fit(X, y)
    assert search.best_params_["max_depth"] in (2, 3, 4)
    assert search.best_estimator_.predict_proba(X).shape == (len(X), 2)
    rfe = RFE(anoma.GradientBoostedTrees(n_estimators=10), n_features_to_select=4).fit(X, y)
    assert rfe.support_.sum() == 4
    m = anoma.GradientBoostedTrees(n_estimators=10, random_state=3, subsample=0.7).fit(X, y)
    back = pickle.loads(pickle.dumps(m))
    np.testing.assert_array_equal(back.predict_proba(X), m.predict_proba(X))


def test_check_estimator():
    from sklearn.utils.estimator_checks import check_estimator
    check_estimator(anoma.GradientBoostedTrees(n_estimators=10))


def test_cli_train_score_inspect(tmp_path):
    """`anoma train -d gbt` reads the label column; `score` prints XGBoost's
    probabilities; `inspect` shows the trees and the importance."""
    import subprocess
    cli = os.environ.get("ANOMA_CLI")
    path = os.path.join(DATA_DIR, "breastw.csv")
    if not cli or not os.path.exists(path):
        pytest.skip("needs ANOMA_CLI and breastw.csv")
    model = str(tmp_path / "gbt.anoma")

    def run(*args):
        return subprocess.run([cli, *args], capture_output=True, text=True, check=True,
                              timeout=300).stdout

    run("train", "-d", "gbt", "-p", "n_trees=20", "--label", "label", "-o", model, path)
    out = tmp_path / "scores.csv"
    run("score", model, path, "-o", str(out))
    import csv
    with open(out) as f:
        rows = list(csv.DictReader(f))
    X, y = load_csv("breastw.csv")
    ref = theirs(X, y, n_estimators=20).predict_proba(X)[:, 1]
    np.testing.assert_allclose([float(r["score"]) for r in rows], ref, rtol=0, atol=1e-5)
    # --explain K: the K largest TreeSHAP contributions, XGBoost's
    run("score", model, path, "-o", str(out), "--explain", "2")
    with open(out) as f:
        rows = list(csv.DictReader(f))
    contributions = theirs(X, y, n_estimators=20).get_booster().predict(
        xgb.DMatrix(X), pred_contribs=True)[:, :-1]
    top = np.sort(contributions, axis=1)[:, ::-1]
    np.testing.assert_allclose([float(r["contribution_1"]) for r in rows], top[:, 0], atol=1e-5)
    np.testing.assert_allclose([float(r["contribution_2"]) for r in rows], top[:, 1], atol=1e-5)
    text = run("inspect", model)
    assert "detector 0: gbt" in text and "trees: 20, nodes: " in text
    assert "objective: binary:logistic" in text and "importance" in text


# ---- XGBoost models imported (anoma.from_xgboost, anoma_model_import_xgboost) ----

def holed(X, seed=0, share=0.1):
    """X with a share of its values missing (NaN), at fixed random places."""
    X = np.array(X, dtype=np.float64)
    X[np.random.default_rng(seed).random(X.shape) < share] = np.nan
    return X


@pytest.mark.parametrize("name", dataset_params())
def test_import_equals_xgboost(name):
    """An XGBClassifier trained on data with missing values scores the same
    after import, to 1e-6, on rows with other missing values."""
    X, y = load_csv(name)
    if len(np.unique(y)) < 2:
        pytest.skip("one class only")
    Xtr, Xte, ytr, _ = split(holed(X, 1), y)
    Xte = holed(Xte, 2, 0.2)
    ref = xgb.XGBClassifier(tree_method="hist", n_estimators=100, max_depth=6, nthread=1,
                            subsample=0.8, colsample_bytree=0.7, random_state=0).fit(Xtr, ytr)
    mine = anoma.from_xgboost(ref)
    assert isinstance(mine, anoma.GradientBoostedTrees)
    np.testing.assert_array_equal(mine.classes_, ref.classes_)
    np.testing.assert_allclose(mine.predict_proba(Xte), ref.predict_proba(Xte), rtol=0, atol=1e-6)
    # TreeSHAP: each feature's contribution and the bias, as pred_contribs
    rows = Xte[:2000]
    contributions = ref.get_booster().predict(xgb.DMatrix(rows), pred_contribs=True)
    np.testing.assert_allclose(mine.feature_contributions(rows), contributions, rtol=0,
                               atol=1e-6)


def test_import_regression_and_booster(pima_holed):
    X, y, _ = pima_holed
    reg = xgb.XGBRegressor(tree_method="hist", n_estimators=50, base_score=0.2,
                           nthread=1).fit(X, y)
    model = anoma.from_xgboost(reg)
    np.testing.assert_allclose(model.detector_scores(X), reg.predict(X), rtol=0, atol=1e-6)
    booster = xgb.train({"objective": "binary:logistic", "tree_method": "exact", "max_depth": 3},
                        xgb.DMatrix(X, label=y), num_boost_round=20)
    model = anoma.from_xgboost(booster)
    np.testing.assert_allclose(model.detector_scores(X), booster.predict(xgb.DMatrix(X)),
                               rtol=0, atol=1e-6)
    assert model.threshold == 0.5


@pytest.mark.parametrize("max_depth", [4, 10])
def test_values_beyond_float_range_as_xgboost(max_depth):
    """A value beyond float32's range is +-inf as XGBoost reads it, and
    goes the way its comparisons send it, in every tree and leaf; shallow
    forests are scored in the complete layout, deep ones over their nodes
    (docs/detectors/gbt.md "Scoring"), in batches and one row at a time.
    (An earlier leaf, threshold +inf, let +inf step out of it.)"""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((3000, 3))
    y = (X[:, 1] + X[:, 2] + 0.3 * rng.standard_normal(3000) > 0.5).astype(int)
    X[rng.random(X.shape) < 0.1] = np.nan
    booster = xgb.XGBClassifier(tree_method="hist", n_estimators=20, max_depth=max_depth,
                                nthread=1).fit(X, y).get_booster()
    model = anoma.from_xgboost(booster)
    T = rng.standard_normal((100, 3))
    T[:, 0] = 1e300
    T[:30, 1] = -1e300
    T[30:60, 2] = 1e300
    T[rng.random(T.shape) < 0.1] = np.nan
    expected = booster.inplace_predict(T)  # (a DMatrix refuses infinities)
    np.testing.assert_allclose(model.detector_scores(T), expected, rtol=0, atol=1e-6)
    scorer = model.row_scorer()
    rows = np.array([scorer.score(row)[0] for row in T])
    np.testing.assert_allclose(rows, expected, rtol=0, atol=1e-6)


def test_contributions_of_a_regression_booster(pima_holed):
    """reg:squarederror and a Booster (an anoma.Model): the feature scores
    and their base are pred_contribs, in the prediction's own units."""
    X, y, _ = pima_holed
    target = np.nan_to_num(X[:, 1]) * 0.01 + y
    booster = xgb.train({"objective": "reg:squarederror", "tree_method": "hist", "max_depth": 5,
                         "base_score": 0.7, "nthread": 1},
                        xgb.DMatrix(X, label=target), num_boost_round=30)
    model = anoma.from_xgboost(booster)
    ref = booster.predict(xgb.DMatrix(X), pred_contribs=True)
    np.testing.assert_allclose(model.feature_scores(X), ref[:, :-1], rtol=0, atol=1e-6)
    assert model.feature_scores_base() == pytest.approx(ref[0, -1], abs=1e-6)


def test_contributions_of_a_trained_model(pima_holed):
    """Trained here: they add up to the margin, the log-odds of the
    probability, and equal those XGBoost gives its own model of the same
    data (whose trees are ours: pima is under the exact-sketch size)."""
    X, y, w = pima_holed
    kw = dict(n_estimators=40, max_depth=4, learning_rate=0.2, reg_lambda=2.0, gamma=0.1)
    mine = anoma.GradientBoostedTrees(**kw).fit(X, y, sample_weight=w)
    contributions = mine.feature_contributions(X)
    assert contributions.shape == (len(X), X.shape[1] + 1)
    p = mine.predict_proba(X)[:, 1]
    np.testing.assert_allclose(contributions.sum(axis=1), np.log(p / (1 - p)), rtol=0, atol=1e-5)
    ref = xgb.XGBClassifier(tree_method="hist", nthread=1, **kw).fit(X, y, sample_weight=w)
    np.testing.assert_allclose(contributions,
                               ref.get_booster().predict(xgb.DMatrix(X), pred_contribs=True),
                               rtol=0, atol=1e-5)
    # the base is the same for every row and is the last column
    assert np.all(contributions[:, -1] == mine.model_.feature_scores_base())
    with pytest.raises(ValueError, match="8 features"):
        mine.feature_contributions(X[:, :5])
    with pytest.raises(anoma.AnomaError, match="not contributions") as e:
        anoma.Model("", ["zscore"]).fit(np.nan_to_num(X)).feature_scores_base()
    assert e.value.name == "ANOMA_ERR_UNSUPPORTED"


# ---- early stopping ----

def expected_stop(curve, rounds, maximize):
    """XGBoost's EarlyStopping rule on a metric curve (one value per round):
    only a strictly better value improves; training stops after `rounds`
    rounds without improvement. Returns (best round, rounds grown)."""
    best = 0
    for k in range(1, len(curve)):
        if (curve[k] > curve[best]) if maximize else (curve[k] < curve[best]):
            best = k
        elif k - best >= rounds:
            return best, k + 1
    return best, len(curve)


@pytest.fixture(scope="module")
def pima_split(pima_holed):
    X, y, w = pima_holed
    Xtr, Xva, ytr, yva, wtr, wva = train_test_split(X, y, w, test_size=0.3, random_state=1,
                                                    stratify=y)
    return Xtr, Xva, ytr, yva, wtr, wva


STOPPING = dict(n_estimators=150, max_depth=4, learning_rate=0.3)


@pytest.mark.parametrize("metric", ["logloss", "auc"])
def test_early_stopping_at_the_metric_best(pima_split, metric):
    """The best iteration is the argmin (logloss) or argmax (auc) of the
    validation curve computed with scikit-learn, under XGBoost's patience
    rule; the trees after it are dropped, so predict_proba is the staged
    prediction there (pima's trees are XGBoost's)."""
    from sklearn.metrics import log_loss
    Xtr, Xva, ytr, yva, _, _ = pima_split
    mine = anoma.GradientBoostedTrees(**STOPPING).fit(
        Xtr, ytr, eval_set=[(Xtr[:50], ytr[:50]), (Xva, yva)], early_stopping_rounds=8,
        eval_metric=metric)
    full = xgb.XGBClassifier(tree_method="hist", nthread=1, **STOPPING).fit(Xtr, ytr)
    staged = [full.predict_proba(Xva, iteration_range=(0, k + 1))[:, 1]
              for k in range(STOPPING["n_estimators"])]
    if metric == "logloss":
        curve = [log_loss(yva, p) for p in staged]
    else:
        curve = [roc_auc_score(yva, p) for p in staged]
    best, grown = expected_stop(curve, 8, metric == "auc")
    assert mine.best_iteration_ == best and mine.best_iteration == best
    assert mine.best_score_ == pytest.approx(curve[best], rel=1e-6)
    assert "trees: %d," % (best + 1) in mine.model_.describe()
    assert "best iteration %d of %d rounds" % (best, grown) in mine.model_.describe()
    np.testing.assert_allclose(mine.predict_proba(Xva)[:, 1], staged[best], atol=1e-5)


def test_early_stopping_on_aucpr_as_xgboost(pima_split):
    """aucpr (XGBoost's interpolated PR AUC, weighted evaluation rows):
    the best iteration and score XGBoost's early stopping finds; and the
    early-stopped XGBClassifier imports with the trees it predicts with."""
    Xtr, Xva, ytr, yva, wtr, wva = pima_split
    mine = anoma.GradientBoostedTrees(**STOPPING).fit(
        Xtr, ytr, sample_weight=wtr, eval_set=[(Xva, yva)], sample_weight_eval_set=[wva],
        early_stopping_rounds=8, eval_metric="aucpr")
    ref = xgb.XGBClassifier(tree_method="hist", nthread=1, early_stopping_rounds=8,
                            eval_metric="aucpr", **STOPPING)
    ref.fit(Xtr, ytr, sample_weight=wtr, eval_set=[(Xva, yva)], sample_weight_eval_set=[wva],
            verbose=False)
    assert mine.best_iteration_ == ref.best_iteration
    assert mine.best_score_ == pytest.approx(ref.best_score, rel=1e-6)
    np.testing.assert_allclose(mine.predict_proba(Xva), ref.predict_proba(Xva), atol=1e-5)
    imported = anoma.from_xgboost(ref)
    np.testing.assert_allclose(imported.predict_proba(Xva), ref.predict_proba(Xva), atol=1e-6)
    with pytest.raises(AttributeError, match="early stopping"):
        anoma.GradientBoostedTrees(n_estimators=3).fit(Xtr, ytr).best_iteration_


def test_evals_result_as_xgboost(pima_split):
    """Several evaluation sets and metrics: every value of evals_result()
    is XGBoost's (pima's trees are XGBoost's), early stopping watches the
    last metric on the last set, and the history survives pickling."""
    import pickle
    Xtr, Xva, ytr, yva, wtr, wva = pima_split
    sets = [(Xtr[:200], ytr[:200]), (Xva, yva)]
    metrics = ["aucpr", "auc", "logloss"]
    mine = anoma.GradientBoostedTrees(**STOPPING).fit(
        Xtr, ytr, eval_set=sets, eval_metric=metrics, early_stopping_rounds=8)
    ref = xgb.XGBClassifier(tree_method="hist", nthread=1, early_stopping_rounds=8,
                            eval_metric=metrics, **STOPPING)
    ref.fit(Xtr, ytr, eval_set=sets, verbose=False)
    got, want = mine.evals_result(), ref.evals_result()
    assert list(got) == list(want) == ["validation_0", "validation_1"]
    for name in want:
        assert list(got[name]) == metrics
        for metric in metrics:
            assert len(got[name][metric]) == len(want[name][metric])
            np.testing.assert_allclose(got[name][metric], want[name][metric], rtol=0, atol=1e-6)
    assert mine.best_iteration_ == ref.best_iteration
    assert mine.best_score_ == pytest.approx(ref.best_score, rel=1e-6)
    assert pickle.loads(pickle.dumps(mine)).evals_result() == got
    # one metric as a string, the default logloss, no early stopping
    mine = anoma.GradientBoostedTrees(n_estimators=5).fit(Xtr, ytr, eval_set=sets)
    assert list(mine.evals_result()["validation_1"]) == ["logloss"]
    assert len(mine.evals_result()["validation_1"]["logloss"]) == 5
    with pytest.raises(AttributeError, match="best_iteration_"):
        mine.best_iteration_
    with pytest.raises(AttributeError, match="without an eval_set"):
        anoma.GradientBoostedTrees(n_estimators=2).fit(Xtr, ytr).evals_result()
    with pytest.raises(ValueError, match="eval_set 1: label 7"):
        anoma.GradientBoostedTrees().fit(Xtr, ytr, eval_set=[sets[0], (Xva, np.full(len(yva), 7))])
    with pytest.raises(anoma.ParameterValueError, match="each metric once"):
        anoma.GradientBoostedTrees().fit(Xtr, ytr, eval_set=sets, eval_metric=["auc", "auc"])


def test_evals_result_as_scikit_learn(pima_split):
    """The history of each round equals scikit-learn's log_loss and
    roc_auc_score (weighted) of the predictions of that round's first k
    trees: the model of k rounds (training is deterministic, so its trees
    are the first k of the longer one)."""
    from sklearn.metrics import log_loss
    Xtr, Xva, ytr, yva, wtr, wva = pima_split
    params = dict(n_estimators=20, max_depth=3, learning_rate=0.2)
    mine = anoma.GradientBoostedTrees(**params).fit(
        Xtr, ytr, eval_set=[(Xtr, ytr), (Xva, yva)], sample_weight_eval_set=[None, wva],
        eval_metric=["logloss", "auc"])
    history = mine.evals_result()
    for k in (1, 2, 7, 20):
        staged = anoma.GradientBoostedTrees(**dict(params, n_estimators=k)).fit(Xtr, ytr)
        for name, (X, y, w) in (("validation_0", (Xtr, ytr, None)),
                                ("validation_1", (Xva, yva, wva))):
            p = staged.predict_proba(X)[:, 1]
            assert history[name]["logloss"][k - 1] == pytest.approx(
                log_loss(y, p, sample_weight=w), abs=1e-9)
            assert history[name]["auc"][k - 1] == pytest.approx(
                roc_auc_score(y, p, sample_weight=w), abs=1e-9)


def test_eval_set_through_pipeline_steps(pima_split):
    """A pipeline (one-hot and a scaler, then the trees) with an evaluation
    set early-stops at the round, with the history, of the same trees
    fitted on rows we ran through its fitted steps ourselves: the steps are
    fitted on the training rows only and transform the evaluation rows."""
    pd = pytest.importorskip("pandas")
    Xtr, Xva, ytr, yva, wtr, wva = pima_split

    def frame(X):
        df = pd.DataFrame(X, columns=["x%d" % j for j in range(X.shape[1])])
        df["band"] = np.where(np.isnan(X[:, 1]), "none",
                              np.where(X[:, 1] < 110, "low", "high")).astype(object)
        return df

    params = dict(n_estimators=100, max_depth=3, learning_rate=0.3)
    fit = dict(eval_metric=["auc", "logloss"], early_stopping_rounds=5)
    pipe = anoma.Pipeline([anoma.OneHotEncoder(columns="band"), anoma.StandardScaler(),
                           anoma.GradientBoostedTrees(**params)])
    pipe.fit(frame(Xtr), ytr, sample_weight=wtr, eval_set=[(frame(Xva), yva)],
             sample_weight_eval_set=[wva], **fit)
    ttr, tva = pipe.transform(frame(Xtr)), pipe.transform(frame(Xva))
    assert ttr.shape[1] == Xtr.shape[1] + 4  # band=high, =low, =none, =<unseen>
    # the scaler's statistics are the training rows', not the evaluation rows'
    np.testing.assert_allclose(np.nanmean(ttr, axis=0), 0, atol=1e-9)
    assert np.abs(np.nanmean(tva, axis=0)).max() > 1e-3
    plain = anoma.GradientBoostedTrees(**params).fit(
        ttr, ytr, sample_weight=wtr, eval_set=[(tva, yva)], sample_weight_eval_set=[wva], **fit)
    history = pipe.evals_result()
    assert history == plain.evals_result()
    best = plain.best_iteration_
    assert len(history["validation_0"]["auc"]) < 100  # it stopped early
    assert "best iteration %d of %d rounds" % (best, len(history["validation_0"]["auc"])) \
        in pipe.model_.describe()
    np.testing.assert_array_equal(pipe.predict_proba(frame(Xva)), plain.predict_proba(tva))
    with pytest.raises(ValueError, match="needs labels"):
        anoma.Pipeline([anoma.StandardScaler(), anoma.GradientBoostedTrees()]).fit(Xtr)
    with pytest.raises(TypeError, match="no fit parameters"):
        anoma.Pipeline([anoma.StandardScaler(), anoma.ZScore()]).fit(Xtr, eval_set=[(Xva, yva)])


KINDS = ("weight", "gain", "cover", "total_gain", "total_cover")


def assert_scores_equal(mine, ref):
    """Two get_score dicts: the same features, the same values (XGBoost
    sums in float32, we in double)."""
    assert sorted(mine) == sorted(ref)
    for name in ref:
        assert mine[name] == pytest.approx(ref[name], rel=1e-6), name


@pytest.mark.parametrize("name", ["cardio.csv", "satellite.csv"])
def test_importance_of_an_import_as_get_score(name):
    path = os.path.join(DATA_DIR, name)
    if not os.path.exists(path):
        pytest.skip("no %s in %s" % (name, DATA_DIR))
    X, y = load_csv(name)
    ref = xgb.XGBClassifier(tree_method="hist", n_estimators=60, nthread=1,
                            colsample_bytree=0.5, random_state=0).fit(holed(X), y)
    mine = anoma.from_xgboost(ref)
    for kind in KINDS:
        assert_scores_equal(mine.get_score(kind), ref.get_booster().get_score(importance_type=kind))
    np.testing.assert_allclose(mine.feature_importances_, ref.feature_importances_, rtol=1e-6)


def test_importance_of_a_trained_model(pima_holed):
    """Trained here on pima (our trees are XGBoost's): get_score's values,
    a DataFrame's column names as keys; the C call names bad kinds."""
    pd = pytest.importorskip("pandas")
    X, y, w = pima_holed
    kw = dict(n_estimators=30, max_depth=3, colsample_bytree=1.0)
    frame = pd.DataFrame(X, columns=["c%d" % j for j in range(X.shape[1])])
    mine = anoma.GradientBoostedTrees(**kw).fit(frame, y, sample_weight=w)
    ref = xgb.XGBClassifier(tree_method="hist", nthread=1, **kw).fit(frame, y, sample_weight=w)
    for kind in KINDS:
        ref_score = ref.get_booster().get_score(importance_type=kind)
        got = mine.get_score(kind)
        assert sorted(got) == sorted(ref_score)
        for key in ref_score:  # trained apart: gains and covers to float32 rounding
            assert got[key] == pytest.approx(ref_score[key], rel=1e-5), (kind, key)
    with pytest.raises(anoma.AnomaError, match="total_cover") as e:
        mine.model_.feature_importance("size")
    assert e.value.name == "ANOMA_ERR_INVALID_ARGUMENT"
    with pytest.raises(anoma.AnomaError, match="no feature importance"):
        anoma.Model("", ["zscore"]).fit(np.nan_to_num(X)).feature_importance()


def test_import_refuses_by_name(pima_holed, tmp_path):
    X, y, _ = pima_holed
    dart = xgb.XGBClassifier(booster="dart", n_estimators=3).fit(X, y)
    with pytest.raises(anoma.AnomaError, match="dart"):
        anoma.from_xgboost(dart)
    multi = xgb.XGBClassifier(n_estimators=3).fit(X, np.arange(len(y)) % 3)
    with pytest.raises(anoma.AnomaError, match="multi:softprob"):
        anoma.from_xgboost(multi)
    with pytest.raises(anoma.AnomaError, match="JSON"):
        anoma.Model("contamination=auto", []).import_xgboost(b'{"learner": ')
    with pytest.raises(ValueError, match="Booster"):
        anoma.from_xgboost(object())


def test_cli_convert_xgboost(tmp_path, pima_holed):
    import subprocess
    cli = os.environ.get("ANOMA_CLI")
    if not cli:
        pytest.skip("needs ANOMA_CLI")
    X, y, _ = pima_holed
    ref = xgb.XGBClassifier(tree_method="hist", n_estimators=30, nthread=1).fit(X, y)
    src, out = str(tmp_path / "m.json"), str(tmp_path / "m.anoma")
    ref.save_model(src)
    subprocess.run([cli, "convert", "xgboost", src, "-o", out], check=True, timeout=300)
    np.testing.assert_allclose(anoma.Model.load(out).detector_scores(X),
                               ref.predict_proba(X)[:, 1], rtol=0, atol=1e-6)
    bad = tmp_path / "bad.json"
    bad.write_text('{"learner": {"gradient_booster": {"name": "gblinear"}}}')
    p = subprocess.run([cli, "convert", "xgboost", str(bad), "-o", out], capture_output=True,
                       text=True, timeout=300)
    assert p.returncode == 1 and "gblinear" in p.stderr


# ---- scikit-learn forests imported (anoma.from_sklearn) ----

def sklearn_forest(kind):
    from sklearn.ensemble import (ExtraTreesClassifier, GradientBoostingClassifier,
                                  RandomForestClassifier)
    return {"rf": RandomForestClassifier(n_estimators=60, random_state=0),
            "rf_deep_weighted": RandomForestClassifier(n_estimators=20, max_features=None,
                                                       class_weight="balanced", random_state=1),
            "et": ExtraTreesClassifier(n_estimators=60, min_samples_leaf=3, random_state=0),
            "gb": GradientBoostingClassifier(n_estimators=80, max_depth=3, subsample=0.8,
                                             random_state=0),
            "gb_zero": GradientBoostingClassifier(n_estimators=30, init="zero",
                                                  learning_rate=0.3, random_state=0)}[kind]


@pytest.mark.parametrize("kind", ["rf", "rf_deep_weighted", "et", "gb", "gb_zero"])
@pytest.mark.parametrize("name", ["pima.csv", "cardio.csv"])
def test_from_sklearn_forest_equals_predict_proba(name, kind):
    """predict_proba to 1e-12, on test rows and on rows whose values sit
    exactly on split thresholds (scikit-learn's float32 `<=`)."""
    if not os.path.exists(os.path.join(DATA_DIR, name)):
        pytest.skip("no %s in %s" % (name, DATA_DIR))
    X, y = load_csv(name)
    Xtr, Xte, ytr, _ = split(X, y)
    w = np.random.default_rng(0).uniform(0.5, 2, len(ytr))
    ref = sklearn_forest(kind).fit(Xtr, np.where(ytr == 1, "anomaly", "normal"), sample_weight=w)
    mine = anoma.from_sklearn(ref)
    assert isinstance(mine, anoma.GradientBoostedTrees)
    np.testing.assert_array_equal(mine.classes_, ref.classes_)
    np.testing.assert_allclose(mine.predict_proba(Xte), ref.predict_proba(Xte), rtol=0,
                               atol=1e-12)
    np.testing.assert_array_equal(mine.predict(Xte), ref.predict(Xte))
    # every row of `edge` has each feature on some split's threshold
    first = ref.estimators_[0]
    tree = (first[0] if isinstance(first, np.ndarray) else first).tree_
    edge = Xte[:40].copy()
    for j in range(X.shape[1]):
        cuts = tree.threshold[tree.feature == j]
        if len(cuts):
            edge[:, j] = cuts[np.arange(len(edge)) % len(cuts)].astype(np.float32)
    np.testing.assert_allclose(mine.predict_proba(edge), ref.predict_proba(edge), rtol=0,
                               atol=1e-12)


def test_from_sklearn_forest_refuses_by_name(pima_holed):
    from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier
    X, y, _ = pima_holed
    X = np.nan_to_num(X)
    with pytest.raises(ValueError, match="3 classes"):
        anoma.from_sklearn(RandomForestClassifier(n_estimators=2).fit(X, np.arange(len(y)) % 3))
    with pytest.raises(ValueError, match="exponential"):
        anoma.from_sklearn(GradientBoostingClassifier(n_estimators=2, loss="exponential")
                           .fit(X, y))
    with pytest.raises(ValueError, match="not fitted"):
        anoma.from_sklearn(RandomForestClassifier())
