//! `forge pr`: open, list, show, diff, review, flag, vote, merge, close, refresh.

use anyhow::{anyhow, Result};
use forge_git::MergeStrategy;
use forge_tickets::doc::Side;
use forge_tickets::request::FlagStatus;
use forge_tickets::{InlineTarget, NewFlag, NewPull, PullDetails, PullEdit, PullFilter};
use serde_json::json;

use crate::cli::{PrCommand, PrStatusArg, SideArg, StrategyArg, VoteArg};
use crate::commands::repo::{diff_json, print_diff, PATCH_LIMIT};
use crate::context::Ctx;
use crate::output;

fn short(id: &str) -> &str {
    &id[..10.min(id.len())]
}

pub(crate) fn print_details(p: &PullDetails) {
    show!("#{} {} [{}]", p.id, p.title, p.status);
    show!(
        "{} {} {} commit(s) from {}:{} into {}",
        p.author,
        if p.status == "open" {
            "wants to merge"
        } else {
            "proposed"
        },
        p.commits.len(),
        p.source.repo,
        p.source.branch,
        p.target
    );
    show!(
        "head {}  base {}  score {:+}",
        short(&p.head),
        short(&p.base),
        p.score
    );
    if let Some(a) = &p.assignee {
        show!("assignee: {a}");
    }
    match (p.merge_status, &p.merge_commit) {
        (_, Some(m)) => show!("merged as {}", short(m)),
        (Some("conflicts"), _) => show!("merge status: conflicts in {}", p.conflicts.join(", ")),
        (Some(s), _) => show!("merge status: {s}"),
        (None, None) => {}
    }
    if !p.linked_issues.is_empty() {
        let list: Vec<String> = p.linked_issues.iter().map(|n| format!("#{n}")).collect();
        show!("linked issues: {}", list.join(", "));
    }
    for f in &p.flags {
        let pct = f.percent.map(|p| format!(" {p}%")).unwrap_or_default();
        show!(
            "flag {}: {}{pct} {} {}",
            f.name,
            f.status,
            f.comment,
            f.url.as_deref().unwrap_or_default()
        );
    }
    if !p.body.is_empty() {
        show!("\n{}", p.body.trim_end());
    }
    if !p.commits.is_empty() {
        show!("\ncommits:");
        for c in &p.commits {
            show!("  {} {}", short(&c.id), c.title);
        }
    }
    for c in &p.comments {
        let place = match (&c.path, c.line) {
            (Some(path), Some(line)) => format!(
                " on {path}:{line}{}",
                if c.outdated { " (outdated)" } else { "" }
            ),
            _ if c.notification => " (change)".to_string(),
            _ => String::new(),
        };
        show!("\n--- {} at {}{place} [{}]", c.author, c.created_at, c.id);
        show!("{}", c.body.trim_end());
    }
}

