#!/usr/bin/env python3
"""Times pull-request commands of the `forge` binary as processes, beside git.

Run from the repository root:

    cargo build --release -p forge-cli
    python3 benches/scripts/pr.py

Figures (each pair is run alternately in one loop, so both see the same machine):
  * Merge analysis after the source branch moved, on a 10,000-commit
    repository (2,000 files in 50 folders, packed by `git gc`) with a
    50-commit pull request: `forge pr refresh` (fetches the
    new head into refs/pull/N/head, lists the commits, analyzes the merge,
    marks outdated comments, commits the request document) against
    `git merge-tree --write-tree main topic` on the same repository.
  * `forge pr list` on a project with 5,000 pull requests, the index warm.
  * `forge pr diff` of a 1,000-file pull request against `git diff base head`
    on the same range, both writing the whole patch to a pipe.
"""

import json
import os
import statistics

import subprocess

from timing import bench_main, free_port, run, timed, ms, summary, wait_port


def fast_import(repo, stream):
    run(["git", "--git-dir", repo, "fast-import", "--quiet"], stdin=stream.encode())


def history_stream(commits, files, branch_at, pr_commits):
    """main: `commits` commits, each changing one of `files` files; topic
    branches off main at commit `branch_at` and adds `pr_commits` commits
    touching files main does not touch after the branch point."""
    out = []
    when = 1_700_000_000
    mark = 0

    def commit(ref, message, changes, parent=None):
        nonlocal mark, when
        mark += 1
        when += 60
        out.append(f"commit {ref}\nmark :{mark}\n")
        out.append(f"author A U Thor <author@example.org> {when} +0000\n")
        out.append(f"committer A U Thor <author@example.org> {when} +0000\n")
        data = message.encode()
        out.append(f"data {len(data)}\n{message}\n")
        if parent:
            out.append(f"from :{parent}\n")
        for path, content in changes:
            data = content.encode()
            out.append(f"M 100644 inline {path}\ndata {len(data)}\n{content}\n")
        return mark

    first = [(f"src/d{i % 50:02}/f{i}.txt", f"file {i}\n" * 20) for i in range(files)]
    commit("refs/heads/main", "Initial tree", first)
    branch_mark = None
    for n in range(1, commits):
        # main only touches the first half of the files after the branch point
        i = (n * 7919) % (files // 2 if n >= branch_at else files)
        commit("refs/heads/main", f"Change {n}", [(f"src/d{i % 50:02}/f{i}.txt", f"file {i} v{n}\n" * 20)])
        if n == branch_at:
            branch_mark = mark
    parent = branch_mark
    for n in range(pr_commits):
        i = files // 2 + (n * 31) % (files // 2)
        parent = commit("refs/heads/topic", f"Topic change {n}", [(f"src/d{i % 50:02}/f{i}.txt", f"topic {i} v{n}\n" * 20)], parent)
    return "".join(out)


def setup_home(tmp, forge):
    env = dict(os.environ, FORGE_HOME=os.path.join(tmp, "home"), FORGE_USER="alice")
    run([forge, "init"], env=env)
    run([forge, "user", "add", "alice", "--email", "alice@example.org"], env=env)
    return env


def merge_analysis(tmp, forge, runs):
    env = setup_home(tmp, forge)
    run([forge, "project", "create", "big"], env=env)
    repo = os.path.join(tmp, "home", "repos", "big.git")
    print("building a 10,000-commit repository (2,000 files) with a 50-commit topic branch...")
    fast_import(repo, history_stream(10_000, 2_000, 9_900, 50))
    # A hosted repository is packed by `git gc` (forge runs `git gc --auto`
    # itself); fast-import's pack is not what a real repository looks like.
    run(["git", "--git-dir", repo, "gc", "--quiet"])
    run([forge, "pr", "new", "-p", "big", "--title", "Topic", "--from", "topic"], env=env)
    count = int(run(["git", "--git-dir", repo, "rev-list", "--count", "main"]).decode())
    pr_count = int(run(["git", "--git-dir", repo, "rev-list", "--count", "main..topic"]).decode())
    print(f"main has {count} commits, the request {pr_count}")
    refresh_t, tree_t = [], []
    for n in range(runs):
        # the source branch moves by one commit (untimed), then both analyze
        stream = (
            f"commit refs/heads/topic\ncommitter A U Thor <author@example.org> {1_800_000_000 + n} +0000\n"
            f"data 9\nMove {n:04}\nfrom refs/heads/topic^0\n"
            f"M 100644 inline src/d00/moved.txt\ndata 6\n{n:05}\n\n"
        )
        fast_import(repo, stream)
        # who goes first alternates, so neither always finds the other's warm cache
        pair = [
            (refresh_t, [forge, "pr", "refresh", "-p", "big", "1"]),
            (tree_t, ["git", "--git-dir", repo, "merge-tree", "--write-tree", "main", "topic"]),
        ]
        for samples, cmd in pair if n % 2 == 0 else reversed(pair):
            samples.append(timed(cmd, env=env))
    status = json.loads(run([forge, "pr", "show", "-p", "big", "1", "--json"], env=env))
    print(f"forge pr refresh:               {summary(refresh_t)} (merge status {status['merge_status']}, {len(status['commits'])} commits)")
    print(f"git merge-tree --write-tree:    {summary(tree_t)}")
    print(f"ratio of medians: {statistics.median(refresh_t) / statistics.median(tree_t):.2f}x")


def request_doc(n):
    now = "2026-11-23T00:00:00Z"
    head = f"{n:040x}"
    doc = {
        "assignee": None, "author": "alice", "base": "0" * 40, "body": f"Request {n}",
        "closed_at": None, "closed_by": None, "commits": [{"id": head, "title": f"Change {n}"}],
        "created_at": now, "flags": {}, "head": head, "linked_issues": [], "merge_commit": None,
        "number": n, "schema": 1, "source": {"branch": f"topic-{n}", "fork": None, "repo": "many", "url": None},
        "status": "open" if n % 3 else "merged", "tags": [], "target": "main", "title": f"Pull request number {n}",
        "uid": f"{n:032x}", "updated_at": now, "votes": {}, "watchers": ["alice"],
    }
    return json.dumps(doc, indent=2, sort_keys=True) + "\n"


def listing(tmp, forge, runs):
    env = setup_home(tmp, forge)
    run([forge, "project", "create", "many"], env=env)
    requests = os.path.join(tmp, "home", "requests", "many.git")
    print("writing 5,000 request documents into the requests repository (one commit)...")
    out = ["commit refs/heads/main\ncommitter A U Thor <alice@example.org> 1700000000 +0000\ndata 14\n5000 requests\n"]
    for n in range(1, 5001):
        data = request_doc(n).encode()
        out.append(f"M 100644 inline {n % 100:02}/{n}/request.json\ndata {len(data)}\n")
        out.append(data.decode() + "\n")
    fast_import(requests, "".join(out))
    first = timed([forge, "pr", "list", "-p", "many"], env=env)
    print(f"first `forge pr list` (indexes 5,000 requests): {ms(first)}")
    shown = len(json.loads(run([forge, "pr", "list", "-p", "many", "--json"], env=env)))
    default_t, all_t = [], []
    for _ in range(runs):
        default_t.append(timed([forge, "pr", "list", "-p", "many"], env=env))
        all_t.append(timed([forge, "pr", "list", "-p", "many", "--status", "all", "--limit", "5000", "--json"], env=env))
    print(f"forge pr list ({shown} shown):                     {summary(default_t)}")
    print(f"forge pr list --status all --limit 5000 --json: {summary(all_t)}")


def big_diff(tmp, forge, runs):
    env = setup_home(tmp, forge)
    run([forge, "project", "create", "wide"], env=env)
    repo = os.path.join(tmp, "home", "repos", "wide.git")
    print("building a 1,000-file pull request...")
    # Rust source, so that the page's syntax highlighting is part of the cost.
    lines = "".join(f"    let line_{i} = \"line {i}\"; // line {i}\n" for i in range(40))
    out = ["commit refs/heads/main\ncommitter A U Thor <a@example.org> 1700000000 +0000\ndata 4\nbase\n"]
    for i in range(1000):
        data = f"fn file_{i}() {{\n{lines}}}\n".encode()
        out.append(f"M 100644 inline src/m{i % 20:02}/f{i}.rs\ndata {len(data)}\n{data.decode()}\n")
    out.append("commit refs/heads/topic\ncommitter A U Thor <a@example.org> 1700000060 +0000\ndata 5\nwide\nfrom refs/heads/main\n")
    for i in range(1000):
        data = f"fn file_{i}() {{\n{lines.replace('line 20', f'line twenty of {i}')}}}\n".encode()
        out.append(f"M 100644 inline src/m{i % 20:02}/f{i}.rs\ndata {len(data)}\n{data.decode()}\n")
    fast_import(repo, "".join(out))
    run([forge, "pr", "new", "-p", "wide", "--title", "Wide", "--from", "topic"], env=env)
    forge_out = run([forge, "pr", "diff", "-p", "wide", "1"], env=env).decode()
    print(f"forge pr diff prints {forge_out.count('diff --git')} file patches")
    forge_t, git_t = [], []
    for _ in range(runs):
        forge_t.append(timed([forge, "pr", "diff", "-p", "wide", "1"], env=env))
        git_t.append(timed(["git", "--git-dir", repo, "diff", "main", "topic"]))
    print(f"forge pr diff (1,000 files): {summary(forge_t)}")
    print(f"git diff main topic:         {summary(git_t)}")
    print(f"ratio of medians: {statistics.median(forge_t) / statistics.median(git_t):.2f}x")
    # The same request's page, with its files changed, from `forge serve`.
    port = free_port()
    server = subprocess.Popen([forge, "serve", "--bind", f"127.0.0.1:{port}"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_port(port)
        url = f"http://127.0.0.1:{port}/wide/pull-request/1"
        html = run(["curl", "-s", url]).decode()
        shown = html.count('class="box file"')
        print(f"pull-request page: {len(html):,} bytes, {shown} files shown")
        times = []
        for _ in range(runs):
            times.append(float(run(["curl", "-s", "-o", "/dev/null", "-w", "%{time_total}", url]).decode()))
        print(f"GET /wide/pull-request/1 (1,000 files), to the last byte: {summary(times)}")
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    bench_main([("merge", merge_analysis), ("list", listing), ("diff", big_diff)], default_runs=30)
