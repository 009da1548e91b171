//! Convolution weights rearranged once, at load, into the order the NHWC kernels read them.
//!
//! ONNX stores a convolution's weights as `[out channels, in channels per group, kh, kw]`. The
//! GEMM wants, per group, the transposed matrix (depth × output channels) cut into panels of
//! [`NR`] output channels, each panel `depth` rows of `NR` contiguous values: the kernel then
//! reads one panel as a single sequential stream and never computes an address per row. Depth
//! is ordered tap-major (`(ky * kw + kx) * cin_g + ci`), because an NHWC im2col row is the
//! concatenation of each tap's input channels. A depthwise convolution's weights are simply
//! `[taps][channels]` (see [`super::depthwise::pack_weights`]).

use super::depthwise;
use crate::reference::window::{ShapeError, shape_bail};

/// Output channels per packed panel: the GEMM computes this many at once (two AVX2 vectors,
/// one AVX-512 vector).
pub const NR: usize = 16;

/// Whether a convolution with these channels runs on the depthwise kernel (one input and one
/// output channel per group), which takes the depthwise packing.
pub fn is_depthwise(out_channels: usize, cin_g: usize, group: usize) -> bool {
    cin_g == 1 && out_channels == group
}

/// The GEMM's view of packed weights: per group, `panels` panels of `depth × NR`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct GemmWeights {
    pub group: usize,
    pub cout_g: usize,
    pub depth: usize,
    pub panels: usize,
}

impl GemmWeights {
    pub(crate) fn new(out_channels: usize, cin_g: usize, taps: usize, group: usize) -> Self {
        let cout_g = out_channels / group;
        GemmWeights {
            group,
            cout_g,
            depth: cin_g * taps,
            panels: cout_g.div_ceil(NR),
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.group * self.panels * self.depth * NR
    }

    /// Group `g`'s panels.
    pub(crate) fn group_panels<'w>(&self, packed: &'w [f32], g: usize) -> &'w [f32] {
        let len = self.panels * self.depth * NR;
        &packed[g * len..][..len]
    }
}

/// The length [`pack_weights`] gives for `weight_len` values of `shape` in `group` groups, or
/// why they cannot be packed: checked before any packing, so that a caller can decide first.
pub fn packed_len_of(
    weight_len: usize,
    shape: &[usize],
    group: usize,
) -> Result<usize, ShapeError> {
    let &[out_channels, cin_g, kh, kw] = shape else {
        shape_bail!("NHWC convolution weights must be [out, in, kh, kw], got {shape:?}");
    };
    if group == 0 || !out_channels.is_multiple_of(group) {
        shape_bail!("{out_channels} output channels cannot be split into {group} groups");
    }
    let taps = kh * kw;
    if weight_len != out_channels * cin_g * taps {
        shape_bail!("weights of {weight_len} values do not match shape {shape:?}");
    }
    Ok(if is_depthwise(out_channels, cin_g, group) {
        weight_len
    } else {
        GemmWeights::new(out_channels, cin_g, taps, group).len()
    })
}

/// Packs ONNX convolution weights of `shape` (`[out, in / group, kh, kw]`) for
/// [`super::conv::conv`].
pub fn pack_weights(weight: &[f32], shape: &[usize], group: usize) -> Result<Vec<f32>, ShapeError> {
    packed_len_of(weight.len(), shape, group)?;
    let [out_channels, cin_g, kh, kw] = [shape[0], shape[1], shape[2], shape[3]];
    let taps = kh * kw;
    if is_depthwise(out_channels, cin_g, group) {
        return Ok(depthwise::pack_weights(weight, out_channels, taps));
    }
    let layout = GemmWeights::new(out_channels, cin_g, taps, group);
    let mut packed = vec![0.0f32; layout.len()];
    for (g, group_panels) in packed
        .chunks_exact_mut(layout.panels * layout.depth * NR)
        .enumerate()
    {
        for (j, panel) in group_panels.chunks_exact_mut(layout.depth * NR).enumerate() {
            let first = g * layout.cout_g + j * NR;
            let count = NR.min(layout.cout_g - j * NR);
            let filters = &weight[first * layout.depth..][..count * layout.depth];
            fill_panel(panel, filters, cin_g, taps);
        }
    }
    Ok(packed)
}

