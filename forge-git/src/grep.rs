//! Code search: the lines of the files at a commit that match a pattern,
//! bounded in time, matches, file size and line length, so that no
//! repository or pattern can hold a server thread for long.

use std::time::{Duration, Instant};

use git2::{ObjectType, TreeWalkMode, TreeWalkResult};

use crate::repo::{CommitId, Repo};
use crate::Error;

/// How a search reads its pattern and where it stops.
#[derive(Debug, Clone)]
pub struct GrepOptions {
    /// The pattern is plain text, not a regular expression.
    pub fixed: bool,
    /// Letters match whatever their case.
    pub ignore_case: bool,
    /// Matching lines reported at most.
    pub max_matches: usize,
    /// Time searched at most.
    pub time_limit: Duration,
    /// Files larger than this are not read.
    pub max_file_bytes: u64,
}

impl Default for GrepOptions {
    fn default() -> Self {
        GrepOptions {
            fixed: false,
            ignore_case: false,
            max_matches: 200,
            time_limit: Duration::from_secs(2),
            max_file_bytes: 1 << 20,
        }
    }
}

/// One matching line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrepMatch {
    /// The file's path.
    pub path: String,
    /// Its line number, from 1.
    pub line: usize,
    /// The line (at most [`MAX_LINE`] characters, then `…`).
    pub text: String,
}

/// What a search found and why it stopped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GrepResult {
    /// Matching lines, in path order.
    pub matches: Vec<GrepMatch>,
    /// Files read.
    pub files: usize,
    /// Binary files and files over the size limit, not read.
    pub skipped: usize,
    /// Why it stopped before the end: `"matches"` (the limit was reached)
    /// or `"time"`; `None` when every file was searched.
    pub stopped: Option<&'static str>,
}

/// Characters of a matching line kept.
pub const MAX_LINE: usize = 300;

/// Longest pattern taken.
const MAX_PATTERN: usize = 1000;

impl Repo {
    /// Searches the files at `commit` for lines matching `pattern` (a
    /// regular expression of the `regex` crate — linear time whatever the
    /// pattern — or plain text with `fixed`).
    pub fn grep(
        &self,
        commit: CommitId,
        pattern: &str,
        options: &GrepOptions,
    ) -> Result<GrepResult, Error> {
        let bad = |reason: String| Error::BadPattern {
            pattern: pattern.chars().take(80).collect(),
            reason,
        };
        if pattern.is_empty() {
            return Err(bad("it is empty".into()));
        }
        if pattern.len() > MAX_PATTERN {
            return Err(bad(format!("longer than {MAX_PATTERN} bytes")));
        }
        let source = if options.fixed {
            regex::escape(pattern)
        } else {
            pattern.to_string()
        };
        let regex = regex::bytes::RegexBuilder::new(&source)
            .case_insensitive(options.ignore_case)
            .multi_line(true)
            .size_limit(1 << 20)
            .dfa_size_limit(4 << 20)
            .build()
            .map_err(|e| bad(last_line(&e.to_string())))?;
        let repo = self.git();
        let tree = repo
            .find_commit(commit.oid())
            .and_then(|c| c.tree())
            .map_err(|e| self.error(e))?;
        let odb = repo.odb().map_err(|e| self.error(e))?;
        let deadline = Instant::now() + options.time_limit;
        let mut out = GrepResult::default();
        let mut failure = None;
        tree.walk(TreeWalkMode::PreOrder, |dir, entry| {
            if entry.kind() != Some(ObjectType::Blob) {
                return TreeWalkResult::Ok;
            }
            if Instant::now() >= deadline {
                out.stopped = Some("time");
                return TreeWalkResult::Abort;
            }
            let path = format!("{dir}{}", String::from_utf8_lossy(entry.name_bytes()));
            let size = match odb.read_header(entry.id()) {
                Ok((size, _)) => size as u64,
                Err(e) => {
                    failure = Some(self.error(e));
                    return TreeWalkResult::Abort;
                }
            };
            if size > options.max_file_bytes {
                out.skipped += 1;
                return TreeWalkResult::Ok;
            }
            let blob = match repo.find_blob(entry.id()) {
                Ok(blob) => blob,
                Err(e) => {
                    failure = Some(self.error(e));
                    return TreeWalkResult::Abort;
                }
            };
            let bytes = blob.content();
            if crate::browse::looks_binary(bytes) {
                out.skipped += 1;
                return TreeWalkResult::Ok;
            }
            out.files += 1;
            if search_file(&regex, &path, bytes, options.max_matches, &mut out.matches) {
                out.stopped = Some("matches");
                return TreeWalkResult::Abort;
            }
            TreeWalkResult::Ok
        })
        .or_else(|e| match (&out.stopped, e.code()) {
            (Some(_), git2::ErrorCode::User) => Ok(()),
            _ if failure.is_some() => Ok(()),
            _ => Err(self.error(e)),
        })?;
        match failure {
            Some(e) => Err(e),
            None => Ok(out),
        }
    }
}

