//! The README's quick start command runs to the end, then serves the demo
//! home: a new user can clone it over HTTP and post an issue to it.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::process::{Command, Stdio};

#[test]
fn the_quick_start_demo_runs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/demo.sh");
    let out = Command::new("bash")
        .arg(script)
        .current_dir(dir.path())
        .env("FORGE", env!("CARGO_BIN_EXE_forge"))
        .env_remove("FORGE_HOME")
        .env_remove("FORGE_USER")
        .env("FORGE_DEMO_SERVE", "0")
        .output()
        .expect("bash runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("opened issue #1 in demo/hammer"),
        "{stdout}"
    );
    assert!(stdout.contains("issue.closed"), "{stdout}");
    assert!(
        stdout.contains("merged pull request #2 into main") && stdout.contains("closed issue #1"),
        "the pull request fixes the issue: {stdout}"
    );
    assert!(stdout.contains("pr.merged"), "{stdout}");
    assert!(
        dir.path().join("forge-data/forge.db").exists(),
        "the demo uses ./forge-data"
    );
}

#[test]
fn the_quick_start_ends_serving_the_demo_home() {
    let dir = tempfile::tempdir().expect("tempdir");
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/demo.sh");
    let mut child = KillOnDrop(
        Command::new("bash")
            .arg(script)
            .current_dir(dir.path())
            .env("FORGE", env!("CARGO_BIN_EXE_forge"))
            .env("FORGE_DEMO_BIND", "127.0.0.1:0")
            .env("FORGE_DEMO_DOCS_BIND", "127.0.0.1:0")
            .env_remove("FORGE_HOME")
            .env_remove("FORGE_USER")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("bash runs"),
    );
    let child = &mut child.0;
    // The demo's output up to the token it prints; the server keeps stdout open.
    let mut out_lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let mut token = String::new();
    let password = loop {
        let line = out_lines
            .next()
            .expect("the demo prints a token and a password")
            .expect("line");
        if let Some(t) = line.split("export TOKEN=").nth(1) {
            token = t.trim().to_string();
        }
        if let Some(p) = line.split("as alice with the password: ").nth(1) {
            break p.trim().to_string();
        }
    };
    std::thread::spawn(move || for _ in out_lines.by_ref() {});
    let mut lines = BufReader::new(child.stderr.take().expect("stderr")).lines();
    let addr = loop {
        let line = lines.next().expect("the server starts").expect("line");
        if let Some(rest) = line.split("on http://").nth(1) {
            break rest.split_whitespace().next().expect("address").to_string();
        }
    };
    let docs = loop {
        let line = lines.next().expect("the docs server starts").expect("line");
        if let Some(rest) = line.split("docs on http://").nth(1) {
            break rest.split_whitespace().next().expect("address").to_string();
        }
    };
    std::thread::spawn(move || for _ in lines.by_ref() {});
    let (status, _, body) = crate::docs::get(&docs, "/demo/hammer/", "");
    assert_eq!(status, 200, "{body}");
    assert!(
        body.contains("<strong>handle</strong>"),
        "the demo's docs: {body}"
    );
    let clone = dir.path().join("clone");
    let out = Command::new("git")
        .args(["clone", "-q", &format!("http://{addr}/demo/hammer.git")])
        .arg(&clone)
        .env("GIT_TERMINAL_PROMPT", "0")
        .output()
        .expect("git");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(clone.join("README").exists());
    let body = "title=Hello&issue_content=From+the+quick+start";
    let mut stream = std::net::TcpStream::connect(&addr).expect("connect");
    write!(
        stream,
        "POST /api/0/demo/hammer/new_issue HTTP/1.1\r\nHost: {addr}\r\nAuthorization: token {token}\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .expect("send");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).expect("read");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("\"message\":\"Issue created\""), "{answer}");
    // The project's page, as a browser gets it.
    let mut stream = std::net::TcpStream::connect(&addr).expect("connect");
    write!(
        stream,
        "GET /demo/hammer HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .expect("send");
    let mut page = String::new();
    stream.read_to_string(&mut page).expect("read");
    assert!(page.starts_with("HTTP/1.1 200"), "{page}");
    assert!(
        page.contains("text/html") && page.contains("<h1>demo/hammer"),
        "{page}"
    );
    assert!(page.contains("wedge: steel"), "the README: {page}");
    // `#2` is the pull request: its issue link leads on to it.
    let mut stream = std::net::TcpStream::connect(&addr).expect("connect");
    write!(
        stream,
        "GET /demo/hammer/issue/2 HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .expect("send");
    let mut moved = String::new();
    stream.read_to_string(&mut moved).expect("read");
    assert!(moved.starts_with("HTTP/1.1 303"), "{moved}");
    assert!(
        moved
            .to_ascii_lowercase()
            .contains("location: /demo/hammer/pull-request/2"),
        "{moved}"
    );
    // The password the demo printed signs alice in.
    let form = exchange(&addr, "GET /login HTTP/1.1", "");
    let login_cookie = set_cookie(&form, "forge_login_csrf");
    let body = format!(
        "csrf_token={login_cookie}&username=alice&password={password}&next=%2Fdemo%2Fhammer"
    );
    let signed = exchange(
        &addr,
        &format!(
            "POST /login HTTP/1.1\r\nCookie: forge_login_csrf={login_cookie}\r\n\
             Content-Type: application/x-www-form-urlencoded"
        ),
        &body,
    );
    assert!(signed.starts_with("HTTP/1.1 303"), "{signed}");
    let session = set_cookie(&signed, "forge_session");
    let page = exchange(
        &addr,
        &format!("GET /demo/hammer HTTP/1.1\r\nCookie: forge_session={session}"),
        "",
    );
    assert!(
        page.contains(r#"<a href="/user/alice">alice</a>"#) && page.contains("Sign out"),
        "{page}"
    );
}

/// One HTTP/1.1 exchange with `addr`: the whole answer, head and body.
fn exchange(addr: &str, head: &str, body: &str) -> String {
    let mut stream = std::net::TcpStream::connect(addr).expect("connect");
    write!(
        stream,
        "{head}\r\nHost: {addr}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .expect("send");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).expect("read");
    answer
}

/// The value a `Set-Cookie` header of `answer` gives cookie `name`.
fn set_cookie<'a>(answer: &'a str, name: &str) -> &'a str {
    let at = answer
        .find(&format!("set-cookie: {name}="))
        .unwrap_or_else(|| panic!("no {name} cookie: {answer}"));
    let rest = &answer[at + "set-cookie: ".len() + name.len() + 1..];
    &rest[..rest.find(';').expect("attributes")]
}

struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
