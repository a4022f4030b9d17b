//! The docs server (`forge serve --docs-bind`): public projects' docs
//! repositories on their own origin, Markdown sanitized, files in a
//! sandbox, private projects and cookies left alone.

use std::io::{Read as _, Write as _};
use std::net::TcpStream;

use crate::http::Server;
use crate::{git, Forge};

/// One GET to `addr`, with `extra` headers; the status, the head and the body.
pub(crate) fn get(addr: &str, path: &str, extra: &str) -> (u16, String, String) {
    let mut stream = TcpStream::connect(addr).expect("connect");
    let req = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n{extra}\r\n");
    stream.write_all(req.as_bytes()).expect("send");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).expect("read");
    let (head, body) = answer.split_once("\r\n\r\n").expect("a head");
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status");
    (status, head.to_ascii_lowercase(), body.to_string())
}

pub(crate) fn push_docs(f: &Forge, project: &str, files: &[(&str, &str)]) {
    let work = f
        .dir
        .path()
        .join(format!("docs-{}", project.replace('/', "-")));
    std::fs::create_dir_all(&work).expect("mkdir");
    git(&work, &["init", "-q", "-b", "main"]);
    git(&work, &["config", "user.name", "alice"]);
    git(&work, &["config", "user.email", "alice@example.org"]);
    for (path, text) in files {
        let file = work.join(path);
        std::fs::create_dir_all(file.parent().expect("parent")).expect("mkdir");
        std::fs::write(file, text).expect("write");
    }
    git(&work, &["add", "-A"]);
    git(&work, &["commit", "-qm", "Docs"]);
    let repo = f.home().join(format!("docs/{project}.git"));
    git(
        &work,
        &["push", "-q", repo.to_str().expect("utf-8"), "main"],
    );
}

#[test]
fn the_docs_server_serves_public_docs_on_its_own_origin_and_runs_no_script() {
    let f = Forge::with_project();
    f.ok_line("--as alice project create secret --private");
    push_docs(
        &f,
        "tools/hammer",
        &[
            ("index.md", "# Hammer docs\n\nSee [usage](usage/).\n\n<script>alert(1)</script><img src=x onerror=alert(2)>\n"),
            ("usage/index.md", "Swing it.\n"),
            ("evil.html", "<html><body><script>document.title='ran'</script></body></html>"),
            ("logo.svg", "<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'></svg>"),
        ],
    );
    push_docs(&f, "secret", &[("index.md", "# Secret plans\n")]);
    let docs_addr = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
        l.local_addr().expect("addr").to_string()
    };
    let server =
        Server::from(f.command(&["serve", "--bind", "127.0.0.1:0", "--docs-bind", &docs_addr]));
    // Wait for the docs listener.
    let start = std::time::Instant::now();
    while TcpStream::connect(&docs_addr).is_err() {
        assert!(
            start.elapsed().as_secs() < 20,
            "the docs server did not listen"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }

    let (status, _, body) = get(&docs_addr, "/", "");
    assert_eq!(status, 200);
    assert!(body.contains(r#"href="/tools/hammer/""#), "{body}");
    assert!(
        !body.contains("secret"),
        "private projects are not listed: {body}"
    );

    let (status, head, _) = get(&docs_addr, "/tools/hammer", "");
    assert_eq!(status, 301);
    assert!(head.contains("location: /tools/hammer/"), "{head}");
    let cookie = "Cookie: forge_session=abcdef\r\n";
    let (status, head, body) = get(&docs_addr, "/tools/hammer/", cookie);
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("<h1>Hammer docs</h1>"), "{body}");
    assert!(
        !body.contains("<script") && !body.contains("onerror"),
        "sanitized: {body}"
    );
    assert!(
        head.contains("content-security-policy: default-src 'none'"),
        "{head}"
    );
    assert!(!head.contains("set-cookie"), "{head}");
    let (status, _, body) = get(&docs_addr, "/tools/hammer/usage/", "");
    assert_eq!(status, 200);
    assert!(body.contains("Swing it."), "{body}");

    for file in ["/tools/hammer/evil.html", "/tools/hammer/logo.svg"] {
        let (status, head, _) = get(&docs_addr, file, "");
        assert_eq!(status, 200);
        assert!(
            head.contains("content-security-policy: sandbox;"),
            "{file}: {head}"
        );
        assert!(head.contains("x-content-type-options: nosniff"), "{head}");
    }
    assert_eq!(
        get(&docs_addr, "/secret/", "").0,
        404,
        "private docs are not served"
    );
    assert_eq!(get(&docs_addr, "/tools/hammer/missing.md", "").0, 404);
    assert_eq!(get(&docs_addr, "/tools/hammer/../../etc/passwd", "").0, 404);
    // The application itself still answers on its own address.
    assert_eq!(server.raw("GET", "/tools/hammer", None, None).0, 200);
}
