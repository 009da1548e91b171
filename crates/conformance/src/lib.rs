//! Runs ONNX backend node tests (`<dir>/<test>/model.onnx` with `test_data_set_*/input_*.pb` and
//! `output_*.pb`) on the litecnn engine. The test binary `tests/node_tests.rs` drives it from the
//! allow-list `node-tests.txt`.

use std::fs;
use std::path::{Path, PathBuf};

use litecnn_engine::{Model, Tensor, TensorData};

/// Default tolerances of the ONNX backend test runner.
const RTOL: f32 = 1e-3;
const ATOL: f32 = 1e-7;

/// The test directories of the wheel, searched in this order.
pub const SUITES: [&str; 3] = ["node", "pytorch-converted", "pytorch-operator"];

/// Finds `name` in the suites under `root` (the wheel's `onnx/backend/test/data`).
pub fn find_test(root: &Path, name: &str) -> Option<PathBuf> {
    SUITES
        .iter()
        .map(|suite| root.join(suite).join(name))
        .find(|dir| dir.join("model.onnx").is_file())
}

/// Runs every data set of one test; `Err` says what differed.
pub fn run_test(dir: &Path) -> Result<(), String> {
    let graph =
        litecnn_onnx::load_file(&dir.join("model.onnx")).map_err(|e| format!("load: {e}"))?;
    let model = Model::new(graph).map_err(|e| format!("prepare: {e}"))?;
    let mut sets: Vec<PathBuf> = fs::read_dir(dir)
        .map_err(|e| e.to_string())?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    sets.sort();
    if sets.is_empty() {
        return Err("no test_data_set_* directory".into());
    }
    for set in sets {
        let inputs = read_tensors(&set, "input")?;
        let expected = read_tensors(&set, "output")?;
        let actual = model.run(inputs).map_err(|e| format!("run: {e}"))?;
        compare_all(&actual, &expected).map_err(|e| format!("{}: {e}", set.display()))?;
    }
    Ok(())
}

fn read_tensors(set: &Path, prefix: &str) -> Result<Vec<Tensor>, String> {
    let mut out = Vec::new();
    for i in 0.. {
        let path = set.join(format!("{prefix}_{i}.pb"));
        if !path.is_file() {
            break;
        }
        let bytes = fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let t =
            litecnn_onnx::read_tensor_pb(&bytes).map_err(|e| format!("{}: {e}", path.display()))?;
        out.push(t);
    }
    Ok(out)
}

fn compare_all(actual: &[Tensor], expected: &[Tensor]) -> Result<(), String> {
    if actual.len() != expected.len() {
        return Err(format!(
            "{} outputs, expected {}",
            actual.len(),
            expected.len()
        ));
    }
    for (i, (a, e)) in actual.iter().zip(expected).enumerate() {
        compare(a, e).map_err(|m| format!("output {i}: {m}"))?;
    }
    Ok(())
}

/// Elementwise `|a − e| ≤ atol + rtol·|e|`, NaN equal to NaN, exact for integers.
pub fn compare(actual: &Tensor, expected: &Tensor) -> Result<(), String> {
    if actual.shape() != expected.shape() {
        return Err(format!(
            "shape {:?}, expected {:?}",
            actual.shape(),
            expected.shape()
        ));
    }
    match (actual.data(), expected.data()) {
        (TensorData::F32(a), TensorData::F32(e)) => {
            for (i, (&x, &y)) in a.iter().zip(e).enumerate() {
                let close =
                    (x.is_nan() && y.is_nan()) || x == y || (x - y).abs() <= ATOL + RTOL * y.abs();
                if !close {
                    return Err(format!("element {i}: {x}, expected {y}"));
                }
            }
            Ok(())
        }
        (TensorData::I64(a), TensorData::I64(e)) if a == e => Ok(()),
        (TensorData::I64(_), TensorData::I64(_)) => Err("int64 values differ".into()),
        _ => Err(format!(
            "type {}, expected {}",
            actual.dtype(),
            expected.dtype()
        )),
    }
}
