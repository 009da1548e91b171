//! Fuses a channels-last 1×1 convolution into the depthwise convolution that alone reads it
//! (MobileNet's expansion and depthwise), as [`NhwcOp::ExpandDepthwise`]: the kernel then
//! computes the expanded tensor a band of rows at a time instead of writing it whole.
//!
//! Only an expansion without a residual, whose output is not a graph output and has no other
//! reader, is fused; the fused node takes the depthwise's place, where all of its inputs exist.

use super::uses::{producers, reader_counts};
use crate::ir::{AutoPad, ConvStage, Graph, NhwcOp, Node, Op, ValueId};

pub fn fuse_expand_depthwise(graph: &mut Graph) {
    let readers = reader_counts(graph);
    let producer = producers(graph);
    let mut nodes: Vec<Option<Node>> = std::mem::take(&mut graph.nodes)
        .into_iter()
        .map(Some)
        .collect();
    for i in 0..nodes.len() {
        let Some((depthwise, x)) = nodes[i].as_ref().and_then(depthwise_stage) else {
            continue;
        };
        let Some(e) = producer[x.index()] else {
            continue;
        };
        let Some(expand) = nodes[e].as_ref().and_then(expand_stage) else {
            continue;
        };
        if readers[x.index()] != 1 {
            continue;
        }
        let (Some(expand_node), Some(depthwise_node)) = (nodes[e].take(), nodes[i].take()) else {
            continue;
        };
        let arg = |node: &Node, k: usize| node.inputs.get(k).copied().flatten();
        let mut inputs = vec![
            arg(&expand_node, 0),
            arg(&expand_node, 1),
            arg(&expand_node, 2),
            arg(&depthwise_node, 1),
            arg(&depthwise_node, 2),
        ];
        if let Some(residual) = arg(&depthwise_node, 3) {
            inputs.push(Some(residual));
        }
        nodes[i] = Some(Node {
            name: format!("{}+{}", expand_node.name, depthwise_node.name),
            op: Op::Nhwc(NhwcOp::ExpandDepthwise {
                expand: Box::new(expand),
                depthwise: Box::new(depthwise),
            }),
            inputs,
            outputs: depthwise_node.outputs,
        });
    }
    graph.nodes = nodes.into_iter().flatten().collect();
}

/// A channels-last convolution's stage.
fn nhwc_conv(node: &Node) -> Option<ConvStage> {
    let Op::Nhwc(NhwcOp::Conv {
        conv,
        weight_shape,
        activation,
        input_nchw: false,
        winograd: false,
    }) = &node.op
    else {
        return None;
    };
    Some(ConvStage {
        conv: conv.clone(),
        weight_shape: *weight_shape,
        activation: *activation,
    })
}

/// A channels-last depthwise convolution (one input and one output channel per group, 2-D)
/// and its input.
fn depthwise_stage(node: &Node) -> Option<(ConvStage, ValueId)> {
    let stage = nhwc_conv(node)?;
    let x = node.inputs.first().copied().flatten()?;
    let depthwise = stage.weight_shape[1] == 1 && stage.conv.group == stage.weight_shape[0];
    depthwise.then_some((stage, x))
}

/// A channels-last 1×1, stride-1, unpadded, ungrouped convolution without a residual.
fn expand_stage(node: &Node) -> Option<ConvStage> {
    let stage = nhwc_conv(node)?;
    let w = &stage.conv.window;
    let ones = |v: &[usize]| v.iter().all(|&d| d == 1);
    // A 1→1 convolution's weights are packed as a depthwise one's, not as GEMM panels.
    let pointwise = stage.weight_shape[2..] == [1, 1]
        && stage.weight_shape[..2] != [1, 1]
        && stage.conv.group == 1
        && ones(&w.strides)
        && ones(&w.dilations)
        && w.pads.iter().all(|&p| p == 0)
        && matches!(w.auto_pad, AutoPad::NotSet | AutoPad::Valid);
    (pointwise && node.inputs.len() <= 3).then_some(stage)
}
