#!/usr/bin/env python3
"""Record a real Pagure's answers to scenario.json into pagure-answers.json,
and the tickets and requests repositories it wrote into tickets/ and
requests/.

Usage: record.py PAGURE_SOURCE_DIR [OUT]

Run it with a Python that has Pagure's requirements, e.g. (Python 3.11; the
recording here used Pagure's commit bee168305d5c of 2026-03-13):

    git clone https://github.com/Pagure/pagure /tmp/pagure
    python3 -m venv /tmp/pagure-venv
    /tmp/pagure-venv/bin/pip install -r /tmp/pagure/requirements.txt mock packaging
    /tmp/pagure-venv/bin/python forge-cli/tests/pagure-compat/record.py /tmp/pagure

It makes a temporary Pagure instance (SQLite, eager Celery tasks, no mail),
creates the scenario's users, projects and tokens through Pagure's own
library, pushes the branches with git, starts Pagure's development server on
a free loopback port and makes every call of the scenario over HTTP.
"""

import datetime
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))

# The roles of scenario.json, as Pagure names its access levels.
ROLES = {"ticket": "ticket", "collaborator": "collaborator", "commit": "commit", "admin": "admin"}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_config(home, port):
    config = os.path.join(home, "pagure.cfg")
    with open(config, "w") as f:
        f.write(
            f"""
DB_URL = 'sqlite:///{home}/pagure.sqlite'
APP_URL = 'http://127.0.0.1:{port}/'
SECRET_KEY = 'recording'
GIT_FOLDER = '{home}/repos'
REQUESTS_FOLDER = '{home}/repos/requests'
TICKETS_FOLDER = '{home}/repos/tickets'
DOCS_FOLDER = '{home}/repos/docs'
REMOTE_GIT_FOLDER = '{home}/remotes'
ATTACHMENTS_FOLDER = '{home}/attachments'
ENABLE_TICKETS = True
ENABLE_DOCS = True
EMAIL_SEND = False
NOGITHOOKS = True
CELERY_CONFIG = {{"task_always_eager": True, "broker_url": "memory://", "result_backend": "cache+memory://"}}
GIT_URL_SSH = 'ssh://git@127.0.0.1/'
GIT_URL_GIT = 'git://127.0.0.1/'
"""
        )
    return config


def git(cwd, *args, env=None):
    full = dict(os.environ)
    full.update(
        GIT_AUTHOR_NAME="Alice Liddell",
        GIT_AUTHOR_EMAIL="alice@example.org",
        GIT_COMMITTER_NAME="Alice Liddell",
        GIT_COMMITTER_EMAIL="alice@example.org",
        GIT_AUTHOR_DATE="2026-01-01T00:00:00Z",
        GIT_COMMITTER_DATE="2026-01-01T00:00:00Z",
    )
    subprocess.run(["git", *args], cwd=cwd, check=True, env=full, capture_output=True)


def push_branches(home, project, bare):
    """One commit per branch on top of the previous branch's files, pushed."""
    work = tempfile.mkdtemp(dir=home)
    git(work, "init", "-q", "-b", "main")
    first = True
    for b in project.get("branches", []):
        branch, files = b["name"], b["files"]
        if not first:
            git(work, "checkout", "-q", "-b", branch)
        for f in files:
            path = os.path.join(work, f["path"])
            with open(path, "w") as out:
                out.write(f["text"])
            git(work, "add", f["path"])
        git(work, "commit", "-q", "-m", f"{branch}: {', '.join(f['path'] for f in files)}")
        # Straight into the bare repository, before any issue or pull
        # request exists: Pagure's hooks have nothing to do yet.
        git(work, "push", "-q", "--receive-pack=git -c core.hooksPath=/dev/null receive-pack", bare, branch)
        first = False
    subprocess.run(["git", "symbolic-ref", "HEAD", "refs/heads/main"], cwd=bare, check=True)


