//! A fused convolution's activation computed by the reference elementwise kernels, so that the
//! reference path of a fused graph runs only oracle code.

use litecnn_kernels::reference::elementwise::{self as k, BinaryKind, UnaryKind};

use super::OpError;
use crate::ir::Activation;

/// `activation(x)` as the standalone reference operators compute it.
pub(super) fn reference_activation(act: Activation, x: Vec<f32>) -> Result<Vec<f32>, OpError> {
    let unary = |kind| k::unary_f32(kind, &x);
    Ok(match act {
        Activation::Identity => x,
        Activation::Relu => unary(UnaryKind::Relu),
        Activation::LeakyRelu { alpha } => unary(UnaryKind::LeakyRelu { alpha }),
        Activation::Clip { min, max } => k::clip(&x, Some(min), Some(max)),
        Activation::Sigmoid => unary(UnaryKind::Sigmoid),
        Activation::HardSigmoid { alpha, beta } => unary(UnaryKind::HardSigmoid { alpha, beta }),
        Activation::HardSwish => unary(UnaryKind::HardSwish),
        Activation::Silu => {
            let s = unary(UnaryKind::Sigmoid);
            let n = [x.len()];
            k::binary_f32(BinaryKind::Mul, &x, &n, &s, &n)?.1
        }
    })
}
