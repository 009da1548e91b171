//! One file per subcommand; each parses nothing and calls library code.

mod admin;
mod bench;
mod bench_profile;
pub mod deploy;
mod inspect;
mod predict;
mod record;
mod run;
mod serve;
pub mod service;
mod verify;

use crate::cli::{Args, Command};

pub use serve::{parse_bytes, parse_duration};

pub fn dispatch(args: Args) -> anyhow::Result<()> {
    match args.command {
        Command::Run(a) => run::run(&a),
        Command::Inspect(a) => inspect::inspect(&a),
        Command::Bench(a) => bench::bench(&a),
        Command::Verify(a) => verify::verify(&a),
        Command::Predict(a) => predict::predict(&a),
        Command::Serve(a) => serve::serve(&a),
        Command::Deploy(a) => deploy::deploy(&a),
        Command::Watch(a) => deploy::watch(&a),
        Command::Rollback(a) => record::rollback(&a),
        Command::History(a) => record::history(&a),
        Command::Status(a) => record::status(&a),
        Command::Service(a) => service::service(&a),
    }
}

/// The default worker count: every core the process may use.
pub fn default_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// An error meaning "the candidate was rejected" (a failed verification or gate): the binary
/// exits with status 3 instead of 1 (DESIGN §3).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Rejected(pub String);
