//! `forge repo`: browse a project's source repository.

use anyhow::{anyhow, bail, Result};
use forge_git::{CommitId, EntryKind, FileContent, FileDiff, Repo};
use serde_json::json;

use crate::cli::RepoCommand;
use crate::context::Ctx;
use crate::output;

/// Largest file `forge repo cat` prints.
const CAT_LIMIT: u64 = 10 << 20;

/// Largest patch of one file that `show` and `diff` print; past it, only counts.
pub(crate) const PATCH_LIMIT: usize = 1 << 20;

pub(crate) fn print_diff(files: &[FileDiff]) {
    use std::fmt::Write as _;
    // One write for the whole diff: stdout is line-buffered, and a diff of
    // a thousand files would otherwise cost thousands of system calls.
    let mut out = String::new();
    let (adds, dels): (usize, usize) = files
        .iter()
        .fold((0, 0), |(a, d), f| (a + f.additions, d + f.deletions));
    for f in files {
        let name = match (&f.old_path, &f.new_path) {
            (Some(old), Some(new)) if old != new => format!("{old} => {new}"),
            (_, Some(p)) | (Some(p), None) => p.clone(),
            (None, None) => String::new(),
        };
        let counts = if f.binary {
            "binary".to_string()
        } else {
            format!("+{} -{}", f.additions, f.deletions)
        };
        let _ = writeln!(out, " {:<12} {counts:<12} {name}", f.status.as_str());
    }
    let _ = writeln!(
        out,
        " {} files changed, {adds} insertions(+), {dels} deletions(-)",
        files.len()
    );
    for f in files {
        if f.old_mode != f.new_mode && f.old_mode != 0 && f.new_mode != 0 {
            let _ = writeln!(
                out,
                "\nmode {:06o} => {:06o} {}",
                f.old_mode,
                f.new_mode,
                f.new_path.as_deref().unwrap_or_default()
            );
        }
        let path = f
            .new_path
            .as_ref()
            .or(f.old_path.as_ref())
            .map(String::as_str)
            .unwrap_or_default();
        let _ = match &f.patch {
            Some(patch) => writeln!(out, "\n{}", patch.trim_end()),
            None if f.binary => writeln!(out, "\nBinary file {path} differs"),
            None => writeln!(out, "\n{path}: patch over {PATCH_LIMIT} bytes, not shown"),
        };
    }
    say!("{}", out.trim_end());
}

pub(crate) fn diff_json(files: &[FileDiff]) -> serde_json::Value {
    json!(files
        .iter()
        .map(forge_tickets::view::FileDiffView::from)
        .collect::<Vec<_>>())
}

fn open(ctx: &Ctx, project: Option<&str>) -> Result<(Repo, String)> {
    let store = ctx.home_store()?;
    let name = project.ok_or_else(|| anyhow!("which project? pass -p PROJECT"))?;
    let project = store.project(name)?;
    let role = ctx
        .as_user()
        .map(|u| store.role_of(&project, u))
        .transpose()?
        .flatten();
    if project.private && role.is_none() {
        return Err(forge_core::Error::not_found("project", name).into());
    }
    let repo = Repo::open(&ctx.home()?.project_paths(&project.full_name).source)?;
    Ok((repo, project.full_name))
}

fn revision(repo: &Repo, project: &str, rev: Option<&str>) -> Result<CommitId> {
    match rev {
        Some(rev) => Ok(repo.resolve(rev)?),
        None => {
            let branch = repo.head_branch()?;
            repo.branch_tip(&branch)?.ok_or_else(|| {
                anyhow!(
                    "the repository of `{project}` has no commits yet (default branch `{branch}`)"
                )
            })
        }
    }
}

fn commit_json(c: &forge_git::CommitSummary) -> serde_json::Value {
    json!({
        "id": c.id.to_string(),
        "parents": c.parents.iter().map(ToString::to_string).collect::<Vec<_>>(),
        "author": {"name": c.author_name, "email": c.author_email},
        "date": time(c.time),
        "title": c.title,
        "message": c.message,
    })
}

fn time(secs: i64) -> String {
    forge_core::time::epoch_to_rfc3339(secs).unwrap_or_default()
}

