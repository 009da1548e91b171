//! One file per subcommand; each parses nothing and calls library code.

mod bench;
mod inspect;
mod run;

use crate::cli::{Args, Command};

pub fn dispatch(args: Args) -> anyhow::Result<()> {
    match args.command {
        Command::Run(a) => run::run(&a),
        Command::Inspect(a) => inspect::inspect(&a),
        Command::Bench(a) => bench::bench(&a),
    }
}

/// The default worker count: every core the process may use.
pub fn default_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}
