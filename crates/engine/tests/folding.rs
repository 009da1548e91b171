//! Load-time folding: graphs run before and after the passes give the same outputs, and the
//! shape arithmetic around a symbolic batch disappears.

use std::sync::Arc;

mod common;

use common::Builder;
use litecnn_engine::ir::{BinaryOp, Dim, Graph, Op};
use litecnn_engine::{Model, Tensor};

fn batch() -> Dim {
    Dim::Symbol(Arc::from("N"))
}

fn ramp(shape: Vec<usize>) -> Tensor {
    let n = shape.iter().product();
    Tensor::from_f32(shape, (0..n).map(|i| (i as f32 * 0.37).sin()).collect()).unwrap()
}

/// `x.view(x.size(0), 2, x.size(1) // 2, 4)`, as the TorchScript exporter writes a ShuffleNet
/// channel shuffle: the batch element stays symbolic, the channel element folds to 3.
fn channel_view_graph() -> Graph {
    let mut b = Builder::new();
    let x = b.input("x", vec![batch(), Dim::Known(6), Dim::Known(4)]);
    let shape = b.node(
        Op::Shape {
            start: 0,
            end: None,
        },
        &[x],
    );
    let zero = b.constant("zero", Tensor::scalar_i64(0));
    let one = b.constant("one", Tensor::scalar_i64(1));
    let two = b.constant("two_i", Tensor::scalar_i64(2));
    let axes = b.constant("axes", Tensor::vec_i64(vec![0]));
    let n = b.node(Op::Gather { axis: 0 }, &[shape, zero]);
    let n1 = b.node(Op::Unsqueeze, &[n, axes]);
    let c = b.node(Op::Gather { axis: 0 }, &[shape, one]);
    let half = b.node(Op::Binary(BinaryOp::Div), &[c, two]);
    let half1 = b.node(Op::Unsqueeze, &[half, axes]);
    let groups = b.constant("groups", Tensor::vec_i64(vec![2]));
    let width = b.constant("width", Tensor::vec_i64(vec![4]));
    let target = b.node(Op::Concat { axis: 0 }, &[n1, groups, half1, width]);
    let y = b.node(Op::Reshape { allowzero: false }, &[x, target]);
    let scale = b.constant("scale", Tensor::scalar_f32(2.0));
    let z = b.node(Op::Binary(BinaryOp::Mul), &[y, scale]);
    b.graph.outputs.push(z);
    b.graph
}

#[test]
fn reshape_target_built_from_a_symbolic_batch_folds_to_a_constant() {
    let model = Model::new(channel_view_graph()).unwrap();
    let ops: Vec<&str> = model.graph().nodes.iter().map(|n| n.op.name()).collect();
    assert_eq!(ops, ["Reshape", "Mul"]);
    let out = model.graph().outputs[0];
    assert_eq!(
        model.graph().value(out).shape,
        Some(vec![batch(), Dim::Known(2), Dim::Known(3), Dim::Known(4)])
    );
}

#[test]
fn folded_model_runs_any_batch_size() {
    let model = Model::new(channel_view_graph()).unwrap();
    for n in [1, 3] {
        let x = ramp(vec![n, 6, 4]);
        let y = model.run(vec![x.clone()]).unwrap().remove(0);
        assert_eq!(y.shape(), &[n, 2, 3, 4]);
        let expected: Vec<f32> = x.as_f32().unwrap().iter().map(|v| v * 2.0).collect();
        assert_eq!(y.as_f32().unwrap(), &expected[..]);
    }
}

#[test]
fn inputs_that_do_not_fit_are_rejected_by_name() {
    let model = Model::new(channel_view_graph()).unwrap();
    let err = model
        .run(vec![ramp(vec![1, 5, 4])])
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("input \"x\"") && err.contains("[N,6,4]"),
        "{err}"
    );
    let err = model.run(vec![]).unwrap_err().to_string();
    assert!(err.contains("takes 1 input"), "{err}");
}

#[test]
fn nodes_on_constants_only_are_evaluated_at_load() {
    let mut b = Builder::new();
    let x = b.input("x", vec![Dim::Known(3)]);
    let a = b.constant("a", Tensor::from_f32(vec![3], vec![1.0, 2.0, 3.0]).unwrap());
    let c = b.constant(
        "c",
        Tensor::from_f32(vec![3], vec![10.0, 20.0, 30.0]).unwrap(),
    );
    let ac = b.node(Op::Binary(BinaryOp::Add), &[a, c]);
    let unused = b.node(Op::Binary(BinaryOp::Mul), &[x, x]);
    let y = b.node(Op::Binary(BinaryOp::Mul), &[x, ac]);
    b.graph.outputs.push(y);
    let _ = unused;
    let model = Model::new(b.graph).unwrap();
    assert_eq!(
        model.graph().nodes.len(),
        1,
        "the constant Add folds and the unused Mul is dropped"
    );
    let y = model
        .run(vec![
            Tensor::from_f32(vec![3], vec![1.0, 1.0, 2.0]).unwrap(),
        ])
        .unwrap();
    assert_eq!(y[0].as_f32().unwrap(), &[11.0, 22.0, 66.0]);
}
