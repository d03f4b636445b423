"""time_features against pandas' calendar (dt accessors) over two centuries
of random instants, at several UTC offsets, with missing timestamps; and
since_previous against a per-entity diff of the timestamps."""
import numpy as np
import pandas as pd
import pytest

from frames import PipelineError, fit_transform


def instants(rows=4000, seed=0):
    rng = np.random.default_rng(seed)
    seconds = rng.integers(-2_208_988_800, 4_102_444_800, size=rows)  # 1900 .. 2100
    seconds[:6] = [951782400, 951868799, 1709164800, 4107456000, 1704067199, -1]  # leap days, year ends
    ts = pd.Series(pd.to_datetime(seconds, unit="s"))
    ts[rng.random(rows) < 0.03] = pd.NaT
    return pd.DataFrame({"user": rng.choice(["a", "b", "c"], size=rows), "ts": ts})


def calendar(ts, offset):
    """The expected outputs, from pandas' local calendar."""
    d = ts + pd.Timedelta(seconds=offset)
    sec = (d.dt.hour * 3600 + d.dt.minute * 60 + d.dt.second).to_numpy(float)
    dow = d.dt.dayofweek.to_numpy(float)
    dom = ((d.dt.day - 1) / d.dt.days_in_month).to_numpy(float)
    month = (d.dt.month - 1).to_numpy(float) / 12
    cols = []
    for fraction in (sec / 86400, dow / 7, dom, month):
        cols += [np.sin(2 * np.pi * fraction), np.cos(2 * np.pi * fraction)]
    weekend = np.where(np.isnan(dow), np.nan, dow >= 5)
    business = np.where(np.isnan(dow), np.nan, (dow < 5) & (sec >= 9 * 3600) & (sec < 17 * 3600))
    night = np.where(np.isnan(sec), np.nan, (sec >= 22 * 3600) | (sec < 6 * 3600))
    return np.column_stack(cols + [weekend, business, night])


@pytest.mark.parametrize("offset,seconds", [("+00:00", 0), ("+05:30", 19800),
                                            ("-08:00", -28800), ("3600", 3600)])
def test_calendar_equals_pandas(offset, seconds):
    df = instants()
    names, out = fit_transform(df, ["time_features column=ts utc_offset=" + offset,
                                    "select drop=user"])
    assert names[:2] == ["ts_hour_sin", "ts_hour_cos"] and names[-1] == "ts_night"
    want = calendar(df["ts"], seconds)
    np.testing.assert_array_equal(np.isnan(out), np.isnan(want))
    assert np.nanmax(np.abs(out - want)) <= 1e-12


def test_since_previous_equals_a_diff_per_entity():
    df = instants(1500, seed=1)
    names, out = fit_transform(df, ["time_features column=ts entity=user features=since_previous",
                                    "select drop=user"])
    assert names == ["ts_since_previous"]
    # a missing time is skipped: the next row counts from the last known one;
    # in whole seconds (pandas' total_seconds() rounds nanoseconds through a
    # double, which is inexact for spans of a century)
    known = df[df["ts"].notna()].copy()
    known["seconds"] = known["ts"].astype("int64") // 10**9
    want = pd.Series(np.nan, index=df.index)
    want[known.index] = known.groupby("user")["seconds"].diff()
    np.testing.assert_array_equal(out[:, 0], want.to_numpy())


def test_business_and_night_hours_can_be_set():
    ts = pd.Series(pd.to_datetime(["2024-03-04 08:29:59", "2024-03-04 08:30:00",
                                   "2024-03-04 12:00:00", "2024-03-09 10:00:00",
                                   "2024-03-05 00:59:00", "2024-03-05 01:00:00"]))
    df = pd.DataFrame({"ts": ts})
    names, out = fit_transform(df, ["time_features column=ts features=business_hours,night "
                                    "business_hours=08:30-12 night_hours=01:00-05:00"])
    np.testing.assert_array_equal(out, [[0, 0], [1, 0], [0, 0], [0, 0], [0, 0], [0, 1]])


def test_bad_input_names_the_problem():
    df = instants(20)
    with pytest.raises(PipelineError, match="utc_offset"):
        fit_transform(df, ["time_features column=ts utc_offset=+5", "select drop=user"])
    with pytest.raises(PipelineError, match="'user' is text"):
        fit_transform(df, ["time_features column=user"])
