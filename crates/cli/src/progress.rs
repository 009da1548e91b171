//! The deployer's progress on a terminal: one bar per fetched file, log lines above it.

use std::sync::Mutex;

use indicatif::{ProgressBar, ProgressStyle};
use litecnn_deploy::Reporter;

#[derive(Default)]
pub struct BarReporter {
    bar: Mutex<Option<(String, ProgressBar)>>,
}

impl Reporter for BarReporter {
    fn log(&self, line: &str) {
        let bar = self.bar.lock().unwrap_or_else(|e| e.into_inner());
        match &*bar {
            Some((_, bar)) if !bar.is_finished() => bar.println(line),
            _ => eprintln!("{line}"),
        }
    }

    fn progress(&self, file: &str, done: u64, total: Option<u64>) {
        let mut slot = self.bar.lock().unwrap_or_else(|e| e.into_inner());
        let same = matches!(&*slot, Some((f, _)) if f == file);
        if !same {
            if let Some((_, old)) = slot.take() {
                old.finish();
            }
            let bar = match total {
                Some(t) => ProgressBar::new(t),
                None => ProgressBar::new_spinner(),
            };
            bar.set_style(
                ProgressStyle::with_template(
                    "{msg} {wide_bar} {bytes}/{total_bytes} {bytes_per_sec}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            bar.set_message(file.to_owned());
            *slot = Some((file.to_owned(), bar));
        }
        if let Some((_, bar)) = &*slot {
            bar.set_position(done);
            if total == Some(done) {
                bar.finish();
            }
        }
    }
}
