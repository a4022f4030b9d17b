//! `forge activity USER`: commits per day, for a heatmap.

use anyhow::Result;

use crate::context::Ctx;
use crate::output;

pub fn run(user: &str, year: Option<i32>, ctx: &Ctx) -> Result<()> {
    let store = ctx.home_store()?;
    store.user(user)?;
    let days = store.activity_by_day(user, year)?;
    if ctx.json {
        return output::json(&days);
    }
    if days.is_empty() {
        say!("no activity for {user}");
        return Ok(());
    }
    let rows: Vec<Vec<String>> = days
        .into_iter()
        .map(|(day, n)| vec![day, n.to_string()])
        .collect();
    output::table(&["DAY", "COMMITS"], &rows);
    Ok(())
}
