//! Administering projects and accounts over the API (and the settings
//! pages' forms, which post here): options, members, deploy keys, rename,
//! transfer, delete; a site admin disabling and enabling accounts. Who may
//! is decided by `forge_tickets::Admin` and the store; these read the
//! request and shape the answer.

use forge_core::role::{Action, Role};
use forge_tickets::Admin;
use serde_json::{json, Value};

use crate::app::{ok, Answer};
use crate::error::ApiError;
use crate::extract::Ctx;
use crate::router::At;

/// The signed-in user administering the project a route names (forks are
/// administered by their owner through their own settings, not here).
pub(crate) fn admin<'s>(ctx: &Ctx<'s>, at: &At) -> Result<Admin<'s>, ApiError> {
    if at.fork.is_some() {
        return Err(ApiError::new(
            400,
            "EINVALIDREQ",
            "a fork has no settings of its own here; administer its parent project",
        ));
    }
    let user = ctx.acting(Action::ModifyProject, Some(&at.project.full_name))?;
    Ok(Admin::open(
        ctx.store,
        &ctx.app.home,
        at.project.clone(),
        &user,
    )?)
}

/// `GET <repo>/options` (admins): the settings, in Pagure's shape.
pub(crate) fn options(ctx: &Ctx<'_>, at: &At) -> Answer {
    let admin = admin(ctx, at)?;
    ok(&json!({"settings": admin.project().settings, "status": "ok"}))
}

/// `POST <repo>/options/update` (admins): the given settings, by the
/// names `forge project settings` lists. Unlike Pagure, settings not
/// given keep their value.
pub(crate) fn update_options(ctx: &Ctx<'_>, at: &At) -> Answer {
    let mut admin = admin(ctx, at)?;
    let f = ctx.fields()?;
    let pairs: Vec<(String, String)> = f
        .pairs()
        .filter(|(k, _)| k.as_str() != crate::web::CSRF_FIELD)
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if pairs.is_empty() {
        return Err(ApiError::new(400, "EINVALIDREQ", "no setting given"));
    }
    admin.update_settings(&pairs)?;
    ok(&json!({
        "message": format!("Edited successfully settings of repo: {}", at.project.full_name),
        "status": "ok",
    }))
}

/// `POST <repo>/git/modifyacls` (admins), as Pagure: `user_type` (`user`
/// or `group`), `name`, and `acl` (`ticket`, `collaborator`, `commit`,
/// `admin`; absent to take the access away); forge's `branches` for a
/// collaborator. Answers the project.
pub(crate) fn modify_acls(ctx: &Ctx<'_>, at: &At) -> Answer {
    let admin = admin(ctx, at)?;
    let f = ctx.fields()?;
    let name = f.required("name")?;
    let member = match f.required("user_type")?.as_str() {
        "user" => name.clone(),
        "group" => format!("@{name}"),
        other => {
            return Err(ApiError::new(
                400,
                "EINVALIDREQ",
                format!("user_type `{other}`: expected `user` or `group`"),
            ))
        }
    };
    match f.text("acl") {
        Some(acl) => {
            let role: Role = acl.parse().map_err(|_| {
                ApiError::new(
                    400,
                    "EINVALIDREQ",
                    format!("acl `{acl}`: expected ticket, collaborator, commit or admin"),
                )
            })?;
            admin.set_member(&member, role, &f.text("branches").unwrap_or_default())?;
        }
        None => admin.remove_member(&member)?,
    }
    ok(&crate::projects::project_json(ctx, admin.project())?)
}

/// `GET <repo>/deploykeys` (admins).
pub(crate) fn deploy_keys(ctx: &Ctx<'_>, at: &At) -> Answer {
    let keys = admin(ctx, at)?.deploy_keys()?;
    ok(&json!({"deploykeys": keys}))
}

/// `POST <repo>/deploykeys/new` (admins): `key` (an OpenSSH public key
/// line), `push` (read-write).
pub(crate) fn add_deploy_key(ctx: &Ctx<'_>, at: &At) -> Answer {
    let admin = admin(ctx, at)?;
    let f = ctx.fields()?;
    let info = admin.add_deploy_key(f.required("key")?, f.truthy("push"))?;
    ok(&json!({"message": "Deploy key added", "deploykey": info}))
}

/// `POST <repo>/deploykeys/remove` (admins): `key`, the key or its
/// `SHA256:` fingerprint.
pub(crate) fn remove_deploy_key(ctx: &Ctx<'_>, at: &At) -> Answer {
    let admin = admin(ctx, at)?;
    admin.remove_deploy_key(ctx.fields()?.required("key")?)?;
    ok(&json!({"message": "Deploy key removed"}))
}

/// `POST <repo>/rename` (admins): `new_name`, `name` or `ns/name`. Links
/// and clone URLs under the old name are redirected.
pub(crate) fn rename(ctx: &Ctx<'_>, at: &At) -> Answer {
    let admin = admin(ctx, at)?;
    let renamed = admin.rename(ctx.fields()?.required("new_name")?.trim())?;
    ok(&json!({
        "message": format!("Project \"{}\" renamed to \"{}\"", at.project.full_name, renamed.full_name),
        "project": crate::projects::project_json(ctx, &renamed)?,
    }))
}

