//! The `wrk` load generator (Debian package `wrk`) driven with `tests/wrk/predict.lua`: started
//! against a URL, stopped with SIGINT when the test is done (wrk then prints its report), and
//! its report parsed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// What `tests/wrk/predict.lua` printed.
#[derive(Debug, Default)]
pub struct Report {
    /// Requests completed, as wrk counts them.
    pub requests: u64,
    /// Socket errors: connect, read, write, timeout.
    pub socket_errors: [u64; 4],
    /// Answers wrk counted as not 2xx/3xx.
    pub bad_status: u64,
    /// Answers seen by the script's `response()` hook, and those not 2xx.
    pub responses: u64,
    pub non_2xx: u64,
    /// Answers by `X-Model-Version` ("(none)" without the header).
    pub versions: BTreeMap<String, u64>,
}

/// A running wrk; killed when dropped.
pub struct Wrk {
    child: Option<Child>,
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/wrk/predict.lua")
}

impl Wrk {
    /// `wrk -t 2 -c CONNECTIONS` POSTing `body_file` to `url` for up to ten minutes.
    pub fn start(url: &str, connections: usize, body_file: &Path) -> Wrk {
        let child = Command::new("wrk")
            .args(["-t", "2", "-c", &connections.to_string(), "-d", "600s"])
            .args(["--timeout", "30s", "-s"])
            .arg(script())
            .arg(url)
            .env("WRK_BODY_FILE", body_file)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("wrk runs (Debian package wrk; ./scripts/test installs it)");
        Wrk { child: Some(child) }
    }

    /// Stops the load (SIGINT, on which wrk reports) and returns the report.
    pub fn stop(mut self) -> Report {
        let child = self.child.take().unwrap();
        let stopped = Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(stopped.success());
        let out = child.wait_with_output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(out.status.success(), "wrk failed: {text}");
        parse(&text)
    }
}

impl Drop for Wrk {
    fn drop(&mut self) {
        if let Some(child) = &mut self.child {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn parse(text: &str) -> Report {
    let mut report = Report::default();
    let number = |s: &str| -> u64 { s.parse().unwrap_or_else(|_| panic!("{s:?} in:\n{text}")) };
    for line in text.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["requests", n] => report.requests = number(n),
            ["errors", c, r, w, t, s] => {
                report.socket_errors = [number(c), number(r), number(w), number(t)];
                report.bad_status = number(s);
            }
            ["thread", responses, non_2xx] => {
                report.responses += number(responses);
                report.non_2xx += number(non_2xx);
            }
            ["version", version, n] => {
                *report.versions.entry((*version).to_owned()).or_default() += number(n);
            }
            _ => {}
        }
    }
    assert!(report.requests > 0, "no report from wrk:\n{text}");
    report
}
