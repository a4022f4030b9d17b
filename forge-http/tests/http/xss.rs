//! The XSS corpus (`forge-core/tests/fixtures/xss`, MIT) through the pages:
//! every payload as an issue's title, body and comment, a user's full name
//! and a project's description; each page that shows them, parsed as a
//! browser would, holds no element that can run script or send a form
//! beyond the page's own, no `on*` attribute and no `javascript:`,
//! `vbscript:` or `data:` URL.

use std::collections::BTreeMap;

use forge_core::Store;
use forge_tickets::{Actor, NewIssue, Tracker};
use scraper::Html;

use crate::{fixture, request_with};

const ACTIVE: &[&str] = &[
    "script", "iframe", "object", "embed", "base", "form", "frame", "frameset", "meta", "link",
    "style", "svg", "math", "button", "textarea", "select", "applet", "input",
];

const URL_ATTRIBUTES: &[&str] = &[
    "href",
    "src",
    "action",
    "formaction",
    "srcset",
    "xlink:href",
    "poster",
    "background",
    "data",
    "cite",
    "longdesc",
];

/// How many of each active element a page has, and the first attribute
/// that could run script, if any.
fn census(html: &str) -> (BTreeMap<String, usize>, Option<String>) {
    let doc = Html::parse_document(html);
    let mut counts = BTreeMap::new();
    let mut bad = None;
    for node in doc.tree.nodes() {
        let Some(e) = node.value().as_element() else {
            continue;
        };
        if ACTIVE.contains(&e.name()) {
            *counts.entry(e.name().to_string()).or_insert(0) += 1;
        }
        for (attr, value) in e.attrs() {
            let url: String = value
                .chars()
                .filter(|c| !c.is_control() && !c.is_whitespace())
                .collect::<String>()
                .to_ascii_lowercase();
            let scripted = attr.to_ascii_lowercase().starts_with("on")
                || (URL_ATTRIBUTES.contains(&attr)
                    && ["javascript:", "vbscript:", "data:"]
                        .iter()
                        .any(|s| url.starts_with(s)));
            if scripted && bad.is_none() {
                bad = Some(format!("<{} {attr}={value:?}>", e.name()));
            }
        }
    }
    (counts, bad)
}

/// The corpus in one-line chunks of at most 255 bytes (a title's limit).
fn chunks() -> Vec<String> {
    let corpus = include_str!("../../../forge-core/tests/fixtures/xss/xss-payload-list.txt");
    let mut out: Vec<String> = Vec::new();
    let mut current = String::new();
    for line in corpus.lines() {
        let mut line: String = line.chars().filter(|c| !c.is_control()).collect();
        while line.len() > 255 {
            line.pop();
        }
        let line = line.trim().to_string();
        if line.is_empty() {
            continue;
        }
        if current.len() + line.len() + 1 > 255 {
            out.push(std::mem::take(&mut current));
        }
        if !current.is_empty() {
            current.push(' ');
        }
        current.push_str(&line);
    }
    out.push(current);
    out
}

#[test]
fn no_payload_of_the_xss_corpus_reaches_a_page_as_script() {
    let f = fixture();
    let home = &f.app.home;
    let store = Store::open(&home.db_path()).expect("store");
    let project = store.project("hammer").expect("hammer");
    let tracker = Tracker::open_for_project(&store, home, &project).expect("tracker");
    let alice = Actor::for_user(&store, &project, "alice").expect("alice");
    let chunks = chunks();
    // The baseline: the same pages with harmless text.
    let page = |path: &str| {
        let (status, _, body) = request_with(&f, "GET", path, &[], "");
        assert_eq!(status, 200, "{path}");
        String::from_utf8(body.to_vec()).expect("utf-8")
    };
    let (issue_base, _) = census(&page("/hammer/issue/1"));
    let (list_base, _) = census(&page("/hammer/issues"));
    let (home_base, _) = census(&page("/"));
    let (user_base, _) = census(&page("/user/alice"));

    let mut numbers = Vec::new();
    for chunk in &chunks {
        let body = chunk.replace(' ', "\n\n");
        let made = tracker
            .create_issue(
                &alice,
                NewIssue {
                    body: body.clone(),
                    ..NewIssue::titled(chunk)
                },
            )
            .expect("issue");
        tracker
            .comment(
                &alice,
                made.number,
                &format!("- {}", chunk.replace(' ', "\n- ")),
            )
            .expect("comment");
        numbers.push(made.number);
    }
    store.set_full_name("alice", &chunks[0]).expect("full name");
    let described = forge_tickets::NewProject {
        full_name: "described".into(),
        description: chunks[1].clone(),
        owner: "alice".into(),
        ..Default::default()
    };
    forge_tickets::create_project(&store, home, &described, None).expect("project");

    let mut problems = Vec::new();
    let mut check = |path: &str, base: &BTreeMap<String, usize>| {
        let (counts, bad) = census(&page(path));
        if let Some(bad) = bad {
            problems.push(format!("{path}: {bad}"));
        }
        if &counts != base {
            problems.push(format!("{path}: {counts:?} where the page has {base:?}"));
        }
    };
    for n in &numbers {
        check(&format!("/hammer/issue/{n}"), &issue_base);
    }
    for p in 1..=numbers.len().div_ceil(50) {
        check(&format!("/hammer/issues?page={p}"), &list_base);
    }
    let (project_base, _) = census(&page("/hammer"));
    check("/described", &project_base);
    check("/", &home_base);
    check("/user/alice", &user_base);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn no_payload_of_the_xss_corpus_comes_back_from_the_preview_as_script() {
    let f = fixture();
    let mut b = crate::accounts::Browser::new(&f);
    b.sign_in("alice", "alice's password");
    let csrf = b.csrf_of("/hammer/issue/1");
    let corpus = include_str!("../../../forge-core/tests/fixtures/xss/xss-payload-list.txt");
    let mut parts = vec![String::new()];
    for line in corpus.lines() {
        let part = parts.last_mut().expect("a part");
        part.push_str(line);
        part.push_str("\n\n");
        if part.len() > 100_000 {
            parts.push(String::new());
        }
    }
    let mut sent = 0;
    for part in &parts {
        let shown = b.post(
            "/hammer/markdown",
            &[("content", part), ("csrf_token", &csrf)],
        );
        assert_eq!(shown.status, 200, "{}", shown.body);
        let (active, scripted) = census(&shown.body);
        assert!(active.is_empty(), "{active:?}");
        assert_eq!(scripted, None);
        sent += part.len();
    }
    assert!(sent >= corpus.len(), "the whole corpus was sent");
}
