//! Git over SSH through `forge ssh authorized-keys` and `forge ssh serve`,
//! and the hooks every push goes through. A small script stands in for ssh
//! and sshd: it asks `forge ssh authorized-keys` about the key, as sshd's
//! AuthorizedKeysCommand would, and runs the forced command it gets with
//! `SSH_ORIGINAL_COMMAND` set, as sshd would.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{git, Forge};

const P: &str = "tools/hammer";

/// A user's (or a deploy) key pair made with ssh-keygen: the public line.
fn keygen(dir: &Path, name: &str) -> String {
    let path = dir.join(format!("key-{name}"));
    let out = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", name, "-f"])
        .arg(&path)
        .output()
        .expect("ssh-keygen runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::read_to_string(path.with_extension("pub"))
        .expect("public key")
        .trim()
        .to_string()
}

/// A forge whose users reach it over the stand-in ssh (also used by the
/// metrics test).
pub(crate) struct SshForge {
    pub(crate) forge: Forge,
    fake_ssh: PathBuf,
    keys: std::collections::HashMap<String, String>,
}

impl SshForge {
    /// alice owns tools/hammer; bob, carol, dave and erin have keys.
    pub(crate) fn new() -> SshForge {
        let forge = Forge::with_project();
        for (user, email) in [
            ("carol", "carol@example.org"),
            ("dave", "dave@example.org"),
            ("erin", "erin@example.org"),
        ] {
            forge.ok(&["user", "add", user, "--email", email]);
        }
        let mut keys = std::collections::HashMap::new();
        for user in ["alice", "bob", "carol", "dave", "erin"] {
            let key = keygen(forge.dir.path(), user);
            forge.ok(&["user", "key", "add", user, "--key", &key]);
            keys.insert(user.to_string(), key);
        }
        let fake_ssh = forge.dir.path().join("fake-ssh");
        let script = format!(
            r#"#!/bin/sh
# Stands in for ssh + sshd: the remote command is the last argument.
for last; do :; done
line=$('{forge}' --home '{home}' ssh authorized-keys $FAKE_SSH_KEY)
[ -n "$line" ] || {{ echo "Permission denied (publickey)." >&2; exit 255; }}
cmd=$(printf '%s\n' "$line" | sed -n 's/^restrict,command="\(.*\)" [^ ]* [^ ]*$/\1/p' | sed 's/\\"/"/g')
SSH_ORIGINAL_COMMAND="$last" exec sh -c "$cmd"
"#,
            forge = env!("CARGO_BIN_EXE_forge"),
            home = forge.home().display()
        );
        std::fs::write(&fake_ssh, script).expect("script");
        let chmod = Command::new("chmod").arg("+x").arg(&fake_ssh).status();
        assert!(chmod.is_ok_and(|s| s.success()));
        SshForge {
            forge,
            fake_ssh,
            keys,
        }
    }

    fn key_of(&self, user: &str) -> String {
        // type and base64, as sshd passes %t %k
        self.keys[user]
            .split_whitespace()
            .take(2)
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// git as `user` over the fake ssh, in `dir`.
    fn git_as(&self, user: &str, dir: &Path, args: &[&str]) -> std::process::Output {
        self.git_with_key(&self.key_of(user), user, dir, args)
    }

    fn git_with_key(
        &self,
        key: &str,
        name: &str,
        dir: &Path,
        args: &[&str],
    ) -> std::process::Output {
        Command::new("git")
            .args([
                "-c",
                &format!("user.name={name}"),
                "-c",
                &format!("user.email={name}@example.org"),
            ])
            .args(args)
            .current_dir(dir)
            .env("GIT_SSH_COMMAND", &self.fake_ssh)
            .env("FAKE_SSH_KEY", key)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("HOME", dir)
            .env_remove("FORGE_USER")
            .output()
            .expect("git runs")
    }

    pub(crate) fn ok(&self, user: &str, dir: &Path, args: &[&str]) -> String {
        let out = self.git_as(user, dir, args);
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "{user}: git {args:?}: {stderr}");
        stderr
    }

    pub(crate) fn refused(&self, user: &str, dir: &Path, args: &[&str]) -> String {
        let out = self.git_as(user, dir, args);
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(!out.status.success(), "{user}: git {args:?} should fail");
        stderr
    }

    /// A clone of `repo` (a forge path such as `tools/hammer.git`) as `user`.
    fn clone(&self, user: &str, repo: &str, name: &str) -> PathBuf {
        let dir = self.forge.dir.path().to_path_buf();
        self.ok(
            user,
            &dir,
            &["clone", "-q", &format!("ssh://forge.example/{repo}"), name],
        );
        dir.join(name)
    }
}

fn commit(dir: &Path, file: &str, text: &str, message: &str) {
    std::fs::write(dir.join(file), text).expect("write");
    git(dir, &["add", "-A"]);
    git(
        dir,
        &[
            "-c",
            "user.name=x",
            "-c",
            "user.email=x@example.org",
            "commit",
            "-qm",
            message,
        ],
    );
}

#[test]
fn authorized_keys_answers_only_for_registered_keys() {
    let s = SshForge::new();
    let alice = s.key_of("alice");
    let parts: Vec<&str> = alice.split(' ').collect();
    let line = s.forge.ok(&["ssh", "authorized-keys", parts[0], parts[1]]);
    assert!(line.starts_with("restrict,command=\""), "{line}");
    assert!(line.contains("ssh serve alice\""), "{line}");
    assert!(line.trim_end().ends_with(&alice), "{line}");
    let unknown = keygen(s.forge.dir.path(), "stranger");
    let u: Vec<&str> = unknown.split(' ').collect();
    assert_eq!(s.forge.ok(&["ssh", "authorized-keys", u[0], u[1]]), "");
    assert_eq!(
        s.forge
            .ok(&["ssh", "authorized-keys", "ssh-ed25519", "garbage"]),
        ""
    );
    let listed = s.forge.json(&["user", "key", "list", "alice"]);
    assert!(listed[0]["fingerprint"]
        .as_str()
        .is_some_and(|f| f.starts_with("SHA256:")));
    let err = s
        .forge
        .fails(&["user", "key", "add", "bob", "--key", &s.keys["alice"]]);
    assert!(err.contains("already exists"), "{err}");
}

#[test]
fn a_disabled_account_has_no_key_until_enabled_again() {
    let s = SshForge::new();
    let alice = s.key_of("alice");
    let parts: Vec<&str> = alice.split(' ').collect();
    let out = s.forge.ok(&["user", "disable", "alice"]);
    assert!(out.contains("disabled alice"), "{out}");
    assert_eq!(
        s.forge.ok(&["ssh", "authorized-keys", parts[0], parts[1]]),
        ""
    );
    s.forge.ok(&["user", "enable", "alice"]);
    let line = s.forge.ok(&["ssh", "authorized-keys", parts[0], parts[1]]);
    assert!(line.contains("ssh serve alice\""), "{line}");
}

#[test]
fn the_forced_command_refuses_everything_but_git_on_forge_repositories() {
    let s = SshForge::new();
    let serve = |command: &str| {
        let out = s
            .forge
            .command(&["ssh", "serve", "alice"])
            .env("SSH_ORIGINAL_COMMAND", command)
            .output()
            .expect("forge runs");
        assert!(!out.status.success(), "{command} must be refused");
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(err.lines().count(), 1, "one line: {err}");
        err
    };
    for (command, says) in [
        ("bash", "only git"),
        ("ls -la", "only git"),
        ("git-upload-pack '../../etc'", "`..`"),
        ("git-upload-pack '//etc/passwd'", "absolute"),
        ("git-upload-pack 'nope.git'", "not found"),
        (
            "git-upload-pack 'tools/hammer.git'; id",
            "one repository path",
        ),
        ("scp -f /etc/passwd", "only git"),
    ] {
        let err = serve(command);
        assert!(err.contains(says), "{command}: {err}");
    }
    let out = s
        .forge
        .command(&["ssh", "serve", "alice"])
        .output()
        .expect("forge runs");
    assert!(String::from_utf8_lossy(&out.stderr).contains("no interactive shell"));
    // A stranger's key gets nothing at all.
    let dir = s.forge.dir.path().to_path_buf();
    let stranger = keygen(&dir, "stranger");
    let key: String = stranger
        .split_whitespace()
        .take(2)
        .collect::<Vec<_>>()
        .join(" ");
    let out = s.git_with_key(
        &key,
        "stranger",
        &dir,
        &["ls-remote", "ssh://forge.example/tools/hammer.git"],
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("Permission denied"));
}

#[test]
fn every_role_pushes_where_it_may_and_branches_are_protected() {
    let s = SshForge::new();
    let f = &s.forge;
    f.member("bob", "ticket");
    f.ok(&[
        "--as",
        "alice",
        "project",
        "member",
        "add",
        P,
        "carol",
        "--role",
        "collaborator",
        "--branches",
        "feature/*",
    ]);
    f.member("dave", "commit");
    let alice = s.clone("alice", "tools/hammer.git", "alice");
    commit(&alice, "a.txt", "one\n", "Start");
    s.ok("alice", &alice, &["push", "-q", "origin", "HEAD:main"]);

    // Nobody without a role pushes source; ticket role neither.
    let erin = s.clone("erin", "tools/hammer.git", "erin");
    commit(&erin, "e.txt", "e\n", "Erin");
    let err = s.refused("erin", &erin, &["push", "-q", "origin", "HEAD:erin"]);
    assert!(err.contains("may not push to tools/hammer.git"), "{err}");
    let err = s.refused("bob", &erin, &["push", "-q", "origin", "HEAD:bob"]);
    assert!(err.contains("may not push"), "{err}");

    // A collaborator pushes only the branches of their patterns.
    let carol = s.clone("carol", "tools/hammer.git", "carol");
    commit(&carol, "c.txt", "c\n", "Carol");
    s.ok("carol", &carol, &["push", "-q", "origin", "HEAD:feature/c"]);
    let err = s.refused("carol", &carol, &["push", "-q", "origin", "HEAD:main"]);
    assert!(
        err.contains("rule `branches`") && err.contains("refs/heads/main"),
        "{err}"
    );
    let err = s.refused(
        "carol",
        &carol,
        &["push", "-q", "origin", "HEAD:refs/tags/v1"],
    );
    assert!(err.contains("rule `tags`"), "{err}");

    // A committer pushes main, but not a force push or a deletion of it.
    let dave = s.clone("dave", "tools/hammer.git", "dave");
    commit(&dave, "d.txt", "d\n", "Dave");
    s.ok("dave", &dave, &["push", "-q", "origin", "HEAD:main"]);
    git(&dave, &["reset", "-q", "--hard", "HEAD~1"]);
    commit(&dave, "d.txt", "rewritten\n", "Rewrite");
    let err = s.refused("dave", &dave, &["push", "-q", "-f", "origin", "HEAD:main"]);
    assert!(
        err.contains("rule `protected`") && err.contains("force-pushed"),
        "{err}"
    );
    let err = s.refused("dave", &dave, &["push", "-q", "origin", ":main"]);
    assert!(err.contains("cannot be deleted"), "{err}");
    // Other branches may be rewritten.
    s.ok("dave", &dave, &["push", "-q", "origin", "HEAD:scratch"]);
    s.ok(
        "dave",
        &dave,
        &["push", "-q", "-f", "origin", "HEAD~1:scratch"],
    );
    s.ok("dave", &dave, &["push", "-q", "origin", ":scratch"]);

    // More protected branches, no new branches, sign-off, PR-only: project settings.
    f.ok(&[
        "--as",
        "alice",
        "project",
        "settings",
        P,
        "--set",
        "protected_branches=release/*",
        "--set",
        "require_signoff=true",
    ]);
    s.ok(
        "dave",
        &dave,
        &["push", "-q", "origin", "HEAD~1:refs/heads/release/1"],
    );
    let err = s.refused("dave", &dave, &["push", "-q", "origin", ":release/1"]);
    assert!(err.contains("rule `protected`"), "{err}");
    git(&dave, &["checkout", "-q", "-B", "signed", "origin/main"]);
    commit(&dave, "s.txt", "s\n", "Unsigned change");
    let err = s.refused("dave", &dave, &["push", "-q", "origin", "HEAD:signed"]);
    assert!(
        err.contains("rule `require_signoff`") && err.contains("Unsigned change"),
        "{err}"
    );
    git(
        &dave,
        &[
            "-c",
            "user.name=dave",
            "-c",
            "user.email=dave@example.org",
            "commit",
            "-q",
            "--amend",
            "-s",
            "--no-edit",
        ],
    );
    s.ok("dave", &dave, &["push", "-q", "origin", "HEAD:signed"]);
    f.ok(&[
        "--as",
        "alice",
        "project",
        "settings",
        P,
        "--set",
        "require_signoff=false",
        "--set",
        "no_new_branches=true",
    ]);
    let err = s.refused("dave", &dave, &["push", "-q", "origin", "HEAD:brand-new"]);
    assert!(err.contains("rule `no_new_branches`"), "{err}");
    f.ok(&[
        "--as",
        "alice",
        "project",
        "settings",
        P,
        "--set",
        "no_new_branches=false",
        "--set",
        "pr_only=true",
    ]);
    let err = s.refused("alice", &alice, &["push", "-q", "origin", "HEAD:anything"]);
    assert!(
        err.contains("rule `pr_only`") && err.contains("pull requests only"),
        "{err}"
    );
    f.ok(&[
        "--as",
        "alice",
        "project",
        "settings",
        P,
        "--set",
        "pr_only=false",
    ]);

    // A deploy key reads; with --push it pushes.
    let deploy = keygen(f.dir.path(), "deploy");
    f.ok(&[
        "--as",
        "alice",
        "project",
        "deploy-key",
        "add",
        P,
        "--key",
        &deploy,
    ]);
    let key: String = deploy
        .split_whitespace()
        .take(2)
        .collect::<Vec<_>>()
        .join(" ");
    let dir = f.dir.path().to_path_buf();
    let out = s.git_with_key(
        &key,
        "ci",
        &dir,
        &["clone", "-q", "ssh://forge.example/tools/hammer.git", "ci"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ci = dir.join("ci");
    commit(&ci, "ci.txt", "ci\n", "From CI");
    let out = s.git_with_key(&key, "ci", &ci, &["push", "-q", "origin", "HEAD:ci"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("may not push"));
    let out = s.git_with_key(
        &key,
        "ci",
        &dir,
        &["ls-remote", "ssh://forge.example/tickets/tools/hammer.git"],
    );
    assert!(
        !out.status.success(),
        "deploy keys read source and docs only"
    );
    f.ok(&[
        "--as",
        "alice",
        "project",
        "deploy-key",
        "remove",
        P,
        "--key",
        &deploy,
    ]);
    f.ok(&[
        "--as",
        "alice",
        "project",
        "deploy-key",
        "add",
        P,
        "--key",
        &deploy,
        "--push",
    ]);
    let out = s.git_with_key(&key, "ci", &ci, &["push", "-q", "origin", "HEAD:ci"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Forks: only their owner pushes.
    f.ok(&["--as", "bob", "project", "fork", P]);
    let fork = s.clone("bob", "forks/bob/tools/hammer.git", "bob-fork");
    commit(&fork, "b.txt", "b\n", "Bob's work");
    s.ok("bob", &fork, &["push", "-q", "origin", "HEAD:work"]);
    let err = s.refused("dave", &fork, &["push", "-q", "origin", "HEAD:dave"]);
    assert!(err.contains("may not push"), "{err}");

    let members = f.json(&["project", "member", "list", P]);
    let roles: Vec<String> = members
        .as_array()
        .expect("members")
        .iter()
        .map(|m| {
            format!(
                "{}:{}",
                m["name"].as_str().unwrap_or(""),
                m["role"].as_str().unwrap_or("")
            )
        })
        .collect();
    assert_eq!(
        roles,
        [
            "alice:admin",
            "bob:ticket",
            "carol:collaborator",
            "dave:commit"
        ]
    );
    f.ok(&["--as", "alice", "project", "member", "remove", P, "dave"]);
    commit(&dave, "late.txt", "late\n", "Too late");
    let err = s.refused("dave", &dave, &["push", "-q", "origin", "HEAD:late"]);
    assert!(err.contains("may not push"), "{err}");
    let err = f.fails(&["--as", "bob", "project", "member", "add", P, "erin"]);
    assert!(err.contains("permission denied"), "{err}");
}

#[test]
fn ticket_pushes_are_validated_and_private_issues_do_not_leak() {
    let s = SshForge::new();
    let f = &s.forge;
    f.member("bob", "ticket");
    f.ok(&[
        "--as",
        "alice",
        "project",
        "settings",
        P,
        "--set",
        "priorities=High,Low",
    ]);
    f.ok(&[
        "--as", "alice", "issue", "new", "-p", P, "--title", "Public",
    ]);
    // Without private issues anyone may clone the tickets; erin (no role) may not push.
    let erin = s.clone("erin", "tickets/tools/hammer.git", "erin-tickets");
    commit(&erin, "README", "notes\n", "Notes");
    let err = s.refused("erin", &erin, &["push", "-q", "origin", "HEAD:main"]);
    assert!(err.contains("may not push"), "{err}");

    let bob = s.clone("bob", "tickets/tools/hammer.git", "bob-tickets");
    let path = bob.join("01/1/issue.json");
    let text = std::fs::read_to_string(&path).expect("issue");
    for (bad, says) in [
        (
            text.replace("\"priority\": null", "\"priority\": \"Urgent\""),
            "priority `Urgent`",
        ),
        (
            text.replace("\"assignee\": null", "\"assignee\": \"nobody\""),
            "user `nobody` not found",
        ),
        (
            text.replace("\"status\": \"open\"", "\"status\": \"sleeping\""),
            "unknown variant `sleeping`",
        ),
        (
            text.replace(
                "\"title\": \"Public\"",
                "\"title\": \"Public\", \"colour\": 1",
            ),
            "unknown field `colour`",
        ),
    ] {
        std::fs::write(&path, &bad).expect("write");
        git(
            &bob,
            &[
                "-c",
                "user.name=bob",
                "-c",
                "user.email=bob@example.org",
                "commit",
                "-qam",
                "bad",
            ],
        );
        let err = s.refused("bob", &bob, &["push", "-q", "origin", "HEAD:main"]);
        assert!(
            err.contains("rule `ticket data`")
                && err.contains("01/1/issue.json")
                && err.contains(says),
            "{says}: {err}"
        );
        git(&bob, &["reset", "-q", "--hard", "origin/main"]);
    }
    std::fs::write(
        &path,
        text.replace("\"priority\": null", "\"priority\": \"High\""),
    )
    .expect("write");
    git(
        &bob,
        &[
            "-c",
            "user.name=bob",
            "-c",
            "user.email=bob@example.org",
            "commit",
            "-qam",
            "good",
        ],
    );
    s.ok("bob", &bob, &["push", "-q", "origin", "HEAD:main"]);
    assert_eq!(f.json(&["issue", "show", "-p", P, "1"])["priority"], "High");

    // Once there is a private issue, the tickets repository is for members only.
    f.ok(&[
        "--as",
        "alice",
        "issue",
        "new",
        "-p",
        P,
        "--title",
        "Secret",
        "--private",
    ]);
    let dir = f.dir.path().to_path_buf();
    let out = s.git_as(
        "erin",
        &dir,
        &["ls-remote", "ssh://forge.example/tickets/tools/hammer.git"],
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not found"));
    s.ok(
        "bob",
        &dir,
        &["ls-remote", "ssh://forge.example/tickets/tools/hammer.git"],
    );
    s.ok(
        "erin",
        &dir,
        &["ls-remote", "ssh://forge.example/tools/hammer.git"],
    );

    // A private project is invisible to non-members.
    f.ok(&["--as", "alice", "project", "create", "secret", "--private"]);
    let out = s.git_as(
        "erin",
        &dir,
        &["ls-remote", "ssh://forge.example/secret.git"],
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("not found"));
    s.ok(
        "alice",
        &dir,
        &["ls-remote", "ssh://forge.example/secret.git"],
    );
}

#[test]
fn pushes_record_activity_close_issues_refresh_requests_and_log_events() {
    let s = SshForge::new();
    let f = &s.forge;
    f.ok(&["--as", "alice", "issue", "new", "-p", P, "--title", "Crash"]);
    f.ok(&["--as", "alice", "issue", "new", "-p", P, "--title", "Docs"]);
    let alice = s.clone("alice", "tools/hammer.git", "alice");
    commit(&alice, "a.txt", "one\n", "Start");
    s.ok("alice", &alice, &["push", "-q", "origin", "HEAD:main"]);
    git(&alice, &["checkout", "-q", "-b", "topic"]);
    commit(&alice, "t.txt", "t\n", "Topic work");
    s.ok("alice", &alice, &["push", "-q", "origin", "topic"]);
    let opened = f.json(&[
        "--as", "alice", "pr", "new", "-p", P, "--title", "Topic", "--from", "topic",
    ]);
    let id = opened["id"].as_u64().expect("id");

    // Commits authored by alice (email matched), one fixing #1, one naming #2.
    git(&alice, &["checkout", "-q", "main"]);
    for (n, msg) in [
        "Refactor",
        "Fix the crash\n\nFixes #1",
        "Explain\n\nRelates to #2",
    ]
    .iter()
    .enumerate()
    {
        std::fs::write(alice.join(format!("m{n}.txt")), msg).expect("write");
        git(&alice, &["add", "-A"]);
        git(
            &alice,
            &[
                "-c",
                "user.name=Alice",
                "-c",
                "user.email=alice@example.org",
                "commit",
                "-qm",
                msg,
            ],
        );
    }
    let said = s.ok("alice", &alice, &["push", "origin", "main"]);
    assert!(said.contains("forge: closed issue #1"), "{said}");
    let issue = f.json(&["issue", "show", "-p", P, "1"]);
    assert_eq!(issue["status"], "closed");
    assert!(issue["comments"][0]["body"]
        .as_str()
        .is_some_and(|b| b.starts_with("Fixed by commit ")));
    let related = f.json(&["issue", "show", "-p", P, "2"]);
    assert_eq!(related["status"], "open");
    assert!(related["comments"][0]["body"]
        .as_str()
        .is_some_and(|b| b.starts_with("Referenced by commit ")));

    // The activity log: the three commits of alice's email on main (not
    // "Start", made with another email, nor the topic branch).
    let days = f.json(&["activity", "alice"]);
    let total: u64 = days
        .as_object()
        .expect("days")
        .values()
        .filter_map(|v| v.as_u64())
        .sum();
    assert_eq!(total, 3, "{days}");
    let year = chrono_year();
    assert_eq!(
        f.json(&["activity", "alice", "--year", &year.to_string()]),
        days
    );
    assert_eq!(
        f.json(&["activity", "alice", "--year", "1999"]),
        serde_json::json!({})
    );

    // Pushing the source branch refreshes the request.
    git(&alice, &["checkout", "-q", "topic"]);
    commit(&alice, "t.txt", "t2\n", "More topic work");
    let said = s.ok("alice", &alice, &["push", "origin", "topic"]);
    assert!(
        said.contains(&format!("forge: refreshed pull request #{id}")),
        "{said}"
    );
    let shown = f.json(&["pr", "show", "-p", P, &id.to_string()]);
    assert_eq!(shown["commits"].as_array().map(Vec::len), Some(2));

    // So does pushing a fork's branch that a request comes from.
    f.ok(&["--as", "bob", "project", "fork", P]);
    let bob = s.clone("bob", "forks/bob/tools/hammer.git", "bob-fork");
    git(&bob, &["checkout", "-q", "-b", "idea"]);
    commit(&bob, "idea.txt", "idea\n", "An idea");
    s.ok("bob", &bob, &["push", "-q", "origin", "idea"]);
    let from_fork = f.json(&[
        "--as",
        "bob",
        "pr",
        "new",
        "-p",
        P,
        "--title",
        "Idea",
        "--from",
        "idea",
        "--from-fork",
        "bob",
    ]);
    let fork_id = from_fork["id"].as_u64().expect("id");
    commit(&bob, "idea.txt", "better idea\n", "A better idea");
    let said = s.ok("bob", &bob, &["push", "origin", "idea"]);
    assert!(
        said.contains(&format!("forge: refreshed pull request #{fork_id}")),
        "{said}"
    );
    let shown = f.json(&["pr", "show", "-p", P, &fork_id.to_string()]);
    assert_eq!(shown["commits"][0]["title"], "A better idea");

    // One git.push event per ref update, with its facts.
    let events = f.json(&["events", "-p", P]);
    let pushes: Vec<&serde_json::Value> = events
        .as_array()
        .expect("events")
        .iter()
        .filter(|e| e["type"] == "git.push")
        .collect();
    assert_eq!(pushes.len(), 6, "{pushes:?}");
    let main_push = pushes[2];
    assert_eq!(main_push["actor"], "alice");
    assert_eq!(main_push["fields"]["ref"], "refs/heads/main");
    assert_eq!(main_push["fields"]["commits"], 3);
    assert_eq!(main_push["fields"]["changed_files"], 3);
    assert_eq!(main_push["fields"]["forced"], false);
    let fork_push = pushes[4];
    assert_eq!(fork_push["actor"], "bob");
    assert_eq!(fork_push["fields"]["repo"], "forks/bob/tools/hammer.git");
    assert_eq!(
        fork_push["fields"]["commits"], 1,
        "the fork's new branch brought one commit"
    );
    assert_eq!(fork_push["fields"]["changed_files"], 1);
}

fn chrono_year() -> i32 {
    let out = Command::new("date")
        .args(["-u", "+%Y"])
        .output()
        .expect("date");
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .expect("year")
}

#[test]
fn user_hooks_are_kept_and_still_run() {
    let s = SshForge::new();
    let f = &s.forge;
    let repo = f.home().join("repos/tools/hammer.git");
    // Put a user hook where forge's is, then reinstall: it moves aside and still runs.
    let marker = f.dir.path().join("user-hook-ran");
    std::fs::write(
        repo.join("hooks/post-receive"),
        format!("#!/bin/sh\ncat > '{}'\n", marker.display()),
    )
    .expect("write");
    let chmod = Command::new("chmod")
        .arg("+x")
        .arg(repo.join("hooks/post-receive"))
        .status();
    assert!(chmod.is_ok_and(|s| s.success()));
    let said = f.ok(&["hooks", "install", "-p", P]);
    assert!(said.contains("installed hooks in 4 repositories"), "{said}");
    f.ok(&["hooks", "install", "--all"]);
    assert!(repo.join("hooks/post-receive.d/post-receive").exists());
    let alice = s.clone("alice", "tools/hammer.git", "alice");
    commit(&alice, "a.txt", "one\n", "Start");
    s.ok("alice", &alice, &["push", "-q", "origin", "HEAD:main"]);
    let input = std::fs::read_to_string(&marker).expect("the user hook ran");
    assert!(input.ends_with(" refs/heads/main\n"), "{input}");
    // A push with no forge identity at all (a local push by path) is refused.
    let out = Command::new("git")
        .args(["push", "-q", repo.to_str().expect("utf-8"), "HEAD:other"])
        .current_dir(&alice)
        .env_remove("FORGE_USER")
        .output()
        .expect("git");
    assert!(String::from_utf8_lossy(&out.stderr).contains("rule `identity`"));
}
