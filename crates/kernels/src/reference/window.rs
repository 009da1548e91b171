//! Sliding-window geometry shared by convolution and pooling: resolving `auto_pad`, output
//! sizes (including pooling's `ceil_mode`), and which input element each window tap reads.
//! Both the kernels and the engine's shape inference call [`resolve_window`], so the size a
//! node is inferred to produce and the size it really produces can never disagree.
//!
//! This module also owns [`ShapeError`], the error every reference kernel returns when the
//! shapes or parameters it is given cannot be valid.

use std::fmt;
use std::ops::Range;

/// Raised when shapes or parameters given to a kernel are inconsistent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShapeError(pub String);

impl ShapeError {
    pub fn new(msg: impl Into<String>) -> ShapeError {
        ShapeError(msg.into())
    }
}

impl fmt::Display for ShapeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ShapeError {}

/// Shorthand for `Err(ShapeError::new(format!(...)))`.
macro_rules! shape_bail {
    ($($arg:tt)*) => { return Err($crate::reference::window::ShapeError::new(format!($($arg)*))) };
}
pub(crate) use shape_bail;

/// The ONNX `auto_pad` modes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AutoPad {
    /// Use the explicit `pads`.
    NotSet,
    /// Output size `ceil(input / stride)`; an odd total padding puts the extra element at the end.
    SameUpper,
    /// As `SameUpper`, but the extra element goes at the beginning.
    SameLower,
    /// No padding at all.
    Valid,
}

/// Window attributes as a model states them. Empty `strides`, `dilations` or `pads` mean the
/// ONNX defaults (1, 1 and 0); `pads` is `[begin..., end...]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WindowParams {
    pub kernel: Vec<usize>,
    pub strides: Vec<usize>,
    pub dilations: Vec<usize>,
    pub pads: Vec<usize>,
    pub auto_pad: AutoPad,
    /// Pooling only: round the output size up instead of down.
    pub ceil_mode: bool,
}

/// The resolved geometry of one spatial axis. Tap `k` of output `o` reads input position
/// `o * stride + k * dilation - pad_begin` (positions outside `0..input` are padding).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AxisGeometry {
    pub input: usize,
    pub kernel: usize,
    pub stride: usize,
    pub dilation: usize,
    pub pad_begin: usize,
    pub pad_end: usize,
    pub output: usize,
}

/// `[n, c, f(axis)...]`: the NC-prefixed shape of a windowed op's input, output or kernel.
pub fn nc_shape(
    n: usize,
    c: usize,
    axes: &[AxisGeometry],
    f: fn(&AxisGeometry) -> usize,
) -> Vec<usize> {
    let mut shape = vec![n, c];
    shape.extend(axes.iter().map(f));
    shape
}

/// The 1 to 3 spatial axes as exactly three, unit axes in front, so one 3-D loop serves all ranks.
pub fn axes3(axes: &[AxisGeometry]) -> [AxisGeometry; 3] {
    let mut out = [AxisGeometry::UNIT; 3];
    out[3 - axes.len()..].copy_from_slice(axes);
    out
}

impl AxisGeometry {
    /// A size-1 axis with a size-1 kernel: lets 1-D and 2-D windows run through 3-D loops.
    pub const UNIT: AxisGeometry = AxisGeometry {
        input: 1,
        kernel: 1,
        stride: 1,
        dilation: 1,
        pad_begin: 0,
        pad_end: 0,
        output: 1,
    };

    /// Position (in input coordinates; negative or `>= input` means padding) read by tap `k`
    /// of output `o`. Cannot overflow: [`resolve_axis`] bounds every term to `i64`.
    pub fn position(&self, o: usize, k: usize) -> i64 {
        (o * self.stride + k * self.dilation) as i64 - self.pad_begin as i64
    }

    /// The input index read by tap `k` of output `o`, or `None` when it falls in the padding.
    pub fn input_index(&self, o: usize, k: usize) -> Option<usize> {
        let p = self.position(o, k);
        (p >= 0 && p < self.input as i64).then_some(p as usize)
    }

    /// Whether tap `k` of output `o` lies inside the explicitly padded input (pooling with
    /// `ceil_mode` can have windows that run past even the end padding).
    pub fn in_padded_input(&self, o: usize, k: usize) -> bool {
        let p = self.position(o, k);
        p >= -(self.pad_begin as i64) && p < (self.input + self.pad_end) as i64
    }

