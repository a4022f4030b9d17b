//! The code pages over real HTTP on a project with pushed files: a folder,
//! a file (escaped, with line anchors), its raw bytes (plain text in a
//! sandbox, whatever the file holds), the history and one commit.

use crate::http::Server;
use crate::{clone_as, git, Forge};

/// GET `path`: status, head, body.
fn get(server: &Server, path: &str) -> (u16, String, String) {
    crate::docs::get(&server.addr, path, "")
}

#[test]
fn code_pages_show_files_and_never_serve_them_as_pages() {
    let f = Forge::with_project();
    let work = f.dir.path().join("work");
    clone_as(&f.home().join("repos/tools/hammer.git"), &work, "alice");
    git(&work, &["checkout", "-q", "-b", "main"]);
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
