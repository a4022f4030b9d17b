//! `forge init`: create a forge home.

use anyhow::{Context as _, Result};
use forge_core::Store;

use crate::context::Ctx;

const DEFAULT_CONFIG: &str = "\
# forge configuration. No key is read yet: the server, mail and webhook
# settings will live here, each with a default and a FORGE_* override.
";

pub fn run(ctx: &Ctx) -> Result<()> {
    let home = ctx.home()?;
    let root = home.root();
    let existed = home.db_path().exists();
    for dir in ["repos", "docs", "tickets", "requests"] {
        let path = root.join(dir);
        std::fs::create_dir_all(&path).with_context(|| format!("creating {}", path.display()))?;
    }
    Store::open(&home.db_path())
        .with_context(|| format!("creating {}", home.db_path().display()))?;
    let config = home.config_path();
    if !config.exists() {
        std::fs::write(&config, DEFAULT_CONFIG)
            .with_context(|| format!("writing {}", config.display()))?;
    }
    if ctx.json {
        crate::output::json(&serde_json::json!({"home": root, "created": !existed}))?;
    } else if existed {
        say!("forge home at {} is already initialized", root.display());
    } else {
        say!("initialized forge home at {}", root.display());
    }
    Ok(())
}
