//! Stubs until implemented.
#![allow(unused_variables, unused_imports)]

use super::{Facts, OpError};
use crate::ir::*;
use crate::tensor::*;

pub(super) fn eval_conv(a: &ConvAttrs, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>, OpError> {
    Err(OpError::new("eval_conv is not implemented yet"))
}

pub(super) fn infer_conv(a: &ConvAttrs, inputs: &[Option<&Facts>]) -> Result<Vec<Facts>, OpError> {
    Err(OpError::new("infer_conv is not implemented yet"))
}

