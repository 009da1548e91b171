//! How a deploy tells its operator what it is doing. The command line gives a progress bar on
//! a terminal and plain log lines otherwise; the server logs; tests collect.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Receives the deployer's log lines and fetch progress.
pub trait Reporter: Send + Sync {
    fn log(&self, line: &str);

    /// `done` of `total` bytes of `file` have arrived.
    fn progress(&self, file: &str, done: u64, total: Option<u64>);
}

/// Log lines on stderr, with fetch progress at most once a second per file.
#[derive(Default)]
pub struct LogReporter {
    last: Mutex<Option<(String, Instant)>>,
}

impl Reporter for LogReporter {
    fn log(&self, line: &str) {
        eprintln!("{line}");
    }

    fn progress(&self, file: &str, done: u64, total: Option<u64>) {
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        let finished = total == Some(done);
        let due = match &*last {
            Some((f, at)) if f == file => at.elapsed() >= Duration::from_secs(1),
            _ => true,
        };
        if due || finished {
            let of = total.map_or(String::new(), |t| format!(" of {}", human_bytes(t)));
            eprintln!("fetch {file}: {}{of}", human_bytes(done));
            *last = Some((file.to_owned(), Instant::now()));
        }
    }
}

/// `12.3 MB`-style sizes for people.
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["B", "kB", "MB", "GB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit + 1 < UNITS.len() {
        value /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}
