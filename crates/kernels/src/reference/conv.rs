//! Direct convolution (ONNX Conv) over 1, 2 or 3 spatial axes, with groups (depthwise
//! included), strides, dilations and padding. Lower ranks run through the 3-D loops with unit
//! leading axes. For each (output channel, input channel, kernel tap) the whole output plane is
//! swept with the innermost loop over a contiguous output row, so no im2col buffer is needed
//! and the loop vectorises at stride 1.

use std::ops::Range;

use super::broadcast::element_count;
use super::window::{
    AxisGeometry, ShapeError, WindowParams, axes3, nc_shape, resolve_window, shape_bail,
};

/// A validated convolution: input `[batch, in_channels, spatial...]`, weight
/// `[out_channels, in_channels / group, kernel...]`, output `[batch, out_channels, out...]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConvGeometry {
    pub batch: usize,
    pub in_channels: usize,
    pub out_channels: usize,
    pub group: usize,
    /// The real spatial axes (1 to 3 of them).
    pub axes: Vec<AxisGeometry>,
}

impl ConvGeometry {
    /// Checks the shapes against each other and resolves the window. `window.kernel` may be
    /// empty, in which case the kernel shape is the weight's spatial shape; otherwise the two
    /// must agree.
    pub fn new(
        input_shape: &[usize],
        weight_shape: &[usize],
        window: &WindowParams,
        group: usize,
    ) -> Result<ConvGeometry, ShapeError> {
        let rank = input_shape.len();
        if !(3..=5).contains(&rank) {
            shape_bail!(
                "Conv input must be [N, C, spatial...] with 1 to 3 spatial axes, got shape {input_shape:?}"
            );
        }
        if weight_shape.len() != rank {
            shape_bail!("Conv weight shape {weight_shape:?} must have the input's rank {rank}");
        }
        let (batch, in_channels, out_channels) = (input_shape[0], input_shape[1], weight_shape[0]);
        check_groups(in_channels, out_channels, weight_shape[1], group)?;
        let mut window = window.clone();
        if window.kernel.is_empty() {
            window.kernel = weight_shape[2..].to_vec();
        } else if window.kernel != weight_shape[2..] {
            shape_bail!(
                "kernel_shape {:?} does not match weight shape {weight_shape:?}",
                window.kernel
            );
        }
        window.ceil_mode = false;
        let axes = resolve_window(&input_shape[2..], &window)?;
        let geometry = ConvGeometry {
            batch,
            in_channels,
            out_channels,
            group,
            axes,
        };
        element_count(&geometry.output_shape())?;
        Ok(geometry)
    }

    pub fn output_shape(&self) -> Vec<usize> {
        nc_shape(self.batch, self.out_channels, &self.axes, |a| a.output)
    }

    pub fn input_shape(&self) -> Vec<usize> {
        nc_shape(self.batch, self.in_channels, &self.axes, |a| a.input)
    }

    pub fn weight_shape(&self) -> Vec<usize> {
        nc_shape(
            self.out_channels,
            self.in_channels / self.group,
            &self.axes,
            |a| a.kernel,
        )
    }
}

fn check_groups(
    in_channels: usize,
    out_channels: usize,
    weight_in: usize,
    group: usize,
) -> Result<(), ShapeError> {
    if group == 0 {
        shape_bail!("Conv group must be at least 1");
    }
    if !in_channels.is_multiple_of(group) || !out_channels.is_multiple_of(group) {
        shape_bail!(
            "Conv with {in_channels} input and {out_channels} output channels cannot be split into {group} groups"
        );
    }
    if weight_in != in_channels / group {
        shape_bail!(
            "Conv weight has {weight_in} input channels per group, expected {} ({in_channels} channels / {group} groups)",
            in_channels / group
        );
    }
    Ok(())
}

