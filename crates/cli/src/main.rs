//! `litecnn`: maps the outcome of a command to an exit code and prints errors once, with their
//! cause chain.

use std::process::ExitCode;

use clap::Parser;
use litecnn_cli::{cli, commands};

fn main() -> ExitCode {
    let args = cli::Args::parse();
    match commands::dispatch(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err}");
            for cause in err.chain().skip(1) {
                eprintln!("  caused by: {cause}");
            }
            ExitCode::from(1)
        }
    }
}
