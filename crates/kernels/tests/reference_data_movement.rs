//! Property tests of the data-movement reference kernels: each is checked against its inverse
//! or against a naive per-element index computation.

use litecnn_kernels::reference::concat::{concat, split};
use litecnn_kernels::reference::gather::gather;
use litecnn_kernels::reference::pad::{AxisPad, PadMode, pad};
use litecnn_kernels::reference::slice::{AxisRange, slice, strides};
use litecnn_kernels::reference::transpose::{transpose, transposed_shape};
use proptest::prelude::*;

fn ramp(shape: &[usize]) -> Vec<i64> {
    (0..shape.iter().product::<usize>() as i64).collect()
}

fn shape() -> impl Strategy<Value = Vec<usize>> {
    prop::collection::vec(0usize..5, 0..5)
}

fn shape_and_axis() -> impl Strategy<Value = (Vec<usize>, usize)> {
    prop::collection::vec(0usize..5, 1..5).prop_flat_map(|s| {
        let rank = s.len();
        (Just(s), 0..rank)
    })
}

/// The row-major multi-index of flat position `i`.
fn unravel(mut i: usize, shape: &[usize]) -> Vec<usize> {
    let mut idx = vec![0; shape.len()];
    for k in (0..shape.len()).rev() {
        idx[k] = i % shape[k];
        i /= shape[k];
    }
    idx
}

fn offset(idx: &[usize], shape: &[usize]) -> usize {
    idx.iter().zip(strides(shape)).map(|(i, s)| i * s).sum()
}

proptest! {
    #[test]
    fn transpose_then_inverse_is_identity(shape in shape(), perm_seed in any::<Vec<u8>>()) {
        let mut perm: Vec<usize> = (0..shape.len()).collect();
        for (i, b) in perm_seed.iter().enumerate().take(shape.len()) {
            let j = *b as usize % shape.len();
            perm.swap(i, j);
        }
        let mut inverse = vec![0; perm.len()];
        for (i, &p) in perm.iter().enumerate() {
            inverse[p] = i;
        }
        let x = ramp(&shape);
        let y = transpose(&x, &shape, &perm);
        let y_shape = transposed_shape(&shape, &perm);
        prop_assert_eq!(transpose(&y, &y_shape, &inverse), x);
    }

    #[test]
    fn transpose_matches_naive(shape in shape()) {
        // Reversing the axes: y[i_{r-1}, …, i_0] = x[i_0, …, i_{r-1}].
        let perm: Vec<usize> = (0..shape.len()).rev().collect();
        let x = ramp(&shape);
        let y = transpose(&x, &shape, &perm);
        let y_shape = transposed_shape(&shape, &perm);
        for (i, &v) in y.iter().enumerate() {
            let mut idx = unravel(i, &y_shape);
            idx.reverse();
            prop_assert_eq!(v, x[offset(&idx, &shape)]);
        }
    }

    #[test]
    fn split_then_concat_is_identity((shape, axis) in shape_and_axis(), cuts in prop::collection::vec(any::<u8>(), 0..4)) {
        let dim = shape[axis];
        let mut points: Vec<usize> = cuts.iter().map(|&c| c as usize % (dim + 1)).collect();
        points.sort();
        let sizes: Vec<usize> = points.iter().chain(&[dim]).scan(0, |prev, &p| {
            let s = p - *prev;
            *prev = p;
            Some(s)
        }).collect();
        let x = ramp(&shape);
        let pieces = split(&x, &shape, axis, &sizes);
        let shapes: Vec<Vec<usize>> = sizes.iter().map(|&s| {
            let mut sh = shape.clone();
            sh[axis] = s;
            sh
        }).collect();
        let parts: Vec<(&[i64], &[usize])> = pieces.iter().zip(&shapes).map(|(p, s)| (&p[..], &s[..])).collect();
        prop_assert_eq!(concat(&parts, axis), x);
    }

    #[test]
    fn step_one_slice_matches_naive(shape in shape(), cuts in prop::collection::vec((any::<u8>(), any::<u8>()), 4)) {
        let ranges: Vec<AxisRange> = shape.iter().zip(&cuts).map(|(&d, &(a, b))| {
            let (a, b) = (a as usize % (d + 1), b as usize % (d + 1));
            AxisRange { start: a.min(b), step: 1, len: a.max(b) - a.min(b) }
        }).collect();
        let x = ramp(&shape);
        let y = slice(&x, &shape, &ranges);
        let y_shape: Vec<usize> = ranges.iter().map(|r| r.len).collect();
        prop_assert_eq!(y.len(), y_shape.iter().product::<usize>());
        for (i, &v) in y.iter().enumerate() {
            let idx: Vec<usize> = unravel(i, &y_shape).iter().zip(&ranges).map(|(i, r)| r.start + i).collect();
            prop_assert_eq!(v, x[offset(&idx, &shape)]);
        }
    }

    #[test]
    fn constant_pad_then_slice_back(shape in shape(), amounts in prop::collection::vec((0i64..3, 0i64..3), 4)) {
        let pads: Vec<AxisPad> = amounts.iter().take(shape.len()).map(|&(begin, end)| AxisPad { begin, end }).collect();
        let x = ramp(&shape);
        let y = pad(&x, &shape, &pads, PadMode::Constant(-1));
        let y_shape: Vec<usize> = shape.iter().zip(&pads).map(|(&d, p)| p.padded_len(d).unwrap()).collect();
        prop_assert_eq!(y.len(), y_shape.iter().product::<usize>());
        let back: Vec<AxisRange> = shape.iter().zip(&pads).map(|(&d, p)| AxisRange { start: p.begin as usize, step: 1, len: d }).collect();
        prop_assert_eq!(slice(&y, &y_shape, &back), x.clone());
        // Everything outside the original box is the fill.
        prop_assert_eq!(y.iter().filter(|&&v| v == -1).count(), y.len() - x.len());
    }

    #[test]
    fn edge_pad_repeats_borders(len in 1usize..6, begin in 0i64..4, end in 0i64..4) {
        let x = ramp(&[len]);
        let y = pad(&x, &[len], &[AxisPad { begin, end }], PadMode::Edge);
        for (o, &v) in y.iter().enumerate() {
            let j = (o as i64 - begin).clamp(0, len as i64 - 1);
            prop_assert_eq!(v, x[j as usize]);
        }
    }

    #[test]
    fn gather_all_indices_is_identity((shape, axis) in shape_and_axis()) {
        let x = ramp(&shape);
        let all: Vec<usize> = (0..shape[axis]).collect();
        prop_assert_eq!(gather(&x, &shape, axis, &all), x);
    }
}
