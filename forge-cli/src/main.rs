//! `forge`: the command-line front end of the forge crates.
//!
//! `main` parses the arguments, runs one command, prints the error chain and
//! picks the exit code: 0 success, 1 failure, 2 bad usage; `forge mail
//! ingest` refusals their sysexits status (65, 67, 75, 77).

/// Prints a line on stdout. When the reader has gone (`forge ... | head`),
/// the process ends quietly with success instead of panicking.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        if let Err(e) = writeln!(std::io::stdout(), $($arg)*) {
            if e.kind() == std::io::ErrorKind::BrokenPipe {
                std::process::exit(0);
            }
        }
    }};
}

/// [`say!`] for lines that hold stored text (titles, bodies, comments,
/// names): control characters and bidirectional overrides are shown
/// escaped, never sent to the terminal.
macro_rules! show {
    ($($arg:tt)*) => {{
        say!("{}", $crate::output::clean(&format!($($arg)*)))
    }};
}

mod cli;
mod commands;
mod context;
mod output;
mod remote;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    match commands::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let text = error_text(&e);
            eprintln!("forge: {text}");
            // SQLite found the database damaged in the middle of a command.
            if text.contains("database disk image is malformed")
                || text.contains("file is not a database")
            {
                eprintln!(
                    "forge: the forge home's database is damaged. {}",
                    forge_core::error::DAMAGED_ADVICE
                );
            }
            // A refused mail says what the mail server should do (sysexits).
            match e.downcast_ref::<forge_notify::mail::ingest::Refused>() {
                Some(refused) => ExitCode::from(refused.exit as u8),
                None => ExitCode::FAILURE,
            }
        }
    }
}

/// The error and its causes, joined by ": ", each cause said once: an error
/// whose message already ends with its cause's (`{path}: {source}`) does
/// not repeat it.
fn error_text(e: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in e.chain() {
        let said = cause.to_string();
        if text.ends_with(&said) {
            continue;
        }
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&said);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::error_text;

    #[test]
    fn a_cause_already_said_is_not_repeated() {
        let io = forge_core::Error::Io {
            path: "/b/forge.db".into(),
            source: std::io::Error::other("disk I/O error"),
        };
        let e = anyhow::Error::from(io).context("backup not made");
        assert_eq!(
            error_text(&e),
            "backup not made: /b/forge.db: disk I/O error"
        );
        let plain = anyhow::anyhow!("no such project").context("opening tools/x");
        assert_eq!(error_text(&plain), "opening tools/x: no such project");
    }
}
