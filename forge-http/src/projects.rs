//! Projects: the list, creating and forking, one project's description,
//! branches, tags, clone URLs, contributors, and commit flags.

use std::collections::BTreeMap;

use forge_core::commit_flag::CommitFlag;
use forge_core::project::Project;
use forge_core::role::{Action, Role};
use forge_git::Repo;
use forge_tickets::NewProject;
use serde_json::{json, Map, Value};

use crate::app::{ok, Answer};
use crate::error::ApiError;
use crate::extract::{Ctx, Fields};
use crate::pagure::{epoch, key_type};
use crate::router::At;

/// A project in Pagure's shape.
pub(crate) fn project_json(ctx: &Ctx<'_>, p: &Project) -> Result<Value, ApiError> {
    let mut access: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    let mut groups: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for role in ["owner", "admin", "commit", "collaborator", "ticket"] {
        access.insert(role, Vec::new());
        if role != "owner" {
            groups.insert(role, Vec::new());
        }
    }
    for m in ctx.store.members(p)? {
        // Groups (`@name`) are Pagure's access_groups, by their names.
        let (lists, name) = match m.name.strip_prefix('@') {
            Some(group) => (&mut groups, group.to_string()),
            None => (&mut access, m.name.clone()),
        };
        let key = if m.name == p.owner {
            "owner"
        } else {
            m.role.as_str()
        };
        if let Some(list) = lists.get_mut(key) {
            list.push(name);
        }
    }
    let s = &p.settings;
    Ok(json!({
        "id": p.id, "name": p.name, "namespace": p.namespace, "fullname": p.full_name,
        "url_path": p.full_name, "full_url": format!("{}/{}", ctx.call.base_url, p.full_name),
        "description": p.description, "private": p.private, "parent": null,
        "user": ctx.user(&p.owner),
        "date_created": epoch(&p.created_at), "date_modified": epoch(&p.created_at),
        "tags": [], "priorities": s.pagure_priorities(), "close_status": s.close_reasons,
        "milestones": s.milestones.iter().map(|m| (m.name.clone(), json!({"date": m.date, "active": true}))).collect::<Map<String, Value>>(),
        "custom_keys": custom_keys(s),
        "access_users": access, "access_groups": groups,
        "settings": {"issue_tracker": s.issue_tracker, "pull_requests": s.pull_requests},
    }))
}

/// `owner`'s fork of `parent` in Pagure's shape: the parent's fields under
/// the fork's names, owner and links, and the parent itself.
pub(crate) fn fork_json(
    ctx: &Ctx<'_>,
    parent: &forge_core::project::Project,
    owner: &str,
) -> Result<Value, ApiError> {
    let of = project_json(ctx, parent)?;
    let mut fork = of.clone();
    let full = &parent.full_name;
    // A fork is its owner's, with none of its parent's members or issue
    // settings, as Pagure shows it.
    let none = json!({"admin": [], "collaborator": [], "commit": [], "ticket": []});
    let mut users = none.clone();
    users["owner"] = json!([owner]);
    fork["access_users"] = users;
    fork["access_groups"] = none;
    for (key, empty) in [
        ("close_status", json!([])),
        ("custom_keys", json!([])),
        ("tags", json!([])),
        ("milestones", json!({})),
        ("priorities", json!({})),
    ] {
        fork[key] = empty;
    }
    fork["fullname"] = json!(format!("forks/{owner}/{full}"));
    fork["url_path"] = json!(format!("fork/{owner}/{full}"));
    fork["full_url"] = json!(format!("{}/fork/{owner}/{full}", ctx.call.base_url));
    fork["user"] = json!(ctx.user(owner));
    fork["parent"] = of;
    Ok(fork)
}

/// Whether `user` owns `project` or may commit to it (collaborator and up,
/// directly or through a group): the projects Pagure counts as a user's.
pub(crate) fn may_commit(ctx: &Ctx<'_>, project: &Project, user: &str) -> Result<bool, ApiError> {
    let role = ctx.store.role_of(project, user)?;
    Ok(role.is_some_and(|r| r >= forge_core::role::Role::Collaborator))
}

