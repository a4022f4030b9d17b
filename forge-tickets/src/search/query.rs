//! The search query language, as GitHub's users type it: words and
//! `"quoted phrases"` (all must match), qualifiers `key:value` (`is:`,
//! `label:`, `author:`, `assignee:`, `commenter:`, `mentions:`,
//! `milestone:`, `priority:`, `no:`, `created:`/`updated:`/`closed:` with
//! `>`, `<`, `>=`, `<=` and `a..b`, `in:`, `sort:`, `repo:`/`project:`),
//! any of them negated with `-`. Words reach the full-text index quoted, so
//! FTS5's own syntax (`NEAR`, `*`, `:`, `"`) typed by a user is searched
//! for as text. A query that does not parse is an error that names the
//! part at fault and where it starts.

use chrono::NaiveDate;

/// The longest query taken, in bytes.
pub const MAX_QUERY: usize = 2048;
/// The most words and qualifiers in one query.
pub const MAX_TERMS: usize = 64;

/// Why a query does not parse: what, and the byte where the part at fault
/// starts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} (at character {})", .at + 1)]
pub struct QueryError {
    /// What is wrong.
    pub message: String,
    /// Where (a byte offset into the query).
    pub at: usize,
}

fn error(at: usize, message: impl Into<String>) -> QueryError {
    QueryError {
        message: message.into(),
        at,
    }
}

/// Where text is looked for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Scope {
    /// Titles.
    pub title: bool,
    /// Descriptions.
    pub body: bool,
    /// Comments.
    pub comments: bool,
}

impl Scope {
    /// Everywhere (no `in:` given).
    pub fn all() -> Scope {
        Scope {
            title: true,
            body: true,
            comments: true,
        }
    }
}

/// Which kind of item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Issues.
    Issue,
    /// Pull requests.
    Pull,
}

/// A date field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateField {
    /// When it was opened.
    Created,
    /// When it last changed.
    Updated,
    /// When it was closed.
    Closed,
}

/// A span of time, epoch seconds: `from` included, `until` excluded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    /// The first second, if bounded.
    pub from: Option<i64>,
    /// The first second after it, if bounded.
    pub until: Option<i64>,
}

/// What `no:` asks to be empty.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Missing {
    /// No assignee.
    Assignee,
    /// No tag.
    Label,
    /// No milestone.
    Milestone,
}

/// One condition on items.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Filter {
    /// `is:issue`, `is:pr`.
    Kind(Kind),
    /// `is:open`, `is:closed`, `is:merged`.
    Status(String),
    /// `label:` (a tag).
    Label(String),
    /// `author:`.
    Author(String),
    /// `assignee:`.
    Assignee(String),
    /// `commenter:`.
    Commenter(String),
    /// `mentions:` (`@name` in the description or a comment).
    Mentions(String),
    /// `milestone:`.
    Milestone(String),
    /// `priority:`.
    Priority(String),
    /// `no:`.
    No(Missing),
    /// `created:`, `updated:`, `closed:`.
    Date(DateField, Span),
}

/// A condition, perhaps negated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition {
    /// The condition.
    pub filter: Filter,
    /// `-` before it.
    pub negated: bool,
}

/// What results are ordered by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortKey {
    /// The best match first (BM25); the default with words.
    Relevance,
    /// Creation.
    Created,
    /// Last change (the default without words).
    Updated,
    /// Number of comments.
    Comments,
}

/// A parsed query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    /// Words and phrases that must all match (each as FTS5 takes it:
    /// quoted).
    pub words: Vec<String>,
    /// Words and phrases that must not match.
    pub without: Vec<String>,
    /// Where words are looked for.
    pub scope: Scope,
    /// Conditions, all of which hold.
    pub conditions: Vec<Condition>,
    /// `repo:`/`project:` (any of them; empty: every project).
    pub projects: Vec<String>,
    /// The order, and whether it goes up.
    pub sort: (SortKey, bool),
}

/// A word as FTS5 reads it literally: in double quotes, with quotes
/// doubled.
pub fn fts_literal(text: &str) -> String {
    format!("\"{}\"", text.replace('"', "\"\""))
}

