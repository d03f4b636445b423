"""Ensembles and probabilities against NumPy and scikit-learn, on the shared
data: the combined score is the combination, computed here, of the members'
raw scores, for every normalisation and combination (weights and vote
included); rank normalisation and the default probability follow the
np.searchsorted definition of docs/model.md; Platt's fit equals
scikit-learn's LogisticRegression with a negligible penalty; saving keeps
every value's bits; bad parameters are refused by name."""
import os
import subprocess

import numpy as np
import pytest

from conftest import DATA_DIR, import_anoma, load_csv

anoma = import_anoma()

DATASETS = ["wbc.csv", "cardio.csv", "thyroid.csv", "shuttle.csv",
            "nab_machine_temperature_system_failure.csv"]
NORMALIZATIONS = ["none", "standard", "robust", "minmax", "rank"]
COMBINATIONS = ["mean", "max", "wmean", "vote"]
DETECTORS = [("iforest", "n_trees=40 seed=3"), ("zscore", "combine=max"), ("mad", "combine=max")]
WEIGHTS = np.array([3.0, 1.0, 2.0])
CONTAMINATION = 0.07
KNOTS = 1025


def data(name):
    if not os.path.exists(os.path.join(DATA_DIR, name)):
        pytest.skip("no %s in %s" % (name, DATA_DIR))
    return load_csv(name)


def knots_of(scores):
    """The knots of docs/model.md: the sorted scores up to 1025 of them,
    else their quantiles at j / 1024."""
    s = np.sort(scores[~np.isnan(scores)])
    return s if s.size <= KNOTS else np.quantile(s, np.arange(KNOTS) / (KNOTS - 1))


def rank(knots, s):
    """The rank of docs/model.md, by np.searchsorted."""
    s = np.asarray(s, dtype=float)
    j = np.searchsorted(knots, s, side="right") - 1
    inner = np.clip(j, 0, knots.size - 2)
    lo, hi = knots[inner], knots[np.minimum(inner + 1, knots.size - 1)]
    with np.errstate(invalid="ignore", divide="ignore"):
        r = (inner + (s - lo) / (hi - lo)) / (knots.size - 1)
    return np.where(s < knots[0], 0.0, np.where(s >= knots[-1], 1.0, r))


def normalized(raw, how):
    """Each member's normalised scores, learned on the same raw scores."""
    out = np.empty_like(raw)
    for k in range(raw.shape[1]):
        r = raw[:, k]
        if how == "none":
            out[:, k] = r
            continue
        if how == "rank":
            out[:, k] = rank(knots_of(r), r)
            continue
        if how == "standard":
            shift, scale = r.mean(), r.std()
        elif how == "robust":
            shift = np.median(r)
            scale = np.percentile(r, 75) - np.percentile(r, 25)
        else:
            shift, scale = r.min(), r.max() - r.min()
        out[:, k] = (r - shift) / (scale if scale > 0 and np.isfinite(scale) else 1.0)
    return out


def combined(raw, z, how):
    if how == "mean":
        return z.mean(axis=1)
    if how == "max":
        return z.max(axis=1)
    if how == "wmean":
        return (z * WEIGHTS).sum(axis=1) / WEIGHTS.sum()
    member_t = np.quantile(raw, 1 - CONTAMINATION, axis=0)
    return ((raw > member_t) * WEIGHTS).sum(axis=1) / WEIGHTS.sum()


def make(normalize, ensemble):
    params = {"normalize": normalize, "ensemble": ensemble, "contamination": CONTAMINATION}
    if ensemble in ("wmean", "vote"):
        params["weights"] = ",".join("%g" % w for w in WEIGHTS)
    return anoma.Model(params, DETECTORS)


@pytest.mark.parametrize("name", DATASETS)
def test_combination_equals_numpy(name):
    X, _ = data(name)
    for normalize in NORMALIZATIONS:
        for ensemble in COMBINATIONS:
            model = make(normalize, ensemble).fit(X)
            raw = model.member_scores(X)
            for k in range(len(DETECTORS)):
                assert np.array_equal(raw[:, k], model.detector_scores(X, k))
            z = normalized(raw, normalize)
            want = combined(raw, z, ensemble)
            what = "%s normalize=%s ensemble=%s" % (name, normalize, ensemble)
            np.testing.assert_allclose(model.member_scores(X, normalized=True), z,
                                       rtol=1e-12, atol=1e-12, err_msg=what)
            np.testing.assert_allclose(model.score(X), want, rtol=1e-12, atol=1e-12,
                                       err_msg=what)
            if ensemble == "vote":
                assert model.threshold == 0.5, what
                assert np.array_equal(model.predict(X), (want > 0.5).astype(int)), what
            else:
                assert model.threshold == pytest.approx(
                    np.quantile(model.score(X), 1 - CONTAMINATION), rel=1e-12, abs=1e-12), what


