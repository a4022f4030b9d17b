//! A project's settings: issue fields, milestones, priorities, and the
//! `key=value` text form the CLI and forms edit them in.

use serde::{Deserialize, Serialize};

use crate::{name, Error, Result};

/// Kinds of custom issue fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FieldKind {
    /// Free text.
    Text,
    /// `true` or `false`.
    Bool,
    /// An http(s) URL.
    Link,
    /// One of the listed options.
    List,
    /// A date `YYYY-MM-DD`.
    Date,
}

/// A custom field defined for a project's issues.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomField {
    /// Field name.
    pub name: String,
    /// Field kind.
    #[serde(rename = "type")]
    pub kind: FieldKind,
    /// Allowed values of a `list` field.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<String>,
}

/// A milestone with an optional due date.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Milestone {
    /// Name.
    pub name: String,
    /// Due date, `YYYY-MM-DD`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<String>,
}

/// Per-project settings; every key has a default.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ProjectSettings {
    /// Whether the issue tracker is enabled.
    pub issue_tracker: bool,
    /// Reasons an issue may be closed with.
    pub close_reasons: Vec<String>,
    /// Priorities, highest first. Empty: priorities are not used.
    pub priorities: Vec<String>,
    /// Milestones.
    pub milestones: Vec<Milestone>,
    /// Custom issue fields.
    pub custom_fields: Vec<CustomField>,
    /// Whether pull requests are enabled.
    pub pull_requests: bool,
    /// Whether pull requests may come from remote git URLs (the forge home's
    /// `forge.toml` can forbid them everywhere).
    pub remote_pull_requests: bool,
    /// Merge gate: the least vote score a pull request needs (0: no gate).
    pub pr_min_score: i64,
    /// Merge gate: only the assignee may merge (an unassigned request cannot be merged).
    pub pr_only_assignee_merge: bool,
    /// Merge gate: flags that must be `success` on the head commit.
    pub pr_required_flags: Vec<String>,
    /// The default branch refuses force pushes and deletion.
    pub protect_default_branch: bool,
    /// More protected branches (patterns, `*` matching anything).
    pub protected_branches: Vec<String>,
    /// Changes reach the source repository only through pull requests (from
    /// forks): every direct push to it is refused.
    pub pr_only: bool,
    /// Every pushed commit must carry a `Signed-off-by:` line.
    pub require_signoff: bool,
    /// Pushes may not create branches (once the repository has one).
    pub no_new_branches: bool,
    /// The activity log counts commits pushed to any branch, not only the default one.
    pub activity_all_branches: bool,
}

impl Default for ProjectSettings {
    fn default() -> Self {
        ProjectSettings {
            issue_tracker: true,
            close_reasons: [
                "Fixed",
                "Duplicate",
                "Invalid",
                "Won't fix",
                "Can't reproduce",
            ]
            .map(String::from)
            .to_vec(),
            priorities: Vec::new(),
            milestones: Vec::new(),
            custom_fields: Vec::new(),
            pull_requests: true,
            remote_pull_requests: true,
            pr_min_score: 0,
            pr_only_assignee_merge: false,
            pr_required_flags: Vec::new(),
            protect_default_branch: true,
            protected_branches: Vec::new(),
            pr_only: false,
            require_signoff: false,
            no_new_branches: false,
            activity_all_branches: false,
        }
    }
}

impl ProjectSettings {
    /// Checks internal consistency (names valid, no duplicates).
    pub fn validate(&self) -> Result<()> {
        fn unique<'a>(kind: &'static str, items: impl Iterator<Item = &'a str>) -> Result<()> {
            let mut seen = std::collections::HashSet::new();
            for item in items {
                name::validate_label(kind, item)?;
                if !seen.insert(item) {
                    return Err(Error::invalid(format!("{kind} `{item}`"), "listed twice"));
                }
            }
            Ok(())
        }
        unique(
            "close reason",
            self.close_reasons.iter().map(String::as_str),
        )?;
        unique("priority", self.priorities.iter().map(String::as_str))?;
        unique("milestone", self.milestones.iter().map(|m| m.name.as_str()))?;
        unique(
            "custom field",
            self.custom_fields.iter().map(|f| f.name.as_str()),
        )?;
        unique(
            "required flag",
            self.pr_required_flags.iter().map(String::as_str),
        )?;
        for m in &self.milestones {
            if let Some(date) = &m.date {
                chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d").map_err(|_| {
                    Error::invalid(
                        format!("milestone `{}` date `{date}`", m.name),
                        "expected YYYY-MM-DD",
                    )
                })?;
            }
        }
        Ok(())
    }
}

impl ProjectSettings {
    /// Pagure's weight of a priority: its place in the list, from 1 (Pagure
    /// keeps `{weight: name}` and gives issues the weight).
    pub fn priority_weight(&self, name: &str) -> Option<i64> {
        let at = self.priorities.iter().position(|p| p == name)?;
        i64::try_from(at + 1).ok()
    }

