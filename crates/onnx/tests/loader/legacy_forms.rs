//! Opsets 1 to 6 gave some ops other attributes or another broadcasting rule. Each old form
//! must load to the IR of its equivalent in a newer opset, and the forms that cannot be
//! expressed without an extra node must be refused with a precise error.

use litecnn_engine::{DType, Dim};
use litecnn_onnx::builder::{
    attr_float, attr_int, attr_ints, attr_string, graph, model, node, tensor_f32, tensor_i64,
    value_info,
};
use litecnn_onnx::proto::{AttributeProto, ModelProto, NodeProto, TensorProto, ValueInfoProto};
use litecnn_onnx::{ErrorKind, load_bytes};

use crate::fixtures::{Canon, bytes, canonical, f32_output, image_input, single};

/// Loads both one-node models (over `x: f32[N, 3, 8, 8]`) and requires identical IR.
fn same_ir(old: (i64, NodeProto, Vec<TensorProto>), new: (i64, NodeProto, Vec<TensorProto>)) {
    let what = format!(
        "{} at opset {} vs {}",
        old.1.op_type.clone().unwrap_or_default(),
        old.0,
        new.0
    );
    same_models(
        &single(old.0, old.1, old.2),
        &single(new.0, new.1, new.2),
        &what,
    );
}

fn same_models(old: &ModelProto, new: &ModelProto, what: &str) {
    let a = load_bytes(&bytes(old)).unwrap_or_else(|e| panic!("old {what}: {e}"));
    let b = load_bytes(&bytes(new)).unwrap_or_else(|e| panic!("new {what}: {e}"));
    assert_eq!(canonical(&a), canonical(&b), "{what}");
}

fn ramp(name: &str, dims: &[i64]) -> TensorProto {
    let n = dims.iter().product::<i64>();
    let data: Vec<f32> = (0..n).map(|v| v as f32 * 0.5 - 1.0).collect();
    tensor_f32(name, dims, &data)
}

fn legacy_broadcast(axis: i64) -> Vec<AttributeProto> {
    vec![attr_int("broadcast", 1), attr_int("axis", axis)]
}

#[test]
fn broadcast_with_axis_reshapes_a_constant_b() {
    for op in ["Add", "Sub", "Mul", "Div"] {
        // x is [N, 3, 8, 8]: B = [3] at axis 1 becomes [3, 1, 1].
        let old = node(op, &["x", "b"], &["y"], legacy_broadcast(1));
        let new = node(op, &["x", "b"], &["y"], vec![]);
        same_ir(
            (6, old, vec![ramp("b", &[3])]),
            (7, new, vec![ramp("b", &[3, 1, 1])]),
        );
    }
}

#[test]
fn broadcast_on_trailing_dims_or_without_axis_is_numpy_broadcasting() {
    let trailing = node("Mul", &["x", "b"], &["y"], legacy_broadcast(2));
    let suffix = node("Mul", &["x", "b"], &["y"], vec![attr_int("broadcast", 1)]);
    let new = || node("Mul", &["x", "b"], &["y"], vec![]);
    same_ir(
        (6, trailing, vec![ramp("b", &[8, 8])]),
        (7, new(), vec![ramp("b", &[8, 8])]),
    );
    same_ir(
        (1, suffix, vec![ramp("b", &[8])]),
        (7, new(), vec![ramp("b", &[8])]),
    );
}

/// A is a Conv output, whose rank the importer learns from shape inference.
#[test]
fn broadcast_with_axis_after_a_node_uses_the_inferred_rank() {
    let model_at = |opset: i64, add: NodeProto, b: TensorProto| {
        let nodes = vec![node("Conv", &["x", "w"], &["c"], vec![]), add];
        let inits = vec![ramp("w", &[4, 3, 3, 3]), b];
        model(
            opset,
            graph(nodes, vec![image_input()], vec![f32_output("y")], inits),
        )
    };
    let old = model_at(
        6,
        node("Add", &["c", "b"], &["y"], legacy_broadcast(1)),
        ramp("b", &[4]),
    );
    let new = model_at(
        7,
        node("Add", &["c", "b"], &["y"], vec![]),
        ramp("b", &[4, 1, 1]),
    );
    same_models(&old, &new, "Conv + Add(axis=1)");
}

