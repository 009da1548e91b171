//! `litecnn`: maps the outcome of a command to an exit code and prints errors once, with their
//! cause chain.

use std::process::ExitCode;

use litecnn_cli::commands::Rejected;
use litecnn_cli::{commands, config};

fn main() -> ExitCode {
    // A config file that does not parse is a usage error, like a bad flag.
    let args = match config::parse(std::env::args_os().collect()) {
        Ok(args) => args,
        Err(err) => return report(&err, 2),
    };
    if let Err(e) = litecnn_cli::signals::survive_file_size_limit() {
        eprintln!("warning: cannot handle SIGXFSZ: {e}");
    }
    match commands::dispatch(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            let rejected = err.chain().any(|c| c.downcast_ref::<Rejected>().is_some());
            report(&err, if rejected { 3 } else { 1 })
        }
    }
}

fn report(err: &anyhow::Error, code: u8) -> ExitCode {
    eprintln!("error: {err}");
    for cause in err.chain().skip(1) {
        eprintln!("  caused by: {cause}");
    }
    ExitCode::from(code)
}