/// Pagure's `custom_keys`: `[name, type]` pairs, by name as Pagure sorts
/// them (a list's options are the issues' `key_data`).
fn custom_keys(s: &forge_core::project::ProjectSettings) -> Vec<Value> {
    let mut fields: Vec<_> = s.custom_fields.iter().collect();
    fields.sort_by(|a, b| a.name.cmp(&b.name));
    fields
        .into_iter()
        .map(|f| json!([f.name, key_type(f.kind)]))
        .collect()
}

/// `GET projects`: the projects the viewer may see, `namespace` and
/// `owner` filters, paginated.
pub(crate) fn list(ctx: &Ctx<'_>) -> Answer {
    let viewer = ctx.viewer_name()?;
    let q = &ctx.query;
    // Pagure's filters: `pattern` the name (`*` for any run, any case; a
    // name without `*` exactly), `username` those the user owns or may
    // commit to, `tags` (forge's projects have none), `fork` (this list
    // holds no forks: `fork=true` matches none).
    let pattern = q.text("pattern");
    let username = q.text("username");
    let tags: Vec<&str> = q.all("tags").filter(|t| !t.is_empty()).collect();
    let fork = q.flag("fork");
    let mut out = Vec::new();
    for p in ctx.store.list_projects()? {
        if !ctx.visible(&p, viewer.as_deref())? {
            continue;
        }
        if q.get("namespace")
            .is_some_and(|ns| p.namespace.as_deref() != Some(ns))
        {
            continue;
        }
        if q.get("owner").is_some_and(|o| p.owner != o) {
            continue;
        }
        let named = pattern.as_deref().is_none_or(|pat| {
            if pat.contains('*') {
                forge_core::name::glob_match(&pat.to_lowercase(), &p.name.to_lowercase())
            } else {
                p.name == pat
            }
        });
        if !named || !tags.is_empty() || fork == Some(true) {
            continue;
        }
        if let Some(user) = &username {
            if !may_commit(ctx, &p, user)? {
                continue;
            }
        }
        out.push(p);
    }
    let (per_page, offset, pagination) = ctx.page(out.len() as u64)?;
    let short = q.flag("short") == Some(true);
    let items: Vec<Value> = out
        .iter()
        .skip(offset)
        .take(per_page)
        .map(|p| {
            if short {
                Ok(json!({"name": p.name, "namespace": p.namespace,
                          "fullname": p.full_name, "description": p.description}))
            } else {
                project_json(ctx, p)
            }
        })
        .collect::<Result<_, _>>()?;
    let args = json!({"tags": tags, "username": username, "fork": fork, "pattern": pattern,
                      "namespace": q.get("namespace"), "owner": q.get("owner"), "short": short,
                      "page": pagination.page, "per_page": pagination.per_page});
    ok(
        &json!({"projects": items, "total_projects": out.len(), "pagination": pagination,
               "args": args}),
    )
}

/// `name` under the posted `namespace`, if any.
fn with_namespace(f: &Fields, name: &str) -> String {
    match f.text("namespace") {
        Some(ns) => format!("{ns}/{name}"),
        None => name.to_string(),
    }
}

/// `POST new`: a project owned by the token's user.
pub(crate) fn create(ctx: &Ctx<'_>) -> Answer {
    let user = ctx.acting(Action::CreateProject, None)?;
    let f = ctx.fields()?;
    let name = f.required("name")?;
    let new = NewProject {
        full_name: with_namespace(&f, name),
        description: f.get("description").cloned().unwrap_or_default(),
        private: f.truthy("private"),
        owner: user,
    };
    let project = forge_tickets::create_project(
        ctx.store,
        &ctx.app.home,
        &new,
        ctx.app.hooks_exe.as_deref(),
    )?;
    ok(&json!({"message": format!("Project \"{}\" created", project.full_name)}))
}