def test_vote_ties_are_not_anomalies():
    """Two equal members, one flagging: weight 1/2 is not a majority."""
    X, _ = data("wbc.csv")
    model = anoma.Model("ensemble=vote contamination=0.1",
                        [("zscore", "combine=max"), ("iforest", "seed=1")]).fit(X)
    raw = model.member_scores(X)
    t = np.quantile(raw, 0.9, axis=0)
    votes = (raw > t).sum(axis=1)
    assert np.any(votes == 1)
    share = model.score(X)
    assert np.array_equal(share, votes / 2)
    assert np.array_equal(model.predict(X), (votes == 2).astype(int))


def test_member_scores_of_a_dataframe():
    pd = pytest.importorskip("pandas")
    X, _ = data("wbc.csv")
    frame = pd.DataFrame(X, columns=["c%d" % j for j in range(X.shape[1])],
                         index=np.arange(X.shape[0]) + 100)
    model = anoma.Model("normalize=rank", DETECTORS).fit(frame)
    assert model.feature_names == list(frame.columns)
    got = model.member_scores(frame[frame.columns[::-1]])  # picked by name
    assert list(got.columns) == [d for d, _ in DETECTORS]
    assert list(got.index) == list(frame.index)
    assert np.array_equal(got.to_numpy(), model.member_scores(X))
    with pytest.raises(ValueError, match="'c3'"):
        model.score(frame.drop(columns="c3"))


@pytest.mark.parametrize("name", DATASETS)
def test_default_probability_is_the_rank(name):
    X, _ = data(name)
    model = make("standard", "mean").fit(X)
    s = model.score(X)
    knots = knots_of(s)
    proba = model.predict_proba(X)
    assert proba.shape == (X.shape[0], 2)
    np.testing.assert_allclose(proba[:, 1], rank(knots, s), rtol=0, atol=1e-12)
    assert np.array_equal(proba[:, 0], 1 - proba[:, 1])
    assert proba.min() >= 0 and proba.max() <= 1
    order = np.argsort(s, kind="stable")
    assert np.all(np.diff(proba[order, 1]) >= 0)  # monotone in the score
    q = rank(knots, [model.threshold])[0]
    p = proba[:, 1]
    with np.errstate(invalid="ignore", divide="ignore"):
        want = np.where(p > q, (p - q) / (1 - q), np.where(p < q, (q - p) / q, 0.0))
    np.testing.assert_allclose(model.predict_confidence(X), want, rtol=0, atol=1e-12)


def test_default_fit_has_a_probability():
    """One detector by its own rule (the estimators' and the tool's default)
    scores no training row for its threshold, yet learns the probability:
    on every row when there are at most probability_rows (10000), else on a
    sample of that many, whose rank is within the binomial spread of the
    share of all training scores below."""
    X, _ = data("cardio.csv")
    est = anoma.IsolationForest(random_state=0).fit(X)
    s = est.anomaly_score(X)
    proba = est.predict_proba(X)
    np.testing.assert_allclose(proba[:, 1], rank(knots_of(s), s), rtol=0, atol=1e-12)
    assert np.array_equal(proba[:, 0], 1 - proba[:, 1])
    assert est.predict_confidence(X).shape == (X.shape[0],)
    big = np.random.default_rng(4).standard_normal((40000, 3))
    model = anoma.Model("contamination=auto", [("zscore", "combine=max")]).fit(big)
    points = np.array([[0.0, 0, 0], [0.5, 0.5, 0.5], [1.0, 0, 0], [2.0, 0, 0]])
    share = np.array([np.mean(model.score(big) <= t) for t in model.score(points)])
    # spread of a 10000-row sample at most 0.005; 5 of those, and the knots' 1/1024
    assert np.all(np.abs(model.predict_proba(points)[:, 1] - share) < 5 * 0.005 + 1 / 1024)


