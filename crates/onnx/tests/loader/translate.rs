//! The IR the loader produces for valid models: values, constants, node order and names.

use litecnn_engine::ir::{AutoPad, ConvAttrs, UnaryOp, Window};
use litecnn_engine::{DType, Dim, Op, Tensor};
use litecnn_onnx::builder::{attr_float, attr_tensor, graph, model, node, tensor_f32, value_info};
use litecnn_onnx::{load_bytes, load_bytes_with_info};

use crate::fixtures::{Canon, bytes, canonical, conv_relu, f32_output, image_input, sym, varied};

#[test]
fn conv_relu_becomes_two_nodes_over_constants() {
    let (g, info) = load_bytes_with_info(&bytes(&conv_relu())).unwrap();
    assert_eq!((info.opset, info.ir_version), (13, 8));
    assert_eq!(g.nodes.len(), 2);
    let conv = &g.nodes[0];
    assert_eq!(conv.name, "conv");
    let want = Op::Conv(ConvAttrs {
        window: Window {
            kernel_shape: Some(vec![3, 3]),
            strides: vec![],
            dilations: vec![],
            pads: vec![1, 1, 1, 1],
            auto_pad: AutoPad::NotSet,
        },
        group: 1,
    });
    assert_eq!(conv.op, want);
    let w = g.constant(conv.inputs[1].unwrap()).unwrap();
    assert_eq!(w.shape(), &[4, 3, 3, 3]);
    assert_eq!(g.nodes[1].op, Op::Unary(UnaryOp::Relu));
    assert_eq!(g.nodes[1].inputs, vec![Some(conv.outputs[0])]);
    assert_eq!(g.constants.len(), 2);
}

#[test]
fn graph_inputs_and_outputs_carry_declared_types() {
    let g = load_bytes(&bytes(&conv_relu())).unwrap();
    assert_eq!(g.inputs.len(), 1);
    let x = g.value(g.inputs[0]);
    assert_eq!(x.name, "x");
    assert_eq!(x.dtype, Some(DType::F32));
    let shape = vec![sym("N"), Dim::Known(3), Dim::Known(8), Dim::Known(8)];
    assert_eq!(x.shape, Some(shape));
    let y = g.value(g.outputs[0]);
    assert_eq!((y.name.as_str(), y.dtype), ("y", Some(DType::F32)));
}

#[test]
fn input_with_initializer_is_a_constant_not_an_input() {
    let mut m = conv_relu();
    let gp = m.graph.as_mut().unwrap();
    gp.input.push(value_info(
        "w",
        DType::F32,
        &[Dim::Known(4), Dim::Known(3), Dim::Known(3), Dim::Known(3)],
    ));
    let g = load_bytes(&bytes(&m)).unwrap();
    assert_eq!(g.inputs.len(), 1);
    let w = g.values.iter().position(|v| v.name == "w").unwrap();
    assert!(g.constants.keys().any(|id| id.index() == w));
}

#[test]
fn unsorted_nodes_are_sorted_and_unnamed_nodes_get_op_index_names() {
    let mut m = conv_relu();
    let gp = m.graph.as_mut().unwrap();
    gp.node.reverse();
    gp.node[1].name = None; // the conv, now at index 1
    let g = load_bytes(&bytes(&m)).unwrap();
    let names: Vec<&str> = g.nodes.iter().map(|n| n.name.as_str()).collect();
    assert_eq!(names, ["Conv_1", "relu"]);
}

#[test]
fn constant_nodes_and_dropout_leave_no_node_behind_them() {
    let nodes = vec![
        node(
            "Constant",
            &[],
            &["k"],
            vec![attr_tensor("value", tensor_f32("k", &[1], &[2.0]))],
        ),
        node(
            "Constant",
            &[],
            &["alpha"],
            vec![attr_float("value_float", 0.5)],
        ),
        node("Mul", &["x", "k"], &["m"], vec![]),
        node(
            "Dropout",
            &["m", ""],
            &["d", ""],
            vec![attr_float("ratio", 0.5)],
        ),
        node("Mul", &["d", "alpha"], &["y"], vec![]),
    ];
    let m = model(
        11,
        graph(nodes, vec![image_input()], vec![f32_output("y")], vec![]),
    );
    let g = load_bytes(&bytes(&m)).unwrap();
    let c = canonical(&g);
    let ops: Vec<&str> = c.iter().map(|(op, _, _)| op.name()).collect();
    assert_eq!(ops, ["Mul", "Identity", "Mul"]);
    assert_eq!(
        c[0].1[1],
        Canon::Const(Tensor::from_f32(vec![1], vec![2.0]).unwrap())
    );
    assert_eq!(
        c[1].1,
        vec![Canon::Value("m".into())],
        "ratio operand dropped"
    );
    assert_eq!(c[2].1[1], Canon::Const(Tensor::scalar_f32(0.5)));
}

#[test]
fn varied_model_loads_with_every_op_in_order() {
    let g = load_bytes(&bytes(&varied())).unwrap();
    let ops: Vec<&str> = g.nodes.iter().map(|n| n.op.name()).collect();
    let want = [
        "Conv",
        "BatchNormalization",
        "Clip",
        "MaxPool",
        "Shape",
        "Gather",
        "Unsqueeze",
        "Concat",
        "Reshape",
        "Gemm",
        "Softmax",
    ];
    assert_eq!(ops, want);
    let raw_w = g.constant(g.nodes[0].inputs[1].unwrap()).unwrap();
    assert_eq!(raw_w.as_f32().unwrap(), &[0.5, -1.0, 2.0, 1.0, 0.0, -0.5]);
}

#[test]
fn graph_output_may_be_an_input_or_a_constant() {
    let mut m = conv_relu();
    let gp = m.graph.as_mut().unwrap();
    gp.output.push(f32_output("x"));
    gp.output.push(f32_output("b"));
    let g = load_bytes(&bytes(&m)).unwrap();
    assert_eq!(g.outputs.len(), 3);
    assert_eq!(g.outputs[1], g.inputs[0]);
    assert!(g.constant(g.outputs[2]).is_some());
}
