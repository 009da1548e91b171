//! Step 1, detect (DESIGN §4.1): what the source offers now, found from cheap reads only —
//! `LATEST` and `SHA256SUMS` for bundles (whose SHA-256 *is* the bundle digest, so no model
//! byte is read to know whether it is new), a listing and two looks for checkpoints.

use litecnn_bundle::names::is_identifier;
use litecnn_bundle::{Checksums, Digest};

use crate::source::{FileMeta, Source, SourceError, SourceErrorKind, glob_matches, join};

/// Small files are read whole; anything larger is not what it claims to be.
const SMALL_FILE_LIMIT: u64 = 1 << 20;
pub const SUMS_FILE: &str = "SHA256SUMS";
pub const SIGNATURE_FILE: &str = "SHA256SUMS.minisig";
const LATEST_FILE: &str = "LATEST";

/// A bundle offered by the source.
#[derive(Clone, Debug)]
pub struct BundleCandidate {
    /// Its directory at the source, relative to the root (`""`: the root is the bundle).
    pub dir: String,
    /// The version `LATEST` named, when the source is a repository's model directory.
    pub latest: Option<String>,
    pub checksums: Checksums,
    pub signed: bool,
}

impl BundleCandidate {
    pub fn digest(&self) -> &Digest {
        self.checksums.digest()
    }

    /// Every file to fetch, `SHA256SUMS` (and its signature) included.
    pub fn files(&self) -> Vec<String> {
        let mut files: Vec<String> = self
            .checksums
            .entries()
            .iter()
            .map(|e| e.file.clone())
            .collect();
        files.push(SUMS_FILE.to_owned());
        if self.signed {
            files.push(SIGNATURE_FILE.to_owned());
        }
        files
    }
}

/// A checkpoint file offered by the source (with `--convert`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckpointCandidate {
    /// Relative to the root.
    pub path: String,
    pub meta: FileMeta,
}

/// What the source offers.
#[derive(Clone, Debug)]
pub enum Offer {
    Bundle(BundleCandidate),
    Checkpoint(CheckpointCandidate),
    /// Nothing there yet (an empty repository, no matching checkpoint): not an error.
    Nothing(String),
}

/// Finds the bundle at the source root: a repository's model directory (follow `LATEST`) or
/// one bundle.
pub fn find_bundle(source: &mut dyn Source) -> Result<Offer, SourceError> {
    let (dir, latest) = if source.stat(LATEST_FILE)?.is_some() {
        let text = source.read_small(LATEST_FILE, 4096)?;
        let version = String::from_utf8_lossy(&text).trim().to_owned();
        if version.is_empty() {
            return Ok(Offer::Nothing("LATEST is empty".into()));
        }
        if !is_identifier(&version) {
            return Err(SourceError::new(
                SourceErrorKind::Other,
                format!("LATEST names {version:?}, which is not a version name"),
            ));
        }
        (version.clone(), Some(version))
    } else if source.stat(SUMS_FILE)?.is_some() {
        (String::new(), None)
    } else {
        return Ok(Offer::Nothing(format!(
            "no {LATEST_FILE} (a repository's model directory) and no {SUMS_FILE} (a bundle) at {}",
            source.describe()
        )));
    };
    let sums_path = join(&dir, SUMS_FILE);
    let bytes = match source.read_small(&sums_path, SMALL_FILE_LIMIT) {
        Err(e) if e.kind == SourceErrorKind::NotFound => {
            return Err(SourceError::new(
                SourceErrorKind::NotFound,
                format!("LATEST names {dir:?}, but {sums_path} is missing"),
            ));
        }
        other => other?,
    };
    let checksums = Checksums::parse(bytes).map_err(|e| {
        SourceError::new(SourceErrorKind::Other, format!("{sums_path}: {e}"))
    })?;
    let signed = source.stat(&join(&dir, SIGNATURE_FILE))?.is_some();
    Ok(Offer::Bundle(BundleCandidate {
        dir,
        latest,
        checksums,
        signed,
    }))
}

/// The newest file matching `pattern` in the root (by modification time, then name).
pub fn find_checkpoint(source: &mut dyn Source, pattern: &str) -> Result<Offer, SourceError> {
    let newest = source
        .list("")?
        .into_iter()
        .filter(|e| !e.is_dir && glob_matches(pattern, &e.name))
        .max_by(|a, b| {
            (a.meta.modified, &a.name).cmp(&(b.meta.modified, &b.name))
        });
    Ok(match newest {
        Some(e) => Offer::Checkpoint(CheckpointCandidate {
            path: e.name,
            meta: e.meta,
        }),
        None => Offer::Nothing(format!("no file matches {pattern} at {}", source.describe())),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::LocalSource;
    use std::fs;

    #[test]
    fn follows_latest_or_takes_the_bundle_at_the_root() {
        let repo = tempfile::tempdir().unwrap();
        let mut source = LocalSource::open(repo.path()).unwrap();
        assert!(matches!(find_bundle(&mut source).unwrap(), Offer::Nothing(_)));

        let v1 = repo.path().join("v1");
        fs::create_dir(&v1).unwrap();
        fs::write(v1.join("model.onnx"), b"x").unwrap();
        fs::write(
            v1.join("SHA256SUMS"),
            format!("{}  model.onnx\n", litecnn_bundle::digest::to_hex(&litecnn_bundle::digest::sha256(b"x"))),
        )
        .unwrap();
        fs::write(repo.path().join("LATEST"), "v1\n").unwrap();
        let Offer::Bundle(c) = find_bundle(&mut source).unwrap() else {
            panic!("no bundle found")
        };
        assert_eq!((c.dir.as_str(), c.latest.as_deref()), ("v1", Some("v1")));
        assert_eq!(c.files(), ["model.onnx", "SHA256SUMS"]);

        let mut at_bundle = LocalSource::open(&v1).unwrap();
        let Offer::Bundle(b) = find_bundle(&mut at_bundle).unwrap() else {
            panic!("no bundle found")
        };
        assert_eq!((b.dir.as_str(), b.digest()), ("", c.digest()));

        fs::write(repo.path().join("LATEST"), "../etc\n").unwrap();
        assert!(find_bundle(&mut source).is_err());
        fs::write(repo.path().join("LATEST"), "v2\n").unwrap();
        let err = find_bundle(&mut source).unwrap_err();
        assert!(err.message.contains("v2/SHA256SUMS"), "{err}");
    }

    #[test]
    fn newest_matching_checkpoint_wins() {
        let dir = tempfile::tempdir().unwrap();
        let mut source = LocalSource::open(dir.path()).unwrap();
        assert!(matches!(
            find_checkpoint(&mut source, "*_best.pth").unwrap(),
            Offer::Nothing(_)
        ));
        let old = std::time::SystemTime::now() - std::time::Duration::from_secs(60);
        fs::write(dir.path().join("a_best.pth"), b"1").unwrap();
        fs::File::options()
            .write(true)
            .open(dir.path().join("a_best.pth"))
            .unwrap()
            .set_modified(old)
            .unwrap();
        fs::write(dir.path().join("b_best.pth"), b"2").unwrap();
        fs::write(dir.path().join("c_last.pth"), b"3").unwrap();
        let Offer::Checkpoint(c) = find_checkpoint(&mut source, "*_best.pth").unwrap() else {
            panic!("no checkpoint")
        };
        assert_eq!(c.path, "b_best.pth");
    }
}
