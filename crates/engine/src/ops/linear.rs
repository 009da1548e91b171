//! Stubs until implemented.
#![allow(unused_variables, unused_imports)]

use super::{Facts, OpError};
use crate::ir::*;
use crate::tensor::*;

pub(super) fn eval_gemm(alpha: f32, beta: f32, trans_a: bool, trans_b: bool, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>, OpError> {
    Err(OpError::new("eval_gemm is not implemented yet"))
}

pub(super) fn eval_matmul(inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>, OpError> {
    Err(OpError::new("eval_matmul is not implemented yet"))
}

pub(super) fn infer_gemm(trans_a: bool, trans_b: bool, inputs: &[Option<&Facts>]) -> Result<Vec<Facts>, OpError> {
    Err(OpError::new("infer_gemm is not implemented yet"))
}

pub(super) fn infer_matmul(inputs: &[Option<&Facts>]) -> Result<Vec<Facts>, OpError> {
    Err(OpError::new("infer_matmul is not implemented yet"))
}

