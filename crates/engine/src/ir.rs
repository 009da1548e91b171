//! The engine's own graph representation. It never sees protobuf: importers translate their
//! format into these types, normalising every opset to one form (operands that older opsets
//! gave as attributes — Clip bounds, Pad pads, Slice starts/ends, Split sizes, Squeeze/Unsqueeze
//! and ReduceMean axes — are always node inputs here, usually constants).

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use crate::tensor::{DType, Tensor};

/// The activation a fused convolution applies to its output (the kernels' own enum: the IR
/// says exactly what the fast kernel computes).
pub use litecnn_kernels::fast::Activation;

/// Index of a value (an edge) in [`Graph::values`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ValueId(pub u32);

impl ValueId {
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// One dimension of a declared or inferred shape.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Dim {
    Known(usize),
    /// A dimension fixed only at run time (the batch, usually), named as in the model.
    Symbol(Arc<str>),
}

impl fmt::Display for Dim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Dim::Known(n) => write!(f, "{n}"),
            Dim::Symbol(s) => f.write_str(s),
        }
    }
}

impl Dim {
    pub fn known(&self) -> Option<usize> {
        match self {
            Dim::Known(n) => Some(*n),
            Dim::Symbol(_) => None,
        }
    }
}

/// A value: a graph input, a constant, or a node output.
#[derive(Clone, Debug, PartialEq)]
pub struct Value {
    pub name: String,
    pub dtype: Option<DType>,
    pub shape: Option<Vec<Dim>>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AutoPad {
    NotSet,
    SameUpper,
    SameLower,
    Valid,
}

/// Window geometry shared by convolution and pooling. Empty vectors mean "the ONNX default for
/// the spatial rank" (strides and dilations 1, pads 0); `pads` is `[begin..., end...]`.
#[derive(Clone, Debug, PartialEq)]
pub struct Window {
    pub kernel_shape: Option<Vec<usize>>,
    pub strides: Vec<usize>,
    pub dilations: Vec<usize>,
    pub pads: Vec<usize>,
    pub auto_pad: AutoPad,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ConvAttrs {
    pub window: Window,
    pub group: usize,
}

#[derive(Clone, Debug, PartialEq)]
pub struct PoolAttrs {
    /// Always set for pooling (`kernel_shape` is required by ONNX).
    pub window: Window,
    pub ceil_mode: bool,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum UnaryOp {
    Relu,
    LeakyRelu { alpha: f32 },
    Sigmoid,
    HardSigmoid { alpha: f32, beta: f32 },
    HardSwish,
    Tanh,
    Neg,
    Abs,
    Exp,
    Sqrt,
    Reciprocal,
    Ceil,
    Floor,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinaryOp {
    Add,
    Sub,
    Mul,
    Div,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PadMode {
    Constant,
    Reflect,
    Edge,
}

/// Channels-last forms of ops, made by the `channels_last` pass for the fast kernels (never
/// by an importer). Their activations are `[N, H, W, C]` (see `ops/nhwc.rs`).
#[derive(Clone, Debug, PartialEq)]
pub enum NhwcOp {
    /// X `[N, C, H, W]` → `[N, H, W, C]`.
    FromNchw,
    /// X `[N, H, W, C]` → `[N, C, H, W]`.
    ToNchw,
    /// X, packed W, [B], [residual] → `activation(conv(X, W) + B + residual)`, all NHWC. W is
    /// the ONNX weight of shape `weight_shape` packed at load by the kernels (a 1-D tensor).
    Conv {
        conv: ConvAttrs,
        weight_shape: [usize; 4],
        activation: Activation,
        /// X is NCHW (the model's input image, read by the first convolution without a
        /// transpose of its own); the output and the residual are NHWC all the same.
        input_nchw: bool,
        /// A 3×3 stride-1 convolution on Winograd's F(2×2, 3×3), whose transformed weights
        /// W holds (packed by `nhwc::winograd`, not `nhwc::pack`).
        winograd: bool,
    },
    /// X, packed W1, [B1], packed W2, [B2], [residual] → the depthwise convolution `depthwise`
    /// of the 1×1 convolution `expand` of X, each with its activation (and the residual added
    /// to the depthwise's result): one kernel, so that the expanded tensor is never whole.
    ExpandDepthwise {
        expand: Box<ConvStage>,
        depthwise: Box<ConvStage>,
    },
    /// X
    MaxPool(PoolAttrs),
    /// X
    AveragePool {
        pool: PoolAttrs,
        count_include_pad: bool,
    },
    /// X → the mean over positions, `[N, 1, 1, C]` (`keep_dims`, NHWC) or `[N, C]`:
    /// GlobalAveragePool and ReduceMean over H and W.
    MeanOverPositions { keep_dims: bool },
    /// X `[N, H, W, C]`, V (`N × C` or `C` values: `[N or 1, C, 1, 1]`, or NHWC `[N, 1, 1, C]`)
    /// → `X ∘ V` with V broadcast over the positions (squeeze-and-excite's scale).
    ChannelBroadcast(BinaryOp),
    /// X → ShuffleNet's channel shuffle in `groups` groups (the Reshape, Transpose and
    /// Reshape that express it in NCHW): output channel `i * groups + j` is input channel
    /// `j * (C / groups) + i`.
    ChannelShuffle { groups: usize },
    /// X → channels `start..end` of every position (a Slice of the channel axis).
    ChannelRange { start: usize, end: usize },
}

/// One convolution of a fused channels-last op.
#[derive(Clone, Debug, PartialEq)]
pub struct ConvStage {
    pub conv: ConvAttrs,
    pub weight_shape: [usize; 4],
    pub activation: Activation,
}

/// An operation. Inputs in brackets are optional (`None` in [`Node::inputs`]).
#[derive(Clone, Debug, PartialEq)]
pub enum Op {
    /// X, W, [B]
    Conv(ConvAttrs),
    /// X, W, [B], [residual] → `activation(conv(X, W) + B + residual)`. Made by the fusion
    /// passes (never by an importer); `residual` has the output's shape.
    FusedConv {
        conv: ConvAttrs,
        activation: Activation,
    },
    /// X, scale, B, mean, var (inference mode only)
    BatchNormalization { epsilon: f32 },
    /// X — elementwise, same shape and type out.
    Unary(UnaryOp),
    /// A, B — numpy-style broadcasting.
    Binary(BinaryOp),
    /// X, slope — slope broadcast to X (unidirectional).
    PRelu,
    /// X, [min], [max] — scalar bounds.
    Clip,
    /// X
    MaxPool(PoolAttrs),
    /// X
    AveragePool {
        pool: PoolAttrs,
        count_include_pad: bool,
    },
    /// X
    GlobalAveragePool,
    /// X
    GlobalMaxPool,
    /// A, B, [C]
    Gemm {
        alpha: f32,
        beta: f32,
        trans_a: bool,
        trans_b: bool,
    },
    /// A, B — numpy matmul semantics (batched, broadcast).
    MatMul,
    /// X
    Flatten { axis: i64 },
    /// data, shape (int64)
    Reshape { allowzero: bool },
    /// X; `None` reverses the axes.
    Transpose { perm: Option<Vec<usize>> },
    /// inputs... (at least one)
    Concat { axis: i64 },
    /// X, [split sizes] — without sizes, splits into `outputs.len()` parts of
    /// `ceil(dim / outputs)` elements (the last may be smaller, as opset 18 allows).
    Split { axis: i64 },
    /// data, starts, ends, [axes], [steps]
    Slice,
    /// data, [axes] — without axes, every dimension of size 1 is removed.
    Squeeze,
    /// data, axes
    Unsqueeze,
    /// data, pads, [constant_value], [axes]
    Pad { mode: PadMode },
    /// data, [axes]
    ReduceMean {
        keepdims: bool,
        noop_with_empty_axes: bool,
    },
    /// X. `coerce_2d` selects the opset < 13 meaning: the input is viewed as 2-D
    /// `[prod(dims[..axis]), prod(dims[axis..])]` and normalised along the second axis.
    Softmax { axis: i64, coerce_2d: bool },
    /// X
    Identity,
    /// X — the output is the (sliced) shape of X as int64.
    Shape { start: i64, end: Option<i64> },
    /// data, indices (int64)
    Gather { axis: i64 },
    /// X
    Cast { to: DType },
    /// shape (int64) — filled with `value`, a one-element tensor that also gives the type.
    ConstantOfShape { value: Tensor },
    /// A channels-last op (fast kernels only).
    Nhwc(NhwcOp),
}

impl Op {
    /// The ONNX name of the op, for messages and histograms.
    pub fn name(&self) -> &'static str {
        match self {
            Op::Conv(_) => "Conv",
            Op::FusedConv { .. } => "FusedConv",
            Op::BatchNormalization { .. } => "BatchNormalization",
            Op::Unary(u) => match u {
                UnaryOp::Relu => "Relu",
                UnaryOp::LeakyRelu { .. } => "LeakyRelu",
                UnaryOp::Sigmoid => "Sigmoid",
                UnaryOp::HardSigmoid { .. } => "HardSigmoid",
                UnaryOp::HardSwish => "HardSwish",
                UnaryOp::Tanh => "Tanh",
                UnaryOp::Neg => "Neg",
                UnaryOp::Abs => "Abs",
                UnaryOp::Exp => "Exp",
                UnaryOp::Sqrt => "Sqrt",
                UnaryOp::Reciprocal => "Reciprocal",
                UnaryOp::Ceil => "Ceil",
                UnaryOp::Floor => "Floor",
            },
            Op::Binary(b) => match b {
                BinaryOp::Add => "Add",
                BinaryOp::Sub => "Sub",
                BinaryOp::Mul => "Mul",
                BinaryOp::Div => "Div",
            },
            Op::PRelu => "PRelu",
            Op::Clip => "Clip",
            Op::MaxPool(_) => "MaxPool",
            Op::AveragePool { .. } => "AveragePool",
            Op::GlobalAveragePool => "GlobalAveragePool",
            Op::GlobalMaxPool => "GlobalMaxPool",
            Op::Gemm { .. } => "Gemm",
            Op::MatMul => "MatMul",
            Op::Flatten { .. } => "Flatten",
            Op::Reshape { .. } => "Reshape",
            Op::Transpose { .. } => "Transpose",
            Op::Concat { .. } => "Concat",
            Op::Split { .. } => "Split",
            Op::Slice => "Slice",
            Op::Squeeze => "Squeeze",
            Op::Unsqueeze => "Unsqueeze",
            Op::Pad { .. } => "Pad",
            Op::ReduceMean { .. } => "ReduceMean",
            Op::Softmax { .. } => "Softmax",
            Op::Identity => "Identity",
            Op::Shape { .. } => "Shape",
            Op::Gather { .. } => "Gather",
            Op::Cast { .. } => "Cast",
            Op::ConstantOfShape { .. } => "ConstantOfShape",
            Op::Nhwc(op) => match op {
                NhwcOp::FromNchw => "ToNhwc",
                NhwcOp::ToNchw => "ToNchw",
                NhwcOp::Conv { winograd: true, .. } => "NhwcWinogradConv",
                NhwcOp::Conv { .. } => "NhwcConv",
                NhwcOp::ExpandDepthwise { .. } => "NhwcExpandDepthwise",
                NhwcOp::MaxPool(_) => "NhwcMaxPool",
                NhwcOp::AveragePool { .. } => "NhwcAveragePool",
                NhwcOp::MeanOverPositions { .. } => "NhwcMean",
                NhwcOp::ChannelBroadcast(_) => "NhwcChannelBroadcast",
                NhwcOp::ChannelShuffle { .. } => "NhwcChannelShuffle",
                NhwcOp::ChannelRange { .. } => "NhwcChannelRange",
            },
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    /// The node's name in the source model (or a generated `<op>_<index>` when it had none).
    pub name: String,
    pub op: Op,
    pub inputs: Vec<Option<ValueId>>,
    pub outputs: Vec<ValueId>,
}

/// A whole model. Nodes are kept in topological order (importers guarantee it; passes keep it).
#[derive(Clone, Debug, Default)]
pub struct Graph {
    pub values: Vec<Value>,
    pub nodes: Vec<Node>,
    pub inputs: Vec<ValueId>,
    pub outputs: Vec<ValueId>,
    /// Values known at load time: initializers, `Constant` nodes, and folded results.
    pub constants: HashMap<ValueId, Arc<Tensor>>,
}

impl Graph {
    pub fn add_value(&mut self, value: Value) -> ValueId {
        let id = ValueId(self.values.len() as u32);
        self.values.push(value);
        id
    }

    pub fn value(&self, id: ValueId) -> &Value {
        &self.values[id.index()]
    }

    pub fn constant(&self, id: ValueId) -> Option<&Arc<Tensor>> {
        self.constants.get(&id)
    }
}
