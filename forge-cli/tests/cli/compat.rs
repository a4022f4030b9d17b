//! Pagure compatibility: the calls of `tests/pagure-compat/scenario.json`,
//! made on forge over real HTTP and compared with what a real Pagure answered
//! to the same calls on the same data (`pagure-answers.json`, written by
//! `record.py`). Every key Pagure gives must be in forge's answer, with the
//! same JSON type and, but for what differs by nature between two servers
//! (times, random ids, the port), the same value; forge's extra keys are fine.
//! The differences forge keeps on purpose are listed in [`KEPT`], each with
//! its reason, as docs/api.md lists them.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::http::Server;
use crate::Forge;

/// Keys whose values differ between any two servers: times, random ids,
/// comment ids (Pagure numbers comments across its whole database), the
/// server's version, a merge commit made at another second.
const VOLATILE: &[&str] = &[
    "date_created",
    "last_updated",
    "closed_at",
    "date_modified",
    "date_updated",
    "updated_on",
    "comment_date",
    "edited_on",
    "uid",
    "version",
    "taskid",
];

/// Differences forge keeps, as `(step, path, why)`; docs/api.md says the same.
const KEPT: &[(&str, &str, &str)] = &[
    (
        "one comment",
        "/id",
        "forge's comment numbers come from the comment's id (the same after a reindex and in every clone), not from a database sequence",
    ),
    (
        "issues by tag",
        "/pagination/",
        "forge's page links keep every `tags` value given; Pagure's keep the first only",
    ),
    (
        "private issue hidden",
        "",
        "forge answers 404 for what the caller may not see, never saying whether it exists",
    ),
    (
        "new pull request",
        "/cached_merge_status",
        "forge works out whether a request merges when it is opened or moves; Pagure says `unknown` until someone opens its page",
    ),
    (
        "pull request",
        "/cached_merge_status",
        "the same: forge knows it fast-forwards",
    ),
    (
        "pull requests",
        "/requests/0/cached_merge_status",
        "the same, in the listing",
    ),
    (
        "pr edit",
        "/cached_merge_status",
        "the same, in the answer to an edit",
    ),
    (
        "pull request",
        "/closed_",
        "forge clears who closed a request and when once it is reopened; Pagure keeps them on the open request",
    ),
    (
        "pull requests",
        "/requests/0/closed_",
        "the same, in the listing",
    ),
    (
        "user activity",
        "",
        "forge's activity counts the commits a user pushed (its contribution graph); Pagure's counts every action it logged (issues opened and closed, comments, requests)",
    ),
    (
        "bob's projects",
        "/forks/0/id",
        "a fork in forge is not a project of its own: it shows its parent's id",
    ),
    (
        "bob's projects",
        "/repos/0/close_status",
        "forge gives a new project five close reasons (Fixed, Duplicate, Invalid, Won't fix, Can't reproduce); Pagure none",
    ),
    (
        "git urls",
        "/urls/git",
        "forge serves no git:// daemon: its `git` URL is the smart-HTTP one, which git clones alike",
    ),
];

fn compat_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/pagure-compat")
}

fn read_json(name: &str) -> Value {
    let path = compat_dir().join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path:?}: {e}"))
}

fn text<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key].as_str().unwrap_or_else(|| panic!("`{key}` in {v}"))
}

