"""anoma.Stream: per-entity scores equal the batch scores of each entity's
rows (window and time steps included), across restore and pickling; alert
events on a scripted sequence, computed by hand; refused states."""
import pickle

import numpy as np
import pandas as pd
import pytest

from frames import Model as FrameModel

from conftest import import_anoma

anoma = import_anoma()

STEPS = ["time_features column=ts entity=user features=hour,since_previous",
         "window entity=user columns=value,clicks lags=1 rolling=3 stats=mean,std "
         "ewma_alpha=0.3",
         "select drop=user", "imputer"]


def activity(rows=400, seed=3):
    """Users interleaved unevenly, times increasing, values with spikes."""
    rng = np.random.default_rng(seed)
    users = rng.choice(["ann", "bo", "cy", "dee"], size=rows, p=[.4, .3, .2, .1])
    ts = pd.to_datetime(1_700_000_000 + np.cumsum(rng.integers(1, 900, rows)), unit="s")
    value = rng.gamma(2.0, 10.0, rows) * np.where(rng.random(rows) < 0.03, 20, 1)
    value[rng.random(rows) < 0.05] = np.nan
    return pd.DataFrame({"user": users, "ts": ts, "value": value,
                         "clicks": rng.poisson(3, rows).astype(float)})


def fitted(df, steps=STEPS):
    """An anoma.Model with these steps and a zscore detector, fitted on df."""
    batch = FrameModel(df, steps)
    return batch, anoma.Model.from_bytes(_model_bytes(batch))


def _model_bytes(frame_model):
    copy = frame_model.reloaded()  # the same model through its bytes
    import ctypes
    from frames import lib
    size = ctypes.c_size_t()
    lib.anoma_model_save_memory(copy.handle, None, 0, ctypes.byref(size))
    buf = ctypes.create_string_buffer(size.value)
    lib.anoma_model_save_memory(copy.handle, buf, size.value, ctypes.byref(size))
    return buf.raw[:size.value]


def probability_of_scores(model, scores):
    """anoma_model_probability_of_scores: the model's probability of scores."""
    import ctypes
    from anoma import _library
    fn = _library.lib.anoma_model_probability_of_scores
    fn.restype, fn.argtypes = ctypes.c_int, [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t,
                                             ctypes.c_void_p, ctypes.c_void_p]
    scores = np.ascontiguousarray(scores, dtype=np.float64)
    out = np.empty(len(scores))
    assert fn(model._handle, scores.ctypes.data, len(scores), out.ctypes.data, None) == 0
    return out


def test_push_many_equals_batch_scores():
    df = activity()
    batch, model = fitted(df)
    expected = batch.score(df)  # the steps key history by user in batch
    s = anoma.Stream(model)
    got = s.push_many(df["user"], df, times=df["ts"])
    assert np.array_equal(got.score, expected)
    assert np.array_equal(got.probability, probability_of_scores(model, expected))
    threshold = model.threshold
    assert np.array_equal(got.is_anomaly, expected > threshold)
    assert s.n_entities == 4
    assert s.entity_bytes > 0 and s.memory_bytes > 4 * s.entity_bytes


def test_push_restore_and_pickle_continue_alike():
    df = activity(300)
    batch, model = fitted(df)
    expected = batch.score(df)
    s = anoma.Stream(model, alert_min=2)
    half = len(df) // 2
    first = [s.push(df.user[i], df.iloc[i], df.ts[i]).score for i in range(half)]
    assert first == list(expected[:half])
    restored = anoma.Stream.from_bytes(model, s.to_bytes(), alert_min=2)
    pickled = pickle.loads(pickle.dumps(s))
    for other in (s, restored, pickled):
        rest = other.push_many(df.user[half:], df.iloc[half:], times=df.ts[half:])
        assert np.array_equal(rest.score, expected[half:])


def test_entities_are_separate_series():
    """A window without entity=: each stream key is its own series, as the
    batch score of that key's rows alone."""
    rng = np.random.default_rng(8)
    X = rng.normal(size=(240, 2))
    df = pd.DataFrame({"a": X[:, 0], "b": X[:, 1]})
    batch, model = fitted(df, ["window lags=1,2 rolling=4 stats=mean,max", "imputer"])
    keys = np.array(["p", "q", "r"])[rng.integers(0, 3, len(df))]
    s = anoma.Stream(model)
    got = s.push_many(keys, X).score  # a plain array of the model's inputs
    for k in "pqr":
        rows = df[keys == k].reset_index(drop=True)
        assert np.array_equal(got[keys == k], batch.score(rows))


