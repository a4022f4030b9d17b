"""Helpers shared by the benchmark scripts: run a command, time it, summarize."""

import statistics
import subprocess
import sys
import time


def run(cmd, env=None, cwd=None, stdin=None, check=True):
    """Runs `cmd`, exits with its stderr if it fails (unless `check` is
    false), returns its stdout."""
    done = subprocess.run(cmd, env=env, cwd=cwd, input=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if check and done.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}: {done.stderr.decode(errors='replace')}")
    return done.stdout


def timed(cmd, env=None, cwd=None, stdin=None):
    """Seconds `cmd` took as a whole process (its output read and dropped)."""
    start = time.perf_counter()
    done = subprocess.run(cmd, env=env, cwd=cwd, input=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}: {done.stderr.decode(errors='replace')}")
    return elapsed


def ms(seconds):
    return f"{seconds * 1000:.1f} ms"


def summary(samples):
    samples = sorted(samples)
    p90 = samples[max(0, int(len(samples) * 0.9) - 1)]
    return f"median {ms(statistics.median(samples))}, p90 {ms(p90)}, n={len(samples)}"


def bench_main(benches, default_runs):
    """Command line of a bench script: `--forge BIN --runs N --only NAME --dir
    DIR`; runs each `(name, fn(tmp, forge, runs))` of `benches` in a fresh
    temporary folder."""
    import argparse
    import os
    import tempfile

    parser = argparse.ArgumentParser()
    parser.add_argument("--forge", default="target/release/forge")
    parser.add_argument("--runs", type=int, default=default_runs)
    parser.add_argument("--only", choices=[name for name, _ in benches])
    parser.add_argument("--dir", help="make the temporary forge homes here (e.g. /dev/shm for tmpfs)")
    args = parser.parse_args()
    forge = os.path.abspath(args.forge)
    if not os.path.exists(forge):
        sys.exit(f"{forge} is missing: cargo build --release -p forge-cli")
    print(run(["git", "--version"]).decode().strip(), "| temporary homes in", args.dir or tempfile.gettempdir())
    for name, bench in benches:
        if args.only in (None, name):
            with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
                bench(tmp, forge, args.runs)
            print()


def free_port():
    """A TCP port on loopback that nothing listens on now."""
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port):
    """Waits until something listens on `port` of loopback (10 s at most)."""
    import socket
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"nothing listens on {port}")
