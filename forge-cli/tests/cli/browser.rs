//! The pages in a real headless Chromium, driven over WebDriver
//! (chromedriver) against `forge serve`: signing in and the issue flow with
//! JavaScript on and off, axe-core's accessibility audit of each kind of
//! page, and no horizontal scrolling at 390 px. `.ci/run` installs Debian's
//! `chromium` and `chromium-driver`, and axe-core from npm (named by
//! `FORGE_AXE_JS`). `FORGE_SCREENSHOTS=DIR` keeps a PNG of each audited page (and of a
//! line comment's preview).

use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};

use crate::http::Server;
use crate::{git, Forge};

/// A chromedriver on a free loopback port, stopped when dropped.
pub(crate) struct Driver {
    child: Child,
    url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Driver {
    pub(crate) fn start() -> Driver {
        for exe in ["/usr/bin/chromium", "/usr/bin/chromedriver"] {
            assert!(
                Path::new(exe).exists(),
                "{exe} is missing: apt-get install chromium chromium-driver (.ci/run does)"
            );
        }
        let port = crate::free_port();
        let child = Command::new("/usr/bin/chromedriver")
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let driver = Driver {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };
        let start = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "chromedriver did not listen"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        driver
    }

    /// A new headless browser: `js` whether it runs scripts, `width` of its
    /// window in CSS pixels.
    pub(crate) async fn browser(&self, js: bool, width: u32) -> Client {
        let mut options = json!({
            "binary": "/usr/bin/chromium",
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
                format!("--window-size={width},900"),
            ],
        });
        // Chromium keeps a window at least 500 px wide: a phone's width is
        // the emulated device's.
        if width < 500 {
            options["mobileEmulation"] =
                json!({"deviceMetrics": {"width": width, "height": 844, "pixelRatio": 1}});
        }
        if !js {
            options["prefs"] = json!({"profile.managed_default_content_settings.javascript": 2});
        }
        let mut caps = serde_json::Map::new();
        caps.insert("browserName".into(), json!("chrome"));
        caps.insert("goog:chromeOptions".into(), options);
        ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps)
            .connect(&self.url)
            .await
            .expect("a browser session")
    }
}

pub(crate) async fn fill(c: &Client, css: &str, text: &str) {
    let field = c.find(Locator::Css(css)).await.expect(css);
    field.clear().await.expect("clear");
    field.send_keys(text).await.expect("type");
}

/// Clicks what `css` finds and waits for the next page to load (the old
/// page's body goes stale).
async fn click(c: &Client, css: &str) {
    let old = c.find(Locator::Css("body")).await.expect("body");
    c.find(Locator::Css(css))
        .await
        .expect(css)
        .click()
        .await
        .expect("click");
    let start = Instant::now();
    while old.text().await.is_ok() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "clicking {css} led nowhere"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    c.wait()
        .for_element(Locator::Css("footer"))
        .await
        .expect("the next page");
}

pub(crate) async fn text(c: &Client) -> String {
    c.find(Locator::Css("body"))
        .await
        .expect("body")
        .text()
        .await
        .expect("text")
}

async fn path(c: &Client) -> String {
    let url = c.current_url().await.expect("url");
    match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_string(),
    }
}

/// Signs in on the login page, the way a person does.
pub(crate) async fn sign_in(c: &Client, base: &str, user: &str, password: &str) {
    c.goto(&format!("{base}/login")).await.expect("login page");
    fill(c, "#username", user).await;
    fill(c, "#password", password).await;
    click(c, "form[action='/login'] button[type=submit]").await;
}

