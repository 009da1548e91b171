//! The epilogue of a convolution: `activation(conv + bias + residual)`, fused so that the
//! output is written once and read back while it is still in cache.

use super::activation::Activation;
use super::dispatch::multiversion;

/// What a convolution does to its output before anyone else reads it. `bias` has one value
/// per output channel; `residual` has the output's shape (a skip connection's addend).
#[derive(Clone, Copy, Debug, Default)]
pub struct Epilogue<'a> {
    pub bias: Option<&'a [f32]>,
    pub residual: Option<&'a [f32]>,
    pub activation: Activation,
}

impl Epilogue<'_> {
    /// Whether [`Epilogue::prefill`] writes anything (a GEMM may then accumulate onto it).
    pub fn has_addend(&self) -> bool {
        self.bias.is_some() || self.residual.is_some()
    }

    /// Writes `bias[channel] + residual` into one output channel's `plane` (the part of the
    /// output a convolution then accumulates onto). `offset` is the plane's start in the output.
    pub fn prefill(&self, plane: &mut [f32], channel: usize, offset: usize) {
        let bias = self.bias.map_or(0.0, |b| b[channel]);
        match self.residual {
            Some(r) => add_scalar(plane, &r[offset..offset + plane.len()], bias),
            None => plane.fill(bias),
        }
    }
}

multiversion!(fn add_scalar(out: &mut [f32], src: &[f32], v: f32) => add_scalar_body);

#[inline(always)]
fn add_scalar_body(out: &mut [f32], src: &[f32], v: f32) {
    for (o, &s) in out.iter_mut().zip(src) {
        *o = s + v;
    }
}
