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