fn strings(v: &Value) -> Vec<&str> {
    v.as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

/// The scenario's users, projects, members, settings, branches and tokens,
/// made with the forge CLI; answers the tokens by user.
fn set_up(forge: &Forge, scenario: &Value) -> BTreeMap<String, String> {
    for u in scenario["users"].as_array().expect("users") {
        forge.ok(&[
            "user",
            "add",
            text(u, "name"),
            "--email",
            text(u, "email"),
            "--full-name",
            text(u, "fullname"),
        ]);
    }
    for p in scenario["projects"].as_array().expect("projects") {
        let (name, owner) = (text(p, "name"), text(p, "owner"));
        let as_owner = |args: &[&str]| {
            let mut all = vec!["--as", owner];
            all.extend_from_slice(args);
            forge.ok(&all)
        };
        as_owner(&[
            "project",
            "create",
            name,
            "--description",
            text(p, "description"),
        ]);
        for m in p["members"].as_array().into_iter().flatten() {
            as_owner(&[
                "project",
                "member",
                "add",
                name,
                text(m, "user"),
                "--role",
                text(m, "role"),
            ]);
        }
        let fields: Vec<String> = p["custom_fields"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|f| {
                let kind = match text(f, "type") {
                    "boolean" => "bool",
                    other => other,
                };
                let options = strings(&f["options"]).join("|");
                match options.is_empty() {
                    true => format!("{}:{kind}", text(f, "name")),
                    false => format!("{}:{kind}:{options}", text(f, "name")),
                }
            })
            .collect();
        let sets = [
            format!("priorities={}", strings(&p["priorities"]).join(",")),
            format!("milestones={}", strings(&p["milestones"]).join(",")),
            format!("close_reasons={}", strings(&p["close_status"]).join(",")),
            format!("custom_fields={}", fields.join(",")),
        ];
        let mut args = vec!["project", "settings", name];
        for s in &sets {
            args.extend(["--set", s]);
        }
        as_owner(&args);
        push_branches(forge, owner, name, &p["branches"]);
    }
    let mut tokens = BTreeMap::new();
    for (user, t) in scenario["tokens"].as_object().expect("tokens") {
        let acls = strings(&t["acls"]).join(",");
        let answer = forge.json(&[
            "--as",
            user,
            "token",
            "create",
            "-p",
            text(t, "project"),
            "--acl",
            &acls,
        ]);
        tokens.insert(user.clone(), text(&answer, "token").to_string());
    }
    tokens.insert("nobody".into(), "X".repeat(64));
    tokens
}

/// One commit per branch, each on the previous one, made as record.py makes
/// them (same author, same second), so both servers hold the same commits.
fn push_branches(forge: &Forge, owner: &str, project: &str, branches: &Value) {
    let work = forge.dir.path().join(format!("{project}-work"));
    std::fs::create_dir_all(&work).expect("mkdir");
    let git = |args: &[&str]| {
        let out = Command::new("git")
            .args(args)
            .current_dir(&work)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("HOME", &work)
            .env("GIT_AUTHOR_NAME", "Alice Liddell")
            .env("GIT_AUTHOR_EMAIL", "alice@example.org")
            .env("GIT_COMMITTER_NAME", "Alice Liddell")
            .env("GIT_COMMITTER_EMAIL", "alice@example.org")
            .env("GIT_AUTHOR_DATE", "2026-01-01T00:00:00Z")
            .env("GIT_COMMITTER_DATE", "2026-01-01T00:00:00Z")
            .env("FORGE_USER", owner)
            .output()
            .expect("git runs");
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    git(&["init", "-q", "-b", "main"]);
    let bare = forge.home().join(format!("repos/{project}.git"));
    let bare = bare.to_str().expect("utf-8 path");
    for (i, b) in branches.as_array().expect("branches").iter().enumerate() {
        let (branch, files) = (text(b, "name"), &b["files"]);
        if i > 0 {
            git(&["checkout", "-q", "-b", branch]);
        }
        let mut paths = Vec::new();
        for f in files.as_array().expect("files") {
            std::fs::write(work.join(text(f, "path")), text(f, "text")).expect("write");
            git(&["add", text(f, "path")]);
            paths.push(text(f, "path"));
        }
        git(&[
            "commit",
            "-q",
            "-m",
            &format!("{branch}: {}", paths.join(", ")),
        ]);
        git(&["push", "-q", bare, branch]);
    }
}

/// `application/x-www-form-urlencoded`, as Python's urlencode writes it.
fn form(fields: &serde_json::Map<String, Value>, fill: &dyn Fn(&str) -> String) -> String {
    let enc = |s: &str| {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                    (b as char).to_string()
                }
                b' ' => "+".into(),
                _ => format!("%{b:02X}"),
            })
            .collect::<String>()
    };
    fields
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(&fill(v.as_str().unwrap_or_default()))))
        .collect::<Vec<_>>()
        .join("&")
}

