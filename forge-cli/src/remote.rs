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
            let body = crate::commands::issue::read_body(body, body_file)?;
            if body.trim().is_empty() {
                bail!("a remote forge needs --body for a new issue (Pagure's API requires the content)");
            }
            let mut form = vec![
                ("title", title),
                ("issue_content", body),
                ("tag", tag.join(",")),
            ];
            for (key, value) in [
                ("assignee", assignee),
                ("priority", priority),
                ("milestone", milestone),
            ] {
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
            for (key, value) in [
                ("tags", tag),
                ("assignee", assignee),
                ("author", author),
                ("milestones", milestone),
            ] {
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
            client.post(
                &format!("{project}/issue/{id}/comment"),
                &[("comment", body)],
            )?;
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
        IssueCommand::Close {
            project,
            id,
            reason,
        } => {
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
            client.post(
                &format!("{project}/issue/{id}/status"),
                &[("status", "Open".to_string())],
            )?;
            finish(&project, id, "reopened")
        }
        IssueCommand::Edit(args) => {
            let project = project_of(args.project.project.clone())?;
            let id = args.id;
            let form = edit_form(crate::commands::issue::edit_of(&args)?);
            let form: Vec<(&str, String)> =
                form.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
            client.post(&format!("{project}/issue/{id}"), &form)?;
            finish(&project, id, "edited")
        }
    }
}

/// The form of `POST <repo>/issue/<id>` for an issue edit.
fn edit_form(edit: forge_tickets::IssueEdit) -> Vec<(String, String)> {
    let mut form: Vec<(String, String)> = Vec::new();
    let mut put = |key: &str, value: String| form.push((key.to_string(), value));
    for (key, value) in [("title", edit.title), ("issue_content", edit.body)] {
        if let Some(v) = value {
            put(key, v);
        }
    }
    // `Some(None)` clears: an empty value.
    for (key, value) in [
        ("assignee", edit.assignee),
        ("priority", edit.priority),
        ("milestone", edit.milestone),
    ] {
        if let Some(v) = value {
            put(key, v.unwrap_or_default());
        }
    }
    for (key, list) in [("add_tag", edit.add_tags), ("remove_tag", edit.remove_tags)] {
        if !list.is_empty() {
            put(key, list.join(","));
        }
    }
    for (key, list) in [("depends", edit.depends), ("blocks", edit.blocks)] {
        if !list.is_empty() {
            let list: Vec<String> = list.iter().map(u64::to_string).collect();
            put(key, list.join(","));
        }
    }
    for (key, value) in [("private", edit.private), ("watch", edit.watch)] {
        if let Some(v) = value {
            put(key, v.to_string());
        }
    }
    for (name, value) in edit.fields {
        put(&format!("field:{name}"), value);
    }
    form
}

