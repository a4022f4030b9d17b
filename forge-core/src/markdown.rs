//! Markdown as forge shows it, one function for pages, docs and e-mail:
//! GitHub's flavour (tables, task lists, strikethrough, footnotes, bare
//! `http(s)://` links) rendered with pulldown-cmark, references (`#12`,
//! `@alice`, commit ids) linked where the caller says they lead, and the
//! HTML sanitized with ammonia, so that no user text can bring script,
//! frames, forms or `javascript:` links onto a page.

use std::collections::HashSet;

use pulldown_cmark::{CowStr, Event, LinkType, Options, Parser, Tag, TagEnd};

/// Something a text may refer to, for the caller to link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reference<'a> {
    /// `#12`: an issue or pull request of the project.
    Item(u64),
    /// `@alice`: a user.
    User(&'a str),
    /// 7 to 40 hex digits: perhaps a commit.
    Commit(&'a str),
}

/// Renders `markdown` to sanitized HTML. `link` answers where a reference
/// leads (`None`: it stays plain text). Raw HTML in the text is sanitized
/// like the rest: what is safe stays, the rest goes.
pub fn render(markdown: &str, link: &dyn Fn(Reference<'_>) -> Option<String>) -> String {
    let options = Options::ENABLE_TABLES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_FOOTNOTES
        | Options::ENABLE_GFM;
    let mut events = Vec::new();
    // Inside code and links, text is left as it is.
    let mut plain_depth = 0usize;
    for event in Parser::new_ext(markdown, options) {
        match event {
            Event::Start(tag @ (Tag::CodeBlock(_) | Tag::Link { .. } | Tag::Image { .. })) => {
                plain_depth += 1;
                events.push(Event::Start(tag));
            }
            Event::End(end @ (TagEnd::CodeBlock | TagEnd::Link | TagEnd::Image)) => {
                plain_depth = plain_depth.saturating_sub(1);
                events.push(Event::End(end));
            }
            Event::Text(text) if plain_depth == 0 => linked(&text, link, &mut events),
            // A task's box as a character: no `<input>` is ever let through
            // the sanitizer, so none can come from the text either.
            Event::TaskListMarker(done) => events.push(Event::Text(CowStr::from(if done {
                "☑ "
            } else {
                "☐ "
            }))),
            other => events.push(other),
        }
    }
    let mut html = String::with_capacity(markdown.len() * 2);
    pulldown_cmark::html::push_html(&mut html, events.into_iter());
    sanitizer().clean(&html).to_string()
}

/// The sanitizer: ammonia's safe tags and attributes, links only to
/// `http`, `https` and `mailto` (or relative), `rel="nofollow noopener
/// noreferrer"` on every link.
fn sanitizer() -> ammonia::Builder<'static> {
    let mut b = ammonia::Builder::default();
    b.url_schemes(HashSet::from(["http", "https", "mailto"]))
        .link_rel(Some("nofollow noopener noreferrer"));
    b
}

/// Pushes `text` as events, its references and bare URLs as links.
fn linked<'t>(
    text: &CowStr<'t>,
    link: &dyn Fn(Reference<'_>) -> Option<String>,
    out: &mut Vec<Event<'t>>,
) {
    let s: &str = text;
    let bytes = s.as_bytes();
    let mut plain_from = 0;
    let mut i = 0;
    while i < bytes.len() {
        let after_word = i > 0 && is_word(bytes[i - 1]);
        let found = if after_word {
            None
        } else {
            reference_at(s, i, link)
        };
        match found {
            Some((end, url)) => {
                if plain_from < i {
                    out.push(Event::Text(CowStr::from(s[plain_from..i].to_string())));
                }
                out.push(Event::Start(Tag::Link {
                    link_type: LinkType::Inline,
                    dest_url: CowStr::from(url),
                    title: CowStr::from(""),
                    id: CowStr::from(""),
                }));
                out.push(Event::Text(CowStr::from(s[i..end].to_string())));
                out.push(Event::End(TagEnd::Link));
                plain_from = end;
                i = end;
            }
            None => i += s[i..].chars().next().map_or(1, char::len_utf8),
        }
    }
    if plain_from == 0 {
        out.push(Event::Text(text.clone()));
    } else if plain_from < bytes.len() {
        out.push(Event::Text(CowStr::from(s[plain_from..].to_string())));
    }
}

fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// A reference or bare URL starting at byte `i` of `s` that leads
/// somewhere: where it ends, and the URL.
fn reference_at(
    s: &str,
    i: usize,
    link: &dyn Fn(Reference<'_>) -> Option<String>,
) -> Option<(usize, String)> {
    let rest = &s[i..];
    let run = |from: usize, ok: fn(u8) -> bool| {
        from + rest.as_bytes()[from..]
            .iter()
            .take_while(|b| ok(**b))
            .count()
    };
    if let Some(digits) = rest.strip_prefix('#') {
        let n = digits.bytes().take_while(u8::is_ascii_digit).count();
        let end = 1 + n;
        if n == 0 || n > 9 || rest.as_bytes().get(end).is_some_and(|b| is_word(*b)) {
            return None;
        }
        let number: u64 = digits[..n].parse().ok()?;
        return link(Reference::Item(number)).map(|url| (i + end, url));
    }
    if rest.starts_with('@') {
        let end = run(1, |b| {
            b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.')
        });
        // A name does not end with a full stop (the end of a sentence).
        let end = 1 + rest[1..end].trim_end_matches('.').len();
        if end == 1 {
            return None;
        }
        return link(Reference::User(&rest[1..end])).map(|url| (i + end, url));
    }
    if rest.starts_with("http://") || rest.starts_with("https://") {
        let end = run(0, |b| b > b' ' && !matches!(b, b'<' | b'>' | b'"'));
        // Trailing punctuation belongs to the sentence.
        let url = rest[..end].trim_end_matches(['.', ',', ';', ':', '!', '?', ')', '\'']);
        if url.len() <= "https://".len() {
            return None;
        }
        return Some((i + url.len(), url.to_string()));
    }
    let hex = run(0, |b| b.is_ascii_hexdigit());
    let ends_word = rest.as_bytes().get(hex).is_none_or(|b| !is_word(*b));
    if (7..=40).contains(&hex) && ends_word && rest[..hex].bytes().any(|b| b.is_ascii_digit()) {
        return link(Reference::Commit(&rest[..hex])).map(|url| (i + hex, url));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn links(r: Reference<'_>) -> Option<String> {
        match r {
            Reference::Item(n) if n < 100 => Some(format!("/tools/hammer/issue/{n}")),
            Reference::User("alice") => Some("/user/alice".into()),
            Reference::Commit(c) if c.starts_with("abc1234") => {
                Some(format!("/tools/hammer/c/{c}"))
            }
            _ => None,
        }
    }

    #[test]
    fn github_flavour_renders() {
        let html = render(
            "| a | b |\n|---|---|\n| 1 | 2 |\n\n- [x] done\n- [ ] todo\n\n~~gone~~ **bold**",
            &links,
        );
        for part in [
            "<table>",
            "<td>1</td>",
            "<del>gone</del>",
            "<strong>bold</strong>",
        ] {
            assert!(html.contains(part), "{part} in {html}");
        }
        assert!(html.contains("☑ done") && html.contains("☐ todo"), "{html}");
    }

    #[test]
    fn references_link_where_the_caller_says() {
        let html = render(
            "Fixes #12, thanks @alice. See abc1234 and https://example.org/x. Not #1000, @bob, a#3, mail@alice.org",
            &links,
        );
        assert!(
            html.contains(
                r##"<a href="/tools/hammer/issue/12" rel="nofollow noopener noreferrer">#12</a>"##
            ),
            "{html}"
        );
        assert!(
            html.contains(
                r#"<a href="/user/alice" rel="nofollow noopener noreferrer">@alice</a>."#
            ),
            "{html}"
        );
        assert!(html.contains(r#"href="/tools/hammer/c/abc1234""#), "{html}");
        assert!(html.contains(r#"<a href="https://example.org/x" rel="nofollow noopener noreferrer">https://example.org/x</a>."#), "{html}");
        for plain in ["#1000", "@bob", "a#3", "mail@alice.org"] {
            assert!(html.contains(plain), "{plain} in {html}");
        }
        assert_eq!(html.matches("<a ").count(), 4, "{html}");
        // Nothing is linked inside code.
        let code = render("`#12` and\n\n```\n@alice #12\n```", &links);
        assert!(!code.contains("<a "), "{code}");
    }

    #[test]
    fn script_never_survives() {
        for text in [
            "<script>alert(1)</script>",
            "<img src=x onerror=alert(1)>",
            "[x](javascript:alert(1))",
            "<a href=\"data:text/html,<script>alert(1)</script>\">x</a>",
            "<iframe src=https://example.org></iframe>",
            "<form action=/x><input type=submit></form>",
        ] {
            let html = render(text, &links);
            for bad in [
                "<script",
                "onerror",
                "javascript:",
                "data:",
                "<iframe",
                "<form",
                "submit",
            ] {
                assert!(!html.contains(bad), "{bad} from {text}: {html}");
            }
        }
    }
}