/// Signs in, opens an issue, comments, edits its tags, closes it: what
/// a person does, in the browser `c`.
async fn issue_flow(c: &Client, base: &str, title: &str) {
    sign_in(c, base, "alice", "alice's password").await;
    assert_eq!(path(c).await, "/");
    assert!(text(c).await.contains("Sign out"));

    c.goto(&format!("{base}/tools/hammer/issues"))
        .await
        .expect("issues");
    click(c, "a.button[href='/tools/hammer/new_issue']").await;
    fill(c, "#title", title).await;
    fill(c, "#issue_content", "The head is **loose**").await;
    fill(c, "#tag", "bug").await;
    click(
        c,
        "form[action='/tools/hammer/new_issue'] button[type=submit]",
    )
    .await;
    let at = path(c).await;
    assert!(at.starts_with("/tools/hammer/issue/"), "{at}");
    let body = text(c).await;
    assert!(
        body.contains(title) && body.contains("The head is loose"),
        "{body}"
    );

    fill(c, "#comment", "Glue will *not* hold").await;
    click(
        c,
        &format!("form[action='{at}/comment'] button[type=submit]"),
    )
    .await;
    assert_eq!(path(c).await, at);
    let body = text(c).await;
    assert!(body.contains("Glue will not hold"), "{body}");

    fill(c, "#tags", "bug, urgent").await;
    click(c, &format!("form[action='{at}'] button[type=submit]")).await;
    assert_eq!(path(c).await, at);
    let tags: Vec<String> = {
        let mut out = Vec::new();
        for t in c.find_all(Locator::Css("aside .tag")).await.expect("tags") {
            out.push(t.text().await.expect("tag"));
        }
        out
    };
    assert_eq!(tags, ["bug", "urgent"]);

    click(c, &format!("form[action='{at}/status'] button")).await;
    assert_eq!(path(c).await, at);
    let body = text(c).await;
    assert!(
        body.contains("closed") && body.contains("Reopen issue"),
        "{body}"
    );

    // Signing out ends it: the forms are gone.
    click(c, "form[action='/logout'] button").await;
    assert_eq!(path(c).await, "/");
    c.goto(&format!("{base}{at}")).await.expect("issue");
    let body = text(c).await;
    assert!(
        body.contains("Sign in to comment") && !body.contains("Sign out"),
        "{body}"
    );
}

/// A project with files, a branch and a pull request, served, with
/// passwords for alice and bob.
pub(crate) fn served_project() -> (Forge, Server) {
    let f = Forge::with_project();
    for (user, password) in [("alice", "alice's password"), ("bob", "bob's password")] {
        let mut child = f
            .command(&["user", "passwd", user])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .expect("forge runs");
        use std::io::Write as _;
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(format!("{password}\n").as_bytes())
            .expect("write");
        assert!(child.wait().expect("forge ends").success());
    }
    let work = f.work_clone();
    std::fs::create_dir_all(work.join("src")).expect("mkdir");
    std::fs::write(work.join("README.md"), "# hammer\n\nA *hammer*.\n").expect("write");
    std::fs::write(
        work.join("src/main.rs"),
        "fn main() {\n    println!(\"bang\");\n}\n",
    )
    .expect("write");
    git(&work, &["add", "-A"]);
    git(&work, &["commit", "-qm", "Start the hammer"]);
    git(&work, &["push", "-q", "origin", "main"]);
    git(&work, &["checkout", "-q", "-b", "steel"]);
    std::fs::write(work.join("README.md"), "# hammer\n\nA *steel* hammer.\n").expect("write");
    git(&work, &["commit", "-qam", "Steel head"]);
    git(&work, &["push", "-q", "origin", "steel"]);
    f.ok(&[
        "--as",
        "alice",
        "pr",
        "new",
        "-p",
        "tools/hammer",
        "--title",
        "Steel head",
        "--from",
        "steel",
    ]);
    // A branch no request names yet, for the compare page.
    git(&work, &["checkout", "-q", "-b", "wood", "main"]);
    std::fs::write(
        work.join("src/main.rs"),
        "fn main() {\n    println!(\"thud\");\n}\n",
    )
    .expect("write");
    git(&work, &["commit", "-qam", "Wooden mallet"]);
    git(&work, &["push", "-q", "origin", "wood"]);
    f.ok(&[
        "--as",
        "alice",
        "issue",
        "new",
        "-p",
        "tools/hammer",
        "--title",
        "Wobbles",
        "--body",
        "It *wobbles*",
    ]);
    f.ok(&["--as", "bob", "project", "fork", "tools/hammer"]);
    let server = Server::start(&f);
    (f, server)
}

pub(crate) fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