/// Runs the convolution; `bias` has one value per output channel.
pub fn conv(
    g: &ConvGeometry,
    input: &[f32],
    weight: &[f32],
    bias: Option<&[f32]>,
) -> Result<Vec<f32>, ShapeError> {
    if input.len() != element_count(&g.input_shape())?
        || weight.len() != element_count(&g.weight_shape())?
    {
        shape_bail!(
            "Conv buffers do not match input {:?} and weight {:?}",
            g.input_shape(),
            g.weight_shape()
        );
    }
    if bias.is_some_and(|b| b.len() != g.out_channels) {
        shape_bail!("Conv bias must have {} elements", g.out_channels);
    }
    let axes = axes3(&g.axes);
    let in_plane: usize = axes.iter().map(|a| a.input).product();
    let out_plane: usize = axes.iter().map(|a| a.output).product();
    let taps: usize = axes.iter().map(|a| a.kernel).product();
    let (cin_g, cout_g) = (g.in_channels / g.group, g.out_channels / g.group);
    let spans = axes.map(|a| TapSpans::new(&a));
    let mut out = vec![0.0; element_count(&g.output_shape())?];
    if out.is_empty() {
        return Ok(out);
    }
    for (plane_index, out_ch) in out.chunks_exact_mut(out_plane).enumerate() {
        let (n, oc) = (plane_index / g.out_channels, plane_index % g.out_channels);
        let first_ic = (oc / cout_g) * cin_g;
        for icg in 0..cin_g {
            let in_ch = &input[(n * g.in_channels + first_ic + icg) * in_plane..][..in_plane];
            let kernel = &weight[(oc * cin_g + icg) * taps..][..taps];
            accumulate_channel(out_ch, in_ch, kernel, &spans);
        }
        if let Some(bias) = bias {
            for v in out_ch.iter_mut() {
                *v += bias[oc];
            }
        }
    }
    Ok(out)
}

/// For one axis, per kernel tap: the outputs whose tap reads a real input element (a
/// contiguous range; the others read padding, i.e. zero) and the input index the first of
/// them reads. Computed once per convolution, outside the hot loops.
struct TapSpans {
    axis: AxisGeometry,
    spans: Vec<(Range<usize>, usize)>,
}

impl TapSpans {
    fn new(axis: &AxisGeometry) -> TapSpans {
        let spans = (0..axis.kernel)
            .map(|k| {
                let outputs = axis.valid_outputs(k);
                // Unused when the range is empty.
                let first = axis.input_index(outputs.start, k).unwrap_or(0);
                (outputs, first)
            })
            .collect();
        TapSpans { axis: *axis, spans }
    }

    /// `(output, input)` index pairs of tap `k` that read real input.
    fn pairs(&self, k: usize) -> impl Iterator<Item = (usize, usize)> + '_ {
        let (outputs, first) = &self.spans[k];
        outputs
            .clone()
            .map(move |o| (o, first + (o - outputs.start) * self.axis.stride))
    }
}

/// `out += conv(inp, kernel)` for one input channel into one output channel (3-D planes).
fn accumulate_channel(out: &mut [f32], inp: &[f32], kernel: &[f32], spans: &[TapSpans; 3]) {
    let [d, h, w] = spans;
    let (hk, wk) = (h.axis.kernel, w.axis.kernel);
    for kz in 0..d.axis.kernel {
        for ky in 0..hk {
            for kx in 0..wk {
                let weight = kernel[(kz * hk + ky) * wk + kx];
                let (xs, ix0) = &w.spans[kx];
                if xs.is_empty() {
                    continue;
                }
                for (oz, iz) in d.pairs(kz) {
                    for (oy, iy) in h.pairs(ky) {
                        let out_row = (oz * h.axis.output + oy) * w.axis.output;
                        let in_row = (iz * h.axis.input + iy) * w.axis.input;
                        let out_span = &mut out[out_row + xs.start..out_row + xs.end];
                        axpy(out_span, &inp[in_row + ix0..], w.axis.stride, weight);
                    }
                }
            }
        }
    }
}

