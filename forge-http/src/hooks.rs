//! Webhooks coming in: `POST /hooks/github/<project>` takes GitHub's
//! deliveries for a mirror (`forge_notify::github::receive`: the signature
//! checked in constant time first, `ping` answered, a delivery sent again
//! recorded once). A body over the server's limit is refused before any of
//! this (413; GitHub's own cap is 25 MB).

use forge_notify::github::receive::{self, Delivery, Received, Refused};
use serde_json::json;

use crate::app::{ok, Answer};
use crate::error::ApiError;
use crate::extract::Ctx;

/// `POST /hooks/<rest>`.
pub(crate) fn receive(ctx: &Ctx<'_>, rest: &str) -> Answer {
    let segments = crate::router::decode_segments(rest)?;
    let s: Vec<&str> = segments.iter().map(String::as_str).collect();
    let ["github", name @ ..] = s.as_slice() else {
        return Err(ApiError::no_endpoint());
    };
    if ctx.call.method != "POST" {
        return Err(ApiError::method_not_allowed("POST"));
    }
    if !(1..=2).contains(&name.len()) {
        return Err(ApiError::no_endpoint());
    }
    let unknown = || ApiError::new(404, "ENOPROJECT", "No mirror at this address");
    let project = ctx
        .store
        .find_project(&name.join("/"))?
        .ok_or_else(unknown)?;
    let [event, id, signature] = &ctx.call.github;
    let delivery = Delivery {
        event: event.as_deref(),
        id: id.as_deref(),
        signature: signature.as_deref(),
        body: &ctx.call.body,
    };
    match receive::receive(ctx.store, &ctx.app.home, &project, &delivery) {
        Ok(Received::Pong) => ok(&json!({"message": "pong"})),
        Ok(Received::Queued(event)) => ok(&json!({"message": "queued", "event": event})),
        Ok(Received::Duplicate) => ok(&json!({"message": "already received: applied once"})),
        Err(Refused::NoMirror(_)) => Err(unknown()),
        Err(e @ Refused::Signature(_)) => Err(ApiError::new(401, "EINVALIDTOK", e.to_string())),
        Err(Refused::Store(e)) => Err(ApiError::internal(e.to_string())),
        Err(e) => Err(ApiError::new(400, "EINVALIDREQ", e.to_string())),
    }
}