    /// The outputs whose tap `k` reads a real input element (not padding): a contiguous range,
    /// which lets convolution run its inner loop without bounds tests.
    pub fn valid_outputs(&self, k: usize) -> Range<usize> {
        let offset = (k * self.dilation) as i64 - self.pad_begin as i64;
        let stride = self.stride as i64;
        // Smallest o with o * stride + offset >= 0.
        let lo = if offset >= 0 {
            0
        } else {
            (-offset + stride - 1) / stride
        };
        // One past the largest o with o * stride + offset <= input - 1.
        let last = self.input as i64 - 1 - offset;
        let hi = if last < 0 { 0 } else { last / stride + 1 };
        let hi = hi.min(self.output as i64) as usize;
        (lo as usize).min(hi)..hi
    }
}

/// Resolves every spatial axis of a window over `input` (the spatial dims only).
pub fn resolve_window(input: &[usize], p: &WindowParams) -> Result<Vec<AxisGeometry>, ShapeError> {
    let specs = axis_specs(p, input.len())?;
    input
        .iter()
        .zip(&specs)
        .enumerate()
        .map(|(i, (&n, spec))| {
            resolve_axis(n, spec).map_err(|e| ShapeError(format!("spatial axis {i}: {e}")))
        })
        .collect()
}

/// Splits window attributes into one [`AxisSpec`] per spatial axis, filling in the defaults
/// and checking that every list has the spatial rank's length.
pub fn axis_specs(p: &WindowParams, rank: usize) -> Result<Vec<AxisSpec>, ShapeError> {
    check_len("kernel_shape", p.kernel.len(), rank, false)?;
    check_len("strides", p.strides.len(), rank, true)?;
    check_len("dilations", p.dilations.len(), rank, true)?;
    check_len("pads", p.pads.len(), 2 * rank, true)?;
    let specs = (0..rank).map(|i| AxisSpec {
        kernel: p.kernel[i],
        stride: p.strides.get(i).copied().unwrap_or(1),
        dilation: p.dilations.get(i).copied().unwrap_or(1),
        pads: if p.pads.is_empty() {
            (0, 0)
        } else {
            (p.pads[i], p.pads[rank + i])
        },
        auto_pad: p.auto_pad,
        ceil_mode: p.ceil_mode,
    });
    Ok(specs.collect())
}

fn check_len(what: &str, len: usize, rank: usize, may_be_empty: bool) -> Result<(), ShapeError> {
    if len != rank && !(may_be_empty && len == 0) {
        shape_bail!("{what} has {len} values, expected {rank} for the input's spatial rank");
    }
    Ok(())
}

/// The attributes of one spatial axis.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AxisSpec {
    pub kernel: usize,
    pub stride: usize,
    pub dilation: usize,
    /// Explicit `(begin, end)` padding; ignored unless `auto_pad` is `NotSet`.
    pub pads: (usize, usize),
    pub auto_pad: AutoPad,
    pub ceil_mode: bool,
}

/// Output size and padding of one axis, following the ONNX Conv/MaxPool/AveragePool rules.
pub fn resolve_axis(input: usize, a: &AxisSpec) -> Result<AxisGeometry, ShapeError> {
    if a.kernel == 0 || a.stride == 0 || a.dilation == 0 {
        shape_bail!(
            "kernel ({}), stride ({}) and dilation ({}) must all be at least 1",
            a.kernel,
            a.stride,
            a.dilation
        );
    }
    let span = effective_kernel(a.kernel, a.dilation)?;
    let (output, pad_begin, pad_end) = match a.auto_pad {
        AutoPad::NotSet => (explicit_output(input, span, a)?, a.pads.0, a.pads.1),
        AutoPad::Valid => {
            if input < span {
                shape_bail!("window of extent {span} does not fit in input of size {input}");
            }
            ((input - span) / a.stride + 1, 0, 0)
        }
        AutoPad::SameUpper | AutoPad::SameLower => same_padding(input, span, a)?,
    };
    if output == 0 {
        shape_bail!("input of size {input} gives an empty output");
    }
    // Bound every term of `AxisGeometry::position` so that its i64 arithmetic cannot overflow.
    let reach = (output - 1)
        .checked_mul(a.stride)
        .and_then(|v| v.checked_add(span))
        .and_then(|v| v.checked_add(input))
        .and_then(|v| v.checked_add(pad_begin))
        .and_then(|v| v.checked_add(pad_end))
        .filter(|&v| i64::try_from(v).is_ok());
    if reach.is_none() {
        shape_bail!("window geometry is too large");
    }
    Ok(AxisGeometry {
        input,
        kernel: a.kernel,
        stride: a.stride,
        dilation: a.dilation,
        pad_begin,
        pad_end,
        output,
    })
}

