#!/usr/bin/env python3
"""Loads `forge serve` with wrk on loopback.

Run from the repository root (wrk from Debian's packages: apt-get install wrk):

    cargo build --release -p forge-cli
    python3 benches/scripts/http_load.py [--dir /dev/shm]

Figures:
  * `GET /api/0/big/issues?per_page=50` on a project with 10,000 issues
    with 5 comments each (Pagure's listing embeds every issue's comments):
    wrk with 2 threads and 32 connections for 10 s (requests/s, p99); then
    the same load going through every page of every status in turn.
  * `POST /api/0/big/new_issue` (form body, a token): wrk, 2 threads, 8
    connections, 10 s; each request is one commit in the tickets repository.
  * `POST /api/0/big/pull-request/<N>/comment`: the same load, comments
    spread over 100 pull requests; each request is one commit in the
    requests repository. Then all on one pull request (its folder grows with
    every comment, so each comment costs more than the one before).
  * Both at once: the listing on 30 connections while 2 others post.
  * The web application's issue list page (`GET /big/issues`, 50 issues):
    wrk -t2 -c32 -d10s, pages/s.
  * `git clone` of a 10,000-commit repository over forge's HTTP, against the
    same clone from `git http-backend` behind Python's minimal CGI server
    (http.server's CGIHTTPRequestHandler), alternately.
"""

import json
import os
import re
import subprocess

from timing import bench_main, free_port, run, summary, wait_port


COMMENTS_PER_ISSUE = 5


def issues_stream(n, comments=COMMENTS_PER_ISSUE):
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
        for c in range(comments):
            cid = f"20261123T{c // 60:02}{c % 60:02}00Z000-{i:08x}"
            comment = {
                "author": "alice", "body": f"Comment {c} on issue {i}: " + "more words " * 10,
                "created_at": f"2026-11-23T{c // 60:02}:{c % 60:02}:00Z", "edited_at": None, "editor": None,
                "id": cid, "reactions": {}, "schema": 1,
            }
            text = json.dumps(comment, indent=2, sort_keys=True) + "\n"
            out.append(f"M 100644 inline {i % 100:02}/{i}/comment-{cid}.json\ndata {len(text.encode())}\n{text}\n")
    return "".join(out)


PULLS = 100