/// `POST fork`: the token's user's fork of `repo`.
pub(crate) fn fork(ctx: &Ctx<'_>) -> Answer {
    let user = ctx.acting(Action::ForkProject, None)?;
    let f = ctx.fields()?;
    let full = with_namespace(&f, f.required("repo")?);
    let not_found = || ApiError::new(404, "ENOPROJECT", "Project not found");
    let project = ctx.store.find_project(&full)?.ok_or_else(not_found)?;
    if !ctx.visible(&project, Some(&user))? {
        return Err(not_found());
    }
    forge_tickets::fork_project(
        ctx.store,
        &ctx.app.home,
        &project,
        &user,
        ctx.app.hooks_exe.as_deref(),
    )?;
    // Pagure names the fork `<user>/<project>` here.
    ok(&json!({"message": format!("Repo \"{full}\" cloned to \"{user}/{full}\"")}))
}

/// `GET <repo>`.
pub(crate) fn show(ctx: &Ctx<'_>, at: &At) -> Answer {
    ok(&project_json(ctx, &at.project)?)
}

/// The repository a route names: the project's, or the fork's (the API's
/// and the pages' one lookup).
pub(crate) fn repo(ctx: &Ctx<'_>, at: &At) -> Result<Repo, ApiError> {
    let path = match &at.fork {
        Some(user) => ctx.app.home.fork_path(user, &at.project.full_name),
        None => ctx.app.home.project_paths(&at.project.full_name).source,
    };
    Ok(Repo::open(&path)?)
}

/// `GET <repo>/git/branches`: the names, or with `with_commits` each
/// name's commit; `default` is the branch HEAD names (with its commit),
/// null (`{}` with commits) while the repository has none.
pub(crate) fn branches(ctx: &Ctx<'_>, at: &At) -> Answer {
    let repo = repo(ctx, at)?;
    let branches = repo.branches()?;
    let head = repo
        .head_branch()
        .ok()
        .and_then(|name| branches.iter().find(|b| b.name == name));
    if ctx.query.flag("with_commits") == Some(true) {
        let all: serde_json::Map<String, Value> = branches
            .iter()
            .map(|b| (b.name.clone(), json!(b.commit.to_string())))
            .collect();
        let default: serde_json::Map<String, Value> = head
            .map(|b| (b.name.clone(), json!(b.commit.to_string())))
            .into_iter()
            .collect();
        return ok(&json!({"total_branches": all.len(), "branches": all, "default": default}));
    }
    let names: Vec<&str> = branches.iter().map(|b| b.name.as_str()).collect();
    ok(&json!({"total_branches": names.len(), "branches": names,
               "default": head.map(|b| b.name.as_str())}))
}

/// `GET <repo>/git/tags`.
pub(crate) fn git_tags(ctx: &Ctx<'_>, at: &At) -> Answer {
    let names: Vec<String> = repo(ctx, at)?.tags()?.into_iter().map(|b| b.name).collect();
    ok(&json!({"total_tags": names.len(), "tags": names}))
}

/// `GET <repo>/git/urls`.
pub(crate) fn urls(ctx: &Ctx<'_>, at: &At) -> Answer {
    // Pagure's `git` is its git:// daemon; forge serves no such protocol and
    // gives its smart-HTTP URL there, which git clones the same way.
    let mut urls = serde_json::Map::new();
    let name = &at.project.full_name;
    urls.insert(
        "git".into(),
        json!(format!("{}/{name}.git", ctx.call.base_url)),
    );
    if let Some(ssh) = &ctx.app.config.ssh_url {
        urls.insert("ssh".into(), json!(format!("{ssh}/{name}.git")));
    }
    ok(&json!({"total_urls": urls.len(), "urls": urls}))
}

