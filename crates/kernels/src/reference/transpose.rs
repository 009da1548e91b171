//! Transposition: permuting the axes of a row-major tensor.
//!
//! Callers validate that `perm` is a permutation of `0..shape.len()`.

use super::slice::{gather_offsets, strides};

/// The shape after permuting `shape` by `perm` (output axis `k` is input axis `perm[k]`).
pub fn transposed_shape(shape: &[usize], perm: &[usize]) -> Vec<usize> {
    perm.iter().map(|&p| shape[p]).collect()
}

/// `data` (of `shape`) with its axes permuted: output axis `k` is input axis `perm[k]`.
pub fn transpose<T: Copy>(data: &[T], shape: &[usize], perm: &[usize]) -> Vec<T> {
    gather_offsets(data, &transpose_offsets(shape, perm))
}

/// For each output axis of [`transpose`], the input offset of each of its coordinates (the
/// form [`gather_offsets`] walks).
pub fn transpose_offsets(shape: &[usize], perm: &[usize]) -> Vec<Vec<usize>> {
    assert_eq!(perm.len(), shape.len(), "perm must name every axis");
    let strides = strides(shape);
    // Walking output axis k means stepping input axis perm[k] by its stride.
    perm.iter()
        .map(|&p| (0..shape[p]).map(|i| i * strides[p]).collect())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matrix_transpose() {
        // [[1,2,3],[4,5,6]] -> [[1,4],[2,5],[3,6]]
        let t = transpose(&[1, 2, 3, 4, 5, 6], &[2, 3], &[1, 0]);
        assert_eq!(t, vec![1, 4, 2, 5, 3, 6]);
        assert_eq!(transposed_shape(&[2, 3], &[1, 0]), vec![3, 2]);
    }

    #[test]
    fn three_d_rotation() {
        // x[a][b][c] = 100a + 10b + c with shape [2,3,2]; perm [2,0,1] -> y[c][a][b].
        let shape = [2, 3, 2];
        let data: Vec<i64> = (0..2)
            .flat_map(|a| (0..3).flat_map(move |b| (0..2).map(move |c| 100 * a + 10 * b + c)))
            .collect();
        let y = transpose(&data, &shape, &[2, 0, 1]);
        let want: Vec<i64> = (0..2)
            .flat_map(|c| (0..2).flat_map(move |a| (0..3).map(move |b| 100 * a + 10 * b + c)))
            .collect();
        assert_eq!(y, want);
    }

    #[test]
    fn scalar_and_empty() {
        assert_eq!(transpose(&[7.5f32], &[], &[]), vec![7.5]);
        assert!(transpose::<f32>(&[], &[0, 3], &[1, 0]).is_empty());
    }
}
