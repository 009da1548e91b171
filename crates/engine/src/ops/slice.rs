//! Slice: picks a strided range on some axes, with ONNX's clamping of out-of-range and
//! negative starts and ends. The output shape is computed once over [`Dim`]s and shared by
//! `eval` and `infer`; the element copying is done by the reference kernel.

use litecnn_kernels::fast::gather::gather_offsets;
use litecnn_kernels::reference::slice::{AxisRange, slice, slice_offsets};

use super::operands::{
    Operand, fact_dims, i64_fact, i64_input, known_or_absent, map_data, normalize_axes, out_facts,
    required_i64, tensor,
};
use super::{Facts, Kernels, OpError, required, required_facts};
use crate::ir::Dim;
use crate::op_bail;
use crate::tensor::Tensor;

/// One axis of a Slice request, as given (negative and out-of-range values not yet resolved).
struct AxisSlice {
    axis: usize,
    start: i64,
    end: i64,
    step: i64,
}

/// Pairs up starts/ends/axes/steps, checking lengths, axes (no repeats) and steps (non-zero).
fn slice_requests(
    rank: usize,
    starts: &[i64],
    ends: &[i64],
    axes: Option<&[i64]>,
    steps: Option<&[i64]>,
) -> Result<Vec<AxisSlice>, OpError> {
    let n = starts.len();
    let default_axes: Vec<i64> = (0..n as i64).collect();
    let axes = normalize_axes(axes.unwrap_or(&default_axes), rank)?;
    let ones = vec![1; n];
    let steps = steps.unwrap_or(&ones);
    if ends.len() != n || axes.len() != n || steps.len() != n {
        op_bail!(
            "starts, ends, axes and steps have different lengths ({n}, {}, {}, {})",
            ends.len(),
            axes.len(),
            steps.len()
        );
    }
    if steps.contains(&0) {
        op_bail!("steps {steps:?} contain 0");
    }
    Ok((0..n)
        .map(|i| AxisSlice {
            axis: axes[i],
            start: starts[i],
            end: ends[i],
            step: steps[i],
        })
        .collect())
}

/// The ONNX clamping rules: negative start/end count from the end; then start is clamped to
/// `[0, dim]` (`[0, dim-1]` stepping backwards) and end to `[0, dim]` (`[-1, dim-1]`).
/// Arithmetic is in i128 so the INT64 sentinels cannot overflow.
fn clamp_range(dim: usize, r: &AxisSlice) -> AxisRange {
    if dim == 0 {
        return AxisRange::full(0);
    }
    let d = dim as i128;
    let adjust = |v: i64| if v < 0 { v as i128 + d } else { v as i128 };
    let step = r.step as i128;
    let (start, len) = if step > 0 {
        let (s, e) = (adjust(r.start).clamp(0, d), adjust(r.end).clamp(0, d));
        (s, if e > s { (e - s + step - 1) / step } else { 0 })
    } else {
        let (s, e) = (
            adjust(r.start).clamp(0, d - 1),
            adjust(r.end).clamp(-1, d - 1),
        );
        (s, if s > e { (s - e - step - 1) / -step } else { 0 })
    };
    // With fewer than two elements the step is never taken; keeping it 1 avoids narrowing a
    // huge step to isize.
    let step = if len > 1 { r.step as isize } else { 1 };
    AxisRange {
        start: start as usize,
        step,
        len: len as usize,
    }
}

/// The channels a Slice of a 4-D NCHW value keeps, when it slices the channel axis alone, in
/// order and with step 1 (ShuffleNet's split): for running it channels-last.
pub(crate) fn channel_range(
    channels: usize,
    starts: &[i64],
    ends: &[i64],
    axes: Option<&[i64]>,
    steps: Option<&[i64]>,
) -> Option<std::ops::Range<usize>> {
    let requests = slice_requests(4, starts, ends, axes, steps).ok()?;
    let [r] = &requests[..] else { return None };
    if r.axis != 1 || r.step != 1 {
        return None;
    }
    let range = clamp_range(channels, r);
    Some(range.start..range.start + range.len)
}

/// The sliced dims. A symbolic dim survives only an untouched full forward slice.
fn slice_dims(dims: &[Dim], requests: &[AxisSlice]) -> Option<Vec<Dim>> {
    let mut out = dims.to_vec();
    for r in requests {
        out[r.axis] = match &dims[r.axis] {
            Dim::Known(d) => Dim::Known(clamp_range(*d, r).len),
            Dim::Symbol(_) if r.start == 0 && r.end == i64::MAX && r.step == 1 => continue,
            Dim::Symbol(_) => return None,
        };
    }
    Some(out)
}

