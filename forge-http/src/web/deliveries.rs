//! `/<repo>/settings/webhooks/<id>`: a webhook's delivery log for the
//! project's admins — each attempt's time, event, answer or error and
//! duration, what was sent and what came back, and a button that queues
//! the event again (`POST <repo>/webhooks/deliveries/<d>/redeliver`, the
//! API's endpoint, through `forms`).

use forge_notify::outbox::{self, LoggedAttempt};
use forge_notify::webhook::Webhooks;
use maud::{html, Markup};

use super::pages::{ok, tabs};
use super::session::csrf_field;
use super::{Here, Page};
use crate::error::ApiError;
use crate::extract::Ctx;

/// Attempts the page shows (the log keeps the newest 200).
const SHOWN: usize = 100;

/// `GET /<repo>/settings/webhooks/<id>`.
pub(crate) fn show(ctx: &Ctx<'_>, here: &Here, id: &str) -> Result<Page, ApiError> {
    let name = &here.project.full_name;
    let admin =
        match super::admin::signed_in_admin(ctx, here, &format!("/{name}/settings/webhooks/{id}"))?
        {
            Ok(admin) => admin,
            Err(to_login) => return Ok(to_login),
        };
    let id: i64 = id.parse().map_err(|_| super::not_found())?;
    let p = admin.project();
    let internal = |e: forge_notify::webhook::Error| ApiError::internal(e.to_string());
    let hook = Webhooks::new(ctx.store, &ctx.app.home)
        .get(p, id)
        .map_err(|_| super::not_found())?;
    let log = outbox::deliveries(ctx.store, Some(id), p.id, SHOWN).map_err(internal)?;
    ok(
        &format!("Deliveries of webhook {id} · {name}"),
        html! {
            h1 { a href={ "/" (name) } { (name) } }
            (tabs(here, "Settings"))
            p.crumbs { a href={ "/" (name) "/settings" } { "settings" } " / webhook " (id) }
            h2 { "Deliveries to " code { (hook.url) } }
            p.muted {
                (if hook.events.is_empty() { "Every event".to_string() } else { hook.events.join(", ") })
                " · " (if hook.active { "active" } else { "disabled" })
                @if let Some(why) = &hook.disabled_reason { " (" (why) ")" }
                " · the newest " (SHOWN) " attempts, newest first"
            }
            @if log.is_empty() {
                p.muted { "Nothing sent yet: deliveries start with the events that follow the webhook's creation." }
            } @else {
                div.scroll-x { table.deliveries {
                    thead { tr { th scope="col" { "When" } th scope="col" { "Event" } th scope="col" { "Attempt" } th scope="col" { "Result" } th scope="col" { "Time" } th scope="col" { span.visually-hidden { "Actions" } } } }
                    tbody {
                        @for a in &log { (row(ctx, name, a)) }
                    }
                } }
            }
        },
    )
}

/// One attempt: a summary line, then what went out and what came back.
fn row(ctx: &Ctx<'_>, name: &str, a: &LoggedAttempt) -> Markup {
    let topic = a.request_headers["x-pagure-topic"].as_str().unwrap_or("");
    let when = forge_core::time::epoch_to_rfc3339(a.created_at / 1000).unwrap_or_default();
    let ok = a.status.is_some_and(|s| (200..300).contains(&s));
    let headers: String = a
        .request_headers
        .as_object()
        .map(|h| {
            h.iter()
                .map(|(k, v)| format!("{k}: {}\n", v.as_str().unwrap_or("")))
                .collect()
        })
        .unwrap_or_default();
    html! {
        tr id={ "delivery-" (a.id) } {
            td { (when) }
            td { "#" (a.event_id) " " code { (topic) } }
            td { (a.attempt) }
            td {
                @match (a.status, &a.error) {
                    (Some(s), _) => span class=(if ok { "state open" } else { "state closed" }) { (s) },
                    (None, Some(e)) => { span.state.closed { "failed" } " " span.muted { (e) } },
                    (None, None) => span.muted { "no answer" },
                }
            }
            td { (a.duration_ms) " ms" }
            td {
                form.inline method="post" action={ "/" (name) "/webhooks/deliveries/" (a.id) "/redeliver" } {
                    (csrf_field(ctx))
                    button.secondary type="submit" aria-label={ "Redeliver event " (a.event_id) } { "Redeliver" }
                }
            }
        }
        tr.details {
            td colspan="6" {
                details {
                    summary { "Request and answer of " code { (a.message_id) } }
                    h3 { "Request headers" }
                    pre { (headers) }
                    h3 { "Request body" }
                    pre { (a.request_body) }
                    h3 { "Answer (first 4 KiB)" }
                    pre { @if a.response.is_empty() { "(none)" } @else { (a.response) } }
                }
            }
        }
    }
}
