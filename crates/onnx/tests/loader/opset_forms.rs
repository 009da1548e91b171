//! Operands that older opsets gave as attributes must load to the same IR as the input forms
//! of newer opsets: the engine sees one form only.

use litecnn_engine::Op;
use litecnn_onnx::builder::{
    attr_float, attr_int, attr_ints, attr_string, node, tensor_f32, tensor_i64,
};
use litecnn_onnx::load_bytes;
use litecnn_onnx::proto::{NodeProto, TensorProto};

use crate::fixtures::{bytes, canonical, single};

/// Loads the old and new forms and requires identical canonical IR.
fn same_ir(old: (i64, NodeProto), new: (i64, NodeProto, Vec<TensorProto>)) {
    let old_name = old.1.op_type.clone().unwrap_or_default();
    let a = load_bytes(&bytes(&single(old.0, old.1, vec![])))
        .unwrap_or_else(|e| panic!("old {old_name}: {e}"));
    let b = load_bytes(&bytes(&single(new.0, new.1, new.2)))
        .unwrap_or_else(|e| panic!("new {old_name}: {e}"));
    assert_eq!(
        canonical(&a),
        canonical(&b),
        "{old_name} at opset {} vs {}",
        old.0,
        new.0
    );
}

#[test]
fn clip_6_bounds() {
    let old = node(
        "Clip",
        &["x"],
        &["y"],
        vec![attr_float("min", 0.0), attr_float("max", 6.0)],
    );
    let new = node("Clip", &["x", "lo", "hi"], &["y"], vec![]);
    let inits = vec![tensor_f32("lo", &[], &[0.0]), tensor_f32("hi", &[], &[6.0])];
    same_ir((10, old), (13, new, inits));
}

#[test]
fn clip_6_with_only_max() {
    let old = node("Clip", &["x"], &["y"], vec![attr_float("max", 6.0)]);
    let new = node("Clip", &["x", "", "hi"], &["y"], vec![]);
    same_ir((7, old), (13, new, vec![tensor_f32("hi", &[], &[6.0])]));
}

#[test]
fn pad_2_pads_value_mode() {
    for mode in ["constant", "reflect", "edge"] {
        let pads = [0, 0, 1, 1, 0, 0, 1, 1];
        let old = node(
            "Pad",
            &["x"],
            &["y"],
            vec![
                attr_ints("pads", &pads),
                attr_float("value", 0.5),
                attr_string("mode", mode),
            ],
        );
        let new = node(
            "Pad",
            &["x", "p", "v"],
            &["y"],
            vec![attr_string("mode", mode)],
        );
        let inits = vec![tensor_i64("p", &[8], &pads), tensor_f32("v", &[], &[0.5])];
        same_ir((10, old), (13, new, inits));
    }
}

#[test]
fn slice_1_starts_ends_axes() {
    let attrs = vec![
        attr_ints("starts", &[1, 0]),
        attr_ints("ends", &[3, 2]),
        attr_ints("axes", &[2, 3]),
    ];
    let old = node("Slice", &["x"], &["y"], attrs);
    let new = node("Slice", &["x", "s", "e", "a"], &["y"], vec![]);
    let inits = vec![
        tensor_i64("s", &[2], &[1, 0]),
        tensor_i64("e", &[2], &[3, 2]),
        tensor_i64("a", &[2], &[2, 3]),
    ];
    same_ir((9, old), (13, new, inits));
}

#[test]
fn split_11_sizes_and_18_num_outputs() {
    let old = node(
        "Split",
        &["x"],
        &["y0", "y1"],
        vec![attr_int("axis", 1), attr_ints("split", &[1, 2])],
    );
    let new = node(
        "Split",
        &["x", "sizes"],
        &["y0", "y1"],
        vec![attr_int("axis", 1)],
    );
    same_ir(
        (11, old),
        (13, new, vec![tensor_i64("sizes", &[2], &[1, 2])]),
    );

    let equal_13 = node("Split", &["x"], &["y0", "y1"], vec![attr_int("axis", 1)]);
    let equal_18 = node(
        "Split",
        &["x"],
        &["y0", "y1"],
        vec![attr_int("axis", 1), attr_int("num_outputs", 2)],
    );
    same_ir((13, equal_13), (18, equal_18, vec![]));
}

#[test]
fn squeeze_and_unsqueeze_11_axes() {
    let old = node("Squeeze", &["x"], &["y"], vec![attr_ints("axes", &[0])]);
    let new = node("Squeeze", &["x", "a"], &["y"], vec![]);
    same_ir((11, old), (13, new, vec![tensor_i64("a", &[1], &[0])]));

    let old = node("Squeeze", &["x"], &["y"], vec![]);
    let new = node("Squeeze", &["x"], &["y"], vec![]);
    same_ir((11, old), (13, new, vec![]));

    let old = node(
        "Unsqueeze",
        &["x"],
        &["y"],
        vec![attr_ints("axes", &[0, 4])],
    );
    let new = node("Unsqueeze", &["x", "a"], &["y"], vec![]);
    same_ir((12, old), (21, new, vec![tensor_i64("a", &[2], &[0, 4])]));
}

#[test]
fn reduce_mean_13_axes() {
    let old = node(
        "ReduceMean",
        &["x"],
        &["y"],
        vec![attr_ints("axes", &[2, 3]), attr_int("keepdims", 0)],
    );
    let new = node(
        "ReduceMean",
        &["x", "a"],
        &["y"],
        vec![attr_int("keepdims", 0)],
    );
    same_ir((13, old), (18, new, vec![tensor_i64("a", &[2], &[2, 3])]));

    let old = node("ReduceMean", &["x"], &["y"], vec![]);
    let new = node(
        "ReduceMean",
        &["x"],
        &["y"],
        vec![attr_int("noop_with_empty_axes", 0)],
    );
    same_ir((13, old), (18, new, vec![]));
}

#[test]
fn softmax_11_is_the_coerced_2d_form() {
    let load = |opset| {
        let g = load_bytes(&bytes(&single(
            opset,
            node("Softmax", &["x"], &["y"], vec![]),
            vec![],
        )))
        .unwrap();
        g.nodes[0].op.clone()
    };
    assert_eq!(
        load(11),
        Op::Softmax {
            axis: 1,
            coerce_2d: true
        }
    );
    assert_eq!(
        load(13),
        Op::Softmax {
            axis: -1,
            coerce_2d: false
        }
    );
}
