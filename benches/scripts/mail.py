"""E-mail figures (issue 14):

- `forge mail ingest` of a typical reply as a process (a multipart reply of
  a few kilobytes quoting the notification it answers), each run a new
  Message-ID, so that each posts a comment (a git commit and an index
  update), median of N runs;
- the reply-trimming corpus, cases exact (run by `cargo test`).

The reply keys are minted the way forge mints them (a `mail_replies` row
and its HMAC-SHA256 under the home's mail.key, see
forge-notify/src/mail/reply.rs).

    cargo build --release -p forge-cli
    python3 benches/scripts/mail.py [--runs 30] [--dir /dev/shm]
"""

import hashlib
import hmac
import os
import sqlite3
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from timing import bench_main, run, summary, timed  # noqa: E402


def mint(home, user, address, project, number, message_id):
    with open(os.path.join(home, "mail.key"), "rb") as f:
        secret = f.read()
    db = sqlite3.connect(os.path.join(home, "forge.db"))
    cur = db.execute(
        "INSERT INTO mail_replies (user, address, project, kind, item, message_id, created_at) VALUES (?, ?, ?, 'issue', ?, ?, ?)",
        (user, address.lower(), project, number, message_id, int(time.time() * 1000)),
    )
    row = cur.lastrowid
    db.commit()
    parts = ["forge-reply-v1", str(row), user, address.lower(), project, "issue", str(number), message_id]
    mac = hmac.new(secret, b"".join(p.encode() + b"\0" for p in parts), hashlib.sha256).digest()[:16]
    return f"{row}-{mac.hex()}"


REPLY = """From: Bob Builder <bob@example.org>\r
To: reply+{key}@forge.test\r
Subject: Re: [tools/hammer] Loose handle (#1)\r
Message-ID: <{mid}@example.org>\r
In-Reply-To: <issue-1@forge.test>\r
MIME-Version: 1.0\r
Content-Type: multipart/alternative; boundary=b\r
\r
--b\r
Content-Type: text/plain; charset=utf-8\r
Content-Transfer-Encoding: quoted-printable\r
\r
I glued it and it holds now; I will watch it for a week.\r
\r
Thanks,\r
Bob\r
\r
On Tue, 3 Mar 2026 at 10:00, forge <forge@forge.test> wrote:\r
{quoted}\r
--b\r
Content-Type: text/html; charset=utf-8\r
\r
<p>I glued it and it holds now.</p><blockquote>{html}</blockquote>\r
--b--\r
"""


def ingest(tmp, forge, runs):
    home = os.path.join(tmp, "home")
    env = dict(os.environ, FORGE_HOME=home)
    run([forge, "init"], env=env)
    run([forge, "user", "add", "alice", "--email", "alice@example.org"], env=env)
    run([forge, "user", "add", "bob", "--email", "bob@example.org"], env=env)
    run([forge, "--as", "alice", "project", "create", "tools/hammer"], env=env)
    run([forge, "--as", "alice", "issue", "new", "-p", "tools/hammer", "--title", "Loose handle", "--body", "It wobbles."], env=env)
    key = mint(home, "bob", "bob@example.org", "tools/hammer", 1, "issue-1@forge.test")
    quoted = "\r\n".join("> " + "The handle of the hammer wobbles when it strikes. " * 2 for _ in range(30))
    html = "<p>" + "The handle of the hammer wobbles when it strikes. " * 60 + "</p>"
    samples = []
    for i in range(runs):
        message = REPLY.format(key=key, mid=f"bench-{i}-{time.time_ns()}", quoted=quoted, html=html).encode()
        samples.append(timed([forge, "mail", "ingest", "--recipient", f"reply+{key}@forge.test"], env=env, stdin=message))
    size = len(REPLY.format(key=key, mid="x", quoted=quoted, html=html))
    print(f"forge mail ingest, a {size / 1024:.1f} KiB multipart reply posted as a comment: {summary(samples)}")
    shown = run([forge, "--json", "issue", "show", "-p", "tools/hammer", "1"], env=env)
    print(f"comments on the issue after the runs: {shown.decode().count('I glued it')}")


if __name__ == "__main__":
    bench_main([("ingest", ingest)], 30)
