"""Tests of `anoma serve` (examples/anoma/serve): each test starts the server
on an ephemeral loopback port (--port 0; it prints the port it got) and
stops it at the end. Scores are checked against `anoma score` on the same
rows and against numpy where the formula is closed; stream pushes against
the library's stream through the Python bindings; every hostile request
against its documented status, with the server still serving after it.
"""
import csv
import http.client
import io
import json
import os
import select
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request

import numpy as np
import pytest

CLI = os.environ.get("ANOMA_CLI")
if not CLI or not os.path.exists(CLI):
    pytest.skip("ANOMA_CLI is not set to the anoma executable", allow_module_level=True)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
WBC = os.path.join(ROOT, "examples", "data", "wbc.csv")


def run(*args, **kw):
    p = subprocess.run([CLI, *map(str, args)], capture_output=True, text=True, timeout=300, **kw)
    assert p.returncode == 0, p.stderr
    return p


class Server:
    """`anoma serve ARGS --port 0`, answering on self.url until stop()."""

    def __init__(self, *args):
        self.proc = subprocess.Popen([CLI, "serve", *map(str, args), "--port", "0"],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        assert line.startswith("listening on http://127.0.0.1:"), (line, self.stderr())
        self.port = int(line.rsplit(":", 1)[1])
        self.url = "http://127.0.0.1:%d" % self.port

    def stderr(self):
        if self.proc.poll() is None:
            return ""
        return self.proc.stderr.read()

    def request(self, method, path, body=None, headers=None):
        """(status, parsed JSON or text) of one request."""
        data = body if isinstance(body, (bytes, type(None))) else (
            body.encode() if isinstance(body, str) else json.dumps(body).encode())
        req = urllib.request.Request(self.url + path, data=data, method=method,
                                     headers=headers or {})
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                status, text = r.status, r.read().decode()
                ctype = r.headers.get("Content-Type", "")
        except urllib.error.HTTPError as e:
            status, text, ctype = e.code, e.read().decode(), e.headers.get("Content-Type", "")
        return status, json.loads(text) if ctype.startswith("application/json") else text

    def post(self, path, body, **kw):
        return self.request("POST", path, body, **kw)

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def stop(self, sig=signal.SIGTERM):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        code = self.proc.wait(timeout=60)
        self.err = self.proc.stderr.read()
        self.proc.stdout.close()
        self.proc.stderr.close()
        return code


@pytest.fixture
def servers():
    started = []

    def start(*args):
        s = Server(*args)
        started.append(s)
        return s
    yield start
    for s in started:
        if s.proc.poll() is None:
            s.stop()


def load_csv(path):
    with open(path) as f:
        rows = list(csv.DictReader(f))
    return rows


@pytest.fixture(scope="module")
def wbc_models(tmp_path_factory):
    d = tmp_path_factory.mktemp("serve")
    zscore, iforest = d / "z.anoma", d / "forest.anoma"
    # one model without a probability (a default fit learns one)
    run("train", "-d", "zscore", "--model-param", "probability_rows=0", "-o", zscore, WBC)
    run("train", "-d", "iforest", "-p", "seed=3", "--model-param", "threshold=auto", "-o",
        iforest, WBC)
    return zscore, iforest


def score_csv(model, data, *args):
    """`anoma score`'s columns as lists of floats, by header name."""
    out = run("score", model, data, *args).stdout
    rows = list(csv.reader(io.StringIO(out)))
    return rows[0], rows[1:]


# ---- serving basics ------------------------------------------------------------

def test_healthz_and_models(servers, wbc_models):
    zscore, iforest = wbc_models
    s = servers(zscore, "forest=%s" % iforest)
    assert s.get("/healthz") == (200, {"status": "ok", "models": 2, "libanoma": s.get(
        "/healthz")[1]["libanoma"]})
    status, body = s.get("/v1/models")
    assert status == 200
    by_name = {m["name"]: m for m in body["models"]}
    assert set(by_name) == {"z", "forest"}
    header = open(WBC).readline().strip().split(",")
    assert [f["name"] for f in by_name["z"]["features"]] == [h for h in header if h != "label"]
    assert by_name["z"]["detectors"] == ["zscore"]
    assert by_name["forest"]["detectors"] == ["iforest"]
    assert by_name["forest"]["probability"] is True and by_name["z"]["probability"] is False
    assert by_name["z"]["version"] == 1


def test_scores_equal_anoma_score(servers, wbc_models):
    """Objects by name, arrays in order and a CSV body all give the bytes
    `anoma score --proba` writes; zscore also matches numpy's formula."""
    zscore, iforest = wbc_models
    s = servers(zscore, iforest)
    rows = load_csv(WBC)
    names = [n for n in rows[0] if n != "label"]
    records = [{n: float(r[n]) for n in names} for r in rows]
    for name, model in (("z", zscore), ("forest", iforest)):
        header, expected = score_csv(model, WBC, *(["--proba"] if name == "forest" else []))
        status, body = s.post("/v1/models/%s/score" % name, records)
        assert status == 200, body
        got = body["results"]
        assert len(got) == len(rows)
        assert [repr(r["score"]) for r in got] == [repr(float(e[0])) for e in expected]
        assert [int(r["is_anomaly"]) for r in got] == [int(e[1]) for e in expected]
        if name == "forest":
            assert [r["probability"] for r in got] == [float(e[2]) for e in expected]
        arrays = [[r[n] for n in names] for r in records]
        assert s.post("/v1/models/%s/score" % name, arrays)[1]["results"] == got
        text = open(WBC).read()
        assert s.post("/v1/models/%s/score" % name, text,
                      headers={"Content-Type": "text/csv"})[1]["results"] == got
        # one record alone (the row scorer's path), and in an envelope
        for i in range(0, len(records), 23):
            assert s.post("/v1/models/%s/score" % name, records[i])[1]["results"] == [got[i]]
        assert s.post("/v1/models/%s/score" % name,
                      {"records": records[:3]})[1]["results"] == got[:3]
    data = np.loadtxt(WBC, delimiter=",", skiprows=1)[:, :-1]
    mean, std = data.mean(axis=0), data.std(axis=0)
    std[std == 0] = 1
    reference = np.max(np.abs(data - mean) / std, axis=1)
    got = [r["score"] for r in s.post("/v1/models/z/score", records)[1]["results"]]
    np.testing.assert_allclose(got, reference, rtol=1e-12)


def test_explain_equals_anoma_score(servers, wbc_models):
    zscore, _ = wbc_models
    s = servers(zscore)
    rows = load_csv(WBC)[:20]
    names = [n for n in rows[0] if n != "label"]
    records = [{n: float(r[n]) for n in names} for r in rows]
    header, expected = score_csv(zscore, WBC, "--explain", 3)
    for query, body in (("?explain=3", records), ("", {"records": records, "explain": 3})):
        status, got = s.post("/v1/models/z/score" + query, body)
        assert status == 200, got
        for r, e in zip(got["results"], expected):
            assert [(x["feature"], x["contribution"]) for x in r["explain"]] == \
                [(e[2 + 2 * k], float(e[3 + 2 * k])) for k in range(3)]


def write_typed(path, n=300, seed=1):
    """Text, timestamp and number columns; rows planted rare now and then."""
    rng = np.random.default_rng(seed)
    devices = ["ios", "web", "android"]
    with open(path, "w") as f:
        f.write("device,ts,amount\n")
        for i in range(n):
            d = "Mobile, rare" if i % 97 == 5 else devices[i % 3]
            f.write('"%s",2024-03-%02dT%02d:%02d:00Z,%.17g\n'
                    % (d, 1 + i % 28, i % 24, i % 60, rng.normal(50, 5)))


def test_typed_columns_equal_anoma_score(servers, tmp_path):
    """A model with text and timestamp inputs: strings for text, ISO text or
    epoch seconds for timestamps, as `anoma score` reads the file."""
    data = tmp_path / "typed.csv"
    write_typed(data)
    model = tmp_path / "typed.anoma"
    run("train", "--step", "one_hot columns=device", "--step", "time_features column=ts",
        "--step", "standard_scaler", "-d", "zscore", "-o", model, data)
    s = servers(model)
    rows = load_csv(data)
    records = [{"device": r["device"], "ts": r["ts"], "amount": float(r["amount"])}
               for r in rows]
    _, expected = score_csv(model, data)
    status, body = s.post("/v1/models/typed/score", records)
    assert status == 200, body
    assert [r["score"] for r in body["results"]] == [float(e[0]) for e in expected]
    # epoch seconds for the same timestamps
    epoch = [dict(r, ts=int(np.datetime64(r["ts"].rstrip("Z"), "s").astype(np.int64)))
             for r in records]
    assert s.post("/v1/models/typed/score", epoch)[1] == body
    assert s.post("/v1/models/typed/score", data.read_text(),
                  headers={"Content-Type": "text/csv"})[1] == body
    # without a stateful step, one record alone goes through a row scorer
    plain = tmp_path / "plain.anoma"
    run("train", "--step", "one_hot columns=device", "--step", "select drop=ts",
        "--step", "standard_scaler", "-d", "zscore", "-o", plain, data)
    s2 = servers(plain)
    _, expected = score_csv(plain, data)
    for i in range(0, len(records), 37):
        status, one = s2.post("/v1/models/plain/score", records[i])
        assert status == 200, one
        assert one["results"][0]["score"] == float(expected[i][0])
    status, err = s.post("/v1/models/typed/score", [dict(records[0], device=7)])
    assert status == 400 and "'device'" in err["error"] and "text" in err["error"]
    status, err = s.post("/v1/models/typed/score", [dict(records[0], ts="yesterday")])
    assert status == 400 and "'ts'" in err["error"]


# ---- streams -------------------------------------------------------------------

def entity_rows(n=200, seed=4):
    rng = np.random.default_rng(seed)
    users = ["ann", "bo", "cy/the third"]
    out = []
    for i in range(n):
        amount = rng.normal(50, 5) * (6 if i % 37 == 11 else 1)
        out.append((users[(i * 5 + i // 7) % 3], 1000.0 + i, amount, rng.normal(0, 1)))
    return out


WINDOW = "lags=1 rolling=3 stats=mean,std"


def train_window(d, name, window=WINDOW, seed=4):
    """A model of a window step per user, fitted on entity_rows(300, seed)."""
    data = d / ("%s.csv" % name)
    with open(data, "w") as f:
        f.write("user,amount,value\n")
        for u, _, a, v in entity_rows(300, seed):
            f.write('"%s",%.17g,%.17g\n' % (u, a, v))
    model = d / ("%s.anoma" % name)
    run("train", "--step", "window entity=user columns=amount,value " + window,
        "--step", "select drop=user", "--step", "imputer", "-d", "zscore", "-o", model, data)
    return model


@pytest.fixture(scope="module")
def window_model(tmp_path_factory):
    return train_window(tmp_path_factory.mktemp("window"), "win")


def library_stream(model, pushes, **options):
    import anoma
    stream = anoma.Stream(anoma.Model.load(str(model)), **options)
    return [stream.push(u, {"user": u, "amount": a, "value": v}, time=t)
            for u, t, a, v in pushes]


def push_all(s, name, pushes):
    out = []
    for u, t, a, v in pushes:
        path = "/v1/models/%s/streams/%s" % (name, urllib.request.quote(u, safe=""))
        status, body = s.post(path, {"record": {"user": u, "amount": a, "value": v},
                                     "time": t})
        assert status == 200, body
        assert body["entity"] == u
        out.append(body)
    return out


def test_stream_pushes_equal_library_stream(servers, window_model):
    pushes = entity_rows()
    expected = library_stream(window_model, pushes)
    s = servers(window_model)
    got = push_all(s, "win", pushes)
    assert [g["score"] for g in got] == [e.score for e in expected]
    assert [g["is_anomaly"] for g in got] == [bool(e.is_anomaly) for e in expected]
    opened = [e for g in got for e in g["events"] if e["kind"] == "open"]
    assert opened, "the planted amounts open alerts"
    status, text = s.get("/metrics")
    assert 'anoma_stream_entities{model="win"} 3' in text
    assert 'anoma_stream_pushes_total{model="win"} %d' % len(pushes) in text


def test_stream_state_dir_survives_restart(servers, window_model, tmp_path):
    """Half the pushes, SIGTERM (the state saved), a new server restores it:
    the second half scores as one uninterrupted library stream does."""
    pushes = entity_rows()
    expected = library_stream(window_model, pushes)
    state = tmp_path / "state"
    state.mkdir()
    s = servers(window_model, "--state-dir", state)
    first = push_all(s, "win", pushes[:100])
    assert s.stop() == 0
    assert (state / "win.state").exists()
    s = servers(window_model, "--state-dir", state)
    second = push_all(s, "win", pushes[100:])
    assert [g["score"] for g in first + second] == [e.score for e in expected]


# ---- limits and hostile input ------------------------------------------------

def raw_request(port, data, timeout=10):
    """Send raw bytes; the reply's status line and body (b'' if closed)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as c:
        c.sendall(data)
        chunks = []
        try:
            while True:
                b = c.recv(65536)
                if not b:
                    break
                chunks.append(b)
        except (ConnectionResetError, socket.timeout):
            pass
    return b"".join(chunks)


def test_hostile_requests_get_their_status(servers, wbc_models):
    zscore, _ = wbc_models
    s = servers(zscore, "--max-body", 4096, "--max-rows", 5)
    good = [1, 2, 3, 4, 5, 6, 7, 8, 9]
    cases = [
        ("POST", "/v1/models/z/score", "{\"f0\": 1", 400, "malformed JSON"),
        ("POST", "/v1/models/z/score", "[1, 2] garbage", 400, "malformed JSON"),
        ("POST", "/v1/models/z/score", "[" * 100 + "]" * 100, 400, "nesting"),
        ("POST", "/v1/models/z/score", "", 400, "JSON"),
        ("POST", "/v1/models/z/score", "\"text\"", 400, "record 0"),
        ("POST", "/v1/models/z/score", {"f0": 1}, 400, "'f1'"),
        ("POST", "/v1/models/z/score", [1, 2, 3], 400, "3 values"),
        ("POST", "/v1/models/z/score", {"f%d" % j: "x" for j in range(9)}, 400, "'f0'"),
        ("POST", "/v1/models/z/score", {"records": [good], "extra": 1}, 400, "extra"),
        ("POST", "/v1/models/z/score", {"records": [good], "explain": 0}, 400, "explain"),
        ("POST", "/v1/models/z/score?explain=-1", [good], 400, "explain"),
        ("POST", "/v1/models/z/score", [good] * 6, 413, "--max-rows"),
        ("POST", "/v1/models/z/score", [good] * 300, 413, "--max-body"),
        ("POST", "/v1/models/z/score", "f0,f1\n1,2\n", 400, None),
        ("POST", "/v1/models/nope/score", [good], 404, "'nope'"),
        ("POST", "/v1/models/../../etc/passwd/score", [good], 404, None),
        ("GET", "/etc/passwd", None, 404, "no endpoint"),
        ("GET", "/v1/models/z/score", None, 405, "GET"),
        ("POST", "/healthz", "{}", 405, "POST"),
        ("POST", "/v1/models/z/streams/" + "k" * 300, good, 400, "entity key"),
        ("POST", "/v1/models/z/streams/u", [good, good], 400, "one record"),
        ("POST", "/v1/models/z/streams/u", {"record": good, "time": "noon"}, 400, "time"),
    ]
    for method, path, body, status, words in cases:
        got, reply = s.request(method, path, body)
        assert got == status, (path, body if not isinstance(body, list) else "list", reply)
        assert isinstance(reply, dict) and reply["status"] == status, reply
        if words:
            assert words in reply["error"], (words, reply)
    status, reply = s.post("/v1/models/z/score", "f0,f1\n1,2\n",
                           headers={"Content-Type": "text/csv"})
    assert status == 400 and "'f2'" in reply["error"]
    # a body announced too large is refused before it is read
    reply = raw_request(s.port, b"POST /v1/models/z/score HTTP/1.1\r\nHost: x\r\n"
                        b"Content-Length: 999999999\r\n\r\n")
    assert reply.startswith(b"HTTP/1.1 413"), reply[:100]
    # chunked, with no length announced: cut off at the limit
    chunk = b"[" + b"1," * 3000
    reply = raw_request(s.port, b"POST /v1/models/z/score HTTP/1.1\r\nHost: x\r\n"
                        b"Transfer-Encoding: chunked\r\n\r\n"
                        + b"%x\r\n" % len(chunk) + chunk + b"\r\n0\r\n\r\n")
    assert reply.startswith(b"HTTP/1.1 413"), reply[:100]
    # garbage that is not HTTP
    raw_request(s.port, b"\x00\xff" * 1000 + b"\r\n\r\n")
    # still serving
    status, body = s.post("/v1/models/z/score", [good])
    assert status == 200 and len(body["results"]) == 1
    assert s.proc.poll() is None


def metric_line(s, prefix, wait=3.0):
    """The line of /metrics that starts with prefix ('' when none), waiting up
    to `wait` seconds for it to appear (a close is counted just after it)."""
    deadline = time.monotonic() + wait
    while True:
        status, text = s.get("/metrics")  # a 503 while a closed connection still counts
        lines = [l for l in text.splitlines() if l.startswith(prefix)] if status == 200 else []
        if lines or time.monotonic() > deadline:
            return lines[0] if lines else ""
        time.sleep(0.1)


def test_slow_client_gets_408_and_server_goes_on(servers, wbc_models):
    """A body still arriving after --timeout is answered 408 with a JSON error
    (and its connection closed); an idle connection, or one whose headers
    stall, is closed at --timeout and counted as 408."""
    zscore, _ = wbc_models
    s = servers(zscore, "--timeout", 1)
    body = json.dumps([1, 2, 3, 4, 5, 6, 7, 8, 9]).encode()
    start = time.monotonic()
    reply = b""
    with socket.create_connection(("127.0.0.1", s.port), timeout=10) as c:
        c.sendall(b"POST /v1/models/z/score HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n"
                  % len(body))
        for b in body:  # a byte every 0.2 s: the body is still arriving after 1 s
            c.sendall(bytes([b]))
            if select.select([c], [], [], 0.2)[0]:
                break
        while True:
            chunk = c.recv(65536)
            if not chunk:
                break
            reply += chunk
    assert reply.startswith(b"HTTP/1.1 408"), reply[:200]
    assert time.monotonic() - start < len(body) * 0.2
    head, text = reply.split(b"\r\n\r\n", 1)
    assert b"application/json" in head
    error = json.loads(text)
    assert error["status"] == 408 and "--timeout" in error["error"]
    # a client that sends part of its headers and then nothing is closed
    with socket.create_connection(("127.0.0.1", s.port), timeout=10) as c:
        c.sendall(b"POST /v1/models/z/score HTTP/1.1\r\n")
        start = time.monotonic()
        assert c.recv(100) == b""
        assert time.monotonic() - start < 8
    # and so is one that sends nothing at all
    with socket.create_connection(("127.0.0.1", s.port), timeout=10) as c:
        assert c.recv(100) == b""
    assert s.post("/v1/models/z/score", [1, 2, 3, 4, 5, 6, 7, 8, 9])[0] == 200
    assert metric_line(s, 'anoma_http_requests_total{endpoint="score",status="408"}') \
        .endswith(" 1")
    assert metric_line(s, 'anoma_http_requests_total{endpoint="other",status="408"} 2')


def test_connections_over_the_limit_get_503(servers, wbc_models):
    """With --max-connections 2 held open, a third connection is answered 503
    with Retry-After and a JSON error; once one closes, requests go through."""
    zscore, _ = wbc_models
    s = servers(zscore, "--max-connections", 2, "--threads", 2)
    good = json.dumps([1, 2, 3, 4, 5, 6, 7, 8, 9])
    held = [http.client.HTTPConnection("127.0.0.1", s.port, timeout=10) for _ in range(2)]
    for h in held:  # kept alive after their answer
        h.request("POST", "/v1/models/z/score", body=good)
        r = h.getresponse()
        assert r.status == 200
        r.read()
    refused = 0

    def one_request():
        c = http.client.HTTPConnection("127.0.0.1", s.port, timeout=10)
        try:
            c.request("POST", "/v1/models/z/score", body=good)
            r = c.getresponse()
            return r.status, r.getheader("Retry-After"), r.getheader("Content-Type"), r.read()
        finally:
            c.close()

    status, retry, ctype, text = one_request()
    assert status == 503 and retry == "1" and ctype == "application/json"
    error = json.loads(text)
    assert error["status"] == 503 and "--max-connections" in error["error"]
    refused += 1
    # the held connections still work
    held[1].request("POST", "/v1/models/z/score", body=good)
    r = held[1].getresponse()
    assert r.status == 200
    r.read()
    held[0].close()
    deadline = time.monotonic() + 5
    while True:  # the server sees the close a moment later
        status = one_request()[0]
        if status == 200:
            break
        assert status == 503 and time.monotonic() < deadline
        refused += 1
        time.sleep(0.1)
    held[1].close()
    assert metric_line(s, 'anoma_http_requests_total{endpoint="score",status="503"} %d'
                       % refused)


def test_bearer_token(servers, wbc_models, tmp_path):
    zscore, _ = wbc_models
    token = tmp_path / "token"
    token.write_text("s3cret-token\n")
    s = servers(zscore, "--token-file", token)
    good = [1, 2, 3, 4, 5, 6, 7, 8, 9]
    assert s.get("/healthz")[0] == 200  # liveness needs no token
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "s3cret-token"},
                    {"Authorization": "Bearer s3cret-tokenX"}, {"Authorization": "Bearer s3cret"}):
        status, reply = s.post("/v1/models/z/score", [good], headers=headers)
        assert status == 401 and "token" in reply["error"], headers
        assert s.get("/metrics", headers=headers)[0] == 401
    status, _ = s.post("/v1/models/z/score", [good],
                       headers={"Authorization": "Bearer s3cret-token"})
    assert status == 200


def test_bad_command_lines(tmp_path, wbc_models):
    zscore, _ = wbc_models
    for args, words in ((["--port", "70000", zscore], "--port"),
                        ([], "MODEL"),
                        (["a=%s" % zscore, "a=%s" % zscore], "two models"),
                        (["../x=%s" % zscore], "model name"),
                        (["--bind", "localhost", zscore], "--bind"),
                        (["--state-dir", tmp_path / "none", zscore], "--state-dir"),
                        ([tmp_path / "missing.anoma"], "missing.anoma")):
        p = subprocess.run([CLI, "serve", *map(str, args), "--port", "0"], capture_output=True,
                           text=True, timeout=30)
        assert p.returncode in (1, 2), (args, p.stderr)
        assert words in p.stderr, (words, p.stderr)


# ---- metrics -------------------------------------------------------------------

def test_metrics_count_requests(servers, wbc_models):
    zscore, _ = wbc_models
    s = servers(zscore)
    good = [1, 2, 3, 4, 5, 6, 7, 8, 9]
    for _ in range(3):
        s.post("/v1/models/z/score", [good, good])
    s.post("/v1/models/z/score", "{")
    s.get("/nothing")
    status, text = s.get("/metrics")
    assert status == 200
    lines = dict(line.rsplit(" ", 1) for line in text.splitlines() if not line.startswith("#"))
    assert lines['anoma_http_requests_total{endpoint="score",status="200"}'] == "3"
    assert lines['anoma_http_requests_total{endpoint="score",status="400"}'] == "1"
    assert lines['anoma_http_requests_total{endpoint="other",status="404"}'] == "1"
    assert lines['anoma_http_errors_total{endpoint="score"}'] == "1"
    assert lines['anoma_rows_scored_total{model="z"}'] == "6"
    assert lines['anoma_http_request_duration_seconds_count{endpoint="score"}'] == "4"
    assert lines['anoma_http_request_duration_seconds_bucket{endpoint="score",le="+Inf"}'] == "4"
    assert float(lines['anoma_model_load_seconds{model="z"}']) > 0
    assert lines['anoma_model_reload_failures_total{model="z"}'] == "0"


# ---- the guide's examples ------------------------------------------------------

def guide_blocks(kind):
    import re
    with open(os.path.join(ROOT, "docs", "serve.md")) as f:
        return re.findall(r"```%s\n(.*?)```" % kind, f.read(), re.S)


def test_guide_examples_run(servers, tmp_path):
    """docs/serve.md's Python and curl examples, against a server of the
    wbc model on the port it got (the guide says 8080)."""
    model = tmp_path / "wbc.anoma"
    run("train", "-d", "zscore", "-o", model, WBC)
    s = servers(model)
    blocks = guide_blocks("python")
    assert blocks
    for code in blocks:
        code = code.replace("127.0.0.1:8080", "127.0.0.1:%d" % s.port)
        r = subprocess.run(["/usr/bin/python3", "-c", code], capture_output=True, text=True,
                           timeout=60)
        assert r.returncode == 0, r.stderr
        assert r.stdout.count("\n") == 3, r.stdout
    curl = [b for b in guide_blocks("") if b.startswith("curl ")]
    assert curl
    if subprocess.run(["sh", "-c", "command -v curl"], capture_output=True).returncode != 0:
        return
    for code in curl:
        code = code.replace("127.0.0.1:8080", "127.0.0.1:%d" % s.port)
        r = subprocess.run(["sh", "-c", code], capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        assert len(json.loads(r.stdout)["results"]) == 2


# ---- reload and shutdown -------------------------------------------------------

def test_reload_under_load_loses_nothing(servers, wbc_models, tmp_path):
    """Clients score without pause while the file flips between two models
    and SIGHUP reloads it, once with a broken file: every request answers
    200, and each reply's scores are wholly those of the model its version
    names (never a mix, never a half-loaded model)."""
    zscore, iforest = wbc_models
    served = tmp_path / "m.anoma"
    served.write_bytes(zscore.read_bytes())
    s = servers(served)
    rows = load_csv(WBC)[:4]
    names = [n for n in rows[0] if n != "label"]
    records = [{n: float(r[n]) for n in names} for r in rows]
    expected = {}
    # each model's scores from `anoma score` on the same rows
    data = tmp_path / "rows.csv"
    with open(data, "w") as f:
        f.write(",".join(names) + "\n")
        for r in records:
            f.write(",".join(repr(r[n]) for n in names) + "\n")
    expected["forest"] = [float(e[0]) for e in score_csv(iforest, data)[1]]
    expected["z"] = [float(e[0]) for e in score_csv(zscore, data)[1]]
    replies, failures, stop = [], [], threading.Event()

    def client():
        while not stop.is_set():
            status, body = s.post("/v1/models/m/score", records)
            (replies if status == 200 else failures).append((status, body))
    threads = [threading.Thread(target=client) for _ in range(4)]
    for t in threads:
        t.start()
    def metric(name):
        text = s.get("/metrics")[1]
        return int(text.split('%s{model="m"} ' % name)[1].split()[0])

    def wait_until(done):
        deadline = time.monotonic() + 60
        while not done() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert done()

    order = ["z"]
    for k in range(6):
        nxt = "forest" if order[-1] == "z" else "z"
        tmp = tmp_path / "next.anoma"
        tmp.write_bytes((iforest if nxt == "forest" else zscore).read_bytes())
        os.replace(tmp, served)
        s.proc.send_signal(signal.SIGHUP)
        order.append(nxt)
        # the next file waits for this one's reload, so each version's file is known
        wait_until(lambda: metric("anoma_model_reloads_total") == len(order) - 1)
        time.sleep(0.2)
        if k == 2:  # a broken file: the model loaded before keeps serving
            served.write_bytes(b"not a model")
            s.proc.send_signal(signal.SIGHUP)
            wait_until(lambda: metric("anoma_model_reload_failures_total") == 1)
            time.sleep(0.2)
            tmp.write_bytes((iforest if nxt == "forest" else zscore).read_bytes())
            os.replace(tmp, served)
    stop.set()
    for t in threads:
        t.join()
    assert not failures, failures[:3]
    assert len(replies) > 20
    versions = set()
    for _, body in replies:
        v = body["version"]
        versions.add(v)
        assert [r["score"] for r in body["results"]] == expected[order[v - 1]], v
    assert len(versions) >= 4
    text = s.get("/metrics")[1]
    assert 'anoma_model_reload_failures_total{model="m"} 1' in text
    assert 'anoma_model_reloads_total{model="m"} 6' in text
    assert s.stop() == 0
    assert "reload failed" in s.err


def test_watch_reloads_a_changed_file(servers, wbc_models, tmp_path):
    zscore, iforest = wbc_models
    served = tmp_path / "m.anoma"
    served.write_bytes(zscore.read_bytes())
    s = servers(served, "--watch", 1)
    assert s.get("/v1/models")[1]["models"][0]["detectors"] == ["zscore"]
    tmp = tmp_path / "next.anoma"
    tmp.write_bytes(iforest.read_bytes())
    os.replace(tmp, served)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        model = s.get("/v1/models")[1]["models"][0]
        if model["detectors"] == ["iforest"]:
            break
        time.sleep(0.2)
    assert model["detectors"] == ["iforest"] and model["version"] == 2


def test_reload_keeps_streams_of_the_same_model(servers, window_model, tmp_path):
    """A reload of the same model (the file rewritten) keeps every entity's
    history: the pushes after it score as one uninterrupted stream."""
    served = tmp_path / "win.anoma"
    served.write_bytes(window_model.read_bytes())
    pushes = entity_rows(60)
    expected = library_stream(window_model, pushes)
    s = servers(served)
    first = push_all(s, "win", pushes[:30])
    s.proc.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 10
    while s.get("/v1/models")[1]["models"][0]["version"] != 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    second = push_all(s, "win", pushes[30:])
    assert [g["score"] for g in first + second] == [e.score for e in expected]


def reload_and_wait(s, version):
    s.proc.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 10
    while s.get("/v1/models")[1]["models"][0]["version"] != version:
        assert time.monotonic() < deadline, "no reload"
        time.sleep(0.1)


def test_reload_moves_streams_to_a_retrained_model(servers, window_model, tmp_path):
    """The model retrained on other rows (same columns, same window step): the
    entities move, and the pushes after the reload score as a library stream
    that fed the retrained model every push from the start."""
    retrained = train_window(tmp_path, "again", seed=9)
    served = tmp_path / "win.anoma"
    served.write_bytes(window_model.read_bytes())
    pushes = entity_rows(60)
    before = library_stream(window_model, pushes[:30])
    after = library_stream(retrained, pushes)[30:]
    assert [e.score for e in after] != [e.score for e in library_stream(window_model, pushes)[30:]]
    s = servers(served)
    first = push_all(s, "win", pushes[:30])
    served.write_bytes(retrained.read_bytes())
    reload_and_wait(s, 2)
    second = push_all(s, "win", pushes[30:])
    assert [g["score"] for g in first] == [e.score for e in before]
    assert [g["score"] for g in second] == [e.score for e in after]
    text = s.get("/metrics")[1]
    assert 'anoma_stream_state_resets_total{model="win"} 0' in text
    assert s.stop() == 0
    assert "3 entities moved to the new model" in s.err


def test_reload_with_another_window_starts_streams_afresh(servers, window_model, tmp_path):
    """Other window parameters: the entities' history means something else,
    so they start afresh on the new model (a log line, counted in the
    metrics): the pushes after the reload score as a new stream of them."""
    other = train_window(tmp_path, "other", window="lags=2 rolling=4 stats=mean")
    served = tmp_path / "win.anoma"
    served.write_bytes(window_model.read_bytes())
    pushes = entity_rows(60)
    s = servers(served)
    push_all(s, "win", pushes[:30])
    served.write_bytes(other.read_bytes())
    reload_and_wait(s, 2)
    second = push_all(s, "win", pushes[30:])
    assert [g["score"] for g in second] == [e.score for e in library_stream(other, pushes[30:])]
    text = s.get("/metrics")[1]
    assert 'anoma_stream_state_resets_total{model="win"} 1' in text
    assert 'anoma_stream_entities_reset_total{model="win"} 3' in text
    assert s.stop() == 0
    assert "3 entities start afresh" in s.err


def test_sigterm_finishes_requests_in_flight(servers, wbc_models, tmp_path):
    """A request whose body is half sent when SIGTERM comes is answered; new
    connections are refused; the server exits 0."""
    zscore, _ = wbc_models
    s = servers(zscore)
    body = json.dumps([[1, 2, 3, 4, 5, 6, 7, 8, 9]] * 50).encode()
    c = socket.create_connection(("127.0.0.1", s.port), timeout=10)
    c.sendall(b"POST /v1/models/z/score HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
              b"Content-Length: %d\r\n\r\n" % len(body) + body[:100])
    time.sleep(0.3)
    s.proc.send_signal(signal.SIGTERM)
    time.sleep(0.3)
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", s.port), timeout=2).close()
    c.sendall(body[100:])
    reply = b""
    while True:
        b = c.recv(65536)
        if not b:
            break
        reply += b
    c.close()
    assert reply.startswith(b"HTTP/1.1 200"), reply[:200]
    assert len(json.loads(reply.split(b"\r\n\r\n", 1)[1])["results"]) == 50
    assert s.stop() == 0
