//! The hold-out gate's data (DESIGN §4.1 step 5, §9): an ImageFolder directory
//! (`DIR/<class name>/*.{jpg,jpeg,png}`) scored top-1 through the model's own preprocessing.
//! Class directories are matched to label `name`s; one without a label is an error, since a
//! silently skipped class would flatter the score.

use std::fs;
use std::path::{Path, PathBuf};

use litecnn_bundle::Bundle;
use litecnn_bundle::digest::{sha256, to_hex};
use litecnn_bundle::predict::run_scores;
use litecnn_engine::Model;
use litecnn_vision::{DecodeLimits, decode, preprocess};

#[derive(Debug, thiserror::Error)]
pub enum HoldoutError {
    #[error("hold-out {}: {cause}", path.display())]
    Read { path: PathBuf, cause: std::io::Error },
    #[error("hold-out {}: no images (expected <class name>/*.jpg|jpeg|png)", dir.display())]
    Empty { dir: PathBuf },
    #[error("hold-out class directory {class:?} matches no label name of the model (labels: {labels})")]
    UnknownClass { class: String, labels: String },
    #[error("hold-out image {}: {cause}", path.display())]
    Image { path: PathBuf, cause: String },
    #[error("the model has no output {0:?}")]
    NoOutput(String),
}

/// A hold-out set, listed once.
#[derive(Debug)]
pub struct Holdout {
    pub dir: PathBuf,
    /// Identifies the set's content (names, sizes, times), so cached scores of the current
    /// model stay valid only for the same set.
    pub key: String,
    /// `(class directory name, image path)`, sorted.
    images: Vec<(String, PathBuf)>,
}

/// A model's score on a hold-out set.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Score {
    pub top1: f64,
    pub images: usize,
}

fn is_image(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| ["jpg", "jpeg", "png"].contains(&e.to_ascii_lowercase().as_str()))
}

fn read_dir_sorted(dir: &Path) -> Result<Vec<fs::DirEntry>, HoldoutError> {
    let err = |cause| HoldoutError::Read {
        path: dir.to_path_buf(),
        cause,
    };
    let mut entries = fs::read_dir(dir)
        .map_err(err)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(err)?;
    entries.sort_by_key(|e| e.file_name());
    Ok(entries)
}

impl Holdout {
    pub fn open(dir: &Path) -> Result<Holdout, HoldoutError> {
        let mut images = Vec::new();
        let mut fingerprint = String::new();
        for class in read_dir_sorted(dir)? {
            if !class.path().is_dir() {
                continue;
            }
            let name = class.file_name().to_string_lossy().into_owned();
            for file in read_dir_sorted(&class.path())? {
                let path = file.path();
                if !is_image(&path) {
                    continue;
                }
                let meta = file.metadata().map_err(|cause| HoldoutError::Read {
                    path: path.clone(),
                    cause,
                })?;
                let mtime = meta
                    .modified()
                    .ok()
                    .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                    .map_or(0, |d| d.as_nanos());
                fingerprint.push_str(&format!(
                    "{name}/{}\t{}\t{mtime}\n",
                    file.file_name().to_string_lossy(),
                    meta.len()
                ));
                images.push((name.clone(), path));
            }
        }
        if images.is_empty() {
            return Err(HoldoutError::Empty {
                dir: dir.to_path_buf(),
            });
        }
        Ok(Holdout {
            dir: dir.to_path_buf(),
            key: to_hex(&sha256(fingerprint.as_bytes()))[..16].to_owned(),
            images,
        })
    }

    pub fn len(&self) -> usize {
        self.images.len()
    }

    pub fn is_empty(&self) -> bool {
        self.images.is_empty()
    }

    /// Top-1 accuracy of `model` (the bundle's, with the bundle's preprocessing and labels).
    pub fn score(&self, bundle: &Bundle, model: &Model) -> Result<Score, HoldoutError> {
        let manifest = bundle.manifest();
        let output = model
            .outputs()
            .iter()
            .position(|v| v.name == manifest.model.output)
            .ok_or_else(|| HoldoutError::NoOutput(manifest.model.output.clone()))?;
        let labels = bundle.labels();
        let mut correct = 0usize;
        let mut class_index: Option<(String, usize)> = None;
        for (class, path) in &self.images {
            let expected = match &class_index {
                Some((name, index)) if name == class => *index,
                _ => {
                    let index = labels.iter().position(|l| &l.name == class).ok_or_else(|| {
                        let names: Vec<&str> = labels.iter().take(8).map(|l| l.name.as_str()).collect();
                        let more = if labels.len() > 8 { ", …" } else { "" };
                        HoldoutError::UnknownClass {
                            class: class.clone(),
                            labels: format!("{}{more}", names.join(", ")),
                        }
                    })?;
                    class_index = Some((class.clone(), index));
                    index
                }
            };
            let image_err = |cause: String| HoldoutError::Image {
                path: path.clone(),
                cause,
            };
            let bytes = fs::read(path).map_err(|e| image_err(e.to_string()))?;
            let image = decode(&bytes, DecodeLimits::default()).map_err(|e| image_err(e.to_string()))?;
            let input = preprocess(&image, &manifest.preprocess).map_err(|e| image_err(e.to_string()))?;
            let scores = run_scores(model, input, output).map_err(|e| image_err(e.to_string()))?;
            let best = scores
                .iter()
                .enumerate()
                .max_by(|a, b| a.1.total_cmp(b.1))
                .map(|(i, _)| i);
            if best == Some(expected) {
                correct += 1;
            }
        }
        Ok(Score {
            top1: correct as f64 / self.images.len() as f64,
            images: self.images.len(),
        })
    }
}