def unit_model():
    """zscore of one column with mean 0 and std 1, threshold 0.5: a value v
    scores |v| and is anomalous above 0.5."""
    m = anoma.Model("threshold=0.5", [("zscore", "")])
    m.fit(np.array([[-1.0], [1.0]] * 4))
    return m


def test_alert_events_by_hand():
    s = anoma.Stream(unit_model(), alert_min=2, alert_window=3, alert_quiet=2)
    values = [0, 2, 0, 3, 6, 0, 0, 2, 0, 2, 0, 0]
    for t, v in enumerate(values, start=1):
        s.push("dev-1", [v], time=float(t))
    events = s.events()
    assert [(e.kind, e.start_time, e.end_time, e.peak_time, e.peak_score, e.n_anomalous)
            for e in events] == [("open", 4, 4, 4, 3, 1), ("close", 4, 5, 5, 6, 2),
                                 ("open", 10, 10, 10, 2, 1), ("close", 10, 10, 10, 2, 1)]
    assert all(e.entity == "dev-1" and not e.evicted and e.dropped == 0 for e in events)
    assert events[1].top_features == [("x0", 6.0)]
    assert s.events() == []


def test_times_and_defaults():
    s = anoma.Stream(unit_model(), alert_min=1, alert_quiet=1)
    s.push(7, [5.0])  # the default time: the count of pushes, 1
    s.push(7, [0.0], time=np.datetime64("2024-01-01T00:00:10"))
    opened, closed = s.events()
    assert opened.entity == "7" and opened.start_time == 1.0
    assert closed.end_time == 1.0
    assert s.push(7, {"x0": 0.25})[::2] == (0.25, False)
    # every training row scores 1: the rank of 0 is 0
    assert s.push(7, [0.0]).probability == 0
    none = anoma.Model("threshold=0.5 probability_rows=0", [("zscore", "")])
    none.fit(np.array([[-1.0], [1.0]] * 4))
    assert np.isnan(anoma.Stream(none).push(7, [0.0]).probability)  # learned no probability


def test_bad_states_and_options_refused():
    s = anoma.Stream(unit_model())
    s.push("a", [1.0])
    data = s.to_bytes()
    df = activity(50)
    _, other = fitted(df)
    with pytest.raises(anoma.InvalidArgumentError, match="another model"):
        anoma.Stream.from_bytes(other, data)
    with pytest.raises(anoma.AnomaError, match="stream state"):
        anoma.Stream.from_bytes(unit_model(), data[:-1])
    with pytest.raises(anoma.ParameterValueError, match="evict"):
        anoma.Stream(unit_model(), evict="oldest")
    with pytest.raises(anoma.UnknownParameterError):
        anoma.Stream(unit_model(), speed=3)
    with pytest.raises(anoma.NonFiniteError):
        s.push("a", [np.inf])
    with pytest.raises(anoma.ShapeError):
        s.push("a", [1.0, 2.0])
    assert s.n_entities == 1


def test_fingerprint_tells_which_models_continue_a_state():
    """Equal fingerprints exactly when a saved state restores: a retrain on
    other rows keeps it, a model with another input schema does not."""
    first = fitted(activity(300, seed=3))[1]
    retrained = fitted(activity(300, seed=4))[1]
    other_schema = unit_model()
    s = anoma.Stream(first)
    df = activity(40, seed=5)
    for i in range(len(df)):
        s.push(df.user[i], df.iloc[i], df.ts[i])
    data = s.to_bytes()
    assert s.fingerprint == anoma.stream_fingerprint(first) == anoma.stream_fingerprint(retrained)
    assert anoma.stream_fingerprint(other_schema) != s.fingerprint
    assert anoma.Stream.from_bytes(retrained, data).n_entities == s.n_entities
    with pytest.raises(anoma.InvalidArgumentError, match="another model"):
        anoma.Stream.from_bytes(other_schema, data)
    with pytest.raises(TypeError, match="stream_fingerprint"):
        anoma.stream_fingerprint("not a model")
