//! `/settings`: each signed-in user's own account — display name,
//! password, e-mail addresses, SSH keys and API tokens — over the same
//! library calls as `forge user` and `forge token`. Every change is a form
//! posted to `/settings/<what>` with the session's CSRF token (checked in
//! `forms`), then a redirect back; a new token's secret is shown once.

use forge_core::role::Action;
use forge_core::sshkey::PublicKey;
use forge_notify::mail::prefs::{self as mail_prefs, Level};
use maud::{html, Markup};

use super::pages::ok;
use super::session::csrf_field;
use super::Page;
use crate::error::ApiError;
use crate::extract::Ctx;

/// The signed-in user, or a redirect to sign in first.
fn me(ctx: &Ctx<'_>) -> Result<String, Page> {
    match ctx.session() {
        Some(s) => Ok(s.user.clone()),
        None => Err(Page::redirect("/login?next=%2Fsettings")),
    }
}

/// `GET /settings`.
pub(crate) fn show(ctx: &Ctx<'_>) -> Result<Page, ApiError> {
    let user = match me(ctx) {
        Ok(u) => u,
        Err(page) => return Ok(page),
    };
    settings_page(ctx, &user, None)
}

fn settings_page(ctx: &Ctx<'_>, user: &str, secret: Option<&str>) -> Result<Page, ApiError> {
    let u = ctx.store.user(user)?;
    let keys = ctx.store.user_keys(user)?;
    let tokens: Vec<_> = ctx
        .store
        .list_tokens(user)?
        .into_iter()
        .filter(|t| !t.revoked)
        .collect();
    let mail_level = mail_prefs::get(ctx.store, user, None)
        .map_err(|e| ApiError::internal(e.to_string()))?
        .unwrap_or_default();
    let muted =
        mail_prefs::per_project(ctx.store, user).map_err(|e| ApiError::internal(e.to_string()))?;
    let form = |action: &str, inner: Markup| {
        html! {
            form.stack method="post" action={ "/settings/" (action) } {
                (csrf_field(ctx))
                (inner)
            }
        }
    };
    let day = |t: i64| {
        forge_core::time::epoch_to_rfc3339(t)
            .map(|d| d[..10].to_string())
            .unwrap_or_default()
    };
    ok(
        "Settings",
        html! {
            h1 { "Settings of " (user) }
            @if let Some(secret) = secret {
                section.box.pad role="status" {
                    p { strong { "Your new token (shown this once; copy it now):" } }
                    code.clone { (secret) }
                }
            }
            h2 { "Profile" }
            (form("profile", html! {
                label for="full_name" { "Display name" }
                input type="text" id="full_name" name="full_name" value=(u.full_name);
                button type="submit" { "Save" }
            }))
            h2 { "Password" }
            (form("password", html! {
                label for="current" { "Current password" }
                input type="password" id="current" name="current" autocomplete="current-password" required;
                label for="new" { "New password (8 characters or more)" }
                input type="password" id="new" name="new" autocomplete="new-password" minlength="8" required;
                label for="confirm" { "New password again" }
                input type="password" id="confirm" name="confirm" autocomplete="new-password" required;
                button type="submit" { "Change password" }
                p.muted { "Changing it signs you out everywhere." }
            }))
            h2 { "E-mail addresses" }
            ul.list {
                @for (i, e) in u.emails.iter().enumerate() {
                    li {
                        (e) @if i == 0 { span.tag { "default" } }
                        @if u.emails.len() > 1 {
                            form.inline method="post" action="/settings/email/remove" {
                                (csrf_field(ctx))
                                input type="hidden" name="email" value=(e);
                                button.secondary type="submit" aria-label={ "Remove " (e) } { "Remove" }
                            }
                        }
                    }
                }
            }
            (form("email/add", html! {
                label for="email" { "Add an address" }
                input type="text" id="email" name="email" autocomplete="email" required;
                button type="submit" { "Add" }
            }))
            h2 { "Notification mails" }
            (form("mail", html! {
                label for="mail-level" { "Mail me about" }
                select id="mail-level" name="level" {
                    @for (value, words) in [
                        ("participating", "the issues and pull requests I take part in"),
                        ("all", "every event of the projects I am a member of"),
                        ("none", "nothing"),
                    ] {
                        option value=(value) selected[mail_level.as_str() == value] { (words) }
                    }
                }
                button type="submit" { "Save" }
            }))
            @if !muted.is_empty() {
                p.muted { "Projects you changed this for (one-click unsubscribe, or "
                    code { "forge mail prefs -p" } "): "
                    @for (p, level) in &muted { code { (p) } " (" (level.as_str()) ") " } }
            }
            h2 { "SSH keys" }
            @if keys.is_empty() { p.muted { "None yet." } }
            @else {
                ul.list {
                    @for k in &keys {
                        li {
                            code { (k.fingerprint) } " " (k.key_type) " " span.muted { (k.comment) }
                            form.inline method="post" action="/settings/key/remove" {
                                (csrf_field(ctx))
                                input type="hidden" name="key" value=(k.fingerprint);
                                button.secondary type="submit" aria-label={ "Remove key " (k.fingerprint) } { "Remove" }
                            }
                        }
                    }
                }
            }
            (form("key/add", html! {
                label for="key" { "Add a public key (the line of a .pub file)" }
                textarea id="key" name="key" rows="3" required {}
                button type="submit" { "Add key" }
            }))
            h2 { "API tokens" }
            @if tokens.is_empty() { p.muted { "None yet." } }
            @else {
                ul.list {
                    @for t in &tokens {
                        li {
                            code { (t.id) } " " (t.description) br;
                            span.muted {
                                (t.acls.join(", "))
                                @if let Some(p) = &t.project { " · on " (p) }
                                @if let Some(e) = t.expires_at { " · expires " (day(e)) }
                            }
                            form.inline method="post" action="/settings/token/revoke" {
                                (csrf_field(ctx))
                                input type="hidden" name="id" value=(t.id);
                                button.secondary type="submit" aria-label={ "Revoke token " (t.id) } { "Revoke" }
                            }
                        }
                    }
                }
            }
            (form("token/new", html! {
                label for="description" { "Description" }
                input type="text" id="description" name="description" required;
                fieldset {
                    legend { "What it may do" }
                    @for a in Action::ALL {
                        label.check { input type="checkbox" name="acl" value=(a.as_str()); " " (a.as_str()) }
                    }
                }
                label for="project" { "Only on project (optional)" }
                input type="text" id="project" name="project";
                label for="days" { "Expires after days (optional)" }
                input type="number" id="days" name="days" min="1";
                button type="submit" { "Create token" }
            }))
        },
    )
}

