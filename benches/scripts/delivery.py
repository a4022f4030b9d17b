"""Event delivery figures (issue 13), each on a fresh forge home:

- webhooks: `forge worker` delivering to a loopback receiver, first at a
  steady 1,000 events/s appended to the log (event appended -> delivery
  received, p50/p99), then a backlog of 20,000 events at once (deliveries/s);
- sse: 10,000 concurrent streams on one `forge serve` (memory per idle
  stream from the process's RSS, and event appended -> frame read by every
  client, p50/p99);
- queue: `forge queue status` as a process on a log of 1,000,000 events.

Events are appended to the log table directly (what every change's
transaction does), each carrying the time it was appended, so that the
receivers measure the whole way.

    cargo build --release -p forge-cli && cargo build --release -p forge-benches --bin sse_load
    python3 benches/scripts/delivery.py [--only webhooks|sse|queue] [--dir /dev/shm]
"""

import asyncio
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from timing import bench_main, free_port, run, summary, timed, wait_port  # noqa: E402


def now_ms():
    return time.time() * 1000.0


def rfc3339():
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def setup_home(tmp, forge):
    home = os.path.join(tmp, "home")
    env = dict(os.environ, FORGE_HOME=home, FORGE_WEBHOOKS_ALLOW_PRIVATE="1")
    run([forge, "init"], env=env)
    run([forge, "user", "add", "alice", "--email", "alice@example.org"], env=env)
    run([forge, "--as", "alice", "project", "create", "bench"], env=env)
    return home, env


def append(db, n, kind="issue.comment.added"):
    """Appends `n` events to the log in one transaction, each with its time."""
    t = now_ms()
    created = rfc3339()
    db.executemany(
        "INSERT INTO events (kind, project, actor, issue, fields, created_at) VALUES (?, 'bench', 'alice', 1, ?, ?)",
        [(kind, json.dumps({"t": t, "n": i}), created) for i in range(n)],
    )
    db.commit()


def percentile(samples, p):
    samples = sorted(samples)
    return samples[min(len(samples) - 1, int(len(samples) * p))]


def latencies(samples):
    return (
        f"p50 {statistics.median(samples):.1f} ms, p99 {percentile(samples, 0.99):.1f} ms, "
        f"max {max(samples):.1f} ms, n={len(samples)}"
    )


