//! Pooling: MaxPool (with optional argmax indices) and AveragePool over 1 to 3 spatial axes,
//! and the global variants over any number. Lower ranks run through the 3-D loops with unit
//! leading axes. Padding never contributes a value: MaxPool ignores it, AveragePool counts it
//! in the divisor only with `count_include_pad` (and never counts the part of a `ceil_mode`
//! window that runs past the end padding, as PyTorch and the ONNX reference do).

use super::broadcast::element_count;
use super::window::{
    AxisGeometry, ShapeError, WindowParams, axes3, nc_shape, resolve_window, shape_bail,
};

/// A validated pooling: input `[batch, channels, spatial...]`, output `[batch, channels, out...]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PoolGeometry {
    pub batch: usize,
    pub channels: usize,
    /// The real spatial axes (1 to 3 of them).
    pub axes: Vec<AxisGeometry>,
}

impl PoolGeometry {
    pub fn new(input_shape: &[usize], window: &WindowParams) -> Result<PoolGeometry, ShapeError> {
        if !(3..=5).contains(&input_shape.len()) {
            shape_bail!(
                "pooling input must be [N, C, spatial...] with 1 to 3 spatial axes, got shape {input_shape:?}"
            );
        }
        let axes = resolve_window(&input_shape[2..], window)?;
        let geometry = PoolGeometry {
            batch: input_shape[0],
            channels: input_shape[1],
            axes,
        };
        element_count(&geometry.output_shape())?;
        Ok(geometry)
    }

    pub fn output_shape(&self) -> Vec<usize> {
        nc_shape(self.batch, self.channels, &self.axes, |a| a.output)
    }

    pub fn input_shape(&self) -> Vec<usize> {
        nc_shape(self.batch, self.channels, &self.axes, |a| a.input)
    }
}

/// Which windowed reduction to run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PoolKind {
    Max,
    Average { count_include_pad: bool },
}

/// What one window saw.
struct WindowScan {
    /// Largest input value and its (z, y, x) position; `None` when the window holds no input.
    max: Option<(f32, [usize; 3])>,
    sum: f32,
    /// Input elements in the window.
    count: usize,
    /// Input and explicit-padding elements in the window.
    padded_count: usize,
}

/// Scans the window of output position `o` over one input plane.
fn scan_window(plane: &[f32], axes: &[AxisGeometry; 3], o: [usize; 3]) -> WindowScan {
    let [d, h, w] = axes;
    let mut scan = WindowScan {
        max: None,
        sum: 0.0,
        count: 0,
        padded_count: 0,
    };
    for kz in 0..d.kernel {
        for ky in 0..h.kernel {
            for kx in 0..w.kernel {
                let inside_padding = d.in_padded_input(o[0], kz)
                    && h.in_padded_input(o[1], ky)
                    && w.in_padded_input(o[2], kx);
                scan.padded_count += usize::from(inside_padding);
                let (Some(iz), Some(iy), Some(ix)) = (
                    d.input_index(o[0], kz),
                    h.input_index(o[1], ky),
                    w.input_index(o[2], kx),
                ) else {
                    continue;
                };
                let v = plane[(iz * h.input + iy) * w.input + ix];
                scan.sum += v;
                scan.count += 1;
                // Strictly greater: the first maximum wins, and NaN never replaces a value.
                if scan.max.is_none_or(|(m, _)| v > m) {
                    scan.max = Some((v, [iz, iy, ix]));
                }
            }
        }
    }
    scan
}

/// Calls `f(plane_index, output_position, scan)` for every window of every plane, in output order.
fn for_each_window(
    g: &PoolGeometry,
    x: &[f32],
    mut f: impl FnMut(usize, WindowScan),
) -> Result<(), ShapeError> {
    let in_shape = g.input_shape();
    if x.len() != element_count(&in_shape)? {
        shape_bail!(
            "pooling buffer of {} elements does not match shape {in_shape:?}",
            x.len()
        );
    }
    let axes = axes3(&g.axes);
    let in_plane: usize = axes.iter().map(|a| a.input).product();
    for plane_index in 0..g.batch * g.channels {
        let plane = &x[plane_index * in_plane..][..in_plane];
        for oz in 0..axes[0].output {
            for oy in 0..axes[1].output {
                for ox in 0..axes[2].output {
                    f(plane_index, scan_window(plane, &axes, [oz, oy, ox]));
                }
            }
        }
    }
    Ok(())
}