/// The value at a JSON pointer of record.py's form (`/comments/0/id`).
fn pointer(answer: &Value, at: &str) -> Value {
    answer.pointer(at).cloned().unwrap_or(Value::Null)
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "list",
        Value::Object(_) => "object",
    }
}

/// Every way `forge` falls short of `pagure` at `path`, into `out`; the
/// values of the keys in `volatile` are not compared, nor comment ids
/// (their types are).
fn compare(pagure: &Value, forge: &Value, path: &str, volatile: &[&str], out: &mut Vec<String>) {
    let key = path.rsplit('/').next().unwrap_or_default();
    match (pagure, forge) {
        (Value::Object(p), Value::Object(f)) => {
            for (k, pv) in p {
                let at = format!("{path}/{k}");
                match f.get(k) {
                    Some(fv) => compare(pv, fv, &at, volatile, out),
                    None => out.push(format!("{at}: missing (Pagure: {pv})")),
                }
            }
        }
        (Value::Array(p), Value::Array(f)) => {
            if p.len() != f.len() {
                out.push(format!(
                    "{path}: {} items where Pagure has {}",
                    f.len(),
                    p.len()
                ));
            }
            for (i, (pv, fv)) in p.iter().zip(f).enumerate() {
                compare(pv, fv, &format!("{path}/{i}"), volatile, out);
            }
        }
        _ if kind(pagure) != kind(forge) => out.push(format!(
            "{path}: {} {forge} where Pagure has {} {pagure}",
            kind(forge),
            kind(pagure)
        )),
        _ if volatile.contains(&key) => {}
        // Pagure numbers comments across its whole database; forge's come
        // from their ids (compared apart, in the one-comment step).
        _ if key == "id" && path.contains("/comments/") => {}
        _ if pagure != forge => out.push(format!("{path}: {forge} where Pagure has {pagure}")),
        _ => {}
    }
}

/// Puts `<base>` for the server's own address in every string.
fn normalize(v: &mut Value, base: &str) {
    match v {
        Value::String(s) => *s = s.replace(base, "<base>"),
        Value::Array(a) => a.iter_mut().for_each(|x| normalize(x, base)),
        Value::Object(o) => o.values_mut().for_each(|x| normalize(x, base)),
        _ => {}
    }
}

#[test]
fn forge_answers_the_pagure_api_as_a_real_pagure_does() {
    let scenario = read_json("scenario.json");
    let recorded = read_json("pagure-answers.json");
    let forge = Forge::new();
    let tokens = set_up(&forge, &scenario);
    // Pagure's recording ran with GIT_URL_SSH = 'ssh://git@127.0.0.1/'.
    let mut serve = forge.command(&["serve", "--bind", "127.0.0.1:0"]);
    serve.env("FORGE_SSH_URL", "ssh://git@127.0.0.1");
    let server = Server::from(serve);
    let base = format!("http://{}", server.addr);
    let mut saved: BTreeMap<String, Value> = BTreeMap::new();
    let mut found = Vec::new();
    let answers = recorded["answers"].as_array().expect("answers");
    let steps = scenario["steps"].as_array().expect("steps");
    assert_eq!(answers.len(), steps.len(), "record.py ran every step");
    for (step, pagure) in steps.iter().zip(answers) {
        let name = text(step, "name");
        let fill = |s: &str| {
            saved.iter().fold(s.to_string(), |acc, (k, v)| {
                let v = v
                    .as_str()
                    .map(String::from)
                    .unwrap_or_else(|| v.to_string());
                acc.replace(&format!("{{{k}}}"), &v)
            })
        };
        let path = fill(text(step, "path"));
        let token = step["as"].as_str().map(|u| tokens[u].as_str());
        let body = step["form"].as_object().map(|f| form(f, &fill));
        let (status, answer) = server.raw(
            text(step, "method"),
            &path,
            token,
            body.as_deref()
                .map(|b| ("application/x-www-form-urlencoded", b)),
        );
        let mut answer: Value = serde_json::from_str(&answer)
            .unwrap_or_else(|e| panic!("{name}: {path}: {e}: {answer}"));
        for (var, at) in step["save"].as_object().into_iter().flatten() {
            saved.insert(
                var.clone(),
                pointer(&answer, at.as_str().unwrap_or_default()),
            );
        }
        let mut expected = pagure["answer"].clone();
        normalize(&mut expected, text(&recorded, "base_url"));
        normalize(&mut answer, &base);
        let mut diffs = Vec::new();
        let pagure_status = pagure["status"].as_u64().unwrap_or_default();
        if u64::from(status) != pagure_status {
            diffs.push(format!("status {status} where Pagure has {pagure_status}"));
        }
        compare(&expected, &answer, "", VOLATILE, &mut diffs);
        for d in diffs {
            let kept = KEPT
                .iter()
                .any(|(s, p, _)| *s == name && (d.starts_with(p) || p.is_empty()));
            if !kept {
                found.push(format!("{name} ({path}): {d}"));
            }
        }
    }
    assert!(
        found.is_empty(),
        "{} differences from Pagure:\n{}",
        found.len(),
        found.join("\n")
    );
}

