//! `forge issue`: open, list, show, comment, edit, close, reopen.

use std::io::Read as _;

use anyhow::{Context as _, Result};
use forge_tickets::view::IssueDetails;
use forge_tickets::{display_number, IssueEdit, IssueFilter, NewIssue};

use crate::cli::{EditArgs, IssueCommand, StatusArg};
use crate::context::Ctx;
use crate::output;

fn optional(value: Option<String>) -> Option<Option<String>> {
    value.map(|v| if v.is_empty() { None } else { Some(v) })
}

pub fn run(cmd: IssueCommand, ctx: &Ctx) -> Result<()> {
    if let Some(remote) = ctx.remote() {
        return crate::remote::issue(cmd, ctx, &remote);
    }
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
            let body = read_body(body, body_file)?;
            let new = NewIssue {
                title,
                body,
                tags: tag,
                assignee,
                priority,
                milestone,
                private,
                custom_fields: fields_of(&field)?.into_iter().collect(),
            };
            ctx.with_tracker(project.project.as_deref(), |t, actor| {
                let issue = t.create_issue(&actor, new)?;
                if ctx.json {
                    output::json(&t.issue(&actor, issue.number)?)
                } else {
                    let provisional = if issue.number >= forge_tickets::engine::PROVISIONAL_BASE {
                        " (numbered by the forge when pushed)"
                    } else {
                        ""
                    };
                    show!(
                        "opened issue #{} in {}: {}{provisional}",
                        display_number(issue.number),
                        t.project(),
                        issue.title
                    );
                    Ok(())
                }
            })
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
            let status = match status {
                StatusArg::Open => Some("open".to_string()),
                StatusArg::Closed => Some("closed".to_string()),
                StatusArg::All => None,
            };
            let filter = IssueFilter {
                status,
                tags: tag.into_iter().collect(),
                assignee,
                author,
                milestones: milestone.into_iter().collect(),
                limit,
                offset: 0,
                ..Default::default()
            };
            ctx.with_tracker(project.project.as_deref(), |t, actor| {
                let issues = t.list(&actor, &filter)?;
                let total = if issues.len() == limit {
                    t.count(&actor, &filter)?
                } else {
                    issues.len() as u64
                };
                print_list(issues, ctx)?;
                note_cut(limit, total, ctx);
                Ok(())
            })
        }
        IssueCommand::Show { project, id } => {
            ctx.with_tracker(project.project.as_deref(), |t, actor| {
                let issue = t.issue(&actor, id)?;
                if ctx.json {
                    output::json(&issue)
                } else {
                    print_issue(&issue);
                    Ok(())
                }
            })
        }
        IssueCommand::Comment { project, id, body } => {
            ctx.with_tracker(project.project.as_deref(), |t, actor| {
                let comment = t.comment(&actor, id, &body)?;
                if ctx.json {
                    output::json(&forge_tickets::view::CommentView::from(comment))
                } else {
                    show!(
                        "commented on issue #{} ({})",
                        display_number(id),
                        comment.id
                    );
                    Ok(())
                }
            })
        }
        IssueCommand::Edit(args) => edit(args, ctx),
        IssueCommand::Close {
            project,
            id,
            reason,
        } => ctx.with_tracker(project.project.as_deref(), |t, actor| {
            t.close(&actor, id, reason.as_deref())?;
            done(ctx, t, &actor, id, "closed")
        }),
        IssueCommand::Reopen { project, id } => {
            ctx.with_tracker(project.project.as_deref(), |t, actor| {
                t.reopen(&actor, id)?;
                done(ctx, t, &actor, id, "reopened")
            })
        }
    }
}

fn done(
    ctx: &Ctx,
    t: &forge_tickets::Tracker<'_>,
    actor: &forge_tickets::Actor,
    id: u64,
    verb: &str,
) -> Result<()> {
    if ctx.json {
        output::json(&t.issue(actor, id)?)
    } else {
        show!("{verb} issue #{}", display_number(id));
        Ok(())
    }
}

/// `--field NAME=VALUE` options as pairs.
pub(crate) fn fields_of(options: &[String]) -> Result<Vec<(String, String)>> {
    options
        .iter()
        .map(|f| {
            f.split_once('=')
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .ok_or_else(|| anyhow::anyhow!("invalid --field `{f}`: expected NAME=VALUE"))
        })
        .collect()
}

