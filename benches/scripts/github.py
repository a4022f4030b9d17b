"""GitHub replication figures (issue 15):

- backfill: `forge mirror sync` of a repository of 10,000 issues with
  50,000 comments (100 a page, as GitHub pages them), served by a local
  server that answers as GitHub's REST API does (Link headers, ETags, 304
  to a matching If-None-Match); issues per second of the whole run
  (labels, milestones, issues, pull requests, comments);
- the same sync again with nothing changed: every page a conditional
  request answered 304; seconds;
- webhook receive: signed `issue_comment` deliveries posted to `forge
  serve`'s `/hooks/github/<project>` at a steady 500 a second for 10 s
  (each its own X-GitHub-Delivery; verify, record, queue), latency p50 /
  p99 / max, with the server's worker (which applies them) running.

    cargo build --release -p forge-cli
    python3 benches/scripts/github.py [--dir /dev/shm] [--only backfill|receive]
"""

import hashlib
import hmac
import http.client
import http.server
import json
import os
import socketserver
import statistics
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from timing import bench_main, free_port, run, wait_port  # noqa: E402

REPO = "octo/hammer"
HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "..", "..", "forge-notify", "tests", "github-webhooks")


def fixture(event, name, key):
    with open(os.path.join(FIXTURES, event, name)) as f:
        return json.load(f)[key]


def iso(seconds):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(1_700_000_000 + seconds))


def build_repository(api, issues, comments_per_issue):
    """The pages of each resource, 100 a page, from GitHub's example objects."""
    issue = fixture("issues", "opened.payload.json", "issue")
    comment = fixture("issue_comment", "created.payload.json", "comment")
    label = fixture("label", "created.payload.json", "label")
    milestone = fixture("milestone", "created.payload.json", "milestone")
    all_issues, all_comments = [], []
    for n in range(1, issues + 1):
        i = dict(issue)
        i.update(id=100_000 + n, number=n, title=f"Issue {n}", created_at=iso(n), updated_at=iso(n + 5),
                 url=f"{api}/repos/{REPO}/issues/{n}")
        all_issues.append(i)
        for k in range(comments_per_issue):
            c = dict(comment)
            cid = 1_000_000 + n * 10 + k
            c.update(id=cid, body=f"Comment {k} on issue {n}", created_at=iso(n * 10 + k), updated_at=iso(n * 10 + k),
                     issue_url=f"{api}/repos/{REPO}/issues/{n}",
                     html_url=f"https://github.com/{REPO}/issues/{n}#issuecomment-{cid}")
            all_comments.append(c)

    def pages(items):
        out = [json.dumps(items[i:i + 100]).encode() for i in range(0, len(items), 100)]
        return out or [b"[]"]

    return {
        "labels": pages([label]),
        "milestones": pages([milestone]),
        "issues": pages(all_issues),
        "pulls": pages([]),
        "issues/comments": pages(all_comments),
        "pulls/comments": pages([]),
    }


