//! Small models shared by the tests, and a canonical view of a loaded graph for comparisons.

use std::sync::Arc;

use litecnn_engine::{DType, Dim, Graph, Op, Tensor};
use litecnn_onnx::builder::{
    attr_float, attr_int, attr_ints, graph, model, named, node, tensor_f32, tensor_i64, value_info,
};
use litecnn_onnx::proto::{ModelProto, NodeProto, TensorProto};
use prost::Message;

pub fn sym(s: &str) -> Dim {
    Dim::Symbol(Arc::from(s))
}

/// `x: f32[N, 3, 8, 8]`.
pub fn image_input() -> litecnn_onnx::proto::ValueInfoProto {
    value_info(
        "x",
        DType::F32,
        &[sym("N"), Dim::Known(3), Dim::Known(8), Dim::Known(8)],
    )
}

pub fn f32_output(name: &str) -> litecnn_onnx::proto::ValueInfoProto {
    value_info(name, DType::F32, &[])
}

/// Conv(3→4, 3x3, pad 1) + Relu with weight and bias initializers.
pub fn conv_relu() -> ModelProto {
    let w: Vec<f32> = (0..4 * 3 * 3 * 3).map(|i| i as f32 * 0.01).collect();
    let conv = named(
        "conv",
        node(
            "Conv",
            &["x", "w", "b"],
            &["c"],
            vec![
                attr_ints("kernel_shape", &[3, 3]),
                attr_ints("pads", &[1, 1, 1, 1]),
            ],
        ),
    );
    let relu = named("relu", node("Relu", &["c"], &["y"], vec![]));
    let inits = vec![
        tensor_f32("w", &[4, 3, 3, 3], &w),
        tensor_f32("b", &[4], &[0.1, 0.2, 0.3, 0.4]),
    ];
    model(
        13,
        graph(
            vec![conv, relu],
            vec![image_input()],
            vec![f32_output("y")],
            inits,
        ),
    )
}

/// A model touching many op families and encodings, so corruption hits varied code paths.
pub fn varied() -> ModelProto {
    let nodes = vec![
        node("Conv", &["x", "w"], &["c"], vec![attr_int("group", 1)]),
        node(
            "BatchNormalization",
            &["c", "s", "bias", "m", "v"],
            &["bn"],
            vec![attr_float("epsilon", 1e-3)],
        ),
        node("Clip", &["bn", "lo", "hi"], &["cl"], vec![]),
        node(
            "MaxPool",
            &["cl"],
            &["mp"],
            vec![
                attr_ints("kernel_shape", &[2, 2]),
                attr_ints("strides", &[2, 2]),
            ],
        ),
        node("Shape", &["mp"], &["shp"], vec![]),
        node(
            "Gather",
            &["shp", "zero"],
            &["n"],
            vec![attr_int("axis", 0)],
        ),
        node("Unsqueeze", &["n", "axes0"], &["n1"], vec![]),
        node(
            "Concat",
            &["n1", "minus1"],
            &["newshape"],
            vec![attr_int("axis", 0)],
        ),
        node("Reshape", &["mp", "newshape"], &["flat"], vec![]),
        node(
            "Gemm",
            &["flat", "fc"],
            &["logits"],
            vec![attr_int("transB", 1)],
        ),
        node("Softmax", &["logits"], &["y"], vec![attr_int("axis", -1)]),
    ];
    let mut raw_w = tensor_f32("w", &[2, 3, 1, 1], &[]);
    raw_w.raw_data = Some(
        [0.5f32, -1.0, 2.0, 1.0, 0.0, -0.5]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect(),
    );
    let inits: Vec<TensorProto> = vec![
        raw_w,
        tensor_f32("s", &[2], &[1.0, 1.0]),
        tensor_f32("bias", &[2], &[0.0, 0.1]),
        tensor_f32("m", &[2], &[0.0, 0.0]),
        tensor_f32("v", &[2], &[1.0, 1.0]),
        tensor_f32("lo", &[], &[0.0]),
        tensor_f32("hi", &[], &[6.0]),
        tensor_i64("zero", &[], &[0]),
        tensor_i64("axes0", &[1], &[0]),
        tensor_i64("minus1", &[1], &[-1]),
        tensor_f32("fc", &[5, 32], &[0.25; 160]),
    ];
    model(
        13,
        graph(nodes, vec![image_input()], vec![f32_output("y")], inits),
    )
}

pub fn bytes(m: &ModelProto) -> Vec<u8> {
    m.encode_to_vec()
}

/// A one-node model at `opset`: inputs named in `inputs` that are not `x` come from `inits`.
pub fn single(opset: i64, n: NodeProto, inits: Vec<TensorProto>) -> ModelProto {
    let outputs = n
        .output
        .iter()
        .filter(|o| !o.is_empty())
        .map(|o| f32_output(o))
        .collect();
    model(opset, graph(vec![n], vec![image_input()], outputs, inits))
}

/// An operand as the tests compare it: constants by value, other values by name.
#[derive(Debug, PartialEq)]
pub enum Canon {
    Const(Tensor),
    Value(String),
    Absent,
}

/// Each node as (op, operands, output names), independent of value numbering and of how
/// constants were named.
pub fn canonical(g: &Graph) -> Vec<(Op, Vec<Canon>, Vec<String>)> {
    let operand = |id: Option<litecnn_engine::ValueId>| match id {
        None => Canon::Absent,
        Some(id) => match g.constant(id) {
            Some(t) => Canon::Const((**t).clone()),
            None => Canon::Value(g.value(id).name.clone()),
        },
    };
    g.nodes
        .iter()
        .map(|n| {
            let ins = n.inputs.iter().map(|&i| operand(i)).collect();
            let outs = n.outputs.iter().map(|&o| g.value(o).name.clone()).collect();
            (n.op.clone(), ins, outs)
        })
        .collect()
}