pub fn run(cmd: PrCommand, ctx: &Ctx) -> Result<()> {
    if let Some(remote) = ctx.remote() {
        return crate::remote::pr(cmd, ctx, &remote);
    }
    match cmd {
        PrCommand::New {
            project,
            title,
            body,
            from,
            from_fork,
            from_url,
            to,
            assignee,
        } => ctx.with_pulls(project.project.as_deref(), |prs, actor| {
            let new = NewPull {
                title,
                body,
                from_branch: from,
                from_fork,
                from_url,
                to,
                assignee,
            };
            let pull = prs.create(&actor, new)?;
            print_opened(&prs.show(&actor, pull.number)?, ctx)
        }),
        PrCommand::List {
            project,
            status,
            author,
            assignee,
            limit,
        } => ctx.with_pulls(project.project.as_deref(), |prs, actor| {
            let status = match status {
                PrStatusArg::Open => Some("open".to_string()),
                PrStatusArg::Closed => Some("closed".to_string()),
                PrStatusArg::Merged => Some("merged".to_string()),
                PrStatusArg::All => None,
            };
            let filter = PullFilter {
                status,
                author,
                assignee,
                limit,
                offset: 0,
            };
            print_list(prs.list(&actor, &filter)?, ctx)
        }),
        PrCommand::Show { project, id } => {
            ctx.with_pulls(project.project.as_deref(), |prs, actor| {
                let details = prs.show(&actor, id)?;
                if ctx.json {
                    output::json(&details)
                } else {
                    print_details(&details);
                    Ok(())
                }
            })
        }
        PrCommand::Diff { project, id } => {
            ctx.with_pulls(project.project.as_deref(), |prs, actor| {
                let files = prs.diff(&actor, id, PATCH_LIMIT)?;
                if ctx.json {
                    output::json(&diff_json(&files))
                } else {
                    print_diff(&files);
                    Ok(())
                }
            })
        }
        PrCommand::Comment {
            project,
            id,
            body,
            path,
            line,
            commit,
            side,
        } => ctx.with_pulls(project.project.as_deref(), |prs, actor| {
            let inline = match (path, line) {
                (Some(path), Some(line)) => Some(InlineTarget {
                    path,
                    line,
                    commit,
                    side: match side {
                        SideArg::New => Side::New,
                        SideArg::Old => Side::Old,
                    },
                }),
                _ => None,
            };
            let comment = prs.comment(&actor, id, &body, inline)?;
            if ctx.json {
                output::json(&forge_tickets::PullCommentView::from(comment))
            } else {
                show!("commented on pull request #{id} ({})", comment.id);
                Ok(())
            }
        }),
        PrCommand::Flag {
            project,
            id,
            name,
            status,
            percent,
            comment,
            url,
        } => ctx.with_pulls(project.project.as_deref(), |prs, actor| {
            let status = flag_status(&status)?;
            let flag = NewFlag {
                name: name.clone(),
                status,
                percent,
                comment,
                url,
            };
            prs.flag(&actor, id, flag)?;
            print_flagged(&prs.show(&actor, id)?, &name, status.as_str(), ctx)
        }),
        PrCommand::Vote { project, id, vote } => {
            ctx.with_pulls(project.project.as_deref(), |prs, actor| {
                prs.vote(&actor, id, matches!(vote, VoteArg::Up))?;
                let details = prs.show(&actor, id)?;
                print_voted(id, details.score, &details.votes, ctx)
            })
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
        } => ctx.with_pulls(project.project.as_deref(), |prs, actor| {
            let edit = PullEdit {
                title,
                body,
                assignee: assignee.map(|a| if a.is_empty() { None } else { Some(a) }),
                add_tags: tag,
                remove_tags: untag,
                watch: match (watch, unwatch) {
                    (true, _) => Some(true),
                    (_, true) => Some(false),
                    _ => None,
                },
            };
            prs.edit(&actor, id, edit)?;
            if ctx.json {
                output::json(&prs.show(&actor, id)?)
            } else {
                show!("edited pull request #{id}");
                Ok(())
            }
        }),
        PrCommand::Merge {
            project,
            id,
            strategy,
        } => ctx.with_pulls(project.project.as_deref(), |prs, actor| {
            let strategy = match strategy {
                StrategyArg::Ff => MergeStrategy::FastForward,
                StrategyArg::Merge => MergeStrategy::MergeCommit,
                StrategyArg::Squash => MergeStrategy::Squash,
                StrategyArg::Rebase => MergeStrategy::Rebase,
            };
            let outcome = prs.merge(&actor, id, strategy)?;
            print_merged(
                id,
                outcome.request.status.as_str(),
                &outcome.merge_commit,
                &outcome.request.target,
                &outcome.closed_issues,
                ctx,
            )
        }),
        PrCommand::Close { project, id } => {
            ctx.with_pulls(project.project.as_deref(), |prs, actor| {
                let pull = prs.close(&actor, id)?;
                done(ctx, prs, &actor, pull.number, "closed")
            })
        }
        PrCommand::Reopen { project, id } => {
            ctx.with_pulls(project.project.as_deref(), |prs, actor| {
                let pull = prs.reopen(&actor, id)?;
                done(ctx, prs, &actor, pull.number, "reopened")
            })
        }
        PrCommand::Refresh { project, id } => {
            ctx.with_pulls(project.project.as_deref(), |prs, actor| {
                let pull = prs.refresh(&actor, id)?;
                // The refresh just analyzed the merge: `show` reads the cache.
                print_refreshed(&prs.show(&actor, pull.number)?, ctx)
            })
        }
    }
}

