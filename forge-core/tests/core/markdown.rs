//! The XSS corpus (`tests/fixtures/xss`, payloads collected by İsmail
//! Taşdelen, MIT) through `markdown::render`, each payload in the places a
//! user's text goes (a paragraph, emphasis, a link's text and target, an
//! image, a table cell, a reference): the HTML that comes out, parsed as a
//! browser would, holds no element that can run script or send a form, no
//! `on*` attribute and no `javascript:`, `vbscript:` or `data:` URL.

use forge_core::markdown::{render, Reference};
use scraper::Html;

const FORBIDDEN: &[&str] = &[
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

/// What a browser would read as a URL's scheme: control and space
/// characters dropped, lower case.
fn scheme_of(url: &str) -> String {
    url.chars()
        .filter(|c| !c.is_control() && !c.is_whitespace())
        .collect::<String>()
        .to_ascii_lowercase()
}

/// Why `html` could run script, if it could.
fn danger(html: &str) -> Option<String> {
    let fragment = Html::parse_fragment(html);
    for node in fragment.tree.nodes() {
        let Some(element) = node.value().as_element() else {
            continue;
        };
        let name = element.name();
        if FORBIDDEN.contains(&name) {
            return Some(format!("<{name}>"));
        }
        for (attr, value) in element.attrs() {
            if attr.to_ascii_lowercase().starts_with("on") {
                return Some(format!("attribute {attr}"));
            }
            if URL_ATTRIBUTES.contains(&attr) {
                let url = scheme_of(value);
                if ["javascript:", "vbscript:", "data:"]
                    .iter()
                    .any(|s| url.starts_with(s))
                {
                    return Some(format!("{attr}={value}"));
                }
            }
        }
    }
    None
}

fn links(r: Reference<'_>) -> Option<String> {
    Some(match r {
        Reference::Item(n) => format!("/tools/hammer/issue/{n}"),
        Reference::User(u) => format!("/user/{u}"),
        Reference::Commit(c) => format!("/tools/hammer/c/{c}"),
    })
}

#[test]
fn no_payload_of_the_xss_corpus_renders_script() {
    let corpus = include_str!("../fixtures/xss/xss-payload-list.txt");
    let places: &[fn(&str) -> String] = &[
        |p| p.to_string(),
        |p| format!("**{p}** and _{p}_"),
        |p| format!("[{p}](https://example.org)"),
        |p| format!("[x]({p})"),
        |p| format!("![x]({p})"),
        |p| format!("| a |\n|---|\n| {p} |"),
        |p| format!("#1 @alice {p} abc1234"),
    ];
    let mut checked = 0;
    for payload in corpus.lines().filter(|l| !l.trim().is_empty()) {
        for place in places {
            let text = place(payload);
            let html = render(&text, &links);
            if let Some(why) = danger(&html) {
                panic!("{why} from {text:?}: {html}");
            }
            checked += 1;
        }
    }
    assert!(checked > 40_000, "{checked} renders checked");
}

/// The check itself finds what it is for.
#[test]
fn the_check_sees_script() {
    for html in [
        "<script>alert(1)</script>",
        "<img src=x onerror=alert(1)>",
        "<a href=\" java\tscript:alert(1)\">x</a>",
        "<iframe></iframe>",
        "<input type=checkbox>",
    ] {
        assert!(danger(html).is_some(), "{html}");
    }
    assert_eq!(danger("<p><a href=\"/x\">x</a></p>"), None);
}