class Receiver:
    """A webhook receiver on a loopback port (asyncio, one thread): answers
    204 to each request and keeps, per webhook-id, the latency from the
    event's append to the request's arrival."""

    def __init__(self):
        self.port = free_port()
        self.seen = {}
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        wait_port(self.port)

    def _run(self):
        asyncio.set_event_loop(self.loop)
        server = self.loop.run_until_complete(asyncio.start_server(self._client, "127.0.0.1", self.port, backlog=1024))
        self.loop.run_until_complete(server.serve_forever())

    async def _client(self, reader, writer):
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length, hook_id = 0, None
                for line in head.split(b"\r\n"):
                    k, _, v = line.partition(b":")
                    k = k.strip().lower()
                    if k == b"content-length":
                        length = int(v)
                    elif k == b"webhook-id":
                        hook_id = v.strip().decode()
                body = await reader.readexactly(length)
                arrived = now_ms()
                t = json.loads(body)["msg"]["t"]
                self.seen.setdefault(hook_id, arrived - t)
                writer.write(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


def webhooks(tmp, forge, runs):
    home, env = setup_home(tmp, forge)
    receiver = Receiver()
    run([forge, "--as", "alice", "webhook", "add", "-p", "bench", f"http://127.0.0.1:{receiver.port}/"], env=env)
    worker = subprocess.Popen([forge, "worker"], env=env, stdout=subprocess.DEVNULL, stderr=open(os.path.join(tmp, "..", "worker.log"), "w"))
    db = sqlite3.connect(os.path.join(home, "forge.db"), timeout=30)
    try:
        for r in range(runs):
            # A steady 1,000 events/s for 10 s, 10 every 10 ms.
            receiver.seen.clear()
            start = time.perf_counter()
            for tick in range(1000):
                append(db, 10)
                pause = start + (tick + 1) * 0.01 - time.perf_counter()
                if pause > 0:
                    time.sleep(pause)
            appended = time.perf_counter() - start
            deadline = time.time() + 60
            while len(receiver.seen) < 10000 and time.time() < deadline:
                time.sleep(0.01)
            print(
                f"webhooks, steady 1,000 events/s for {appended:.1f} s: {len(receiver.seen)} delivered; "
                f"appended -> received {latencies(list(receiver.seen.values()))}"
            )
            # A backlog of 20,000 at once.
            receiver.seen.clear()
            start = time.perf_counter()
            append(db, 20000)
            while len(receiver.seen) < 20000 and time.perf_counter() - start < 300:
                time.sleep(0.005)
            took = time.perf_counter() - start
            print(f"webhooks, backlog of 20,000 events: {len(receiver.seen)} delivered in {took:.2f} s = {len(receiver.seen) / took:.0f} deliveries/s")
    finally:
        worker.terminate()
        worker.wait()


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def sse(tmp, forge, runs):
    client = os.path.join(os.path.dirname(forge), "sse_load")
    if not os.path.exists(client):
        sys.exit(f"{client} is missing: cargo build --release -p forge-benches --bin sse_load")
    home, env = setup_home(tmp, forge)
    port = free_port()
    server = subprocess.Popen(
        [forge, "serve", "--bind", f"127.0.0.1:{port}", "--no-worker"], env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        wait_port(port)
        db = sqlite3.connect(os.path.join(home, "forge.db"), timeout=30)
        n, events = 10000, 5
        for _ in range(runs):
            before = rss_kib(server.pid)
            start = time.perf_counter()
            load = subprocess.Popen([client, f"127.0.0.1:{port}", "bench", str(n), str(events)], stdout=subprocess.PIPE, text=True)
            ready = load.stdout.readline().split()
            opened = time.perf_counter() - start
            time.sleep(2)
            after = rss_kib(server.pid)
            print(
                f"sse: {ready[1]} streams open in {opened:.1f} s; server RSS {before / 1024:.1f} MiB -> {after / 1024:.1f} MiB = "
                f"{(after - before) / n:.1f} KiB per idle stream"
            )
            for _ in range(events):
                append(db, 1)
                time.sleep(1.0)
            delays = json.loads(load.stdout.readline())["delays"]
            load.wait()
            print(f"sse: event appended -> read by each of {n} clients, {events} events: {latencies(delays)}")
            time.sleep(1)
    finally:
        server.terminate()
        server.wait()


def queue(tmp, forge, runs):
    home, env = setup_home(tmp, forge)
    db = sqlite3.connect(os.path.join(home, "forge.db"))
    created = rfc3339()
    for chunk in range(10):
        db.executemany(
            "INSERT INTO events (kind, project, actor, issue, fields, created_at) VALUES ('issue.comment.added', 'bench', 'alice', ?, '{}', ?)",
            [(i % 5000, created) for i in range(100000)],
        )
    now = int(now_ms())
    db.execute("INSERT INTO consumers (name, cursor, updated_at) VALUES ('webhooks', 990000, ?)", (now,))
    jobs = [("webhooks", f"webhook:{i % 20}", i, "{}", "done", 1, now, now) for i in range(1, 100001)]
    jobs += [("webhooks", f"webhook:{i % 20}", i, "{}", "pending", 0, now, now) for i in range(100001, 105001)]
    jobs += [("webhooks", f"webhook:{i % 20}", i, "{}", "dead", 8, now, now) for i in range(105001, 105101)]
    db.executemany(
        "INSERT INTO jobs (consumer, target, event_id, payload, state, attempts, run_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        jobs,
    )
    db.commit()
    db.close()
    print(run([forge, "queue", "status"], env=env).decode().rstrip())
    for args in (["queue", "status"], ["--json", "queue", "status"]):
        samples = [timed([forge] + args, env=env) for _ in range(max(runs, 1) * 10)]
        print(f"forge {' '.join(args)} on 1,000,000 events, 105,100 jobs: {summary(samples)}")


if __name__ == "__main__":
    bench_main([("webhooks", webhooks), ("sse", sse), ("queue", queue)], 1)
