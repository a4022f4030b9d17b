//! `forge init`: create a forge home.

use anyhow::{Context as _, Result};
use forge_core::Store;

use crate::context::Ctx;

const DEFAULT_CONFIG: &str = "\
# forge configuration: every key has the default shown; uncomment to change.

[server]
# bind = \"127.0.0.1:8080\"        # FORGE_BIND overrides
# max_body_bytes = 1048576       # FORGE_MAX_BODY_BYTES
# request_timeout_secs = 30      # FORGE_REQUEST_TIMEOUT_SECS
# public_url = \"https://forge.example.org\"   # FORGE_PUBLIC_URL: where people reach the server (links in answers)
# ssh_url = \"ssh://git@forge.example.org\"    # FORGE_SSH_URL: where people clone over SSH (the API's ssh clone URL)
# admin_bind = \"127.0.0.1:9090\"  # FORGE_ADMIN_BIND: /healthz, /readyz and /metrics for operators (off without it)
# metrics_on_main = false        # FORGE_METRICS_ON_MAIN=1: /metrics on `bind` too (/healthz and /readyz always are)

[pull_requests]
# remote = true                  # accept pull requests from remote git URLs
# allow_local_remotes = false    # let them point at loopback or private addresses
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
    // The secret reply-by-mail addresses are signed with (mail.key).
    forge_notify::mail::reply::Keys::open(home)
        .with_context(|| format!("making the reply-key secret in {}", root.display()))?;
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
