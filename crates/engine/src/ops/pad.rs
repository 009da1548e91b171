//! Pad: grows (or, with negative pads, crops) axes, filling with a constant or copying by
//! reflection or from the edge. The output shape is computed once over [`Dim`]s and shared by
//! `eval` and `infer`; the element copying is done by the reference kernel.

use litecnn_kernels::reference::pad::{self as kpad, AxisPad, pad};

use super::operands::{
    Operand, check_created, concrete, fact_dims, i64_fact, i64_input, known_dims, known_or_absent,
    normalize_axes, out_facts, required_i64, tensor,
};
use super::{Facts, OpError, required, required_facts};
use crate::ir::{Dim, PadMode};
use crate::op_bail;
use crate::tensor::{Tensor, TensorData};

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
        TensorData::F32(v) => TensorData::F32(
            pad(
                v,
                x.shape(),
                &pads,
                kernel_mode(mode, fill_value(inputs, Tensor::as_f32)?),
            )
            .into(),
        ),
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
    let x = required_facts(inputs, 0, "data")?;
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

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use crate::ir::{Op, PadMode};
    use crate::ops::testing::*;
    use crate::tensor::Tensor;

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

    proptest! {
        #[test]
        fn constant_pad_then_slice_back((shape, _) in shape_and_axis(), begin in prop::collection::vec(0i64..3, 4), end in prop::collection::vec(0i64..3, 4)) {
            let x = ramp(&shape);
            let r = shape.len();
            let pads: Vec<i64> = begin[..r].iter().chain(&end[..r]).copied().collect();
            let y = pad(&x, PadMode::Constant, &pads, Some(&Tensor::scalar_f32(-1.0)), None).unwrap();
            let ends: Vec<i64> = (0..r).map(|i| begin[i] + shape[i] as i64).collect();
            prop_assert_eq!(slice(&y, &begin[..r], &ends, None, None).unwrap(), x);
        }
    }
}