/// The extent a dilated kernel covers: `(kernel - 1) * dilation + 1`.
fn effective_kernel(kernel: usize, dilation: usize) -> Result<usize, ShapeError> {
    (kernel - 1)
        .checked_mul(dilation)
        .and_then(|v| v.checked_add(1))
        .ok_or_else(|| ShapeError::new("dilated kernel extent overflows"))
}

/// Output size with explicit pads: `floor` (or `ceil`) of `(padded - span) / stride + 1`. In
/// ceil mode the last window must still start inside the input or its begin padding (as in
/// PyTorch and the ONNX reference); otherwise it is dropped.
fn explicit_output(input: usize, span: usize, a: &AxisSpec) -> Result<usize, ShapeError> {
    let padded = input
        .checked_add(a.pads.0)
        .and_then(|v| v.checked_add(a.pads.1))
        .ok_or_else(|| ShapeError::new("padded size overflows"))?;
    if padded < span {
        shape_bail!("window of extent {span} does not fit in padded input of size {padded}");
    }
    let room = padded - span;
    if !a.ceil_mode {
        return Ok(room / a.stride + 1);
    }
    let mut output = room.div_ceil(a.stride) + 1;
    if (output - 1) * a.stride >= input + a.pads.0 {
        output -= 1;
    }
    Ok(output)
}

/// `SAME_*` padding: output `ceil(input / stride)`, total padding just enough for the last
/// window (never negative, as ONNX Runtime clamps it), split evenly with the odd element at the
/// end (`SAME_UPPER`) or the beginning (`SAME_LOWER`). `ceil_mode` cannot change this size.
fn same_padding(
    input: usize,
    span: usize,
    a: &AxisSpec,
) -> Result<(usize, usize, usize), ShapeError> {
    let output = input.div_ceil(a.stride);
    if output == 0 {
        shape_bail!("input of size 0 gives an empty output");
    }
    let needed = (output - 1)
        .checked_mul(a.stride)
        .and_then(|v| v.checked_add(span))
        .ok_or_else(|| ShapeError::new("window geometry is too large"))?;
    let total = needed.saturating_sub(input);
    let (small, large) = (total / 2, total - total / 2);
    Ok(match a.auto_pad {
        AutoPad::SameLower => (output, large, small),
        _ => (output, small, large),
    })
}

