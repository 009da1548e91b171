//! Stubs until implemented.
#![allow(unused_variables, unused_imports)]

use super::{Facts, OpError};
use crate::ir::*;
use crate::tensor::*;

pub(super) fn eval_reduce_mean(keepdims: bool, noop_with_empty_axes: bool, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>, OpError> {
    Err(OpError::new("eval_reduce_mean is not implemented yet"))
}

pub(super) fn infer_reduce_mean(keepdims: bool, noop_with_empty_axes: bool, inputs: &[Option<&Facts>]) -> Result<Vec<Facts>, OpError> {
    Err(OpError::new("infer_reduce_mean is not implemented yet"))
}

