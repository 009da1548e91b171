//! Ops that cut tensors apart, join them, or pick parts of them: Concat, Split, Slice, Pad
//! and Gather.
//!
//! As in `layout.rs`, each op's output shape is computed once over [`Dim`]s and shared by
//! `eval` and `infer`; the element copying is done by the reference kernels.

use litecnn_kernels::reference::concat::{concat, split};
use litecnn_kernels::reference::gather::gather;
use litecnn_kernels::reference::pad::{self as kpad, AxisPad, pad};
use litecnn_kernels::reference::slice::{AxisRange, slice};

use super::layout::{
    Operand, check_created, concrete, fact, fact_dims, i64_fact, i64_input, known_dims, map_data,
    normalize_axes, out_facts, required_i64, show, tensor, to_size,
};
use super::{Facts, OpError, normalize_axis, required};
use crate::ir::{Dim, PadMode};
use crate::op_bail;
use crate::tensor::{DType, Tensor, TensorData};

// ---------------------------------------------------------------- Concat

/// Concat's output: the inputs agree on every axis but `axis`, whose sizes add up.
fn concat_dims(shapes: &[Vec<Dim>], axis: i64) -> Result<Option<Vec<Dim>>, OpError> {
    let Some(first) = shapes.first() else {
        op_bail!("Concat needs at least one input");
    };
    let a = normalize_axis(axis, first.len())?;
    let mut out = first.clone();
    for (i, s) in shapes.iter().enumerate().skip(1) {
        if s.len() != first.len() {
            op_bail!(
                "input {i} has shape {} but input 0 has rank {}",
                show(s),
                first.len()
            );
        }
        for (k, (o, d)) in out.iter_mut().zip(s).enumerate() {
            if k != a {
                *o = same_dim(o, d).ok_or_else(|| {
                    OpError::new(format!(
                        "input {i} has shape {} but input 0 has {}",
                        show(s),
                        show(first)
                    ))
                })?;
            }
        }
    }
    let along: Vec<&Dim> = shapes.iter().map(|s| &s[a]).collect();
    Ok(sum_dims(&along)?.map(|d| {
        out[a] = d;
        out
    }))
}

/// Two dims that must be equal: a known size wins over a symbol (which must equal it).
fn same_dim(a: &Dim, b: &Dim) -> Option<Dim> {
    match (a, b) {
        (Dim::Known(x), Dim::Known(y)) => (x == y).then_some(Dim::Known(*x)),
        (Dim::Known(_), Dim::Symbol(_)) => Some(a.clone()),
        (Dim::Symbol(_), _) => Some(b.clone()),
    }
}

/// The sum of dims, when expressible: all known, or one symbol plus zeros.
fn sum_dims(dims: &[&Dim]) -> Result<Option<Dim>, OpError> {
    let mut known = 0usize;
    let mut symbols = Vec::new();
    for d in dims {
        match d {
            Dim::Known(n) => {
                known = known
                    .checked_add(*n)
                    .ok_or_else(|| OpError::new("concatenated size overflows"))?
            }
            Dim::Symbol(_) => symbols.push(*d),
        }
    }
    Ok(match symbols.as_slice() {
        [] => Some(Dim::Known(known)),
        [s] if known == 0 => Some((*s).clone()),
        _ => None,
    })
}

