//! ReduceMean: the mean over a set of axes, accumulated in `f64` so the reference is as exact
//! as a plain sum can be.

use super::broadcast::{broadcast_strides, element_count, next_index};
use super::window::{ShapeError, shape_bail};

/// The mean of `x` (of `shape`) over `axes` (distinct, each below the rank). Reduced axes are
/// kept with size 1 when `keepdims`, else removed. Returns the output shape and elements;
/// reducing over an empty extent gives NaN, as numpy does.
pub fn reduce_mean(
    x: &[f32],
    shape: &[usize],
    axes: &[usize],
    keepdims: bool,
) -> Result<(Vec<usize>, Vec<f32>), ShapeError> {
    if x.len() != element_count(shape)? {
        shape_bail!(
            "ReduceMean buffer of {} elements does not match shape {shape:?}",
            x.len()
        );
    }
    let mut reduced = vec![false; shape.len()];
    for &axis in axes {
        if axis >= shape.len() || reduced[axis] {
            shape_bail!(
                "ReduceMean axes {axes:?} must be distinct and below the rank {}",
                shape.len()
            );
        }
        reduced[axis] = true;
    }
    let kept = reduced_shape(shape, axes, true);
    let count: usize = shape
        .iter()
        .zip(&reduced)
        .filter(|(_, r)| **r)
        .map(|(d, _)| d)
        .product();
    // Reading the output through broadcast strides maps every input index to its output slot.
    let out_strides = broadcast_strides(&kept, shape);
    let mut sums = vec![0.0f64; element_count(&kept)?];
    if !x.is_empty() {
        let mut index = vec![0; shape.len()];
        for &v in x {
            let slot: usize = index.iter().zip(&out_strides).map(|(i, s)| i * s).sum();
            sums[slot] += f64::from(v);
            next_index(&mut index, shape);
        }
    }
    let out = sums.iter().map(|&s| (s / count as f64) as f32).collect();
    Ok((reduced_shape(shape, axes, keepdims), out))
}

/// `shape` with `axes` reduced: kept with size 1 when `keepdims`, else removed.
pub fn reduced_shape(shape: &[usize], axes: &[usize], keepdims: bool) -> Vec<usize> {
    let dims = shape.iter().enumerate();
    if keepdims {
        dims.map(|(a, &d)| if axes.contains(&a) { 1 } else { d })
            .collect()
    } else {
        dims.filter(|(a, _)| !axes.contains(a))
            .map(|(_, &d)| d)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn means_by_hand() {
        // [[1, 2, 3], [4, 5, 6]]
        let x = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        assert_eq!(
            reduce_mean(&x, &[2, 3], &[0], true).unwrap(),
            (vec![1, 3], vec![2.5, 3.5, 4.5])
        );
        assert_eq!(
            reduce_mean(&x, &[2, 3], &[1], false).unwrap(),
            (vec![2], vec![2.0, 5.0])
        );
        assert_eq!(
            reduce_mean(&x, &[2, 3], &[1, 0], false).unwrap(),
            (vec![], vec![3.5])
        );
        assert_eq!(
            reduce_mean(&x, &[2, 3], &[], false).unwrap(),
            (vec![2, 3], x.to_vec())
        );
    }

    #[test]
    fn middle_axis_of_3d() {
        let x: Vec<f32> = (0..12).map(|v| v as f32).collect();
        let (s, y) = reduce_mean(&x, &[2, 3, 2], &[1], true).unwrap();
        assert_eq!(s, vec![2, 1, 2]);
        assert_eq!(y, vec![2.0, 3.0, 8.0, 9.0]);
    }

    #[test]
    fn bad_axes_and_empty_extent() {
        assert!(reduce_mean(&[1.0], &[1], &[1], true).is_err());
        assert!(reduce_mean(&[1.0, 2.0], &[2], &[0, 0], true).is_err());
        let (s, y) = reduce_mean(&[], &[0, 2], &[0], true).unwrap();
        assert_eq!(s, vec![1, 2]);
        assert!(y.iter().all(|v| v.is_nan()));
    }
}