def platt_reference(s, y):
    """scikit-learn's logistic regression on Platt's smoothed targets: each
    row twice, as an anomaly with weight t and as normal with weight 1 - t,
    with a penalty too small to matter (C = 1e12)."""
    lm = pytest.importorskip("sklearn.linear_model")
    n_pos, n_neg = (y == 1).sum(), (y == 0).sum()
    t = np.where(y == 1, (n_pos + 1) / (n_pos + 2), 1 / (n_neg + 2))
    fit = lm.LogisticRegression(C=1e12, solver="newton-cholesky", tol=1e-14, max_iter=1000)
    fit.fit(np.concatenate([s, s]).reshape(-1, 1),
            np.concatenate([np.ones_like(y), np.zeros_like(y)]),
            sample_weight=np.concatenate([t, 1 - t]))
    return fit


@pytest.mark.parametrize("name", DATASETS)
def test_platt_equals_sklearn(name):
    X, y = data(name)
    Xv, yv = X[1::2], y[1::2]
    if yv.min() == yv.max():
        pytest.skip("%s: one class among the validation rows" % name)
    model = make("standard", "mean").fit(X[0::2])
    threshold = model.threshold
    model.fit_probability(Xv, yv)
    assert model.threshold == threshold
    s = model.score(Xv)
    ref = platt_reference(s, yv)
    np.testing.assert_allclose(model.predict_proba(Xv)[:, 1],
                               ref.predict_proba(s.reshape(-1, 1))[:, 1], rtol=0, atol=1e-6)
    got = model.predict_proba(Xv)[:, 1]
    assert np.all(np.diff(got[np.argsort(s, kind="stable")]) >= 0)  # monotone


def test_saving_keeps_every_bit():
    X, y = data("cardio.csv")
    for normalize in NORMALIZATIONS:
        for ensemble in COMBINATIONS:
            model = make(normalize, ensemble).fit(X)
            for fitted_probability in (False, True):
                if fitted_probability:
                    model.fit_probability(X, y)
                blob = model.to_bytes()
                back = anoma.Model.from_bytes(blob)
                assert back.to_bytes() == blob
                assert back.threshold == model.threshold
                for call in ("score", "predict", "predict_proba", "predict_confidence"):
                    assert np.array_equal(getattr(back, call)(X), getattr(model, call)(X))
                for norm in (False, True):
                    assert np.array_equal(back.member_scores(X, normalized=norm),
                                          model.member_scores(X, normalized=norm))


def test_row_scorer_agrees():
    X, _ = data("wbc.csv")
    model = make("rank", "vote").fit(X)
    scorer = model.row_scorer()
    p = model.predict_proba(X)[:, 1]
    c = model.predict_confidence(X)
    s = model.score(X)
    for i in range(X.shape[0]):
        got = scorer.score_probability(X[i])
        assert got == (s[i], bool(s[i] > model.threshold), p[i], c[i])


def test_bad_parameters():
    X, _ = data("wbc.csv")
    with pytest.raises(ValueError, match="weights=2,1,1 has 3 weights; the model has 2"):
        anoma.Model("ensemble=wmean weights=2,1,1", ["zscore", "iforest"]).fit(X)
    with pytest.raises(ValueError, match=r"item 2 \('-1'\) is not a positive number"):
        anoma.Model("ensemble=wmean weights=2,-1", ["zscore", "iforest"])
    with pytest.raises(ValueError, match="item 1"):
        anoma.Model("ensemble=vote weights=0,1", ["zscore", "iforest"])
    with pytest.raises(ValueError, match="only ensemble=wmean and ensemble=vote use weights"):
        anoma.Model("ensemble=mean weights=1,1", ["zscore", "iforest"]).fit(X)
    # a vote needs every member's own threshold: zscore by mean has no rule
    with pytest.raises(ValueError, match="zscore"):
        anoma.Model("ensemble=vote contamination=auto",
                    [("zscore", "combine=mean"), "iforest"]).fit(X)
    # with their own rules they vote: zscore 3, iforest 0.5
    model = anoma.Model("ensemble=vote contamination=auto",
                        [("zscore", "combine=max"), "iforest"]).fit(X)
    raw = model.member_scores(X)
    assert np.array_equal(model.score(X), ((raw[:, 0] > 3) * 1.0 + (raw[:, 1] > 0.5)) / 2)
    # no probability without training scores
    fixed = anoma.Model("threshold=3 probability_rows=0", [("zscore", "combine=max")]).fit(X)
    with pytest.raises(anoma.AnomaError, match="fit_probability"):
        fixed.predict_proba(X)


# ---- the anoma tool ---------------------------------------------------------------

CLI = os.environ.get("ANOMA_CLI")
needs_cli = pytest.mark.skipif(not CLI or not os.path.exists(CLI), reason="ANOMA_CLI is not set")


