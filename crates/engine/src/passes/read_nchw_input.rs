//! Lets a channels-last convolution read its NCHW input itself when the [`NhwcOp::FromNchw`]
//! before it exists only for it: a network's first convolution, on the input image. Its
//! kernel writes each band of padded rows channels-last straight from the planes, so the
//! whole-image transpose, and the NHWC copy it filled, go.
//!
//! Only a convolution with a window (not 1×1: that kernel reads the NHWC rows in place),
//! ungrouped, of at most [`MAX_CHANNELS`] input channels: for so few channels, interleaving a
//! row from the planes into its band costs what the transpose node did, and the band copy it
//! replaces is saved.

use super::uses::reader_counts;
use crate::ir::{Graph, NhwcOp, Op};

/// Input channels up to which a convolution reads NCHW input (an RGB image has 3).
const MAX_CHANNELS: usize = 4;

pub fn read_nchw_input(graph: &mut Graph) {
    let readers = reader_counts(graph);
    let mut from_nchw: Vec<Option<_>> = vec![None; graph.values.len()];
    for node in &graph.nodes {
        if let (Op::Nhwc(NhwcOp::FromNchw), [Some(x)], [y]) =
            (&node.op, &node.inputs[..], &node.outputs[..])
            && readers[y.index()] == 1
        {
            from_nchw[y.index()] = Some(*x);
        }
    }
    for node in &mut graph.nodes {
        let Op::Nhwc(NhwcOp::Conv {
            conv,
            weight_shape,
            input_nchw,
            winograd: false,
            ..
        }) = &mut node.op
        else {
            continue;
        };
        let Some(Some(x)) = node.inputs.first().copied() else {
            continue;
        };
        let windowed = weight_shape[2] * weight_shape[3] > 1;
        if let Some(nchw) = from_nchw[x.index()]
            && windowed
            && conv.group == 1
            && weight_shape[1] <= MAX_CHANNELS
        {
            node.inputs[0] = Some(nchw);
            *input_nchw = true;
        }
    }
    // The transposes now read by no one are dropped by `remove_dead_nodes`.
}
