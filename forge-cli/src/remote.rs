//! `forge --remote URL --token T issue ...`: the issue commands through a
//! forge server's API, printed exactly as the local commands print.

use anyhow::{anyhow, bail, Context as _, Result};
use forge_http::pagure::{
    DiffAnswer, ErrorAnswer, ErrorDetails, Issue, IssueAnswer, IssueList, MergeAnswer, PullList,
    PullRequest, VoteAnswer,
};
use forge_tickets::view::IssueDetails;
use serde::de::DeserializeOwned;

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

    /// The answer in its Pagure shape, or the server's error as this
    /// command's error.
    fn answer<T: DeserializeOwned>(
        &self,
        what: &str,
        resp: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    ) -> Result<T> {
        let mut resp = resp.with_context(|| format!("{what}: cannot reach {}", self.remote.url))?;
        let status = resp.status().as_u16();
        let text = resp
            .body_mut()
            .read_to_string()
            .with_context(|| format!("{what}: reading the answer"))?;
        if status >= 400 {
            let err: ErrorAnswer = serde_json::from_str(&text).map_err(|_| {
                anyhow!("{what}: {} answered {status} with no JSON", self.remote.url)
            })?;
            let mut msg = err.detail.unwrap_or(err.error);
            match err.errors {
                Some(ErrorDetails::Fields(fields)) => {
                    for (field, list) in fields {
                        msg.push_str(&format!(
                            "; {field}: {}",
                            list.first().map(String::as_str).unwrap_or("")
                        ));
                    }
                }
                Some(ErrorDetails::Text(text)) if !msg.contains(&text) => {
                    msg.push_str(&format!("; {text}"));
                }
                _ => {}
            }
            bail!("{msg} ({status} {})", err.error_code);
        }
        serde_json::from_str(&text).map_err(|e| {
            anyhow!(
                "{what}: {} answered something this forge cannot read: {e}",
                self.remote.url
            )
        })
    }

    fn get<T: DeserializeOwned>(&self, path: &str, query: &[(&str, String)]) -> Result<T> {
        let mut req = self.agent.get(&self.url(path));
        for (k, v) in query {
            req = req.query(k, v);
        }
        if let Some(t) = &self.remote.token {
            req = req.header("Authorization", &format!("token {t}"));
        }
        self.answer(path, req.call())
    }

    fn post<T: DeserializeOwned>(&self, path: &str, form: &[(&str, String)]) -> Result<T> {
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

fn project_of(p: Option<String>) -> Result<String> {
    p.ok_or_else(|| anyhow!("which project? pass -p PROJECT"))
}

/// Runs an issue command against the server.
pub fn issue(cmd: IssueCommand, ctx: &Ctx, remote: &Remote) -> Result<()> {
    let client = Client::new(remote);
    let show = |project: &str, id: u64| -> Result<IssueDetails> {
        let issue: Issue<'static> = client.get(&format!("{project}/issue/{id}"), &[])?;
        Ok(issue.into_details())
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
            field,
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
            let fields = crate::commands::issue::fields_of(&field)?;
            let named: Vec<(String, String)> = fields
                .into_iter()
                .map(|(k, v)| (format!("field:{k}"), v))
                .collect();
            let mut form: Vec<(&str, String)> = form;
            form.extend(named.iter().map(|(k, v)| (k.as_str(), v.clone())));
            let created: IssueAnswer<'static> =
                client.post(&format!("{project}/new_issue"), &form)?;
            let issue = created.issue.into_details();
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
            let mut total = 0;
            while out.len() < limit {
                let per_page = (limit - out.len()).min(100);
                let mut q = query.clone();
                q.push(("per_page", per_page.to_string()));
                q.push(("page", page.to_string()));
                let answer: IssueList = client.get(&format!("{project}/issues"), &q)?;
                total = answer.pagination.total.unwrap_or(answer.total_issues);
                let count = answer.issues.len();
                out.extend(answer.issues.into_iter().map(Issue::into_summary));
                if count < per_page || answer.pagination.next.is_none() {
                    break;
                }
                page += 1;
            }
            out.truncate(limit);
            print_list(out, ctx)?;
            crate::commands::issue::note_cut(limit, total, ctx);
            Ok(())
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
            client.post::<serde::de::IgnoredAny>(
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
            client.post::<serde::de::IgnoredAny>(&format!("{project}/issue/{id}/status"), &form)?;
            finish(&project, id, "closed")
        }
        IssueCommand::Reopen { project, id } => {
            let project = project_of(project.project)?;
            client.post::<serde::de::IgnoredAny>(
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
            client.post::<serde::de::IgnoredAny>(&format!("{project}/issue/{id}"), &form)?;
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

/// Runs a pull-request command against the server (list, show, comment,
/// merge, close, reopen).
pub fn pr(cmd: crate::cli::PrCommand, ctx: &Ctx, remote: &Remote) -> Result<()> {
    use crate::cli::{PrCommand, PrStatusArg};
    let client = Client::new(remote);
    let show = |project: &str, id: u64| -> Result<forge_tickets::PullDetails> {
        let pull: PullRequest = client.get(&format!("{project}/pull-request/{id}"), &[])?;
        Ok(pull.into_details())
    };
    let pull = |answer: PullRequest| answer.into_details();
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
            let answer: PullList = client.get(&format!("{project}/pull-requests"), &query)?;
            let pulls = answer
                .requests
                .into_iter()
                .map(PullRequest::into_summary)
                .collect();
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
            client.post::<serde::de::IgnoredAny>(
                &format!("{project}/pull-request/{id}/comment"),
                &form,
            )?;
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
            client.post::<serde::de::IgnoredAny>(
                &format!("{project}/pull-request/{id}/close"),
                &[],
            )?;
            done(&show(&project, id)?, "closed")
        }
        PrCommand::Reopen { project, id } => {
            let project = project_of(project.project)?;
            client.post::<serde::de::IgnoredAny>(
                &format!("{project}/pull-request/{id}/reopen"),
                &[],
            )?;
            done(&show(&project, id)?, "reopened")
        }
        PrCommand::Refresh { project, id } => {
            let project = project_of(project.project)?;
            let d = pull(client.post(&format!("{project}/pull-request/{id}/refresh"), &[])?);
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
            let answer: MergeAnswer = client.post(
                &format!("{project}/pull-request/{id}/merge"),
                &[("strategy", strategy.to_string())],
            )?;
            let details = show(&project, id)?;
            let closed = answer.closed_issues;
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
            let d = pull(client.post(&format!("{project}/pull-request/new"), &form)?);
            crate::commands::pr::print_opened(&d, ctx)
        }
        PrCommand::Diff { project, id } => {
            let project = project_of(project.project)?;
            let answer: DiffAnswer =
                client.get(&format!("{project}/pull-request/{id}/diff"), &[])?;
            let views = answer.files;
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
            client.post::<serde::de::IgnoredAny>(
                &format!("{project}/pull-request/{id}/flag"),
                &form,
            )?;
            crate::commands::pr::print_flagged(&show(&project, id)?, &name, status, ctx)
        }
        PrCommand::Vote { project, id, vote } => {
            let project = project_of(project.project)?;
            let up = matches!(vote, crate::cli::VoteArg::Up);
            let answer: VoteAnswer = client.post(
                &format!("{project}/pull-request/{id}/vote"),
                &[("vote", if up { "up" } else { "down" }.to_string())],
            )?;
            crate::commands::pr::print_voted(id, answer.score, &answer.votes, ctx)
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
            let d = pull(client.post(&format!("{project}/pull-request/{id}"), &form)?);
            if ctx.json {
                return output::json(&d);
            }
            say!("edited pull request #{id}");
            Ok(())
        }
    }
}