/// libpagure, Pagure's Python client, drives forge unchanged: every call it
/// offers for the endpoints forge serves (libpagure_drive.py). `.ci/run`
/// installs it into a virtual environment and names its Python in
/// `FORGE_LIBPAGURE_PYTHON`.
#[test]
fn libpagure_drives_forge_unchanged() {
    let python = std::env::var("FORGE_LIBPAGURE_PYTHON").unwrap_or_else(|_| {
        panic!(
            "FORGE_LIBPAGURE_PYTHON names no Python with libpagure: run the tests with \
             `bash .ci/run`, or `pip install libpagure==0.22` and set it"
        )
    });
    let mut scenario = read_json("scenario.json");
    // The set-up only: libpagure makes the calls.
    scenario["steps"] = serde_json::json!([]);
    let forge = Forge::new();
    let tokens = set_up(&forge, &scenario);
    let server = Server::start(&forge);
    let out = Command::new(&python)
        .arg(compat_dir().join("libpagure_drive.py"))
        .arg(format!("http://{}", server.addr))
        .arg(&tokens["alice"])
        .arg(&tokens["bob"])
        .output()
        .unwrap_or_else(|e| panic!("{python}: {e}"));
    assert!(
        out.status.success(),
        "libpagure against forge:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A Pagure answer of the recording, by its step's name.
fn recorded_answer(recorded: &Value, step: &str) -> Value {
    let found = recorded["answers"]
        .as_array()
        .expect("answers")
        .iter()
        .find(|a| a["name"] == step)
        .unwrap_or_else(|| panic!("no step `{step}` recorded"));
    let mut answer = found["answer"].clone();
    normalize(&mut answer, text(recorded, "base_url"));
    answer
}

/// A git repository holding `files` (a folder of what Pagure wrote).
fn repo_of(forge: &Forge, name: &str, files: &Path) -> std::path::PathBuf {
    let dir = forge.dir.path().join(name);
    std::fs::create_dir_all(&dir).expect("mkdir");
    for entry in std::fs::read_dir(files).expect("fixture folder") {
        let entry = entry.expect("entry");
        std::fs::copy(entry.path(), dir.join(entry.file_name())).expect("copy");
    }
    for args in [
        &["init", "-q", "-b", "master"][..],
        &["add", "-A"],
        &[
            "-c",
            "user.name=pagure",
            "-c",
            "user.email=pagure@example.org",
            "commit",
            "-qm",
            "Pagure",
        ],
    ] {
        let ok = Command::new("git")
            .args(args)
            .current_dir(&dir)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("HOME", &dir)
            .status()
            .expect("git runs")
            .success();
        assert!(ok, "git {args:?}");
    }
    dir
}

/// The tickets and requests repositories a real Pagure wrote during the
/// recording import with nothing lost that the documents hold: forge then
/// answers for those issues and that request what Pagure answered last,
/// times to the microsecond and comment ids included.
#[test]
fn what_a_real_pagure_wrote_imports_with_nothing_lost() {
    let recorded = read_json("pagure-answers.json");
    let mut scenario = read_json("scenario.json");
    scenario["steps"] = serde_json::json!([]);
    let forge = Forge::new();
    set_up(&forge, &scenario);
    let tickets = repo_of(&forge, "pagure-tickets", &compat_dir().join("tickets"));
    let requests = repo_of(&forge, "pagure-requests", &compat_dir().join("requests"));
    // `forge import pagure` of the requests, and of the tickets if given.
    let import = |tickets: Option<&Path>| -> Vec<String> {
        let mut args: Vec<String> = ["--as", "alice", "import", "pagure", "-p", "hammer"]
            .map(String::from)
            .into();
        args.extend(tickets.map(|t| t.to_str().expect("utf-8").to_string()));
        args.push("--requests".into());
        args.push(requests.to_str().expect("utf-8").into());
        args
    };
    let with_tickets = import(Some(&tickets));
    let report = forge.json(&with_tickets.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(
        (&report["issues"], &report["requests"]),
        (&serde_json::json!(2), &serde_json::json!(1)),
        "{report}"
    );
    // Again: the numbers are taken, and nothing is written.
    let alone = import(None);
    let again = forge.fails(&alone.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(
        again.contains("already has an issue or a pull request #3"),
        "{again}"
    );
    let token = forge.json(&["--as", "alice", "token", "create", "--acl", "issue_comment"]);
    let token = text(&token, "token").to_string();
    let mut serve = forge.command(&["serve", "--bind", "127.0.0.1:0"]);
    serve.env("FORGE_SSH_URL", "ssh://git@127.0.0.1");
    let server = Server::from(serve);
    let base = format!("http://{}", server.addr);
    // Only what cannot be the same: the times Pagure's answers were made
    // at that its documents do not hold.
    let volatile: &[&str] = &["comment_date", "date_modified", "version"];
    let mut found = Vec::new();
    for (step, path, kept) in [
        (
            "all issues",
            "/api/0/hammer/issues?status=all",
            IMPORTED_ISSUES_KEPT,
        ),
        (
            "merged pull request",
            "/api/0/hammer/pull-request/3",
            IMPORTED_REQUEST_KEPT,
        ),
    ] {
        let (status, body) = server.raw("GET", path, Some(&token), None);
        assert_eq!(status, 200, "{path}: {body}");
        let mut answer: Value = serde_json::from_str(&body).expect("json");
        normalize(&mut answer, &base);
        let mut diffs = Vec::new();
        compare(
            &recorded_answer(&recorded, step),
            &answer,
            "",
            volatile,
            &mut diffs,
        );
        found.extend(
            diffs
                .into_iter()
                .filter(|d| !kept.iter().any(|(p, _)| d.starts_with(p)))
                .map(|d| format!("{step}: {d}")),
        );
    }
    assert!(
        found.is_empty(),
        "{} differences:\n{}",
        found.len(),
        found.join("\n")
    );
}

/// What imported issues show differently from Pagure's last answer about
/// them, and why.
const IMPORTED_ISSUES_KEPT: &[(&str, &str)] = &[(
    "/issues/1/last_updated",
    "forge's last activity is the later of the issue's own time and its newest comment's; \
     Pagure stamps the issue a moment (here 1.5 ms) before it writes the notification \
     comment of the same change",
)];

/// What an imported pull request shows differently from Pagure's last
/// answer about it, and why.
const IMPORTED_REQUEST_KEPT: &[(&str, &str)] = &[
    (
        "/comments",
        "Pagure writes the request's file when it merges it, before it adds the \
         notification comment `Pull-Request has been merged by alice`: the file has one \
         comment fewer than its answer",
    ),
    (
        "/last_updated",
        "the same: the file was written before that comment",
    ),
    ("/updated_on", "the same"),
    (
        "/project/date_created",
        "the project was made anew in forge for the test, not imported: its own time",
    ),
    ("/repo_from/date_created", "the same"),
];