/// `POST <repo>/transfer` (its owner or a site admin): `owner`, and
/// `retain_access` to keep the previous owner an admin. Pagure's
/// `PATCH <repo>` with `main_admin` lands here too.
pub(crate) fn transfer(ctx: &Ctx<'_>, at: &At) -> Answer {
    let admin = admin(ctx, at)?;
    let f = ctx.fields()?;
    let owner = match f.text("owner") {
        Some(owner) => owner,
        None => f.required("main_admin")?.clone(),
    };
    let given = admin.transfer(owner.trim(), f.truthy("retain_access"))?;
    ok(&crate::projects::project_json(ctx, &given)?)
}

/// `POST <repo>/delete` (its owner or a site admin): `confirm`, the
/// project's full name typed again.
pub(crate) fn delete(ctx: &Ctx<'_>, at: &At) -> Answer {
    let admin = admin(ctx, at)?;
    admin.delete(ctx.fields()?.text("confirm").unwrap_or_default().trim())?;
    ok(&json!({"message": format!("Project \"{}\" deleted", at.project.full_name)}))
}

/// The project's webhooks, as its admin manages them.
fn webhooks<'s>(ctx: &Ctx<'s>) -> Result<forge_notify::webhook::Webhooks<'s>, ApiError> {
    Ok(forge_notify::webhook::Webhooks::new(
        ctx.store,
        &ctx.app.home,
    ))
}

/// A webhook error as the API says it (a refused URL or secret: 400).
fn webhook_error(e: forge_notify::webhook::Error) -> ApiError {
    use forge_notify::webhook::Error as E;
    match e {
        E::Core(core) => core.into(),
        E::Refused(r) => ApiError::field("url", r.to_string()),
        E::Secret(s) => ApiError::field("secret", s.to_string()),
        E::Key(k) => ApiError::internal(k),
    }
}

/// `GET <repo>/webhooks` (admins): the project's webhooks, no secrets.
pub(crate) fn list_webhooks(ctx: &Ctx<'_>, at: &At) -> Answer {
    let admin = admin(ctx, at)?;
    let all = webhooks(ctx)?
        .list(admin.project())
        .map_err(webhook_error)?;
    ok(&json!({"webhooks": all}))
}

/// `POST <repo>/webhooks/new` (admins): `url`, `events` (comma-separated;
/// all when absent), `secret` (generated when absent, then shown in this
/// answer only).
pub(crate) fn add_webhook(ctx: &Ctx<'_>, at: &At) -> Answer {
    let admin = admin(ctx, at)?;
    let f = ctx.fields()?;
    let events: Vec<String> = f
        .text("events")
        .unwrap_or_default()
        .split(',')
        .map(|e| e.trim().to_string())
        .filter(|e| !e.is_empty())
        .collect();
    let (hook, secret) = webhooks(ctx)?
        .add(
            admin.project(),
            f.required("url")?,
            &events,
            f.text("secret").as_deref(),
            ctx.app.config.webhooks_allow_private,
        )
        .map_err(webhook_error)?;
    ok(&json!({"id": hook.id, "url": hook.url, "events": hook.events, "secret": secret.expose()}))
}

/// `POST <repo>/webhooks/<id>/remove` (admins).
pub(crate) fn remove_webhook(ctx: &Ctx<'_>, at: &At, id: &str) -> Answer {
    let admin = admin(ctx, at)?;
    let id: i64 = id.parse().map_err(|_| ApiError::no_endpoint())?;
    webhooks(ctx)?
        .remove(admin.project(), id)
        .map_err(webhook_error)?;
    ok(&json!({"message": format!("Webhook {id} removed")}))
}

/// `GET <repo>/webhooks/<id>/deliveries` (admins): its delivery log,
/// newest first (`limit`, 50 by default).
pub(crate) fn webhook_deliveries(ctx: &Ctx<'_>, at: &At, id: &str) -> Answer {
    let admin = admin(ctx, at)?;
    let id: i64 = id.parse().map_err(|_| ApiError::no_endpoint())?;
    webhooks(ctx)?
        .get(admin.project(), id)
        .map_err(webhook_error)?;
    let limit = ctx.query.positive("limit", 50)?.min(1000) as usize;
    let log = forge_notify::outbox::deliveries(ctx.store, Some(id), admin.project().id, limit)
        .map_err(webhook_error)?;
    ok(&json!({"deliveries": log}))
}

/// `POST <repo>/webhooks/deliveries/<delivery>/redeliver` (admins): the
/// logged delivery's event is queued for its webhook again; the worker
/// sends it within moments, with the same `webhook-id`.
pub(crate) fn redeliver_webhook(ctx: &Ctx<'_>, at: &At, delivery: &str) -> Answer {
    let admin = admin(ctx, at)?;
    let delivery: i64 = delivery.parse().map_err(|_| ApiError::no_endpoint())?;
    let (hook, queued) = forge_notify::outbox::queue_again(ctx.store, admin.project().id, delivery)
        .map_err(webhook_error)?;
    let message = match queued {
        true => format!("Delivery {delivery} queued again"),
        false => format!("Delivery {delivery} is being sent right now"),
    };
    ok(&json!({"message": message, "webhook": hook, "queued": queued}))
}

/// `POST user/<name>/disable` or `.../enable` (site admins).
pub(crate) fn set_disabled(ctx: &Ctx<'_>, name: &str, disabled: bool) -> Answer {
    let actor = ctx.acting(Action::ModifyProject, None)?;
    ctx.store.set_user_disabled_by(&actor, name, disabled)?;
    let state: Value = json!(if disabled { "disabled" } else { "enabled" });
    ok(
        &json!({"message": format!("User \"{name}\" {}", state.as_str().unwrap_or_default()), "user": name, "state": state}),
    )
}
