//! Runs the body of a network channels-last (NHWC), converting only where it must.
//!
//! One walk over the nodes, in order. A 2-D convolution with constant weights becomes an
//! [`NhwcOp::Conv`] whose weights are packed here, once, for the NHWC kernels; pools, the mean
//! over positions, elementwise activations, same-shape arithmetic, per-channel broadcasts
//! (squeeze-and-excite), channel concatenation, slices and splits of the channel axis and
//! ShuffleNet's channel shuffle follow their input into NHWC. Any other
//! reader of an NHWC value gets the NCHW original back through one [`NhwcOp::ToNchw`],
//! emitted just before the first such reader; an NCHW value that a converted node reads goes
//! through one [`NhwcOp::FromNchw`]. The original value ids keep their NCHW meaning, so
//! graph outputs and untouched nodes need no renaming: an NHWC value is a new "twin" value.
//!
//! A graph whose layout would flip back and forth (other reshapes and transposes between
//! its convolutions) gains less from NHWC than the conversions cost, so when the whole-plane
//! conversions outnumber [`conversions_allowed`] the graph is left as it was.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use litecnn_kernels::fast::nhwc::conv::{pack_weights, pack_weights_owned, packed_len_of};
use litecnn_kernels::fast::nhwc::winograd;
use litecnn_kernels::reference::conv::ConvGeometry;

use super::channel_shuffle::{Shuffle, find_shuffles};
use crate::ir::{BinaryOp, ConvAttrs, Dim, Graph, NhwcOp, Node, Op, Value, ValueId};
use crate::ops::nhwc::to_nhwc;
use crate::ops::{slice_channel_range, window_params};
use crate::tensor::{DType, Tensor, TensorData};

/// `winograd`: whether the 3×3 stride-1 convolutions where it pays may run on Winograd's
/// F(2×2, 3×3) (`nhwc::winograd::applies`).
pub fn channels_last(graph: &mut Graph, winograd: bool) {
    let before = graph.clone();
    let mut walk = Walk {
        winograd,
        shuffles: find_shuffles(graph),
        folded: HashSet::new(),
        twin: HashMap::new(),
        lives_nhwc: HashSet::new(),
        restored: HashSet::new(),
        nodes: Vec::with_capacity(graph.nodes.len()),
        convs: 0,
        plane_conversions: 0,
        packing: Vec::new(),
    };
    for node in std::mem::take(&mut graph.nodes) {
        walk.node(graph, node);
    }
    for id in graph.outputs.clone() {
        walk.nchw(graph, id);
    }
    let edges = graph.inputs.len() + graph.outputs.len();
    if walk.convs == 0 || walk.plane_conversions > conversions_allowed(edges, walk.convs) {
        *graph = before;
        return;
    }
    drop(before);
    graph.nodes = walk.nodes;
    pack_all(graph, walk.packing);
}

/// A convolution's weights to pack, once the graph is known to go channels-last.
struct Packing {
    packed: ValueId,
    weight: ValueId,
    shape: [usize; 4],
    group: usize,
    winograd: bool,
}

/// Packs every convolution's weights, dropping each original as soon as no node reads it, so
/// that loading never holds much more than one copy of the weights.
fn pack_all(graph: &mut Graph, packing: Vec<Packing>) {
    let read: HashSet<ValueId> = graph
        .nodes
        .iter()
        .flat_map(|n| n.inputs.iter().flatten().copied())
        .chain(graph.outputs.iter().copied())
        .collect();
    // Weights shared by several convolutions stay until the last of them is packed.
    let mut pending: HashMap<ValueId, usize> = HashMap::new();
    for p in &packing {
        *pending.entry(p.weight).or_default() += 1;
    }
    for p in packing {
        let Some(weight) = graph.constant(p.weight).cloned() else {
            continue;
        };
        let left = pending.get_mut(&p.weight).map_or(0, |n| {
            *n -= 1;
            *n
        });
        if left == 0 && !read.contains(&p.weight) {
            graph.constants.remove(&p.weight);
        }
        // The walk checked the shapes (`packed_len_of`), so packing cannot fail here. The last
        // reader of a weight packs it in its own memory.
        let packed = if p.winograd {
            // The transformed weights are 16/9 of the originals: never packed in place.
            winograd::pack_weights(weight.as_f32().unwrap_or_default(), &p.shape)
        } else {
            match Arc::try_unwrap(weight).map(Tensor::into_data) {
                Ok(TensorData::F32(data)) => pack_weights_owned(data.into_vec(), &p.shape, p.group),
                Ok(_) => continue,
                Err(shared) => pack_weights(shared.as_f32().unwrap_or_default(), &p.shape, p.group),
            }
        }
        .unwrap_or_default();
        if let Ok(tensor) = Tensor::from_f32(vec![packed.len()], packed) {
            graph.constants.insert(p.packed, Arc::new(tensor));
        }
    }
}

