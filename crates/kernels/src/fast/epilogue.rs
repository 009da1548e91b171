//! The epilogue of a convolution: `activation(conv + bias + residual)`, applied by the kernels
//! as they store each output, so that the output is written once.

use super::activation::Activation;

/// What a convolution does to its output before anyone else reads it. `bias` has one value
/// per output channel; `residual` has the output's shape (a skip connection's addend).
#[derive(Clone, Copy, Debug, Default)]
pub struct Epilogue<'a> {
    pub bias: Option<&'a [f32]>,
    pub residual: Option<&'a [f32]>,
    pub activation: Activation,
}
