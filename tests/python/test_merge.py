"""Models fitted on partitions of the rows, combined (anoma.merge): forests
of isolation trees merged into one, checked against the closed form of a
forest's score and against scikit-learn scoring the concatenated trees;
zscore and Mahalanobis statistics merged exactly, checked against fitting
on all the rows at once, numpy and scikit-learn; the detectors that do not
merge are refused. Also anoma_model_detector_payload, which the merge reads."""
import struct
import zlib

import numpy as np
import pytest

from conftest import import_anoma

anoma = import_anoma()
from anoma.merge import Statistics, merge_forests  # noqa: E402


def _rows(n, d=4, seed=0):
    x = np.random.default_rng(seed).normal(size=(n, d)) * [1, 10, 0.1, 3][:d] + [5, -2, 0, 1][:d]
    x[::101] += 8
    return x


def _parts(x, k):
    return np.array_split(x, k)


def _file_payload_versions(data):
    """The payload version each detector section of a model file records
    (docs/model-format.md): the reference for ``with_version``."""
    (count,) = struct.unpack_from("<I", data, 16)
    pos, versions = 24, []
    for _ in range(count):
        kind, flags, stored, _raw = struct.unpack_from("<IIQQ", data, pos)
        body = data[pos + 32:pos + 32 + stored]
        pos += 32 + stored
        if kind != 4:  # a detector section
            continue
        body = zlib.decompress(body) if flags & 2 else body
        at = 0
        for _field in range(2):  # name, parameters
            at += 4 + struct.unpack_from("<I", body, at)[0]
        versions.append(struct.unpack_from("<I", body, at + 16)[0])  # after shift, scale
    return versions


def test_detector_payload_with_its_version():
    x = _rows(300)
    model = anoma.Model("contamination=0.1", ["zscore", "ocsvm"]).fit(x)
    versions = _file_payload_versions(model.to_bytes())
    for k in range(2):
        version, payload = model.detector_payload(k, with_version=True)
        assert payload == model.detector_payload(k) and version == versions[k]
    assert versions[1] == 2  # docs/detectors/ocsvm.md: "Payload ..., version 2"


def test_detector_payload_is_what_import_takes_back():
    x = _rows(500)
    model = anoma.Model("contamination=auto", [("zscore", "ddof=1")]).fit(x)
    payload = model.detector_payload(0)
    (d,) = struct.unpack_from("<Q", payload)
    centre_scale = np.frombuffer(payload, "<f8", offset=8).reshape(2, d)
    np.testing.assert_allclose(centre_scale[0], x.mean(axis=0), rtol=1e-13)
    np.testing.assert_allclose(centre_scale[1], x.std(axis=0, ddof=1), rtol=1e-13)
    again = anoma.Model("contamination=auto", detectors=()).import_detector(
        "zscore", payload, 4, "ddof=1")
    np.testing.assert_array_equal(again.score(x), model.score(x))
    with pytest.raises(anoma.NotFittedError):
        anoma.Model("contamination=auto", ["zscore"]).detector_payload(0)
    with pytest.raises(IndexError, match="out of range"):
        model.detector_payload(1)
    lof = anoma.Model("contamination=0.1", ["lof"]).fit(x)
    with pytest.raises(anoma.AnomaError, match="lof keeps its training rows"):
        lof.detector_payload(0)


def test_merged_forest_scores_as_a_forest_of_all_the_trees():
    x = _rows(3000)
    parts = _parts(x, 3)
    forests = [anoma.Model("contamination=auto", [("iforest", "n_trees=%d seed=%d" % (t, k))]).fit(p)
               for k, (t, p) in enumerate(zip((50, 100, 30), parts))]
    merged = merge_forests(forests)
    assert merged.detectors == ["iforest"]
    assert struct.unpack_from("<IIQQQ", merged.detector_payload(0))[4] == 180
    # s = 2^(-E[h] / c(psi)): the mean depth over all the trees is the
    # tree-weighted mean of each forest's, so log2 s is too
    logs = np.array([np.log2(f.score(x)) for f in forests])
    expected = 2.0 ** ((np.array([50, 100, 30])[:, None] * logs).sum(axis=0) / 180)
    np.testing.assert_allclose(merged.score(x), expected, rtol=1e-12)
    assert merged.threshold == 0.5
    assert merge_forests(forests, threshold=0.6).threshold == 0.6


def test_merged_sklearn_forests_score_as_sklearn_with_the_trees_concatenated():
    from sklearn.ensemble import IsolationForest
    x = _rows(3000)
    fitted = [IsolationForest(n_estimators=40, random_state=k).fit(p)
              for k, p in enumerate(_parts(x, 3))]
    merged = merge_forests([anoma.from_sklearn(f) for f in fitted])
    reference = IsolationForest(n_estimators=120, random_state=0).fit(x[:300])
    reference.estimators_ = sum((f.estimators_ for f in fitted), [])
    reference.estimators_features_ = sum((f.estimators_features_ for f in fitted), [])
    reference.max_samples_ = fitted[0].max_samples_
    reference._max_samples = fitted[0]._max_samples
    np.testing.assert_allclose(merged.score(x), -reference.score_samples(x), rtol=1e-12)