/// Whole-plane layout conversions worth paying for `convs` channels-last convolutions: one
/// per graph input and output (`edges`), and one more per eight convolutions.
fn conversions_allowed(edges: usize, convs: usize) -> usize {
    edges + convs / 8
}

struct Walk {
    /// Whether convolutions may run on Winograd's F(2×2, 3×3) where it pays.
    winograd: bool,
    /// The graph's channel shuffles, by the output of their first Reshape.
    shuffles: HashMap<ValueId, Shuffle>,
    /// Outputs of the nodes a channels-last shuffle replaced (its Transpose and last Reshape).
    folded: HashSet<ValueId>,
    /// NCHW value → its NHWC twin.
    twin: HashMap<ValueId, ValueId>,
    /// Values whose producer now makes only the NHWC twin.
    lives_nhwc: HashSet<ValueId>,
    /// Values of `lives_nhwc` converted back for an NCHW reader.
    restored: HashSet<ValueId>,
    nodes: Vec<Node>,
    convs: usize,
    /// Conversions of values with more than one position.
    plane_conversions: usize,
    packing: Vec<Packing>,
}

impl Walk {
    fn node(&mut self, graph: &mut Graph, node: Node) {
        if node.outputs.iter().any(|o| self.folded.contains(o)) {
            return;
        }
        let rewritten = match &node.op {
            Op::Conv(_) | Op::FusedConv { .. } => self.conv(graph, &node),
            Op::MaxPool(p) if node.outputs.len() == 1 => {
                self.follow(graph, &node, Op::Nhwc(NhwcOp::MaxPool(p.clone())))
            }
            Op::AveragePool {
                pool,
                count_include_pad,
            } => self.follow(
                graph,
                &node,
                Op::Nhwc(NhwcOp::AveragePool {
                    pool: pool.clone(),
                    count_include_pad: *count_include_pad,
                }),
            ),
            Op::GlobalAveragePool => self.mean(graph, &node, true),
            Op::ReduceMean { keepdims, .. } if reduces_positions(graph, &node) => {
                self.mean(graph, &node, *keepdims)
            }
            Op::Unary(_) | Op::Clip => self.follow(graph, &node, node.op.clone()),
            Op::Binary(b) => self.binary(graph, &node, *b),
            Op::Concat { axis: 1 | -3 } => self.concat(graph, &node),
            Op::Reshape { .. } => self.shuffle(graph, &node),
            Op::Slice => self.slice(graph, &node),
            Op::Split { axis: 1 | -3 } => self.split(graph, &node),
            _ => None,
        };
        let node = match rewritten {
            Some(node) => node,
            None => {
                let mut node = node;
                for input in node.inputs.iter_mut().flatten() {
                    *input = self.nchw(graph, *input);
                }
                node
            }
        };
        self.nodes.push(node);
    }

