//! `forge --remote URL --token T issue ...`: the issue commands through a
//! forge server's API, printed exactly as the local commands print.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{anyhow, bail, Context as _, Result};
use forge_tickets::view::{CommentView, IssueDetails, IssueSummary};
use serde_json::Value;

use crate::cli::{IssueCommand, StatusArg};
use crate::commands::issue::{print_issue, print_list};
use crate::context::{Ctx, Remote};
use crate::output;

struct Client {
    agent: ureq::Agent,
    remote: Remote,
}

impl Client {
    fn new(remote: &Remote) -> Client {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(std::time::Duration::from_secs(60)))
            .build()
            .into();
        Client {
            agent,
            remote: remote.clone(),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}/api/0/{path}", self.remote.url)
    }

    /// The answer's JSON, or the server's error as this command's error.
    fn answer(
        &self,
        what: &str,
        resp: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    ) -> Result<Value> {
        let mut resp = resp.with_context(|| format!("{what}: cannot reach {}", self.remote.url))?;
        let status = resp.status().as_u16();
        let text = resp
            .body_mut()
            .read_to_string()
            .with_context(|| format!("{what}: reading the answer"))?;
        let body: Value = serde_json::from_str(&text)
            .map_err(|_| anyhow!("{what}: {} answered {status} with no JSON", self.remote.url))?;
        if status >= 400 {
            let mut msg = body["error"].as_str().unwrap_or("error").to_string();
            if let Some(errors) = body.get("errors").and_then(Value::as_object) {
                for (field, list) in errors {
                    msg.push_str(&format!("; {field}: {}", list[0].as_str().unwrap_or("")));
                }
            }
            bail!(
                "{msg} ({status} {})",
                body["error_code"].as_str().unwrap_or("")
            );
        }
        Ok(body)
    }

    fn get(&self, path: &str, query: &[(&str, String)]) -> Result<Value> {
        let mut req = self.agent.get(&self.url(path));
        for (k, v) in query {
            req = req.query(k, v);
        }
        if let Some(t) = &self.remote.token {
            req = req.header("Authorization", &format!("token {t}"));
        }
        self.answer(path, req.call())
    }

    fn post(&self, path: &str, form: &[(&str, String)]) -> Result<Value> {
        let token = self
            .remote
            .token
            .as_deref()
            .ok_or_else(|| anyhow!("this needs a token: pass --token or set FORGE_TOKEN"))?;
        let req = self
            .agent
            .post(&self.url(path))
            .header("Authorization", &format!("token {token}"));
        let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        self.answer(path, req.send_form(pairs))
    }
}

fn rfc3339(epoch: &Value) -> String {
    epoch
        .as_str()
        .and_then(|s| s.parse::<i64>().ok())
        .or_else(|| epoch.as_i64())
        .and_then(forge_core::time::epoch_to_rfc3339)
        .unwrap_or_default()
}

fn name(user: &Value) -> Option<String> {
    user.get("name").and_then(Value::as_str).map(String::from)
}

fn strings(v: &Value) -> BTreeSet<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(String::from)
                .collect()
        })
        .unwrap_or_default()
}

fn numbers(v: &Value) -> BTreeSet<u64> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|n| {
                    n.as_str()
                        .and_then(|s| s.parse().ok())
                        .or_else(|| n.as_u64())
                })
                .collect()
        })
        .unwrap_or_default()
}

fn status(v: &Value) -> &'static str {
    match v.as_str() {
        Some("Open") => "open",
        _ => "closed",
    }
}

/// An issue of the API in the local shape.
fn details(i: &Value) -> IssueDetails {
    let comments: Vec<CommentView> = i["comments"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|c| CommentView {
                    id: c["id"]
                        .as_str()
                        .map(String::from)
                        .unwrap_or_else(|| c["id"].to_string()),
                    author: name(&c["user"]).unwrap_or_default(),
                    body: c["comment"].as_str().unwrap_or_default().to_string(),
                    created_at: rfc3339(&c["date_created"]),
                    edited_at: (!c["edited_on"].is_null()).then(|| rfc3339(&c["edited_on"])),
                    reactions: serde_json::from_value(c["reactions"].clone()).unwrap_or_default(),
                })
                .collect()
        })
        .unwrap_or_default();
    let custom_fields: BTreeMap<String, String> = i["custom_fields"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|f| {
                    Some((
                        f["name"].as_str()?.to_string(),
                        f["value"].as_str()?.to_string(),
                    ))
                })
                .collect()
        })
        .unwrap_or_default();
    IssueDetails {
        id: i["id"].as_u64().unwrap_or_default(),
        uid: i["uid"].as_str().unwrap_or_default().to_string(),
        title: i["title"].as_str().unwrap_or_default().to_string(),
        body: i["content"].as_str().unwrap_or_default().to_string(),
        status: status(&i["status"]),
        close_reason: i["close_status"].as_str().map(String::from),
        closed_at: (!i["closed_at"].is_null()).then(|| rfc3339(&i["closed_at"])),
        closed_by: name(&i["closed_by"]),
        author: name(&i["user"]).unwrap_or_default(),
        assignee: name(&i["assignee"]),
        tags: strings(&i["tags"]),
        priority: i["priority"].as_str().map(String::from),
        milestone: i["milestone"].as_str().map(String::from),
        private: i["private"].as_bool().unwrap_or(false),
        custom_fields,
        depends: numbers(&i["depends"]),
        blocks: numbers(&i["blocks"]),
        watchers: strings(&i["watchers"]),
        created_at: rfc3339(&i["date_created"]),
        updated_at: rfc3339(&i["last_updated"]),
        comments,
    }
}

