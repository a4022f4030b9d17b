"""E-mail figures (issue 14):

- `forge mail ingest` of a typical reply as a process (a multipart reply of
  a few kilobytes quoting the notification it answers), each run a new
  Message-ID, so that each posts a comment (a git commit and an index
  update), median of N runs;
- notification fan-out: 40 events x 50 members who want every event,
  handed by `forge worker --once` to a local SMTP sink;
- API latency (GET an issue every 20 ms, POST a comment every 200 ms) for
  20 s while quiet, then from the moment a burst of 10,000 events is
  appended until the same `forge serve`'s mail worker has handed the
  20,000 mails it makes of them to that sink;
- the reply-trimming corpus, cases exact (run by `cargo test`).

The sink is postfix's own `smtp-sink` (it answers SMTP and throws the
mail away); with `MAIL_SINK=postfix` it is a whole postfix (smtpd,
cleanup, qmgr) that discards the mail, run as root, so that the figures
can be compared with what a real relay on the same machine costs.
`SINK_PREFIX` is put before smtp-sink's command, e.g. `SINK_PREFIX="chrt
-i 0"` to run it at idle priority, as a relay on another machine would
take no CPU from the server.

The reply keys are minted the way forge mints them (a `mail_replies` row
and its HMAC-SHA256 under the home's mail.key, see
forge-notify/src/mail/reply.rs).

    cargo build --release -p forge-cli
    python3 benches/scripts/mail.py [--runs 30] [--dir /dev/shm]
"""

import hashlib
import hmac
import http.client
import os
import sqlite3
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from timing import bench_main, run, summary, timed  # noqa: E402


SINK = os.environ.get("MAIL_SINK", "smtp-sink")


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




# The daemons of a small postfix, shared with the tests' harness.
POSTFIX_SERVICES = open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                     "forge-cli", "tests", "postfix-services.cf")).read()