    /// A 2-D convolution with constant weights, on the NHWC kernels with packed weights.
    fn conv(&mut self, graph: &mut Graph, node: &Node) -> Option<Node> {
        let (conv, activation) = match &node.op {
            Op::Conv(conv) => (conv, Default::default()),
            Op::FusedConv { conv, activation } => (conv, *activation),
            _ => return None,
        };
        let &[x, Some(w), ..] = &node.inputs[..] else {
            return None;
        };
        let x = x?;
        shape4(graph, x)?;
        let weight = graph.constant(w)?;
        let weight_shape: [usize; 4] = weight.shape().try_into().ok()?;
        let len = packed_len_of(weight.as_f32()?.len(), &weight_shape, conv.group).ok()?;
        let winograd = self.winograd && winograd_pays(graph, x, conv, &weight_shape);
        let len = if winograd {
            winograd::packed_len(weight_shape[1], weight_shape[0])
        } else {
            len
        };
        let packed_id = graph.add_value(Value {
            name: format!("{}@nhwc", graph.value(w).name),
            dtype: Some(DType::F32),
            shape: Some(vec![Dim::Known(len)]),
        });
        self.packing.push(Packing {
            packed: packed_id,
            weight: w,
            shape: weight_shape,
            group: conv.group,
            winograd,
        });
        self.convs += 1;
        let mut inputs = vec![Some(self.nhwc(graph, x)), Some(packed_id)];
        inputs.push(node.inputs.get(2).copied().flatten());
        if let Some(residual) = node.inputs.get(3).copied().flatten() {
            inputs.push(Some(self.nhwc(graph, residual)));
        }
        let op = Op::Nhwc(NhwcOp::Conv {
            conv: conv.clone(),
            weight_shape,
            activation,
            input_nchw: false,
            winograd,
        });
        Some(self.with_nhwc_output(graph, node, op, inputs))
    }

    /// `node`'s first input, when it lives NHWC.
    fn nhwc_input(&self, node: &Node) -> Option<ValueId> {
        let x = node.inputs.first().copied().flatten()?;
        self.lives_nhwc.contains(&x).then_some(x)
    }

    /// A one-input op that runs NHWC when its input lives NHWC.
    fn follow(&mut self, graph: &mut Graph, node: &Node, op: Op) -> Option<Node> {
        let x = self.nhwc_input(node)?;
        let mut inputs = node.inputs.clone();
        inputs[0] = Some(self.twin[&x]);
        Some(self.with_nhwc_output(graph, node, op, inputs))
    }

    /// The mean over positions of an NHWC value: its result has the same bytes in either
    /// layout, so it is produced as the NCHW original.
    /// The mean over the positions of an NHWC value: `[N, 1, 1, C]`, itself NHWC (what
    /// squeeze-and-excite's convolutions read), or `[N, C]`, the same in either layout.
    fn mean(&mut self, graph: &mut Graph, node: &Node, keep_dims: bool) -> Option<Node> {
        let x = self.nhwc_input(node)?;
        if node.outputs.len() != 1 {
            return None;
        }
        let op = Op::Nhwc(NhwcOp::MeanOverPositions { keep_dims });
        let inputs = vec![Some(self.twin[&x])];
        if keep_dims {
            return Some(self.with_nhwc_output(graph, node, op, inputs));
        }
        Some(Node {
            name: node.name.clone(),
            op,
            inputs,
            outputs: node.outputs.clone(),
        })
    }

    fn binary(&mut self, graph: &mut Graph, node: &Node, op: BinaryOp) -> Option<Node> {
        let &[Some(a), Some(b)] = &node.inputs[..] else {
            return None;
        };
        let (a_nhwc, b_nhwc) = (self.lives_nhwc.contains(&a), self.lives_nhwc.contains(&b));
        let same_shape = graph.value(a).shape == graph.value(b).shape;
        if a_nhwc && b_nhwc && same_shape {
            let inputs = vec![Some(self.twin[&a]), Some(self.twin[&b])];
            return Some(self.with_nhwc_output(graph, node, Op::Binary(op), inputs));
        }
        let commutative = matches!(op, BinaryOp::Add | BinaryOp::Mul);
        let (x, v) = if a_nhwc && per_channel(graph, b, a) {
            (a, b)
        } else if commutative && b_nhwc && per_channel(graph, a, b) {
            (b, a)
        } else {
            return None;
        };
        // One value per channel has the same bytes in either layout.
        let v = match self.twin.get(&v) {
            Some(&twin) if self.lives_nhwc.contains(&v) => twin,
            _ => self.nchw(graph, v),
        };
        let inputs = vec![Some(self.twin[&x]), Some(v)];
        let op = Op::Nhwc(NhwcOp::ChannelBroadcast(op));
        Some(self.with_nhwc_output(graph, node, op, inputs))
    }

