//! Writing bundle parts from Rust: for tests, fixtures and tools that assemble a bundle here
//! (the Python publisher is the main writer). What this writes, [`crate::Bundle::open`] reads.

use std::fs;
use std::io;
use std::path::Path;

use litecnn_engine::Tensor;
use safetensors::{Dtype, tensor::TensorView};

use crate::checksums::{SIGNATURE_FILE, SUMS_FILE};
use crate::digest::{Digest, sha256_file, to_hex};
use crate::manifest::{MANIFEST_FILE, Manifest};

/// Writes `SHA256SUMS` for every regular file in `dir` (sorted by name, `sha256sum` text
/// format) and returns the new bundle digest. Call it last, after every other file.
pub fn write_checksums(dir: &Path) -> io::Result<Digest> {
    let mut names = Vec::new();
    for item in fs::read_dir(dir)? {
        let item = item?;
        let name = item.file_name().to_string_lossy().into_owned();
        if item.file_type()?.is_file() && name != SUMS_FILE && name != SIGNATURE_FILE {
            names.push(name);
        }
    }
    names.sort();
    let mut text = String::new();
    for name in names {
        let hex = to_hex(&sha256_file(&dir.join(&name))?);
        text.push_str(&format!("{hex}  {name}\n"));
    }
    fs::write(dir.join(SUMS_FILE), &text)?;
    Ok(Digest::of(text.as_bytes()))
}

/// Writes `litecnn.json`, pretty-printed.
pub fn write_manifest(dir: &Path, manifest: &Manifest) -> io::Result<()> {
    let mut text = serde_json::to_string_pretty(manifest).map_err(io::Error::other)?;
    text.push('\n');
    fs::write(dir.join(MANIFEST_FILE), text)
}

/// Writes a golden file holding float32 tensors `input` and `output`.
pub fn write_golden(path: &Path, input: &Tensor, output: &Tensor) -> io::Result<()> {
    fs::write(path, golden_bytes(input, output)?)
}

/// The safetensors encoding of the two golden tensors.
pub fn golden_bytes(input: &Tensor, output: &Tensor) -> io::Result<Vec<u8>> {
    let input_bytes = le_bytes(input)?;
    let output_bytes = le_bytes(output)?;
    let views = [
        ("input", view(input, &input_bytes)?),
        ("output", view(output, &output_bytes)?),
    ];
    safetensors::serialize(views, None).map_err(io::Error::other)
}

fn le_bytes(t: &Tensor) -> io::Result<Vec<u8>> {
    let data = t.as_f32().ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            "golden tensors must be float32",
        )
    })?;
    Ok(data.iter().flat_map(|v| v.to_le_bytes()).collect())
}

fn view<'a>(t: &Tensor, bytes: &'a [u8]) -> io::Result<TensorView<'a>> {
    TensorView::new(Dtype::F32, t.shape().to_vec(), bytes).map_err(io::Error::other)
}