impl Query {
    /// The FTS5 expression of the words that must match (None without any).
    pub fn fts(&self) -> Option<String> {
        (!self.words.is_empty()).then(|| {
            self.words
                .iter()
                .map(|w| fts_literal(w))
                .collect::<Vec<_>>()
                .join(" ")
        })
    }

    /// The FTS5 expression of each word that must not match.
    pub fn fts_without(&self) -> Vec<String> {
        self.without.iter().map(|w| fts_literal(w)).collect()
    }

    /// Canonical text of what the query asks, for tests and `--explain`.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(f) = self.fts() {
            parts.push(format!("match {f}"));
        }
        for w in self.fts_without() {
            parts.push(format!("not match {w}"));
        }
        if self.scope != Scope::all() {
            let mut s = Vec::new();
            if self.scope.title {
                s.push("title");
            }
            if self.scope.body {
                s.push("body");
            }
            if self.scope.comments {
                s.push("comments");
            }
            parts.push(format!("in {}", s.join("+")));
        }
        for c in &self.conditions {
            let text = match &c.filter {
                Filter::Kind(Kind::Issue) => "kind=issue".to_string(),
                Filter::Kind(Kind::Pull) => "kind=pr".to_string(),
                Filter::Status(s) => format!("status={s}"),
                Filter::Label(v) => format!("label={v}"),
                Filter::Author(v) => format!("author={v}"),
                Filter::Assignee(v) => format!("assignee={v}"),
                Filter::Commenter(v) => format!("commenter={v}"),
                Filter::Mentions(v) => format!("mentions={v}"),
                Filter::Milestone(v) => format!("milestone={v}"),
                Filter::Priority(v) => format!("priority={v}"),
                Filter::No(Missing::Assignee) => "no assignee".to_string(),
                Filter::No(Missing::Label) => "no label".to_string(),
                Filter::No(Missing::Milestone) => "no milestone".to_string(),
                Filter::Date(field, span) => {
                    let name = match field {
                        DateField::Created => "created",
                        DateField::Updated => "updated",
                        DateField::Closed => "closed",
                    };
                    let end = |t: Option<i64>| t.map_or("*".to_string(), |t| t.to_string());
                    format!("{name} in [{}, {})", end(span.from), end(span.until))
                }
            };
            parts.push(if c.negated {
                format!("not {text}")
            } else {
                text
            });
        }
        if !self.projects.is_empty() {
            parts.push(format!("project in {}", self.projects.join(",")));
        }
        let key = match self.sort.0 {
            SortKey::Relevance => "relevance",
            SortKey::Created => "created",
            SortKey::Updated => "updated",
            SortKey::Comments => "comments",
        };
        parts.push(format!(
            "sort {key} {}",
            if self.sort.1 { "asc" } else { "desc" }
        ));
        parts.join("; ")
    }
}

/// A piece of the query as typed: where it starts, whether `-` negates
/// it, its qualifier (if any) and its text (quotes removed).
struct Piece {
    at: usize,
    negated: bool,
    key: Option<String>,
    value: String,
    quoted: bool,
}

/// Splits `text` into pieces: runs of non-space characters, where a
/// double-quoted part may hold spaces (`"a b"`, `label:"good first"`).
fn pieces(text: &str) -> Result<Vec<Piece>, QueryError> {
    let mut out = Vec::new();
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let mut i = 0;
    while i < chars.len() {
        if chars[i].1.is_whitespace() {
            i += 1;
            continue;
        }
        let start = chars[i].0;
        let mut raw = String::new();
        let mut quoted = false;
        let mut quote_at = None;
        while i < chars.len() && (quote_at.is_some() || !chars[i].1.is_whitespace()) {
            let c = chars[i].1;
            if c == '"' {
                quoted = true;
                quote_at = match quote_at {
                    None => Some(chars[i].0),
                    Some(_) => None,
                };
            }
            raw.push(c);
            i += 1;
        }
        if let Some(at) = quote_at {
            return Err(error(at, "this quote is not closed"));
        }
        if raw == "-" {
            return Err(error(start, "a lone `-` negates nothing"));
        }
        let (negated, rest) = match raw.strip_prefix('-') {
            Some(r) if !r.is_empty() => (true, r.to_string()),
            _ => (false, raw.clone()),
        };
        // A qualifier: a plain word before the first colon, outside quotes.
        let (key, value) = match rest.split_once(':') {
            Some((k, v))
                if !k.is_empty()
                    && !k.contains('"')
                    && k.chars()
                        .all(|c| c.is_ascii_alphabetic() || c == '-' || c == '_') =>
            {
                (Some(k.to_ascii_lowercase()), v.to_string())
            }
            _ => (None, rest),
        };
        let value = if quoted {
            value.replace('"', "")
        } else {
            value
        };
        out.push(Piece {
            at: start,
            negated,
            key,
            value,
            quoted,
        });
    }
    Ok(out)
}