/// Adds the matching lines of one file; `true` once `max` are found.
fn search_file(
    regex: &regex::bytes::Regex,
    path: &str,
    bytes: &[u8],
    max: usize,
    out: &mut Vec<GrepMatch>,
) -> bool {
    // Line starts found once, then each match's line by a binary search.
    let mut last_line = 0;
    let mut starts: Option<Vec<usize>> = None;
    for m in regex.find_iter(bytes) {
        let starts = starts.get_or_insert_with(|| {
            std::iter::once(0)
                .chain(line_starts(bytes))
                .collect::<Vec<usize>>()
        });
        let line = match starts.binary_search(&m.start()) {
            Ok(i) => i,
            Err(i) => i - 1,
        };
        if line + 1 == last_line {
            continue; // another match on a line already reported
        }
        last_line = line + 1;
        let start = starts[line];
        let end = starts.get(line + 1).map_or(bytes.len(), |&next| next - 1);
        let text = String::from_utf8_lossy(&bytes[start..end]);
        let text = text.trim_end_matches(['\r', '\n']);
        let mut shown: String = text.chars().take(MAX_LINE).collect();
        if text.chars().count() > MAX_LINE {
            shown.push('…');
        }
        out.push(GrepMatch {
            path: path.to_string(),
            line: line + 1,
            text: shown,
        });
        if out.len() >= max {
            return true;
        }
    }
    false
}

/// The offsets just after each newline.
fn line_starts(bytes: &[u8]) -> impl Iterator<Item = usize> + '_ {
    bytes
        .iter()
        .enumerate()
        .filter(|(_, &b)| b == b'\n')
        .map(|(i, _)| i + 1)
        .filter(move |&i| i < bytes.len())
}

/// The last line of the regex crate's message (what is wrong, not the
/// pattern drawn again with a caret).
fn last_line(text: &str) -> String {
    text.lines()
        .map(str::trim)
        .rfind(|l| !l.is_empty())
        .unwrap_or(text)
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Change, Identity};

    fn repo_with(files: &[(&str, &[u8])]) -> (tempfile::TempDir, Repo, CommitId) {
        let dir = tempfile::tempdir().expect("tempdir");
        let repo = Repo::init_bare(&dir.path().join("r.git")).expect("init");
        let who = Identity::new("a", "a@example.org");
        let changes: Vec<Change> = files
            .iter()
            .map(|(p, b)| Change::put(*p, b.to_vec()))
            .collect();
        let id = repo
            .commit_with("main", &who, "files", |_| Ok(changes.clone()))
            .expect("commit");
        (dir, repo, id)
    }

    #[test]
    fn finds_lines_and_stops_where_told() {
        let (_d, repo, id) = repo_with(&[
            (
                "src/a.rs",
                b"fn main() {\n    hammer();\n}\nfn hammer() {}\n",
            ),
            ("README", b"The Hammer\r\nno match here\n"),
            ("bin/blob", b"hammer\0\x01\x02"),
        ]);
        let found = repo
            .grep(id, "hammer", &GrepOptions::default())
            .expect("grep");
        let lines: Vec<(String, usize, String)> = found
            .matches
            .iter()
            .map(|m| (m.path.clone(), m.line, m.text.clone()))
            .collect();
        assert_eq!(
            lines,
            [
                ("src/a.rs".to_string(), 2, "    hammer();".to_string()),
                ("src/a.rs".to_string(), 4, "fn hammer() {}".to_string()),
            ]
        );
        assert_eq!(found.skipped, 1);
        assert_eq!(found.stopped, None);
        let options = GrepOptions {
            ignore_case: true,
            fixed: true,
            max_matches: 2,
            ..GrepOptions::default()
        };
        let found = repo.grep(id, "HAMMER", &options).expect("grep");
        assert_eq!(found.matches[0].path, "README");
        assert_eq!(found.matches[0].text, "The Hammer");
        assert_eq!(found.stopped, Some("matches"));
        // Regex syntax taken literally with `fixed`; refused when broken.
        assert!(repo.grep(id, "fn main(", &GrepOptions::default()).is_err());
        let fixed = GrepOptions {
            fixed: true,
            ..GrepOptions::default()
        };
        assert_eq!(
            repo.grep(id, "fn main(", &fixed)
                .expect("grep")
                .matches
                .len(),
            1
        );
        assert!(repo.grep(id, "", &fixed).is_err());
        let zero = GrepOptions {
            time_limit: Duration::ZERO,
            ..GrepOptions::default()
        };
        assert_eq!(
            repo.grep(id, "x", &zero).expect("grep").stopped,
            Some("time")
        );
    }
}
