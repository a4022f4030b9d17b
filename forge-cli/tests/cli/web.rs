//! The code pages over real HTTP on a project with pushed files: a folder,
//! a file (escaped, with line anchors), its raw bytes (plain text in a
//! sandbox, whatever the file holds), the history and one commit.

use crate::http::Server;
use crate::{git, Forge};

/// GET `path`: status, head, body.
fn get(server: &Server, path: &str) -> (u16, String, String) {
    crate::docs::get(&server.addr, path, "")
}

#[test]
fn code_pages_show_files_and_never_serve_them_as_pages() {
    let f = Forge::with_project();
    let work = f.work_clone();
    std::fs::create_dir_all(work.join("docs")).expect("mkdir");
    std::fs::write(work.join("docs/evil.html"), "<script>alert(1)</script>\n").expect("write");
    std::fs::write(work.join("README.md"), "# hammer\n").expect("write");
    git(&work, &["add", "-A"]);
    git(&work, &["commit", "-qm", "Add <b>docs</b>"]);
    git(&work, &["push", "-q", "origin", "main"]);
    let head = git(&work, &["rev-parse", "HEAD"]).trim().to_string();
    let server = Server::start(&f);

    let (status, _, tree) = get(&server, "/tools/hammer/tree");
    assert_eq!(status, 200, "{tree}");
    assert!(
        tree.contains(r#"href="/tools/hammer/blob/main/f/docs""#),
        "{tree}"
    );
    let (status, _, folder) = get(&server, "/tools/hammer/blob/main/f/docs");
    assert_eq!(status, 200, "{folder}");
    assert!(folder.contains("evil.html"), "{folder}");

    let (status, _, file) = get(&server, "/tools/hammer/blob/main/f/docs/evil.html");
    assert_eq!(status, 200, "{file}");
    assert!(
        file.contains(
            r#"&lt;<span class="hl-t">script</span>&gt;alert(<span class="hl-n">1</span>)&lt;/<span class="hl-t">script</span>&gt;"#
        ),
        "escaped and highlighted: {file}"
    );
    assert!(!file.contains("<script>"), "{file}");
    assert!(file.contains(r##"href="#_1""##), "line anchors: {file}");

    let (status, head_lines, raw) = get(&server, "/tools/hammer/raw/main/f/docs/evil.html");
    assert_eq!(status, 200);
    assert_eq!(raw, "<script>alert(1)</script>\n");
    assert!(
        head_lines.contains("content-type: text/plain; charset=utf-8"),
        "{head_lines}"
    );
    assert!(
        head_lines.contains("content-security-policy: sandbox; default-src 'none'"),
        "{head_lines}"
    );
    assert!(
        head_lines.contains("x-content-type-options: nosniff"),
        "{head_lines}"
    );

    let (status, _, branches) = get(&server, "/tools/hammer/branches");
    assert_eq!(status, 200, "{branches}");
    assert!(
        branches.contains(r#"href="/tools/hammer/tree/main""#) && branches.contains("default"),
        "{branches}"
    );

    let (status, _, log) = get(&server, "/tools/hammer/commits/main");
    assert_eq!(status, 200);
    assert!(log.contains(&format!("/tools/hammer/c/{head}")), "{log}");
    assert!(log.contains("Add &lt;b&gt;docs&lt;/b&gt;"), "{log}");
    let (status, _, commit) = get(&server, &format!("/tools/hammer/c/{head}"));
    assert_eq!(status, 200, "{commit}");
    assert!(
        commit.contains("docs/evil.html") && commit.contains("Files changed (2)"),
        "{commit}"
    );

    let (status, _, blame) = get(&server, "/tools/hammer/blame/docs/evil.html");
    assert_eq!(status, 200, "{blame}");
    assert!(
        blame.contains("&lt;script&gt;alert(1)&lt;/script&gt;") && !blame.contains("<script>"),
        "{blame}"
    );
    assert!(
        blame.contains(&format!("/tools/hammer/c/{head}")),
        "each line names its commit: {blame}"
    );
    let (status, _, _) = get(&server, "/tools/hammer/blame/README.md?identifier=main");
    assert_eq!(status, 200);

    for missing in [
        "/tools/hammer/blame/nothing",
        "/tools/hammer/blame/README.md?identifier=nope",
        "/tools/hammer/blob/main/f/nothing",
        "/tools/hammer/raw/nope/f/README.md",
        "/tools/hammer/c/0123456789abcdef",
        "/tools/hammer/blob/main/f/..%2F..%2Fetc",
    ] {
        assert_eq!(get(&server, missing).0, 404, "{missing}");
    }
}

/// Code search: `forge repo grep` and the `/<repo>/grep` page find the
/// same lines of the default branch; markup in files is shown as text; a
/// pattern that does not compile is said; limits say where they stopped;
/// a private project's code is not searched for others.
#[test]
fn code_search_finds_lines_on_the_cli_and_the_page() {
    let f = Forge::with_project();
    let work = f.work_clone();
    std::fs::create_dir_all(work.join("src")).expect("mkdir");
    std::fs::write(
        work.join("src/main.rs"),
        "fn main() {\n    swing_hammer(); // <img src=x onerror=alert(1)>\n}\n",
    )
    .expect("write");
    std::fs::write(work.join("NOTES"), "Hammer time\nnothing\n").expect("write");
    std::fs::write(work.join("logo.bin"), b"hammer\0\x01").expect("write");
    git(&work, &["add", "-A"]);
    git(&work, &["commit", "-qm", "code"]);
    git(&work, &["push", "-q", "origin", "main"]);

    let out = f.ok(&["repo", "grep", "-p", "tools/hammer", "hammer"]);
    assert_eq!(
        out,
        "src/main.rs:2:    swing_hammer(); // <img src=x onerror=alert(1)>\n"
    );
    let found = f.json(&["repo", "grep", "-p", "tools/hammer", "-i", "HAMMER"]);
    let paths: Vec<&str> = found["matches"]
        .as_array()
        .expect("matches")
        .iter()
        .filter_map(|m| m["path"].as_str())
        .collect();
    assert_eq!(paths, ["NOTES", "src/main.rs"]);
    assert_eq!(found["skipped"], 1, "{found}");
    let limited = f.json(&[
        "repo",
        "grep",
        "-p",
        "tools/hammer",
        "-i",
        "hammer",
        "--limit",
        "1",
    ]);
    assert_eq!(limited["stopped"], "matches");
    let err = f.fails(&["repo", "grep", "-p", "tools/hammer", "fn main("]);
    assert!(
        err.contains("pattern `fn main(`") && err.contains("unclosed group"),
        "{err}"
    );
    let out = f.ok(&["repo", "grep", "-p", "tools/hammer", "-F", "fn main("]);
    assert!(out.starts_with("src/main.rs:1:"), "{out}");

    let server = Server::start(&f);
    let (status, _, page) = get(&server, "/tools/hammer/grep?q=hammer&i=1");
    assert_eq!(status, 200, "{page}");
    assert!(
        page.contains("2 matching lines in 2 files searched"),
        "{page}"
    );
    assert!(
        page.contains(r##"href="/tools/hammer/blob/main/f/src/main.rs#_2""##),
        "{page}"
    );
    assert!(
        page.contains("&lt;img src=x onerror=alert(1)&gt;"),
        "{page}"
    );
    assert!(!page.contains("<img src=x"), "{page}");
    let (status, _, page) = get(&server, "/tools/hammer/grep?q=fn+main%28");
    assert_eq!(status, 200);
    assert!(page.contains("unclosed group"), "{page}");
    let (_, _, tree) = get(&server, "/tools/hammer/tree");
    assert!(tree.contains(r#"href="/tools/hammer/grep""#), "{tree}");

    f.ok(&[
        "--as",
        "alice",
        "project",
        "create",
        "secret/box",
        "--private",
    ]);
    let (status, _, _) = get(&server, "/secret/box/grep?q=x");
    assert_eq!(status, 404);
    let err = f.fails(&["--as", "bob", "repo", "grep", "-p", "secret/box", "x"]);
    assert!(err.contains("not found"), "{err}");
}
