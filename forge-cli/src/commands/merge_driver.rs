//! `forge merge-driver`: git's merge driver for ticket documents.
//!
//! git runs it as `forge merge-driver %O %A %B %P`; it writes the merged
//! document to %A and exits 0, or exits 1 to leave a conflict for git.

use std::path::Path;

use anyhow::{Context as _, Result};
use serde_json::Value;

fn read(path: &Path) -> Result<Value> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Null);
    }
    serde_json::from_slice(&bytes).with_context(|| format!("{} is not JSON", path.display()))
}

pub fn run(base: &Path, ours: &Path, theirs: &Path, name: Option<&str>) -> Result<()> {
    let name = name.unwrap_or("document");
    let merged = forge_tickets::merge::merge_documents(&read(base)?, &read(ours)?, &read(theirs)?)
        .map_err(|e| anyhow::anyhow!("cannot merge {name}: {e}"))?;
    let mut bytes = serde_json::to_vec_pretty(&merged)?;
    bytes.push(b'\n');
    std::fs::write(ours, bytes).with_context(|| format!("writing {}", ours.display()))?;
    Ok(())
}