/// The qualifiers the language knows.
const QUALIFIERS: &str = "is, label, author, assignee, commenter, mentions, milestone, priority, no, created, updated, closed, in, sort, repo, project";

/// Parses `text` into a query.
pub fn parse(text: &str) -> Result<Query, QueryError> {
    if text.len() > MAX_QUERY {
        return Err(error(
            MAX_QUERY,
            format!("the query is longer than {MAX_QUERY} bytes"),
        ));
    }
    if let Some((at, _)) = text
        .char_indices()
        .find(|(_, c)| c.is_control() && !c.is_whitespace())
    {
        return Err(error(at, "the query holds a control character"));
    }
    let pieces = pieces(text)?;
    if pieces.is_empty() {
        return Err(error(
            0,
            "the query is empty: give words, or qualifiers such as is:open or label:bug",
        ));
    }
    if pieces.len() > MAX_TERMS {
        return Err(error(
            pieces[MAX_TERMS].at,
            format!("the query has more than {MAX_TERMS} words and qualifiers"),
        ));
    }
    let mut q = Query {
        words: Vec::new(),
        without: Vec::new(),
        scope: Scope::all(),
        conditions: Vec::new(),
        projects: Vec::new(),
        sort: (SortKey::Updated, false),
    };
    let mut scope: Option<Scope> = None;
    let mut sort = None;
    for p in pieces {
        let Some(key) = &p.key else {
            let word = p.value.trim();
            if word.is_empty() {
                if p.quoted {
                    continue;
                }
                return Err(error(p.at, "a lone `-` negates nothing"));
            }
            if p.negated {
                q.without.push(word.to_string());
            } else {
                q.words.push(word.to_string());
            }
            continue;
        };
        let value = p.value.trim().to_string();
        let at_value = p.at + usize::from(p.negated) + key.len() + 1;
        if value.is_empty() {
            return Err(error(at_value, format!("`{key}:` needs a value")));
        }
        let mut add = |filter| {
            q.conditions.push(Condition {
                filter,
                negated: p.negated,
            })
        };
        match key.as_str() {
            "is" | "type" => match value.to_ascii_lowercase().as_str() {
                "issue" => add(Filter::Kind(Kind::Issue)),
                "pr" | "pull-request" | "pullrequest" => add(Filter::Kind(Kind::Pull)),
                s @ ("open" | "closed" | "merged") => add(Filter::Status(s.to_string())),
                _ => {
                    return Err(error(
                        at_value,
                        format!("`is:{value}`: expected is:issue, is:pr, is:open, is:closed or is:merged"),
                    ))
                }
            },
            "label" | "tag" => add(Filter::Label(value)),
            "author" => add(Filter::Author(user(&value))),
            "assignee" => add(Filter::Assignee(user(&value))),
            "commenter" => add(Filter::Commenter(user(&value))),
            "mentions" => add(Filter::Mentions(user(&value))),
            "milestone" => add(Filter::Milestone(value)),
            "priority" => add(Filter::Priority(value)),
            "no" => match value.to_ascii_lowercase().as_str() {
                "assignee" => add(Filter::No(Missing::Assignee)),
                "label" | "tag" => add(Filter::No(Missing::Label)),
                "milestone" => add(Filter::No(Missing::Milestone)),
                _ => {
                    return Err(error(
                        at_value,
                        format!("`no:{value}`: expected no:assignee, no:label or no:milestone"),
                    ))
                }
            },
            "created" | "updated" | "closed" => {
                let field = match key.as_str() {
                    "created" => DateField::Created,
                    "updated" => DateField::Updated,
                    _ => DateField::Closed,
                };
                add(Filter::Date(field, span(&value, at_value)?));
            }
            "in" => {
                if p.negated {
                    return Err(error(p.at, "`in:` cannot be negated"));
                }
                let s = scope.get_or_insert_with(Scope::default);
                for part in value.split(',') {
                    match part.trim().to_ascii_lowercase().as_str() {
                        "title" => s.title = true,
                        "body" => s.body = true,
                        "comments" | "comment" => s.comments = true,
                        other => {
                            return Err(error(
                                at_value,
                                format!("`in:{other}`: expected in:title, in:body or in:comments"),
                            ))
                        }
                    }
                }
            }
            "sort" => {
                if p.negated || sort.is_some() {
                    return Err(error(p.at, "give `sort:` once, without `-`"));
                }
                let lower = value.to_ascii_lowercase();
                let (name, up) = match lower.rsplit_once('-') {
                    Some((n, "asc")) => (n.to_string(), true),
                    Some((n, "desc")) => (n.to_string(), false),
                    _ => (lower.clone(), false),
                };
                let key = match name.as_str() {
                    "created" => SortKey::Created,
                    "updated" => SortKey::Updated,
                    "comments" => SortKey::Comments,
                    "relevance" | "best-match" => SortKey::Relevance,
                    _ => {
                        return Err(error(
                            at_value,
                            format!("`sort:{value}`: expected created, updated, comments or relevance, with -asc or -desc"),
                        ))
                    }
                };
                sort = Some((key, up));
            }
            "repo" | "project" => {
                if p.negated {
                    return Err(error(p.at, format!("`{key}:` cannot be negated")));
                }
                q.projects.push(value);
            }
            other => {
                return Err(error(
                    p.at + usize::from(p.negated),
                    format!(
                        "unknown qualifier `{other}:` (known: {QUALIFIERS}); to search for the text, put it in quotes"
                    ),
                ))
            }
        }
    }
    if let Some(s) = scope {
        q.scope = s;
    }
    q.sort = sort.unwrap_or(if q.words.is_empty() {
        (SortKey::Updated, false)
    } else {
        (SortKey::Relevance, false)
    });
    if q.words.is_empty() && q.sort.0 == SortKey::Relevance {
        q.sort = (SortKey::Updated, false);
    }
    Ok(q)
}

