//! Stubs until implemented.
#![allow(unused_variables, unused_imports)]

use super::{Facts, OpError};
use crate::ir::*;
use crate::tensor::*;

pub(super) fn eval_unary(u: UnaryOp, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>, OpError> {
    Err(OpError::new("eval_unary is not implemented yet"))
}

pub(super) fn eval_binary(b: BinaryOp, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>, OpError> {
    Err(OpError::new("eval_binary is not implemented yet"))
}

pub(super) fn eval_prelu(inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>, OpError> {
    Err(OpError::new("eval_prelu is not implemented yet"))
}

pub(super) fn eval_clip(inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>, OpError> {
    Err(OpError::new("eval_clip is not implemented yet"))
}

pub(super) fn infer_same_as_first(inputs: &[Option<&Facts>]) -> Result<Vec<Facts>, OpError> {
    Err(OpError::new("infer_same_as_first is not implemented yet"))
}

pub(super) fn infer_binary(inputs: &[Option<&Facts>]) -> Result<Vec<Facts>, OpError> {
    Err(OpError::new("infer_binary is not implemented yet"))
}

