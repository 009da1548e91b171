//! `litecnn service install [--kind systemd|launchd] [--out FILE] [--print] -- SERVE ARGS…`
//! (DESIGN §3): a service definition that runs `litecnn serve …` (typically with `--watch`) at
//! boot and restarts it on failure — a systemd unit on Linux, a launchd agent on macOS (what
//! the original users ran). The templates live in `src/service/`.

use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::cli::{ServiceArgs, ServiceCommand, ServiceKind};

const UNIT: &str = include_str!("../service/litecnn.service");
const PLIST: &str = include_str!("../service/litecnn.plist");
pub const LAUNCHD_LABEL: &str = "dev.litecnn.serve";

pub fn service(args: &ServiceArgs) -> anyhow::Result<()> {
    let ServiceCommand::Install(install) = &args.command;
    let kind = install.kind.unwrap_or(if cfg!(target_os = "macos") {
        ServiceKind::Launchd
    } else {
        ServiceKind::Systemd
    });
    let exe = std::env::current_exe().context("cannot find the litecnn binary's path")?;
    let mut argv = vec![exe.display().to_string(), "serve".to_owned()];
    argv.extend(install.serve_args.iter().cloned());
    let env = service_environment();
    let text = match kind {
        ServiceKind::Systemd => systemd_unit(&argv, &env, install.user),
        ServiceKind::Launchd => launchd_plist(&argv, &env, &log_path()),
    };
    if install.print {
        print!("{text}");
        return Ok(());
    }
    let out = match &install.out {
        Some(out) => out.clone(),
        None => default_path(kind, install.user)?,
    };
    if let Some(parent) = out.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    std::fs::write(&out, text).with_context(|| format!("cannot write {}", out.display()))?;
    eprintln!("wrote {}", out.display());
    eprintln!("{}", next_steps(kind, &out, install.user));
    Ok(())
}

/// The variables a service should keep from the installing shell: where the store is and how
/// to reach S3 (secrets are better kept in a root-only environment file; say so in the hint).
fn service_environment() -> Vec<(String, String)> {
    std::env::vars()
        .filter(|(k, _)| {
            k == "LITECNN_STORE"
                || k == "XDG_DATA_HOME"
                || k == "HOME"
                || k == "SSH_AUTH_SOCK"
                || (k.starts_with("AWS_")
                    && k != "AWS_SECRET_ACCESS_KEY"
                    && k != "AWS_SESSION_TOKEN")
        })
        .collect()
}

fn log_path() -> String {
    std::env::var("HOME").map_or("/tmp/litecnn.log".into(), |h| {
        format!("{h}/Library/Logs/litecnn.log")
    })
}

fn default_path(kind: ServiceKind, user: bool) -> anyhow::Result<PathBuf> {
    let home = || {
        std::env::var_os("HOME")
            .map(PathBuf::from)
            .context("HOME is not set")
    };
    Ok(match (kind, user) {
        (ServiceKind::Systemd, false) => PathBuf::from("/etc/systemd/system/litecnn.service"),
        (ServiceKind::Systemd, true) => home()?.join(".config/systemd/user/litecnn.service"),
        (ServiceKind::Launchd, _) => {
            home()?.join(format!("Library/LaunchAgents/{LAUNCHD_LABEL}.plist"))
        }
    })
}

fn next_steps(kind: ServiceKind, out: &Path, user: bool) -> String {
    match kind {
        ServiceKind::Systemd if user => {
            "then: systemctl --user daemon-reload && systemctl --user enable --now litecnn".into()
        }
        ServiceKind::Systemd => {
            "then: systemctl daemon-reload && systemctl enable --now litecnn".into()
        }
        ServiceKind::Launchd => format!("then: launchctl bootstrap gui/$(id -u) {}", out.display()),
    }
}

/// A systemd `ExecStart=` argument: quoted when it holds anything systemd would split or
/// expand (`$` and `%` are doubled so they stay literal).
fn systemd_word(arg: &str) -> String {
    let escaped = arg.replace('%', "%%").replace('$', "$$");
    if !escaped.is_empty() && !escaped.contains([' ', '\t', '"', '\'', '\\', ';']) {
        return escaped;
    }
    format!("\"{}\"", escaped.replace('\\', "\\\\").replace('"', "\\\""))
}

pub fn systemd_unit(argv: &[String], env: &[(String, String)], user: bool) -> String {
    let exec_start: Vec<String> = argv.iter().map(|a| systemd_word(a)).collect();
    let environment: Vec<String> = env
        .iter()
        .map(|(k, v)| systemd_word(&format!("{k}={v}")))
        .collect();
    let mut text = UNIT.replace("{exec_start}", &exec_start.join(" ")).replace(
        "{wanted_by}",
        if user {
            "default.target"
        } else {
            "multi-user.target"
        },
    );
    text = if environment.is_empty() {
        text.replace("Environment={environment}\n", "")
    } else {
        text.replace("{environment}", &environment.join(" "))
    };
    text
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

pub fn launchd_plist(argv: &[String], env: &[(String, String)], log: &str) -> String {
    let arguments: Vec<String> = argv
        .iter()
        .map(|a| format!("        <string>{}</string>", xml_escape(a)))
        .collect();
    let environment: Vec<String> = env
        .iter()
        .map(|(k, v)| {
            format!(
                "        <key>{}</key>\n        <string>{}</string>",
                xml_escape(k),
                xml_escape(v)
            )
        })
        .collect();
    PLIST
        .replace("{label}", LAUNCHD_LABEL)
        .replace("{arguments}", &arguments.join("\n"))
        .replace("{environment}", &environment.join("\n"))
        .replace("{log}", &xml_escape(log))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn systemd_words_survive_spaces_and_specials() {
        assert_eq!(systemd_word("--watch"), "--watch");
        assert_eq!(systemd_word("/srv/my models"), "\"/srv/my models\"");
        assert_eq!(systemd_word("50%"), "50%%");
        assert_eq!(systemd_word("$HOME"), "$$HOME");
        assert_eq!(systemd_word("say \"hi\""), "\"say \\\"hi\\\"\"");
    }
}
