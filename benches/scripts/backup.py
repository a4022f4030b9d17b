"""Backup figures (issue 16), on the home of search.py (10,000 issues with
50,000 comments, made by mirroring a local GitHub-shaped server) whose
source repository gets a 10,000-commit branch (git fast-import):

- `forge backup create --json --max-rate $BACKUP_MAX_RATE` (MB/s, default
  50 as forge's; 0 unlimited) of that home, N runs (each into a fresh
  folder, removed after);
- `forge backup verify` once (git fsck of every repository included);
- the server's latency under wrk (`GET /api/0/tools/hammer/issues`,
  1 thread, 4 connections, 20 s) without a backup, then while backups run
  back to back: requests/s, p50 and p99 of each.

    apt-get install -y wrk
    cargo build --release -p forge-cli
    python3 benches/scripts/backup.py [--runs 5]
"""

import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import search  # noqa: E402
from timing import bench_main, free_port, run, wait_port  # noqa: E402

COMMITS = 10_000
# `forge backup create --max-rate` (MB/s; 0: unlimited; forge's default 50).
RATE = os.environ.get("BACKUP_MAX_RATE", "50")


def add_history(source):
    """A branch `history` of COMMITS commits (each changes one of 100 files)."""
    lines = []
    for i in range(1, COMMITS + 1):
        body = f"line {i}\n".encode()
        msg = f"change {i}\n".encode()
        lines.append(b"commit refs/heads/history\n")
        lines.append(f"mark :{i}\n".encode())
        lines.append(f"committer Bench <bench@example.org> {1700000000 + i} +0000\n".encode())
        lines.append(f"data {len(msg)}\n".encode() + msg)
        if i > 1:
            lines.append(f"from :{i - 1}\n".encode())
        lines.append(f"M 100644 inline src/file{i % 100}.txt\n".encode())
        lines.append(f"data {len(body)}\n".encode() + body)
    subprocess.run(["git", "--git-dir", source, "fast-import", "--quiet"], input=b"".join(lines), check=True)
    count = run(["git", "--git-dir", source, "rev-list", "--count", "history"]).decode().strip()
    return int(count)


def wrk(url, seconds):
    out = subprocess.run(["wrk", "-t1", "-c4", f"-d{seconds}s", "--latency", url],
                         stdout=subprocess.PIPE, text=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p50 = re.search(r"50%\s+([\d.]+\w+)", out).group(1)
    p99 = re.search(r"99%\s+([\d.]+\w+)", out).group(1)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return f"{rps:,.0f} requests/s, p50 {p50}, p99 {p99}" + (f", non-2xx {errors.group(1)}" if errors else "")


def backup(tmp, forge, runs):
    env = search.make_home(tmp, forge)
    home = env["FORGE_HOME"]
    commits = add_history(os.path.join(home, "repos", "tools", "hammer.git"))
    print(f"home: 10,000 issues + 50,000 comments; source repository with a {commits:,}-commit branch; "
          f"{du(home)} on disk")
    dest = os.path.join(tmp, "backups")
    seconds = []
    for i in range(runs):
        report = json.loads(run([forge, "--json", "backup", "create", "--to", dest, "--max-rate", RATE], env=env))
        seconds.append(report["seconds"])
        if i == runs - 1:
            print(f"last backup: {report['repositories']} repositories, {report['files']:,} files, "
                  f"{report['bytes'] / 1e6:,.1f} MB")
            start = time.perf_counter()
            verified = json.loads(run([forge, "--json", "backup", "verify", report["path"]], env=env))
            print(f"forge backup verify: sound={verified['sound']} in {time.perf_counter() - start:.2f} s")
        shutil.rmtree(report["path"])
    print("forge backup create: " + ", ".join(f"{s:.2f} s" for s in seconds)
          + f" (median {sorted(seconds)[len(seconds) // 2]:.2f} s)")

    if shutil.which("wrk") is None:
        print("wrk is missing (apt-get install -y wrk): the latency figure is not measured")
        return
    port = free_port()
    serve = subprocess.Popen([forge, "serve", "--bind", f"127.0.0.1:{port}", "--no-worker"], env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_port(port)
        url = f"http://127.0.0.1:{port}/api/0/tools/hammer/issues?per_page=20"
        wrk(url, 3)
        print(f"GET /api/0/tools/hammer/issues, wrk -t1 -c4 -d20s, no backup: {wrk(url, 20)}")
        stop = threading.Event()
        made = []

        def backups():
            # Removed after the measurement: removing 90 MB is work too.
            while not stop.is_set():
                report = json.loads(run([forge, "--json", "backup", "create", "--to", dest, "--max-rate", RATE], env=env))
                made.append(report["seconds"])

        worker = threading.Thread(target=backups)
        worker.start()
        during = wrk(url, 20)
        stop.set()
        worker.join()
        shutil.rmtree(dest)
        print(f"the same, backups back to back ({len(made)} made, "
              + ", ".join(f"{s:.2f}" for s in made) + f" s): {during}")
    finally:
        serve.terminate()
        serve.wait()


def du(path):
    out = run(["du", "-sh", path]).decode().split()[0]
    return out


if __name__ == "__main__":
    bench_main([("backup", backup)], default_runs=5)
