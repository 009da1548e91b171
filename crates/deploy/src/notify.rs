//! Step 8, notify (DESIGN §4.1): a webhook per `--notify URL` on every promotion, rejection,
//! rollback and failure, carrying the gate report. Slack incoming webhooks and Discord
//! webhooks get their own message shapes; any other URL gets the attempt as plain JSON.
//!
//! The format follows the host (`hooks.slack.com`, `discord.com/api/webhooks`), or an explicit
//! scheme prefix — `slack+https://…`, `discord+https://…`, `json+https://…` — for
//! Slack-compatible servers on other hosts (Mattermost, Rocket.Chat) and for tests.
//! A webhook that fails is logged, never fatal: the deploy already happened.

use std::time::Duration;

use serde_json::{Value, json};

use crate::history::{AttemptRecord, Outcome};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Slack,
    Discord,
    Json,
}

/// A `--notify` target.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Webhook {
    pub format: Format,
    pub url: String,
}

impl Webhook {
    pub fn parse(spec: &str) -> Result<Webhook, String> {
        let (format, url) = match spec.split_once('+') {
            Some(("slack", url)) => (Some(Format::Slack), url),
            Some(("discord", url)) => (Some(Format::Discord), url),
            Some(("json", url)) => (Some(Format::Json), url),
            _ => (None, spec),
        };
        if !(url.starts_with("https://") || url.starts_with("http://")) {
            return Err(format!("--notify {spec:?}: expected an http(s):// URL"));
        }
        let format = format.unwrap_or_else(|| {
            let rest = url.split_once("://").map_or(url, |(_, r)| r);
            if rest.starts_with("hooks.slack.com/") {
                Format::Slack
            } else if rest.starts_with("discord.com/api/webhooks/")
                || rest.starts_with("discordapp.com/api/webhooks/")
            {
                Format::Discord
            } else {
                Format::Json
            }
        });
        Ok(Webhook {
            format,
            url: url.to_owned(),
        })
    }

    /// The body this webhook gets for `attempt` of model `name`.
    pub fn body(&self, name: &str, attempt: &AttemptRecord) -> Value {
        match self.format {
            Format::Slack => slack(name, attempt),
            Format::Discord => discord(name, attempt),
            Format::Json => json!({
                "event": attempt.result.as_str(),
                "model": name,
                "attempt": attempt,
            }),
        }
    }
}

fn headline(name: &str, a: &AttemptRecord) -> String {
    let version = a.version.as_deref().unwrap_or("(unknown version)");
    let what = match a.result {
        Outcome::Promoted => "promoted",
        Outcome::Rejected => "rejected",
        Outcome::Failed => "deploy failed",
        Outcome::RolledBack => "rolled back after probation",
        Outcome::Rollback => "rollback to",
    };
    format!("litecnn: {name} {version} {what}")
}

/// Gate results as `name: ok|FAILED (figures)` lines.
fn gate_lines(a: &AttemptRecord) -> Vec<(String, String)> {
    let Some(gates) = a.gates.as_object() else {
        return Vec::new();
    };
    gates
        .iter()
        .map(|(name, g)| {
            let ok = g.get("ok").and_then(Value::as_bool).unwrap_or(false);
            let figures: Vec<String> = g
                .as_object()
                .into_iter()
                .flatten()
                .filter(|(k, v)| *k != "ok" && !v.is_null() && !v.is_object())
                .map(|(k, v)| match v.as_f64() {
                    Some(x) if x.fract() != 0.0 => format!("{k} {x:.4}"),
                    _ => format!("{k} {v}"),
                })
                .collect();
            let state = if ok { "ok" } else { "FAILED" };
            (name.clone(), format!("{state} ({})", figures.join(", ")))
        })
        .collect()
}

fn slack(name: &str, a: &AttemptRecord) -> Value {
    let mut text = headline(name, a);
    if let Some(reason) = &a.reason {
        text.push_str(&format!("\nReason: {reason}"));
    }
    let gates: Vec<String> = gate_lines(a)
        .into_iter()
        .map(|(n, l)| format!("• *{n}*: {l}"))
        .collect();
    let mut blocks = vec![json!({"type": "section", "text": {"type": "mrkdwn", "text": text}})];
    if !gates.is_empty() {
        blocks.push(json!({"type": "section", "text": {"type": "mrkdwn", "text": gates.join("\n")}}));
    }
    blocks.push(json!({"type": "context", "elements": [{"type": "mrkdwn",
        "text": format!("{} · {} · {}", a.source, a.digest.as_deref().unwrap_or("-"), a.started_at)}]}));
    json!({"text": text, "blocks": blocks})
}

fn discord(name: &str, a: &AttemptRecord) -> Value {
    let color = match a.result {
        Outcome::Promoted => 0x2e_b8_6b,
        Outcome::Rollback => 0x3b_82_f6,
        _ => 0xd9_3f_3f,
    };
    let mut fields: Vec<Value> = gate_lines(a)
        .into_iter()
        .map(|(n, l)| json!({"name": n, "value": l, "inline": false}))
        .collect();
    fields.push(json!({"name": "digest", "value": a.digest.as_deref().unwrap_or("-"), "inline": true}));
    fields.push(json!({"name": "source", "value": a.source, "inline": true}));
    json!({
        "content": headline(name, a),
        "embeds": [{
            "title": headline(name, a),
            "description": a.reason.clone().unwrap_or_default(),
            "color": color,
            "fields": fields,
            "timestamp": a.started_at,
        }]
    })
}

/// Posts `attempt` to every webhook; returns one message per failed delivery.
pub fn send_all(hooks: &[Webhook], name: &str, attempt: &AttemptRecord) -> Vec<String> {
    if hooks.is_empty() {
        return Vec::new();
    }
    crate::tls::ensure_provider();
    let client = match reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
    {
        Ok(client) => client,
        Err(e) => return vec![format!("cannot create the webhook client: {e}")],
    };
    let mut problems = Vec::new();
    for hook in hooks {
        let sent = client
            .post(&hook.url)
            .json(&hook.body(name, attempt))
            .send()
            .and_then(|r| r.error_for_status());
        if let Err(e) = sent {
            problems.push(format!("webhook {}: {e}", redact(&hook.url)));
        }
    }
    problems
}

/// Webhook URLs carry their secret in the path: show only the host in logs.
fn redact(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let host = rest.split('/').next().unwrap_or(rest);
            format!("{scheme}://{host}/…")
        }
        None => "…".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_follows_host_or_prefix() {
        let f = |s| Webhook::parse(s).unwrap().format;
        assert_eq!(f("https://hooks.slack.com/services/T/B/X"), Format::Slack);
        assert_eq!(f("https://discord.com/api/webhooks/1/abc"), Format::Discord);
        assert_eq!(f("https://example.com/hook"), Format::Json);
        assert_eq!(f("slack+http://127.0.0.1:9/x"), Format::Slack);
        assert_eq!(Webhook::parse("slack+http://127.0.0.1:9/x").unwrap().url, "http://127.0.0.1:9/x");
        assert!(Webhook::parse("ftp://x").is_err());
        assert_eq!(redact("https://hooks.slack.com/services/T/B/secret"), "https://hooks.slack.com/…");
    }
}
