#!/usr/bin/env python3
"""Loads `forge serve` with wrk on loopback.

Run from the repository root (wrk from Debian's packages: apt-get install wrk):

    cargo build --release -p forge-cli
    python3 benches/scripts/http.py [--dir /dev/shm]

Figures:
  * `GET /api/0/big/issues?per_page=50` on a project with 10,000 issues:
    wrk with 2 threads and 32 connections for 10 s (requests/s, p99).
  * `POST /api/0/big/new_issue` (form body, a token): wrk, 2 threads, 8
    connections, 10 s; each request is one commit in the tickets repository.
"""

import json
import os
import re
import socket
import subprocess
import time

from timing import bench_main, run


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def issues_stream(n):
    out = ["commit refs/heads/main\ncommitter alice <alice@example.org> 1790000000 +0000\ndata 6\nissues\n"]
    for i in range(1, n + 1):
        doc = {
            "assignee": None, "author": "alice", "blocks": [], "body": f"Body of issue {i}, " + "words " * 30,
            "close_reason": None, "closed_at": None, "closed_by": None, "created_at": "2026-11-23T00:00:00Z",
            "custom_fields": {}, "depends": [], "milestone": None, "number": i, "priority": None, "private": False,
            "schema": 1, "status": "open" if i % 4 else "closed", "tags": ["bug"] if i % 3 == 0 else [],
            "title": f"Issue number {i}", "uid": f"{i:032x}", "updated_at": "2026-11-23T00:00:00Z", "watchers": ["alice"],
        }
        data = json.dumps(doc, indent=2, sort_keys=True) + "\n"
        out.append(f"M 100644 inline {i % 100:02}/{i}/issue.json\ndata {len(data.encode())}\n{data}\n")
    return "".join(out)


def wrk(args):
    out = run(["wrk", "--latency", *args]).decode()
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[p99.group(2)]
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return rps, float(p99.group(1)) * scale, int(non2xx.group(1)) if non2xx else 0


def http_api(tmp, forge, runs):
    home = os.path.join(tmp, "home")
    env = dict(os.environ, FORGE_HOME=home, FORGE_USER="alice")
    run([forge, "init"], env=env)
    run([forge, "user", "add", "alice", "--email", "alice@example.org"], env=env)
    run([forge, "project", "create", "big"], env=env)
    run(["git", "--git-dir", os.path.join(home, "tickets", "big.git"), "fast-import", "--quiet"], stdin=issues_stream(10_000).encode())
    run([forge, "issue", "list", "-p", "big", "--limit", "1"], env=env)  # index them (untimed)
    token = json.loads(run([forge, "token", "create", "--acl", "issue_create", "--json"], env=env))["token"]
    port = free_port()
    server = subprocess.Popen([forge, "serve", "--bind", f"127.0.0.1:{port}"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
                break
            except OSError:
                time.sleep(0.05)
        url = f"http://127.0.0.1:{port}/api/0/big/issues?per_page=50"
        body = run(["curl", "-s", url]).decode()
        print(f"one page: {len(body)} bytes, {len(json.loads(body)['issues'])} issues of {json.loads(body)['total_issues']}")
        wrk(["-t2", "-c32", "-d3s", url])  # warm up
        for _ in range(runs):
            rps, p99, bad = wrk(["-t2", "-c32", "-d10s", url])
            print(f"GET issues?per_page=50, 2 threads x 32 connections: {rps:,.0f} requests/s, p99 {p99:.1f} ms, non-2xx {bad}")
        lua = os.path.join(tmp, "post.lua")
        with open(lua, "w") as f:
            f.write('wrk.method = "POST"\n'
                    'wrk.body = "title=Load+test&issue_content=Posted+by+wrk"\n'
                    'wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"\n'
                    f'wrk.headers["Authorization"] = "token {token}"\n')
        post = f"http://127.0.0.1:{port}/api/0/big/new_issue"
        for _ in range(runs):
            rps, p99, bad = wrk(["-t2", "-c8", "-d10s", "-s", lua, post])
            print(f"POST new_issue, 2 threads x 8 connections: {rps:,.0f} requests/s, p99 {p99:.1f} ms, non-2xx {bad}")
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    bench_main([("api", http_api)], default_runs=3)
