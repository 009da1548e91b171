//! `litecnn watch` and `serve --watch` (DESIGN §3): attempts in a loop — at once when a local
//! source reports a change, else every `--every` — with a heartbeat after each look, and
//! controls for the admin routes: deploy now, pause/resume, stop.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use litecnn_bundle::time::rfc3339;

use crate::deploy::{Deployer, Ended};
use crate::status::Heartbeat;

/// Shared between the watch loop and whoever steers it (admin routes, signal handlers).
#[derive(Debug)]
pub struct WatchControl {
    enabled: AtomicBool,
    stop: AtomicBool,
    /// Set by [`WatchControl::deploy_now`]; the condvar wakes the loop.
    now: Mutex<bool>,
    wake: Condvar,
}

impl Default for WatchControl {
    fn default() -> WatchControl {
        WatchControl {
            enabled: AtomicBool::new(true),
            stop: AtomicBool::new(false),
            now: Mutex::new(false),
            wake: Condvar::new(),
        }
    }
}

impl WatchControl {
    pub fn set_enabled(&self, on: bool) {
        self.enabled.store(on, Ordering::SeqCst);
        self.poke();
    }

    pub fn enabled(&self) -> bool {
        self.enabled.load(Ordering::SeqCst)
    }

    /// Asks for an attempt now, even while paused.
    pub fn deploy_now(&self) {
        *self.now.lock().unwrap_or_else(|e| e.into_inner()) = true;
        self.wake.notify_all();
    }

    pub fn stop(&self) {
        self.stop.store(true, Ordering::SeqCst);
        self.poke();
    }

    pub fn stopped(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    fn poke(&self) {
        let _guard = self.now.lock().unwrap_or_else(|e| e.into_inner());
        self.wake.notify_all();
    }

    fn take_now(&self) -> bool {
        std::mem::take(&mut *self.now.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

/// Runs attempts until `control` is stopped; `on_attempt` sees each one that did something.
pub fn watch(
    deployer: &mut Deployer,
    every: Duration,
    control: &WatchControl,
    mut on_attempt: impl FnMut(&Ended),
) {
    let mut heartbeat = Heartbeat {
        source: deployer.source_text().to_owned(),
        every_s: every.as_secs_f64(),
        pid: std::process::id(),
        ..Heartbeat::default()
    };
    let mut due = true;
    while !control.stopped() {
        let forced = control.take_now();
        if (due && control.enabled()) || forced {
            beat(deployer, &mut heartbeat, "checking", every);
            let ended = deployer.attempt();
            heartbeat.last_check_at = Some(rfc3339(SystemTime::now()));
            match &ended {
                Ended::Failed(_) | Ended::FailedAgain(_) => {
                    heartbeat.last_error = Some(ended.summary());
                }
                _ => heartbeat.last_error = None,
            }
            heartbeat.last_result = Some(ended.summary());
            on_attempt(&ended);
        }
        let state = if control.enabled() { "idle" } else { "off" };
        beat(deployer, &mut heartbeat, state, every);
        due = wait(deployer, every, control);
    }
    beat(deployer, &mut heartbeat, "stopped", every);
}

/// Waits up to `every` in short slices, so stop and deploy-now are seen quickly; true when
/// an attempt is due (the interval passed, or the source reported a change).
fn wait(deployer: &mut Deployer, every: Duration, control: &WatchControl) -> bool {
    let start = Instant::now();
    let slice = Duration::from_millis(200);
    let enabled = control.enabled();
    loop {
        // Stop, deploy-now and pause/resume are acted on (and shown in the heartbeat) at once;
        // a resumed watcher looks at its source straight away.
        if control.stopped() || *control.now.lock().unwrap_or_else(|e| e.into_inner()) {
            return false;
        }
        if control.enabled() != enabled {
            return control.enabled();
        }
        let left = every.saturating_sub(start.elapsed());
        if left.is_zero() {
            return true;
        }
        if deployer.wait_for_change(left.min(slice)) {
            return true;
        }
    }
}

fn beat(deployer: &Deployer, hb: &mut Heartbeat, state: &str, every: Duration) {
    hb.state = state.to_owned();
    let now = SystemTime::now();
    hb.updated_unix = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    hb.next_check_at = (state == "idle").then(|| rfc3339(now + every));
    if let Err(e) = hb.write(deployer.store().root()) {
        eprintln!("warning: cannot write the watcher heartbeat: {e}");
    }
}
