//! Stubs until implemented.
#![allow(unused_variables, unused_imports)]

use super::{Facts, OpError};
use crate::ir::*;
use crate::tensor::*;

pub(super) fn eval_identity(inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>, OpError> {
    Err(OpError::new("eval_identity is not implemented yet"))
}

pub(super) fn eval_shape(start: i64, end: Option<i64>, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>, OpError> {
    Err(OpError::new("eval_shape is not implemented yet"))
}

pub(super) fn eval_cast(to: DType, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>, OpError> {
    Err(OpError::new("eval_cast is not implemented yet"))
}

pub(super) fn eval_constant_of_shape(value: &Tensor, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>, OpError> {
    Err(OpError::new("eval_constant_of_shape is not implemented yet"))
}

pub(super) fn infer_shape(start: i64, end: Option<i64>, inputs: &[Option<&Facts>]) -> Result<Vec<Facts>, OpError> {
    Err(OpError::new("infer_shape is not implemented yet"))
}

pub(super) fn infer_cast(to: DType, inputs: &[Option<&Facts>]) -> Result<Vec<Facts>, OpError> {
    Err(OpError::new("infer_cast is not implemented yet"))
}

pub(super) fn infer_constant_of_shape(value: &Tensor, inputs: &[Option<&Facts>]) -> Result<Vec<Facts>, OpError> {
    Err(OpError::new("infer_constant_of_shape is not implemented yet"))
}