/// Runs MaxPool or AveragePool. A window that covers no input element gives `-inf` (max) or
/// NaN (an average of nothing), as numpy would.
pub fn pool(g: &PoolGeometry, kind: PoolKind, x: &[f32]) -> Result<Vec<f32>, ShapeError> {
    let mut out = Vec::with_capacity(element_count(&g.output_shape())?);
    for_each_window(g, x, |_, scan| {
        out.push(match kind {
            PoolKind::Max => scan.max.map_or(f32::NEG_INFINITY, |(m, _)| m),
            PoolKind::Average { count_include_pad } => {
                let divisor = if count_include_pad {
                    scan.padded_count
                } else {
                    scan.count
                };
                scan.sum / divisor as f32
            }
        })
    })?;
    Ok(out)
}

/// MaxPool with ONNX's `Indices` output: the flat index of each maximum in the whole input,
/// the spatial part in row-major order, or column-major when `storage_order_columns`. A window
/// without input gives index -1.
pub fn max_pool_with_indices(
    g: &PoolGeometry,
    x: &[f32],
    storage_order_columns: bool,
) -> Result<(Vec<f32>, Vec<i64>), ShapeError> {
    let n = element_count(&g.output_shape())?;
    let (mut values, mut indices) = (Vec::with_capacity(n), Vec::with_capacity(n));
    let dims: Vec<usize> = axes3(&g.axes).iter().map(|a| a.input).collect();
    let in_plane: usize = dims.iter().product();
    for_each_window(g, x, |plane_index, scan| match scan.max {
        Some((m, [z, y, x])) => {
            let within = if storage_order_columns {
                x * dims[1] * dims[0] + y * dims[0] + z
            } else {
                (z * dims[1] + y) * dims[2] + x
            };
            values.push(m);
            indices.push((plane_index * in_plane + within) as i64);
        }
        None => {
            values.push(f32::NEG_INFINITY);
            indices.push(-1);
        }
    })?;
    Ok((values, indices))
}

/// Which global reduction to run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GlobalPoolKind {
    Average,
    Max,
}

