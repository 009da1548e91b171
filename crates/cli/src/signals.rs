//! SIGTERM and SIGINT end a watch loop between attempts (an attempt in flight finishes, so
//! the store is never left mid-promotion by a polite stop).

use std::sync::Arc;

use litecnn_deploy::WatchControl;
use std::sync::atomic::AtomicBool;

use signal_hook::consts::{SIGINT, SIGTERM, SIGXFSZ};
use signal_hook::iterator::Signals;

pub fn stop_on_signal(control: Arc<WatchControl>) -> std::io::Result<()> {
    let mut signals = Signals::new([SIGTERM, SIGINT])?;
    std::thread::Builder::new()
        .name("litecnn-signals".into())
        .spawn(move || {
            if signals.forever().next().is_some() {
                eprintln!("stopping after the current attempt");
                control.stop();
            }
        })?;
    Ok(())
}

/// A file-size limit (`RLIMIT_FSIZE`, e.g. `ulimit -f` in a service unit) would kill the
/// process with SIGXFSZ mid-write; with a handler installed the write fails with EFBIG
/// instead, so a deploy that runs out of room ends as a recorded failure ("File too large"),
/// like a full disk, with the current model untouched.
pub fn survive_file_size_limit() -> std::io::Result<()> {
    signal_hook::flag::register(SIGXFSZ, Arc::new(AtomicBool::new(false))).map(|_| ())
}
