//! Translation of one ONNX node into one IR node (or a constant). Each op family has its own
//! file; this file holds what they share — the node's view ([`NodeCtx`]), the result
//! ([`Lowered`]) — and the dispatch by op type.
//!
//! Translators see only the node, the model's opset, which of its inputs are load-time
//! constants and what shapes are known; they never touch the graph, so each can be tested alone.

mod constant;
mod conv;
mod elementwise;
mod identity;
mod layout;
mod legacy;
mod linear;
mod norm;
mod pool;
mod reduce;
mod shape_ops;
mod slicing;
mod softmax;
mod window;

use std::sync::Arc;

use litecnn_engine::{Dim, Op, Tensor};

use crate::attrs::Attrs;
use crate::error::{LoadError, bail};
use crate::proto::NodeProto;

/// What a translator knows about the node it translates.
pub struct NodeCtx<'a> {
    pub node: &'a NodeProto,
    pub op_type: &'a str,
    /// The model's default-domain opset: selects between attribute and input forms.
    pub opset: i64,
    /// The load-time value of each input, when it has one.
    pub consts: Vec<Option<Arc<Tensor>>>,
    /// The shape of each input, when known at load time (see [`crate::shapes`]). Only the
    /// forms of opsets before 7 need it: their broadcasting depends on the inputs' ranks.
    pub shapes: Vec<Option<Vec<Dim>>>,
    /// Whether each output is read by a node or is a graph output.
    pub outputs_used: Vec<bool>,
}

/// Where an IR node input comes from.
#[derive(Clone, Debug, PartialEq)]
pub enum Operand {
    /// The ONNX node's input at this index (absent when missing or named `""`).
    Input(usize),
    /// A constant made from an attribute of an older opset; the name says which operand.
    Const(&'static str, Tensor),
    Absent,
}

/// The result of translating a node.
#[derive(Clone, Debug, PartialEq)]
pub enum Lowered {
    /// An IR node over the first `outputs` outputs of the ONNX node (the others are unused).
    Node {
        op: Op,
        inputs: Vec<Operand>,
        outputs: usize,
    },
    /// A `Constant` node: its single output is a load-time value.
    Constant(Tensor),
}

impl Lowered {
    /// `op` over the node's inputs as they are, with one output.
    pub fn same_inputs(op: Op, ctx: &NodeCtx) -> Lowered {
        let inputs = (0..ctx.node.input.len()).map(Operand::Input).collect();
        Lowered::with_inputs(op, inputs)
    }

    /// `op` over `inputs`, with one output.
    pub fn with_inputs(op: Op, inputs: Vec<Operand>) -> Lowered {
        Lowered::Node {
            op,
            inputs,
            outputs: 1,
        }
    }
}

impl<'a> NodeCtx<'a> {
    /// The node's attributes, with `consumed_inputs` already accepted where the op's old
    /// versions had it: it only told in-place runtimes which inputs they could overwrite.
    pub fn attrs(&self) -> Result<Attrs<'a>, LoadError> {
        let mut a = Attrs::new(&self.node.attribute)?;
        if legacy::had_consumed_inputs(self.op_type, self.opset) {
            a.ignore("consumed_inputs");
        }
        Ok(a)
    }

    /// Checks the node has `min..=max` inputs and that the first `min` are present.
    pub fn inputs(&self, min: usize, max: usize) -> Result<(), LoadError> {
        let n = self.node.input.len();
        if n < min || n > max {
            bail!(
                Malformed,
                "expects {}, got {n}",
                count_text(min, max, "input")
            );
        }
        if let Some(i) = (0..min).find(|&i| !self.has_input(i)) {
            bail!(Malformed, "required input {i} is empty");
        }
        Ok(())
    }

    /// Checks the node has `1..=max` outputs, the first one named.
    pub fn outputs(&self, max: usize) -> Result<(), LoadError> {
        let n = self.node.output.len();
        if n == 0 || n > max {
            bail!(
                Malformed,
                "expects {}, got {n}",
                count_text(1, max, "output")
            );
        }
        if self.node.output[0].is_empty() {
            bail!(Malformed, "output 0 has an empty name");
        }
        Ok(())
    }

    /// Checks that no output from `first` on is used: litecnn does not compute them.
    pub fn unused_from(&self, first: usize, what: &str) -> Result<(), LoadError> {
        if let Some(i) = (first..self.outputs_used.len()).find(|&i| self.outputs_used[i]) {
            bail!(
                UnsupportedFeature,
                "output {i} (\"{}\", {what}) is used, but litecnn computes only the first {first}",
                self.node.output[i]
            );
        }
        Ok(())
    }

    pub fn has_input(&self, i: usize) -> bool {
        self.node.input.get(i).is_some_and(|s| !s.is_empty())
    }

    /// The load-time value of input `i`, if it has one.
    pub fn constant(&self, i: usize) -> Option<&Tensor> {
        self.consts.get(i)?.as_deref()
    }

    /// The shape of input `i`, if known at load time.
    pub fn shape(&self, i: usize) -> Option<&[Dim]> {
        self.shapes.get(i)?.as_deref()
    }

    /// The rank of input `i`, if known at load time.
    pub fn rank(&self, i: usize) -> Option<usize> {
        self.shape(i).map(<[Dim]>::len)
    }

    pub fn opset_below(&self, version: i64) -> bool {
        self.opset < version
    }
}

/// "1 input", "2 to 3 inputs", "at least 1 input"…
fn count_text(min: usize, max: usize, noun: &str) -> String {
    let plural = |n: usize| if n == 1 { "" } else { "s" };
    match (min, max) {
        (a, b) if a == b => format!("{a} {noun}{}", plural(a)),
        (a, usize::MAX) => format!("at least {a} {noun}{}", plural(a)),
        (a, b) => format!("{a} to {b} {noun}s"),
    }
}

