//! Stubs until implemented.
#![allow(unused_variables, unused_imports)]

use super::{Facts, OpError};
use crate::ir::*;
use crate::tensor::*;

pub(super) fn eval_concat(axis: i64, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>, OpError> {
    Err(OpError::new("eval_concat is not implemented yet"))
}

pub(super) fn eval_split(axis: i64, inputs: &[Option<&Tensor>], num_outputs: usize) -> Result<Vec<Tensor>, OpError> {
    Err(OpError::new("eval_split is not implemented yet"))
}

pub(super) fn eval_slice(inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>, OpError> {
    Err(OpError::new("eval_slice is not implemented yet"))
}

pub(super) fn eval_pad(mode: PadMode, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>, OpError> {
    Err(OpError::new("eval_pad is not implemented yet"))
}

pub(super) fn eval_gather(axis: i64, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>, OpError> {
    Err(OpError::new("eval_gather is not implemented yet"))
}

pub(super) fn infer_concat(axis: i64, inputs: &[Option<&Facts>]) -> Result<Vec<Facts>, OpError> {
    Err(OpError::new("infer_concat is not implemented yet"))
}

pub(super) fn infer_split(axis: i64, inputs: &[Option<&Facts>], num_outputs: usize) -> Result<Vec<Facts>, OpError> {
    Err(OpError::new("infer_split is not implemented yet"))
}

pub(super) fn infer_slice(inputs: &[Option<&Facts>]) -> Result<Vec<Facts>, OpError> {
    Err(OpError::new("infer_slice is not implemented yet"))
}

pub(super) fn infer_pad(inputs: &[Option<&Facts>]) -> Result<Vec<Facts>, OpError> {
    Err(OpError::new("infer_pad is not implemented yet"))
}

pub(super) fn infer_gather(axis: i64, inputs: &[Option<&Facts>]) -> Result<Vec<Facts>, OpError> {
    Err(OpError::new("infer_gather is not implemented yet"))
}

