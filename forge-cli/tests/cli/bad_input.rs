//! Bad input: one clear line naming the input, a non-zero exit, no data lost.

use crate::Forge;

fn one_line(err: &str) -> &str {
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    err.trim()
}

#[test]
fn unknown_things_are_named() {
    let f = Forge::with_project();
    assert_eq!(
        one_line(&f.fails_line("--as alice issue list -p nope")),
        "forge: project `nope` not found"
    );
    assert_eq!(
        one_line(&f.fails_line("--as zed issue list -p tools/hammer")),
        "forge: user `zed` not found"
    );
    assert_eq!(
        one_line(&f.fails_line("issue show -p tools/hammer 9")),
        "forge: issue #9 not found in project `tools/hammer`"
    );
    assert_eq!(
        one_line(&f.fails_line("--as alice issue new -p tools/hammer --title x --assignee ghost")),
        "forge: user `ghost` not found"
    );
    let err = f.fails_line("issue new -p tools/hammer --title x");
    assert_eq!(
        one_line(&err),
        "forge: no acting user: anonymous users can only read (pass --as USER or set FORGE_USER)"
    );
}

#[test]
fn duplicates_and_invalid_names_are_refused() {
    let f = Forge::with_project();
    assert_eq!(
        one_line(&f.fails_line("user add alice --email a2@example.org")),
        "forge: user `alice` already exists"
    );
    assert_eq!(
        one_line(&f.fails_line("--as alice project create tools/hammer")),
        "forge: project `tools/hammer` already exists"
    );
    for (name, reason) in [
        ("../x", "it contains `..`"),
        ("/abs", "it is an absolute path"),
        ("", "it is empty"),
        ("a\u{1b}b", "it contains control characters"),
        (&"x".repeat(80), "it is longer than 64 characters"),
    ] {
        let err = f.fails(&["--as", "alice", "project", "create", name]);
        assert!(one_line(&err).contains(reason), "{name:?}: {err}");
    }
    let err = f.fails(&["user", "add", "bad\nname", "--email", "x@example.org"]);
    assert!(
        one_line(&err).contains("invalid user name `bad\\nname`"),
        "{err}"
    );
    assert_eq!(
        f.json_line("project list").as_array().map(Vec::len),
        Some(1),
        "nothing half-created"
    );
    // A display name: no control characters, an existing user.
    let err = f.fails(&["user", "edit", "alice", "--full-name", "Al\u{7}ice"]);
    assert!(one_line(&err).contains("full name of `alice`"), "{err}");
    let err = f.fails(&["user", "edit", "nobody", "--full-name", "No One"]);
    assert!(one_line(&err).contains("nobody"), "{err}");
    let alice = f.json_line("user list")[0].clone();
    assert_eq!(
        alice["full_name"], "Alice",
        "unchanged by the refused edits"
    );
    assert_eq!(
        f.ok(&["user", "edit", "alice", "--full-name", "Alice L."]),
        "user alice is now named \"Alice L.\"\n"
    );
    assert_eq!(f.json_line("user list")[0]["full_name"], "Alice L.");
}

#[test]
fn unknown_values_are_refused_without_changes() {
    let f = Forge::with_project();
    f.ok_line("--as alice issue new -p tools/hammer --title One");
    let before = crate::git(&f.tickets_repo(), &["rev-parse", "HEAD"]);
    let err = f.fails_with(
        2,
        &["issue", "list", "-p", "tools/hammer", "--status", "weird"],
    );
    assert!(err.contains("invalid value 'weird'"), "{err}");
    let err = f.fails(&[
        "--as",
        "alice",
        "issue",
        "new",
        "-p",
        "tools/hammer",
        "--title",
        "  ",
    ]);
    assert!(
        one_line(&err).contains("invalid title: it is empty"),
        "{err}"
    );
    for (line, expected) in [
        (
            "issue close -p tools/hammer 1 --reason Bored",
            "invalid close reason `Bored`",
        ),
        (
            "issue edit -p tools/hammer 1 --depends 1",
            "cannot depend on or block itself",
        ),
        (
            "issue edit -p tools/hammer 1 --depends 5",
            "issue #5 not found",
        ),
        ("issue reopen -p tools/hammer 1", "already open"),
        (
            "issue edit -p tools/hammer 1 --priority High",
            "invalid priority `High`: project `tools/hammer` defines none",
        ),
        (
            "issue new -p tools/hammer --title x --milestone 1.0",
            "invalid milestone `1.0`",
        ),
        (
            "issue edit -p tools/hammer 1 --field severity=high",
            "custom field `severity`",
        ),
        (
            "issue edit -p tools/hammer 1 --field nonsense",
            "expected NAME=VALUE",
        ),
    ] {
        let err = f.fails_line(&format!("--as alice {line}"));
        assert!(one_line(&err).contains(expected), "{line}: {err}");
    }
    assert_eq!(
        crate::git(&f.tickets_repo(), &["rev-parse", "HEAD"]),
        before,
        "no commit was made"
    );
}

