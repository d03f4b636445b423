"""The HTML report of `anoma evaluate --report` and `anoma report`.

The report is parsed as XML; its curves, counts and metrics are compared
with scikit-learn's on the scores `anoma score` gives; hostile column names
must come out escaped; a million-row evaluation must stay small; and the page
is opened in headless Chromium, which must report no console error and
draw a screenshot of the expected size with content.
"""
import os
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET

import numpy as np
import pytest

CLI = os.environ.get("ANOMA_CLI")
if not CLI or not os.path.exists(CLI):
    pytest.skip("ANOMA_CLI is not set to the anoma executable", allow_module_level=True)
skm = pytest.importorskip("sklearn.metrics")

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
WBC = os.path.join(ROOT, "examples", "data", "wbc.csv")
SVG = "{http://www.w3.org/2000/svg}"
TOLERANCE = 0.001  # html_report.c's CURVE_TOLERANCE


def run(*args, ok=True):
    p = subprocess.run([CLI, *map(str, args)], capture_output=True, text=True, timeout=600)
    if ok:
        assert p.returncode == 0, p.stderr
    return p


def parse(path):
    """The report as an XML tree (it must be well-formed), and its text."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    return ET.fromstring(text), text


def scores_of(model, data):
    out = run("score", model, data).stdout.splitlines()[1:]
    values = np.array([[float(v) for v in line.split(",")] for line in out])
    return values[:, 0], values[:, 1].astype(int)


def labels_of(path, label="label"):
    with open(path) as f:
        header = f.readline().strip().split(",")
    return np.loadtxt(path, delimiter=",", skiprows=1, usecols=[header.index(label)]).astype(int)


def chart(root, title):
    """The <svg> whose <title> is `title`."""
    for svg in root.iter(SVG + "svg"):
        if svg.find(SVG + "title").text == title:
            return svg
    raise AssertionError("no chart titled %r" % title)


def drawn_points(svg, k):
    """The k-th polyline of a chart, in data units of its plot area [0, 1]^2."""
    frame = next(r for r in svg.iter(SVG + "rect") if r.get("class") == "frame")
    x0, y0 = float(frame.get("x")), float(frame.get("y"))
    w, h = float(frame.get("width")), float(frame.get("height"))
    line = list(svg.iter(SVG + "polyline"))[k]
    xy = np.array([[float(v) for v in p.split(",")] for p in line.get("points").split()])
    return np.c_[(xy[:, 0] - x0) / w, 1 - (xy[:, 1] - y0) / h], 0.051 / min(w, h)


@pytest.fixture(scope="module")
def wbc_report(tmp_path_factory):
    folder = tmp_path_factory.mktemp("report")
    model = folder / "zscore.anoma"
    run("train", "--detector", "zscore", "--contamination", "0.05", "-o", model, WBC)
    report = folder / "report.html"
    run("report", model, WBC, "--label", "label", "-o", report)
    return model, report


def test_report_is_xml_with_the_expected_parts(wbc_report):
    _, report = wbc_report
    root, text = parse(report)
    assert root.tag == "html"
    assert [h.text for h in root.iter("h2")][:2] == ["Metrics", "Curves"]
    titles = [s.find(SVG + "title").text for s in root.iter(SVG + "svg")]
    assert titles == ["ROC curve", "Precision-recall curve", "Scores by label"]
    assert root.find(".//table[@id='metrics']") is not None
    assert root.find(".//table[@class='confusion']") is not None
    assert root.find(".//table[@class='explanations']") is not None
    assert "Model description" in text
    # self-contained: no script, nothing to fetch
    assert "<script" not in text.lower()
    for element in root.iter():
        for name, value in element.attrib.items():
            assert name not in ("src", "href") and "url(" not in value, (element.tag, name)
    assert not re.search(r"(?i)(https?:)?//(?!www\.w3\.org/2000/svg)", text)


def test_report_curves_and_counts_equal_sklearn(wbc_report):
    model, report = wbc_report
    scores, flagged = scores_of(model, WBC)
    y = labels_of(WBC)
    root, _ = parse(report)
    fpr, tpr, _ = skm.roc_curve(y, scores, drop_intermediate=False)
    drawn, pixel = drawn_points(chart(root, "ROC curve"), 0)
    full = np.c_[fpr, tpr]
    # every drawn vertex is a point of the curve; every point is within the
    # tolerance of a drawn vertex (both to the drawing's tenth of a pixel)
    gap = np.abs(drawn[:, None, :] - full[None, :, :]).max(axis=2)
    assert gap.min(axis=1).max() <= pixel
    assert gap.min(axis=0).max() <= TOLERANCE + pixel
    precision, recall, _ = skm.precision_recall_curve(y, scores)
    drawn, pixel = drawn_points(chart(root, "Precision-recall curve"), 0)
    for r, p in zip(recall[:-1], precision[:-1]):  # each corner of the steps
        assert np.abs(drawn - [r, p]).max(axis=1).min() <= TOLERANCE + pixel
    cells = [int(td.text) for td in root.find(".//table[@class='confusion']").iter("td")]
    assert cells == skm.confusion_matrix(y, flagged).ravel().tolist()  # tn fp fn tp
    row = [td.text for td in root.find(".//table[@id='metrics']").iter("td")]
    assert float(row[1]) == pytest.approx(skm.roc_auc_score(y, scores), abs=5e-5)
    assert float(row[2]) == pytest.approx(skm.average_precision_score(y, scores), abs=5e-5)
    assert float(row[5]) == pytest.approx(skm.f1_score(y, flagged), abs=5e-5)


def test_explanations_name_the_top_rows(wbc_report):
    model, report = wbc_report
    scores, _ = scores_of(model, WBC)
    root, _ = parse(report)
    table = root.find(".//table[@class='explanations']")
    rows = [[td.text for td in tr.iter("td")] for tr in table.iter("tr")][1:]
    top = np.argsort(-scores, kind="stable")[:10] + 1
    assert [int(r[0]) for r in rows] == top.tolist()
    # zscore's top feature of the top row: the largest |x - mean| / std
    X = np.loadtxt(WBC, delimiter=",", skiprows=1)[:, :-1]
    z = np.abs(X[top[0] - 1] - X.mean(axis=0)) / X.std(axis=0)
    assert rows[0][3].startswith("f%d = " % np.argmax(z))


def test_evaluate_report_has_every_detector(tmp_path):
    report = tmp_path / "evaluate.html"
    p = run("evaluate", "--label", "label", "--detectors", "zscore,iforest,gbt",
            "--report", report, WBC)
    assert "zscore" in p.stdout  # the table is still printed
    root, _ = parse(report)
    names = [tr.find("td").text for tr in root.find(".//table[@id='metrics']").iter("tr")
             if tr.find("td") is not None]
    assert names == ["zscore", "iforest", "gbt"]
    assert [h.text for h in root.iter("h2")][2:] == names
    roc = chart(root, "ROC curve")
    assert len(list(roc.iter(SVG + "polyline"))) == 3 + 1  # and the chance line
    assert len([s for s in root.iter(SVG + "svg")
                if s.find(SVG + "title").text == "Scores by label"]) == 3


def test_hostile_column_names_are_escaped(tmp_path):
    hostile = ['a<b>&amp;"q"', "it's </td></table><script>x</script>"]
    rng = np.random.default_rng(0)
    data = tmp_path / "hostile.csv"
    with open(data, "w") as f:
        f.write(",".join('"%s"' % h.replace('"', '""') for h in hostile) + ",label\n")
        for i in range(200):
            f.write("%.6f,%.6f,%d\n" % (rng.normal(), rng.normal(), i % 20 == 0))
    model, report = tmp_path / "m.anoma", tmp_path / "r.html"
    run("train", "--detector", "zscore", "-o", model, data)
    run("report", model, data, "--label", "label", "-o", report)
    root, text = parse(report)
    assert "<script" not in text
    cells = "".join("".join(td.itertext()) for td in root.iter("td"))
    assert any(h in cells for h in hostile)


def test_report_errors_are_named(tmp_path):
    model = tmp_path / "m.anoma"
    run("train", "--detector", "zscore", "-o", model, WBC)
    p = run("report", model, WBC, "-o", tmp_path / "r.html", ok=False)
    assert p.returncode == 2 and "--label" in p.stderr
    p = run("report", model, WBC, "--label", "label", ok=False)
    assert p.returncode == 2 and "-o" in p.stderr
    p = run("report", model, WBC, "--label", "nope", "-o", tmp_path / "r.html", ok=False)
    assert p.returncode == 1 and "nope" in p.stderr
    assert not (tmp_path / "r.html").exists()
    p = run("evaluate", "--label", "label", "--detectors", "zscore", "--report",
            tmp_path, WBC, ok=False)  # a folder: refused by the saving rule
    assert p.returncode == 1 and "report" in p.stderr


def test_million_rows_make_a_small_report(tmp_path):
    n = 1_000_000
    rng = np.random.default_rng(1)
    y = (rng.random(n) < 0.01).astype(int)
    X = rng.normal(size=(n, 2)) + 3 * y[:, None]
    t = 1_600_000_000 + 60 * np.arange(n)
    data = tmp_path / "big.csv"
    with open(data, "w") as f:
        f.write("timestamp,a,b,label\n")
        np.savetxt(f, np.c_[t, X, y], fmt=["%d", "%.5f", "%.5f", "%d"], delimiter=",")
    report = tmp_path / "big.html"
    run("evaluate", "--label", "label", "--detectors", "zscore,mad", "--report", report, data)
    size = os.path.getsize(report)
    assert size < 1_000_000, size  # the full curves alone would be about 2 x 2 x 13 MB
    root, _ = parse(report)
    assert [s.find(SVG + "title").text for s in root.iter(SVG + "svg")][:3] == [
        "ROC curve", "Precision-recall curve", "a over time (flagged by zscore)"]
    drawn, _ = drawn_points(chart(root, "ROC curve"), 0)
    assert 100 < len(drawn) < 4000


def png_size(path):
    with open(path, "rb") as f:
        head = f.read(24)
    assert head[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")


def test_report_renders_in_chromium(wbc_report, tmp_path):
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if not browser:
        pytest.skip("chromium is not installed (Debian package chromium): the report was not "
                    "opened in a browser")
    _, report = wbc_report
    shot = tmp_path / "shot.png"
    args = [browser, "--headless", "--disable-gpu", "--no-first-run", "--hide-scrollbars",
            "--enable-logging=stderr", "--v=0", "--window-size=1200,900",
            "--screenshot=%s" % shot, "file://%s" % report]
    if os.geteuid() == 0:
        args.insert(1, "--no-sandbox")
    p = subprocess.run(args, capture_output=True, text=True, timeout=300,
                       env=dict(os.environ, HOME=str(tmp_path)))
    assert p.returncode == 0, p.stderr[-2000:]
    for bad in ("Uncaught", "ERROR:CONSOLE", "Failed to load resource"):
        assert bad not in p.stderr, p.stderr[-2000:]
    assert png_size(shot) == (1200, 900)
    image = pytest.importorskip("PIL.Image")
    pixels = np.asarray(image.open(shot).convert("RGB"), dtype=np.int16)
    drawn = np.any(np.abs(pixels - 255) > 40, axis=2).mean()
    assert 0.01 < drawn < 0.9, drawn  # text, tables and charts on a white page
    assert len(np.unique(pixels.reshape(-1, 3), axis=0)) > 20  # colours of the curves
