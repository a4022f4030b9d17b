//! `forge token`: API tokens for the HTTP API and git over HTTP.

use anyhow::Result;
use forge_core::role::Action;
use serde_json::json;

use crate::cli::TokenCommand;
use crate::context::Ctx;
use crate::output;

pub fn run(cmd: TokenCommand, ctx: &Ctx) -> Result<()> {
    let store = ctx.home_store()?;
    let user = ctx.user()?;
    match cmd {
        TokenCommand::Create {
            project,
            acl,
            expires_days,
            description,
        } => {
            let acls = acl
                .iter()
                .map(|a| a.trim().parse::<Action>())
                .collect::<Result<Vec<_>, _>>()?;
            let (token, secret) =
                store.create_token(user, project.as_deref(), &acls, expires_days, &description)?;
            if ctx.json {
                output::json(&json!({
                    "id": token.id, "token": secret, "acls": token.acls,
                    "expires_at": token.expires_at, "project": token.project,
                }))?;
            } else {
                say!(
                    "token {} for {user} (shown once, keep it secret):",
                    token.id
                );
                say!("{secret}");
            }
        }
        TokenCommand::List => {
            let tokens = store.list_tokens(user)?;
            if ctx.json {
                output::json(&tokens)?;
            } else {
                let rows: Vec<Vec<String>> = tokens
                    .into_iter()
                    .map(|t| {
                        let state = if t.revoked { "revoked" } else { "active" };
                        vec![
                            t.id,
                            t.project.unwrap_or_else(|| "*".into()),
                            t.acls.join(","),
                            t.expires_at
                                .and_then(forge_core::time::epoch_to_rfc3339)
                                .unwrap_or_else(|| "never".into()),
                            state.into(),
                            t.description,
                        ]
                    })
                    .collect();
                output::table(
                    &["ID", "PROJECT", "ACLS", "EXPIRES", "STATE", "DESCRIPTION"],
                    &rows,
                );
            }
        }
        TokenCommand::Revoke { id } => {
            let mine = store.list_tokens(user)?.iter().any(|t| t.id == id);
            if !mine {
                return Err(forge_core::Error::not_found("token", &id).into());
            }
            store.revoke_token(&id)?;
            say!("revoked token {id}");
        }
    }
    Ok(())
}
