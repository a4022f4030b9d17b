//! The frame every page shares, and the error page.

use maud::{html, Markup, DOCTYPE};

use super::Page;
use crate::error::ApiError;

/// Where the header's account menu goes: pages are made (and kept) the
/// same for everyone who sees the same content, and the menu of each viewer
/// is put in as the page goes out. User text cannot make this marker: maud
/// escapes its `<`.
pub(crate) const MENU_MARKER: &str = "<!--forge:menu-->";

/// A whole page: `title` in the tab and the heading's place, `body` in the
/// main column.
pub(crate) fn page(title: &str, body: Markup) -> String {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · forge" }
                link rel="stylesheet" href=(super::assets::css_path());
                script src=(super::assets::js_path()) defer {}
            }
            body {
                header.top {
                    a href="/" { "forge" }
                    form action="/" method="get" role="search" {
                        label for="q" class="muted" hidden { "Search projects, issues and pull requests" }
                        input type="search" id="q" name="q" placeholder="Search";
                    }
                    (maud::PreEscaped(MENU_MARKER))
                }
                main { (body) }
                footer { "forge " (env!("CARGO_PKG_VERSION")) }
            }
        }
    }
    .into_string()
}

/// The page for an error: its status, and what went wrong in words a
/// person reads (a failure of forge itself says no more than that).
pub(crate) fn error_page(e: &ApiError) -> Page {
    error_page_back(e, "/", "Back to the projects")
}

/// The page for a refused form: what went wrong, and a link back to the
/// page the form was on.
pub(crate) fn form_error(e: &ApiError, back: &str) -> Page {
    error_page_back(e, back, "Back")
}

fn error_page_back(e: &ApiError, back: &str, label: &str) -> Page {
    let (heading, text) = match e.status {
        404 => (
            "Not found",
            "There is nothing here, or it is not yours to see.".to_string(),
        ),
        405 => (
            "Not allowed",
            "This page does not take that method.".to_string(),
        ),
        400 => ("Bad request", e.message.clone()),
        s if s >= 500 => (
            "Something went wrong",
            "forge could not answer; try again.".to_string(),
        ),
        _ => ("Refused", e.message.clone()),
    };
    // What is wrong with each field, when the answer says (`errors`).
    let fields: Vec<(String, String)> = match (&e.errors, e.status) {
        (Some(serde_json::Value::Object(map)), 400) => map
            .iter()
            .flat_map(|(field, why)| {
                let whys: Vec<String> = match why {
                    serde_json::Value::Array(items) => items
                        .iter()
                        .map(|w| w.as_str().map_or_else(|| w.to_string(), String::from))
                        .collect(),
                    other => vec![other
                        .as_str()
                        .map_or_else(|| other.to_string(), String::from)],
                };
                whys.into_iter().map(move |w| (field.clone(), w))
            })
            .collect(),
        _ => Vec::new(),
    };
    Page::html(
        e.status,
        page(
            heading,
            html! {
                h1 { (heading) }
                p { (text) }
                @if !fields.is_empty() {
                    ul { @for (field, why) in &fields { li { code { (field) } ": " (why) } } }
                }
                p { a href=(back) { (label) } }
            },
        ),
    )
}