def setup(scenario, home):
    import pagure.config
    import pagure.lib.model as model
    import pagure.lib.query as query
    import pagure.lib.tasks  # noqa: F401  (eager tasks)

    config = pagure.config.reload_config()
    model.create_tables(config["DB_URL"], None, acls=config.get("ACLS", {}))
    session = query.create_session(config["DB_URL"])
    for u in scenario["users"]:
        query.set_up_user(session, u["name"], u["fullname"], u["email"])
    session.commit()
    for p in scenario["projects"]:
        task = query.new_project(
            session,
            user=p["owner"],
            name=p["name"],
            blacklist=[],
            allowed_prefix=[],
            description=p["description"],
        )
        session.commit()
        task.get()
        session.expire_all()
        repo = query.get_authorized_project(session, p["name"])
        for m in p.get("members", []):
            query.add_user_to_project(session, repo, m["user"], p["owner"], access=ROLES[m["role"]])
        repo.priorities = {str(i + 1): name for i, name in enumerate(p.get("priorities", []))}
        if repo.priorities:
            repo.priorities[""] = ""
        repo.milestones = {m: {"date": None, "active": True} for m in p.get("milestones", [])}
        repo.close_status = p.get("close_status", [])
        session.add(repo)
        fields = p.get("custom_fields", [])
        query.set_custom_key_fields(
            session,
            repo,
            [f["name"] for f in fields],
            [f["type"] for f in fields],
            [",".join(f.get("options", [])) for f in fields],
        )
        session.commit()
        push_branches(home, p, os.path.join(config["GIT_FOLDER"], p["name"] + ".git"))
    tokens = {}
    expiry = datetime.date.today() + datetime.timedelta(days=300)
    for user, t in scenario["tokens"].items():
        project = query.get_authorized_project(session, t["project"])
        tokens[user] = query.add_token_to_user(session, project, t["acls"], user, expiry).id
    session.commit()
    tokens["nobody"] = "X" * 64
    return tokens


def call(base, step, tokens, saved):
    def fill(text):
        for k, v in saved.items():
            text = text.replace("{" + k + "}", str(v))
        return text

    url = base + fill(step["path"])
    data = None
    if "form" in step:
        data = urllib.parse.urlencode({k: fill(v) for k, v in step["form"].items()}).encode()
    req = urllib.request.Request(url, data=data, method=step["method"])
    if step.get("as"):
        req.add_header("Authorization", "token " + tokens[step["as"]])
    try:
        with urllib.request.urlopen(req) as r:
            status, body = r.status, r.read()
    except urllib.error.HTTPError as e:
        status, body = e.code, e.read()
    try:
        answer = json.loads(body)
    except ValueError:
        answer = {"not json": body.decode("utf-8", "replace")[:200]}
    for name, pointer in step.get("save", {}).items():
        value = answer
        for part in pointer.strip("/").split("/"):
            value = value[int(part)] if isinstance(value, list) else value[part]
        saved[name] = value
    return status, answer


def main():
    source = os.path.abspath(sys.argv[1])
    out = sys.argv[2] if len(sys.argv) > 2 else os.path.join(HERE, "pagure-answers.json")
    with open(os.path.join(HERE, "scenario.json")) as f:
        scenario = json.load(f)
    home = tempfile.mkdtemp(prefix="pagure-record-")
    port = free_port()
    config = write_config(home, port)
    os.environ["PAGURE_CONFIG"] = config
    sys.path.insert(0, source)
    tokens = setup(scenario, home)
    # Pagure's git hooks (run when it merges) are `#!/usr/bin/env python`
    # scripts that import pagure: give them this Python and the source.
    env = dict(os.environ)
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env["PATH"]
    env["PYTHONPATH"] = source
    server = subprocess.Popen(
        [sys.executable, os.path.join(source, "runserver.py"), "--config", config,
         "--host", "127.0.0.1", "--port", str(port)],
        cwd=source, env=env, stdout=subprocess.DEVNULL, stderr=open(os.path.join(home, "server.log"), "w"),
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(base + "/api/0/version")
                break
            except OSError:
                time.sleep(0.2)
        saved = {}
        answers = []
        for step in scenario["steps"]:
            status, answer = call(base, step, tokens, saved)
            answers.append({"name": step["name"], "status": status, "answer": answer})
            print(f"{status} {step['name']}")
    finally:
        server.terminate()
        server.wait()
    # The tickets and requests repositories Pagure wrote, file by file as
    # they stand at their last commit, for the import tests.
    for kind in ["tickets", "requests"]:
        bare = os.path.join(home, "repos", kind, "hammer.git")
        out_dir = os.path.join(HERE, kind)
        if os.path.isdir(out_dir):
            for old in os.listdir(out_dir):
                os.remove(os.path.join(out_dir, old))
        else:
            os.makedirs(out_dir)
        names = subprocess.run(["git", "ls-tree", "--name-only", "HEAD"], cwd=bare,
                               capture_output=True, text=True, check=True).stdout.split()
        for name in names:
            blob = subprocess.run(["git", "show", "HEAD:" + name], cwd=bare,
                                  capture_output=True, check=True).stdout
            with open(os.path.join(out_dir, name), "wb") as f:
                f.write(blob)
    commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=source, capture_output=True, text=True).stdout.strip()
    record = {"pagure_commit": commit, "base_url": base, "answers": answers}
    with open(out, "w") as f:
        json.dump(record, f, indent=1, sort_keys=True)
        f.write("\n")
    print(f"wrote {out}; Pagure's home and log: {home}")


if __name__ == "__main__":
    main()
