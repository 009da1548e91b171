//! Stubs until implemented.
#![allow(unused_variables, unused_imports)]

use super::{Facts, OpError};
use crate::ir::*;
use crate::tensor::*;

pub(super) fn eval_flatten(axis: i64, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>, OpError> {
    Err(OpError::new("eval_flatten is not implemented yet"))
}

pub(super) fn eval_reshape(allowzero: bool, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>, OpError> {
    Err(OpError::new("eval_reshape is not implemented yet"))
}

pub(super) fn eval_transpose(perm: Option<&[usize]>, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>, OpError> {
    Err(OpError::new("eval_transpose is not implemented yet"))
}

pub(super) fn eval_squeeze(inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>, OpError> {
    Err(OpError::new("eval_squeeze is not implemented yet"))
}

pub(super) fn eval_unsqueeze(inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>, OpError> {
    Err(OpError::new("eval_unsqueeze is not implemented yet"))
}

pub(super) fn infer_flatten(axis: i64, inputs: &[Option<&Facts>]) -> Result<Vec<Facts>, OpError> {
    Err(OpError::new("infer_flatten is not implemented yet"))
}

pub(super) fn infer_reshape(allowzero: bool, inputs: &[Option<&Facts>]) -> Result<Vec<Facts>, OpError> {
    Err(OpError::new("infer_reshape is not implemented yet"))
}

pub(super) fn infer_transpose(perm: Option<&[usize]>, inputs: &[Option<&Facts>]) -> Result<Vec<Facts>, OpError> {
    Err(OpError::new("infer_transpose is not implemented yet"))
}

pub(super) fn infer_squeeze(inputs: &[Option<&Facts>]) -> Result<Vec<Facts>, OpError> {
    Err(OpError::new("infer_squeeze is not implemented yet"))
}

pub(super) fn infer_unsqueeze(inputs: &[Option<&Facts>]) -> Result<Vec<Facts>, OpError> {
    Err(OpError::new("infer_unsqueeze is not implemented yet"))
}