/// A user name as typed: `@` dropped.
fn user(value: &str) -> String {
    value.trim_start_matches('@').to_string()
}

/// A day as epoch seconds at its start (UTC).
fn day(text: &str, at: usize) -> Result<i64, QueryError> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc().timestamp())
        .ok_or_else(|| {
            error(
                at,
                format!("`{text}` is not a date (YYYY-MM-DD, a day that exists)"),
            )
        })
}

const DAY: i64 = 86_400;

/// A date qualifier's value: `>D`, `>=D`, `<D`, `<=D`, `D..E` (`*` for no
/// bound), or `D` (that day).
fn span(value: &str, at: usize) -> Result<Span, QueryError> {
    let bound = |text: &str, at: usize| -> Result<Option<i64>, QueryError> {
        if text == "*" {
            Ok(None)
        } else {
            day(text, at).map(Some)
        }
    };
    if let Some((a, b)) = value.split_once("..") {
        let from = bound(a, at)?;
        let until = bound(b, at + a.len() + 2)?.map(|t| t + DAY);
        if let (Some(f), Some(u)) = (from, until) {
            if f >= u {
                return Err(error(
                    at,
                    format!("`{value}`: the range ends before it starts"),
                ));
            }
        }
        return Ok(Span { from, until });
    }
    let (op, rest) = [">=", "<=", ">", "<"]
        .iter()
        .find_map(|op| value.strip_prefix(op).map(|r| (*op, r)))
        .unwrap_or(("", value));
    let d = day(rest, at + op.len())?;
    Ok(match op {
        ">=" => Span {
            from: Some(d),
            until: None,
        },
        ">" => Span {
            from: Some(d + DAY),
            until: None,
        },
        "<=" => Span {
            from: None,
            until: Some(d + DAY),
        },
        "<" => Span {
            from: None,
            until: Some(d),
        },
        _ => Span {
            from: Some(d),
            until: Some(d + DAY),
        },
    })
}
