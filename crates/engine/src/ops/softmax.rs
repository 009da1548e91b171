//! Stubs until implemented.
#![allow(unused_variables, unused_imports)]

use super::{Facts, OpError};
use crate::ir::*;
use crate::tensor::*;

pub(super) fn eval_softmax(axis: i64, coerce_2d: bool, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>, OpError> {
    Err(OpError::new("eval_softmax is not implemented yet"))
}

