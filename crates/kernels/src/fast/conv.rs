//! Fast convolution: the same contract as `reference::conv::conv` plus a fused [`Epilogue`].
//!
//! Per image and group, the kernel is chosen by shape:
//! - depthwise (one input and one output channel per group, 1-D or 2-D): [`depthwise`];
//! - 1×1, stride 1, no padding: the input planes already are the GEMM's right operand;
//! - anything else: [`im2col`] into a per-thread scratch matrix, then one GEMM.
//!
//! The GEMM accumulates onto an output prefilled with bias and residual, and the activation
//! runs over the finished output.

use super::buffers;
use super::depthwise;
use super::epilogue::Epilogue;
use super::im2col::im2col;
use super::matmul::{MatRef, matmul};
use super::parallel::{for_pieces, threads_for};
use super::scratch;
use crate::reference::broadcast::element_count;
use crate::reference::conv::ConvGeometry;
use crate::reference::window::{AxisGeometry, ShapeError, axes3, shape_bail};

/// Runs the convolution described by `g` with the fused `epilogue`.
pub fn conv(
    g: &ConvGeometry,
    input: &[f32],
    weight: &[f32],
    epilogue: &Epilogue<'_>,
) -> Result<Vec<f32>, ShapeError> {
    check_buffers(g, input, weight, epilogue)?;
    // Every path below writes every output element (prefill, GEMM or depthwise).
    let mut out = buffers::take(element_count(&g.output_shape())?);
    if out.is_empty() {
        return Ok(out);
    }
    let axes = axes3(&g.axes);
    let in_image = element_count(&g.input_shape())? / g.batch;
    let out_image = out.len() / g.batch;
    let cin_g = g.in_channels / g.group;
    let cout_g = g.out_channels / g.group;
    for (n, y) in out.chunks_exact_mut(out_image).enumerate() {
        let x = &input[n * in_image..][..in_image];
        let image_epilogue = Epilogue {
            residual: epilogue.residual.map(|r| &r[n * out_image..][..out_image]),
            ..*epilogue
        };
        if cin_g == 1 && cout_g == 1 && depthwise::supports(&axes) {
            depthwise::depthwise(&axes, x, weight, y, &image_epilogue);
        } else {
            grouped_gemm(g, &axes, x, weight, y, &image_epilogue)?;
            let activation = image_epilogue.activation;
            for_pieces(threads_for(y.len()), y, |piece| activation.apply(piece));
        }
    }
    Ok(out)
}

fn check_buffers(
    g: &ConvGeometry,
    input: &[f32],
    weight: &[f32],
    epilogue: &Epilogue<'_>,
) -> Result<(), ShapeError> {
    let out_len = element_count(&g.output_shape())?;
    if input.len() != element_count(&g.input_shape())?
        || weight.len() != element_count(&g.weight_shape())?
    {
        shape_bail!(
            "Conv buffers do not match input {:?} and weight {:?}",
            g.input_shape(),
            g.weight_shape()
        );
    }
    if epilogue.bias.is_some_and(|b| b.len() != g.out_channels) {
        shape_bail!("Conv bias must have {} elements", g.out_channels);
    }
    if epilogue.residual.is_some_and(|r| r.len() != out_len) {
        shape_bail!(
            "Conv residual must have the output's shape {:?}",
            g.output_shape()
        );
    }
    Ok(())
}

/// One image: for each group, `y[group] (+)= W[group] · columns(x[group])`.
fn grouped_gemm(
    g: &ConvGeometry,
    axes: &[AxisGeometry; 3],
    x: &[f32],
    weight: &[f32],
    y: &mut [f32],
    epilogue: &Epilogue<'_>,
) -> Result<(), ShapeError> {
    let in_plane: usize = axes.iter().map(|a| a.input).product();
    let out_plane: usize = axes.iter().map(|a| a.output).product();
    let taps: usize = axes.iter().map(|a| a.kernel).product();
    let (cin_g, cout_g) = (g.in_channels / g.group, g.out_channels / g.group);
    let depth = cin_g * taps;
    if epilogue.has_addend() {
        for (oc, plane) in y.chunks_exact_mut(out_plane).enumerate() {
            epilogue.prefill(plane, oc, oc * out_plane);
        }
    }
    let direct = axes.iter().all(is_pointwise);
    let outputs = y.chunks_exact_mut(cout_g * out_plane);
    for (group, y_group) in outputs.enumerate() {
        let x_group = &x[group * cin_g * in_plane..][..cin_g * in_plane];
        let w_group = MatRef::row_major(&weight[group * cout_g * depth..], cout_g, depth);
        if direct {
            let columns = MatRef::row_major(x_group, depth, out_plane);
            matmul(y_group, w_group, columns, epilogue.has_addend())?;
        } else {
            // im2col writes every element, padding taps included.
            scratch::with_scratch(depth * out_plane, |buf| {
                im2col(buf, x_group, cin_g, axes);
                let columns = MatRef::row_major(buf, depth, out_plane);
                matmul(y_group, w_group, columns, epilogue.has_addend())
            })?;
        }
    }
    Ok(())
}

/// An axis on which the convolution reads input `i` for output `i`: no window at all.
fn is_pointwise(a: &AxisGeometry) -> bool {
    a.kernel == 1 && a.stride == 1 && a.pad_begin == 0 && a.pad_end == 0 && a.input == a.output
}