    fn concat(&mut self, graph: &mut Graph, node: &Node) -> Option<Node> {
        let all_nhwc = node
            .inputs
            .iter()
            .all(|i| i.is_some_and(|id| self.lives_nhwc.contains(&id)));
        if !all_nhwc || node.inputs.is_empty() {
            return None;
        }
        let inputs = node
            .inputs
            .iter()
            .map(|i| i.map(|id| self.twin[&id]))
            .collect();
        Some(self.with_nhwc_output(graph, node, Op::Concat { axis: 3 }, inputs))
    }

    /// The first Reshape of a channel shuffle of an NHWC value: the whole shuffle as one op,
    /// producing the twin of its last Reshape's output; its other two nodes are dropped.
    fn shuffle(&mut self, graph: &mut Graph, node: &Node) -> Option<Node> {
        let shuffle = *self.shuffles.get(node.outputs.first()?)?;
        let x = self.nhwc_input(node)?;
        self.folded.extend([shuffle.transposed, shuffle.out]);
        let whole = Node {
            outputs: vec![shuffle.out],
            ..node.clone()
        };
        let op = Op::Nhwc(NhwcOp::ChannelShuffle {
            groups: shuffle.groups,
        });
        Some(self.with_nhwc_output(graph, &whole, op, vec![Some(self.twin[&x])]))
    }

    /// A Slice of the channel axis alone, with constant bounds and step 1, of an NHWC value.
    fn slice(&mut self, graph: &mut Graph, node: &Node) -> Option<Node> {
        let x = self.nhwc_input(node)?;
        if node.outputs.len() != 1 {
            return None;
        }
        let channels = shape4(graph, x)?[1].known()?;
        // `Some(None)` for an absent optional input; `None` when one is not a constant.
        let ints = |i: usize| -> Option<Option<&[i64]>> {
            match node.inputs.get(i).copied().flatten() {
                None => Some(None),
                Some(id) => graph.constant(id)?.as_i64().map(Some),
            }
        };
        let range = slice_channel_range(channels, ints(1)??, ints(2)??, ints(3)?, ints(4)?)?;
        if range.is_empty() {
            return None;
        }
        let op = Op::Nhwc(NhwcOp::ChannelRange {
            start: range.start,
            end: range.end,
        });
        Some(self.with_nhwc_output(graph, node, op, vec![Some(self.twin[&x])]))
    }

    /// A Split of the channel axis of an NHWC value: one channel range per part (the parts'
    /// sizes are the inferred shapes of its outputs).
    fn split(&mut self, graph: &mut Graph, node: &Node) -> Option<Node> {
        let x = self.nhwc_input(node)?;
        let channels = shape4(graph, x)?[1].known()?;
        let parts: Vec<usize> = node
            .outputs
            .iter()
            .map(|&out| shape4(graph, out).and_then(|s| s[1].known()))
            .collect::<Option<_>>()?;
        if parts.iter().sum::<usize>() != channels || parts.contains(&0) {
            return None;
        }
        let mut start = 0;
        let mut last = None;
        for (i, (&out, &len)) in node.outputs.iter().zip(&parts).enumerate() {
            let part = Node {
                name: format!("{}#{i}", node.name),
                outputs: vec![out],
                ..node.clone()
            };
            let op = Op::Nhwc(NhwcOp::ChannelRange {
                start,
                end: start + len,
            });
            let range = self.with_nhwc_output(graph, &part, op, vec![Some(self.twin[&x])]);
            if let Some(before) = last.replace(range) {
                self.nodes.push(before);
            }
            start += len;
        }
        last
    }

    /// `node` rewritten to `op` on `inputs`, producing the NHWC twin of its one output.
    fn with_nhwc_output(
        &mut self,
        graph: &mut Graph,
        node: &Node,
        op: Op,
        inputs: Vec<Option<ValueId>>,
    ) -> Node {
        let out = node.outputs[0];
        let twin = self.new_twin(graph, out);
        self.lives_nhwc.insert(out);
        Node {
            name: node.name.clone(),
            op,
            inputs,
            outputs: vec![twin],
        }
    }

    fn new_twin(&mut self, graph: &mut Graph, id: ValueId) -> ValueId {
        let value = graph.value(id);
        let twin = graph.add_value(Value {
            name: format!("{}@nhwc", value.name),
            dtype: value.dtype,
            shape: value.shape.as_deref().map(to_nhwc),
        });
        self.twin.insert(id, twin);
        twin
    }

