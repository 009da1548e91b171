//! `litecnn`: maps the outcome of a command to an exit code and prints errors once, with their
//! cause chain.

use std::process::ExitCode;

use clap::Parser;
use litecnn_cli::commands::Rejected;
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
            let rejected = err.chain().any(|c| c.downcast_ref::<Rejected>().is_some());
            ExitCode::from(if rejected { 3 } else { 1 })
        }
    }
}
