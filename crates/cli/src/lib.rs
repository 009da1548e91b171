//! The `litecnn` command line as a library, so integration tests and later binaries can call
//! the same code the binary runs. `main.rs` only maps the outcome to an exit code.

pub mod cli;
pub mod commands;
pub mod config;
pub mod demo;
mod load;
pub mod npy;
mod progress;
pub mod signals;
