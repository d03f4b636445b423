"""Ensembles and probabilities against NumPy and scikit-learn, on the shared
data: the combined score is the combination, computed here, of the members'
raw scores, for every normalisation and combination (weights and vote
included); rank normalisation and the default probability follow the
np.searchsorted definition of docs/model.md; Platt's fit equals
scikit-learn's LogisticRegression with a negligible penalty; saving keeps
every value's bits; bad parameters are refused by name."""
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
    import os
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
    fixed = anoma.Model("threshold=3", [("zscore", "combine=max")]).fit(X)
    with pytest.raises(anoma.AnomaError, match="fit_probability"):
        fixed.predict_proba(X)