#[test]
fn a_missing_home_or_index_is_explained() {
    let f = Forge::with_project();
    let err = f.fails_line("--home /nonexistent/forge issue list -p x");
    assert!(
        one_line(&err).contains("no forge home at /nonexistent/forge"),
        "{err}"
    );
    f.ok_line("--as alice issue new -p tools/hammer --title One");
    // Index rows lost (say, a restored backup of forge.db): rebuilt from git with a message.
    let db = rusqlite_free_delete(&f);
    assert!(db.contains("rebuilt from git"), "{db}");
}

/// Deletes the project's index bookkeeping through the sqlite3-free route: an
/// empty forge.db copy is not possible without SQL, so use `forge` itself to
/// show that a recorded commit unknown to git triggers a rebuild.
fn rusqlite_free_delete(f: &Forge) -> String {
    let other = Forge::with_project();
    other.ok_line("--as alice issue new -p tools/hammer --title Elsewhere");
    other.ok(&[
        "--as",
        "alice",
        "issue",
        "new",
        "-p",
        "tools/hammer",
        "--title",
        "Elsewhere 2",
    ]);
    // Put the other home's tickets repo in place of ours: the index now records
    // a commit the repository does not have.
    let ours = f.tickets_repo();
    std::fs::remove_dir_all(&ours).expect("remove");
    copy_dir(&other.tickets_repo(), &ours);
    let out = f.run(&["issue", "list", "-p", "tools/hammer", "--json"]);
    assert!(out.status.success());
    let listed: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(listed.as_array().map(Vec::len), Some(2));
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read_dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).expect("copy");
        }
    }
}

