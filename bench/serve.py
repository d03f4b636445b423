#!/usr/bin/python3
"""bench/serve.py: `anoma serve` against the way a Python service serves the
same model: scikit-learn's IsolationForest behind a small Flask app, both on
loopback, both loaded with wrk, in one run. Not a test: nothing asserts a
time.

    bench/serve.py [--seconds S] [--connections 1,8,64] [--cli PATH]

Model: scikit-learn's IsolationForest (100 trees, 256 samples, seed 0) fitted
on 10,000 rows of 8 Gaussian features, exported with anoma.from_sklearn:
the two servers score with the same trees (scores agree to ~1e-15; checked
before timing). Requests: one record per request, and 100 records per
request, as a JSON array of arrays in the model's column order, the same
bytes to both servers. For each payload and each connection count, wrk
(--latency) runs S seconds against each server (2 wrk threads, 1 for one
connection) after a 1 s warm-up and once the server is idle again
(wrk's timeout raised to 60 s, so a slow reply is measured, not dropped): requests per second and the p50 / p99
latency wrk reports, the server process's CPU time per request
(user + system, all its threads, from /proc: unlike wall-clock rates it
does not shrink when other jobs share the machine), wrk's own CPU time per
request (the client side of the same exchange) and the load average when
the cell ended. A closing line sums up p99 at 8 connections with the CPU
each side used and the load. Ratios: anoma's
requests/s over Flask's, Flask's p99 over anoma's, Flask's CPU per request
over anoma's. `anoma serve` runs with its defaults (a worker thread per
processor); Flask with its threaded development server (one thread per
connection), as such services are written and run in the seed systems.
See docs/benchmarks.md.
"""
import argparse
import json
import os
import pickle
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

import numpy as np
import pandas as pd

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

FLASK_APP = '''
import pickle, sys
import numpy as np
from flask import Flask, jsonify, request

with open(sys.argv[1], "rb") as f:
    forest = pickle.load(f)
threshold = -forest.offset_
app = Flask(__name__)


@app.post("/score")
def score():
    X = np.asarray(request.get_json(force=True), dtype=np.float64)
    scores = -forest.score_samples(X)
    return jsonify(results=[{"score": float(s), "is_anomaly": bool(s > threshold)}
                            for s in scores])


@app.get("/healthz")
def healthz():
    return jsonify(status="ok")


app.run(host="127.0.0.1", port=int(sys.argv[2]), threaded=True)
'''

WRK_SCRIPT = '''
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local f = io.open("%s", "rb")
wrk.body = f:read("*a")
f:close()
'''


def free_port():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(url, proc, seconds=120):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit("server exited with status %d" % proc.returncode)
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("server did not start: " + url)


def post(url, body):
    req = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as r:
        return json.load(r)


def seconds_of(text):
    """wrk's '1.23ms' / '456.00us' / '1.02s' in seconds."""
    m = re.match(r"([\d.]+)(us|ms|s|m)$", text)
    value, unit = float(m.group(1)), m.group(2)
    return value * {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}[unit]


def wrk(url, script, connections, seconds):
    threads = 1 if connections == 1 else 2
    # a long timeout: a slow server's latency is measured, not cut at wrk's 2 s
    args = ["wrk", "-t%d" % threads, "-c%d" % connections, "-d%ds" % seconds, "--latency",
            "--timeout", "60s", "-s", script, url]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run(args, capture_output=True, text=True, timeout=seconds + 120).stdout
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    client_cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    pct = dict(re.findall(r"^\s+(50|99)%\s+(\S+)", out, re.M))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(r"Socket errors: (.*)", out)
    return {"rps": rps, "p50": seconds_of(pct["50"]), "p99": seconds_of(pct["99"]),
            "client_cpu": client_cpu, "load": os.getloadavg()[0],
            "non2xx": int(errors.group(1)) if errors else 0,
            "socket_errors": socket_errors.group(1) if socket_errors else ""}


def cpu_seconds(pid):
    """User + system CPU time of a process (all its threads) so far."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def drain(pid, limit=300):
    """Wait until the server has worked off what wrk left queued (its CPU
    use falls idle), so one cell's backlog never lands in the next."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        before = cpu_seconds(pid)
        time.sleep(0.5)
        if cpu_seconds(pid) - before < 0.02:
            return


