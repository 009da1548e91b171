//! A directory on this machine (a path or `file://`), with change events from the operating
//! system (inotify, FSEvents) so a new `LATEST` is noticed at once; when events are not
//! available (the directory does not exist yet, a network file system) it falls back to the
//! poll interval.

use std::fs::{self, File};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Component, Path, PathBuf};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::Duration;

use notify::{RecommendedWatcher, RecursiveMode, Watcher};

use super::{DirEntry, FileMeta, Source, SourceError, SourceErrorKind};

pub struct LocalSource {
    root: PathBuf,
    events: Option<(RecommendedWatcher, Receiver<()>)>,
}

impl LocalSource {
    pub fn open(root: &Path) -> Result<LocalSource, SourceError> {
        let mut source = LocalSource {
            root: root.to_path_buf(),
            events: None,
        };
        // Watch from the start, so a change made during the first attempt is not missed.
        source.events();
        Ok(source)
    }

    fn path(&self, rel: &str) -> Result<PathBuf, SourceError> {
        let rel = Path::new(rel);
        // Paths come from files at the source (LATEST, SHA256SUMS): never let one climb out.
        if rel
            .components()
            .any(|c| !matches!(c, Component::Normal(_) | Component::CurDir))
        {
            return Err(SourceError::new(
                SourceErrorKind::Other,
                format!("{}: path leaves the source directory", rel.display()),
            ));
        }
        Ok(self.root.join(rel))
    }

    /// Starts watching the root, once; `None` when the OS cannot watch it.
    fn events(&mut self) -> Option<&Receiver<()>> {
        if self.events.is_none() {
            let (tx, rx) = mpsc::channel();
            let watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
                // Our own reads raise access events; only changes matter.
                if event.is_ok_and(|e| !e.kind.is_access()) {
                    let _ = tx.send(());
                }
            });
            let mut watcher = watcher.ok()?;
            watcher
                .watch(&self.root, RecursiveMode::NonRecursive)
                .ok()?;
            self.events = Some((watcher, rx));
        }
        self.events.as_ref().map(|(_, rx)| rx)
    }
}

fn io_error(path: &Path, e: &io::Error) -> SourceError {
    let kind = match e.kind() {
        io::ErrorKind::NotFound => SourceErrorKind::NotFound,
        io::ErrorKind::PermissionDenied => SourceErrorKind::Refused,
        _ => SourceErrorKind::Other,
    };
    SourceError::new(kind, format!("{}: {e}", path.display()))
}

fn meta_of(m: &fs::Metadata) -> FileMeta {
    FileMeta {
        size: m.len(),
        modified: m.modified().ok(),
        etag: None,
    }
}

impl Source for LocalSource {
    fn describe(&self) -> String {
        self.root.display().to_string()
    }

    fn stat(&mut self, rel: &str) -> Result<Option<FileMeta>, SourceError> {
        let path = self.path(rel)?;
        match fs::metadata(&path) {
            Ok(m) => Ok(Some(meta_of(&m))),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io_error(&path, &e)),
        }
    }

    fn fetch(
        &mut self,
        rel: &str,
        offset: u64,
        out: &mut dyn Write,
        progress: &mut dyn FnMut(u64),
    ) -> Result<u64, SourceError> {
        let path = self.path(rel)?;
        let mut file = File::open(&path).map_err(|e| io_error(&path, &e))?;
        file.seek(SeekFrom::Start(offset))
            .map_err(|e| io_error(&path, &e))?;
        let mut buf = vec![0u8; 256 * 1024];
        let mut total = offset;
        loop {
            let n = file.read(&mut buf).map_err(|e| io_error(&path, &e))?;
            if n == 0 {
                return Ok(total - offset);
            }
            out.write_all(&buf[..n])
                .map_err(|e| SourceError::local_write(rel, &e))?;
            total += n as u64;
            progress(total);
        }
    }

    fn list(&mut self, dir: &str) -> Result<Vec<DirEntry>, SourceError> {
        let path = self.path(dir)?;
        let entries = fs::read_dir(&path).map_err(|e| io_error(&path, &e))?;
        let mut out = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| io_error(&path, &e))?;
            // A file removed between the listing and the stat is simply gone.
            let Ok(meta) = entry.metadata() else { continue };
            let Ok(name) = entry.file_name().into_string() else {
                continue;
            };
            out.push(DirEntry {
                name,
                is_dir: meta.is_dir(),
                meta: meta_of(&meta),
            });
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    fn wait_for_change(&mut self, timeout: Duration) -> bool {
        let Some(rx) = self.events() else {
            std::thread::sleep(timeout);
            return false;
        };
        // Events queued since the last look mean "look again now".
        match rx.recv_timeout(timeout) {
            Ok(()) => {
                // Writers touch several files in a burst: let it settle, then drop the rest.
                std::thread::sleep(Duration::from_millis(50));
                while rx.try_recv().is_ok() {}
                true
            }
            Err(RecvTimeoutError::Timeout) => false,
            Err(RecvTimeoutError::Disconnected) => {
                self.events = None;
                std::thread::sleep(timeout);
                false
            }
        }
    }
}