/// The change an `issue edit` asks for; an error when it asks for none.
pub(crate) fn edit_of(args: &EditArgs) -> Result<IssueEdit> {
    let fields = fields_of(&args.field)?;
    let either = |yes: bool, no: bool| match (yes, no) {
        (true, _) => Some(true),
        (_, true) => Some(false),
        _ => None,
    };
    let edit = IssueEdit {
        title: args.title.clone(),
        body: args.body.clone(),
        add_tags: args.add_tag.clone(),
        remove_tags: args.remove_tag.clone(),
        assignee: optional(args.assignee.clone()),
        priority: optional(args.priority.clone()),
        milestone: optional(args.milestone.clone()),
        fields,
        depends: args.depends.clone(),
        blocks: args.blocks.clone(),
        private: either(args.private, args.public),
        watch: either(args.watch, args.unwatch),
    };
    if edit == IssueEdit::default() {
        anyhow::bail!("nothing to change: give at least one of --title, --body, --add-tag, --remove-tag, --assignee, --priority, --milestone, --field, --depends, --blocks, --private, --public, --watch, --unwatch");
    }
    Ok(edit)
}

fn edit(args: EditArgs, ctx: &Ctx) -> Result<()> {
    let edit = edit_of(&args)?;
    let id = args.id;
    ctx.with_tracker(args.project.project.as_deref(), |t, actor| {
        t.edit(&actor, id, edit)?;
        done(ctx, t, &actor, id, "edited")
    })
}

pub(crate) fn print_issue(i: &IssueDetails) {
    show!(
        "#{} {} [{}{}]",
        display_number(i.id),
        i.title,
        i.status,
        i.close_reason
            .as_ref()
            .map(|r| format!(": {r}"))
            .unwrap_or_default()
    );
    show!(
        "opened by {} at {}, updated {}",
        i.author,
        i.created_at,
        i.updated_at
    );
    let mut facts = Vec::new();
    if let Some(a) = &i.assignee {
        facts.push(format!("assignee: {a}"));
    }
    if !i.tags.is_empty() {
        facts.push(format!(
            "tags: {}",
            i.tags.iter().cloned().collect::<Vec<_>>().join(", ")
        ));
    }
    if let Some(p) = &i.priority {
        facts.push(format!("priority: {p}"));
    }
    if let Some(m) = &i.milestone {
        facts.push(format!("milestone: {m}"));
    }
    if i.private {
        facts.push("private".into());
    }
    for (label, links) in [("depends on", &i.depends), ("blocks", &i.blocks)] {
        if !links.is_empty() {
            let numbers: Vec<String> = links.iter().map(|n| format!("#{n}")).collect();
            facts.push(format!("{label}: {}", numbers.join(", ")));
        }
    }
    for (k, v) in &i.custom_fields {
        facts.push(format!("{k}: {v}"));
    }
    if !facts.is_empty() {
        show!("{}", facts.join(" | "));
    }
    if !i.body.is_empty() {
        show!("\n{}", i.body.trim_end());
    }
    for c in &i.comments {
        let edited = if c.edited_at.is_some() {
            " (edited)"
        } else {
            ""
        };
        // A notification records a change to the issue, not words.
        let change = if c.notification { " (change)" } else { "" };
        show!(
            "\n--- {} at {}{}{} [{}]",
            c.author,
            c.created_at,
            change,
            edited,
            c.id
        );
        show!("{}", c.body.trim_end());
    }
}

/// Says under a table that it was cut at `limit` of `total` (JSON stays
/// the list alone).
pub(crate) fn note_cut(limit: usize, total: u64, ctx: &Ctx) {
    if total > limit as u64 && !ctx.json {
        say!("(showing the newest {limit} of {total} issues; pass --limit N to see more)");
    }
}

/// Prints a listing (a table, or JSON with --json).
pub(crate) fn print_list(issues: Vec<forge_tickets::view::IssueSummary>, ctx: &Ctx) -> Result<()> {
    if ctx.json {
        return output::json(&issues);
    }
    if issues.is_empty() {
        show!("no issues match");
        return Ok(());
    }
    let rows: Vec<Vec<String>> = issues
        .into_iter()
        .map(|i| {
            vec![
                format!("#{}", display_number(i.id)),
                i.status.to_string(),
                output::clip(&i.title, 50),
                i.author,
                i.assignee.unwrap_or_default(),
                i.tags.into_iter().collect::<Vec<_>>().join(","),
                i.comments.to_string(),
                i.updated_at,
            ]
        })
        .collect();
    output::table(
        &[
            "ID", "STATUS", "TITLE", "AUTHOR", "ASSIGNEE", "TAGS", "COMMENTS", "UPDATED",
        ],
        &rows,
    );
    Ok(())
}

/// The body given with --body, or read from --body-file (`-`: stdin).
pub(crate) fn read_body(body: Option<String>, file: Option<std::path::PathBuf>) -> Result<String> {
    Ok(match (body, file) {
        (Some(b), _) => b,
        (None, Some(path)) if path.as_os_str() == "-" => {
            let mut s = String::new();
            std::io::stdin()
                .read_to_string(&mut s)
                .context("reading the body from stdin")?;
            s
        }
        (None, Some(path)) => std::fs::read_to_string(&path)
            .with_context(|| format!("reading body file {}", path.display()))?,
        (None, None) => String::new(),
    })
}