/// [`pack_weights`] reusing `weight`'s memory when it can (every group a whole number of
/// panels: a panel then takes the place of its own 16 filters), so that packing a model's
/// weights never holds a second copy of its largest layer.
pub fn pack_weights_owned(
    mut weight: Vec<f32>,
    shape: &[usize],
    group: usize,
) -> Result<Vec<f32>, ShapeError> {
    packed_len_of(weight.len(), shape, group)?;
    let [out_channels, cin_g, kh, kw] = [shape[0], shape[1], shape[2], shape[3]];
    let taps = kh * kw;
    let layout = GemmWeights::new(out_channels, cin_g, taps, group);
    if is_depthwise(out_channels, cin_g, group) || !layout.cout_g.is_multiple_of(NR) {
        return pack_weights(&weight, shape, group);
    }
    let mut filters = vec![0.0f32; NR * layout.depth];
    for block in weight.chunks_exact_mut(NR * layout.depth) {
        filters.copy_from_slice(block);
        fill_panel(block, &filters, cin_g, taps);
    }
    Ok(weight)
}

/// One panel (`depth` rows of `NR`) from up to `NR` filters of `cin_g × taps` values each
/// (ONNX order); the channels past the filters are zero.
fn fill_panel(panel: &mut [f32], filters: &[f32], cin_g: usize, taps: usize) {
    panel.fill(0.0);
    for (l, filter) in filters.chunks_exact(cin_g * taps).enumerate() {
        for ci in 0..cin_g {
            for t in 0..taps {
                panel[(t * cin_g + ci) * NR + l] = filter[ci * taps + t];
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn panels_hold_the_transposed_filters_tap_major_and_zero_padded() {
        // 18 output channels (two panels, the second with 2), 2 input channels, 1×2 kernel.
        let shape = [18, 2, 1, 2];
        let weight: Vec<f32> = (0..18 * 4).map(|i| i as f32 + 1.0).collect();
        let packed = pack_weights(&weight, &shape, 1).unwrap();
        let layout = GemmWeights::new(18, 2, 2, 1);
        assert_eq!(packed.len(), layout.len());
        assert_eq!(layout.depth, 4);
        // Depth row k = t * cin + ci; W[co][ci][0][t] = co * 4 + ci * 2 + t + 1.
        for k in 0..4 {
            let (t, ci) = (k / 2, k % 2);
            for co in 0..18 {
                let (j, l) = (co / NR, co % NR);
                let got = packed[(j * 4 + k) * NR + l];
                assert_eq!(got, (co * 4 + ci * 2 + t + 1) as f32, "co {co} k {k}");
            }
            for l in 2..NR {
                assert_eq!(packed[(4 + k) * NR + l], 0.0);
            }
        }
    }

    #[test]
    fn packing_in_place_gives_what_packing_a_copy_gives() {
        for (shape, group) in [([32, 3, 3, 3], 1), ([48, 4, 1, 1], 3), ([18, 2, 1, 2], 1)] {
            let len = shape.iter().product();
            let weight: Vec<f32> = (0..len).map(|i| i as f32 * 0.5 - 3.0).collect();
            let copied = pack_weights(&weight, &shape, group).unwrap();
            assert_eq!(pack_weights_owned(weight, &shape, group).unwrap(), copied);
        }
    }

    #[test]
    fn bad_shapes_are_errors() {
        assert!(pack_weights(&[0.0; 4], &[2, 2], 1).is_err());
        assert!(pack_weights(&[0.0; 4], &[3, 1, 1, 1], 2).is_err());
        assert!(pack_weights(&[0.0; 5], &[2, 2, 1, 1], 1).is_err());
    }
}
