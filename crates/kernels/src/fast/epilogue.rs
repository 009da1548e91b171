//! The epilogue of a convolution: `activation(conv + bias + residual)`, applied by the kernels
//! as they store each output, so that the output is written once.

use super::activation::Activation;
use crate::reference::window::{ShapeError, shape_bail};

/// What a convolution does to its output before anyone else reads it. `bias` has one value
/// per output channel; `residual` has the output's shape (a skip connection's addend).
#[derive(Clone, Copy, Debug, Default)]
pub struct Epilogue<'a> {
    pub bias: Option<&'a [f32]>,
    pub residual: Option<&'a [f32]>,
    pub activation: Activation,
}

impl Epilogue<'_> {
    /// Errors unless the bias has `out_channels` values and the residual `out_len`.
    pub(crate) fn check(&self, out_channels: usize, out_len: usize) -> Result<(), ShapeError> {
        if self.bias.is_some_and(|b| b.len() != out_channels) {
            shape_bail!("Conv bias must have {out_channels} elements");
        }
        if self.residual.is_some_and(|r| r.len() != out_len) {
            shape_bail!("Conv residual must have the output's {out_len} elements");
        }
        Ok(())
    }
}