    /// The NHWC twin of `id`, converting it the first time it is asked for.
    fn nhwc(&mut self, graph: &mut Graph, id: ValueId) -> ValueId {
        if let Some(&twin) = self.twin.get(&id) {
            return twin;
        }
        let twin = self.new_twin(graph, id);
        self.count_conversion(graph, id);
        self.nodes.push(Node {
            name: format!("{}@to_nhwc", graph.value(id).name),
            op: Op::Nhwc(NhwcOp::FromNchw),
            inputs: vec![Some(id)],
            outputs: vec![twin],
        });
        twin
    }

    /// `id` with its NCHW meaning, converting its twin back the first time it is asked for.
    fn nchw(&mut self, graph: &Graph, id: ValueId) -> ValueId {
        if self.lives_nhwc.contains(&id) && self.restored.insert(id) {
            self.count_conversion(graph, id);
            self.nodes.push(Node {
                name: format!("{}@to_nchw", graph.value(id).name),
                op: Op::Nhwc(NhwcOp::ToNchw),
                inputs: vec![Some(self.twin[&id])],
                outputs: vec![id],
            });
        }
        id
    }

    fn count_conversion(&mut self, graph: &Graph, id: ValueId) {
        let positions = shape4(graph, id).map(|s| {
            s[2..]
                .iter()
                .map(|d| d.known().unwrap_or(2))
                .product::<usize>()
        });
        if positions.is_none_or(|p| p > 1) {
            self.plane_conversions += 1;
        }
    }
}

/// The shape of a 4-D float value.
/// Whether the convolution `conv` of `x` with weights of `weight_shape` is one that runs faster
/// on Winograd's F(2×2, 3×3): decided on the image's known size (a symbolic batch counts as 1).
fn winograd_pays(graph: &Graph, x: ValueId, conv: &ConvAttrs, weight_shape: &[usize; 4]) -> bool {
    let Some(dims) = shape4(graph, x) else {
        return false;
    };
    let shape: Option<Vec<usize>> = dims
        .iter()
        .enumerate()
        .map(|(axis, d)| match d {
            Dim::Known(n) => Some(*n),
            Dim::Symbol(_) => (axis == 0).then_some(1),
        })
        .collect();
    let window = window_params(&conv.window, false);
    shape
        .and_then(|shape| ConvGeometry::new(&shape, weight_shape, &window, conv.group).ok())
        .is_some_and(|g| winograd::applies(&g))
}

fn shape4(graph: &Graph, id: ValueId) -> Option<&[Dim]> {
    let value = graph.value(id);
    let shape = value.shape.as_deref()?;
    (value.dtype == Some(DType::F32) && shape.len() == 4).then_some(shape)
}

/// Whether `v` holds one value per channel of 4-D `x` (`[1 or N, C, 1, 1]`, or fewer leading
/// dims), broadcast over `x`'s positions.
fn per_channel(graph: &Graph, v: ValueId, x: ValueId) -> bool {
    let (Some(xs), Some(vs)) = (shape4(graph, x), graph.value(v).shape.as_deref()) else {
        return false;
    };
    let one = Dim::Known(1);
    let channel_first = match vs.len() {
        4 => (vs[0] == one || vs[0] == xs[0]) && vs[1] == xs[1],
        3 => vs[0] == xs[1],
        _ => return false,
    };
    let n = vs.len();
    graph.value(v).dtype == Some(DType::F32)
        && channel_first
        && vs[n - 2] == one
        && vs[n - 1] == one
}

/// ReduceMean over exactly the two spatial axes of a 4-D value.
fn reduces_positions(graph: &Graph, node: &Node) -> bool {
    let (Some(Some(x)), Some(Some(axes))) = (node.inputs.first(), node.inputs.get(1)) else {
        return false;
    };
    let Some(axes) = graph
        .constant(*axes)
        .and_then(|t| t.as_i64().map(<[i64]>::to_vec))
    else {
        return false;
    };
    let mut axes: Vec<i64> = axes
        .iter()
        .map(|&a| if a < 0 { a + 4 } else { a })
        .collect();
    axes.sort_unstable();
    shape4(graph, *x).is_some() && axes == [2, 3]
}