pub(super) fn eval_concat(axis: i64, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>, OpError> {
    let ts: Vec<&Tensor> = (0..inputs.len())
        .map(|i| required(inputs, i, "input"))
        .collect::<Result<_, _>>()?;
    let shapes: Vec<Vec<Dim>> = ts.iter().map(|t| known_dims(t.shape())).collect();
    let shape = concrete(concat_dims(&shapes, axis)?)?;
    let a = normalize_axis(axis, shape.len())?;
    let data = match ts[0].dtype() {
        DType::F32 => TensorData::F32(concat(&typed_parts(&ts, Tensor::as_f32)?, a)),
        DType::I64 => TensorData::I64(concat(&typed_parts(&ts, Tensor::as_i64)?, a)),
    };
    Ok(vec![tensor(shape, data)?])
}

/// One concatenated input: its elements and its shape.
type Part<'a, T> = (&'a [T], &'a [usize]);

/// Every input's elements as `&[T]` with its shape; an input of another type is an error.
fn typed_parts<'a, T>(
    ts: &[&'a Tensor],
    get: fn(&'a Tensor) -> Option<&'a [T]>,
) -> Result<Vec<Part<'a, T>>, OpError> {
    ts.iter()
        .enumerate()
        .map(|(i, t)| match get(t) {
            Some(d) => Ok((d, t.shape())),
            None => Err(OpError::new(format!(
                "input {i} is {} but input 0 is {}",
                t.dtype(),
                ts[0].dtype()
            ))),
        })
        .collect()
}

pub(super) fn infer_concat(axis: i64, inputs: &[Option<&Facts>]) -> Result<Vec<Facts>, OpError> {
    let fs: Vec<&Facts> = (0..inputs.len())
        .map(|i| fact(inputs, i, "input"))
        .collect::<Result<_, _>>()?;
    let mut dtype = None;
    for (i, f) in fs.iter().enumerate() {
        match (dtype, f.dtype) {
            (Some(d), Some(e)) if d != e => {
                op_bail!("input {i} is {e} but an earlier input is {d}")
            }
            (None, e) => dtype = e,
            _ => {}
        }
    }
    let shapes: Option<Vec<Vec<Dim>>> = fs.iter().map(|f| fact_dims(f)).collect();
    let shape = match shapes {
        Some(shapes) => concat_dims(&shapes, axis)?,
        None => None,
    };
    Ok(vec![out_facts(dtype, shape)])
}

// ---------------------------------------------------------------- Split

/// The part sizes along the split axis: the `split` operand, or `num_outputs` parts of
/// `ceil(dim / num_outputs)` with the remainder last. `None` when not knowable yet.
fn split_sizes(
    dim: &Dim,
    sizes: Operand,
    num_outputs: usize,
) -> Result<Option<Vec<usize>>, OpError> {
    if num_outputs == 0 {
        op_bail!("Split needs at least one output");
    }
    match (sizes, dim) {
        (Operand::Unknown, _) | (Operand::Absent, Dim::Symbol(_)) => Ok(None),
        (Operand::Absent, Dim::Known(d)) => Ok(Some(even_parts(*d, num_outputs))),
        (Operand::Known(split), _) => explicit_parts(dim, split, num_outputs).map(Some),
    }
}

/// `n` parts of `ceil(dim / n)`; the last parts take what is left (possibly nothing).
fn even_parts(dim: usize, n: usize) -> Vec<usize> {
    let chunk = dim.div_ceil(n);
    let mut left = dim;
    (0..n)
        .map(|_| {
            let part = chunk.min(left);
            left -= part;
            part
        })
        .collect()
}

fn explicit_parts(dim: &Dim, split: &[i64], num_outputs: usize) -> Result<Vec<usize>, OpError> {
    if split.len() != num_outputs {
        op_bail!(
            "split {split:?} has {} sizes for {num_outputs} outputs",
            split.len()
        );
    }
    let sizes: Vec<usize> = split
        .iter()
        .map(|&s| to_size(s, "split size"))
        .collect::<Result<_, _>>()?;
    let total = sizes
        .iter()
        .try_fold(0usize, |a, &s| a.checked_add(s))
        .ok_or_else(|| OpError::new("split sizes overflow"))?;
    if let Dim::Known(d) = dim
        && total != *d
    {
        op_bail!("split {split:?} sums to {total}, but the axis has size {d}");
    }
    Ok(sizes)
}

pub(super) fn eval_split(
    axis: i64,
    inputs: &[Option<&Tensor>],
    num_outputs: usize,
) -> Result<Vec<Tensor>, OpError> {
    let x = required(inputs, 0, "input")?;
    let a = normalize_axis(axis, x.rank())?;
    let operand = i64_input(inputs, 1, "split")?.map_or(Operand::Absent, Operand::Known);
    let sizes = concrete_sizes(split_sizes(
        &Dim::Known(x.shape()[a]),
        operand,
        num_outputs,
    )?)?;
    let pieces: Vec<TensorData> = match x.data() {
        TensorData::F32(v) => split(v, x.shape(), a, &sizes)
            .into_iter()
            .map(TensorData::F32)
            .collect(),
        TensorData::I64(v) => split(v, x.shape(), a, &sizes)
            .into_iter()
            .map(TensorData::I64)
            .collect(),
    };
    sizes
        .iter()
        .zip(pieces)
        .map(|(&size, data)| {
            let mut shape = x.shape().to_vec();
            shape[a] = size;
            tensor(shape, data)
        })
        .collect()
}

fn concrete_sizes(sizes: Option<Vec<usize>>) -> Result<Vec<usize>, OpError> {
    sizes.ok_or_else(|| OpError::new("internal: split sizes unknown for concrete inputs"))
}

pub(super) fn infer_split(
    axis: i64,
    inputs: &[Option<&Facts>],
    num_outputs: usize,
) -> Result<Vec<Facts>, OpError> {
    let x = fact(inputs, 0, "input")?;
    let operand = i64_fact(inputs, 1, "split")?;
    let unknown = vec![out_facts(x.dtype, None); num_outputs];
    let Some(dims) = fact_dims(x) else {
        return Ok(unknown);
    };
    let a = normalize_axis(axis, dims.len())?;
    let Some(sizes) = split_sizes(&dims[a], operand, num_outputs)? else {
        return Ok(unknown);
    };
    let part = |size: usize| {
        let mut d = dims.clone();
        d[a] = Dim::Known(size);
        out_facts(x.dtype, Some(d))
    };
    Ok(sizes.into_iter().map(part).collect())
}

// ---------------------------------------------------------------- Slice

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

pub(super) fn eval_slice(inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>, OpError> {
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
    let data = map_data!(x.data(), |v| slice(v, x.shape(), &ranges));
    Ok(vec![tensor(shape, data)?])
}

pub(super) fn infer_slice(inputs: &[Option<&Facts>]) -> Result<Vec<Facts>, OpError> {
    let x = fact(inputs, 0, "data")?;
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

/// An optional operand's value: `Some(None)` when absent, `None` when not known yet.
fn known_or_absent<'a>(op: Operand<'a>) -> Option<Option<&'a [i64]>> {
    match op {
        Operand::Absent => Some(None),
        Operand::Known(v) => Some(Some(v)),
        Operand::Unknown => None,
    }
}

// ---------------------------------------------------------------- Pad

/// Per-axis pads from `pads` (`[begin..., end...]` over `axes`, by default every axis).
fn axis_pads(rank: usize, pads: &[i64], axes: Option<&[i64]>) -> Result<Vec<AxisPad>, OpError> {
    let axes = match axes {
        Some(a) => normalize_axes(a, rank)?,
        None => (0..rank).collect(),
    };
    let n = axes.len();
    if pads.len() != 2 * n {
        op_bail!(
            "pads {pads:?} should have {} entries (begin and end for {n} axes)",
            2 * n
        );
    }
    let mut out = vec![AxisPad { begin: 0, end: 0 }; rank];
    for (i, &a) in axes.iter().enumerate() {
        out[a] = AxisPad {
            begin: pads[i],
            end: pads[n + i],
        };
    }
    Ok(out)
}

/// One padded dim. Crops larger than the dim, and reflect/edge padding of an axis left empty
/// (there is nothing to copy), are errors. A symbolic dim survives only zero pads.
fn padded_dim(dim: &Dim, p: AxisPad, mode: PadMode) -> Result<Option<Dim>, OpError> {
    let n = match dim {
        Dim::Known(n) => *n,
        Dim::Symbol(_) if p.begin == 0 && p.end == 0 => return Ok(Some(dim.clone())),
        Dim::Symbol(_) => return Ok(None),
    };
    let crop_only = AxisPad {
        begin: p.begin.min(0),
        end: p.end.min(0),
    };
    let (Some(len), Some(kept)) = (p.padded_len(n), crop_only.padded_len(n)) else {
        op_bail!(
            "pads ({}, {}) crop more than the axis size {n}",
            p.begin,
            p.end
        );
    };
    if mode != PadMode::Constant && kept == 0 && (p.begin > 0 || p.end > 0) {
        op_bail!("cannot pad an empty axis in {mode:?} mode: there is nothing to copy");
    }
    Ok(Some(Dim::Known(len)))
}

fn pad_dims(dims: &[Dim], pads: &[AxisPad], mode: PadMode) -> Result<Option<Vec<Dim>>, OpError> {
    let out: Option<Vec<Dim>> = dims
        .iter()
        .zip(pads)
        .map(|(d, p)| padded_dim(d, *p, mode))
        .collect::<Result<_, _>>()?;
    if let Some(out) = &out {
        check_created(out)?;
    }
    Ok(out)
}

/// The fill value: the optional scalar input 2, of the data's type, else 0.
fn fill_value<'a, T: Copy + Default>(
    inputs: &[Option<&'a Tensor>],
    get: fn(&'a Tensor) -> Option<&'a [T]>,
) -> Result<T, OpError> {
    let Some(c) = inputs.get(2).copied().flatten() else {
        return Ok(T::default());
    };
    match get(c) {
        Some([v]) => Ok(*v),
        Some(_) => op_bail!(
            "constant_value must hold one element, got shape {:?}",
            c.shape()
        ),
        None => op_bail!("constant_value is {} but the data is not", c.dtype()),
    }
}

fn kernel_mode<T>(mode: PadMode, fill: T) -> kpad::PadMode<T> {
    match mode {
        PadMode::Constant => kpad::PadMode::Constant(fill),
        PadMode::Reflect => kpad::PadMode::Reflect,
        PadMode::Edge => kpad::PadMode::Edge,
    }
}

pub(super) fn eval_pad(mode: PadMode, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>, OpError> {
    let x = required(inputs, 0, "data")?;
    let pads = axis_pads(
        x.rank(),
        required_i64(inputs, 1, "pads")?,
        i64_input(inputs, 3, "axes")?,
    )?;
    let shape = concrete(pad_dims(&known_dims(x.shape()), &pads, mode)?)?;
    let data = match x.data() {
        TensorData::F32(v) => TensorData::F32(pad(
            v,
            x.shape(),
            &pads,
            kernel_mode(mode, fill_value(inputs, Tensor::as_f32)?),
        )),
        TensorData::I64(v) => TensorData::I64(pad(
            v,
            x.shape(),
            &pads,
            kernel_mode(mode, fill_value(inputs, Tensor::as_i64)?),
        )),
    };
    Ok(vec![tensor(shape, data)?])
}

pub(super) fn infer_pad(inputs: &[Option<&Facts>]) -> Result<Vec<Facts>, OpError> {
    let x = fact(inputs, 0, "data")?;
    if let (Some(c), Some(d)) = (
        inputs.get(2).copied().flatten().and_then(|c| c.dtype),
        x.dtype,
    ) && c != d
    {
        op_bail!("constant_value is {c} but the data is {d}");
    }
    let pads = i64_fact(inputs, 1, "pads")?;
    let axes = known_or_absent(i64_fact(inputs, 3, "axes")?);
    let shape = match (pads, axes, fact_dims(x)) {
        (Operand::Absent, _, _) => op_bail!("missing required input 1 (pads)"),
        (Operand::Known(p), Some(axes), Some(dims)) => {
            let pads = axis_pads(dims.len(), p, axes)?;
            // Mode only matters for the empty-axis check; Constant never rejects, so infer
            // cannot tell the modes apart here and defers that check to eval.
            pad_dims(&dims, &pads, PadMode::Constant)?
        }
        _ => None,
    };
    Ok(vec![out_facts(x.dtype, shape)])
}

// ---------------------------------------------------------------- Gather

/// `data[..axis] ++ indices ++ data[axis + 1..]`.
fn gather_dims(data: &[Dim], indices: &[Dim], axis: usize) -> Result<Vec<Dim>, OpError> {
    let out: Vec<Dim> = data[..axis]
        .iter()
        .chain(indices)
        .chain(&data[axis + 1..])
        .cloned()
        .collect();
    check_created(&out)?;
    Ok(out)
}

/// Resolves a possibly negative index into `[0, dim)`.
fn resolve_index(i: i64, dim: usize, axis: usize) -> Result<usize, OpError> {
    let d = dim as i128;
    let j = if i < 0 { i as i128 + d } else { i as i128 };
    if !(0..d).contains(&j) {
        op_bail!("index {i} is out of range for axis {axis} of size {dim}");
    }
    Ok(j as usize)
}

pub(super) fn eval_gather(axis: i64, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>, OpError> {
    let x = required(inputs, 0, "data")?;
    let idx = required(inputs, 1, "indices")?;
    let Some(indices) = idx.as_i64() else {
        op_bail!("input 1 (indices) must be int64, got {}", idx.dtype());
    };
    let a = normalize_axis(axis, x.rank())?;
    let dim = x.shape()[a];
    let resolved: Vec<usize> = indices
        .iter()
        .map(|&i| resolve_index(i, dim, a))
        .collect::<Result<_, _>>()?;
    let shape = concrete(Some(gather_dims(
        &known_dims(x.shape()),
        &known_dims(idx.shape()),
        a,
    )?))?;
    let data = map_data!(x.data(), |v| gather(v, x.shape(), a, &resolved));
    Ok(vec![tensor(shape, data)?])
}

pub(super) fn infer_gather(axis: i64, inputs: &[Option<&Facts>]) -> Result<Vec<Facts>, OpError> {
    let x = fact(inputs, 0, "data")?;
    let idx = fact(inputs, 1, "indices")?;
    if let Some(d) = idx.dtype.filter(|&d| d != DType::I64) {
        op_bail!("input 1 (indices) must be int64, got {d}");
    }
    let (Some(dims), Some(idx_dims)) = (fact_dims(x), fact_dims(idx)) else {
        return Ok(vec![out_facts(x.dtype, None)]);
    };
    let a = normalize_axis(axis, dims.len())?;
    // Indices known at load time are checked now, so a bad model fails to load.
    if let (Some(v), Dim::Known(d)) = (idx.value.as_deref().and_then(Tensor::as_i64), &dims[a]) {
        for &i in v {
            resolve_index(i, *d, a)?;
        }
    }
    Ok(vec![out_facts(
        x.dtype,
        Some(gather_dims(&dims, &idx_dims, a)?),
    )])
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::super::layout::testing::*;
    use crate::ir::{Op, PadMode};
    use crate::ops::{eval, infer};
    use crate::tensor::{DType, Tensor};

    fn f32s(t: &Tensor) -> Vec<f32> {
        t.as_f32().unwrap().to_vec()
    }

    #[test]
    fn concat_axes_and_types() {
        let a = ramp(&[2, 2]);
        let b = f32t(&[2, 1], vec![10.0, 11.0]);
        let y = run(&Op::Concat { axis: -1 }, &[Some(&a), Some(&b)]).unwrap();
        assert_eq!(
            (y.shape(), f32s(&y)),
            (&[2usize, 3][..], vec![0.0, 1.0, 10.0, 2.0, 3.0, 11.0])
        );
        let s = run(
            &Op::Concat { axis: 0 },
            &[Some(&ints(&[1, 2])), Some(&ints(&[])), Some(&ints(&[3]))],
        )
        .unwrap();
        assert_eq!(s, ints(&[1, 2, 3]));
        let empty = ramp(&[0, 2]);
        assert_eq!(
            run(&Op::Concat { axis: 0 }, &[Some(&empty), Some(&a)]).unwrap(),
            a
        );
        assert!(
            run(&Op::Concat { axis: 0 }, &[Some(&a), Some(&b)]).is_err(),
            "widths differ"
        );
        assert!(
            run(&Op::Concat { axis: 0 }, &[Some(&a), Some(&ramp(&[2]))]).is_err(),
            "ranks differ"
        );
        assert!(
            run(
                &Op::Concat { axis: 0 },
                &[Some(&ints(&[1])), Some(&ramp(&[1]))]
            )
            .is_err(),
            "types differ"
        );
        assert!(
            run(&Op::Concat { axis: 2 }, &[Some(&a)]).is_err(),
            "axis out of range"
        );
        assert!(run(&Op::Concat { axis: 0 }, &[]).is_err(), "no inputs");
        assert!(
            run(&Op::Concat { axis: 0 }, &[Some(&Tensor::scalar_f32(1.0))]).is_err(),
            "scalar"
        );
    }

    #[test]
    fn split_sizes() {
        let x = f32t(&[7], (1..=7).map(|i| i as f32).collect());
        let parts = eval(&Op::Split { axis: 0 }, &[Some(&x)], 4).unwrap();
        let got: Vec<Vec<f32>> = parts.iter().map(f32s).collect();
        assert_eq!(
            got,
            vec![vec![1.0, 2.0], vec![3.0, 4.0], vec![5.0, 6.0], vec![7.0]]
        );
        // ceil(5/4) = 2 leaves nothing for the last part.
        let five = ramp(&[5]);
        let parts = eval(&Op::Split { axis: 0 }, &[Some(&five)], 4).unwrap();
        assert_eq!(
            parts.iter().map(|p| p.len()).collect::<Vec<_>>(),
            vec![2, 2, 1, 0]
        );
        let m = ramp(&[2, 6]);
        let parts = eval(
            &Op::Split { axis: -1 },
            &[Some(&m), Some(&ints(&[2, 4]))],
            2,
        )
        .unwrap();
        assert_eq!(
            (parts[0].shape(), f32s(&parts[0])),
            (&[2usize, 2][..], vec![0.0, 1.0, 6.0, 7.0])
        );
        assert_eq!(parts[1].shape(), &[2, 4]);
        let zero = eval(
            &Op::Split { axis: 0 },
            &[Some(&ramp(&[0])), Some(&ints(&[0, 0, 0]))],
            3,
        )
        .unwrap();
        assert!(zero.iter().all(|p| p.shape() == [0]));
        for bad in [vec![2, 3], vec![1, 4], vec![7, -1], vec![6]] {
            assert!(
                eval(&Op::Split { axis: 1 }, &[Some(&m), Some(&ints(&bad))], 2).is_err(),
                "{bad:?}"
            );
        }
        assert!(eval(&Op::Split { axis: 0 }, &[Some(&m)], 0).is_err());
    }

    fn slice(
        x: &Tensor,
        starts: &[i64],
        ends: &[i64],
        axes: Option<&[i64]>,
        steps: Option<&[i64]>,
    ) -> Result<Tensor, crate::ops::OpError> {
        let (s, e) = (ints(starts), ints(ends));
        let (a, st) = (axes.map(ints), steps.map(ints));
        run(
            &Op::Slice,
            &[Some(x), Some(&s), Some(&e), a.as_ref(), st.as_ref()],
        )
    }

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

    fn pad(
        x: &Tensor,
        mode: PadMode,
        pads: &[i64],
        value: Option<&Tensor>,
        axes: Option<&[i64]>,
    ) -> Result<Tensor, crate::ops::OpError> {
        let p = ints(pads);
        let a = axes.map(ints);
        run(&Op::Pad { mode }, &[Some(x), Some(&p), value, a.as_ref()])
    }

    #[test]
    fn pad_modes() {
        let x = f32t(&[3, 2], vec![1.0, 1.2, 2.3, 3.4, 4.5, 5.7]);
        let c = pad(&x, PadMode::Constant, &[0, 2, 0, 0], None, None).unwrap();
        assert_eq!(
            f32s(&c),
            vec![0.0, 0.0, 1.0, 1.2, 0.0, 0.0, 2.3, 3.4, 0.0, 0.0, 4.5, 5.7]
        );
        let r = pad(&x, PadMode::Reflect, &[0, 2, 0, 0], None, None).unwrap();
        assert_eq!(
            f32s(&r),
            vec![1.0, 1.2, 1.0, 1.2, 2.3, 3.4, 2.3, 3.4, 4.5, 5.7, 4.5, 5.7]
        );
        let e = pad(&x, PadMode::Edge, &[1, 0, 0, 1], None, None).unwrap();
        assert_eq!(e.shape(), &[4, 3]);
        assert_eq!(&f32s(&e)[..6], &[1.0, 1.2, 1.2, 1.0, 1.2, 1.2]);
        let i = pad(
            &ints(&[1, 2]),
            PadMode::Constant,
            &[1, 1],
            Some(&Tensor::scalar_i64(-7)),
            None,
        )
        .unwrap();
        assert_eq!(i, ints(&[-7, 1, 2, -7]));
    }

    #[test]
    fn pad_axes_like_onnx_test() {
        // test_constant_pad_axes / _negative_axes: [1,3,4,5], pads [0,3,0,4] on axes [1,3].
        let x = ramp(&[1, 3, 4, 5]);
        let v = Tensor::scalar_f32(1.2);
        for axes in [[1, 3], [-3, -1]] {
            let y = pad(&x, PadMode::Constant, &[0, 3, 0, 4], Some(&v), Some(&axes)).unwrap();
            assert_eq!(y.shape(), &[1, 3, 4, 12]);
            assert_eq!(
                &f32s(&y)[..12],
                &[1.2, 1.2, 1.2, 0.0, 1.0, 2.0, 3.0, 4.0, 1.2, 1.2, 1.2, 1.2]
            );
        }
    }

    #[test]
    fn pad_crops_and_rejects() {
        let x = ramp(&[4]);
        assert_eq!(
            f32s(&pad(&x, PadMode::Constant, &[-1, -2], None, None).unwrap()),
            vec![1.0]
        );
        assert_eq!(
            f32s(&pad(&x, PadMode::Edge, &[-1, 2], None, None).unwrap()),
            vec![1.0, 2.0, 3.0, 3.0, 3.0]
        );
        assert!(
            pad(&x, PadMode::Constant, &[-3, -2], None, None).is_err(),
            "crop too much"
        );
        assert!(
            pad(&x, PadMode::Constant, &[1], None, None).is_err(),
            "pads length"
        );
        assert!(
            pad(
                &x,
                PadMode::Constant,
                &[1, 1],
                Some(&Tensor::scalar_i64(1)),
                None
            )
            .is_err(),
            "value type"
        );
        assert!(
            pad(&x, PadMode::Constant, &[1, 1], Some(&ramp(&[2])), None).is_err(),
            "value size"
        );
        assert!(
            pad(&x, PadMode::Reflect, &[-4, 1], None, None).is_err(),
            "nothing to reflect"
        );
        assert!(
            pad(&x, PadMode::Constant, &[0, 1 << 40], None, None).is_err(),
            "absurd size"
        );
        assert!(pad(&x, PadMode::Constant, &[i64::MIN, i64::MAX], None, None).is_err());
        assert!(
            pad(&x, PadMode::Constant, &[0, 0], None, Some(&[0, 0])).is_err(),
            "repeated axis"
        );
    }

    #[test]
    fn gather_like_onnx_tests() {
        let x = ramp(&[10]);
        let y = run(
            &Op::Gather { axis: 0 },
            &[Some(&x), Some(&ints(&[0, -9, -10]))],
        )
        .unwrap();
        assert_eq!(f32s(&y), vec![0.0, 1.0, 0.0]);
        let data = ramp(&[5, 4, 3, 2]);
        let y = run(
            &Op::Gather { axis: 1 },
            &[Some(&data), Some(&ints(&[0, 1, 3]))],
        )
        .unwrap();
        assert_eq!(y.shape(), &[5, 3, 3, 2]);
        let idx2 = ints(&[1, 0, 2, 1]).reshaped(vec![2, 2]).unwrap();
        let m = ramp(&[3, 3]);
        let y = run(&Op::Gather { axis: -1 }, &[Some(&m), Some(&idx2)]).unwrap();
        assert_eq!(y.shape(), &[3, 2, 2]);
        assert_eq!(&f32s(&y)[..4], &[1.0, 0.0, 2.0, 1.0]);
        // The shape-arithmetic case: one dim of an int64 shape as a scalar.
        let shape = ints(&[8, 3, 224, 224]);
        let d = run(
            &Op::Gather { axis: 0 },
            &[Some(&shape), Some(&Tensor::scalar_i64(-1))],
        )
        .unwrap();
        assert_eq!(d, Tensor::scalar_i64(224));
    }

    #[test]
    fn gather_rejects() {
        let x = ramp(&[3]);
        assert!(run(&Op::Gather { axis: 0 }, &[Some(&x), Some(&ints(&[3]))]).is_err());
        assert!(run(&Op::Gather { axis: 0 }, &[Some(&x), Some(&ints(&[-4]))]).is_err());
        assert!(run(&Op::Gather { axis: 1 }, &[Some(&x), Some(&ints(&[0]))]).is_err());
        assert!(run(&Op::Gather { axis: 0 }, &[Some(&x), Some(&ramp(&[1]))]).is_err());
        assert!(
            run(
                &Op::Gather { axis: 0 },
                &[Some(&Tensor::scalar_f32(1.0)), Some(&ints(&[0]))]
            )
            .is_err()
        );
        let x = runtime(DType::F32, vec![k(3)]);
        let bad = constant(&ints(&[5]));
        assert!(
            infer(&Op::Gather { axis: 0 }, &[Some(&x), Some(&bad)], 1).is_err(),
            "checked at load"
        );
    }

    #[test]
    fn symbolic_concat_and_split() {
        let n = || sym("N");
        let a = runtime(DType::F32, vec![n(), k(3)]);
        let b = runtime(DType::F32, vec![n(), k(5)]);
        let cat = |axis| infer_dims(&Op::Concat { axis }, &[Some(&a), Some(&b)]);
        assert_eq!(cat(1).unwrap(), Some(vec![n(), k(8)]));
        assert!(cat(0).is_err(), "3 != 5");
        let c = runtime(DType::F32, vec![k(2), k(3)]);
        assert_eq!(
            infer_dims(&Op::Concat { axis: 0 }, &[Some(&a), Some(&c)]).unwrap(),
            None
        );
        let parts = infer(&Op::Split { axis: 1 }, &[Some(&b)], 2).unwrap();
        assert_eq!(parts[1].shape, Some(vec![n(), k(2)]));
        let parts = infer(
            &Op::Split { axis: 0 },
            &[Some(&b), Some(&constant(&ints(&[1, 2])))],
            2,
        )
        .unwrap();
        assert_eq!(
            parts[1].shape,
            Some(vec![k(2), k(5)]),
            "explicit sizes fix a symbolic axis"
        );
    }

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

    fn shape_and_axis() -> impl Strategy<Value = (Vec<usize>, usize)> {
        prop::collection::vec(0usize..5, 1..5).prop_flat_map(|s| {
            let rank = s.len();
            (Just(s), 0..rank)
        })
    }

    proptest! {
        #[test]
        fn split_then_concat_is_identity((shape, axis) in shape_and_axis(), parts in 1usize..4) {
            let x = ramp(&shape);
            let pieces = eval(&Op::Split { axis: axis as i64 }, &[Some(&x)], parts).unwrap();
            let refs: Vec<Option<&Tensor>> = pieces.iter().map(Some).collect();
            prop_assert_eq!(run(&Op::Concat { axis: axis as i64 }, &refs).unwrap(), x);
        }

        #[test]
        fn constant_pad_then_slice_back((shape, _) in shape_and_axis(), begin in prop::collection::vec(0i64..3, 4), end in prop::collection::vec(0i64..3, 4)) {
            let x = ramp(&shape);
            let r = shape.len();
            let pads: Vec<i64> = begin[..r].iter().chain(&end[..r]).copied().collect();
            let y = pad(&x, PadMode::Constant, &pads, Some(&Tensor::scalar_f32(-1.0)), None).unwrap();
            let ends: Vec<i64> = (0..r).map(|i| begin[i] + shape[i] as i64).collect();
            prop_assert_eq!(slice(&y, &begin[..r], &ends, None, None).unwrap(), x);
        }

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