/// `GET <repo>/contributors`: members by role, users and groups apart.
pub(crate) fn contributors(ctx: &Ctx<'_>, at: &At) -> Answer {
    let mut users: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    let mut groups: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    // Pagure's keys: its owner among the admins, `collaborators` plural.
    let key = |role: forge_core::role::Role| match role.as_str() {
        "collaborator" => "collaborators",
        other => other,
    };
    for role in ["admin", "commit", "collaborators", "ticket"] {
        users.insert(role, Vec::new());
        groups.insert(role, Vec::new());
    }
    users.insert("admin", vec![at.project.owner.clone()]);
    let owner = at.project.owner.as_str();
    for m in ctx.store.members(&at.project)? {
        let target = if m.name.starts_with('@') {
            &mut groups
        } else {
            &mut users
        };
        if m.name == owner {
            continue;
        }
        if let Some(list) = target.get_mut(key(m.role)) {
            list.push(m.name.trim_start_matches('@').to_string());
        }
    }
    ok(&json!({"users": users, "groups": groups}))
}

fn commit_flag_json(ctx: &Ctx<'_>, f: &CommitFlag) -> Value {
    json!({
        "commit_hash": f.commit, "username": f.name, "status": f.status, "percent": f.percent,
        "comment": f.comment, "url": f.url, "user": ctx.user(&f.username),
        "date_created": f.created_at.to_string(), "date_updated": f.updated_at.to_string(),
    })
}

/// `GET <repo>/c/<hash>/flag`.
pub(crate) fn commit_flags(ctx: &Ctx<'_>, at: &At, hash: &str) -> Answer {
    let flags = ctx.store.commit_flags(&at.project.full_name, hash)?;
    ok(
        &json!({"total_flags": flags.len(), "flags": flags.iter().map(|f| commit_flag_json(ctx, f)).collect::<Vec<_>>()}),
    )
}

/// `POST <repo>/c/<hash>/flag`: a CI status on a commit (collaborator+).
pub(crate) fn flag_commit(ctx: &Ctx<'_>, at: &At, hash: &str) -> Answer {
    let project = &at.project;
    let user = ctx.acting(Action::CommitFlag, Some(&project.full_name))?;
    if ctx.store.role_of(project, &user)? < Some(Role::Collaborator) {
        return Err(ApiError::new(
            403,
            "ENOTHIGHENOUGH",
            format!("{user} may not flag commits of `{}`", project.full_name),
        ));
    }
    let commit = repo(ctx, at)?.resolve(hash).map_err(|_| {
        ApiError::new(
            404,
            "EINVALIDREQ",
            format!("no commit `{hash}` in `{}`", project.full_name),
        )
    })?;
    let f = ctx.fields()?;
    let name = f
        .text("username")
        .ok_or_else(|| ApiError::field("username", "This field is required."))?;
    let flag = CommitFlag {
        commit: commit.to_string(),
        name: name.clone(),
        status: f.text("status").unwrap_or_else(|| "success".into()),
        percent: crate::pulls::percent(&f)?,
        comment: f.get("comment").cloned().unwrap_or_default(),
        url: f.text("url"),
        username: user,
        created_at: 0,
        updated_at: 0,
    };
    if let Some(url) = &flag.url {
        if !(url.starts_with("https://") || url.starts_with("http://")) {
            return Err(ApiError::field("url", "an http(s) URL"));
        }
    }
    let replaced = ctx.store.set_commit_flag(&project.full_name, &flag)?;
    let stored = ctx
        .store
        .commit_flag(&project.full_name, &flag.commit, &name)?;
    let mut flag = json!(stored.as_ref().map(|f| commit_flag_json(ctx, f)));
    if let Some(f) = &stored {
        // Pagure's answer shows the poster's addresses to the poster.
        flag["user"] = ctx.user_with_emails(&f.username)?;
    }
    ok(&json!({
        "flag": flag, "uid": name,
        "message": if replaced { "Flag updated" } else { "Flag added" },
    }))
}
