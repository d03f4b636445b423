"""Model.set_progress and CancelledError: the library's progress callback
(anoma_model_set_progress) from Python. Counts are checked against what the
call does (trees asked for, rows given), cancelling against the model's
state, and exceptions against the very object the callback raised."""
import gc

import numpy as np
import pytest

from conftest import import_anoma

anoma = import_anoma()
from anoma._library import STATUS, lib, text  # noqa: E402

ROWS = 60000  # several batches of scoring (a batch is at least 16384 rows)


def forest(n_trees=40):
    return anoma.Model({"contamination": 0.1},
                       [("iforest", {"n_trees": n_trees, "seed": 1})])


def data(rows=ROWS, seed=0):
    return np.random.default_rng(seed).standard_normal((rows, 3))


def recorder(reports, cancel_at=None):
    def callback(stage, done, total):
        reports.append((stage, done, total))
        return cancel_at is not None and len(reports) >= cancel_at
    return callback


def check_counts(reports, stage, total):
    """done only grows, stays within total and ends at total."""
    done = [d for s, d, t in reports if s == stage]
    assert [t for s, _, t in reports if s == stage] == [total] * len(done)
    assert len(done) > 1 and done == sorted(done) and done[-1] == total, done


def test_cancelled_error_is_the_librarys_status():
    err = anoma.CancelledError(STATUS["ANOMA_ERR_CANCELLED"])
    assert isinstance(err, anoma.AnomaError)
    assert err.name == "ANOMA_ERR_CANCELLED" == text(lib.anoma_status_str(err.status))
    from anoma.errors import error_for
    assert type(error_for(STATUS["ANOMA_ERR_CANCELLED"])) is anoma.CancelledError


def test_counts_grow_to_the_total():
    X = data()
    model = forest(40)
    reports = []
    model.set_progress(recorder(reports))
    model.fit(X)
    check_counts(reports, "fit", 40)  # trees
    scored = len(reports)
    model.score(X)
    check_counts(reports[scored:], "score", ROWS)  # rows
    predicted = len(reports)
    flags = model.predict(X)
    check_counts(reports[predicted:], "score", ROWS)
    # reporting changes no result, and None turns it off
    plain = forest(40).fit(X)
    np.testing.assert_array_equal(model.score(X), plain.score(X))
    np.testing.assert_array_equal(flags, plain.predict(X))
    model.set_progress(None)
    before = len(reports)
    model.score(X)
    assert len(reports) == before


def test_cancel_raises_and_leaves_the_model_unfitted():
    X = data()
    model = forest(40)
    reports = []
    model.set_progress(recorder(reports, cancel_at=1))
    with pytest.raises(anoma.CancelledError) as caught:
        model.fit(X)
    assert caught.value.status == STATUS["ANOMA_ERR_CANCELLED"]
    assert len(reports) == 1 and reports[0][1] < reports[0][2]
    assert not model.is_fitted
    with pytest.raises(anoma.NotFittedError):
        model.score(X)
    model.set_progress(None)
    model.fit(X)  # fittable again, to the same model as one never cancelled
    np.testing.assert_array_equal(model.score(X), forest(40).fit(X).score(X))
    # cancelling a scoring call raises too; the model stays usable
    model.set_progress(recorder([], cancel_at=1))
    with pytest.raises(anoma.CancelledError):
        model.score(X)
    model.set_progress(None)
    assert model.is_fitted and model.score(X[:5]).shape == (5,)


def test_an_exception_in_the_callback_is_raised_as_itself():
    X = data()
    model = forest(40)
    boom = KeyError("raised in the callback")
    calls = []

    def callback(stage, done, total):
        calls.append(done)
        raise boom

    model.set_progress(callback)
    with pytest.raises(KeyError) as caught:
        model.fit(X)
    assert caught.value is boom and len(calls) == 1  # the first report stopped the fit
    assert not model.is_fitted
    # nothing is left behind for a later call to raise
    model.set_progress(None)
    model.fit(X)
    assert model.is_fitted
    # a KeyboardInterrupt (Ctrl-C during a long call) cancels and is raised too
    model.set_progress(lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    with pytest.raises(KeyboardInterrupt):
        model.score(X)


def test_the_callback_lives_as_long_as_the_model_holds_it():
    X = data(20000)
    model = forest(20)
    reports = []
    model.set_progress(recorder(reports))  # no other reference to the ctypes object
    gc.collect()
    model.fit(X)
    check_counts(reports, "fit", 20)


def test_bad_callback_is_refused():
    with pytest.raises(TypeError, match="callable"):
        forest().set_progress(42)
