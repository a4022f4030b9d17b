//! Syntax highlighting on the server, with syntect's grammars: each line
//! comes out on its own (no element spans two lines, so line anchors and
//! diff rows stay whole), its tokens in a handful of short classes
//! (`hl-k` keyword, `hl-s` string, ...) that the stylesheet colours. A
//! file past [`FILE_LIMIT`], or from a line past [`LINE_LIMIT`] on, is
//! shown plain: grammars are regular expressions, and their cost grows
//! with what they read.

use std::sync::OnceLock;

use maud::{html, Markup};
use syntect::parsing::{
    BasicScopeStackOp, ParseState, Scope, ScopeStack, SyntaxReference, SyntaxSet,
};

/// Largest file highlighted, in bytes.
pub(crate) const FILE_LIMIT: usize = 256 << 10;
/// Longest line highlighted, in bytes; the rest of the file is plain.
pub(crate) const LINE_LIMIT: usize = 2_000;

fn syntaxes() -> &'static SyntaxSet {
    static SET: OnceLock<SyntaxSet> = OnceLock::new();
    SET.get_or_init(SyntaxSet::load_defaults_newlines)
}

/// Scope prefixes and the class of their tokens, the first match of the
/// innermost scope winning.
fn classes() -> &'static [(Scope, &'static str)] {
    static CLASSES: OnceLock<Vec<(Scope, &'static str)>> = OnceLock::new();
    CLASSES.get_or_init(|| {
        [
            ("comment", "c"),
            ("string", "s"),
            ("constant.numeric", "n"),
            ("constant.language", "n"),
            ("constant.character", "s"),
            ("keyword", "k"),
            ("storage", "t"),
            ("entity.name.function", "f"),
            ("support.function", "f"),
            ("entity.name", "t"),
            ("support.type", "t"),
            ("support.class", "t"),
            ("entity.other.attribute-name", "a"),
            ("markup.heading", "k"),
            ("markup.inserted", "s"),
            ("markup.deleted", "d"),
            ("variable.language", "n"),
        ]
        .iter()
        .filter_map(|(s, c)| Scope::new(s).ok().map(|s| (s, *c)))
        .collect()
    })
}

fn class_of(stack: &ScopeStack) -> Option<&'static str> {
    stack.as_slice().iter().rev().find_map(|scope| {
        classes()
            .iter()
            .find(|(prefix, _)| prefix.is_prefix_of(*scope))
            .map(|(_, c)| *c)
    })
}

/// The grammar for a file named `path` whose first line is `first`.
fn syntax_for(path: &str, first: &str) -> Option<&'static SyntaxReference> {
    let set = syntaxes();
    let name = path.rsplit('/').next().unwrap_or(path);
    let ext = name.rsplit_once('.').map_or(name, |(_, e)| e);
    set.find_syntax_by_extension(ext)
        .or_else(|| set.find_syntax_by_extension(name))
        .or_else(|| set.find_syntax_by_first_line(first))
        .filter(|s| s.name != "Plain Text")
}

/// One file's highlighting, fed its lines in order.
pub(crate) struct Highlighter {
    state: Option<(ParseState, ScopeStack)>,
}

impl Highlighter {
    /// A highlighter for `path` (plain for an unknown kind of file or one
    /// of `size` bytes past the limit).
    pub(crate) fn new(path: &str, first_line: &str, size: usize) -> Highlighter {
        let state = (size <= FILE_LIMIT)
            .then(|| syntax_for(path, first_line))
            .flatten()
            .map(|s| (ParseState::new(s), ScopeStack::new()));
        Highlighter { state }
    }

    /// The next line (without its end of line), as markup.
    pub(crate) fn line(&mut self, line: &str) -> Markup {
        let Some((parser, stack)) = &mut self.state else {
            return html! { (line) };
        };
        if line.len() > LINE_LIMIT {
            self.state = None;
            return html! { (line) };
        }
        let with_newline = format!("{line}\n");
        let Ok(ops) = parser.parse_line(&with_newline, syntaxes()) else {
            self.state = None;
            return html! { (line) };
        };
        // Runs of text (start, end) with the class in force over each,
        // neighbours of one class joined.
        let mut runs: Vec<(usize, usize, Option<&'static str>)> = Vec::new();
        let push =
            |runs: &mut Vec<(usize, usize, Option<&'static str>)>, from, to, class| match runs
                .last_mut()
            {
                Some(last) if last.2 == class => last.1 = to,
                _ => runs.push((from, to, class)),
            };
        let mut at = 0;
        for (i, op) in &ops {
            let i = (*i).min(line.len());
            if i > at {
                push(&mut runs, at, i, class_of(stack));
                at = i;
            }
            if stack
                .apply_with_hook(op, |_: BasicScopeStackOp, _| {})
                .is_err()
            {
                self.state = None;
                return html! { (line) };
            }
        }
        if at < line.len() {
            push(&mut runs, at, line.len(), class_of(stack));
        }
        html! {
            @for (from, to, class) in runs {
                @let text = &line[from..to];
                @match class {
                    Some(c) => span class={ "hl-" (c) } { (text) },
                    None => (text),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(path: &str, text: &str) -> Vec<String> {
        let mut h = Highlighter::new(path, text.lines().next().unwrap_or(""), text.len());
        text.lines().map(|l| h.line(l).into_string()).collect()
    }

    #[test]
    fn lines_are_highlighted_whole_and_escaped() {
        let lines = render(
            "main.rs",
            "// a <b> comment\nfn main() { let s = \"x\"; }\n",
        );
        assert_eq!(
            lines[0],
            r#"<span class="hl-c">// a &lt;b&gt; comment</span>"#
        );
        assert_eq!(
            lines[1],
            r#"<span class="hl-t">fn</span> <span class="hl-f">main</span>() { <span class="hl-t">let</span> s <span class="hl-k">=</span> <span class="hl-s">&quot;x&quot;</span>; }"#
        );
        // A comment over two lines: each line closes its own spans.
        let lines = render("a.c", "/* one\ntwo */ int x;\n");
        for l in &lines {
            assert_eq!(
                l.matches("<span").count(),
                l.matches("</span>").count(),
                "{l}"
            );
        }
        assert!(
            lines[1].starts_with(r#"<span class="hl-c">two */</span>"#),
            "{}",
            lines[1]
        );
    }

    #[test]
    fn unknown_large_and_long_are_plain() {
        assert_eq!(render("notes.unknownext", "a < b"), ["a &lt; b"]);
        let mut big = Highlighter::new("main.rs", "fn", FILE_LIMIT + 1);
        assert_eq!(big.line("fn x").into_string(), "fn x");
        let long = format!("let x = \"{}\";", "a".repeat(LINE_LIMIT));
        let lines = render("main.rs", &format!("{long}\nfn main() {{}}\n"));
        assert_eq!(lines[0], long.replace('"', "&quot;"));
        assert!(!lines[1].contains("<span"), "plain from the long line on");
    }
}