pub(super) fn eval_slice(
    kernels: Kernels,
    inputs: &[Option<&Tensor>],
) -> Result<Vec<Tensor>, OpError> {
    let x = required(inputs, 0, "data")?;
    let starts = required_i64(inputs, 1, "starts")?;
    let ends = required_i64(inputs, 2, "ends")?;
    let axes = i64_input(inputs, 3, "axes")?;
    let steps = i64_input(inputs, 4, "steps")?;
    let requests = slice_requests(x.rank(), starts, ends, axes, steps)?;
    let mut ranges: Vec<AxisRange> = x.shape().iter().map(|&d| AxisRange::full(d)).collect();
    for r in &requests {
        ranges[r.axis] = clamp_range(x.shape()[r.axis], r);
    }
    let shape = ranges.iter().map(|r| r.len).collect();
    let data = match kernels {
        Kernels::Fast => {
            let offsets = slice_offsets(x.shape(), &ranges);
            map_data!(x.data(), |v| gather_offsets(v, &offsets))
        }
        Kernels::Reference => map_data!(x.data(), |v| slice(v, x.shape(), &ranges)),
    };
    Ok(vec![tensor(shape, data)?])
}

pub(super) fn infer_slice(inputs: &[Option<&Facts>]) -> Result<Vec<Facts>, OpError> {
    let x = required_facts(inputs, 0, "data")?;
    let operands = [
        i64_fact(inputs, 1, "starts")?,
        i64_fact(inputs, 2, "ends")?,
        i64_fact(inputs, 3, "axes")?,
        i64_fact(inputs, 4, "steps")?,
    ];
    if matches!(operands[0], Operand::Absent) || matches!(operands[1], Operand::Absent) {
        op_bail!("missing required input (starts or ends)");
    }
    let shape = match (operands, fact_dims(x)) {
        ([Operand::Known(s), Operand::Known(e), axes, steps], Some(dims)) => {
            match (known_or_absent(axes), known_or_absent(steps)) {
                (Some(axes), Some(steps)) => {
                    slice_dims(&dims, &slice_requests(dims.len(), s, e, axes, steps)?)
                }
                _ => None,
            }
        }
        _ => None,
    };
    Ok(vec![out_facts(x.dtype, shape)])
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use crate::ir::{Op, PadMode};
    use crate::ops::infer;
    use crate::ops::testing::*;
    use crate::tensor::DType;

    #[test]
    fn slice_spec_examples() {
        // data = [[1,2,3,4],[5,6,7,8]] as 0..8.
        let x = ramp(&[2, 4]);
        let y = slice(&x, &[1, 0], &[2, 3], Some(&[0, 1]), Some(&[1, 2])).unwrap();
        assert_eq!((y.shape(), f32s(&y)), (&[1usize, 2][..], vec![4.0, 6.0]));
        let y = slice(&x, &[0, 1], &[-1, 1000], None, None).unwrap();
        assert_eq!(
            (y.shape(), f32s(&y)),
            (&[1usize, 3][..], vec![1.0, 2.0, 3.0])
        );
    }

    #[test]
    fn slice_clamping_and_negative_steps() {
        let x = ramp(&[10]);
        let get =
            |s: i64, e: i64, step: i64| f32s(&slice(&x, &[s], &[e], None, Some(&[step])).unwrap());
        assert_eq!(get(-3, i64::MAX, 1), vec![7.0, 8.0, 9.0]);
        assert_eq!(
            get(i64::MAX, i64::MIN, -1),
            (0..10).rev().map(|i| i as f32).collect::<Vec<_>>()
        );
        assert_eq!(get(20, 1000, 1), Vec::<f32>::new());
        assert_eq!(get(-100, 2, 1), vec![0.0, 1.0]);
        assert_eq!(get(8, 1, -3), vec![8.0, 5.0, 2.0]);
        assert_eq!(get(5, -100, -2), vec![5.0, 3.0, 1.0]);
        assert_eq!(get(3, 3, 1), Vec::<f32>::new());
        assert_eq!(get(0, 10, i64::MAX), vec![0.0]);
        let empty = ramp(&[0]);
        assert_eq!(
            slice(&empty, &[-1], &[i64::MIN], None, Some(&[-1]))
                .unwrap()
                .shape(),
            &[0]
        );
    }

    #[test]
    fn slice_neg_steps_matches_onnx_test() {
        // test_slice_neg_steps: x[20,10,5], starts [20,10,4], ends [0,0,1], steps [-1,-3,-2].
        let x = ramp(&[20, 10, 5]);
        let y = slice(
            &x,
            &[20, 10, 4],
            &[0, 0, 1],
            Some(&[0, 1, 2]),
            Some(&[-1, -3, -2]),
        )
        .unwrap();
        assert_eq!(y.shape(), &[19, 3, 2]);
        // y[0][0] = x[19][9][4], x[19][9][2]
        assert_eq!(
            &f32s(&y)[..2],
            &[(19 * 50 + 9 * 5 + 4) as f32, (19 * 50 + 9 * 5 + 2) as f32]
        );
    }

    #[test]
    fn slice_rejects_bad_operands() {
        let x = ramp(&[2, 3]);
        assert!(
            slice(&x, &[0], &[1], None, Some(&[0])).is_err(),
            "zero step"
        );
        assert!(
            slice(&x, &[0, 0], &[1, 1], Some(&[1, -1]), None).is_err(),
            "repeated axis"
        );
        assert!(
            slice(&x, &[0], &[1, 2], None, None).is_err(),
            "length mismatch"
        );
        assert!(
            slice(&x, &[0], &[1], Some(&[2]), None).is_err(),
            "axis out of range"
        );
        assert!(
            run(&Op::Slice, &[Some(&x), Some(&ints(&[0]))]).is_err(),
            "ends missing"
        );
    }

    // Also covers Pad and Gather over a symbolic dim.
    #[test]
    fn symbolic_slice_pad_gather() {
        let n = || sym("N");
        let a = runtime(DType::F32, vec![n(), k(3)]);
        let full = [constant(&ints(&[0])), constant(&ints(&[i64::MAX]))];
        assert_eq!(
            infer_dims(&Op::Slice, &[Some(&a), Some(&full[0]), Some(&full[1])]).unwrap(),
            Some(vec![n(), k(3)])
        );
        let part = [constant(&ints(&[1])), constant(&ints(&[2]))];
        assert_eq!(
            infer_dims(&Op::Slice, &[Some(&a), Some(&part[0]), Some(&part[1])]).unwrap(),
            None
        );
        let pads = constant(&ints(&[0, 1, 0, 1]));
        let padded = infer_dims(
            &Op::Pad {
                mode: PadMode::Constant,
            },
            &[Some(&a), Some(&pads)],
        )
        .unwrap();
        assert_eq!(padded, Some(vec![n(), k(5)]));
        let idx = runtime(DType::I64, vec![k(2), sym("M")]);
        let g = infer_dims(&Op::Gather { axis: 1 }, &[Some(&a), Some(&idx)]).unwrap();
        assert_eq!(g, Some(vec![n(), k(2), sym("M")]));
    }

    // Also covers Pad and Split with operands known only at run time.
    #[test]
    fn unknown_operands_give_unknown_shapes() {
        let x = runtime(DType::F32, vec![k(4), k(4)]);
        let v = runtime(DType::I64, vec![k(1)]);
        let known = constant(&ints(&[1]));
        assert_eq!(
            infer_dims(&Op::Slice, &[Some(&x), Some(&v), Some(&known)]).unwrap(),
            None
        );
        assert_eq!(
            infer_dims(
                &Op::Slice,
                &[Some(&x), Some(&known), Some(&known), None, Some(&v)]
            )
            .unwrap(),
            None
        );
        assert_eq!(
            infer_dims(
                &Op::Pad {
                    mode: PadMode::Edge
                },
                &[Some(&x), Some(&v)]
            )
            .unwrap(),
            None
        );
        let parts = infer(&Op::Split { axis: 0 }, &[Some(&x), Some(&v)], 3).unwrap();
        assert!(
            parts.len() == 3
                && parts
                    .iter()
                    .all(|p| p.shape.is_none() && p.dtype == Some(DType::F32))
        );
        assert!(
            infer(&Op::Slice, &[Some(&x), Some(&known)], 1).is_err(),
            "ends missing"
        );
    }

    proptest! {
        // Every op that cuts or joins (Slice, Split, Concat, Pad, Gather), on one drawn input.
        #[test]
        fn slicing_infer_matches_eval(
            (shape, axis) in shape_and_axis(),
            nums in prop::collection::vec(-6i64..7, 8),
            mode in prop::sample::select(vec![PadMode::Constant, PadMode::Reflect, PadMode::Edge]),
        ) {
            let x = Some(ramp(&shape));
            let a = axis as i64;
            let step = if nums[2] == 0 { 1 } else { nums[2] };
            let slice_in = [x.clone(), Some(ints(&nums[..1])), Some(ints(&nums[1..2])), Some(ints(&[a])), Some(ints(&[step]))];
            assert_infer_matches_eval(&Op::Slice, &slice_in, 1, 1);
            let dim = shape[axis] as i64;
            let sizes = [nums[3].abs().min(dim), dim - nums[3].abs().min(dim)];
            assert_infer_matches_eval(&Op::Split { axis: a }, &[x.clone(), Some(ints(&sizes))], 1, 2);
            assert_infer_matches_eval(&Op::Split { axis: a - shape.len() as i64 }, std::slice::from_ref(&x), 1, 3);
            assert_infer_matches_eval(&Op::Concat { axis: a }, &[x.clone(), x.clone(), x.clone()], 3, 1);
            assert_infer_matches_eval(&Op::Pad { mode }, &[x.clone(), Some(ints(&nums[5..7])), None, Some(ints(&[a]))], 1, 1);
            // Mostly in range (negative ones too), sometimes not.
            let picks: Vec<i64> = nums[..3].iter().map(|&i| if dim > 0 && nums[7] != 0 { i % dim } else { i }).collect();
            let idx = ints(&picks).reshaped(vec![3, 1]).unwrap();
            assert_infer_matches_eval(&Op::Gather { axis: a }, &[x.clone(), Some(idx)], 1, 1);
        }
    }
}
