//! Live pages in a real headless Chromium (the browser tests' driver): an
//! open issue or pull-request page shows what is posted elsewhere — through
//! the API, or a `git push` — without a reload, keeping the reader's place
//! and what they typed.

use std::path::Path;
use std::time::{Duration, Instant};

use fantoccini::{Client, Locator};
use serde_json::json;

use crate::browser::{fill, runtime, served_project, sign_in, text, Driver};
use crate::git;

/// Scrolls to `y` and reads back where the page is.
async fn scroll_to(c: &Client, y: i64) -> i64 {
    c.execute(
        "window.scrollTo(0, arguments[0]); return window.scrollY;",
        vec![json!(y)],
    )
    .await
    .expect("scroll")
    .as_i64()
    .unwrap_or_default()
}

/// Waits until the page's text holds `wanted` (posted elsewhere: no
/// navigation here).
async fn appears(c: &Client, wanted: &str) {
    let start = Instant::now();
    while !text(c).await.contains(wanted) {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "{wanted:?} did not appear on the open page"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[test]
fn open_issue_and_pull_request_pages_show_what_others_post_without_a_reload() {
    let (f, server) = served_project();
    let base = format!("http://{}", server.addr);
    let token = f.json(&[
        "--as",
        "alice",
        "token",
        "create",
        "--acl",
        "issue_comment",
        "--acl",
        "issue_change_status",
        "--acl",
        "pull_request_comment",
        "--acl",
        "pull_request_flag",
    ])["token"]
        .as_str()
        .expect("token")
        .to_string();
    // Enough comments that the page scrolls.
    for n in 0..12 {
        f.ok(&[
            "--as",
            "alice",
            "issue",
            "comment",
            "-p",
            "tools/hammer",
            "2",
            "--body",
            &format!("Comment number {n}, long enough to take some room on the page."),
        ]);
    }
    let driver = Driver::start();
    runtime().block_on(async {
        let c = driver.browser(true, 1280).await;
        sign_in(&c, &base, "bob", "bob's password").await;
        c.goto(&format!("{base}/tools/hammer/issue/2"))
            .await
            .expect("issue page");
        c.wait()
            .for_element(Locator::Css("footer"))
            .await
            .expect("loaded");
        // Something typed and not sent yet, and a place in the page.
        fill(&c, "#comment", "my half-written reply").await;
        let y = scroll_to(&c, 300).await;
        assert!(y > 0, "the page scrolls");
        // Give the page a moment to open its stream, then post elsewhere.
        tokio::time::sleep(Duration::from_millis(500)).await;
        let (status, body) = server.raw(
            "POST",
            "/api/0/tools/hammer/issue/2/comment",
            Some(&token),
            Some((
                "application/x-www-form-urlencoded",
                "comment=Posted+through+the+API+while+you+read",
            )),
        );
        assert_eq!(status, 200, "{body}");
        appears(&c, "Posted through the API while you read").await;
        let (status, body) = server.raw(
            "POST",
            "/api/0/tools/hammer/issue/2/status",
            Some(&token),
            Some(("application/x-www-form-urlencoded", "status=Closed")),
        );
        assert_eq!(status, 200, "{body}");
        let start = Instant::now();
        loop {
            let state = c
                .find(Locator::Css("#state .state"))
                .await
                .expect("state")
                .text()
                .await
                .expect("text");
            if state == "closed" {
                break;
            }
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "the status did not change: {state}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let y_after: i64 = c
            .execute("return window.scrollY;", vec![])
            .await
            .expect("scrollY")
            .as_i64()
            .unwrap_or_default();
        assert_eq!(y_after, y, "the reader's place did not move");
        let typed = c
            .find(Locator::Css("#comment"))
            .await
            .expect("comment box")
            .prop("value")
            .await
            .expect("value");
        assert_eq!(typed.as_deref(), Some("my half-written reply"));
        if let Ok(dir) = std::env::var("FORGE_SCREENSHOTS") {
            let png = c.screenshot().await.expect("screenshot");
            std::fs::write(Path::new(&dir).join("live-issue.png"), png).expect("write png");
        }

        // A pull request's page: a comment and a flag posted elsewhere.
        c.goto(&format!("{base}/tools/hammer/pull-request/1"))
            .await
            .expect("pull request page");
        c.wait()
            .for_element(Locator::Css("footer"))
            .await
            .expect("loaded");
        tokio::time::sleep(Duration::from_millis(500)).await;
        let (status, body) = server.raw(
            "POST",
            "/api/0/tools/hammer/pull-request/1/comment",
            Some(&token),
            Some((
                "application/x-www-form-urlencoded",
                "comment=Reviewed+from+the+API",
            )),
        );
        assert_eq!(status, 200, "{body}");
        appears(&c, "Reviewed from the API").await;
        let (status, body) = server.raw(
            "POST",
            "/api/0/tools/hammer/pull-request/1/flag",
            Some(&token),
            Some((
                "application/x-www-form-urlencoded",
                "username=Buildbot&status=failure&percent=0&comment=Tests+failed+on+arm64",
            )),
        );
        assert_eq!(status, 200, "{body}");
        appears(&c, "Tests failed on arm64").await;
        // A new commit pushed to the request's branch: its title in the
        // commits, its file among the files changed.
        let work = f.dir.path().join("work");
        git(&work, &["checkout", "-q", "steel"]);
        std::fs::write(work.join("GRIP.md"), "Rubber grip.\n").expect("write");
        git(&work, &["add", "GRIP.md"]);
        git(&work, &["commit", "-qm", "Add a rubber grip"]);
        git(&work, &["push", "-q", "origin", "steel"]);
        appears(&c, "Add a rubber grip").await;
        appears(&c, "GRIP.md").await;
        if let Ok(dir) = std::env::var("FORGE_SCREENSHOTS") {
            let png = c.screenshot().await.expect("screenshot");
            std::fs::write(Path::new(&dir).join("live-pull-request.png"), png).expect("write png");
        }
        c.close().await.expect("close");
    });
}