#[test]
fn the_issue_flow_works_in_a_browser_with_and_without_javascript() {
    let (_f, server) = served_project();
    let base = format!("http://{}", server.addr);
    let driver = Driver::start();
    runtime().block_on(async {
        for (js, title) in [(true, "Head flies off"), (false, "Handle splits")] {
            let c = driver.browser(js, 1280).await;
            issue_flow(&c, &base, title).await;
            c.close().await.expect("close");
        }
    });
}

#[test]
fn a_pull_request_is_opened_reviewed_and_merged_in_a_browser() {
    let (f, server) = served_project();
    let base = format!("http://{}", server.addr);
    let driver = Driver::start();
    runtime().block_on(async {
        let c = driver.browser(true, 1280).await;
        sign_in(&c, &base, "alice", "alice's password").await;
        // From the branches page to the compare page, and a request.
        c.goto(&format!("{base}/tools/hammer/branches"))
            .await
            .expect("branches");
        click(&c, "a[href='/tools/hammer/diff/main..wood']").await;
        let body = text(&c).await;
        assert!(
            body.contains("Wooden mallet") && body.contains("thud"),
            "{body}"
        );
        let commit = c
            .find(Locator::Css("a[href^='/tools/hammer/c/']"))
            .await
            .expect("the branch's commit")
            .attr("href")
            .await
            .expect("href")
            .expect("a link");
        fill(&c, "#initial_comment", "Softer on the nails").await;
        click(
            &c,
            "form[action='/tools/hammer/pull-request/new'] button[type=submit]",
        )
        .await;
        let at = path(&c).await;
        assert!(at.starts_with("/tools/hammer/pull-request/"), "{at}");
        let n: String = at.rsplit('/').next().expect("number").to_string();

        // An inline comment on line 2 of the new file: a click on the
        // line's number opens the form under it (the script), whose
        // preview renders the Markdown as the server does, the commit's
        // short id linked to the commit.
        c.find(Locator::Css("#f1-2 td.ln a"))
            .await
            .expect("line 2's number")
            .click()
            .await
            .expect("click it");
        let row = c
            .find(Locator::Css("#f1-2 + tr.line-form-row input[name=row]"))
            .await
            .expect("the form under line 2");
        assert_eq!(
            row.prop("value").await.expect("value").as_deref(),
            Some("2")
        );
        let short = &commit.rsplit('/').next().expect("id")[..8];
        fill(
            &c,
            "details.line-form textarea",
            &format!("Is *thud* the right word? (since {short})"),
        )
        .await;
        c.find(Locator::Css("tr.line-form-row .preview-toggle"))
            .await
            .expect("the preview button")
            .click()
            .await
            .expect("preview");
        let shown = c
            .wait()
            .for_element(Locator::Css("tr.line-form-row .preview em"))
            .await
            .expect("the preview")
            .text()
            .await
            .expect("text");
        assert_eq!(shown, "thud");
        if let Some(dir) = std::env::var_os("FORGE_SCREENSHOTS") {
            std::fs::create_dir_all(&dir).expect("screenshots folder");
            let png = c.screenshot().await.expect("screenshot");
            std::fs::write(Path::new(&dir).join("line-comment-preview.png"), png).expect("write");
        }
        c.find(Locator::Css(&format!(
            "tr.line-form-row .preview a[href='{commit}']"
        )))
        .await
        .expect("the commit linked in the preview");
        c.find(Locator::Css("tr.line-form-row .preview-toggle"))
            .await
            .expect("the edit button")
            .click()
            .await
            .expect("back to the text");
        click(&c, "details.line-form button[type=submit]").await;
        let row = c
            .find(Locator::Css("#f1-2 + tr.comments"))
            .await
            .expect("the comment under line 2")
            .text()
            .await
            .expect("text");
        assert!(row.contains("Is thud the right word?"), "{row}");

        // CI flags it (over the API, as a CI does); bob votes +1 (its
        // author may not, and is not offered to).
        f.ok(&[
            "--as",
            "alice",
            "pr",
            "flag",
            "-p",
            "tools/hammer",
            &n,
            "--name",
            "ci",
            "--status",
            "success",
            "--percent",
            "100",
        ]);
        assert!(c.find(Locator::Css("form[action$='/vote']")).await.is_err());
        let bob = driver.browser(true, 1280).await;
        sign_in(&bob, &base, "bob", "bob's password").await;
        bob.goto(&format!("{base}{at}")).await.expect("the request");
        click(&bob, "form[action$='/vote'] button[value=up]").await;
        bob.close().await.expect("close");
        c.goto(&format!("{base}{at}")).await.expect("reload");
        let score = c
            .find(Locator::Css("dd.score"))
            .await
            .expect("score")
            .text()
            .await
            .expect("text");
        assert_eq!(score, "1");
        let flag = c
            .find(Locator::Css("dd.flag"))
            .await
            .expect("flag")
            .text()
            .await
            .expect("text");
        assert!(flag.contains("success") && flag.contains("100%"), "{flag}");

        // Merge it, squashed.
        c.find(Locator::Css("#strategy"))
            .await
            .expect("strategy")
            .select_by_value("squash")
            .await
            .expect("choose");
        click(&c, "form[action$='/merge'] button").await;
        let body = text(&c).await;
        assert!(
            body.contains("merged") && body.contains("Merged as"),
            "{body}"
        );

        // alice's pushes show on her heatmap; a day leads to its commits.
        c.goto(&format!("{base}/user/alice"))
            .await
            .expect("user page");
        let mut busy = Vec::new();
        for cell in c
            .find_all(Locator::Css("svg.heatmap rect"))
            .await
            .expect("cells")
        {
            let count = cell.attr("data-count").await.expect("count");
            if count.as_deref().is_some_and(|n| n != "0") {
                busy.push(cell);
            }
        }
        assert!(!busy.is_empty(), "no day with commits on the heatmap");
        let label = c
            .find(Locator::Css("svg.heatmap"))
            .await
            .expect("heatmap")
            .attr("aria-label")
            .await
            .expect("label")
            .unwrap_or_default();
        assert!(
            label.contains("in the past year") && !label.starts_with("0 "),
            "{label}"
        );
        let day = busy.last().expect("a busy day");
        let old = c.find(Locator::Css("body")).await.expect("body");
        // An SVG link: clicked as the browser's own event would.
        c.execute(
            "arguments[0].parentNode.dispatchEvent(new MouseEvent('click', {bubbles: true}));",
            vec![serde_json::to_value(day).expect("element")],
        )
        .await
        .expect("click the day");
        let start = Instant::now();
        while old.text().await.is_ok() {
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "the day led nowhere"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let body = text(&c).await;
        assert!(
            body.contains("Commits on ") && body.contains("in tools/hammer"),
            "{body}"
        );
        c.close().await.expect("close");
    });
    let log = git(
        &f.home().join("repos/tools/hammer.git"),
        &["log", "--format=%s", "-1", "main"],
    );
    assert!(log.contains("Wooden mallet"), "{log}");
}

/// axe-core's audit of the page `c` shows: the serious and critical
/// violations, one line each.
async fn audit(c: &Client, axe: &str) -> Vec<String> {
    c.execute(&format!("{axe}\n;return true;"), vec![])
        .await
        .expect("axe loads");
    let found = c
        .execute_async(
            "const done = arguments[arguments.length - 1];
             axe.run(document, {resultTypes: ['violations']}).then(r => done(
               r.violations.filter(v => v.impact === 'serious' || v.impact === 'critical')
                 .map(v => v.id + ': ' + v.help + ' at ' +
                      v.nodes.map(n => n.target.join(' ')).join(', '))));",
            vec![],
        )
        .await
        .expect("axe runs");
    match found {
        Value::Array(lines) => lines
            .into_iter()
            .map(|l| l.as_str().unwrap_or_default().to_string())
            .collect(),
        other => vec![format!("unexpected answer from axe: {other}")],
    }
}

#[test]
fn every_kind_of_page_passes_axe_and_fits_a_phone() {
    let axe_path = std::env::var("FORGE_AXE_JS").unwrap_or_else(|_| {
        panic!(
            "FORGE_AXE_JS names no axe.min.js: run the tests with `bash .ci/run`, or \
             `npm install axe-core` and set it to node_modules/axe-core/axe.min.js"
        )
    });
    let axe = std::fs::read_to_string(&axe_path).expect("axe.min.js");
    let shots = std::env::var_os("FORGE_SCREENSHOTS").map(std::path::PathBuf::from);
    let (f, server) = served_project();
    let base = format!("http://{}", server.addr);
    // A webhook with a delivery in its log, for its page.
    let receiver = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let hook_url = format!("http://{}/in", receiver.local_addr().expect("addr"));
    std::thread::spawn(move || {
        use std::io::{Read as _, Write as _};
        for stream in receiver.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut buf = [0u8; 65536];
            let _ = stream.read(&mut buf);
            let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
        }
    });
    let private = |args: &[&str]| {
        let out = f
            .command(args)
            .env("FORGE_WEBHOOKS_ALLOW_PRIVATE", "1")
            .output()
            .expect("forge runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    private(&[
        "--as",
        "alice",
        "webhook",
        "add",
        "-p",
        "tools/hammer",
        &hook_url,
    ]);
    f.ok(&[
        "--as",
        "alice",
        "issue",
        "comment",
        "-p",
        "tools/hammer",
        "2",
        "--body",
        "Noted",
    ]);
    private(&["worker", "--once"]);
    private(&[
        "--as",
        "alice",
        "ci",
        "set",
        "-p",
        "tools/hammer",
        "jenkins",
        "--url",
        &hook_url,
        "--job",
        "hammer",
        "--token",
        "t0ken",
    ]);
    let hooks = f.json(&["--as", "alice", "webhook", "list", "-p", "tools/hammer"]);
    let deliveries = format!(
        "/tools/hammer/settings/webhooks/{}",
        hooks[0]["id"].as_i64().expect("id")
    );
    let driver = Driver::start();
    let pages = [
        ("home", "/"),
        ("login", "/login"),
        ("project", "/tools/hammer"),
        ("tree", "/tools/hammer/tree"),
        ("file", "/tools/hammer/blob/main/f/src/main.rs"),
        ("commits", "/tools/hammer/commits/main"),
        ("blame", "/tools/hammer/blame/src/main.rs"),
        ("branches", "/tools/hammer/branches"),
        ("issues", "/tools/hammer/issues"),
        ("issue", "/tools/hammer/issue/2"),
        ("new-issue", "/tools/hammer/new_issue"),
        ("pulls", "/tools/hammer/pull-requests"),
        ("pull", "/tools/hammer/pull-request/1"),
        ("compare", "/tools/hammer/diff/main..wood"),
        ("commit", "/tools/hammer/c/main"),
        ("user", "/user/alice"),
        ("settings", "/settings"),
        ("project-settings", "/tools/hammer/settings"),
        ("webhook-deliveries", deliveries.as_str()),
        ("fork", "/fork/bob/tools/hammer"),
        ("fork-compare", "/fork/bob/tools/hammer/diff/main..wood"),
        ("search", "/?q=hammer"),
        ("code-search", "/tools/hammer/grep?q=fn&i=1"),
        ("not-found", "/tools/hammer/issue/999"),
    ];
    runtime().block_on(async {
        let mut problems = Vec::new();
        for (width, signed_in) in [(1280, true), (390, false), (390, true)] {
            let c = driver.browser(true, width).await;
            if signed_in {
                sign_in(&c, &base, "alice", "alice's password").await;
            }
            for (name, at) in &pages {
                c.goto(&format!("{base}{at}")).await.expect("page");
                for v in audit(&c, &axe).await {
                    problems.push(format!("{at} ({width}px): {v}"));
                }
                let widths = c
                    .execute(
                        "return [window.innerWidth, document.documentElement.scrollWidth];",
                        vec![],
                    )
                    .await
                    .expect("widths");
                assert_eq!(widths[0], json!(width), "the window's width");
                let overflow = widths[1].as_i64().unwrap_or(i64::MAX) - i64::from(width);
                if overflow > 0 {
                    problems.push(format!(
                        "{at} ({width}px): scrolls sideways by {overflow}px"
                    ));
                }
                if let Some(dir) = &shots {
                    std::fs::create_dir_all(dir).expect("screenshots folder");
                    let png = c.screenshot().await.expect("screenshot");
                    let who = if signed_in { "alice" } else { "anonymous" };
                    std::fs::write(dir.join(format!("{name}-{width}-{who}.png")), png)
                        .expect("write");
                }
            }
            c.close().await.expect("close");
        }
        assert!(problems.is_empty(), "{}", problems.join("\n"));
    });
}