/// `POST /settings/<what>` (the CSRF token checked already): the change,
/// then back to the settings.
pub(crate) fn post(ctx: &Ctx<'_>, what: &str) -> Result<Page, ApiError> {
    let user = match me(ctx) {
        Ok(u) => u,
        Err(page) => return Ok(page),
    };
    let f = ctx.fields()?;
    let store = ctx.store;
    match what {
        "profile" => {
            store.set_full_name(&user, f.get("full_name").map_or("", String::as_str))?;
        }
        "password" => {
            let new = f.required("new")?;
            if f.get("confirm") != Some(new) {
                return Err(ApiError::field("confirm", "the two new passwords differ"));
            }
            let current = f.get("current").map_or("", String::as_str);
            store.change_password(&user, current, new, &ctx.call.peer)?;
            return Ok(Page::redirect("/login?next=%2Fsettings"));
        }
        "email/add" => {
            store.add_email(&user, f.required("email")?.trim())?;
        }
        "email/remove" => {
            store.remove_email(&user, f.required("email")?)?;
        }
        "key/add" => {
            store.add_user_key(&user, &PublicKey::parse(f.required("key")?.trim())?)?;
        }
        "key/remove" => {
            store.remove_user_key(&user, f.required("key")?)?;
        }
        "mail" => {
            let text = f.required("level")?;
            let level = Level::parse(text)
                .ok_or_else(|| ApiError::field("level", "all, participating or none"))?;
            mail_prefs::set(store, &user, None, level)
                .map_err(|e| ApiError::internal(e.to_string()))?;
        }
        "token/revoke" => {
            store.revoke_token_of(&user, f.required("id")?)?;
        }
        "token/new" => {
            let acls = f
                .list("acl")
                .iter()
                .map(|a| a.parse::<Action>())
                .collect::<Result<Vec<_>, _>>()?;
            let days = match f.text("days") {
                Some(d) => Some(d.parse::<u32>().map_err(|_| {
                    ApiError::field("days", format!("`{d}` is not a number of days"))
                })?),
                None => None,
            };
            let project = f.text("project");
            if let Some(p) = &project {
                // A project the user may not see is not one to scope to.
                let found = store.find_project(p)?;
                if !found.is_some_and(|found| ctx.visible(&found, Some(&user)).unwrap_or(false)) {
                    return Err(ApiError::new(
                        404,
                        "ENOPROJECT",
                        format!("no project `{p}`"),
                    ));
                }
            }
            let description = f.required("description")?;
            let (_, secret) =
                store.create_token(&user, project.as_deref(), &acls, days, description)?;
            return settings_page(ctx, &user, Some(&secret));
        }
        _ => return Err(super::not_found()),
    }
    Ok(Page::redirect("/settings"))
}