    /// The priority a client names, by its name or by Pagure's weight (a
    /// name that is also a number is taken as the name); `None` when it
    /// is neither.
    pub fn priority_named(&self, text: &str) -> Option<&str> {
        if let Some(p) = self.priorities.iter().find(|p| *p == text) {
            return Some(p);
        }
        let weight: usize = text.trim().parse().ok()?;
        self.priorities
            .get(weight.checked_sub(1)?)
            .map(String::as_str)
    }

    /// Pagure's `priorities` object: weight (as text) to name.
    pub fn pagure_priorities(&self) -> serde_json::Map<String, serde_json::Value> {
        self.priorities
            .iter()
            .enumerate()
            .map(|(i, p)| ((i + 1).to_string(), p.as_str().into()))
            .collect()
    }
}

/// The text form of a JSON value as settings and form fields take it: a
/// string as is, a list comma-separated, null empty, anything else as JSON.
pub fn value_text(value: &serde_json::Value) -> String {
    use serde_json::Value;
    match value {
        Value::String(s) => s.clone(),
        Value::Array(items) => items
            .iter()
            .map(|i| {
                i.as_str()
                    .map(String::from)
                    .unwrap_or_else(|| i.to_string())
            })
            .collect::<Vec<_>>()
            .join(","),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

impl ProjectSettings {
    /// The settings as `(key, value)` text pairs, in key order (what
    /// `forge project settings P` prints). Lists are comma-separated;
    /// milestones are `name[@date]`, custom fields `name:kind[:opt|opt]`.
    pub fn entries(&self) -> Vec<(String, String)> {
        let value = serde_json::to_value(self).unwrap_or_default();
        let Some(map) = value.as_object() else {
            return Vec::new();
        };
        let mut out: Vec<(String, String)> = map
            .iter()
            .map(|(k, v)| {
                let text = match (k.as_str(), v) {
                    ("milestones", _) => self
                        .milestones
                        .iter()
                        .map(|m| match &m.date {
                            Some(d) => format!("{}@{d}", m.name),
                            None => m.name.clone(),
                        })
                        .collect::<Vec<_>>()
                        .join(","),
                    ("custom_fields", _) => self
                        .custom_fields
                        .iter()
                        .map(|f| {
                            let kind = serde_json::to_value(f.kind).unwrap_or_default();
                            let mut t = format!("{}:{}", f.name, kind.as_str().unwrap_or(""));
                            if !f.options.is_empty() {
                                t.push(':');
                                t.push_str(&f.options.join("|"));
                            }
                            t
                        })
                        .collect::<Vec<_>>()
                        .join(","),
                    (_, other) => value_text(other),
                };
                (k.clone(), text)
            })
            .collect();
        out.sort();
        out
    }

    /// Sets one key from its text form (as [`entries`](Self::entries) prints
    /// it; an empty value empties a list) and validates the result.
    pub fn set(&mut self, key: &str, text: &str) -> Result<()> {
        let bad = |reason: String| Error::invalid(format!("setting `{key}`"), reason);
        let list = || -> Vec<String> {
            text.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect()
        };
        let mut value = serde_json::to_value(&*self)?;
        let Some(slot) = value.as_object_mut().and_then(|m| m.get_mut(key)) else {
            let known: Vec<String> = self.entries().into_iter().map(|(k, _)| k).collect();
            return Err(bad(format!("unknown key (known: {})", known.join(", "))));
        };
        *slot = match (key, &*slot) {
            ("milestones", _) => serde_json::to_value(
                list()
                    .into_iter()
                    .map(|m| match m.split_once('@') {
                        Some((name, date)) => Milestone {
                            name: name.into(),
                            date: Some(date.into()),
                        },
                        None => Milestone {
                            name: m,
                            date: None,
                        },
                    })
                    .collect::<Vec<_>>(),
            )?,
            ("custom_fields", _) => {
                let mut fields = Vec::new();
                for f in list() {
                    let mut parts = f.splitn(3, ':');
                    let name = parts.next().unwrap_or_default().to_string();
                    let kind: FieldKind = serde_json::from_value(serde_json::Value::String(
                        parts.next().unwrap_or("text").to_string(),
                    ))
                    .map_err(|_| {
                        bad(format!(
                            "`{f}`: kind must be text, bool, link, list or date"
                        ))
                    })?;
                    let options = parts
                        .next()
                        .map(|o| o.split('|').map(String::from).collect())
                        .unwrap_or_default();
                    fields.push(CustomField {
                        name,
                        kind,
                        options,
                    });
                }
                serde_json::to_value(fields)?
            }
            (_, serde_json::Value::Bool(_)) => match text {
                "true" | "yes" | "on" | "1" => true.into(),
                "false" | "no" | "off" | "0" => false.into(),
                _ => return Err(bad(format!("`{text}` is not true or false"))),
            },
            (_, serde_json::Value::Number(_)) => text
                .trim()
                .parse::<i64>()
                .map_err(|_| bad(format!("`{text}` is not a whole number")))?
                .into(),
            (_, serde_json::Value::Array(_)) => list().into(),
            _ => text.into(),
        };
        let updated: ProjectSettings = serde_json::from_value(value)?;
        updated.validate()?;
        *self = updated;
        Ok(())
    }
}
