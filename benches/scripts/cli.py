#!/usr/bin/env python3
"""Times the `forge` binary as a process, and beside Fossil where it does the same job.

Run from the repository root:

    apt-get install -y fossil          # once, for the side-by-side figure
    cargo build --release -p forge-cli
    FORGE_BENCH_HOME=/tmp/bench-home cargo bench -p forge-benches --bench tickets_load
    python3 benches/scripts/cli.py --big-home /tmp/bench-home

Figures:
  * `forge issue new` against `fossil ticket add` with the same content, run
    alternately in one loop so both see the same machine; medians.
  * `forge issue list --json --tag T --limit 50` on the big home (10,000 issues).
  * `forge reindex -p bench` on the big home (10,000 issues, 50,000 comments),
    warm and with the page cache dropped first (needs root).
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

from timing import timed, summary


def drop_caches():
    try:
        subprocess.run(["sync"], check=True)
        with open("/proc/sys/vm/drop_caches", "w") as f:
            f.write("3\n")
        return True
    except OSError:
        return False


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--forge", default="target/release/forge")
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--big-home", help="forge home made by the tickets_load bench (FORGE_BENCH_HOME)")
    args = parser.parse_args()
    forge = os.path.abspath(args.forge)
    if not os.path.exists(forge):
        sys.exit(f"{forge} is missing: cargo build --release -p forge-cli")

    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, FORGE_HOME=os.path.join(tmp, "home"), FORGE_USER="alice", USER="alice")
        for cmd in (["init"], ["user", "add", "alice", "--email", "alice@example.org"], ["project", "create", "hammer"]):
            timed([forge, *cmd], env=env)
        title, body = "The handle is loose", "It wobbles when I hit nails; the wedge has dried out."
        forge_cmd = [forge, "issue", "new", "-p", "hammer", "--title", title, "--body", body]
        fossil = shutil.which("fossil")
        fossil_cmd = None
        if fossil:
            repo = os.path.join(tmp, "repo.fossil")
            subprocess.run([fossil, "init", repo], env=env, check=True, stdout=subprocess.DEVNULL)
            fossil_cmd = [fossil, "ticket", "add", "title", title, "comment", body, "-q", "-R", repo]
        forge_t, fossil_t = [], []
        for _ in range(args.runs):
            forge_t.append(timed(forge_cmd, env=env))
            if fossil_cmd:
                fossil_t.append(timed(fossil_cmd, env=env))
        print(f"forge issue new:     {summary(forge_t)}")
        if fossil_cmd:
            print(f"fossil ticket add:   {summary(fossil_t)}")
            ratio = statistics.median(forge_t) / statistics.median(fossil_t)
            print(f"forge / fossil (median): {ratio:.2f}")
        else:
            print("fossil not installed: apt-get install -y fossil for the side-by-side figure")

    if args.big_home:
        env = dict(os.environ, FORGE_HOME=args.big_home, FORGE_USER="alice")
        listing = [forge, "issue", "list", "-p", "bench", "--json", "--tag", "tag7", "--limit", "50"]
        timed(listing, env=env)  # bring the index up to date once
        samples = [timed(listing, env=env) for _ in range(args.runs)]
        print(f"forge issue list --json --tag T --limit 50 (10k issues): {summary(samples)}")
        reindex = [forge, "reindex", "-p", "bench"]
        warm = [timed(reindex, env=env) for _ in range(3)]
        print(f"forge reindex -p bench, warm: {summary(warm)}")
        cold = []
        for _ in range(3):
            if not drop_caches():
                print("forge reindex, cold: not measured (cannot write /proc/sys/vm/drop_caches)")
                break
            cold.append(timed(reindex, env=env))
        if cold:
            print(f"forge reindex -p bench, cold page cache: {summary(cold)}")


if __name__ == "__main__":
    main()