fn done(
    ctx: &Ctx,
    prs: &forge_tickets::PullRequests<'_>,
    actor: &forge_tickets::Actor,
    id: u64,
    verb: &str,
) -> Result<()> {
    print_done(&prs.show(actor, id)?, verb, ctx)
}

/// A flag status named on the command line.
pub(crate) fn flag_status(status: &str) -> Result<FlagStatus> {
    FlagStatus::parse(status).ok_or_else(|| {
        anyhow!(
            "invalid flag status `{status}`: expected success, failure, error, pending or canceled"
        )
    })
}

/// What `pr new` prints (locally and against a remote forge).
pub(crate) fn print_opened(d: &PullDetails, ctx: &Ctx) -> Result<()> {
    if ctx.json {
        return output::json(d);
    }
    show!(
        "opened pull request #{}: {} ({} commit(s), {}:{} into {})",
        d.id,
        d.title,
        d.commits.len(),
        d.source.repo,
        d.source.branch,
        d.target
    );
    Ok(())
}

/// What `pr flag` prints.
pub(crate) fn print_flagged(d: &PullDetails, name: &str, status: &str, ctx: &Ctx) -> Result<()> {
    if ctx.json {
        return output::json(&d.flags);
    }
    show!(
        "flag {name} is {status} on pull request #{} ({})",
        d.id,
        short(&d.head)
    );
    Ok(())
}

/// What `pr vote` prints.
pub(crate) fn print_voted(
    id: u64,
    score: i64,
    votes: &impl serde::Serialize,
    ctx: &Ctx,
) -> Result<()> {
    if ctx.json {
        return output::json(&json!({"id": id, "score": score, "votes": votes}));
    }
    show!("voted on pull request #{id}; score {score:+}");
    Ok(())
}

/// What `pr merge` prints.
pub(crate) fn print_merged(
    id: u64,
    status: &str,
    merge_commit: &str,
    target: &str,
    closed_issues: &[u64],
    ctx: &Ctx,
) -> Result<()> {
    if ctx.json {
        return output::json(&json!({
            "id": id,
            "status": status,
            "merge_commit": merge_commit,
            "target": target,
            "closed_issues": closed_issues,
        }));
    }
    show!(
        "merged pull request #{id} into {target} ({})",
        short(merge_commit)
    );
    for n in closed_issues {
        show!("closed issue #{n}");
    }
    Ok(())
}

/// What `pr refresh` prints.
pub(crate) fn print_refreshed(d: &PullDetails, ctx: &Ctx) -> Result<()> {
    if ctx.json {
        return output::json(d);
    }
    let status = match (d.status, d.merge_status) {
        ("open", Some(s)) => format!("; merge status {s}"),
        _ => String::new(),
    };
    show!(
        "refreshed pull request #{}: {} head {} ({} commit(s)){status}",
        d.id,
        d.status,
        short(&d.head),
        d.commits.len()
    );
    Ok(())
}

/// What a command that changed a pull request prints: the request (with
/// --json), else one line with its status, head and merge status.
pub(crate) fn print_done(details: &PullDetails, verb: &str, ctx: &Ctx) -> Result<()> {
    if ctx.json {
        return output::json(details);
    }
    let status = match details.merge_status {
        Some(s) => format!("; merge status {s}"),
        None => String::new(),
    };
    show!(
        "{verb} pull request #{}: {} head {}{status}",
        details.id,
        details.status,
        short(&details.head)
    );
    Ok(())
}

/// Prints a listing of pull requests (a table, or JSON with --json).
pub(crate) fn print_list(pulls: Vec<forge_tickets::PullSummary>, ctx: &Ctx) -> Result<()> {
    if ctx.json {
        return output::json(&pulls);
    }
    if pulls.is_empty() {
        show!("no pull requests match");
        return Ok(());
    }
    let rows: Vec<Vec<String>> = pulls
        .into_iter()
        .map(|p| {
            vec![
                format!("#{}", p.id),
                p.status.to_string(),
                output::clip(&p.title, 50),
                p.author,
                format!("{}:{}", p.source.repo, p.source.branch),
                p.target,
                p.updated_at,
            ]
        })
        .collect();
    output::table(
        &["ID", "STATUS", "TITLE", "AUTHOR", "FROM", "TO", "UPDATED"],
        &rows,
    );
    Ok(())
}
