#!/usr/bin/env python3
"""Record the answers shown in docs/api.md's examples from a real server.

Usage: python3 docs/examples.py [FORGE_BINARY]   (default target/debug/forge)

Each part of the examples (the Pagure endpoints, then forge's own) runs on a
fresh forge home in a temporary folder: users alice (owner of tools/hammer)
and bob (its ticket member), a branch `fix` beside `main`, and the tokens
$TOKEN (alice's, every ACL) and $BOB (bob's). `forge serve` listens on a
free loopback port with FORGE_PUBLIC_URL=http://localhost:8080, every `curl`
block runs in order as written (its URL pointed at that port), and the JSON
block after it is replaced by the answer; a block cut with a `  ...` line
stays cut at the same length.
"""

import json
import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOC = os.path.join(ROOT, "docs", "api.md")
ACLS = (
    "issue_create,issue_comment,issue_change_status,issue_update,issue_assign,"
    "issue_update_milestone,issue_update_custom_fields,issue_subscribe,"
    "pull_request_create,pull_request_comment,pull_request_merge,pull_request_flag,"
    "pull_request_close,pull_request_assign,pull_request_subscribe,pull_request_update,"
    "commit_flag,create_project,fork_project,modify_project"
)


def run(cmd, cwd, env, **kw):
    return subprocess.run(cmd, cwd=cwd, env=env, check=True, capture_output=True, text=True, **kw).stdout


def set_up(forge, home, own_part):
    env = dict(os.environ, FORGE_HOME=os.path.join(home, "home"))
    env.pop("FORGE_USER", None)
    f = lambda *args: run([forge, *args], home, env)
    f("init")
    f("user", "add", "alice", "--email", "alice@example.org", "--full-name", "Alice")
    f("user", "add", "bob", "--email", "bob@example.org")
    f("--as", "alice", "project", "create", "tools/hammer", "--description", "A hammer")
    f("--as", "alice", "project", "member", "add", "tools/hammer", "bob", "--role", "ticket")
    work = os.path.join(home, "work")
    genv = dict(env, GIT_CONFIG_NOSYSTEM="1", HOME=home, FORGE_USER="alice",
                GIT_AUTHOR_NAME="Alice", GIT_AUTHOR_EMAIL="alice@example.org",
                GIT_COMMITTER_NAME="Alice", GIT_COMMITTER_EMAIL="alice@example.org")
    g = lambda *args: run(["git", *args], work, genv)
    os.makedirs(work)
    g("init", "-q", "-b", "main")
    with open(os.path.join(work, "a.txt"), "w") as out:
        out.write("one\n")
    g("add", "a.txt")
    g("commit", "-qm", "Start")
    bare = os.path.join(home, "home", "repos", "tools", "hammer.git")
    g("push", "-q", bare, "main")
    g("checkout", "-q", "-b", "fix")
    with open(os.path.join(work, "a.txt"), "w") as out:
        out.write("ONE\n")
    g("commit", "-qam", "Shout")
    g("push", "-q", bare, "fix")
    if own_part:
        f("--as", "alice", "issue", "new", "-p", "tools/hammer", "--title", "Loose handle")
    token = lambda user, acls: json.loads(f("--as", user, "token", "create", "--acl", acls, "--json"))["token"]
    return env, token("alice", ACLS), token("bob", "issue_comment,pull_request_comment")


def serve(forge, home, env):
    env = dict(env, FORGE_PUBLIC_URL="http://localhost:8080")
    server = subprocess.Popen([forge, "serve", "--bind", "127.0.0.1:0"], cwd=home, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    for line in server.stderr:
        found = re.search(r"on http://(\S+)", line)
        if found:
            return server, found.group(1)
    raise SystemExit("forge serve did not say where it listens")


def record(forge, blocks, own_part):
    """Answers for the curl blocks of one part, in order."""
    with tempfile.TemporaryDirectory() as home:
        env, token, bob = set_up(forge, home, own_part)
        server, addr = serve(forge, home, env)
        try:
            answers = []
            for command in blocks:
                line = command.replace("http://localhost:8080", f"http://{addr}")
                out = run(["bash", "-c", line], home, dict(env, TOKEN=token, BOB=bob))
                text = json.dumps(json.loads(out), indent=2, ensure_ascii=False)
                answers.append(text.replace(f"http://{addr}", "http://localhost:8080"))
            return answers
        finally:
            server.terminate()
            server.wait()


def main():
    forge = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "target", "debug", "forge"))
    doc = open(DOC).read()
    start = doc.index("## Examples")
    own = doc.index("### forge's own endpoints and fields")
    pattern = re.compile(r"```sh\n(curl [^\n]*)\n```\n```json\n(.*?)\n```", re.S)
    parts = [(start, own, False), (own, len(doc), True)]
    out, at = [], 0
    for begin, end, own_part in parts:
        found = list(pattern.finditer(doc, begin, end))
        answers = record(forge, [m.group(1) for m in found], own_part)
        for m, answer in zip(found, answers):
            old = m.group(2).split("\n")
            new = answer.split("\n")
            if old[-1] == "  ..." and len(new) > len(old):
                new = new[: len(old) - 1] + ["  ..."]
            out.append(doc[at:m.start(2)])
            out.append("\n".join(new))
            at = m.end(2)
    out.append(doc[at:])
    open(DOC, "w").write("".join(out))
    print(f"rewrote {DOC}")


if __name__ == "__main__":
    main()