pub fn run(cmd: RepoCommand, ctx: &Ctx) -> Result<()> {
    match cmd {
        RepoCommand::Branches { project } => refs(ctx, project.project.as_deref(), true),
        RepoCommand::Tags { project } => refs(ctx, project.project.as_deref(), false),
        RepoCommand::Log {
            project,
            rev,
            path,
            skip,
            limit,
        } => {
            let (repo, name) = open(ctx, project.project.as_deref())?;
            let commit = revision(&repo, &name, rev.as_deref())?;
            let log = repo.log(commit, path.as_deref(), skip, limit)?;
            if ctx.json {
                let items: Vec<_> = log.iter().map(commit_json).collect();
                return output::json(&items);
            }
            let rows: Vec<Vec<String>> = log
                .into_iter()
                .map(|c| {
                    vec![
                        c.id.to_string()[..10].to_string(),
                        time(c.time),
                        c.author_name,
                        output::clip(&c.title, 60),
                    ]
                })
                .collect();
            output::table(&["COMMIT", "DATE", "AUTHOR", "TITLE"], &rows);
            Ok(())
        }
        RepoCommand::Tree { project, rev, path } => {
            let (repo, name) = open(ctx, project.project.as_deref())?;
            let commit = revision(&repo, &name, rev.as_deref())?;
            let items = repo.list_tree(commit, &path)?;
            let kind = |k: EntryKind| match k {
                EntryKind::File => "file",
                EntryKind::Dir => "dir",
                EntryKind::Symlink => "symlink",
                EntryKind::Submodule => "submodule",
            };
            if ctx.json {
                let list: Vec<_> = items
                    .iter()
                    .map(|i| json!({"name": i.name, "path": i.path, "type": kind(i.kind), "mode": format!("{:06o}", i.mode), "size": i.size}))
                    .collect();
                return output::json(&list);
            }
            let rows: Vec<Vec<String>> = items
                .into_iter()
                .map(|i| {
                    let name = if i.kind == EntryKind::Dir {
                        format!("{}/", i.name)
                    } else {
                        i.name
                    };
                    vec![
                        format!("{:06o}", i.mode),
                        kind(i.kind).to_string(),
                        i.size.map(|s| s.to_string()).unwrap_or_default(),
                        name,
                    ]
                })
                .collect();
            output::table(&["MODE", "TYPE", "SIZE", "NAME"], &rows);
            Ok(())
        }
        RepoCommand::Show { project, commit } => {
            let (repo, _) = open(ctx, project.project.as_deref())?;
            let id = repo.resolve(&commit)?;
            let c = repo.commit(id)?;
            let files = repo.diff(c.parents.first().copied(), id, PATCH_LIMIT)?;
            if ctx.json {
                let mut value = commit_json(&c);
                value["files"] = diff_json(&files);
                return output::json(&value);
            }
            say!("commit {}", c.id);
            say!("Author: {} <{}>", c.author_name, c.author_email);
            say!("Date:   {}\n", time(c.time));
            for line in c.message.trim_end().lines() {
                say!("    {line}");
            }
            say!();
            print_diff(&files);
            Ok(())
        }
        RepoCommand::Diff { project, range } => {
            let (repo, _) = open(ctx, project.project.as_deref())?;
            let (a, b) = range
                .split_once("..")
                .filter(|(a, b)| !a.is_empty() && !b.is_empty() && !b.starts_with('.'))
                .ok_or_else(|| anyhow!("invalid range `{range}`: expected A..B"))?;
            let (base, head) = (repo.resolve(a)?, repo.resolve(b)?);
            let commits = repo.log_range(base, head, 1000)?;
            let files = repo.diff(Some(base), head, PATCH_LIMIT)?;
            if ctx.json {
                let commits: Vec<_> = commits
                    .iter()
                    .map(|c| json!({"id": c.id.to_string(), "title": c.title}))
                    .collect();
                return output::json(&json!({
                    "base": base.to_string(), "head": head.to_string(), "commits": commits, "files": diff_json(&files),
                }));
            }
            for c in &commits {
                say!("{} {}", &c.id.to_string()[..10], c.title);
            }
            if !commits.is_empty() {
                say!();
            }
            print_diff(&files);
            Ok(())
        }
        RepoCommand::Blame { project, rev, path } => {
            let (repo, name) = open(ctx, project.project.as_deref())?;
            let commit = revision(&repo, &name, rev.as_deref())?;
            let lines = repo.blame(commit, &path, CAT_LIMIT)?;
            if ctx.json {
                let list: Vec<_> = lines
                    .iter()
                    .map(|l| json!({"line": l.line, "commit": l.commit.to_string(), "author": l.author, "date": time(l.time), "text": l.text}))
                    .collect();
                return output::json(&list);
            }
            let width = lines
                .iter()
                .map(|l| l.author.chars().count())
                .max()
                .unwrap_or(0);
            for l in lines {
                say!(
                    "{} ({:<width$} {} {:>4}) {}",
                    &l.commit.to_string()[..8],
                    l.author,
                    &time(l.time)[..10],
                    l.line,
                    l.text
                );
            }
            Ok(())
        }
        RepoCommand::Grep {
            project,
            rev,
            fixed,
            ignore_case,
            limit,
            pattern,
        } => {
            let (repo, name) = open(ctx, project.project.as_deref())?;
            let commit = revision(&repo, &name, rev.as_deref())?;
            let options = forge_git::GrepOptions {
                fixed,
                ignore_case,
                max_matches: limit.clamp(1, 1000),
                ..Default::default()
            };
            let found = repo.grep(commit, &pattern, &options)?;
            if ctx.json {
                let matches: Vec<_> = found
                    .matches
                    .iter()
                    .map(|m| json!({"path": m.path, "line": m.line, "text": m.text}))
                    .collect();
                return output::json(&json!({
                    "commit": commit.to_string(),
                    "matches": matches,
                    "files": found.files,
                    "skipped": found.skipped,
                    "stopped": found.stopped,
                }));
            }
            for m in &found.matches {
                show!("{}:{}:{}", m.path, m.line, m.text);
            }
            match found.stopped {
                Some("time") => eprintln!(
                    "forge: stopped after {} s: {} files searched; narrow the pattern",
                    options.time_limit.as_secs(),
                    found.files
                ),
                Some(_) => eprintln!(
                    "forge: the first {} matching lines shown (--limit)",
                    found.matches.len()
                ),
                None => {}
            }
            if found.matches.is_empty() {
                bail!(
                    "no line matches `{pattern}` in {} files at {}",
                    found.files,
                    commit
                );
            }
            Ok(())
        }
        RepoCommand::Cat { project, rev, path } => {
            let (repo, name) = open(ctx, project.project.as_deref())?;
            let commit = revision(&repo, &name, rev.as_deref())?;
            match repo.file_content(commit, &path, CAT_LIMIT)? {
                FileContent::Text(text) if ctx.json => {
                    output::json(&json!({"path": path, "size": text.len(), "text": text}))
                }
                FileContent::Text(text) => {
                    say!("{}", text.strip_suffix('\n').unwrap_or(&text));
                    Ok(())
                }
                FileContent::Binary { size } => {
                    bail!("`{path}` is a binary file ({size} bytes); not shown")
                }
                FileContent::TooLarge { size, limit } => bail!(
                    "`{path}` is {size} bytes, over the {limit}-byte limit of `forge repo cat`"
                ),
            }
        }
    }
}

fn refs(ctx: &Ctx, project: Option<&str>, branches: bool) -> Result<()> {
    let (repo, _) = open(ctx, project)?;
    let list = if branches {
        repo.branches()?
    } else {
        repo.tags()?
    };
    let default = repo.head_branch().ok();
    if ctx.json {
        let items: Vec<_> = list
            .iter()
            .map(|r| {
                let mut item =
                    json!({"name": r.name, "commit": r.commit.to_string(), "title": r.title});
                if branches {
                    item["default"] = json!(default.as_deref() == Some(r.name.as_str()));
                }
                item
            })
            .collect();
        return output::json(&items);
    }
    let rows: Vec<Vec<String>> = list
        .into_iter()
        .map(|r| {
            let mark = if branches && default.as_deref() == Some(r.name.as_str()) {
                "*"
            } else {
                ""
            };
            vec![
                format!("{mark}{}", r.name),
                r.commit.to_string()[..10].to_string(),
                output::clip(&r.title, 60),
            ]
        })
        .collect();
    output::table(
        &[if branches { "BRANCH" } else { "TAG" }, "COMMIT", "TITLE"],
        &rows,
    );
    Ok(())
}
