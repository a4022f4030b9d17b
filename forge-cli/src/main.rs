//! `forge`: the command-line front end of the forge crates.
//!
//! `main` parses the arguments, runs one command, prints the error chain and
//! picks the exit code: 0 success, 1 failure, 2 bad usage.

mod cli;
mod commands;
mod context;
mod output;

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
