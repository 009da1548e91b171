//! SIGTERM and SIGINT end a watch loop between attempts (an attempt in flight finishes, so
//! the store is never left mid-promotion by a polite stop).

use std::sync::Arc;

use litecnn_deploy::WatchControl;
use signal_hook::consts::{SIGINT, SIGTERM};
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
