//! The user page: profile, projects and forks, and the activity heatmap of
//! the past year (an SVG calendar drawn here, no script).

use forge_core::activity::YearCalendar;
use maud::{html, Markup};

use super::pages::ok;
use super::Page;
use crate::error::ApiError;
use crate::extract::Ctx;

/// Cell size and gap of the heatmap, in pixels.
const CELL: u32 = 11;
const STEP: u32 = 13;

/// The heatmap: one square per day, darker for more commits (in quarters of
/// the busiest day), each with its date and count as a title and a link to
/// that day's commits.
fn heatmap(user: &str, cal: &YearCalendar) -> Markup {
    const COLORS: [&str; 5] = ["#ebedf0", "#9be9a8", "#40c463", "#30a14e", "#216e39"];
    let level = |count: u64| -> usize {
        match (count, cal.max) {
            (0, _) | (_, 0) => 0,
            (c, m) => (((c * 4).div_ceil(m)) as usize).clamp(1, 4),
        }
    };
    let weeks = cal.days.last().map_or(1, |d| d.week + 1);
    let (width, height) = (weeks * STEP + 50, 7 * STEP + 20);
    let label = match cal.total {
        1 => "1 commit in the past year".to_string(),
        n => format!("{n} commits in the past year"),
    };
    html! {
        div.scroll {
            svg.heatmap xmlns="http://www.w3.org/2000/svg" width=(width) height=(height)
                viewBox={ "0 0 " (width) " " (height) } role="group" aria-label=(label) {
                title { (label) }
                @for (row, name) in [(1, "Mon"), (3, "Wed"), (5, "Fri")] {
                    text x="0" y=(row * STEP + 28) font-size="9" fill="#59636e" { (name) }
                }
                @for d in &cal.days {
                    @if d.date.ends_with("-01") {
                        text x=(d.week * STEP + 30) y="10" font-size="9" fill="#59636e" { (month(&d.date)) }
                    }
                    a href={ "/user/" (user) "?day=" (d.date) } {
                        rect x=(d.week * STEP + 30) y=(d.weekday * STEP + 18) width=(CELL) height=(CELL)
                            rx="2" fill=(COLORS[level(d.count)]) data-count=(d.count) {
                            title { (d.count) " commits on " (d.date) }
                        }
                    }
                }
            }
        }
        p.muted { (label) }
    }
}

/// `Jan` ... `Dec` of a `YYYY-MM-DD` date.
fn month(date: &str) -> &'static str {
    const NAMES: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    date.get(5..7)
        .and_then(|m| m.parse::<usize>().ok())
        .and_then(|m| NAMES.get(m.wrapping_sub(1)))
        .copied()
        .unwrap_or("")
}

/// `/user/<name>`: the user and the projects they own or may commit to that
/// the viewer may see, with their forks.
pub(crate) fn show(ctx: &Ctx<'_>, name: &str) -> Result<Page, ApiError> {
    let user = ctx
        .store
        .find_user(name)?
        .ok_or_else(|| ApiError::new(404, "ENOUSER", "No such user found"))?;
    let (theirs, forks) = crate::users::projects_of(ctx, &user.username)?;
    let shown = if user.full_name.is_empty() {
        user.username.clone()
    } else {
        format!("{} ({})", user.full_name, user.username)
    };
    let calendar = ctx
        .store
        .activity_calendar(&user.username, forge_core::time::now_epoch())?;
    let day = match ctx.query.get("day") {
        Some(d) if crate::users::chrono_day(d).is_some() => Some(d.to_string()),
        Some(d) => {
            return Err(ApiError::field(
                "day",
                format!("`{d}` is not a YYYY-MM-DD date"),
            ))
        }
        None => None,
    };
    // That day's commits in the projects the viewer may see.
    let viewer = ctx.viewer_name()?;
    let mut commits = Vec::new();
    if let Some(d) = &day {
        for (project, commit) in ctx.store.activity_on(&user.username, d)? {
            if let Some(p) = ctx.store.find_project(&project)? {
                if ctx.visible(&p, viewer.as_deref())? {
                    commits.push((p.full_name, commit));
                }
            }
        }
    }
    // A site admin (not on their own page) may disable or enable it.
    let admin_form = match ctx.session() {
        Some(s) if s.user != user.username && ctx.store.is_site_admin(&s.user)? => {
            let disabled = ctx.store.user_disabled(&user.username)?;
            let what = if disabled { "enable" } else { "disable" };
            Some(html! {
                form.inline method="post" action={ "/user/" (user.username) "/" (what) } {
                    (super::session::csrf_field(ctx))
                    @if disabled { span.tag { "disabled" } }
                    button.secondary type="submit" {
                        (if disabled { "Enable this account" } else { "Disable this account" })
                    }
                }
            })
        }
        _ => None,
    };
    ok(
        &shown,
        html! {
            h1 { (shown) }
            @if let Some(form) = admin_form { (form) }
            h2 { "Activity" }
            (heatmap(&user.username, &calendar))
            @if let Some(d) = &day {
                h3 { "Commits on " (d) }
                @if commits.is_empty() { p.muted { "None." } }
                @else { ul.list {
                    @for (project, commit) in &commits {
                        li { a href={ "/" (project) "/c/" (commit) } { code { (&commit[..commit.len().min(10)]) } } " in " (project) }
                    }
                } }
            }
            h2 { "Projects" }
            @if theirs.is_empty() { p.muted { "None." } }
            @else {
                ul.list {
                    @for p in &theirs {
                        li {
                            a href={ "/" (p.full_name) } { strong { (p.full_name) } }
                            @if p.owner == user.username { span.tag { "owner" } }
                            @if !p.description.is_empty() { br; span.muted { (p.description) } }
                        }
                    }
                }
            }
            @if !forks.is_empty() {
                h2 { "Forks" }
                ul.list {
                    @for p in &forks {
                        li { "forks/" (user.username) "/" (p.full_name) " " span.muted { "of " a href={ "/" (p.full_name) } { (p.full_name) } } }
                    }
                }
            }
        },
    )
}