/// `out[i] += weight * inp[i * stride]`.
fn axpy(out: &mut [f32], inp: &[f32], stride: usize, weight: f32) {
    if stride == 1 {
        // Same arithmetic as below; the contiguous form is what the compiler vectorises.
        for (o, &x) in out.iter_mut().zip(inp) {
            *o += weight * x;
        }
    } else {
        for (o, &x) in out.iter_mut().zip(inp.iter().step_by(stride)) {
            *o += weight * x;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reference::window::AutoPad;

    fn window(kernel: &[usize], strides: &[usize], pads: &[usize]) -> WindowParams {
        WindowParams {
            kernel: kernel.to_vec(),
            strides: strides.to_vec(),
            dilations: vec![],
            pads: pads.to_vec(),
            auto_pad: AutoPad::NotSet,
            ceil_mode: false,
        }
    }

    #[test]
    fn conv_3x3_pad1_stride2_by_hand() {
        // Input 1x1x4x4 = 0..16, all-ones 3x3 kernel, pad 1, stride 2 → 2x2 output of the sums
        // of the 3x3 neighbourhoods centred on (0,0), (0,2), (2,0), (2,2).
        let x: Vec<f32> = (0..16).map(|v| v as f32).collect();
        let g = ConvGeometry::new(
            &[1, 1, 4, 4],
            &[1, 1, 3, 3],
            &window(&[], &[2, 2], &[1, 1, 1, 1]),
            1,
        )
        .unwrap();
        assert_eq!(g.output_shape(), vec![1, 1, 2, 2]);
        let y = conv(&g, &x, &[1.0; 9], Some(&[0.5])).unwrap();
        // (0,0): 0+1+4+5 = 10; (0,2): 1+2+3+5+6+7 = 24; (2,0): 4+5+8+9+12+13 = 51;
        // (2,2): 5+6+7+9+10+11+13+14+15 = 90.
        assert_eq!(y, vec![10.5, 24.5, 51.5, 90.5]);
    }

    #[test]
    fn conv_asymmetric_pads_and_1d() {
        // 1-D: x = [1,2,3], w = [1,10], pads (2,0): padded [0,0,1,2,3] → [0, 10, 21, 32].
        let g = ConvGeometry::new(&[1, 1, 3], &[1, 1, 2], &window(&[2], &[], &[2, 0]), 1).unwrap();
        assert_eq!(
            conv(&g, &[1.0, 2.0, 3.0], &[1.0, 10.0], None).unwrap(),
            vec![0.0, 10.0, 21.0, 32.0]
        );
    }

    #[test]
    fn bad_shapes_are_errors() {
        let w = window(&[], &[], &[]);
        assert!(ConvGeometry::new(&[1, 4, 5, 5], &[2, 3, 3, 3], &w, 1).is_err()); // channels
        assert!(ConvGeometry::new(&[1, 4, 5, 5], &[3, 2, 3, 3], &w, 2).is_err()); // out % group
        assert!(ConvGeometry::new(&[1, 4, 5, 5], &[2, 4, 3, 3], &w, 0).is_err()); // group 0
        assert!(ConvGeometry::new(&[1, 4, 5], &[2, 4, 3, 3], &w, 1).is_err()); // ranks
        assert!(ConvGeometry::new(&[1, 4, 2, 2], &[2, 4, 3, 3], &w, 1).is_err()); // too small
        assert!(
            ConvGeometry::new(&[1, 4, 5, 5], &[2, 4, 3, 3], &window(&[2, 2], &[], &[]), 1).is_err()
        );
        let g = ConvGeometry::new(&[1, 4, 5, 5], &[2, 4, 3, 3], &w, 1).unwrap();
        assert!(conv(&g, &[0.0; 10], &[0.0; 72], None).is_err());
        assert!(conv(&g, &[0.0; 100], &[0.0; 72], Some(&[0.0; 3])).is_err());
    }
}
