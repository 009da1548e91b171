//! Depthwise 2-D convolution (one filter per channel, `group == channels`) without im2col.
//!
//! Each channel is copied once into a zero-bordered scratch plane whose columns are split by
//! `stride` phase (column `c` of the padded plane goes to phase `c % stride`, position
//! `c / stride`). Every kernel tap then reads a contiguous run of one phase row, so the inner
//! loop is a plain `out += w * src` over a whole output row, at any stride or dilation, with no
//! bounds tests and no padding branches. Bias, residual and activation are applied per channel
//! while its plane is still in cache.

use super::activation::apply_body;
use super::dispatch::multiversion;
use super::epilogue::Epilogue;
use super::scratch;
use crate::reference::window::AxisGeometry;

/// The padded, phase-split plane of one channel.
#[derive(Clone, Copy, Debug)]
struct PhasePlane {
    /// Rows of the padded input (pads included).
    rows: usize,
    /// Columns per phase: `ceil(padded width / stride)`.
    cols: usize,
    phases: usize,
}

impl PhasePlane {
    fn new(h: &AxisGeometry, w: &AxisGeometry) -> PhasePlane {
        let padded_width = w.pad_begin + w.input + w.pad_end;
        PhasePlane {
            rows: h.pad_begin + h.input + h.pad_end,
            cols: padded_width.div_ceil(w.stride),
            phases: w.stride,
        }
    }

    fn len(&self) -> usize {
        self.phases * self.rows * self.cols
    }

    /// Index of padded position `(row, col)`.
    fn at(&self, row: usize, col: usize) -> usize {
        ((col % self.phases) * self.rows + row) * self.cols + col / self.phases
    }
}

/// Whether [`depthwise`] handles this geometry: 1-D or 2-D (the leading axis is a unit axis).
pub fn supports(axes: &[AxisGeometry; 3]) -> bool {
    axes[0] == AxisGeometry::UNIT
}

/// Depthwise convolution of `channels` planes of `input` (one image) into `output`, with
/// `weight` `[channels, kh * kw]`. `first_channel` is the index of these channels in the
/// epilogue's bias, and `output`'s offset in its residual is `first_channel * out_plane`.
pub fn depthwise(
    axes: &[AxisGeometry; 3],
    input: &[f32],
    weight: &[f32],
    output: &mut [f32],
    epilogue: &Epilogue<'_>,
    first_channel: usize,
) {
    let [_, h, w] = axes;
    let (in_plane, out_plane) = (h.input * w.input, h.output * w.output);
    let taps = h.kernel * w.kernel;
    let padded = PhasePlane::new(h, w);
    // The borders stay zero across channels: only the interior is rewritten.
    scratch::with_zeroed(padded.len(), |phases| {
        let planes = input
            .chunks_exact(in_plane)
            .zip(output.chunks_exact_mut(out_plane));
        for (c, (x, y)) in planes.enumerate() {
            let channel = first_channel + c;
            epilogue.prefill(y, channel, channel * out_plane);
            let kernel = &weight[c * taps..][..taps];
            channel_dispatched(h, w, padded, phases, x, kernel, y, epilogue.activation);
        }
    });
}

multiversion!(fn channel_dispatched(
    h: &AxisGeometry,
    w: &AxisGeometry,
    padded: PhasePlane,
    phases: &mut [f32],
    x: &[f32],
    kernel: &[f32],
    y: &mut [f32],
    activation: super::Activation,
) => channel_body);

#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn channel_body(
    h: &AxisGeometry,
    w: &AxisGeometry,
    padded: PhasePlane,
    phases: &mut [f32],
    x: &[f32],
    kernel: &[f32],
    y: &mut [f32],
    activation: super::Activation,
) {
    for (iy, row) in x.chunks_exact(w.input).enumerate() {
        let r = iy + h.pad_begin;
        if padded.phases == 1 {
            let start = padded.at(r, w.pad_begin);
            phases[start..start + w.input].copy_from_slice(row);
        } else {
            for (ix, &v) in row.iter().enumerate() {
                phases[padded.at(r, ix + w.pad_begin)] = v;
            }
        }
    }
    for (oy, out_row) in y.chunks_exact_mut(w.output).enumerate() {
        for ky in 0..h.kernel {
            let r = oy * h.stride + ky * h.dilation;
            for kx in 0..w.kernel {
                let start = padded.at(r, kx * w.dilation);
                let src = &phases[start..start + w.output];
                let weight = kernel[ky * w.kernel + kx];
                for (o, &s) in out_row.iter_mut().zip(src) {
                    *o += weight * s;
                }
            }
        }
    }
    apply_body(activation, y);
}
