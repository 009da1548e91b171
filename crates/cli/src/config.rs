//! `litecnn.toml` (DESIGN §3, §9): a config file may set every flag of a subcommand, in a table
//! named after it. Flags beat environment variables (`LITECNN_<FLAG>`, clap's `env`), which beat
//! the file.
//!
//! ```toml
//! [serve]
//! port = 8443
//! rate-limit = 20
//! tls-cert = "/etc/litecnn/cert.pem"
//! tls-key = "/etc/litecnn/key.pem"
//! ```
//!
//! The file's values are handed to clap as if typed after the command line, and only for flags
//! that neither the command line nor the environment set: clap parses and checks them exactly
//! like typed flags, so each flag keeps one parser and one error message.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::parser::ValueSource;
use clap::{ArgMatches, Command, CommandFactory, FromArgMatches};

use crate::cli::Args;

/// The file's name under `$XDG_CONFIG_HOME/litecnn/` (default `~/.config/litecnn/`).
pub const FILE_NAME: &str = "litecnn.toml";

/// Parses `argv` (printing help, version or usage errors and exiting as clap does), then fills
/// the flags it left unset from the config file.
pub fn parse(argv: Vec<OsString>) -> anyhow::Result<Args> {
    let command = Args::command();
    let matches = command.clone().get_matches_from(&argv);
    let args = Args::from_arg_matches(&matches)?;
    let (Some(path), Some((name, sub))) = (locate(args.config.as_deref()), matches.subcommand())
    else {
        return Ok(args);
    };
    let extra = extra_args(&path, &command, name, sub)?;
    if extra.is_empty() {
        return Ok(args);
    }
    let matches = command
        .try_get_matches_from(argv.into_iter().chain(extra))
        .map_err(|e| anyhow::anyhow!("{}", first_line(&e.render().to_string())))
        .with_context(|| format!("config file {}", path.display()))?;
    Ok(Args::from_arg_matches(&matches)?)
}

/// The message of a rendered clap error, without its `error:` prefix and usage hints.
fn first_line(rendered: &str) -> &str {
    let line = rendered.lines().next().unwrap_or_default();
    line.strip_prefix("error: ").unwrap_or(line)
}

/// `--config FILE` if given (it must exist), else the default file if there is one.
fn locate(given: Option<&Path>) -> Option<PathBuf> {
    if let Some(path) = given {
        return Some(path.to_owned());
    }
    let non_empty = |name| std::env::var_os(name).filter(|v| !v.is_empty());
    let dir = non_empty("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| non_empty("HOME").map(|h| PathBuf::from(h).join(".config")))?;
    Some(dir.join("litecnn").join(FILE_NAME)).filter(|p| p.is_file())
}

/// The flags the file adds to `argv` for subcommand `name`, given what clap already parsed
/// (`sub`): `--flag=value` for each key whose flag came from neither the command line nor the
/// environment.
fn extra_args(
    path: &Path,
    command: &Command,
    name: &str,
    sub: &ArgMatches,
) -> anyhow::Result<Vec<OsString>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read config file {}", path.display()))?;
    let table: toml::Table = text
        .parse()
        .with_context(|| format!("config file {} is not valid TOML", path.display()))?;
    let Some(section) = table.get(name) else {
        return Ok(Vec::new());
    };
    let section = section
        .as_table()
        .with_context(|| format!("config file {}: [{name}] must be a table", path.display()))?;
    let flags = command
        .find_subcommand(name)
        .context("no such subcommand")?;
    let mut extra = Vec::new();
    for (key, value) in section {
        let arg = flags
            .get_arguments()
            .find(|a| a.get_long() == Some(key.as_str()) && key != "config")
            .with_context(|| {
                format!(
                    "config file {}: [{name}] has no setting {key:?} (the keys are \
                     `litecnn {name}` flag names, e.g. rate-limit)",
                    path.display()
                )
            })?;
        if set_elsewhere(sub, arg.get_id().as_str()) {
            continue;
        }
        extra.push(
            flag(key, value)
                .with_context(|| format!("config file {}: [{name}] {key}", path.display()))?,
        );
    }
    Ok(extra)
}

fn set_elsewhere(sub: &ArgMatches, id: &str) -> bool {
    matches!(
        sub.value_source(id),
        Some(ValueSource::CommandLine | ValueSource::EnvVariable)
    )
}

fn flag(key: &str, value: &toml::Value) -> anyhow::Result<OsString> {
    let text = match value {
        toml::Value::String(s) => s.clone(),
        toml::Value::Integer(n) => n.to_string(),
        toml::Value::Float(x) => x.to_string(),
        toml::Value::Boolean(b) => b.to_string(),
        other => bail!("expected a string or a number, found {}", other.type_str()),
    };
    Ok(format!("--{key}={text}").into())
}
