//! Integration tests of the ONNX loader, on models built in Rust with the prost types: what the
//! IR looks like (`translate`), that old-opset forms normalise to the new ones (`opset_forms`,
//! and `legacy_forms` for opsets 1 to 6), that each class of bad file gets a precise error
//! (`bad_files`), and that corrupted files never panic (`robustness`).

mod bad_files;
mod fixtures;
mod legacy_forms;
mod opset_forms;
mod robustness;
mod translate;
