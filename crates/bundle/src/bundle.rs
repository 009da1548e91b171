//! An opened bundle: its files checked against `SHA256SUMS`, its signature as the caller
//! required, its manifest parsed. Opening never runs the model — that is the cheap path the
//! deployer takes before a full [`crate::verify`], and what `litecnn run` takes on a bundle.

use std::fs;
use std::path::{Path, PathBuf};

use litecnn_engine::Model;

use crate::checksums::Checksums;
use crate::digest::Digest;
use crate::error::BundleError;
use crate::golden::{self, GoldenReport};
use crate::labels::Label;
use crate::manifest::{MANIFEST_FILE, Manifest, ManifestError};
use crate::model;
use crate::report::VerifyReport;
use crate::signature::{self, PublicKey, SignatureStatus};

#[derive(Clone, Debug)]
pub struct Bundle {
    dir: PathBuf,
    checksums: Checksums,
    signature: SignatureStatus,
    manifest: Manifest,
}

impl Bundle {
    /// Opens `dir`: checksums (both ways), digest, signature (required when `key` is given),
    /// manifest. Does not load the model.
    pub fn open(dir: &Path, key: Option<&PublicKey>) -> Result<Bundle, BundleError> {
        Bundle::open_recorded(dir, key, &mut VerifyReport::new(dir))
    }

    /// [`Bundle::open`], recording each step in `report`.
    pub(crate) fn open_recorded(
        dir: &Path,
        key: Option<&PublicKey>,
        report: &mut VerifyReport,
    ) -> Result<Bundle, BundleError> {
        let checksums = report.record("checksums", || {
            let sums = Checksums::read(dir)?;
            sums.verify_files(dir)?;
            let detail = format!(
                "{} files match SHA256SUMS; digest {}",
                sums.entries().len(),
                sums.digest()
            );
            Ok((sums, detail))
        })?;
        report.digest = Some(checksums.digest().clone());
        let signature = report.record("signature", || {
            let status = signature::check(dir, &checksums, key)?;
            let detail = status.to_string();
            Ok((status, detail))
        })?;
        let manifest = report.record("manifest", || {
            let manifest = read_manifest(dir, &checksums)?;
            let detail = describe(&manifest);
            Ok((manifest, detail))
        })?;
        report.name = Some(manifest.name.clone());
        report.version = Some(manifest.version.clone());
        Ok(Bundle {
            dir: dir.to_path_buf(),
            checksums,
            signature,
            manifest,
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    pub fn labels(&self) -> &[Label] {
        &self.manifest.labels
    }

    /// The bundle digest, `sha256:<hex>` of `SHA256SUMS`.
    pub fn digest(&self) -> &Digest {
        self.checksums.digest()
    }

    pub fn checksums(&self) -> &Checksums {
        &self.checksums
    }

    pub fn signature(&self) -> &SignatureStatus {
        &self.signature
    }

    pub fn model_path(&self) -> PathBuf {
        self.dir.join(&self.manifest.model.file)
    }

    /// In a repository, `<repo>/<name>/<version>/` must hold that version (DESIGN §9). A
    /// separate check because a bundle elsewhere (`--out DIR`, a staging directory) may be
    /// named anything.
    pub fn check_dir_name(&self) -> Result<(), BundleError> {
        let dir_name = dir_name(&self.dir);
        if dir_name == self.manifest.version {
            return Ok(());
        }
        Err(BundleError::DirName {
            dir_name,
            version: self.manifest.version.clone(),
        })
    }

    /// Loads the model and checks it against the manifest: input, output, input size against
    /// the center crop, and the class count against the labels (when the model declares it).
    pub fn load_model(&self) -> Result<Model, BundleError> {
        let model = model::load(&self.dir, &self.manifest)?;
        model::check_io(&model, &self.manifest)?;
        model::check_class_count(&model, &self.manifest)?;
        Ok(model)
    }

    /// Runs `model` on the golden input and compares with the golden output.
    pub fn check_golden(&self, model: &Model) -> Result<GoldenReport, BundleError> {
        let golden = golden::read(&self.dir, &self.manifest)?;
        Ok(golden::check(model, &self.manifest, golden)?)
    }
}

/// Reads the manifest; the files it names must be covered by the checksums.
fn read_manifest(dir: &Path, checksums: &Checksums) -> Result<Manifest, ManifestError> {
    let bytes = fs::read(dir.join(MANIFEST_FILE)).map_err(ManifestError::Read)?;
    let manifest = Manifest::parse(&bytes)?;
    for (field, file) in [
        ("model.file", &manifest.model.file),
        ("golden.file", &manifest.golden.file),
    ] {
        if !checksums.lists(file) {
            let file = file.clone();
            return Err(ManifestError::NotListed { field, file });
        }
    }
    Ok(manifest)
}

fn describe(m: &Manifest) -> String {
    format!(
        "{} {} ({}), {} labels, output {}",
        m.name,
        m.version,
        m.format,
        m.labels.len(),
        m.model.output_kind.as_str()
    )
}

/// The directory's own name, resolving `.` and a trailing `/` through the real path.
fn dir_name(dir: &Path) -> String {
    let named = dir.file_name().filter(|n| *n != ".");
    let name = match named {
        Some(name) => Some(name.to_os_string()),
        None => fs::canonicalize(dir)
            .ok()
            .and_then(|p| p.file_name().map(|n| n.to_os_string())),
    };
    name.map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}
