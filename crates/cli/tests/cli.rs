//! The `litecnn` binary, run as a user runs it: the committed fixture model, JSON contracts of
//! DESIGN §3, and one bad model file per class of failure.

mod common;

use common::{fixture, litecnn, stderr, temp_dir};

use litecnn_cli::npy;
use litecnn_engine::{DType, Dim};
use litecnn_onnx::builder;
use prost::Message;

/// Runs `litecnn run` on a committed fixture and compares with ONNX Runtime's saved output.
fn run_matches_expected(stem: &str) {
    let out_path = temp_dir(stem).join("out.npy");
    let model = fixture(&format!("{stem}.onnx"));
    let input = fixture(&format!("{stem}_input.npy"));
    let out = litecnn(&[
        "run",
        model.to_str().unwrap(),
        "--input",
        input.to_str().unwrap(),
        "--output",
        out_path.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let ours = npy::read_f32(&out_path).unwrap();
    let reference = npy::read_f32(&fixture(&format!("{stem}_expected.npy"))).unwrap();
    assert_eq!(ours.shape(), reference.shape());
    let scale = reference
        .as_f32()
        .unwrap()
        .iter()
        .fold(1f32, |m, v| m.max(v.abs()));
    for (a, b) in ours
        .as_f32()
        .unwrap()
        .iter()
        .zip(reference.as_f32().unwrap())
    {
        assert!((a - b).abs() <= 1e-4 * scale, "{stem}: {a} vs {b}");
    }
}

#[test]
fn run_reproduces_onnx_runtime_on_the_fixture() {
    run_matches_expected("tiny_cnn");
}

/// Warm runs write their outputs into buffers recycled from earlier intermediates (stale
/// data): every kernel must overwrite all of it, so a run gives the same bits as a cold model.
#[test]
fn warm_runs_give_the_same_bits_as_a_cold_model() {
    use litecnn_engine::{Model, Tensor};
    let graph = litecnn_onnx::load_file(&fixture("tiny_cnn.onnx")).unwrap();
    let input = |seed: u32| {
        let data = (0..3 * 64 * 64)
            .map(|i: u32| ((i.wrapping_mul(2_654_435_761) ^ seed) % 1000) as f32 / 250.0 - 2.0)
            .collect();
        Tensor::from_f32(vec![1, 3, 64, 64], data).unwrap()
    };
    for threads in [1, 2] {
        let cold = |seed| {
            let model = Model::new(graph.clone())
                .unwrap()
                .with_threads(threads)
                .unwrap();
            model.run(vec![input(seed)]).unwrap()
        };
        let warm = Model::new(graph.clone())
            .unwrap()
            .with_threads(threads)
            .unwrap();
        let runs: Vec<_> = [1, 2, 1, 3]
            .iter()
            .map(|&seed| warm.run(vec![input(seed)]).unwrap())
            .collect();
        assert_eq!(
            runs[0], runs[2],
            "{threads} threads: same input, same output"
        );
        assert_ne!(
            runs[0], runs[1],
            "different inputs must give different outputs"
        );
        assert_eq!(runs[1], cold(2), "{threads} threads");
        assert_eq!(runs[3], cold(3), "{threads} threads");
    }
}

#[test]
fn tensorflow_style_same_padding_folds_to_pad_and_conv() {
    run_matches_expected("same_pad");
    let model = fixture("same_pad.onnx");
    let out = litecnn(&["inspect", model.to_str().unwrap(), "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        v["ops"]["Shape"].as_u64().unwrap() > 0,
        "the file does carry shape arithmetic"
    );
    // The conv runs channels-last, reading the (padded) NCHW image itself, and converts its
    // output back at the graph's edge.
    assert_eq!(
        v["ops_after_folding"],
        serde_json::json!({"NhwcConv": 1, "Pad": 1, "ToNchw": 1})
    );
    assert_eq!(v["outputs"][0]["shape"], "[N,8,16,16]");
}

#[test]
fn bench_json_has_exactly_the_documented_fields() {
    let model = fixture("tiny_cnn.onnx");
    let out = litecnn(&[
        "bench",
        model.to_str().unwrap(),
        "--threads",
        "1",
        "--batch",
        "2",
        "--warmup",
        "1",
        "--iters",
        "3",
        "--json",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "batch", "iters", "mean_ms", "min_ms", "model", "p50_ms", "p90_ms", "threads"
        ]
    );
    assert_eq!(v["model"], model.to_str().unwrap());
    assert_eq!(
        (
            v["threads"].as_u64(),
            v["batch"].as_u64(),
            v["iters"].as_u64()
        ),
        (Some(1), Some(2), Some(3))
    );
    let (min, p50, p90) = (
        v["min_ms"].as_f64().unwrap(),
        v["p50_ms"].as_f64().unwrap(),
        v["p90_ms"].as_f64().unwrap(),
    );
    assert!(0.0 < min && min <= p50 && p50 <= p90, "{v}");
}

#[test]
fn bench_profile_accounts_for_every_node() {
    let model = fixture("tiny_cnn.onnx");
    let model = model.to_str().unwrap();
    let inspect = litecnn(&["inspect", model, "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&inspect.stdout).unwrap();
    let out = litecnn(&[
        "bench",
        model,
        "--threads",
        "1",
        "--warmup",
        "1",
        "--iters",
        "3",
        "--profile",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8(out.stdout).unwrap();
    let (by_op, by_node) = text
        .split_once("\n\n node ")
        .unwrap_or_else(|| panic!("no node table in:\n{text}"));
    // The per-op table counts the optimised graph's nodes, as `inspect` does.
    let ops = v["ops_after_folding"].as_object().unwrap();
    for (op, count) in ops {
        let row = by_op
            .lines()
            .find(|l| l.split_whitespace().next() == Some(op))
            .unwrap_or_else(|| panic!("no {op} row in:\n{text}"));
        assert_eq!(row.split_whitespace().nth(1), Some(&*count.to_string()));
    }
    let total = by_op.lines().find(|l| l.starts_with("total")).unwrap();
    let total: Vec<&str> = total.split_whitespace().collect();
    assert_eq!(total[1], v["nodes_after_folding"].to_string());
    assert!(total[2].parse::<f64>().unwrap() > 0.0, "{text}");
    // Every node is listed once (the fixture has fewer than the 25 listed), the conv rows
    // with their weight shapes (packed for NHWC: 16 × 3 × 3 × 3 in one panel).
    let rows: Vec<&str> = by_node.lines().skip(1).collect();
    assert_eq!(rows.len().to_string(), v["nodes_after_folding"].to_string());
    assert!(
        rows.iter()
            .any(|r| r.contains("NhwcConv") && r.contains("[432]")),
        "{text}"
    );
}

#[test]
fn inspect_reports_io_parameters_and_ops() {
    let model = fixture("tiny_cnn.onnx");
    let out = litecnn(&["inspect", model.to_str().unwrap(), "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["inputs"][0]["shape"], "[N,3,64,64]");
    assert_eq!(v["outputs"][0]["shape"], "[N,10]");
    assert!(v["parameters"].as_u64().unwrap() > 1000);
    assert!(v["macs"].as_u64().unwrap() > 1_000_000);
    assert!(v["ops"]["Conv"].as_u64().unwrap() >= 3, "{v}");
    assert_eq!(v["unsupported_ops"], serde_json::json!([]));
    assert!(v["nodes_after_folding"].as_u64().unwrap() >= 5);
    // The first convolution's output alone is several 64×64 float planes; the whole net's
    // intermediates are far below a megabyte.
    let activations = v["activation_bytes"].as_u64().unwrap();
    assert!((4 * 64 * 64 * 4..1_000_000).contains(&activations), "{v}");
}

/// A one-node model `y = op(x)` with optional initializers, serialized.
fn model_bytes(
    op: &str,
    inputs: &[&str],
    initializers: Vec<litecnn_onnx::proto::TensorProto>,
) -> Vec<u8> {
    let x = builder::value_info("x", DType::F32, &[Dim::Known(1), Dim::Known(4)]);
    let y = builder::value_info("y", DType::F32, &[Dim::Known(1), Dim::Known(4)]);
    let mut node = builder::node(op, inputs, &["y"], vec![]);
    node.name = Some("the_node".into());
    let graph = builder::graph(vec![node], vec![x], vec![y], initializers);
    builder::model(17, graph).encode_to_vec()
}

fn fails_with(bytes: &[u8], tag: &str, expected: &[&str]) {
    let path = temp_dir(tag).join("bad.onnx");
    std::fs::write(&path, bytes).unwrap();
    let out = litecnn(&["inspect", path.to_str().unwrap()]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.starts_with("error: "), "{err}");
    for needle in expected {
        assert!(err.contains(needle), "{tag}: {needle:?} not in {err}");
    }
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn truncated_model_is_refused() {
    let bytes = std::fs::read(fixture("tiny_cnn.onnx")).unwrap();
    fails_with(
        &bytes[..bytes.len() / 2],
        "truncated",
        &["bad.onnx", "decode"],
    );
}

#[test]
fn file_that_is_not_onnx_is_refused() {
    fails_with(
        b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR",
        "magic",
        &["bad.onnx", "not an ONNX model"],
    );
}

#[test]
fn unsupported_op_is_named_with_its_node() {
    fails_with(
        &model_bytes("NonMaxSuppression", &["x"], vec![]),
        "unsupported",
        &["the_node", "NonMaxSuppression"],
    );
}

#[test]
fn inspect_lists_every_unsupported_op_of_a_model_that_cannot_load() {
    let path = temp_dir("census").join("m.onnx");
    std::fs::write(&path, model_bytes("NonMaxSuppression", &["x"], vec![])).unwrap();
    let out = litecnn(&["inspect", path.to_str().unwrap(), "--json"]);
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        v["unsupported_ops"],
        serde_json::json!(["NonMaxSuppression"])
    );
    assert!(stderr(&out).contains("the_node"), "{}", stderr(&out));
}

#[test]
fn missing_initializer_is_named() {
    fails_with(
        &model_bytes("Add", &["x", "bias"], vec![]),
        "missing",
        &["the_node", "\"bias\""],
    );
}

#[test]
fn input_of_the_wrong_shape_is_refused_by_name() {
    let dir = temp_dir("shape");
    std::fs::write(
        dir.join("x.npy"),
        npy::encode_f32(&[1, 3, 32, 32], &vec![0.0; 3 * 32 * 32]),
    )
    .unwrap();
    let model = fixture("tiny_cnn.onnx");
    let out = litecnn(&[
        "run",
        model.to_str().unwrap(),
        "--input",
        dir.join("x.npy").to_str().unwrap(),
        "--output",
        dir.join("y.npy").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("input \"input\": expected shape [N,3,64,64]"),
        "{}",
        stderr(&out)
    );
    assert!(!dir.join("y.npy").exists());
}