fn static_str(value: &str, known: &[&'static str]) -> &'static str {
    known
        .iter()
        .find(|k| **k == value)
        .copied()
        .unwrap_or("unknown")
}

/// A pull request of the API in the local shape.
fn pull(p: &Value) -> forge_tickets::PullDetails {
    use forge_tickets::{FlagView, PullCommentView, PullDetails, SourceView};
    let flags = p["flags"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|f| FlagView {
                    name: f["username"].as_str().unwrap_or_default().to_string(),
                    status: static_str(
                        f["status"].as_str().unwrap_or_default(),
                        &["success", "failure", "error", "pending", "canceled"],
                    ),
                    percent: f["percent"].as_u64().map(|p| p.min(100) as u8),
                    comment: f["comment"].as_str().unwrap_or_default().to_string(),
                    url: f["url"].as_str().map(String::from),
                    username: name(&f["user"]).unwrap_or_default(),
                    updated_at: rfc3339(&f["date_updated"]),
                })
                .collect()
        })
        .unwrap_or_default();
    let comments = p["comments"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|c| PullCommentView {
                    id: c["id"].as_str().unwrap_or_default().to_string(),
                    author: name(&c["user"]).unwrap_or_default(),
                    body: c["comment"].as_str().unwrap_or_default().to_string(),
                    created_at: rfc3339(&c["date_created"]),
                    edited_at: (!c["edited_on"].is_null()).then(|| rfc3339(&c["edited_on"])),
                    path: c["filename"].as_str().map(String::from),
                    line: c["line"].as_u64().map(|l| l as u32),
                    side: serde_json::from_value(c["side"].clone()).ok(),
                    commit: c["commit"].as_str().map(String::from),
                    outdated: c["outdated"].as_bool().unwrap_or(false),
                })
                .collect()
        })
        .unwrap_or_default();
    PullDetails {
        id: p["id"].as_u64().unwrap_or_default(),
        title: p["title"].as_str().unwrap_or_default().to_string(),
        body: p["initial_comment"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        status: match p["status"].as_str() {
            Some("Open") => "open",
            Some("Merged") => "merged",
            _ => "closed",
        },
        author: name(&p["user"]).unwrap_or_default(),
        assignee: name(&p["assignee"]),
        tags: strings(&p["tags"]),
        source: SourceView {
            repo: p["source"]["repo"].as_str().unwrap_or_default().to_string(),
            branch: p["source"]["branch"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
        },
        target: p["branch"].as_str().unwrap_or_default().to_string(),
        head: p["commit_stop"].as_str().unwrap_or_default().to_string(),
        base: p["base"].as_str().unwrap_or_default().to_string(),
        commits: serde_json::from_value(p["commits"].clone()).unwrap_or_default(),
        merge_status: p["merge_status"]
            .as_str()
            .map(|s| static_str(s, &["up-to-date", "fast-forward", "merge", "conflicts"])),
        conflicts: serde_json::from_value(p["conflicts"].clone()).unwrap_or_default(),
        score: p["score"].as_i64().unwrap_or_default(),
        votes: serde_json::from_value(p["votes"].clone()).unwrap_or_default(),
        flags,
        linked_issues: numbers(&p["linked_issues"]),
        comments,
        merge_commit: p["merge_commit"].as_str().map(String::from),
        closed_by: p["closed_by"].as_str().map(String::from),
        closed_at: (!p["closed_at"].is_null()).then(|| rfc3339(&p["closed_at"])),
        watchers: strings(&p["watchers"]),
        created_at: rfc3339(&p["date_created"]),
        updated_at: rfc3339(&p["last_updated"]),
    }
}

/// Runs a pull-request command against the server (list, show, comment,
/// merge, close, reopen).
pub fn pr(cmd: crate::cli::PrCommand, ctx: &Ctx, remote: &Remote) -> Result<()> {
    use crate::cli::{PrCommand, PrStatusArg};
    let client = Client::new(remote);
    let show = |project: &str, id: u64| -> Result<forge_tickets::PullDetails> {
        Ok(pull(
            &client.get(&format!("{project}/pull-request/{id}"), &[])?,
        ))
    };
    let done =
        |d: &forge_tickets::PullDetails, verb: &str| crate::commands::pr::print_done(d, verb, ctx);
    match cmd {
        PrCommand::List {
            project,
            status,
            author,
            assignee,
            limit,
        } => {
            let project = project_of(project.project)?;
            let status = match status {
                PrStatusArg::Open => "Open",
                PrStatusArg::Closed => "Closed",
                PrStatusArg::Merged => "Merged",
                PrStatusArg::All => "All",
            };
            let mut query = vec![
                ("status", status.to_string()),
                ("per_page", limit.min(100).to_string()),
            ];
            for (key, value) in [("author", author), ("assignee", assignee)] {
                if let Some(v) = value {
                    query.push((key, v));
                }
            }
            let answer = client.get(&format!("{project}/pull-requests"), &query)?;
            let pulls: Vec<forge_tickets::PullSummary> = answer["requests"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .map(|p| {
                            let d = pull(p);
                            forge_tickets::PullSummary {
                                id: d.id,
                                title: d.title,
                                status: d.status,
                                author: d.author,
                                assignee: d.assignee,
                                source: d.source,
                                target: d.target,
                                head: d.head,
                                tags: d.tags,
                                created_at: d.created_at,
                                updated_at: d.updated_at,
                                comments: d.comments.len() as u64,
                            }
                        })
                        .collect()
                })
                .unwrap_or_default();
            crate::commands::pr::print_list(pulls, ctx)
        }
        PrCommand::Show { project, id } => {
            let details = show(&project_of(project.project)?, id)?;
            if ctx.json {
                output::json(&details)
            } else {
                crate::commands::pr::print_details(&details);
                Ok(())
            }
        }
        PrCommand::Comment {
            project,
            id,
            body,
            path,
            line,
            commit,
            ..
        } => {
            let project = project_of(project.project)?;
            let mut form = vec![("comment", body)];
            if let (Some(path), Some(line)) = (path, line) {
                form.push(("filename", path));
                form.push(("row", line.to_string()));
                if let Some(c) = commit {
                    form.push(("commit", c));
                }
            }
            client.post(&format!("{project}/pull-request/{id}/comment"), &form)?;
            let details = show(&project, id)?;
            let comment = details
                .comments
                .last()
                .cloned()
                .ok_or_else(|| anyhow!("the comment is not there after posting it"))?;
            if ctx.json {
                output::json(&comment)
            } else {
                say!("commented on pull request #{id} ({})", comment.id);
                Ok(())
            }
        }
        PrCommand::Close { project, id } => {
            let project = project_of(project.project)?;
            client.post(&format!("{project}/pull-request/{id}/close"), &[])?;
            done(&show(&project, id)?, "closed")
        }
        PrCommand::Reopen { project, id } => {
            let project = project_of(project.project)?;
            client.post(&format!("{project}/pull-request/{id}/reopen"), &[])?;
            done(&show(&project, id)?, "reopened")
        }
        PrCommand::Refresh { project, id } => {
            let project = project_of(project.project)?;
            let d = pull(&client.post(&format!("{project}/pull-request/{id}/refresh"), &[])?);
            crate::commands::pr::print_refreshed(&d, ctx)
        }
        PrCommand::Merge {
            project,
            id,
            strategy,
        } => {
            use crate::cli::StrategyArg;
            let project = project_of(project.project)?;
            let strategy = match strategy {
                StrategyArg::Ff => "ff",
                StrategyArg::Merge => "merge",
                StrategyArg::Squash => "squash",
                StrategyArg::Rebase => "rebase",
            };
            let answer = client.post(
                &format!("{project}/pull-request/{id}/merge"),
                &[("strategy", strategy.to_string())],
            )?;
            let details = show(&project, id)?;
            let closed: Vec<u64> =
                serde_json::from_value(answer["closed_issues"].clone()).unwrap_or_default();
            crate::commands::pr::print_merged(
                id,
                details.status,
                details.merge_commit.as_deref().unwrap_or_default(),
                &details.target,
                &closed,
                ctx,
            )
        }
        PrCommand::New {
            project,
            title,
            body,
            from,
            from_fork,
            from_url,
            to,
            assignee,
        } => {
            let project = project_of(project.project)?;
            let mut form = vec![
                ("title", title),
                ("initial_comment", body),
                ("branch_from", from),
            ];
            for (key, value) in [
                ("repo_from_username", from_fork),
                ("repo_from_url", from_url),
                ("branch_to", to),
                ("assignee", assignee),
            ] {
                if let Some(v) = value {
                    form.push((key, v));
                }
            }
            let d = pull(&client.post(&format!("{project}/pull-request/new"), &form)?);
            crate::commands::pr::print_opened(&d, ctx)
        }
        PrCommand::Diff { project, id } => {
            let project = project_of(project.project)?;
            let answer = client.get(&format!("{project}/pull-request/{id}/diff"), &[])?;
            let views: Vec<forge_tickets::view::FileDiffView> =
                serde_json::from_value(answer["files"].clone()).map_err(|e| {
                    anyhow!("{} answered a diff this forge cannot read: {e}", remote.url)
                })?;
            if ctx.json {
                return output::json(&views);
            }
            let files = views
                .iter()
                .map(|v| {
                    v.to_diff().ok_or_else(|| {
                        anyhow!(
                            "{} answered a file status or mode git does not write",
                            remote.url
                        )
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            crate::commands::repo::print_diff(&files);
            Ok(())
        }
        PrCommand::Flag {
            project,
            id,
            name,
            status,
            percent,
            comment,
            url,
        } => {
            let project = project_of(project.project)?;
            let status = crate::commands::pr::flag_status(&status)?.as_str();
            let mut form = vec![
                ("username", name.clone()),
                ("status", status.to_string()),
                ("comment", comment),
            ];
            if let Some(p) = percent {
                form.push(("percent", p.to_string()));
            }
            if let Some(u) = url {
                form.push(("url", u));
            }
            client.post(&format!("{project}/pull-request/{id}/flag"), &form)?;
            crate::commands::pr::print_flagged(&show(&project, id)?, &name, status, ctx)
        }
        PrCommand::Vote { project, id, vote } => {
            let project = project_of(project.project)?;
            let up = matches!(vote, crate::cli::VoteArg::Up);
            let answer = client.post(
                &format!("{project}/pull-request/{id}/vote"),
                &[("vote", if up { "up" } else { "down" }.to_string())],
            )?;
            let score = answer["score"].as_i64().unwrap_or_default();
            crate::commands::pr::print_voted(id, score, &answer["votes"], ctx)
        }
        PrCommand::Edit {
            project,
            id,
            title,
            body,
            assignee,
            tag,
            untag,
            watch,
            unwatch,
        } => {
            let project = project_of(project.project)?;
            let mut form = Vec::new();
            for (key, value) in [
                ("title", title),
                ("initial_comment", body),
                ("assignee", assignee),
            ] {
                if let Some(v) = value {
                    form.push((key, v));
                }
            }
            if !tag.is_empty() {
                form.push(("add_tag", tag.join(",")));
            }
            if !untag.is_empty() {
                form.push(("remove_tag", untag.join(",")));
            }
            if watch || unwatch {
                form.push(("watch", watch.to_string()));
            }
            let d = pull(&client.post(&format!("{project}/pull-request/{id}"), &form)?);
            if ctx.json {
                return output::json(&d);
            }
            say!("edited pull request #{id}");
            Ok(())
        }
    }
}