#[test]
fn broadcast_with_axis_on_a_runtime_b_is_refused() {
    let add = node("Add", &["x", "b"], &["y"], legacy_broadcast(1));
    let b = value_info("b", DType::F32, &[Dim::Known(3)]);
    let m = model(
        6,
        graph(
            vec![add],
            vec![image_input(), b],
            vec![f32_output("y")],
            vec![],
        ),
    );
    let e = load_bytes(&bytes(&m)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::UnsupportedAttribute);
    assert_eq!(
        e.to_string(),
        "node #0 (Add): legacy broadcasting with axis=1 needs B reshaped to rank 3, \
         which litecnn does only for a constant B"
    );
}

#[test]
fn prelu_6_slope_is_per_channel() {
    let old = node("PRelu", &["x", "s"], &["y"], vec![]);
    let new = node("PRelu", &["x", "s"], &["y"], vec![]);
    same_ir(
        (6, old, vec![ramp("s", &[3])]),
        (7, new, vec![ramp("s", &[3, 1, 1])]),
    );
    let shared = || node("PRelu", &["x", "s"], &["y"], vec![]);
    same_ir(
        (6, shared(), vec![ramp("s", &[1])]),
        (7, shared(), vec![ramp("s", &[1])]),
    );
}

#[test]
fn prelu_6_slope_of_unknown_shape_is_refused() {
    let prelu = node("PRelu", &["x", "s"], &["y"], vec![]);
    // A graph input that declares no type at all.
    let s_unshaped = ValueInfoProto {
        name: Some("s".into()),
        ..Default::default()
    };
    let m = model(
        6,
        graph(
            vec![prelu],
            vec![image_input(), s_unshaped],
            vec![f32_output("y")],
            vec![],
        ),
    );
    let e = load_bytes(&bytes(&m)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::UnsupportedFeature);
    assert!(e.message().contains("slope"), "{e}");
}

#[test]
fn reshape_4_shape_attribute() {
    let old = node(
        "Reshape",
        &["x"],
        &["y"],
        vec![attr_ints("shape", &[0, -1])],
    );
    let new = node("Reshape", &["x", "s"], &["y"], vec![]);
    let shape = tensor_i64("s", &[2], &[0, -1]);
    same_ir((4, old, vec![]), (5, new, vec![shape]));
}

#[test]
fn pad_1_paddings() {
    let pads = [0, 0, 1, 2, 0, 0, 3, 4];
    let attrs = |name: &str| {
        vec![
            attr_ints(name, &pads),
            attr_string("mode", "edge"),
            attr_float("value", 0.0),
        ]
    };
    let old = node("Pad", &["x"], &["y"], attrs("paddings"));
    let new = node("Pad", &["x"], &["y"], attrs("pads"));
    same_ir((1, old, vec![]), (2, new, vec![]));
    let wrong = node("Pad", &["x"], &["y"], attrs("pads"));
    let e = load_bytes(&bytes(&single(1, wrong, vec![]))).unwrap_err();
    assert!(e.message().contains("paddings"), "{e}");
}

#[test]
fn concat_3_axis_defaults_to_1() {
    let old = node("Concat", &["x", "x"], &["y"], vec![]);
    let new = node("Concat", &["x", "x"], &["y"], vec![attr_int("axis", 1)]);
    same_ir((3, old, vec![]), (4, new, vec![]));
    let missing = node("Concat", &["x", "x"], &["y"], vec![]);
    let e = load_bytes(&bytes(&single(4, missing, vec![]))).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Malformed);
}

