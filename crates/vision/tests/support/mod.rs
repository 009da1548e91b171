//! Helpers shared by the integration tests: a tiny JPEG writer, a reader for NumPy's `.npy`
//! files and the reference Python interpreter.
#![allow(dead_code)] // each test binary uses a different subset

pub mod jpeg;
pub mod npy;
pub mod python;
