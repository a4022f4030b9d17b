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
            eprintln!("forge: {e:#}");
            // SQLite found the database damaged in the middle of a command.
            let text = format!("{e:#}");
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