def test_forests_that_do_not_merge_are_refused():
    x = _rows(2000)
    big = anoma.Model("contamination=auto", ["iforest"]).fit(x)
    small = anoma.Model("contamination=auto", ["iforest"]).fit(x[:100])  # psi = 100
    with pytest.raises(ValueError, match=r"models\[1\] has max_samples 100, models\[0\] 256"):
        merge_forests([big, small])
    with pytest.raises(ValueError, match="expected one iforest"):
        merge_forests([big, anoma.Model("contamination=auto", ["zscore"]).fit(x)])
    with pytest.raises(ValueError, match="feature count"):
        merge_forests([big, anoma.Model("contamination=auto", ["iforest"]).fit(x[:, :3])])
    with pytest.raises(ValueError, match="no forest"):
        merge_forests([])


@pytest.mark.parametrize("ddof", [0, 1])
def test_merged_zscore_equals_fitting_on_all_rows(ddof):
    x = _rows(5000)
    x[np.random.default_rng(1).random(x.shape) < 0.05] = np.nan  # missing values
    x[:, 2] = np.where(np.isnan(x[:, 2]), np.nan, 0.25)  # a constant feature
    parts = [Statistics.of(p) for p in _parts(x, 7)]
    merged = Statistics.merge_all(parts).model("zscore", {"ddof": ddof, "combine": "max"})
    whole = anoma.Model("contamination=auto", [("zscore", "ddof=%d combine=max" % ddof)]).fit(x)
    got = np.frombuffer(merged.detector_payload(0), "<f8", offset=8).reshape(2, 4)
    want = np.frombuffer(whole.detector_payload(0), "<f8", offset=8).reshape(2, 4)
    np.testing.assert_allclose(got, want, rtol=1e-12)
    assert got[0, 2] == 0.25 and got[1, 2] == 1.0  # constant: its value, scale 1
    reference = np.nanstd(x, axis=0, ddof=ddof)
    reference[2] = 1.0
    np.testing.assert_allclose(got[0], np.nanmean(x, axis=0), rtol=1e-12)
    np.testing.assert_allclose(got[1], reference, rtol=1e-12)
    np.testing.assert_allclose(merged.score(x), whole.score(x), rtol=1e-12)
    assert merged.threshold == whole.threshold == 3


def test_merged_mahalanobis_equals_fitting_on_all_rows_and_sklearn():
    from sklearn.covariance import EmpiricalCovariance
    x = _rows(4000)
    x[:, 3] += 0.5 * x[:, 1]  # correlated features
    parts = [Statistics.of(p, covariance=True) for p in _parts(x, 5)]
    merged = Statistics.merge_all(parts).model("mahalanobis", threshold=9.0)
    whole = anoma.Model("threshold=9", ["mahalanobis"]).fit(x)
    head = struct.calcsize("<QBQQQ")
    assert struct.unpack_from("<QBQQQ", merged.detector_payload(0)) == (4, 0, 4000, 4000, 4000)
    got = np.frombuffer(merged.detector_payload(0), "<f8", count=4 + 16, offset=head)
    want = np.frombuffer(whole.detector_payload(0), "<f8", count=4 + 16, offset=head)
    np.testing.assert_allclose(got, want, rtol=1e-12)
    sk = EmpiricalCovariance().fit(x)
    np.testing.assert_allclose(got[:4], sk.location_, rtol=1e-12)
    np.testing.assert_allclose(got[4:].reshape(4, 4), sk.covariance_, rtol=1e-12)
    np.testing.assert_allclose(merged.score(x), sk.mahalanobis(x), rtol=1e-9)
    assert merged.threshold == 9.0


def test_statistics_that_do_not_merge_are_refused():
    x = _rows(100)
    stats = Statistics.of(x)
    for name in ("mad", "iqr"):
        with pytest.raises(ValueError, match="order statistics"):
            stats.model(name)
    with pytest.raises(ValueError, match="does not merge"):
        stats.model("ocsvm")
    with pytest.raises(ValueError, match="covariance=True"):
        stats.model("mahalanobis", threshold=9)
    cov = Statistics.of(x, covariance=True)
    with pytest.raises(ValueError, match="robust"):
        cov.model("mahalanobis", {"robust": True}, threshold=9)
    with pytest.raises(ValueError, match="no automatic threshold"):
        cov.model("mahalanobis")
    x[3, 1] = np.nan
    with pytest.raises(ValueError, match=r"X\[3, 1\] is missing"):
        Statistics.of(x, covariance=True)
    with pytest.raises(ValueError, match="4 features and 3"):
        Statistics.of(x).merge(Statistics.of(x[:, :3]))
    empty = np.full((5, 2), np.nan)
    with pytest.raises(ValueError, match="feature 0 has no non-missing value"):
        Statistics.of(empty).model("zscore")