def start_sink(tmp):
    """The SMTP sink the mail figures hand mail to, on a loopback port
    (`MAIL_SINK`: `smtp-sink`, the default, or `postfix`); its port and a
    function that stops it, or None (and why) when this machine lacks it."""
    import subprocess
    from timing import free_port, wait_port
    kind = os.environ.get("MAIL_SINK", "smtp-sink")
    if kind == "postfix":
        if os.geteuid() != 0 or not os.path.exists("/usr/sbin/postfix"):
            return None, "needs root and postfix (apt-get install postfix)"
        child, root, port = start_postfix(tmp)

        def stop():
            subprocess.run(["/usr/sbin/postfix", "-c", os.path.join(root, "conf"), "stop"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            child.wait()
        return (port, stop), None
    if kind != "smtp-sink":
        sys.exit(f"MAIL_SINK={kind}: expected smtp-sink or postfix")
    if not os.path.exists("/usr/sbin/smtp-sink"):
        return None, "needs postfix's smtp-sink (apt-get install postfix)"
    port = free_port()
    user = ["-u", "nobody"] if os.geteuid() == 0 else []
    child = subprocess.Popen([*os.environ.get("SINK_PREFIX", "").split(), "/usr/sbin/smtp-sink", *user, f"127.0.0.1:{port}", "256"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_port(port)

    def stop():
        child.terminate()
        child.wait()
    return (port, stop), None


def start_postfix(tmp):
    """A postfix on a loopback port that discards what it takes: Debian's
    postfix, run as root."""
    import subprocess
    from timing import free_port, wait_port
    root = os.path.join(tmp, "postfix")
    for sub in ("conf", "queue", "data"):
        os.makedirs(os.path.join(root, sub))
    os.chmod(tmp, 0o755)
    os.chmod(root, 0o755)
    run(["chown", "postfix:postfix", os.path.join(root, "data")])
    port = free_port()
    with open(os.path.join(root, "conf", "main.cf"), "w") as f:
        f.write(f"""compatibility_level = 3.6
queue_directory = {root}/queue
data_directory = {root}/data
mail_owner = postfix
setgid_group = postdrop
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
myhostname = mx.forge.test
mydestination =
mynetworks = 127.0.0.0/8
relay_domains = example.org
transport_maps = inline:{{example.org=discard:}}
maillog_file = /dev/stdout
smtpd_client_connection_rate_limit = 0
""")
    with open(os.path.join(root, "conf", "master.cf"), "w") as f:
        f.write(f"127.0.0.1:{port} inet n - n - - smtpd\n" + POSTFIX_SERVICES)
    log = open(os.path.join(root, "start.log"), "w")
    child = subprocess.Popen(["/usr/sbin/postfix", "-c", os.path.join(root, "conf"), "start-fg"],
                             stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_port(port)
    except SystemExit:
        log.close()
        sys.exit("postfix did not start: " + open(os.path.join(root, "start.log")).read())
    return child, root, port


def watched_home(tmp, forge, watchers, titles):
    """A home where alice's tools/hammer has `watchers` members who want
    every event, and an issue per title; its environment."""
    home = os.path.join(tmp, "home")
    env = dict(os.environ, FORGE_HOME=home)
    run([forge, "init"], env=env)
    run([forge, "user", "add", "alice", "--email", "alice@example.org"], env=env)
    run([forge, "--as", "alice", "project", "create", "tools/hammer"], env=env)
    for i in range(watchers):
        run([forge, "user", "add", f"w{i}", "--email", f"w{i}@example.org"], env=env)
        run([forge, "--as", "alice", "project", "member", "add", "tools/hammer", f"w{i}", "--role", "ticket"], env=env)
        run([forge, "--as", f"w{i}", "mail", "prefs", "--level", "all"], env=env)
    for title in titles:
        run([forge, "--as", "alice", "issue", "new", "-p", "tools/hammer", "--title", title], env=env)
    return home, env


def mail_to(env, port):
    """`env` with mail on, through the relay on `port`."""
    return dict(env, FORGE_MAIL_RELAY=f"smtp://127.0.0.1:{port}", FORGE_MAIL_FROM="forge <forge@forge.test>",
                FORGE_MAIL_REPLY_DOMAIN="forge.test")


def append_edits(home, events):
    """Appends `events` edits of issue 1 to the log, as one transaction."""
    db = sqlite3.connect(os.path.join(home, "forge.db"), timeout=30)
    created = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    db.executemany(
        "INSERT INTO events (kind, project, actor, issue, fields, created_at) VALUES ('issue.edit', 'tools/hammer', 'alice', 1, '{}', ?)",
        [(created,) for _ in range(events)],
    )
    db.commit()
    db.close()


def fanout(tmp, forge, runs):
    sink, missing = start_sink(tmp)
    if not sink:
        print(f"fanout: {missing}; skipped")
        return
    port, stop = sink
    try:
        watchers = 50
        home, env = watched_home(tmp, forge, watchers, ["Loose handle"])
        mail_env = mail_to(env, port)
        run([forge, "worker", "--once"], env=mail_env)  # the consumer starts at the end of the log
        events = 40
        append_edits(home, events)
        import resource
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        out = run([forge, "worker", "--once"], env=mail_env).decode().strip()
        took = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        mails = events * watchers
        import json
        status = json.loads(run([forge, "queue", "status", "--json"], env=env))
        mail = next(c for c in status if c["consumer"] == "mail")
        left = {k: mail[k] for k in ("pending", "retrying", "running", "dead") if mail[k]}
        if left:
            sys.exit(f"fan-out: not every mail was taken by the sink: {left}")
        print(f"notification fan-out: {events} events x {watchers} members = {mails} mails handed to {SINK} in {took:.2f} s "
              f"= {mails / took:.0f} mails/s; the worker used {cpu:.2f} s of CPU ({out})")
    finally:
        stop()


def api_load(port, token, seconds, stop=None):
    """A steady load on the API for `seconds` (or until `stop` is set):
    every 20 ms a GET of an issue, every 200 ms a comment posted; the
    latencies of each, in s."""
    import urllib.parse
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    gets, posts = [], []
    start = time.perf_counter()
    tick = 0
    while time.perf_counter() - start < seconds and not (stop and stop.is_set()):
        due = start + tick * 0.02
        pause = due - time.perf_counter()
        if pause > 0:
            time.sleep(pause)
        t0 = time.perf_counter()
        if tick % 10 == 9:
            body = urllib.parse.urlencode({"comment": f"load {tick}"})
            conn.request("POST", "/api/0/tools/hammer/issue/2/comment", body,
                         {"Authorization": f"token {token}", "Content-Type": "application/x-www-form-urlencoded"})
            samples = posts
        else:
            conn.request("GET", "/api/0/tools/hammer/issue/1")
            samples = gets
        answer = conn.getresponse()
        answer.read()
        if answer.status != 200:
            sys.exit(f"burst: the API answered {answer.status}")
        samples.append(time.perf_counter() - t0)
        tick += 1
    conn.close()
    return gets, posts


def pct(samples, p):
    samples = sorted(samples)
    return samples[min(len(samples) - 1, int(len(samples) * p))]


# A busy loop at the idle CPU priority (SCHED_IDLE).
SPIN = "import os\nos.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))\nwhile True: pass\n"


def burst(tmp, forge, runs):
    """API latency while the mail worker of the same `forge serve` works
    through a burst of 10,000 events (two members get every one: 20,000
    mails to a local SMTP sink), beside the same while quiet and while
    busy loops take every CPU at idle priority."""
    import json
    import subprocess
    from timing import free_port, wait_port
    sink, missing = start_sink(tmp)
    if not sink:
        print(f"burst: {missing}; skipped")
        return
    smtp, stop_sink = sink
    server = None
    try:
        home, env = watched_home(tmp, forge, 2, ["Loose handle", "Load"])
        token = run([forge, "--as", "alice", "token", "create", "--acl", "issue_comment"], env=env).decode().split()[-1]
        port = free_port()
        server = subprocess.Popen([forge, "serve", "--bind", f"127.0.0.1:{port}"], env=mail_to(env, smtp),
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port(port)
        api_load(port, token, 2)  # warm up
        quiet = api_load(port, token, 20)
        # The control: the same load while busy loops outside forge take
        # every CPU at idle priority, as the mail worker does; the least a
        # burst can cost on this machine.
        spinners = [subprocess.Popen([sys.executable, "-c", SPIN]) for _ in range(os.cpu_count() or 1)]
        try:
            spin = api_load(port, token, 15)
        finally:
            for child in spinners:
                child.kill()
                child.wait()
        events = 10_000
        append_edits(home, events)
        appended = time.perf_counter()
        import threading
        stop = threading.Event()
        busy = []
        load = threading.Thread(target=lambda: busy.extend(api_load(port, token, 3600, stop)))
        load.start()
        while True:
            status = json.loads(run([forge, "queue", "status", "--json"], env=env))
            mail = next(c for c in status if c["consumer"] == "mail")
            if mail["lag_events"] == 0 and mail["pending"] == 0 and mail["running"] == 0:
                break
            if mail["retrying"] or mail["dead"]:
                sys.exit(f"burst: mails failed: {mail}")
            time.sleep(0.2)
        drained = time.perf_counter() - appended
        stop.set()
        load.join()
        for name, (gets, posts) in (("quiet", quiet), ("spin", spin), ("burst", busy)):
            print(f"API {name:5}: GET issue p50 {pct(gets, 0.5) * 1000:.1f} ms, p99 {pct(gets, 0.99) * 1000:.1f} ms (n={len(gets)}); "
                  f"POST comment p50 {pct(posts, 0.5) * 1000:.1f} ms, p90 {pct(posts, 0.9) * 1000:.1f} ms, p99 {pct(posts, 0.99) * 1000:.1f} ms (n={len(posts)})")
        print(f"burst: {events} events ({2 * events} mails) handed to {SINK} {drained:.1f} s after they were appended")
    finally:
        if server:
            server.terminate()
            server.wait()
        stop_sink()


if __name__ == "__main__":
    bench_main([("ingest", ingest), ("fanout", fanout), ("burst", burst)], 30)
