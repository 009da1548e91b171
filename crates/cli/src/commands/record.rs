//! `litecnn rollback`, `litecnn history` and `litecnn status` (DESIGN §3, §9): reading and
//! walking back the store's deploy record.

use anyhow::Context;
use litecnn_deploy::{AttemptRecord, History, Store};

use crate::cli::{HistoryArgs, RollbackArgs, StatusArgs};
use crate::commands::deploy::{store_dir, webhooks};

pub fn rollback(args: &RollbackArgs) -> anyhow::Result<()> {
    let store = store_dir(&args.store)?;
    let hooks = webhooks(&args.notify)?;
    let record = litecnn_deploy::rollback(&store, args.to.as_deref(), &hooks)?;
    eprintln!(
        "rolled back: {}",
        record.reason.as_deref().unwrap_or("done")
    );
    Ok(())
}

pub fn history(args: &HistoryArgs) -> anyhow::Result<()> {
    let store = Store::open(&store_dir(&args.store)?)?;
    let attempts = History::open(&store.history_path())?.attempts(args.limit)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&attempts)?);
        return Ok(());
    }
    if attempts.is_empty() {
        println!("no deploy attempts yet in {}", store.root().display());
    }
    for a in &attempts {
        print_attempt(a);
    }
    Ok(())
}

fn print_attempt(a: &AttemptRecord) {
    println!(
        "#{} {} {:<11} {} {}",
        a.id,
        a.started_at,
        a.result.as_str(),
        a.version.as_deref().unwrap_or("-"),
        a.digest.as_deref().map_or("-", |d| &d[..d.len().min(19)]),
    );
    if let Some(reason) = &a.reason {
        println!("    why: {reason}");
    }
    let steps: Vec<String> = a
        .steps
        .iter()
        .map(|s| {
            format!(
                "{}{} {:.0} ms",
                s.name,
                if s.ok { "" } else { " FAILED" },
                s.ms
            )
        })
        .collect();
    if !steps.is_empty() {
        println!("    steps: {}", steps.join(" · "));
    }
}

pub fn status(args: &StatusArgs) -> anyhow::Result<()> {
    let store = store_dir(&args.store)?;
    let status = litecnn_deploy::status(&store)
        .map_err(anyhow::Error::msg)
        .with_context(|| format!("store {}", store.display()))?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&status)?);
        return Ok(());
    }
    let text = |v: &serde_json::Value, k: &str| {
        v.get(k).and_then(|x| x.as_str()).unwrap_or("-").to_owned()
    };
    match status.get("current").filter(|c| !c.is_null()) {
        Some(c) => println!(
            "serving   {} {} (promoted {} from {})",
            text(c, "version"),
            text(c, "digest"),
            text(c, "promoted_at"),
            text(c, "source")
        ),
        None => println!("serving   nothing yet"),
    }
    for p in status["previous"].as_array().into_iter().flatten() {
        println!(
            "kept      {} {} (promoted {})",
            text(p, "version"),
            text(p, "digest"),
            text(p, "promoted_at")
        );
    }
    match status.get("watcher").filter(|w| !w.is_null()) {
        Some(w) => {
            println!("watcher   {} on {}", text(w, "state"), text(w, "source"));
            println!(
                "          last check {}: {}",
                text(w, "last_check_at"),
                text(w, "last_result")
            );
            if let Some(e) = w.get("last_error").and_then(|e| e.as_str()) {
                println!("          last error: {e}");
            }
        }
        None => println!("watcher   none has run on this store"),
    }
    Ok(())
}
