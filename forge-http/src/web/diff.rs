//! Changed files as pages show them: each file's unified patch as a table
//! of lines with their old and new numbers (each new line an anchor), and
//! a pull request's inline comments under the lines they were made on;
//! comments on lines the patch no longer shows, or outdated ones, above it.

use std::collections::BTreeMap;

use forge_git::FileDiff;
use forge_tickets::PullCommentView;
use maud::{html, Markup};

use super::highlight::Highlighter;

/// Bytes of patch text one page highlights; the files past it are shown
/// plain, so that a pull request of a thousand files still comes quickly.
const PAGE_HIGHLIGHT_BUDGET: usize = 128 << 10;

/// One line of a patch.
#[derive(Debug, PartialEq, Eq)]
enum Line<'p> {
    /// `@@ -a,b +c,d @@ ...`
    Hunk(&'p str),
    /// A line both sides have, with its old and new numbers.
    Same(u32, u32, &'p str),
    /// A line added, with its new number.
    Added(u32, &'p str),
    /// A line removed, with its old number.
    Removed(u32, &'p str),
    /// `\ No newline at end of file` and the like.
    Note(&'p str),
}

/// The numbers a hunk header starts its two sides at.
fn hunk_start(header: &str) -> Option<(u32, u32)> {
    let mut parts = header.split_whitespace().skip(1);
    let old = parts.next()?.strip_prefix('-')?;
    let new = parts.next()?.strip_prefix('+')?;
    let first = |s: &str| s.split(',').next()?.parse::<u32>().ok();
    Some((first(old)?, first(new)?))
}

/// The lines of a unified patch (its `diff --git`/`---`/`+++` head left out).
fn lines(patch: &str) -> Vec<Line<'_>> {
    let mut out = Vec::new();
    let (mut old, mut new) = (0u32, 0u32);
    let mut in_hunk = false;
    for text in patch.lines() {
        if text.starts_with("@@") {
            if let Some((o, n)) = hunk_start(text) {
                (old, new) = (o, n);
                in_hunk = true;
                out.push(Line::Hunk(text));
            }
            continue;
        }
        if !in_hunk {
            continue;
        }
        match text.as_bytes().first() {
            Some(b'+') => {
                out.push(Line::Added(new, &text[1..]));
                new += 1;
            }
            Some(b'-') => {
                out.push(Line::Removed(old, &text[1..]));
                old += 1;
            }
            Some(b'\\') => out.push(Line::Note(text)),
            _ => {
                out.push(Line::Same(old, new, text.get(1..).unwrap_or_default()));
                old += 1;
                new += 1;
            }
        }
    }
    out
}

/// Each line's text highlighted: the new side's grammar state fed the
/// lines it has (kept and added), the old side's the lines it had (kept
/// and removed), so a string opened on one side colours that side only.
fn highlighted(path: &str, patch: &[Line<'_>], size: usize) -> Vec<Markup> {
    let first = patch
        .iter()
        .find_map(|l| match l {
            Line::Same(_, _, t) | Line::Added(_, t) | Line::Removed(_, t) => Some(*t),
            _ => None,
        })
        .unwrap_or("");
    let mut new = Highlighter::new(path, first, size);
    let mut old = Highlighter::new(path, first, size);
    patch
        .iter()
        .map(|l| match l {
            Line::Same(_, _, t) => {
                old.line(t);
                new.line(t)
            }
            Line::Added(_, t) => new.line(t),
            Line::Removed(_, t) => old.line(t),
            Line::Hunk(t) | Line::Note(t) => html! { (t) },
        })
        .collect()
}

/// Where a changed file's comments go: current ones by their new line.
type ByLine<'c> = BTreeMap<u32, Vec<&'c PullCommentView>>;

fn comment(c: &PullCommentView, rendered: &dyn Fn(&str) -> Markup) -> Markup {
    html! {
        div.inline-comment {
            div.muted {
                strong { (c.author) } " at " (c.created_at)
                @if c.outdated { " " span.tag { "outdated" } }
                @if let Some(line) = c.line { " · line " (line) }
            }
            div.markdown { (rendered(&c.body)) }
        }
    }
}

/// A file's comments: those at a line the patch shows, by line, and the
/// rest (outdated, or on lines out of the patch's context).
fn place<'c>(
    path: &str,
    patch: &[Line<'_>],
    comments: &'c [PullCommentView],
) -> (ByLine<'c>, Vec<&'c PullCommentView>) {
    let shown = |line: u32| {
        patch
            .iter()
            .any(|p| matches!(p, Line::Added(n, _) | Line::Same(_, n, _) if *n == line))
    };
    let mut here = ByLine::new();
    let mut elsewhere = Vec::new();
    for c in comments.iter().filter(|c| c.path.as_deref() == Some(path)) {
        match c.line {
            Some(line) if !c.outdated && shown(line) => here.entry(line).or_default().push(c),
            _ => elsewhere.push(c),
        }
    }
    (here, elsewhere)
}

/// The files changed, with `comments` (a pull request's) at their lines,
/// and for each file a form to comment on one of its lines when `form`
/// gives one (the form's action and hidden fields are the caller's).
pub(super) fn files(
    files: &[FileDiff],
    comments: &[PullCommentView],
    rendered: &dyn Fn(&str) -> Markup,
    form: Option<&dyn Fn(&str) -> Markup>,
) -> Markup {
    let mut budget = PAGE_HIGHLIGHT_BUDGET;
    let mut spend = |size: usize| match budget.checked_sub(size) {
        Some(left) => {
            budget = left;
            size
        }
        None => usize::MAX,
    };
    html! {
        h2 #files-head { "Files changed (" (files.len()) ")" }
        @for (i, f) in files.iter().enumerate() {
            @let path = f.new_path.as_deref().or(f.old_path.as_deref()).unwrap_or("");
            @let patch_lines = f.patch.as_deref().map(lines).unwrap_or_default();
            @let (here, elsewhere) = place(path, &patch_lines, comments);
            @let shown = highlighted(path, &patch_lines, spend(f.patch.as_ref().map_or(0, String::len)));
            section.box.file id={ "file-" (i + 1) } {
                div.head {
                    code { (path) }
                    @if let (Some(old), Some(new)) = (&f.old_path, &f.new_path) {
                        @if old != new { " " span.muted { "(was " code { (old) } ")" } }
                    }
                    " " span.muted { "+" (f.additions) " −" (f.deletions) }
                }
                @if !elsewhere.is_empty() {
                    div.body { @for c in &elsewhere { (comment(c, rendered)) } }
                }
                @match &f.patch {
                    Some(_) => {
                        div.scroll {
                            table.diff {
                                @for (l, text) in patch_lines.iter().zip(&shown) {
                                    @match l {
                                        Line::Hunk(_) => tr.hunk { td colspan="3" { (text) } },
                                        Line::Note(_) => tr.note { td colspan="3" { (text) } },
                                        Line::Same(o, n, _) => tr id={ "f" (i + 1) "-" (n) } {
                                            td.ln { (o) } td.ln { a href={ "#f" (i + 1) "-" (n) } { (n) } } td.code { " " (text) }
                                        },
                                        Line::Added(n, _) => tr.add id={ "f" (i + 1) "-" (n) } {
                                            td.ln {} td.ln { a href={ "#f" (i + 1) "-" (n) } { (n) } } td.code { "+" (text) }
                                        },
                                        Line::Removed(o, _) => tr.del { td.ln { (o) } td.ln {} td.code { "-" (text) } },
                                    }
                                    @if let Line::Added(n, _) | Line::Same(_, n, _) = l {
                                        @if let Some(cs) = here.get(n) {
                                            tr.comments { td colspan="3" { @for c in cs { (comment(c, rendered)) } } }
                                        }
                                    }
                                }
                            }
                        }
                    }
                    None if f.binary => div.body { p.muted { "Binary file" } },
                    None => div.body { p.muted { "Too large to show" } },
                }
                @if let (Some(form), Some(_)) = (form, &f.patch) { (form(path)) }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patch_lines_carry_both_numbers() {
        let patch = "diff --git a/x b/x\n--- a/x\n+++ b/x\n@@ -2,3 +2,3 @@ fn\n two\n-three\n+THREE\n four\n\\ No newline at end of file\n";
        assert_eq!(
            lines(patch),
            [
                Line::Hunk("@@ -2,3 +2,3 @@ fn"),
                Line::Same(2, 2, "two"),
                Line::Removed(3, "three"),
                Line::Added(3, "THREE"),
                Line::Same(4, 4, "four"),
                Line::Note("\\ No newline at end of file"),
            ]
        );
        assert_eq!(hunk_start("@@ -0,0 +1 @@"), Some((0, 1)));
        assert_eq!(hunk_start("@@ nonsense"), None);
        assert!(lines("+++ no hunk\n+x\n").is_empty());
    }

    #[test]
    fn each_side_keeps_its_own_grammar_state() {
        // The removed line opens a block comment; the added line after it
        // is code on the new side, not comment.
        let patch = "@@ -1,2 +1,2 @@\n-/* old\n+fn f() {}\n */\n";
        let parsed = lines(patch);
        let shown: Vec<String> = highlighted("a.rs", &parsed, patch.len())
            .into_iter()
            .map(Markup::into_string)
            .collect();
        assert_eq!(shown[0], "@@ -1,2 +1,2 @@");
        assert_eq!(shown[1], r#"<span class="hl-c">/* old</span>"#);
        assert!(
            shown[2].starts_with(r#"<span class="hl-t">fn</span>"#),
            "{}",
            shown[2]
        );
    }
}