def source_stream(branches=PULLS):
    """main with one commit, and `branches` topic branches of one commit each."""
    out = ["commit refs/heads/main\nmark :1\ncommitter alice <alice@example.org> 1790000000 +0000\ndata 5\nbase\n"
           "M 100644 inline README\ndata 6\nhello\n\n"]
    for b in range(branches):
        out.append(f"commit refs/heads/topic-{b}\ncommitter alice <alice@example.org> {1790000100 + b} +0000\n"
                   f"data 6\ntopic\nfrom :1\nM 100644 inline topic-{b}.txt\ndata 6\ntopic\n\n")
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
    run(["git", "--git-dir", os.path.join(home, "repos", "big.git"), "fast-import", "--quiet"],
        stdin=source_stream().encode())
    prs = [json.loads(run([forge, "pr", "new", "-p", "big", "--title", f"Load {b}", "--from", f"topic-{b}", "--json"],
                          env=env))["id"] for b in range(PULLS)]
    token = json.loads(run([forge, "token", "create", "--acl", "issue_create,pull_request_comment", "--json"],
                           env=env))["token"]
    port = free_port()
    server = subprocess.Popen([forge, "serve", "--bind", f"127.0.0.1:{port}"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_port(port)
        url = f"http://127.0.0.1:{port}/api/0/big/issues?per_page=50"
        body = run(["curl", "-s", url]).decode()
        page = json.loads(body)
        # Pagure's total_issues counts the page; forge's total is in pagination.
        print(f"one page: {len(body)} bytes, {len(page['issues'])} issues of {page['pagination']['total']}")
        wrk(["-t2", "-c32", "-d3s", url])  # warm up
        for _ in range(runs):
            rps, p99, bad = wrk(["-t2", "-c32", "-d10s", url])
            print(f"GET issues?per_page=50, 2 threads x 32 connections: {rps:,.0f} requests/s, p99 {p99:.1f} ms, non-2xx {bad}")
        # The web application's issue list page: 50 of the 10,000 issues.
        page_url = f"http://127.0.0.1:{port}/big/issues"
        html = run(["curl", "-s", page_url]).decode()
        print(f"issue list page: {len(html):,} bytes of HTML, {html.count('/big/issue/')} issues linked")
        wrk(["-t2", "-c32", "-d3s", page_url])  # warm up
        for _ in range(runs):
            rps, p99, bad = wrk(["-t2", "-c32", "-d10s", page_url])
            print(f"GET /big/issues (page), 2 threads x 32 connections: {rps:,.0f} pages/s, p99 {p99:.1f} ms, non-2xx {bad}")
        # Every page of every status in turn (450 URLs): no single page
        # answered over and over.
        pages = os.path.join(tmp, "pages.lua")
        with open(pages, "w") as f:
            f.write('counter = 0\n'
                    'request = function()\n'
                    '  counter = counter + 1\n'
                    '  local status = ({"Open", "Closed", "All"})[counter % 3 + 1]\n'
                    '  local page = math.floor(counter / 3) % 150 + 1\n'
                    '  return wrk.format(nil, "/api/0/big/issues?per_page=50&status=" .. status .. "&page=" .. page)\n'
                    'end\n')
        for _ in range(runs):
            rps, p99, bad = wrk(["-t2", "-c32", "-d10s", "-s", pages, url])
            print(f"GET issues, pages 1-150 of Open/Closed/All in turn: {rps:,.0f} requests/s, p99 {p99:.1f} ms, non-2xx {bad}")
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
        lua = os.path.join(tmp, "comments.lua")
        with open(lua, "w") as f:
            f.write('counter = 0\n'
                    f'first = {prs[0]}\n'
                    f'count = {len(prs)}\n'
                    'wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"\n'
                    f'wrk.headers["Authorization"] = "token {token}"\n'
                    'request = function()\n'
                    '  counter = counter + 1\n'
                    '  return wrk.format("POST", "/api/0/big/pull-request/" .. (first + counter % count) .. "/comment",\n'
                    '                    nil, "comment=Looks+good+to+me")\n'
                    'end\n')
        base = f"http://127.0.0.1:{port}/api/0/big/pull-request/{prs[0]}/comment"
        for _ in range(runs):
            rps, p99, bad = wrk(["-t2", "-c8", "-d10s", "-s", lua, base])
            print(f"POST pull-request/<one of {len(prs)}>/comment, 2 threads x 8 connections: {rps:,.0f} requests/s, "
                  f"p99 {p99:.1f} ms, non-2xx {bad}")
        lua = os.path.join(tmp, "comment.lua")
        with open(lua, "w") as f:
            f.write('wrk.method = "POST"\n'
                    'wrk.body = "comment=Looks+good+to+me"\n'
                    'wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"\n'
                    f'wrk.headers["Authorization"] = "token {token}"\n')
        one = f"http://127.0.0.1:{port}/api/0/big/pull-request/{prs[-1]}/comment"
        for _ in range(runs):
            rps, p99, bad = wrk(["-t2", "-c8", "-d10s", "-s", lua, one])
            print(f"POST pull-request/{prs[-1]}/comment (all on one), 2 threads x 8 connections: {rps:,.0f} requests/s, "
                  f"p99 {p99:.1f} ms, non-2xx {bad}")
        lua = os.path.join(tmp, "post.lua")
        # Reads while writes keep changing the index state (every write
        # makes the kept counts, listings and rendered issues of the project
        # stale): one wrk posting on 2 connections, another listing on 30.
        for _ in range(runs):
            writer = subprocess.Popen(["wrk", "--latency", "-t1", "-c2", "-d10s", "-s", lua, post],
                                      stdout=subprocess.PIPE)
            rps, p99, bad = wrk(["-t1", "-c30", "-d10s", url])
            out = writer.communicate()[0].decode()
            posts = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
            print(f"GET issues?per_page=50 on 30 connections while 2 others post: {rps:,.0f} requests/s, "
                  f"p99 {p99:.1f} ms, non-2xx {bad}; posts {posts:,.0f}/s")
    finally:
        server.terminate()
        server.wait()
    pagure_write(tmp, os.path.join(home, "tickets", "big.git"), runs)


def page_times(url, n):
    """Seconds to the last byte of `n` GETs of `url` (curl's time_total)."""
    out = []
    for _ in range(n):
        out.append(float(run(["curl", "-s", "-o", "/dev/null", "-w", "%{time_total}", url]).decode()))
    return out


def pages(tmp, forge, runs):
    """The web application's pages: one issue with 200 comments, and the
    weight of the issue list page (HTML, CSS, script, other origins)."""
    home = os.path.join(tmp, "home")
    env = dict(os.environ, FORGE_HOME=home, FORGE_USER="alice")
    run([forge, "init"], env=env)
    run([forge, "user", "add", "alice", "--email", "alice@example.org"], env=env)
    for name, stream in [("long", issues_stream(1, comments=200)), ("list", issues_stream(200))]:
        run([forge, "project", "create", name], env=env)
        run(["git", "--git-dir", os.path.join(home, "tickets", f"{name}.git"), "fast-import", "--quiet"],
            stdin=stream.encode())
        run([forge, "issue", "list", "-p", name, "--limit", "1"], env=env)  # index (untimed)
    # A Rust file just under the highlighting limit (256 KiB), for the file page.
    body = "".join(f"    let value_{i} = compute(\"{i}\", {i}); // step {i}\n" for i in range(4500))
    source = f"fn main() {{\n{body}}}\n"
    assert len(source) < 256 << 10, len(source)
    run(["git", "--git-dir", os.path.join(home, "repos", "long.git"), "fast-import", "--quiet"],
        stdin=(f"commit refs/heads/main\ncommitter alice <alice@example.org> 1790000000 +0000\ndata 4\nbig\n"
               f"M 100644 inline big.rs\ndata {len(source)}\n{source}\n").encode())
    port = free_port()
    server = subprocess.Popen([forge, "serve", "--bind", f"127.0.0.1:{port}"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_port(port)
        base = f"http://127.0.0.1:{port}"
        html = run(["curl", "-s", f"{base}/long/issue/1"]).decode()
        shown = html.count('id="comment-')
        print(f"issue page: {len(html):,} bytes, {shown} comments shown")
        page_times(f"{base}/long/issue/1", 20)  # warm up
        for _ in range(runs):
            print(f"GET /long/issue/1 (200 comments), to the last byte: {summary(page_times(f'{base}/long/issue/1', 200))}")
        blob = f"{base}/long/blob/main/f/big.rs"
        html = run(["curl", "-s", blob]).decode()
        print(f"file page: {len(source):,} bytes of Rust in {source.count(chr(10)):,} lines, "
              f"{html.count('class=' + chr(34) + 'hl-'):,} highlighted tokens")
        for _ in range(runs):
            print(f"GET /long/blob/main/f/big.rs, to the last byte: {summary(page_times(blob, 10))}")
        html = run(["curl", "-s", f"{base}/list/issues"]).decode()
        css = re.search(r'href="(/static/[^"]+\.css)"', html).group(1)
        css_bytes = len(run(["curl", "-s", f"{base}{css}"]))
        scripts = re.findall(r'<script[^>]*src="([^"]+)"', html)
        script_bytes = sum(len(run(["curl", "-s", f"{base}{s}"])) for s in scripts)
        inline = len(re.findall(r"<script(?![^>]*src=)", html))
        elsewhere = [u for u in re.findall(r'(?:src|href)="(https?://[^"]+)"', html)]
        print(f"issue list page (50 issues): {len(html):,} B HTML + {css_bytes:,} B CSS = "
              f"{(len(html) + css_bytes) / 1024:.1f} KiB; script {script_bytes:,} B in {len(scripts)} file(s), "
              f"{inline} inline; links to other origins in src/href: {len(elsewhere)}")
    finally:
        server.terminate()
        server.wait()


def pagure_write(tmp, tickets, runs):
    """The git work Pagure does for one new issue, on the same repository.

    Pagure's `pagure.lib.git._update_git` (run by a Celery worker for each
    issue or comment written) clones the ticket repository into a temporary
    folder, writes the issue's JSON file there, commits, and pushes back.
    The same steps with the git binary, timed, n=`runs` (its Flask and
    SQLAlchemy work comes on top).
    """
    import shutil
    from timing import summary, timed
    # A plain bare copy: forge's hooks on the original would judge the pushes.
    bare = os.path.join(tmp, "pagure-tickets.git")
    run(["git", "clone", "-q", "--bare", tickets, bare])
    tickets = bare
    samples = []
    for n in range(max(runs, 3)):
        clone = os.path.join(tmp, f"pagure-clone-{n}")
        env = dict(os.environ, GIT_AUTHOR_NAME="a", GIT_AUTHOR_EMAIL="a@example.org",
                   GIT_COMMITTER_NAME="a", GIT_COMMITTER_EMAIL="a@example.org")
        script = (f"git clone -q --branch main '{tickets}' '{clone}' && cd '{clone}' && "
                  f"echo '{{\"title\": \"issue {n}\"}}' > new-issue-{n} && git add -A && "
                  f"git commit -qm 'new issue' && git push -q origin HEAD:refs/heads/pagure-{n}")
        samples.append(timed(["sh", "-c", script], env=env))
        shutil.rmtree(clone, ignore_errors=True)
    print(f"Pagure's git work for one issue write (clone, write, commit, push) on the 10,000-issue repository: {summary(samples)}")


CGI_SERVER = """
import http.server, os, sys
class H(http.server.CGIHTTPRequestHandler):
    cgi_directories = ["/cgi-bin"]
    def log_message(self, *args):
        pass
os.chdir(sys.argv[1])
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[2])), H).serve_forever()
"""


def clone(tmp, forge, runs):
    import shutil
    import statistics
    from timing import summary, timed
    from pr import history_stream
    home = os.path.join(tmp, "home")
    env = dict(os.environ, FORGE_HOME=home, FORGE_USER="alice")
    run([forge, "init"], env=env)
    run([forge, "user", "add", "alice", "--email", "alice@example.org"], env=env)
    run([forge, "project", "create", "big"], env=env)
    repo = os.path.join(home, "repos", "big.git")
    print("building a 10,000-commit repository (2,000 files)...")
    run(["git", "--git-dir", repo, "fast-import", "--quiet"], stdin=history_stream(10_000, 2_000, 9_900, 1).encode())
    run(["git", "--git-dir", repo, "gc", "--quiet"])
    # The minimal CGI server: git http-backend as cgi-bin/git, same repository.
    # (Run as root, it runs scripts as `nobody`, who must reach the repository.)
    os.chmod(tmp, 0o755)
    root = os.path.join(tmp, "cgi")
    os.makedirs(os.path.join(root, "cgi-bin"))
    script = os.path.join(root, "cgi-bin", "git")
    with open(script, "w") as f:
        # Python's CGI server runs scripts as `nobody` when started as root,
        # so git must be told the repository (owned by root) is safe.
        f.write(f"#!/bin/sh\nGIT_PROJECT_ROOT='{os.path.dirname(repo)}' GIT_HTTP_EXPORT_ALL=1 "
                "exec git -c safe.directory='*' http-backend\n")
    os.chmod(script, 0o755)
    with open(os.path.join(tmp, "cgi_server.py"), "w") as f:
        f.write(CGI_SERVER)
    forge_port, cgi_port = free_port(), free_port()
    servers = [
        subprocess.Popen([forge, "serve", "--bind", f"127.0.0.1:{forge_port}"], env=env,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),
        subprocess.Popen(["python3", os.path.join(tmp, "cgi_server.py"), root, str(cgi_port)],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),
    ]
    try:
        wait_port(forge_port)
        wait_port(cgi_port)
        urls = [("forge", f"http://127.0.0.1:{forge_port}/big.git"),
                ("cgi", f"http://127.0.0.1:{cgi_port}/cgi-bin/git/big.git")]
        samples = {"forge": [], "cgi": []}
        for n in range(runs):
            for name, url in (urls if n % 2 == 0 else list(reversed(urls))):
                dest = os.path.join(tmp, f"clone-{name}")
                shutil.rmtree(dest, ignore_errors=True)
                samples[name].append(timed(["git", "clone", "-q", "--bare", url, dest]))
        counts = [run(["git", "--git-dir", os.path.join(tmp, f"clone-{n}"), "rev-list", "--count", "--all"]).decode().strip()
                  for n in ("forge", "cgi")]
        if counts[0] != counts[1] or counts[0] == "0":
            raise SystemExit(f"the clones differ: {counts}")
        print(f"both clones have {counts[0]} commits")
        print(f"git clone over forge serve:            {summary(samples['forge'])}")
        print(f"git clone over http-backend + CGI:     {summary(samples['cgi'])}")
        print(f"ratio of medians: {statistics.median(samples['forge']) / statistics.median(samples['cgi']):.2f}x")
    finally:
        for s in servers:
            s.terminate()
            s.wait()


if __name__ == "__main__":
    bench_main([("api", http_api), ("pages", pages), ("clone", clone)], default_runs=3)
