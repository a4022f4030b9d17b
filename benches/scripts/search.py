"""Search figures (issue 16), on a home of 10,000 issues with 50,000
comments (made by mirroring a local GitHub-shaped server, as github.py
does; every issue tagged `bug`, every body and comment GitHub's example
text):

- `forge reindex -p tools/hammer` (the search rows rebuilt with the rest),
  warm, 3 runs;
- `forge search --json` as a process: a selective query (a phrase and two
  qualifiers) and a broad one (a word every issue has, two qualifiers),
  median of N runs;
- `GET /api/0/search?q=...` under wrk (2 threads, 32 connections, 10 s),
  the selective query and one without words: requests/s and p99.

    apt-get install -y wrk
    cargo build --release -p forge-cli
    python3 benches/scripts/search.py [--runs 20]
"""

import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import github  # noqa: E402
from timing import bench_main, free_port, run, summary, timed, wait_port  # noqa: E402

SELECTIVE = '"issue 4242" is:open label:bug'
BROAD = 'spelled is:open label:bug'
NO_WORDS = 'is:open label:bug author:nobody'


def make_home(tmp, forge):
    issues = int(os.environ.get("SEARCH_ISSUES", "10000"))
    counts = {"200": 0, "304": 0}
    port = free_port()
    server, api = github.serve_github(port, github.build_repository(f"http://127.0.0.1:{port}", issues, 5), counts)
    env = dict(os.environ)
    github.home_with_mirror(tmp, forge, api, env)
    run([forge, "--as", "alice", "mirror", "sync", "-p", "tools/hammer"], env=env)
    server.shutdown()
    return env


def reindex(tmp, forge, runs):
    env = make_home(tmp, forge)
    home = env["FORGE_HOME"]
    cmd = [forge, "reindex", "-p", "tools/hammer"]
    timed(cmd, env=env)
    samples = [timed(cmd, env=env) for _ in range(3)]
    print(f"forge reindex, 10,000 issues + 50,000 comments, with the search index: {summary(samples)}")
    rows = sqlite3.connect(os.path.join(home, "forge.db")).execute("SELECT count(*) FROM search_text").fetchone()[0]
    print(f"search rows after reindex: {rows}")

    for name, q in [("selective", SELECTIVE), ("broad", BROAD)]:
        cmd = [forge, "--json", "search", q]
        out = json.loads(run(cmd, env=env))
        samples = [timed(cmd, env=env) for _ in range(runs)]
        print(f"forge search --json '{q}' ({name}, {len(out)} results): {summary(samples)}")

    if shutil.which("wrk") is None:
        print("wrk is missing (apt-get install -y wrk): the API figure is not measured")
        return
    port = free_port()
    serve = subprocess.Popen([forge, "serve", "--bind", f"127.0.0.1:{port}"], env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_port(port)
        from urllib.parse import quote
        for name, q in [("selective", SELECTIVE), ("no words", NO_WORDS)]:
            url = f"http://127.0.0.1:{port}/api/0/search?q={quote(q)}"
            subprocess.run(["wrk", "-t2", "-c32", "-d3s", url], stdout=subprocess.DEVNULL)
            out = subprocess.run(["wrk", "-t2", "-c32", "-d10s", "--latency", url],
                                 stdout=subprocess.PIPE, text=True).stdout
            rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
            p99 = re.search(r"99%\s+([\d.]+\w+)", out)
            errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
            print(f"GET /api/0/search?q={q} ({name}) under wrk -t2 -c32 -d10s: "
                  f"{float(rps.group(1)):,.0f} requests/s, p99 {p99.group(1) if p99 else '?'}"
                  f"{', non-2xx: ' + errors.group(1) if errors else ''}")
    finally:
        serve.terminate()
        serve.wait()


if __name__ == "__main__":
    bench_main([("search", reindex)], default_runs=20)