def serve_github(port, resources, counts):
    """A threaded loopback server on `port` answering as GitHub's REST API;
    returns (server, api URL). `counts` tallies 200s and 304s."""
    api = f"http://127.0.0.1:{port}"

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def answer(self, status, body=b"", headers=()):
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            for k, v in headers:
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            path, _, query = self.path.partition("?")
            params = dict(kv.split("=", 1) for kv in query.split("&") if "=" in kv)
            page = int(params.get("page", "1"))
            if path == f"/repos/{REPO}":
                return self.answer(200, json.dumps({"full_name": REPO, "clone_url": f"{api}/none.git"}).encode())
            resource = path.removeprefix(f"/repos/{REPO}/")
            if resource not in resources:
                return self.answer(404, b'{"message": "Not Found"}')
            bodies = resources[resource]
            body = bodies[page - 1] if page <= len(bodies) else b"[]"
            tag = '"%s"' % hashlib.sha1(body).hexdigest()
            if self.headers.get("If-None-Match") == tag:
                counts["304"] += 1
                return self.answer(304, b"", [("ETag", tag)])
            counts["200"] += 1
            headers = [("ETag", tag)]
            if page < len(bodies):
                rest = "&".join(f"{k}={v}" for k, v in params.items() if k != "page")
                headers.append(("Link", f'<{api}{path}?{rest}&page={page + 1}>; rel="next", <{api}{path}?{rest}&page={len(bodies)}>; rel="last"'))
            self.answer(200, body, headers)

    class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
        daemon_threads = True

    server = Server(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, api


def home_with_mirror(tmp, forge, api, env):
    home = os.path.join(tmp, "home")
    env.update(FORGE_HOME=home, FORGE_WEBHOOKS_ALLOW_PRIVATE="1")
    run([forge, "init"], env=env)
    run([forge, "user", "add", "alice", "--email", "alice@example.org"], env=env)
    run([forge, "--as", "alice", "project", "create", "tools/hammer"], env=env)
    run([forge, "--as", "alice", "mirror", "github", "add", "-p", "tools/hammer", REPO, "--api-url", api,
         "--secret", "bench-secret", "--no-sync"], env=env)
    return home


def backfill(tmp, forge, runs):
    issues, per_issue = int(os.environ.get("GITHUB_ISSUES", "10000")), 5
    counts = {"200": 0, "304": 0}
    print(f"building {issues} issues with {issues * per_issue} comments ...")
    port = free_port()
    # The pages name the API they came from.
    server, api = serve_github(port, build_repository(f"http://127.0.0.1:{port}", issues, per_issue), counts)
    env = dict(os.environ)
    home_with_mirror(tmp, forge, api, env)
    for attempt in range(1, runs + 1):
        if attempt > 1:
            # A fresh mirror each run.
            run([forge, "--as", "alice", "mirror", "remove", "-p", "tools/hammer"], env=env)
            name = f"tools/hammer{attempt}"
            run([forge, "--as", "alice", "project", "create", name], env=env)
            run([forge, "--as", "alice", "mirror", "github", "add", "-p", name, REPO, "--api-url", api,
                 "--secret", "bench-secret", "--no-sync"], env=env)
        else:
            name = "tools/hammer"
        start = time.perf_counter()
        out = json.loads(run([forge, "--as", "alice", "--json", "mirror", "sync", "-p", name], env=env))
        first = time.perf_counter() - start
        written = out["tally"]["written"]
        counts.update({"200": 0, "304": 0})
        start = time.perf_counter()
        again = json.loads(run([forge, "--as", "alice", "--json", "mirror", "sync", "-p", name], env=env))
        second = time.perf_counter() - start
        print(f"run {attempt}: backfill {first:.2f} s = {issues / first:,.0f} issues/s "
              f"({out['pages']} pages, {written} records written); "
              f"rerun {second:.2f} s ({again['pages']} pages, {again['unchanged']} answered 304, "
              f"{again['tally']['written']} written; server saw {counts['200']} 200s, {counts['304']} 304s)")
    server.shutdown()


def receive(tmp, forge, runs):
    rate, seconds = int(os.environ.get("GITHUB_RATE", "500")), 10
    env = dict(os.environ)
    home_with_mirror(tmp, forge, "http://127.0.0.1:9", env)
    port = free_port()
    serve = subprocess.Popen([forge, "serve", "--bind", f"127.0.0.1:{port}"], env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_port(port)
        with open(os.path.join(FIXTURES, "issue_comment", "created.payload.json")) as f:
            template = json.load(f)
        template["repository"]["full_name"] = REPO
        bodies = []
        for i in range(rate * seconds):
            payload = dict(template)
            payload["comment"] = dict(template["comment"], id=5_000_000 + i, body=f"Delivery {i}")
            bodies.append(json.dumps(payload).encode())
        for attempt in range(1, runs + 1):
            latencies = send_paced(port, bodies, rate, attempt)
            latencies.sort()
            p = lambda q: latencies[min(len(latencies) - 1, int(len(latencies) * q))] * 1000  # noqa: E731
            print(f"run {attempt}: {len(latencies)} deliveries at {rate}/s: p50 {p(0.5):.2f} ms, "
                  f"p99 {p(0.99):.2f} ms, max {latencies[-1] * 1000:.2f} ms")
        # What the worker made of them: every delivery applied.
        start = time.perf_counter()
        while True:
            status = json.loads(run([forge, "--as", "alice", "--json", "mirror", "status", "-p", "tools/hammer"], env=env))
            if status["waiting_deliveries"] == 0 or time.perf_counter() - start > 300:
                break
            time.sleep(0.5)
        print(f"all applied {time.perf_counter() - start:.1f} s after the last run: "
              f"{status['records'].get('comment', 0)} comments replicated, "
              f"{status['waiting_deliveries']} waiting, {status['dead_deliveries']} failed")
    finally:
        serve.terminate()
        serve.wait()


def send_paced(port, bodies, rate, attempt, threads=16):
    """Posts each body at its slot (i / rate s after the start) from
    `threads` connections; returns each request's latency."""
    latencies = []
    lock = threading.Lock()
    start = time.perf_counter() + 0.2

    def worker(k):
        conn = http.client.HTTPConnection("127.0.0.1", port)
        mine = []
        for i in range(k, len(bodies), threads):
            slot = start + i / rate
            delay = slot - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            body = bodies[i]
            sig = "sha256=" + hmac.new(b"bench-secret", body, hashlib.sha256).hexdigest()
            t0 = time.perf_counter()
            conn.request("POST", "/hooks/github/tools/hammer", body=body, headers={
                "Content-Type": "application/json", "X-GitHub-Event": "issue_comment",
                "X-GitHub-Delivery": f"run{attempt}-{i}", "X-Hub-Signature-256": sig})
            answer = conn.getresponse()
            answer.read()
            mine.append(time.perf_counter() - t0)
            if answer.status != 200:
                raise SystemExit(f"delivery {i}: HTTP {answer.status}")
        with lock:
            latencies.extend(mine)

    pool = [threading.Thread(target=worker, args=(k,)) for k in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return latencies


if __name__ == "__main__":
    bench_main([("backfill", backfill), ("receive", receive)], default_runs=2)
