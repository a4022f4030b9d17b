//! `/<repo>/settings`: a project's settings, members and groups, deploy
//! keys, and — for its owner or a site admin — giving it away and deleting
//! it; renaming for every admin. Each form posts to the API's endpoint at
//! the same path (`options/update`, `git/modifyacls`, `deploykeys/new`,
//! `rename`, ...), through `forms`, so the checks are the API's and
//! `forge_tickets::Admin`'s.

use forge_core::role::Role;
use forge_tickets::Admin;
use maud::{html, Markup};

use super::pages::{ok, tabs};
use super::session::csrf_field;
use super::{Here, Page};
use crate::error::ApiError;
use crate::extract::Ctx;

const ROLES: [Role; 4] = [Role::Ticket, Role::Collaborator, Role::Commit, Role::Admin];

/// What the settings page shows once, just after it was made.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct ShownOnce<'a> {
    /// A new webhook's secret.
    pub webhook_secret: Option<&'a str>,
    /// The address a new CI server setup calls back.
    pub ci_callback: Option<&'a str>,
}

/// `GET /<repo>/settings`.
pub(crate) fn show(ctx: &Ctx<'_>, here: &Here) -> Result<Page, ApiError> {
    show_with(ctx, here, ShownOnce::default())
}

/// The settings page, with what was just made shown this once.
pub(crate) fn show_with(ctx: &Ctx<'_>, here: &Here, once: ShownOnce<'_>) -> Result<Page, ApiError> {
    let admin = match signed_in_admin(ctx, here, &format!("/{}/settings", here.project.full_name))?
    {
        Ok(admin) => admin,
        Err(to_login) => return Ok(to_login),
    };
    let p = admin.project();
    let name = &p.full_name;
    let members = ctx.store.members(p)?;
    let keys = admin.deploy_keys()?;
    let hooks = forge_notify::webhook::Webhooks::new(ctx.store, &ctx.app.home)
        .list(p)
        .map_err(|e| ApiError::internal(e.to_string()))?;
    let ci = forge_notify::ci::setup::CiSettings::new(ctx.store, &ctx.app.home).get(p)?;
    let owns = admin.may_give_away();
    let form = |action: &str, class: &str, inner: Markup| {
        html! {
            form class=(class) method="post" action={ "/" (name) "/" (action) } {
                (csrf_field(ctx))
                (inner)
            }
        }
    };
    let remove_member = |m: &str| {
        let (kind, bare) = match m.strip_prefix('@') {
            Some(g) => ("group", g),
            None => ("user", m),
        };
        form(
            "git/modifyacls",
            "inline",
            html! {
                input type="hidden" name="user_type" value=(kind);
                input type="hidden" name="name" value=(bare);
                button.secondary type="submit" aria-label={ "Remove " (m) } { "Remove" }
            },
        )
    };
    ok(
        &format!("Settings · {name}"),
        html! {
            h1 { a href={ "/" (name) } { (name) } }
            (tabs(here, "Settings"))
            h2 { "Settings" }
            (form("options/update", "stack", html! {
                @for (key, value) in p.settings.entries() {
                    @let id = format!("set-{key}");
                    label for=(id) { code { (key) } }
                    @if value == "true" || value == "false" {
                        select id=(id) name=(key) {
                            option value="true" selected[value == "true"] { "true" }
                            option value="false" selected[value == "false"] { "false" }
                        }
                    } @else {
                        input id=(id) type="text" name=(key) value=(value);
                    }
                }
                p.muted { "Lists are comma-separated; milestones are name@YYYY-MM-DD, custom fields name:kind[:a|b]." }
                button type="submit" { "Save settings" }
            }))
            h2 { "Members and groups" }
            ul.list {
                @for m in &members {
                    li {
                        @if let Some(g) = m.name.strip_prefix('@') { "@" (g) " (group)" }
                        @else { a href={ "/user/" (m.name) } { strong { (m.name) } } }
                        " " span.tag { (m.role.as_str()) }
                        @if m.name == p.owner { " " span.muted { "owner" } }
                        @if !m.branches.is_empty() { " " span.muted { "branches " code { (m.branches) } } }
                        @if m.name != p.owner { (remove_member(&m.name)) }
                    }
                }
            }
            (form("git/modifyacls", "stack", html! {
                label for="member-kind" { "Add or change: a user or a group?" }
                select id="member-kind" name="user_type" {
                    option value="user" { "user" }
                    option value="group" { "group" }
                }
                label for="member-name" { "Its name" }
                input id="member-name" type="text" name="name" required;
                label for="member-role" { "Role" }
                select id="member-role" name="acl" {
                    @for r in ROLES { option value=(r.as_str()) selected[r == Role::Commit] { (r.as_str()) } }
                }
                label for="member-branches" { "Branches a collaborator may push (patterns, comma-separated)" }
                input id="member-branches" type="text" name="branches" placeholder="feature/*, docs";
                button type="submit" { "Save member" }
            }))
            h2 { "Deploy keys" }
            @if keys.is_empty() { p.muted { "None: machines clone with their owners' keys only." } }
            @else {
                ul.list {
                    @for k in &keys {
                        li {
                            code { (k.fingerprint) } " " (k.key_type) " " span.muted { (k.comment) }
                            " " span.tag { (if k.push { "read-write" } else { "read-only" }) }
                            (form("deploykeys/remove", "inline", html! {
                                input type="hidden" name="key" value=(k.fingerprint);
                                button.secondary type="submit" aria-label={ "Remove deploy key " (k.fingerprint) } { "Remove" }
                            }))
                        }
                    }
                }
            }
            (form("deploykeys/new", "stack", html! {
                label for="deploy-key" { "Add a deploy key (the line of a .pub file)" }
                textarea id="deploy-key" name="key" rows="3" required {}
                label { input type="checkbox" name="push" value="true"; " May push" }
                button type="submit" { "Add deploy key" }
            }))
            h2 { "Webhooks" }
            @if let Some(secret) = once.webhook_secret {
                section.box.pad role="status" {
                    p { strong { "The new webhook's secret (shown this once; its receiver verifies signatures with it):" } }
                    code.clone { (secret) }
                }
            }
            @if hooks.is_empty() { p.muted { "None: events reach no other service." } }
            @else {
                ul.list {
                    @for h in &hooks {
                        li {
                            code { (h.url) } " "
                            a.button href={ "/" (name) "/settings/webhooks/" (h.id) } { "Deliveries" } " "
                            span.muted { (if h.events.is_empty() { "every event".to_string() } else { h.events.join(", ") }) }
                            @if !h.active { " " span.tag { "disabled" } @if let Some(why) = &h.disabled_reason { " " span.muted { (why) } } }
                            (form(&format!("webhooks/{}/remove", h.id), "inline", html! {
                                button.secondary type="submit" aria-label={ "Remove webhook " (h.url) } { "Remove" }
                            }))
                        }
                    }
                }
            }
            (form("webhooks/new", "stack", html! {
                label for="hook-url" { "Add a webhook: the URL deliveries are posted to" }
                input id="hook-url" type="url" name="url" required placeholder="https://ci.example.org/forge";
                label for="hook-events" { "Event types, comma-separated (issue.*, pr.new); empty for all" }
                input id="hook-events" type="text" name="events";
                label for="hook-secret" { "Secret (whsec_…; generated when empty)" }
                input id="hook-secret" type="text" name="secret" autocomplete="off";
                button type="submit" { "Add webhook" }
            }))
            h2 id="ci" { "CI" }
            @if let Some(callback) = once.ci_callback {
                section.box.pad role="status" {
                    p { strong { "Jenkins calls back at this address (shown this once; give it to the job's Notification plugin for \"Job Finalized\"):" } }
                    code.clone { (callback) }
                }
            }
            @if let Some(c) = &ci {
                p {
                    "Each pull request that opens or moves is built by " (c.provider.as_str()) " job "
                    code { (c.job) } " at " code { (c.url) } " and flagged with the result."
                }
                (form("ci/remove", "inline", html! {
                    button.secondary type="submit" { "Stop asking for builds" }
                }))
            } @else {
                p.muted { "None: pull requests are flagged only by what posts flags (docs/ci.md)." }
            }
            (form("ci/set", "stack", html! {
                input type="hidden" name="provider" value="jenkins";
                label for="ci-url" { "Jenkins: the server's URL" }
                input id="ci-url" type="url" name="url" required placeholder="https://jenkins.example.org" value=[ci.as_ref().map(|c| c.url.as_str())];
                label for="ci-job" { "Job (folder/name for a job in a folder)" }
                input id="ci-job" type="text" name="job" required value=[ci.as_ref().map(|c| c.job.as_str())];
                label for="ci-token" { "The job's trigger token (\"Trigger builds remotely\"; kept encrypted, never shown again)" }
                input id="ci-token" type="password" name="token" required autocomplete="off";
                button type="submit" { (if ci.is_some() { "Replace CI server" } else { "Set CI server" }) }
            }))
            h2 { "Name, owner, deletion" }
            (form("rename", "stack", html! {
                label for="new-name" { "New name (name or namespace/name); links to the old name are sent on" }
                input id="new-name" type="text" name="new_name" value=(name) required;
                button type="submit" { "Rename project" }
            }))
            @if owns {
                (form("transfer", "stack", html! {
                    label for="new-owner" { "Give the project to (user name)" }
                    input id="new-owner" type="text" name="owner" required;
                    label { input type="checkbox" name="retain_access" value="true" checked; " Stay an admin of it" }
                    button type="submit" { "Transfer project" }
                }))
                (form("delete", "stack", html! {
                    label for="confirm-delete" {
                        "Delete the project with its issues, pull requests, repositories and forks, for good: type "
                        code { (name) } " to confirm"
                    }
                    input id="confirm-delete" type="text" name="confirm" required autocomplete="off";
                    button.danger type="submit" { "Delete project" }
                }))
            } @else {
                p.muted { "Only the owner (" (p.owner) ") or a site admin may transfer or delete the project." }
            }
        },
    )
}

/// The signed-in viewer as an admin of the page's project (a 403 for
/// anyone else), or, signed out, the login page's redirect back to `at`.
pub(crate) fn signed_in_admin<'s>(
    ctx: &Ctx<'s>,
    here: &Here,
    at: &str,
) -> Result<Result<Admin<'s>, Page>, ApiError> {
    let Some(session) = ctx.session() else {
        return Ok(Err(Page::redirect(&format!(
            "/login?next={}",
            url_query(at)
        ))));
    };
    Ok(Ok(Admin::open(
        ctx.store,
        &ctx.app.home,
        here.project.clone(),
        &session.user,
    )?))
}

/// `text` encoded for a query string.
fn url_query(text: &str) -> String {
    serde_urlencoded::to_string([("", text)])
        .unwrap_or_default()
        .trim_start_matches('=')
        .to_string()
}