def cli(*args):
    return subprocess.run([CLI, *map(str, args)], capture_output=True, text=True)


def write_csv(path, X, y):
    header = ",".join(["f%d" % j for j in range(X.shape[1])] + ["label"])
    np.savetxt(path, np.column_stack([X, y]), delimiter=",", header=header, comments="",
               fmt="%.17g")


def read_scores(text):
    lines = text.strip().splitlines()
    assert lines[0] == "score,is_anomaly,probability,confidence"
    return np.array([[float(v) for v in line.split(",")] for line in lines[1:]])


@needs_cli
def test_cli_ensemble_and_proba(tmp_path):
    X, y = data("cardio.csv")
    train, valid = tmp_path / "train.csv", tmp_path / "valid.csv"
    write_csv(train, X[0::2], y[0::2])
    write_csv(valid, X[1::2], y[1::2])
    model_path = tmp_path / "m.anoma"
    p = cli("train", "-d", "iforest", "-p", "n_trees=40", "-d", "zscore", "-p", "combine=max",
            "--ensemble", "wmean", "--normalize", "robust", "--weights", "2,1", "--label",
            "label", "-o", model_path, train)
    assert p.returncode == 0, p.stderr
    model = anoma.Model.load(str(model_path))
    assert "ensemble=wmean normalize=robust weights=2,1" in model.params()
    p = cli("score", "--proba", model_path, valid)
    assert p.returncode == 0, p.stderr
    got = read_scores(p.stdout)
    Xv = X[1::2]
    # the weighted mean of the members' robust scores, learned on the training rows
    raw_train, raw = model.member_scores(X[0::2]), model.member_scores(Xv)
    z = (raw - np.median(raw_train, axis=0)) / (np.percentile(raw_train, 75, axis=0)
                                               - np.percentile(raw_train, 25, axis=0))
    np.testing.assert_allclose(got[:, 0], (2 * z[:, 0] + z[:, 1]) / 3, rtol=1e-12, atol=1e-12)
    assert np.array_equal(got[:, 1], (got[:, 0] > model.threshold).astype(float))
    knots = knots_of(model.score(X[0::2]))
    np.testing.assert_allclose(got[:, 2], rank(knots, got[:, 0]), rtol=0, atol=1e-12)

    # the tool's default for one detector (its own rule) learns the probability too
    p = cli("train", "-d", "iforest", "-p", "n_trees=40", "-o", model_path, train)
    assert p.returncode == 0, p.stderr
    model = anoma.Model.load(str(model_path))
    assert "contamination=auto" in model.params()
    p = cli("score", "--proba", model_path, valid)
    assert p.returncode == 0, p.stderr
    got = read_scores(p.stdout)
    knots = knots_of(model.score(X[0::2]))
    np.testing.assert_allclose(got[:, 2], rank(knots, got[:, 0]), rtol=0, atol=1e-12)

    # --validation --proba: Platt's curve on the validation rows
    p = cli("train", "-d", "zscore", "-p", "combine=max", "--validation", valid, "--proba",
            "--label", "label", "-o", model_path, train)
    assert p.returncode == 0, p.stderr
    model = anoma.Model.load(str(model_path))
    p = cli("score", "--proba", model_path, valid)
    got = read_scores(p.stdout)
    s = model.score(Xv)
    ref = platt_reference(s, y[1::2])
    np.testing.assert_allclose(got[:, 2], ref.predict_proba(s.reshape(-1, 1))[:, 1], atol=1e-6)


@needs_cli
def test_cli_refusals(tmp_path):
    X, y = data("wbc.csv")
    train = tmp_path / "train.csv"
    write_csv(train, X, y)
    p = cli("train", "-d", "iforest", "-d", "zscore", "--ensemble", "vote", "--weights",
            "2,1,3", "-o", tmp_path / "m.anoma", train)
    assert p.returncode == 1 and "weights=2,1,3 has 3 weights; the model has 2" in p.stderr
    p = cli("train", "-d", "zscore", "--proba", "-o", tmp_path / "m.anoma", train)
    assert p.returncode == 2 and "--proba needs --validation FILE" in p.stderr
    p = cli("train", "-d", "zscore", "-m", "threshold=3", "-m", "probability_rows=0", "-o",
            tmp_path / "m.anoma", train)
    assert p.returncode == 0, p.stderr
    p = cli("score", "--proba", tmp_path / "m.anoma", train)
    assert p.returncode == 1 and "learned no probability" in p.stderr
