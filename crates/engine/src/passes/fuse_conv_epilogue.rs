//! Fuses what follows a convolution into it, so that the fast kernel applies it before the
//! output leaves the cache. One walk over the nodes, in order, turns
//!
//! - `Add(conv(..), r)` (same shapes, no broadcast) into `FusedConv` with residual `r`;
//! - `Relu`/`LeakyRelu`/`Sigmoid`/`HardSigmoid`/`HardSwish`/`Clip` (constant bounds) of a conv
//!   into the conv's activation;
//! - `Mul(x, Sigmoid(x))` with `x = conv(..)` (SiLU, as PyTorch exports it) into activation
//!   `Silu`.
//!
//! Only a conv output read by the fused node alone (and not a graph output) is fused away. The
//! residual add happens before the activation, so an activation is fused only into a conv that
//! has none yet, and a residual only into one with no activation. The fused node takes the
//! place of the *last* node it replaces, where all of its inputs exist.

use super::uses::{producers, reader_counts};
use crate::ir::{Activation, BinaryOp, ConvAttrs, Graph, Node, Op, UnaryOp, ValueId};

pub fn fuse_conv_epilogue(graph: &mut Graph) {
    let readers = reader_counts(graph);
    let mut producer = producers(graph);
    let mut nodes: Vec<Option<Node>> = std::mem::take(&mut graph.nodes)
        .into_iter()
        .map(Some)
        .collect();
    for i in 0..nodes.len() {
        let Some(node) = nodes[i].as_ref() else {
            continue;
        };
        let Some((conv_index, rewrite)) = match_epilogue(graph, &nodes, &producer, &readers, node)
        else {
            continue;
        };
        let (Some(conv), Some(node)) = (nodes[conv_index].take(), nodes[i].take()) else {
            continue;
        };
        let fused = apply(conv, node, rewrite);
        for id in &fused.outputs {
            producer[id.index()] = Some(i);
        }
        if let Rewrite::Silu { sigmoid } = rewrite {
            nodes[sigmoid] = None;
        }
        nodes[i] = Some(fused);
    }
    graph.nodes = nodes.into_iter().flatten().collect();
}

#[derive(Clone, Copy, Debug)]
enum Rewrite {
    Residual {
        addend: ValueId,
    },
    Activation(Activation),
    /// `sigmoid` is the index of the Sigmoid node that goes away with the Mul.
    Silu {
        sigmoid: usize,
    },
}

/// A conv whose epilogue is still open: its attributes, activation and residual.
fn open_conv(node: &Node) -> Option<(&ConvAttrs, Activation, bool)> {
    match &node.op {
        Op::Conv(c) => Some((c, Activation::Identity, false)),
        Op::FusedConv { conv, activation } => Some((conv, *activation, node.inputs.len() > 3)),
        _ => None,
    }
}

/// The conv producing `value` when `node` is its only reader, with its epilogue so far.
fn sole_conv(
    nodes: &[Option<Node>],
    producer: &[Option<usize>],
    readers: &[usize],
    value: ValueId,
    expected_readers: usize,
) -> Option<(usize, Activation, bool)> {
    if readers[value.index()] != expected_readers {
        return None;
    }
    let index = producer[value.index()]?;
    let conv = nodes[index].as_ref()?;
    let (_, activation, residual) = open_conv(conv)?;
    (conv.outputs.len() == 1).then_some((index, activation, residual))
}

fn match_epilogue(
    graph: &Graph,
    nodes: &[Option<Node>],
    producer: &[Option<usize>],
    readers: &[usize],
    node: &Node,
) -> Option<(usize, Rewrite)> {
    let input = |i: usize| node.inputs.get(i).copied().flatten();
    let open = |value, n| sole_conv(nodes, producer, readers, value, n);
    match &node.op {
        Op::Binary(BinaryOp::Add) => {
            let (a, b) = (input(0)?, input(1)?);
            [(a, b), (b, a)].into_iter().find_map(|(x, addend)| {
                let (conv, activation, residual) = open(x, 1)?;
                let same_shape = graph.value(x).shape.is_some()
                    && graph.value(x).shape == graph.value(addend).shape;
                (activation == Activation::Identity && !residual && same_shape && x != addend)
                    .then_some((conv, Rewrite::Residual { addend }))
            })
        }
        Op::Binary(BinaryOp::Mul) => {
            let (a, b) = (input(0)?, input(1)?);
            [(a, b), (b, a)].into_iter().find_map(|(x, s)| {
                let (conv, activation, _) = open(x, 2)?;
                let sigmoid = producer[s.index()]?;
                let sig = nodes[sigmoid].as_ref()?;
                let is_sigmoid_of_x = sig.op == Op::Unary(UnaryOp::Sigmoid)
                    && sig.inputs.first().copied().flatten() == Some(x)
                    && readers[s.index()] == 1;
                (is_sigmoid_of_x && activation == Activation::Identity)
                    .then_some((conv, Rewrite::Silu { sigmoid }))
            })
        }
        _ => {
            let act = activation_of(graph, node)?;
            let (conv, activation, _) = open(input(0)?, 1)?;
            (activation == Activation::Identity).then_some((conv, Rewrite::Activation(act)))
        }
    }
}

/// The activation a standalone node computes, when it is one a conv can fuse.
fn activation_of(graph: &Graph, node: &Node) -> Option<Activation> {
    Some(match &node.op {
        Op::Unary(UnaryOp::Relu) => Activation::Relu,
        Op::Unary(UnaryOp::LeakyRelu { alpha }) => Activation::LeakyRelu { alpha: *alpha },
        Op::Unary(UnaryOp::Sigmoid) => Activation::Sigmoid,
        Op::Unary(UnaryOp::HardSigmoid { alpha, beta }) => Activation::HardSigmoid {
            alpha: *alpha,
            beta: *beta,
        },
        Op::Unary(UnaryOp::HardSwish) => Activation::HardSwish,
        Op::Clip => {
            let bound = |i: usize, absent: f32| -> Option<f32> {
                match node.inputs.get(i).copied().flatten() {
                    None => Some(absent),
                    Some(id) => match graph.constant(id)?.as_f32()? {
                        [v] => Some(*v),
                        _ => None,
                    },
                }
            };
            Activation::Clip {
                min: bound(1, f32::NEG_INFINITY)?,
                max: bound(2, f32::INFINITY)?,
            }
        }
        _ => return None,
    })
}

/// The fused node: `conv` with `node`'s outputs and the rewrite's epilogue.
fn apply(conv: Node, node: Node, rewrite: Rewrite) -> Node {
    let (attrs, activation) = match conv.op {
        Op::FusedConv { conv, activation } => (conv, activation),
        Op::Conv(c) => (c, Activation::Identity),
        // `match_epilogue` only ever picks a conv.
        other => unreachable!("fusing into {}", other.name()),
    };
    let mut inputs = conv.inputs;
    let activation = match rewrite {
        Rewrite::Residual { addend } => {
            inputs.resize(3, None);
            inputs.push(Some(addend));
            activation
        }
        Rewrite::Activation(a) => a,
        Rewrite::Silu { .. } => Activation::Silu,
    };
    Node {
        name: conv.name,
        op: Op::FusedConv {
            conv: attrs,
            activation,
        },
        inputs,
        outputs: node.outputs,
    }
}
