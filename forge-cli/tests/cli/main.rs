#![allow(missing_docs, clippy::new_without_default)]
//! Integration tests of the `forge` binary, driven like a user would, with
//! the real `git` binary as the client.

mod backup;
mod bad_input;
mod browse;
mod browser;
mod ci;
mod compat;
mod demo;
mod docs;
mod freshness;
mod github;
mod http;
mod issues;
mod live;
mod mail;
mod metrics;
mod offline;
mod pagure;
mod postfix;
mod pulls;
mod push_rules;
mod readme;
mod search;
mod ssh;
mod sshd;
mod web;
mod webhooks;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

/// A forge home in a temporary folder and a way to run `forge` on it.
pub struct Forge {
    pub dir: tempfile::TempDir,
    /// The user (uid, gid) forge runs as once the home was given to one
    /// ([`Forge::give_to`]); else the test's own.
    user: std::sync::OnceLock<(u32, u32)>,
}

impl Forge {
    pub fn new() -> Forge {
        let forge = Forge {
            dir: tempfile::tempdir().expect("tempdir"),
            user: std::sync::OnceLock::new(),
        };
        forge.ok(&["init"]);
        forge
    }

    /// A forge home with users alice (owner of `tools/hammer`) and bob.
    pub fn with_project() -> Forge {
        let forge = Forge::new();
        forge.ok(&[
            "user",
            "add",
            "alice",
            "--email",
            "alice@example.org",
            "--full-name",
            "Alice",
        ]);
        forge.ok(&["user", "add", "bob", "--email", "bob@example.org"]);
        forge.ok(&[
            "--as",
            "alice",
            "project",
            "create",
            "tools/hammer",
            "--description",
            "A hammer",
        ]);
        forge
    }

    /// Gives `user` a role on tools/hammer (as its owner, alice).
    pub fn member(&self, user: &str, role: &str) {
        self.ok(&[
            "--as",
            "alice",
            "project",
            "member",
            "add",
            "tools/hammer",
            user,
            "--role",
            role,
        ]);
    }

    /// Removes forge's pre-receive hook from a repository: what a repository
    /// that never had forge's hooks, or an admin's direct write, looks like.
    pub fn without_pre_receive(&self, repo: &Path) {
        std::fs::remove_file(repo.join("hooks/pre-receive")).expect("hook installed");
    }

    pub fn home(&self) -> PathBuf {
        self.dir.path().join("home")
    }

    pub fn tickets_repo(&self) -> PathBuf {
        self.home().join("tickets/tools/hammer.git")
    }

    /// A clone of tools/hammer's source repository at `<dir>/work`, as
    /// alice, on a new branch `main`.
    pub fn work_clone(&self) -> PathBuf {
        let work = self.dir.path().join("work");
        clone_as(&self.home().join("repos/tools/hammer.git"), &work, "alice");
        git(&work, &["checkout", "-q", "-b", "main"]);
        work
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_forge"));
        cmd.env("FORGE_HOME", self.home())
            .env_remove("FORGE_USER")
            .args(args)
            .current_dir(self.dir.path());
        if let Some(&(uid, gid)) = self.user.get() {
            use std::os::unix::process::CommandExt as _;
            cmd.uid(uid).gid(gid).env("HOME", self.dir.path());
        }
        cmd
    }

    /// Gives the forge home to the system user `name` (the test runs as
    /// root) and runs every later `forge` as that user, as a server's
    /// forge runs as its own: what a mail server's pipe transport needs,
    /// which never runs a command as root.
    pub fn give_to(&self, name: &str) {
        let id = |flag: &str| -> u32 {
            let out = Command::new("id")
                .args([flag, name])
                .output()
                .expect("id runs");
            String::from_utf8_lossy(&out.stdout)
                .trim()
                .parse()
                .expect("a numeric id")
        };
        let (uid, gid) = (id("-u"), id("-g"));
        let status = Command::new("chown")
            .arg("-R")
            .arg(format!("{uid}:{gid}"))
            .arg(self.dir.path())
            .status()
            .expect("chown runs");
        assert!(status.success(), "chown -R {name}");
        let status = Command::new("chmod")
            .arg("755")
            .arg(self.dir.path())
            .status()
            .expect("chmod runs");
        assert!(status.success());
        assert!(self.user.set((uid, gid)).is_ok(), "given once");
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("forge runs")
    }

