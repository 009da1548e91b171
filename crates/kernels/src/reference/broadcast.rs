//! Numpy-style broadcasting: the broadcast shape of two operands, reading an operand through
//! broadcast strides, and a row-major index counter shared by the kernels that walk N-D shapes.

use super::window::{ShapeError, shape_bail};

/// The multidirectional (numpy) broadcast of two shapes: shapes are right-aligned, and on each
/// axis the sizes must be equal or one of them 1.
pub fn broadcast_shapes(a: &[usize], b: &[usize]) -> Result<Vec<usize>, ShapeError> {
    let rank = a.len().max(b.len());
    let at = |s: &[usize], i: usize| {
        // Axis i of the output is axis i - (rank - len) of a shorter operand, or 1 before it.
        (i + s.len()).checked_sub(rank).map_or(1, |j| s[j])
    };
    (0..rank)
        .map(|i| match (at(a, i), at(b, i)) {
            (x, y) if x == y => Ok(x),
            (1, y) => Ok(y),
            (x, 1) => Ok(x),
            (x, y) => Err(ShapeError::new(format!(
                "shapes {a:?} and {b:?} cannot be broadcast together (axis {i}: {x} vs {y})"
            ))),
        })
        .collect()
}

/// Whether `shape` broadcasts to exactly `target` (unidirectional broadcasting, as Gemm's C
/// and PRelu's slope use).
pub fn broadcasts_to(shape: &[usize], target: &[usize]) -> bool {
    broadcast_shapes(shape, target).is_ok_and(|s| s == target)
}

/// Element strides that read an operand of `shape` as if it had the (broadcast) shape `out`:
/// axes the operand lacks or has as size 1 get stride 0.
pub fn broadcast_strides(shape: &[usize], out: &[usize]) -> Vec<usize> {
    let lead = out.len() - shape.len();
    let mut strides = vec![0; out.len()];
    let mut step = 1;
    for (i, &dim) in shape.iter().enumerate().rev() {
        if dim != 1 {
            strides[lead + i] = step;
        }
        step *= dim;
    }
    strides
}

/// Number of elements of `shape`, or an error when it overflows.
pub fn element_count(shape: &[usize]) -> Result<usize, ShapeError> {
    shape
        .iter()
        .try_fold(1usize, |n, &d| n.checked_mul(d))
        .ok_or_else(|| ShapeError::new(format!("shape {shape:?} has too many elements")))
}

/// Advances `index` to the next position of `shape` in row-major order; returns `false` after
/// the last one (leaving `index` all zeros).
pub fn next_index(index: &mut [usize], shape: &[usize]) -> bool {
    for axis in (0..shape.len()).rev() {
        index[axis] += 1;
        if index[axis] < shape[axis] {
            return true;
        }
        index[axis] = 0;
    }
    false
}

fn offset(index: &[usize], strides: &[usize]) -> usize {
    index.iter().zip(strides).map(|(i, s)| i * s).sum()
}

/// `f(a, b)` elementwise over the broadcast of `a` (of `a_shape`) and `b` (of `b_shape`).
/// Returns the output shape and elements.
pub fn zip_broadcast<T: Copy, U>(
    a: &[T],
    a_shape: &[usize],
    b: &[T],
    b_shape: &[usize],
    mut f: impl FnMut(T, T) -> U,
) -> Result<(Vec<usize>, Vec<U>), ShapeError> {
    check_len(a, a_shape)?;
    check_len(b, b_shape)?;
    let out_shape = broadcast_shapes(a_shape, b_shape)?;
    let n = element_count(&out_shape)?;
    let mut out = Vec::with_capacity(n);
    if n == 0 {
        return Ok((out_shape, out));
    }
    if out_shape.is_empty() {
        out.push(f(a[0], b[0]));
        return Ok((out_shape, out));
    }
    // Walk the outer axes with an index counter and run the last axis as a plain loop.
    let (sa, sb) = (
        broadcast_strides(a_shape, &out_shape),
        broadcast_strides(b_shape, &out_shape),
    );
    let last = out_shape.len() - 1;
    let (inner, step_a, step_b) = (out_shape[last], sa[last], sb[last]);
    let outer_shape = &out_shape[..last];
    let mut index = vec![0; last];
    loop {
        let (base_a, base_b) = (offset(&index, &sa[..last]), offset(&index, &sb[..last]));
        for j in 0..inner {
            out.push(f(a[base_a + j * step_a], b[base_b + j * step_b]));
        }
        if !next_index(&mut index, outer_shape) {
            break;
        }
    }
    Ok((out_shape, out))
}

