//! `forge fsck [-p P] [--repair]`: check a forge home, repair what is safe.

use anyhow::{bail, Context as _, Result};
use forge_core::Store;
use forge_tickets::fsck::{self, Finding, Options, BACKUP_ONLY};
use serde_json::json;

use crate::context::{holds_repositories, Ctx};
use crate::output;

pub fn run(project: Option<String>, repair: bool, ctx: &Ctx) -> Result<()> {
    let home = ctx.home()?;
    let db = home.db_path();
    // Problems with the database itself, found before the checks can run.
    let mut early: Vec<Finding> = Vec::new();
    if !db.exists() {
        if !holds_repositories(home) {
            bail!(
                "no forge home at {} (run `forge init` there, or pass --home)",
                home.root().display()
            );
        }
        early.push(Finding {
            subject: "forge.db".into(),
            problem: "missing, while the home holds repositories".into(),
            repaired: repair.then(|| "created empty; the repositories are adopted below".into()),
        });
        if !repair {
            return finish(&fsck::Report::default(), early, repair, ctx);
        }
    }
    // A database SQLite cannot read, or whose own check fails.
    let opened = match Store::open(&db) {
        Ok(store) => match store.check_integrity(true) {
            Ok(problems) if problems.is_empty() => Ok(store),
            Ok(problems) => Err(format!(
                "{} fails SQLite's check: {}",
                db.display(),
                problems.join("; ")
            )),
            Err(e) => Err(e.to_string()),
        },
        Err(e @ forge_core::Error::Damaged { .. }) => Err(e.to_string()),
        Err(e) => return Err(e.into()),
    };
    let store = match opened {
        Ok(store) => store,
        Err(problem) if repair => {
            let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ");
            let aside = db.with_file_name(format!("forge.db.damaged-{stamp}"));
            std::fs::rename(&db, &aside)
                .with_context(|| format!("moving {} aside", db.display()))?;
            for suffix in ["-wal", "-shm"] {
                let mut side = db.clone().into_os_string();
                side.push(suffix);
                let _ = std::fs::remove_file(side);
            }
            early.push(Finding {
                subject: "forge.db".into(),
                problem,
                repaired: Some(format!(
                    "moved to {} and a new one created; the repositories are adopted below",
                    aside.display()
                )),
            });
            Store::open(&db)?
        }
        Err(problem) => {
            early.push(Finding {
                subject: "forge.db".into(),
                problem,
                repaired: None,
            });
            return finish(&fsck::Report::default(), early, repair, ctx);
        }
    };
    let options = Options {
        project,
        repair,
        owner: ctx.as_user().unwrap_or("admin").to_string(),
        hooks_exe: Some(super::hooks::hooks_exe()?),
        // Checked above (or made just now).
        database_checked: true,
    };
    let report = output::with_progress("checking", |progress| {
        fsck::check(&store, home, &options, progress)
    })?;
    finish(&report, early, repair, ctx)
}

fn finish(report: &fsck::Report, early: Vec<Finding>, repair: bool, ctx: &Ctx) -> Result<()> {
    let lost_db = !early.is_empty();
    let findings: Vec<&Finding> = early.iter().chain(&report.findings).collect();
    let unrepaired = findings.iter().filter(|f| f.repaired.is_none()).count();
    if ctx.json {
        let problems: Vec<_> = findings
            .iter()
            .map(|f| json!({"subject": f.subject, "problem": f.problem, "repaired": f.repaired}))
            .collect();
        output::json(&json!({
            "projects": report.projects,
            "repositories": report.repositories,
            "problems": problems,
            "unrepaired": unrepaired,
            "adopted": report.adopted,
            "backup_only": (lost_db || !report.adopted.is_empty()).then_some(BACKUP_ONLY),
        }))?;
    } else {
        for f in &findings {
            show!("problem: {}: {}", f.subject, f.problem);
            if let Some(done) = &f.repaired {
                show!("  repaired: {done}");
            }
        }
        say!(
            "checked {} projects and {} repositories: {} problem(s), {} repaired",
            report.projects,
            report.repositories,
            findings.len(),
            findings.len() - unrepaired
        );
        if lost_db || !report.adopted.is_empty() {
            say!("only a backup brings back: {BACKUP_ONLY}");
        }
    }
    if unrepaired > 0 {
        bail!(
            "{unrepaired} problem(s) left{}",
            if repair {
                " (no safe repair: a backup may hold what they lack)"
            } else {
                " (--repair makes the safe repairs)"
            }
        );
    }
    Ok(())
}