/// GlobalAveragePool / GlobalMaxPool over every axis after the first two of `shape` (rank at
/// least 3); the output shape keeps those axes with size 1. Averages accumulate in `f64`.
pub fn global_pool(
    kind: GlobalPoolKind,
    x: &[f32],
    shape: &[usize],
) -> Result<(Vec<usize>, Vec<f32>), ShapeError> {
    if shape.len() < 3 {
        shape_bail!("global pooling input must be [N, C, spatial...], got shape {shape:?}");
    }
    if x.len() != element_count(shape)? {
        shape_bail!(
            "global pooling buffer of {} elements does not match shape {shape:?}",
            x.len()
        );
    }
    let planes = shape[0] * shape[1];
    let plane: usize = shape[2..].iter().product();
    let out = (0..planes)
        .map(|p| {
            let values = &x[p * plane..(p + 1) * plane];
            match kind {
                GlobalPoolKind::Average => {
                    (values.iter().map(|&v| f64::from(v)).sum::<f64>() / plane as f64) as f32
                }
                GlobalPoolKind::Max => values
                    .iter()
                    .fold(f32::NEG_INFINITY, |m, &v| if v > m { v } else { m }),
            }
        })
        .collect();
    let mut out_shape = shape.to_vec();
    out_shape[2..].fill(1);
    Ok((out_shape, out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reference::window::AutoPad;

    fn window(
        kernel: &[usize],
        strides: &[usize],
        pads: &[usize],
        ceil_mode: bool,
    ) -> WindowParams {
        WindowParams {
            kernel: kernel.to_vec(),
            strides: strides.to_vec(),
            dilations: vec![],
            pads: pads.to_vec(),
            auto_pad: AutoPad::NotSet,
            ceil_mode,
        }
    }

    /// 1x1x4x4 holding 1..=16.
    fn x16() -> Vec<f32> {
        (1..=16).map(|v| v as f32).collect()
    }

    #[test]
    fn max_and_average_2x2_stride2() {
        let g = PoolGeometry::new(&[1, 1, 4, 4], &window(&[2, 2], &[2, 2], &[], false)).unwrap();
        assert_eq!(
            pool(&g, PoolKind::Max, &x16()).unwrap(),
            vec![6.0, 8.0, 14.0, 16.0]
        );
        let avg = pool(
            &g,
            PoolKind::Average {
                count_include_pad: false,
            },
            &x16(),
        )
        .unwrap();
        assert_eq!(avg, vec![3.5, 5.5, 11.5, 13.5]);
    }

    #[test]
    fn ceil_mode_partial_last_window() {
        // 3x3 kernel, stride 2 over 4: floor gives 1 output, ceil gives 2; the second window
        // covers rows/cols 2..3 only (plus 1 beyond the input, which never counts).
        let g = PoolGeometry::new(&[1, 1, 4, 4], &window(&[3, 3], &[2, 2], &[], true)).unwrap();
        assert_eq!(g.output_shape(), vec![1, 1, 2, 2]);
        assert_eq!(
            pool(&g, PoolKind::Max, &x16()).unwrap(),
            vec![11.0, 12.0, 15.0, 16.0]
        );
        for count_include_pad in [false, true] {
            let avg = pool(&g, PoolKind::Average { count_include_pad }, &x16()).unwrap();
            // Window (1,1) = {11, 12, 15, 16}: mean 13.5 either way (no explicit padding).
            assert_eq!(avg[3], 13.5);
            assert_eq!(avg[0], 6.0);
        }
    }

    #[test]
    fn count_include_pad_changes_only_the_divisor() {
        // 3x3 kernel, pad 1, stride 1 over 2x2 of [1,2,3,4]: each window holds all 4 values.
        let g =
            PoolGeometry::new(&[1, 1, 2, 2], &window(&[3, 3], &[], &[1, 1, 1, 1], false)).unwrap();
        let x = [1.0, 2.0, 3.0, 4.0];
        let excl = pool(
            &g,
            PoolKind::Average {
                count_include_pad: false,
            },
            &x,
        )
        .unwrap();
        let incl = pool(
            &g,
            PoolKind::Average {
                count_include_pad: true,
            },
            &x,
        )
        .unwrap();
        assert_eq!(excl, vec![2.5; 4]);
        assert_eq!(incl, vec![10.0 / 9.0; 4]);
    }

    #[test]
    fn ceil_window_past_end_padding_is_not_counted() {
        // ONNX test_averagepool_2d_ceil_last_window_starts_on_pad in 1-D: input 2, pad 1 each
        // side, kernel 3, stride 3, ceil: one window over [pad, x0, x1] → (x0 + x1) / 3.
        let g = PoolGeometry::new(&[1, 1, 2], &window(&[3], &[3], &[1, 1], true)).unwrap();
        let y = pool(
            &g,
            PoolKind::Average {
                count_include_pad: true,
            },
            &[3.0, 6.0],
        )
        .unwrap();
        assert_eq!(y, vec![3.0]);
        // Kernel 3, stride 2, pad (0,1), ceil over 5: the third window covers [x4, pad, beyond
        // the padding] and divides by 2.
        let g = PoolGeometry::new(&[1, 1, 5], &window(&[3], &[2], &[0, 1], true)).unwrap();
        assert_eq!(g.output_shape(), vec![1, 1, 3]);
        let y = pool(
            &g,
            PoolKind::Average {
                count_include_pad: true,
            },
            &[1.0, 2.0, 3.0, 4.0, 5.0],
        )
        .unwrap();
        assert_eq!(y, vec![2.0, 4.0, 2.5]);
    }

    #[test]
    fn argmax_indices_row_and_column_major() {
        let g = PoolGeometry::new(&[1, 2, 2, 3], &window(&[2, 2], &[], &[], false)).unwrap();
        let x: Vec<f32> = (0..12).map(|v| v as f32).collect();
        let (v, i) = max_pool_with_indices(&g, &x, false).unwrap();
        assert_eq!(v, vec![4.0, 5.0, 10.0, 11.0]);
        assert_eq!(i, vec![4, 5, 10, 11]);
        // Column-major: (y, x) → x * 2 + y, plus the plane offset.
        let (_, i) = max_pool_with_indices(&g, &x, true).unwrap();
        assert_eq!(i, vec![3, 5, 9, 11]);
    }

    #[test]
    fn global_pools() {
        let x: Vec<f32> = (0..12).map(|v| v as f32).collect();
        let (s, y) = global_pool(GlobalPoolKind::Average, &x, &[1, 2, 2, 3]).unwrap();
        assert_eq!((s, y), (vec![1, 2, 1, 1], vec![2.5, 8.5]));
        let (s, y) = global_pool(GlobalPoolKind::Max, &x, &[2, 3, 2]).unwrap();
        assert_eq!((s, y), (vec![2, 3, 1], vec![1.0, 3.0, 5.0, 7.0, 9.0, 11.0]));
        assert!(global_pool(GlobalPoolKind::Max, &x, &[12, 1]).is_err());
    }

    #[test]
    fn bad_shapes_are_errors() {
        assert!(PoolGeometry::new(&[1, 4], &window(&[], &[], &[], false)).is_err());
        assert!(PoolGeometry::new(&[1, 1, 4, 4], &window(&[2], &[], &[], false)).is_err());
        assert!(PoolGeometry::new(&[1, 1, 1, 4], &window(&[2, 2], &[], &[], false)).is_err());
        let g = PoolGeometry::new(&[1, 1, 4, 4], &window(&[2, 2], &[], &[], false)).unwrap();
        assert!(pool(&g, PoolKind::Max, &[0.0; 3]).is_err());
    }
}