#[test]
fn consumed_inputs_is_accepted_and_ignored() {
    let consumed = |n: usize| attr_ints("consumed_inputs", &vec![0; n]);
    let relu_5 = node("Relu", &["x"], &["y"], vec![consumed(1)]);
    let relu_6 = node("Relu", &["x"], &["y"], vec![]);
    same_ir((5, relu_5, vec![]), (6, relu_6, vec![]));

    let add_5 = node("Add", &["x", "x"], &["y"], vec![consumed(2)]);
    let add_7 = node("Add", &["x", "x"], &["y"], vec![]);
    same_ir((5, add_5, vec![]), (7, add_7, vec![]));

    let bn_inputs = ["x", "s", "b", "m", "v"];
    let bn_inits = || ["s", "b", "m", "v"].map(|n| ramp(n, &[3])).to_vec();
    let bn_5 = node(
        "BatchNormalization",
        &bn_inputs,
        &["y"],
        vec![consumed(5), attr_int("is_test", 1)],
    );
    let bn_7 = node("BatchNormalization", &bn_inputs, &["y"], vec![]);
    same_ir((5, bn_5, bn_inits()), (7, bn_7, bn_inits()));

    // Opset 6 removed it: there it is an unknown attribute again.
    let relu_6 = node("Relu", &["x"], &["y"], vec![consumed(1)]);
    let e = load_bytes(&bytes(&single(6, relu_6, vec![]))).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::UnsupportedAttribute);
}

#[test]
fn is_test_selects_inference_before_opset_7() {
    let dropout_6 = node("Dropout", &["x"], &["y"], vec![attr_int("is_test", 1)]);
    let dropout_7 = node("Dropout", &["x"], &["y"], vec![]);
    same_ir((6, dropout_6, vec![]), (7, dropout_7, vec![]));
    let training = node("Dropout", &["x"], &["y"], vec![attr_int("is_test", 0)]);
    let e = load_bytes(&bytes(&single(6, training, vec![]))).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::UnsupportedAttribute);
    assert!(e.message().contains("is_test=0"), "{e}");
}

#[test]
fn gemm_6_broadcast_and_cast_5_type_name() {
    let inputs = ["x", "w", "c"];
    let inits = || vec![ramp("w", &[8, 4]), ramp("c", &[4])];
    let gemm_6 = node("Gemm", &inputs, &["y"], vec![attr_int("broadcast", 1)]);
    let gemm_7 = node("Gemm", &inputs, &["y"], vec![]);
    same_ir((6, gemm_6, inits()), (7, gemm_7, inits()));

    let cast_5 = node("Cast", &["x"], &["y"], vec![attr_string("to", "INT64")]);
    let cast_6 = node("Cast", &["x"], &["y"], vec![attr_int("to", 7)]);
    same_ir((5, cast_5, vec![]), (6, cast_6, vec![]));
}

#[test]
fn split_1_sizes_as_input() {
    let old = node(
        "Split",
        &["x", "sizes"],
        &["a", "b"],
        vec![attr_int("axis", 1)],
    );
    let sizes = || tensor_i64("sizes", &[2], &[1, 2]);
    let new = node(
        "Split",
        &["x", "sizes"],
        &["a", "b"],
        vec![attr_int("axis", 1)],
    );
    same_ir((1, old, vec![sizes()]), (13, new, vec![sizes()]));
}

#[test]
fn used_max_pool_indices_are_a_second_output() {
    let pool = node(
        "MaxPool",
        &["x"],
        &["y", "i"],
        vec![attr_ints("kernel_shape", &[2, 2])],
    );
    let g = load_bytes(&bytes(&single(12, pool, vec![]))).unwrap();
    let c = canonical(&g);
    assert_eq!(c[0].2, ["y", "i"]);
    assert_eq!(c[0].1, vec![Canon::Value("x".into())]);
    // Unused, they are not computed.
    let mut m = single(
        12,
        node(
            "MaxPool",
            &["x"],
            &["y", "i"],
            vec![attr_ints("kernel_shape", &[2, 2])],
        ),
        vec![],
    );
    m.graph.as_mut().unwrap().output.truncate(1);
    let g = load_bytes(&bytes(&m)).unwrap();
    assert_eq!(canonical(&g)[0].2, ["y"]);
}