/// Whether `domain` names the default ONNX operator set.
pub fn is_default_domain(domain: &str) -> bool {
    domain.is_empty() || domain == "ai.onnx"
}

/// Translates one node. Errors carry no location; the caller adds the node's.
pub fn translate(ctx: &NodeCtx) -> Result<Lowered, LoadError> {
    let domain = ctx.node.domain.as_deref().unwrap_or("");
    if !is_default_domain(domain) {
        bail!(
            UnsupportedOp,
            "unsupported op {} (domain \"{domain}\")",
            ctx.op_type
        );
    }
    match translator(ctx.op_type) {
        Some(translate_op) => translate_op(ctx),
        None => bail!(
            UnsupportedOp,
            "unsupported op {} (domain \"{domain}\")",
            ctx.op_type
        ),
    }
}

type Translator = fn(&NodeCtx) -> Result<Lowered, LoadError>;

/// The translator of a default-domain op type; `None` when litecnn does not implement it.
fn translator(op_type: &str) -> Option<Translator> {
    Some(match op_type {
        "Conv" => conv::conv,
        "MaxPool" => pool::max_pool,
        "AveragePool" => pool::average_pool,
        "GlobalAveragePool" | "GlobalMaxPool" => pool::global_pool,
        "BatchNormalization" => norm::batch_norm,
        "Add" | "Sub" | "Mul" | "Div" => elementwise::binary,
        "PRelu" => elementwise::prelu,
        "Clip" => elementwise::clip,
        "Gemm" => linear::gemm,
        "MatMul" => linear::matmul,
        "Flatten" => layout::flatten,
        "Reshape" => layout::reshape,
        "Transpose" => layout::transpose,
        "Squeeze" => layout::squeeze,
        "Unsqueeze" => layout::unsqueeze,
        "Concat" => slicing::concat,
        "Split" => slicing::split,
        "Slice" => slicing::slice,
        "Pad" => slicing::pad,
        "Gather" => slicing::gather,
        "ReduceMean" => reduce::reduce_mean,
        "Softmax" => softmax::softmax,
        "Identity" => identity::identity,
        "Dropout" => identity::dropout,
        "Shape" => shape_ops::shape,
        "Cast" => shape_ops::cast,
        "ConstantOfShape" => shape_ops::constant_of_shape,
        "Constant" => constant::constant,
        other => {
            elementwise::unary_op(other)?;
            elementwise::unary
        }
    })
}

/// Whether litecnn can translate nodes of this op type and domain (attributes aside).
pub fn is_supported(domain: &str, op_type: &str) -> bool {
    is_default_domain(domain) && translator(op_type).is_some()
}

/// Shared helpers for the translators' unit tests.
#[cfg(test)]
pub(crate) mod testing {
    use super::*;
    use crate::builder;
    use crate::proto::AttributeProto;

    /// Translates a node with `n_in` inputs and `n_out` outputs (all used) at `opset`.
    pub fn lower(
        op_type: &str,
        opset: i64,
        n_in: usize,
        n_out: usize,
        attrs: Vec<AttributeProto>,
    ) -> Result<Lowered, LoadError> {
        lower_known(op_type, opset, vec![Known::default(); n_in], n_out, attrs)
    }

    /// What the importer knows about one input at load time.
    #[derive(Clone, Default)]
    pub struct Known {
        pub value: Option<Tensor>,
        pub shape: Option<Vec<Dim>>,
    }

    impl Known {
        /// A load-time constant (its shape is known too).
        pub fn constant(t: Tensor) -> Known {
            let shape = t.shape().iter().map(|&d| Dim::Known(d)).collect();
            Known {
                value: Some(t),
                shape: Some(shape),
            }
        }

        /// A runtime value of known shape.
        pub fn shaped(dims: &[usize]) -> Known {
            Known {
                value: None,
                shape: Some(dims.iter().map(|&d| Dim::Known(d)).collect()),
            }
        }
    }

    /// `lower` with what is known about each input.
    pub fn lower_known(
        op_type: &str,
        opset: i64,
        inputs: Vec<Known>,
        n_out: usize,
        attrs: Vec<AttributeProto>,
    ) -> Result<Lowered, LoadError> {
        let ins: Vec<String> = (0..inputs.len()).map(|i| format!("i{i}")).collect();
        let outs: Vec<String> = (0..n_out).map(|i| format!("o{i}")).collect();
        let ins: Vec<&str> = ins.iter().map(String::as_str).collect();
        let outs: Vec<&str> = outs.iter().map(String::as_str).collect();
        let node = builder::node(op_type, &ins, &outs, attrs);
        let ctx = NodeCtx {
            node: &node,
            op_type,
            opset,
            consts: inputs
                .iter()
                .map(|k| k.value.clone().map(Arc::new))
                .collect(),
            shapes: inputs.into_iter().map(|k| k.shape).collect(),
            outputs_used: vec![true; n_out],
        };
        translate(&ctx)
    }

    /// The inputs of a successful translation.
    pub fn inputs_of(lowered: Lowered) -> Vec<Operand> {
        match lowered {
            Lowered::Node { inputs, .. } => inputs,
            Lowered::Constant(t) => panic!("expected a node, got constant {t:?}"),
        }
    }

    /// The op of a successful translation.
    pub fn op_of(lowered: Lowered) -> Op {
        match lowered {
            Lowered::Node { op, .. } => op,
            Lowered::Constant(t) => panic!("expected a node, got constant {t:?}"),
        }
    }
}