/// `data` (of `shape`) materialised at the shape `target` it unidirectionally broadcasts to.
pub fn broadcast_to<T: Copy>(
    data: &[T],
    shape: &[usize],
    target: &[usize],
) -> Result<Vec<T>, ShapeError> {
    check_len(data, shape)?;
    if !broadcasts_to(shape, target) {
        shape_bail!("shape {shape:?} does not broadcast to {target:?}");
    }
    let n = element_count(target)?;
    let strides = broadcast_strides(shape, target);
    let mut out = Vec::with_capacity(n);
    if n > 0 {
        let mut index = vec![0; target.len()];
        loop {
            out.push(data[offset(&index, &strides)]);
            if !next_index(&mut index, target) {
                break;
            }
        }
    }
    Ok(out)
}

fn check_len<T>(data: &[T], shape: &[usize]) -> Result<(), ShapeError> {
    let n = element_count(shape)?;
    if data.len() != n {
        shape_bail!(
            "buffer of {} elements does not match shape {shape:?}",
            data.len()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A pair of shapes that broadcast together: a random shape, and a copy with some axes set
    /// to 1 and some leading axes dropped.
    fn compatible_shapes() -> impl Strategy<Value = (Vec<usize>, Vec<usize>)> {
        proptest::collection::vec((1..4usize, any::<bool>()), 0..5).prop_flat_map(|axes| {
            let full: Vec<usize> = axes.iter().map(|a| a.0).collect();
            let partial: Vec<usize> = axes
                .iter()
                .map(|&(d, keep)| if keep { d } else { 1 })
                .collect();
            (Just(full), Just(partial), 0..=axes.len())
                .prop_map(|(full, partial, drop)| (full, partial[drop..].to_vec()))
        })
    }

    proptest! {
        #[test]
        fn zip_broadcast_equals_materialised_broadcast(
            (a_shape, b_shape) in compatible_shapes(), swap: bool,
        ) {
            let (a_shape, b_shape) = if swap { (b_shape, a_shape) } else { (a_shape, b_shape) };
            let a: Vec<i64> = (0..element_count(&a_shape).unwrap() as i64).collect();
            let b: Vec<i64> = (0..element_count(&b_shape).unwrap() as i64).map(|v| v * 100).collect();
            let (shape, zipped) = zip_broadcast(&a, &a_shape, &b, &b_shape, |x, y| x + y).unwrap();
            let a_full = broadcast_to(&a, &a_shape, &shape).unwrap();
            let b_full = broadcast_to(&b, &b_shape, &shape).unwrap();
            let expected: Vec<i64> = a_full.iter().zip(&b_full).map(|(x, y)| x + y).collect();
            prop_assert_eq!(zipped, expected);
        }
    }

    #[test]
    fn shapes_broadcast_like_numpy() {
        assert_eq!(broadcast_shapes(&[2, 3, 1], &[4]).unwrap(), vec![2, 3, 4]);
        assert_eq!(broadcast_shapes(&[], &[3, 2]).unwrap(), vec![3, 2]);
        assert_eq!(
            broadcast_shapes(&[5, 1, 4], &[3, 1]).unwrap(),
            vec![5, 3, 4]
        );
        assert_eq!(broadcast_shapes(&[0, 1], &[1, 7]).unwrap(), vec![0, 7]);
        assert!(broadcast_shapes(&[2, 3], &[4]).is_err());
        assert!(broadcast_shapes(&[0], &[2]).is_err());
    }

    #[test]
    fn zip_broadcast_2x3x1_plus_4() {
        let a: Vec<f32> = (0..6).map(|v| v as f32 * 10.0).collect();
        let b = [1.0, 2.0, 3.0, 4.0];
        let (shape, out) = zip_broadcast(&a, &[2, 3, 1], &b, &[4], |x, y| x + y).unwrap();
        assert_eq!(shape, vec![2, 3, 4]);
        for i in 0..6 {
            for j in 0..4 {
                assert_eq!(out[i * 4 + j], a[i] + b[j]);
            }
        }
    }

    #[test]
    fn zip_broadcast_scalars_and_empty() {
        let (shape, out) = zip_broadcast(&[2i64], &[], &[3], &[], |x, y| x * y).unwrap();
        assert_eq!((shape, out), (vec![], vec![6]));
        let (shape, out) =
            zip_broadcast::<f32, f32>(&[], &[0, 3], &[1.0], &[1], |x, y| x + y).unwrap();
        assert_eq!((shape, out.len()), (vec![0, 3], 0));
        assert!(zip_broadcast(&[1.0f32], &[2], &[1.0], &[1], |x, y| x + y).is_err());
    }

    #[test]
    fn broadcast_to_repeats_rows_and_columns() {
        assert_eq!(
            broadcast_to(&[1, 2], &[2], &[2, 2]).unwrap(),
            vec![1, 2, 1, 2]
        );
        assert_eq!(
            broadcast_to(&[1, 2], &[2, 1], &[2, 3]).unwrap(),
            vec![1, 1, 1, 2, 2, 2]
        );
        assert_eq!(broadcast_to(&[7], &[], &[2]).unwrap(), vec![7, 7]);
        assert!(broadcast_to(&[1, 2], &[2], &[3]).is_err());
        assert!(broadcast_to(&[1, 2, 3], &[3], &[1]).is_err());
    }
}