def fmt_time(s):
    return "%.0f µs" % (s * 1e6) if s < 1e-3 else "%.2f ms" % (s * 1e3)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=int, default=5)
    ap.add_argument("--connections", default="1,8,64")
    ap.add_argument("--cli", default=os.path.join(ROOT, "build", "examples", "anoma"))
    args = ap.parse_args()
    connections = [int(c) for c in args.connections.split(",")]
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed (Debian package wrk)")
    library = os.path.join(os.path.dirname(os.path.dirname(args.cli)), "lib", "libanoma.so")
    os.environ.setdefault("ANOMA_LIBRARY", library)
    sys.path.insert(0, os.path.join(ROOT, "bindings", "python"))
    import anoma
    from sklearn.ensemble import IsolationForest

    rng = np.random.default_rng(0)
    names = ["f%d" % j for j in range(8)]
    train = pd.DataFrame(rng.standard_normal((10000, 8)), columns=names)
    forest = IsolationForest(n_estimators=100, max_samples=256, random_state=0).fit(train)
    tmp = tempfile.mkdtemp(prefix="anoma-serve-bench-")
    procs = []
    try:
        model_path = os.path.join(tmp, "forest.anoma")
        anoma.from_sklearn(forest).model_.save(model_path)
        with open(os.path.join(tmp, "forest.pkl"), "wb") as f:
            pickle.dump(forest, f)
        with open(os.path.join(tmp, "app.py"), "w") as f:
            f.write(FLASK_APP)

        anoma_port, flask_port = free_port(), free_port()
        logs = [open(os.path.join(tmp, name), "w+") for name in ("anoma.log", "flask.log")]
        procs.append(subprocess.Popen([args.cli, "serve", model_path, "--port", str(anoma_port)],
                                      stdout=subprocess.DEVNULL, stderr=logs[0]))
        procs.append(subprocess.Popen(["/usr/bin/python3", os.path.join(tmp, "app.py"),
                                       os.path.join(tmp, "forest.pkl"), str(flask_port)],
                                      stdout=subprocess.DEVNULL, stderr=logs[1]))
        anoma_url = "http://127.0.0.1:%d" % anoma_port
        flask_url = "http://127.0.0.1:%d" % flask_port
        wait_ready(anoma_url, procs[0])
        wait_ready(flask_url, procs[1])
        targets = {"anoma serve": anoma_url + "/v1/models/forest/score",
                   "Flask + sklearn": flask_url + "/score"}
        pids = {"anoma serve": procs[0].pid, "Flask + sklearn": procs[1].pid}

        payloads = {}
        for n in (1, 100):
            rows = rng.standard_normal((n, 8))
            body = json.dumps(rows.tolist()).encode()
            path = os.path.join(tmp, "body%d.json" % n)
            with open(path, "wb") as f:
                f.write(body)
            script = os.path.join(tmp, "post%d.lua" % n)
            with open(script, "w") as f:
                f.write(WRK_SCRIPT % path)
            got = {k: [r["score"] for r in post(u, body)["results"]] for k, u in targets.items()}
            diff = np.max(np.abs(np.subtract(got["anoma serve"], got["Flask + sklearn"])))
            assert diff < 1e-12, diff
            payloads[n] = script

        print("anoma serve vs Flask + scikit-learn IsolationForest (100 trees), loopback, wrk "
              "%d s per cell; %d processors" % (args.seconds, os.cpu_count()))
        print("| records/request | connections | server | requests/s | p50 | p99 |"
              " server CPU/request | wrk CPU/request | load | req/s ratio | p99 ratio |"
              " CPU ratio |")
        print("|---|---|---|---|---|---|---|---|---|---|---|---|")
        at8 = []
        for n, script in payloads.items():
            for c in connections:
                res = {}
                for name, url in targets.items():
                    wrk(url, script, c, 1)  # warm-up
                    drain(pids[name])
                    cpu = cpu_seconds(pids[name])
                    res[name] = r = wrk(url, script, c, args.seconds)
                    served = r["rps"] * args.seconds
                    drain(pids[name])  # the CPU of the replies still owed counts too
                    r["server_cpu"] = cpu_seconds(pids[name]) - cpu
                    r["cpu"] = r["server_cpu"] / served if served else 0
                    r["wrk_cpu"] = r["client_cpu"] / served if served else 0
                a, f = res["anoma serve"], res["Flask + sklearn"]
                for name, r in res.items():
                    extra = ""
                    if r["non2xx"] or r["socket_errors"]:
                        extra = " (non-2xx %d; socket errors %s)" % (r["non2xx"],
                                                                   r["socket_errors"])
                    ratio = name == "anoma serve" and f["rps"] > 0
                    print("| %d | %d | %s | %.0f%s | %s | %s | %s | %s | %.1f | %s | %s | %s |" % (
                        n, c, name, r["rps"], extra, fmt_time(r["p50"]), fmt_time(r["p99"]),
                        fmt_time(r["cpu"]), fmt_time(r["wrk_cpu"]), r["load"],
                        "%.0fx" % (a["rps"] / f["rps"]) if ratio else "",
                        "%.0fx" % (f["p99"] / a["p99"]) if ratio else "",
                        "%.0fx" % (f["cpu"] / a["cpu"]) if ratio else ""))
                if c == 8:
                    at8.append((n, a))
                sys.stdout.flush()
        for n, a in at8:
            print("p99 at 8 connections, %d record(s)/request: anoma serve %s; in the %d s "
                  "cell the server used %.2f s of CPU and wrk %.2f s; load average %.1f"
                  % (n, fmt_time(a["p99"]), args.seconds, a["server_cpu"], a["client_cpu"],
                     a["load"]))
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    p.kill()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
