//! Stubs until implemented.
#![allow(unused_variables, unused_imports)]

use super::{Facts, OpError};
use crate::ir::*;
use crate::tensor::*;

pub(super) fn eval_max_pool(p: &PoolAttrs, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>, OpError> {
    Err(OpError::new("eval_max_pool is not implemented yet"))
}

pub(super) fn eval_average_pool(pool: &PoolAttrs, count_include_pad: bool, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>, OpError> {
    Err(OpError::new("eval_average_pool is not implemented yet"))
}

pub(super) fn eval_global_average_pool(inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>, OpError> {
    Err(OpError::new("eval_global_average_pool is not implemented yet"))
}

pub(super) fn eval_global_max_pool(inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>, OpError> {
    Err(OpError::new("eval_global_max_pool is not implemented yet"))
}

pub(super) fn infer_pool(pool: &PoolAttrs, inputs: &[Option<&Facts>]) -> Result<Vec<Facts>, OpError> {
    Err(OpError::new("infer_pool is not implemented yet"))
}

pub(super) fn infer_global_pool(inputs: &[Option<&Facts>]) -> Result<Vec<Facts>, OpError> {
    Err(OpError::new("infer_global_pool is not implemented yet"))
}

