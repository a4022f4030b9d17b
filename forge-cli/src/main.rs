//! `forge`: the command-line front end of the forge crates.
//!
//! `main` parses the arguments, runs one command, prints the error chain and
//! picks the exit code: 0 success, 1 failure, 2 bad usage.

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
            ExitCode::FAILURE
        }
    }
}