#[test]
fn a_reader_that_goes_away_is_not_a_crash() {
    let f = Forge::with_project();
    for i in 0..30 {
        f.ok(&[
            "--as",
            "alice",
            "issue",
            "new",
            "-p",
            "tools/hammer",
            "--title",
            &format!("issue {i}"),
        ]);
    }
    for args in [
        &["issue", "list", "-p", "tools/hammer"][..],
        &["issue", "list", "-p", "tools/hammer", "--json"],
    ] {
        let mut child = f
            .command(args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("forge runs");
        drop(child.stdout.take()); // like `| head -0`: the reader is gone before forge writes
        let out = child.wait_with_output().expect("forge ends");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
}

#[test]
fn issue_show_prints_no_control_character_from_stored_text() {
    let f = Forge::with_project();
    let hostile = "clear\u{1b}[2J title\u{1b}]0;owned\u{7} bell\u{7} csi\u{9b}31m back\u{8}space cr\r bidi\u{202e}gpj.exe";
    f.ok(&[
        "--as",
        "alice",
        "issue",
        "new",
        "-p",
        "tools/hammer",
        "--title",
        "Escapes",
        "--body",
        hostile,
    ]);
    f.ok(&[
        "--as",
        "alice",
        "issue",
        "comment",
        "-p",
        "tools/hammer",
        "1",
        "--body",
        hostile,
    ]);
    f.ok(&[
        "--as",
        "alice",
        "issue",
        "edit",
        "-p",
        "tools/hammer",
        "1",
        "--add-tag",
        "x",
    ]);
    for args in [
        vec!["issue", "show", "-p", "tools/hammer", "1"],
        vec!["issue", "list", "-p", "tools/hammer"],
        vec!["events", "-p", "tools/hammer"],
    ] {
        let out = f.run(&args);
        assert!(out.status.success(), "{args:?}");
        let raw: Vec<u8> = out
            .stdout
            .iter()
            .copied()
            .filter(|b| (*b < 0x20 && *b != b'\n' && *b != b'\t') || *b == 0x7f)
            .collect();
        assert!(raw.is_empty(), "{args:?} printed raw control bytes {raw:?}");
        let text = String::from_utf8(out.stdout).expect("utf-8");
        assert!(
            !text.contains('\u{9b}') && !text.contains('\u{202e}'),
            "{args:?}: {text}"
        );
        if args[1] == "show" {
            assert!(text.contains("clear\\u{1b}[2J"), "shown escaped: {text}");
        }
    }
}

#[test]
fn commands_without_a_remote_form_refuse_a_remote() {
    let f = Forge::with_project();
    for args in [
        vec!["project", "show", "tools/hammer"],
        vec!["events"],
        vec!["repo", "branches", "-p", "tools/hammer"],
        vec!["token", "list"],
        vec!["user", "list"],
    ] {
        let out = f
            .command(&args)
            .env("FORGE_REMOTE", "http://127.0.0.1:9")
            .output()
            .expect("forge runs");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        assert!(
            err.contains(&format!("`forge {}` works on a forge home", args[0]))
                && err.contains("FORGE_REMOTE"),
            "{args:?}: {err}"
        );
        assert!(out.stdout.is_empty(), "{args:?} read the local home anyway");
    }
}

#[test]
fn small_traps_are_closed() {
    let f = Forge::with_project();
    // One project per name, whatever its case.
    let err = f.fails_line("--as alice project create TOOLS/HAMMER");
    assert!(
        err.contains("`tools/hammer` exists") && err.contains("case"),
        "{err}"
    );
    // A token that would be dead on arrival is refused, not listed as active.
    let err = f.fails_line("--as alice token create --acl issue_create --expires-days 0");
    assert!(err.contains("at least 1 day"), "{err}");
    // An unknown ACL names the known ones.
    let err = f.fails_line("--as alice token create --acl issue_creat");
    assert!(
        err.contains("issue_create") && err.contains("pull_request_merge"),
        "{err}"
    );
    // A listing cut at its limit says so.
    for t in ["one", "two", "three"] {
        f.ok(&[
            "--as",
            "alice",
            "issue",
            "new",
            "-p",
            "tools/hammer",
            "--title",
            t,
        ]);
    }
    let shown = f.ok_line("issue list -p tools/hammer --limit 2");
    assert!(
        shown.contains("showing the newest 2 of 3 issues"),
        "{shown}"
    );
    let shown = f.ok_line("issue list -p tools/hammer --limit 3");
    assert!(
        !shown.contains("showing"),
        "nothing cut, nothing said: {shown}"
    );
    let listed = f.json_line("issue list -p tools/hammer --limit 2");
    assert_eq!(
        listed.as_array().map(Vec::len),
        Some(2),
        "JSON is the list alone"
    );
}

/// `forge user passwd` with `input` on standard input.
fn passwd(f: &Forge, user: &str, input: &str) -> std::process::Output {
    use std::io::Write as _;
    let mut child = f
        .command(&["user", "passwd", user])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("forge runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("write");
    child.wait_with_output().expect("forge ends")
}

#[test]
fn passwords_are_read_from_stdin_and_weak_ones_refused() {
    let f = Forge::with_project();
    let short = passwd(&f, "alice", "short\n");
    assert!(!short.status.success());
    let err = String::from_utf8_lossy(&short.stderr);
    assert!(
        err.contains("password of `alice`") && err.contains("8 to 1024"),
        "{err}"
    );
    let unknown = passwd(&f, "nobody", "long enough here\n");
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("user `nobody` not found"));
    let set = passwd(&f, "alice", "long enough here\r\n");
    assert!(
        set.status.success(),
        "{}",
        String::from_utf8_lossy(&set.stderr)
    );
    assert!(String::from_utf8_lossy(&set.stdout).contains("set the password of alice"));
    // Neither the password nor its hash is ever printed back.
    let listed = f.ok(&["user", "list"]);
    assert!(
        !listed.contains("long enough") && !listed.contains("argon2"),
        "{listed}"
    );
}