fn summary(i: &Value) -> IssueSummary {
    let d = details(i);
    IssueSummary {
        id: d.id,
        title: d.title,
        status: d.status,
        author: d.author,
        assignee: d.assignee,
        tags: d.tags,
        priority: d.priority,
        milestone: d.milestone,
        private: d.private,
        created_at: d.created_at,
        updated_at: d.updated_at,
        comments: d.comments.len() as u64,
    }
}

fn project_of(p: Option<String>) -> Result<String> {
    p.ok_or_else(|| anyhow!("which project? pass -p PROJECT"))
}

/// Runs an issue command against the server.
pub fn issue(cmd: IssueCommand, ctx: &Ctx, remote: &Remote) -> Result<()> {
    let client = Client::new(remote);
    let show = |project: &str, id: u64| -> Result<IssueDetails> {
        Ok(details(&client.get(&format!("{project}/issue/{id}"), &[])?))
    };
    let finish = |project: &str, id: u64, verb: &str| -> Result<()> {
        if ctx.json {
            output::json(&show(project, id)?)
        } else {
            say!("{verb} issue #{id}");
            Ok(())
        }
    };
    match cmd {
        IssueCommand::New {
            project,
            title,
            body,
            body_file,
            tag,
            assignee,
            priority,
            milestone,
            private,
        } => {
            let project = project_of(project.project)?;
            let body = match (body, body_file) {
                (Some(b), _) => b,
                (None, Some(path)) => std::fs::read_to_string(&path)
                    .with_context(|| format!("reading body file {}", path.display()))?,
                (None, None) => String::new(),
            };
            if body.trim().is_empty() {
                bail!("a remote forge needs --body for a new issue (Pagure's API requires the content)");
            }
            let mut form = vec![("title", title), ("issue_content", body), ("tag", tag.join(","))];
            for (key, value) in [("assignee", assignee), ("priority", priority), ("milestone", milestone)] {
                if let Some(v) = value {
                    form.push((key, v));
                }
            }
            if private {
                form.push(("private", "true".into()));
            }
            let created = client.post(&format!("{project}/new_issue"), &form)?;
            let issue = details(&created["issue"]);
            if ctx.json {
                output::json(&issue)
            } else {
                say!("opened issue #{} in {project}: {}", issue.id, issue.title);
                Ok(())
            }
        }
        IssueCommand::List {
            project,
            status,
            tag,
            assignee,
            author,
            milestone,
            limit,
        } => {
            let project = project_of(project.project)?;
            let status = match status {
                StatusArg::Open => "Open",
                StatusArg::Closed => "Closed",
                StatusArg::All => "All",
            };
            let mut query = vec![("status", status.to_string())];
            for (key, value) in [("tags", tag), ("assignee", assignee), ("author", author), ("milestones", milestone)] {
                if let Some(v) = value {
                    query.push((key, v));
                }
            }
            let mut out = Vec::new();
            let mut page = 1;
            while out.len() < limit {
                let per_page = (limit - out.len()).min(100);
                let mut q = query.clone();
                q.push(("per_page", per_page.to_string()));
                q.push(("page", page.to_string()));
                let answer = client.get(&format!("{project}/issues"), &q)?;
                let items = answer["issues"].as_array().cloned().unwrap_or_default();
                out.extend(items.iter().map(summary));
                if items.len() < per_page || answer["pagination"]["next"].is_null() {
                    break;
                }
                page += 1;
            }
            out.truncate(limit);
            print_list(out, ctx)
        }
        IssueCommand::Show { project, id } => {
            let issue = show(&project_of(project.project)?, id)?;
            if ctx.json {
                output::json(&issue)
            } else {
                print_issue(&issue);
                Ok(())
            }
        }
        IssueCommand::Comment { project, id, body } => {
            let project = project_of(project.project)?;
            client.post(&format!("{project}/issue/{id}/comment"), &[("comment", body)])?;
            let issue = show(&project, id)?;
            let comment = issue
                .comments
                .last()
                .cloned()
                .ok_or_else(|| anyhow!("the comment is not there after posting it"))?;
            if ctx.json {
                output::json(&comment)
            } else {
                say!("commented on issue #{id} ({})", comment.id);
                Ok(())
            }
        }
        IssueCommand::Close { project, id, reason } => {
            let project = project_of(project.project)?;
            let mut form = vec![("status", "Closed".to_string())];
            if let Some(r) = reason {
                form.push(("close_status", r));
            }
            client.post(&format!("{project}/issue/{id}/status"), &form)?;
            finish(&project, id, "closed")
        }
        IssueCommand::Reopen { project, id } => {
            let project = project_of(project.project)?;
            client.post(&format!("{project}/issue/{id}/status"), &[("status", "Open".to_string())])?;
            finish(&project, id, "reopened")
        }
        IssueCommand::Edit(_) => bail!("`issue edit` does not work with --remote yet; use the API's assign, milestone and custom endpoints"),
    }
}
