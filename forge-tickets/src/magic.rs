//! "Magic words" in pull-request bodies and commit messages: `Fixes #12`,
//! `Closes #3`, `Resolves #7` close an issue when the change is merged;
//! `Relates #4` only links it.

/// What a reference to an issue asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum IssueReference {
    /// Close the issue when merged.
    Closes(u64),
    /// Link the issue without closing it.
    Relates(u64),
}

impl IssueReference {
    /// The issue it names.
    pub fn number(self) -> u64 {
        match self {
            IssueReference::Closes(n) | IssueReference::Relates(n) => n,
        }
    }
}

const CLOSING: &[&str] = &[
    "fix", "fixes", "fixed", "close", "closes", "closed", "resolve", "resolves", "resolved",
];
const RELATING: &[&str] = &["relate", "relates", "related", "relates to", "related to"];

/// The issue references in `text`, in order of appearance, without repeats.
/// A keyword matches case-insensitively as a whole word, followed by an
/// optional `:`, white space and one or more `#N` separated by commas or
/// `and` (`Fixes #1, #2 and #3`).
pub fn issue_references(text: &str) -> Vec<IssueReference> {
    let lower = text.to_ascii_lowercase();
    let bytes = lower.as_bytes();
    let mut out: Vec<IssueReference> = Vec::new();
    // Seen references, so that a text naming thousands stays linear.
    let mut seen = std::collections::HashSet::new();
    let mut i = 0;
    while i < bytes.len() {
        let at_word_start = i == 0 || !bytes[i - 1].is_ascii_alphanumeric();
        if !at_word_start || !bytes[i].is_ascii_alphabetic() {
            i += 1;
            continue;
        }
        // Longest keyword first, so "relates to" wins over "relates".
        let mut matched: Option<(usize, bool)> = None;
        for (words, closing) in [(CLOSING, true), (RELATING, false)] {
            for kw in words.iter() {
                let end = i + kw.len();
                let whole = lower[i..].starts_with(kw)
                    && bytes.get(end).is_none_or(|b| !b.is_ascii_alphanumeric());
                if whole && matched.is_none_or(|(len, _)| kw.len() > len) {
                    matched = Some((kw.len(), closing));
                }
            }
        }
        let Some((len, closing)) = matched else {
            i += 1;
            continue;
        };
        let mut j = i + len;
        if bytes.get(j) == Some(&b':') {
            j += 1;
        }
        // The keyword and the first number are separated by white space.
        if !bytes.get(j).is_some_and(|b| *b == b' ' || *b == b'\t') {
            i = j;
            continue;
        }
        loop {
            while bytes.get(j).is_some_and(|b| *b == b' ' || *b == b'\t') {
                j += 1;
            }
            if bytes.get(j) != Some(&b'#') {
                break;
            }
            let start = j + 1;
            let mut end = start;
            while bytes.get(end).is_some_and(u8::is_ascii_digit) {
                end += 1;
            }
            let Ok(n) = lower[start..end].parse::<u64>() else {
                break;
            };
            if bytes.get(end).is_some_and(|b| b.is_ascii_alphanumeric()) {
                break;
            }
            let r = if closing {
                IssueReference::Closes(n)
            } else {
                IssueReference::Relates(n)
            };
            if seen.insert(r) {
                out.push(r);
            }
            j = end;
            // Separators between several numbers: ",", "and", ", and".
            while bytes.get(j).is_some_and(|b| *b == b' ' || *b == b',') {
                j += 1;
            }
            if lower[j..].starts_with("and ") {
                j += 4;
            }
        }
        i = j.max(i + 1);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::IssueReference::{Closes, Relates};
    use super::*;

    fn check(text: &str, expected: &[IssueReference]) {
        assert_eq!(issue_references(text), expected, "{text:?}");
    }

    #[test]
    fn keywords_and_numbers() {
        check("Fixes #12", &[Closes(12)]);
        check("fix: #3", &[Closes(3)]);
        check(
            "This CLOSES #7 and relates to #8.",
            &[Closes(7), Relates(8)],
        );
        check("Resolves #1, #2 and #3", &[Closes(1), Closes(2), Closes(3)]);
        check("Relates #4", &[Relates(4)]);
        check("fixes #5\nfixes #5", &[Closes(5)]);
        check("Fixed #10 (see #11)", &[Closes(10)]);
    }

    #[test]
    fn near_misses_do_not_count() {
        check("prefixes #12", &[]);
        check("Fixes 12", &[]);
        check("Fixes #12abc", &[]);
        check("fixes#12", &[]);
        check("Unfixes #1", &[]);
        check("#12 fixes nothing", &[]);
        check("Fixes #", &[]);
        check("Fixes #99999999999999999999999", &[]);
    }

    #[test]
    fn any_text_is_safe() {
        check("é Fixes #1 ü", &[Closes(1)]);
        check("Fixé #1 — closes #2 ✓", &[Closes(2)]);
        check("", &[]);
        check("#", &[]);
        check("fixes", &[]);
        check("closes:", &[]);
    }
}