    /// Runs forge, expects success, returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "forge {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("utf-8 output")
    }

    /// Runs forge with --json, expects success, parses stdout.
    pub fn json(&self, args: &[&str]) -> Value {
        let mut all = args.to_vec();
        all.push("--json");
        serde_json::from_str(&self.ok(&all)).expect("JSON output")
    }

    /// Runs forge, expects exit code 1 (or `code`), returns stderr.
    pub fn fails(&self, args: &[&str]) -> String {
        self.fails_with(1, args)
    }

    /// [`Forge::ok`] with the arguments written as one line, split on spaces.
    pub fn ok_line(&self, line: &str) -> String {
        self.ok(&line.split_whitespace().collect::<Vec<_>>())
    }

    /// [`Forge::json`] with the arguments written as one line.
    pub fn json_line(&self, line: &str) -> Value {
        self.json(&line.split_whitespace().collect::<Vec<_>>())
    }

    /// [`Forge::fails`] with the arguments written as one line.
    pub fn fails_line(&self, line: &str) -> String {
        self.fails(&line.split_whitespace().collect::<Vec<_>>())
    }

    /// Clones the tickets repository as `user`, lets `edit` change files in
    /// the clone, and pushes it all back as one commit with plain git.
    pub fn push_by_hand(&self, user: &str, edit: impl FnOnce(&Path)) {
        let clone = self.hand_edit(user, edit);
        git(&clone, &["push", "-q", "origin", "HEAD"]);
    }

    /// [`Forge::push_by_hand`] up to the commit; returns the clone.
    pub fn hand_edit(&self, user: &str, edit: impl FnOnce(&Path)) -> PathBuf {
        let clone = self.dir.path().join(format!("hand-{user}"));
        clone_as(&self.tickets_repo(), &clone, user);
        edit(&clone);
        git(&clone, &["add", "-A"]);
        git(&clone, &["commit", "-qm", "edited by hand"]);
        clone
    }

    pub fn fails_with(&self, code: i32, args: &[&str]) -> String {
        let out = self.run(args);
        assert_eq!(
            out.status.code(),
            Some(code),
            "forge {args:?}: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        String::from_utf8(out.stderr).expect("utf-8 output")
    }
}

/// Runs git in `dir`, expects success, returns stderr (where a push shows
/// what the server's hooks said).
pub fn git_stderr(dir: &Path, args: &[&str]) -> String {
    let out = git_command(dir, args).output().expect("git runs");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "git {args:?} failed: {stderr}");
    stderr
}

/// Runs git in `dir`, expects failure, returns stderr.
pub fn git_fails(dir: &Path, args: &[&str]) -> String {
    let out = git_command(dir, args).output().expect("git runs");
    assert!(!out.status.success(), "git {args:?} succeeded");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Runs git in `dir`, expects success, returns stdout. A push is made as
/// the forge user named by the clone's `user.name` (`FORGE_USER`, which the
/// SSH and HTTP frontends set for real pushes).
pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = git_command(dir, args).output().expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 output")
}

fn git_command(dir: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new("git");
    cmd.args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("HOME", dir)
        .env_remove("FORGE_USER");
    if args.first() == Some(&"push") {
        let name = Command::new("git")
            .args(["config", "user.name"])
            .current_dir(dir)
            .env("HOME", dir)
            .output()
            .expect("git runs");
        let name = String::from_utf8_lossy(&name.stdout).trim().to_string();
        if !name.is_empty() {
            cmd.env("FORGE_USER", name);
        }
    }
    cmd
}

/// Clones `repo` into `dir` as `user`.
pub fn clone_as(repo: &Path, dir: &Path, user: &str) {
    let parent = dir.parent().expect("clone has a parent folder");
    git(
        parent,
        &[
            "clone",
            "-q",
            repo.to_str().expect("utf-8 path"),
            dir.to_str().expect("utf-8 path"),
        ],
    );
    git(dir, &["config", "user.name", user]);
    git(
        dir,
        &["config", "user.email", &format!("{user}@example.org")],
    );
}

/// A TCP port of loopback nothing listens on now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// Waits up to 90 s for `check` to give something (what a worker or a
/// server does in its own time), naming `what` when it never does.
pub fn wait_for<T>(what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let start = std::time::Instant::now();
    loop {
        if let Some(v) = check() {
            return v;
        }
        assert!(
            start.elapsed() < std::time::Duration::from_secs(90),
            "waited for {what}"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

/// One consumer's line of `forge queue status --json`.
pub fn consumer_status(status: &Value, name: &str) -> Value {
    status
        .as_array()
        .and_then(|all| all.iter().find(|c| c["consumer"] == name))
        .cloned()
        .unwrap_or_else(|| panic!("no {name} consumer: {status}"))
}