#[test]
fn an_admin_sets_a_ci_server_on_the_settings_page_and_sees_its_callback_once() {
    let (f, server) = served_project();
    let base = format!("http://{}", server.addr);
    let shots = std::env::var_os("FORGE_SCREENSHOTS").map(std::path::PathBuf::from);
    let driver = Driver::start();
    runtime().block_on(async {
        let c = driver.browser(true, 1280).await;
        sign_in(&c, &base, "alice", "alice's password").await;
        c.goto(&format!("{base}/tools/hammer/settings"))
            .await
            .expect("settings");
        assert!(text(&c)
            .await
            .contains("None: pull requests are flagged only"));
        fill(&c, "#ci-url", "http://8.8.8.8:8080/jenkins").await;
        fill(&c, "#ci-job", "tools/hammer").await;
        fill(&c, "#ci-token", "page-s3kr1t").await;
        click(
            &c,
            "form[action='/tools/hammer/ci/set'] button[type=submit]",
        )
        .await;
        let page = text(&c).await;
        assert!(
            page.contains("Jenkins calls back at this address"),
            "{page}"
        );
        let callback = format!("{base}/api/0/ci/jenkins/tools/hammer/");
        assert!(page.contains(&callback), "{page}");
        assert!(page.contains("built by jenkins job tools/hammer"), "{page}");
        assert!(!page.contains("page-s3kr1t"), "{page}");
        if let Some(dir) = &shots {
            std::fs::create_dir_all(dir).expect("screenshots folder");
            c.execute("document.getElementById('ci').scrollIntoView();", vec![])
                .await
                .expect("scroll");
            let png = c.screenshot().await.expect("screenshot");
            std::fs::write(dir.join("ci-settings.png"), png).expect("write");
        }
        // Shown once: the page again has no callback address.
        c.goto(&format!("{base}/tools/hammer/settings"))
            .await
            .expect("settings");
        let page = text(&c).await;
        assert!(!page.contains(&callback), "{page}");
        let html = c.source().await.expect("source");
        assert!(
            !html.contains("page-s3kr1t"),
            "the token is never sent back"
        );
        click(
            &c,
            "form[action='/tools/hammer/ci/remove'] button[type=submit]",
        )
        .await;
        assert!(text(&c)
            .await
            .contains("None: pull requests are flagged only"));
        c.close().await.expect("close");
    });
    let shown = f.ok(&["--as", "alice", "ci", "show", "-p", "tools/hammer"]);
    assert!(shown.contains("has no CI server"), "{shown}");
}

