"""The window step against pandas: groupby(entity) + shift, diff, rolling
(mean, std, min, max, median with min_periods), the deviation from the
shifted rolling baseline, and ewm (alpha or span, adjust), to 1e-12."""
import numpy as np
import pandas as pd
import pytest

from frames import Model, PipelineError, fit_transform


def behaviour(rows=3000, seed=0):
    """Interleaved users with missing values, one user with a single row."""
    rng = np.random.default_rng(seed)
    users = rng.choice(["ann", "bob", "cy", "dee", "eve"], size=rows, p=[.4, .3, .2, .05, .05])
    value = rng.gamma(2.0, 50.0, size=rows) * np.where(users == "bob", 10, 1)
    value[rng.random(rows) < 0.04] = np.nan
    clicks = rng.poisson(3, size=rows).astype(float)
    df = pd.DataFrame({"user": users, "value": value, "clicks": clicks})
    return pd.concat([df, pd.DataFrame({"user": ["solo"], "value": [5.0], "clicks": [1.0]})],
                     ignore_index=True)


def sample_std(v):
    v = v[~np.isnan(v)]
    return np.std(v, ddof=1) if len(v) > 1 else np.nan


def rolling(r, stat):
    """A pandas rolling statistic. pandas' own std is an online (Welford)
    update that drifts by ~1e-11 relative over thousands of rows, so the
    reference std is NumPy's two-pass one over each pandas window; it is
    also checked against pandas' built-in std to 1e-9."""
    if stat != "std":
        return getattr(r, stat)()
    exact = r.apply(sample_std, raw=True)
    online = r.std()
    np.testing.assert_allclose(exact, online, rtol=1e-9, atol=1e-9)
    return exact


def expected(df, column, feature, params):
    """pandas' value of one window output."""
    g = df.groupby("user", sort=False, dropna=False)[column]
    kind, _, rest = feature.partition("_")
    mp = int(params.get("min_periods", 0)) or None
    if kind == "lag":
        return g.shift(int(rest))
    if kind == "diff":
        return g.diff(int(rest))
    if kind == "rolling":
        stat, w = rest.split("_")
        w = int(w)
        return g.transform(lambda s: rolling(s.rolling(w, min_periods=mp or w), stat))
    if kind == "deviation":
        w = int(rest)

        def deviation(s):
            past = s.shift(1).rolling(w, min_periods=mp or w)
            spread = rolling(past, "std")
            return ((s - past.mean()) / spread).replace([np.inf, -np.inf], np.nan)
        return g.transform(deviation)
    if kind == "ewma":
        how, value = rest.split("_")
        adjust = params.get("adjust", "true") == "true"
        kw = {"alpha": float(value)} if how == "alpha" else {"span": float(value)}
        return g.transform(lambda s: s.ewm(adjust=adjust, **kw).mean())
    raise AssertionError(feature)


def check_against_pandas(df, params_text):
    params = dict(p.split("=") for p in params_text.split())
    names, out = fit_transform(df, ["window entity=user " + params_text, "select drop=user"])
    series = [c for c in df.columns if c != "user"]
    checked = 0
    for k, name in enumerate(names):
        column = next((c for c in series if name.startswith(c + "_")), None)
        if column is None:
            np.testing.assert_array_equal(out[:, k], df[name].to_numpy(float))
            continue
        want = expected(df, column, name[len(column) + 1:], params).to_numpy(float)
        got = out[:, k]
        np.testing.assert_array_equal(np.isnan(got), np.isnan(want), err_msg=name)
        ok = ~np.isnan(want)
        error = np.max(np.abs(got[ok] - want[ok]) / np.maximum(1, np.abs(want[ok])), initial=0)
        assert error <= 1e-12, (name, error)
        checked += 1
    return checked


@pytest.mark.parametrize("params", [
    "lags=1,2,5 diff=1,3",
    "rolling=3,10 stats=mean,std,min,max,median",
    "rolling=7 stats=median,std min_periods=2 deviation=true",
    "rolling=5 stats=mean deviation=true ewma_alpha=0.3,1 ewma_span=10",
    "ewma_alpha=0.2 ewma_span=4 adjust=false",
])
def test_window_equals_pandas_per_entity(params):
    assert check_against_pandas(behaviour(), params) >= 2


def test_without_entity_the_input_is_one_series():
    df = behaviour(500, seed=3)
    names, out = fit_transform(df, ["window columns=value lags=2 rolling=4 stats=max",
                                    "select drop=user,clicks"])
    assert names == ["value", "value_lag_2", "value_rolling_max_4"]
    np.testing.assert_array_equal(out[:, 1], df["value"].shift(2).to_numpy())
    np.testing.assert_array_equal(out[:, 2], df["value"].rolling(4).max().to_numpy())


def test_a_missing_entity_is_one_group():
    df = pd.DataFrame({"user": ["a", None, "a", None, "b"], "value": [1.0, 2, 3, 4, 5]})
    _, out = fit_transform(df, ["window lags=1 entity=user", "select drop=user"])
    want = df.groupby("user", dropna=False)["value"].shift(1).to_numpy()
    np.testing.assert_array_equal(out[:, 1], want)


def test_bad_input_names_the_problem():
    df = behaviour(50)
    with pytest.raises(PipelineError, match="'account'"):
        fit_transform(df, ["window entity=account lags=1", "select drop=user"])
    with pytest.raises(PipelineError, match="min_periods"):
        fit_transform(df, ["window rolling=3 min_periods=5", "select drop=user"])
    with pytest.raises(PipelineError, match="'user'"):  # a text entity left at the end
        fit_transform(df, ["window entity=user lags=1"])


def test_batch_row_scorer_and_reloaded_model_agree():
    """Stateful steps in a model: rows scored one at a time through a row
    scorer continue each entity's history, and give the batch's scores to
    the bit; so does the model after a save and load."""
    rng = np.random.default_rng(7)
    df = behaviour(800, seed=2)
    df["ts"] = pd.to_datetime(1_700_000_000 + np.cumsum(rng.integers(1, 600, len(df))), unit="s")
    steps = ["time_features column=ts entity=user",
             "window entity=user columns=value,clicks lags=1 rolling=5 stats=mean,median "
             "deviation=true ewma_span=3 min_periods=1",
             "select drop=user"]
    model = Model(df, steps)
    batch = model.score(df)
    assert np.isfinite(batch).all()
    np.testing.assert_array_equal(model.score_rows(df), batch)
    np.testing.assert_array_equal(model.reloaded().score(df), batch)
    # a batch call starts from empty histories: the second half alone
    # differs from the same rows scored after the first half
    half = df.iloc[400:].reset_index(drop=True)
    assert not np.array_equal(model.score(half), batch[400:])