/// Whether the output size equals the input size whatever the input size is (stride 1 and
/// padding that exactly compensates the window). Shape inference uses it to carry a symbolic
/// spatial dimension through a window; [`resolve_window`] agrees (tested below).
pub fn preserves_size(a: &AxisSpec) -> bool {
    if a.kernel == 0 || a.stride != 1 || a.dilation == 0 {
        return false;
    }
    let Ok(span) = effective_kernel(a.kernel, a.dilation) else {
        return false;
    };
    match a.auto_pad {
        AutoPad::SameUpper | AutoPad::SameLower => true,
        AutoPad::Valid => span == 1,
        AutoPad::NotSet => a.pads.0.checked_add(a.pads.1) == Some(span - 1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn spec(kernel: usize, stride: usize, pads: (usize, usize), ceil_mode: bool) -> AxisSpec {
        AxisSpec {
            kernel,
            stride,
            dilation: 1,
            pads,
            auto_pad: AutoPad::NotSet,
            ceil_mode,
        }
    }

    #[test]
    fn explicit_floor_and_ceil() {
        // 5 + 0 - 2 = 3 → floor(3/2)+1 = 2, ceil → 3.
        assert_eq!(
            resolve_axis(5, &spec(2, 2, (0, 0), false)).unwrap().output,
            2
        );
        assert_eq!(
            resolve_axis(5, &spec(2, 2, (0, 0), true)).unwrap().output,
            3
        );
    }

    #[test]
    fn ceil_mode_drops_window_starting_in_end_padding() {
        // ONNX test_averagepool_2d_ceil_last_window_starts_on_pad: 2 + 1 + 1 - 3 = 1,
        // ceil(1/3)+1 = 2, but window 1 would start at 3 - 1 = 2 = input: dropped.
        assert_eq!(
            resolve_axis(2, &spec(3, 3, (1, 1), true)).unwrap().output,
            1
        );
        // test_maxpool_2d_ceil_output_size_reduce_by_one: kernel 1, stride 2, input 2.
        assert_eq!(
            resolve_axis(2, &spec(1, 2, (0, 0), true)).unwrap().output,
            1
        );
    }

    #[test]
    fn same_upper_and_lower_split_odd_padding() {
        let mut a = spec(4, 1, (0, 0), false);
        a.auto_pad = AutoPad::SameUpper;
        let g = resolve_axis(7, &a).unwrap();
        assert_eq!((g.output, g.pad_begin, g.pad_end), (7, 1, 2));
        a.auto_pad = AutoPad::SameLower;
        let g = resolve_axis(7, &a).unwrap();
        assert_eq!((g.output, g.pad_begin, g.pad_end), (7, 2, 1));
        // Stride larger than the kernel: padding would be negative and is clamped to 0.
        a.kernel = 1;
        a.stride = 2;
        let g = resolve_axis(6, &a).unwrap();
        assert_eq!((g.output, g.pad_begin, g.pad_end), (3, 0, 0));
    }

    #[test]
    fn valid_ignores_pads() {
        let mut a = spec(3, 2, (5, 5), false);
        a.auto_pad = AutoPad::Valid;
        let g = resolve_axis(8, &a).unwrap();
        assert_eq!((g.output, g.pad_begin, g.pad_end), (3, 0, 0));
    }

    #[test]
    fn bad_geometry_is_an_error() {
        assert!(resolve_axis(2, &spec(3, 1, (0, 0), false)).is_err());
        assert!(resolve_axis(5, &spec(0, 1, (0, 0), false)).is_err());
        assert!(resolve_axis(5, &spec(2, 0, (0, 0), false)).is_err());
        assert!(resolve_axis(5, &spec(2, 1, (usize::MAX, 1), false)).is_err());
        let p = WindowParams {
            kernel: vec![3],
            strides: vec![],
            dilations: vec![],
            pads: vec![1],
            auto_pad: AutoPad::NotSet,
            ceil_mode: false,
        };
        assert!(resolve_window(&[5], &p).is_err());
    }

    #[test]
    fn valid_outputs_matches_input_index() {
        let g = resolve_axis(7, &spec(3, 2, (2, 1), false)).unwrap();
        for k in 0..3 {
            let expected: Vec<usize> = (0..g.output)
                .filter(|&o| g.input_index(o, k).is_some())
                .collect();
            assert_eq!(g.valid_outputs(k).collect::<Vec<_>>(), expected);
        }
    }

    fn any_spec() -> impl Strategy<Value = AxisSpec> {
        let mode = prop_oneof![
            Just(AutoPad::NotSet),
            Just(AutoPad::SameUpper),
            Just(AutoPad::SameLower),
            Just(AutoPad::Valid)
        ];
        (
            1..6usize,
            1..4usize,
            1..4usize,
            0..4usize,
            0..4usize,
            mode,
            any::<bool>(),
        )
            .prop_map(
                |(kernel, stride, dilation, pb, pe, auto_pad, ceil_mode)| AxisSpec {
                    kernel,
                    stride,
                    dilation,
                    pads: (pb, pe),
                    auto_pad,
                    ceil_mode,
                },
            )
    }

    proptest! {
        #[test]
        fn preserves_size_agrees_with_resolve(a in any_spec(), input in 1..40usize) {
            if preserves_size(&a) {
                prop_assert_eq!(resolve_axis(input, &a).unwrap().output, input);
            }
        }

        #[test]
        fn valid_outputs_is_exactly_the_in_bounds_taps(a in any_spec(), input in 1..40usize) {
            if let Ok(g) = resolve_axis(input, &a) {
                for k in 0..g.kernel {
                    let expected: Vec<usize> =
                        (0..g.output).filter(|&o| g.input_index(o, k).is_some()).collect();
                    prop_assert_eq!(g.valid_outputs(k).collect::<Vec<_>>(), expected);
                }
            }
        }

        #[test]
        fn every_window_starts_inside_input_or_begin_padding(
            a in any_spec(), input in 1..40usize
        ) {
            // An end padding at least as wide as the window may legitimately hold whole
            // windows (ceil mode drops only the one extra window it adds); smaller padding never
            // does, whatever the mode.
            let span = (a.kernel - 1) * a.dilation + 1;
            let checked = a.auto_pad != AutoPad::NotSet || a.pads.1 < span;
            if let (true, Ok(g)) = (checked, resolve_axis(input, &a)) {
                prop_assert!(g.position(g.output - 1, 0) < input as i64);
            }
        }
    }
}