#[test]
fn a_docs_html_file_runs_no_script_in_a_browser() {
    let f = Forge::with_project();
    crate::docs::push_docs(
        &f,
        "tools/hammer",
        &[
            ("index.md", "# Docs\n\n[the page](page.html)\n"),
            ("page.html", "<html><head><title>calm</title></head><body><p id=p>static</p><script>document.title='ran';document.getElementById('p').textContent='ran'</script></body></html>"),
        ],
    );
    let docs_addr = format!("127.0.0.1:{}", crate::free_port());
    let _server =
        Server::from(f.command(&["serve", "--bind", "127.0.0.1:0", "--docs-bind", &docs_addr]));
    let start = Instant::now();
    while TcpStream::connect(&docs_addr).is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "the docs server did not listen"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let driver = Driver::start();
    runtime().block_on(async {
        let c = driver.browser(true, 1280).await;
        c.goto(&format!("http://{docs_addr}/tools/hammer/"))
            .await
            .expect("docs");
        c.find(Locator::Css("a[href='page.html']"))
            .await
            .expect("the link")
            .click()
            .await
            .expect("follow it");
        let shown = c
            .wait()
            .for_element(Locator::Css("#p"))
            .await
            .expect("the page")
            .text()
            .await
            .expect("text");
        assert_eq!(shown, "static", "the page's script did not run");
        assert_eq!(c.title().await.expect("title"), "calm");
        c.close().await.expect("close");
    });
}
