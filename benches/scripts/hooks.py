#!/usr/bin/env python3
"""Times forge's git hooks and the SSH key lookup as processes.

Run from the repository root:

    cargo build --release -p forge-cli
    python3 benches/scripts/hooks.py [--dir /dev/shm]

Figures:
  * post-receive for a push of 1,000 new commits on the default branch
    (activity rows for their authors, magic words in 10 of them, one event):
    `forge hook post-receive` run in the repository as git runs it, after
    `git fast-import` has added the commits (untimed), a fresh batch each time.
  * pre-receive validating a push that changes 200 issue documents (schema,
    known users, the project's priorities): `forge hook pre-receive`.
  * `forge ssh authorized-keys TYPE KEY` with 10,000 registered keys.
"""

import base64
import hashlib
import json
import os
import random
import sqlite3

from timing import bench_main, run, timed, summary


def setup(tmp, forge, users):
    env = dict(os.environ, FORGE_HOME=os.path.join(tmp, "home"), FORGE_USER="alice")
    run([forge, "init"], env=env)
    for u in users:
        run([forge, "user", "add", u, "--email", f"{u}@example.org"], env=env)
    run([forge, "project", "create", "hammer"], env=env)
    return env


def post_receive(tmp, forge, runs):
    users = [f"user{i}" for i in range(20)]
    env = setup(tmp, forge, ["alice"] + users)
    for i in range(10):
        run([forge, "issue", "new", "-p", "hammer", "--title", f"Issue {i}"], env=env)
    repo = os.path.join(tmp, "home", "repos", "hammer.git")
    when = 1_790_000_000
    samples = []
    for r in range(runs):
        old = run(["git", "--git-dir", repo, "rev-parse", "-q", "--verify", "refs/heads/main"], env=env, check=False).decode().strip()
        out = []
        for n in range(1000):
            when += 30
            u = users[n % len(users)]
            msg = f"Change {r}.{n}" + (f"\n\nRelates to #{n % 10 + 1}" if n % 100 == 0 else "")
            data = msg.encode()
            out.append(f"commit refs/heads/main\nauthor {u} <{u}@example.org> {when} +0000\ncommitter {u} <{u}@example.org> {when} +0000\n")
            out.append(f"data {len(data)}\n{msg}\n")
            if n == 0 and old:
                out.append("from refs/heads/main^0\n")
            content = f"{r}.{n}\n".encode()
            out.append(f"M 100644 inline f{n % 50}.txt\ndata {len(content)}\n{content.decode()}\n")
        run(["git", "--git-dir", repo, "fast-import", "--quiet"], stdin="".join(out).encode())
        new = run(["git", "--git-dir", repo, "rev-parse", "refs/heads/main"]).decode().strip()
        line = f"{old or '0' * 40} {new} refs/heads/main\n"
        hook_env = dict(env, FORGE_USER="alice")
        samples.append(timed([forge, "--home", env["FORGE_HOME"], "hook", "post-receive"], env=hook_env, cwd=repo, stdin=line.encode()))
    days = json.loads(run([forge, "activity", "user0", "--json"], env=env))
    print(f"post-receive, 1,000 new commits: {summary(samples)} (user0 has {sum(days.values())} activity rows)")


def pre_receive(tmp, forge, runs):
    env = setup(tmp, forge, ["alice", "bob"])
    run([forge, "project", "settings", "hammer", "--set", "priorities=High,Low"], env=env)
    tickets = os.path.join(tmp, "home", "tickets", "hammer.git")
    # 200 issues written through forge, then one commit that edits all of them.
    out = []
    for n in range(1, 201):
        doc = {
            "assignee": "bob", "author": "alice", "blocks": [], "body": f"Body of {n}", "close_reason": None,
            "closed_at": None, "closed_by": None, "created_at": "2026-11-23T00:00:00Z", "custom_fields": {},
            "depends": [], "milestone": None, "number": n, "priority": "High", "private": False, "schema": 1,
            "status": "open", "tags": ["bug"], "title": f"Issue {n}", "uid": f"{n:032x}",
            "updated_at": "2026-11-23T00:00:00Z", "watchers": ["alice"],
        }
        data = (json.dumps(doc, indent=2, sort_keys=True) + "\n").encode()
        out.append(f"M 100644 inline {n % 100:02}/{n}/issue.json\ndata {len(data)}\n{data.decode()}\n")
    head = "commit refs/heads/main\ncommitter alice <alice@example.org> 1790000000 +0000\ndata 10\n200 edits\n"
    run(["git", "--git-dir", tickets, "fast-import", "--quiet"], stdin=(head + "".join(out)).encode())
    new = run(["git", "--git-dir", tickets, "rev-parse", "refs/heads/main"]).decode().strip()
    line = f"{'0' * 40} {new} refs/heads/main\n"
    hook_env = dict(env, FORGE_USER="alice")
    samples = [timed([forge, "--home", env["FORGE_HOME"], "hook", "pre-receive"], env=hook_env, cwd=tickets, stdin=line.encode()) for _ in range(runs)]
    print(f"pre-receive, 200 changed issue documents: {summary(samples)}")


def ed25519_blob(seed):
    raw = b""
    for part in (b"ssh-ed25519", seed):
        raw += len(part).to_bytes(4, "big") + part
    return base64.b64encode(raw).decode()


def authorized_keys(tmp, forge, runs):
    env = setup(tmp, forge, ["alice"])
    db = sqlite3.connect(os.path.join(tmp, "home", "forge.db"))
    user_id = db.execute("SELECT id FROM users WHERE username = 'alice'").fetchone()[0]
    rows = []
    for i in range(10_000):
        blob = ed25519_blob(random.randbytes(32))
        fp = "SHA256:" + base64.b64encode(hashlib.sha256(base64.b64decode(blob)).digest()).decode().rstrip("=")
        rows.append(("ssh-ed25519", blob, fp, f"key{i}", user_id, None, 0, 0))
    db.executemany(
        "INSERT INTO ssh_keys (key_type, key_blob, fingerprint, comment, user_id, project_id, push, created_at) VALUES (?,?,?,?,?,?,?,?)",
        rows,
    )
    db.commit()
    db.close()
    count = len(json.loads(run([forge, "user", "key", "list", "alice", "--json"], env=env)))
    known, unknown = [], []
    for _ in range(runs):
        blob = random.choice(rows)[1]
        known.append(timed([forge, "ssh", "authorized-keys", "ssh-ed25519", blob], env=env))
        unknown.append(timed([forge, "ssh", "authorized-keys", "ssh-ed25519", ed25519_blob(random.randbytes(32))], env=env))
    print(f"ssh authorized-keys, {count} keys registered, a known key:   {summary(known)}")
    print(f"ssh authorized-keys, {count} keys registered, an unknown key: {summary(unknown)}")


if __name__ == "__main__":
    bench_main([("post", post_receive), ("pre", pre_receive), ("keys", authorized_keys)], default_runs=21)
