//! Gather: picking slices along one axis by index (ONNX `Gather`).
//!
//! Callers resolve negative indices and check every index against `shape[axis]`.

/// Elements of `data` (of `shape`) at `indices` along `axis`. With `indices` flattened from a
/// tensor of shape `I`, the output has shape `shape[..axis] ++ I ++ shape[axis + 1..]`.
pub fn gather<T: Copy>(data: &[T], shape: &[usize], axis: usize, indices: &[usize]) -> Vec<T> {
    let outer: usize = shape[..axis].iter().product();
    let dim = shape[axis];
    let inner: usize = shape[axis + 1..].iter().product();
    let mut out = Vec::with_capacity(outer * indices.len() * inner);
    for o in 0..outer {
        for &i in indices {
            let start = (o * dim + i) * inner;
            out.extend_from_slice(&data[start..start + inner]);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_and_columns() {
        // [[1,2,3],[4,5,6],[7,8,9]]
        let data = [1, 2, 3, 4, 5, 6, 7, 8, 9];
        assert_eq!(gather(&data, &[3, 3], 0, &[2, 0]), vec![7, 8, 9, 1, 2, 3]);
        assert_eq!(
            gather(&data, &[3, 3], 1, &[2, 2, 0]),
            vec![3, 3, 1, 6, 6, 4, 9, 9, 7]
        );
    }

    #[test]
    fn scalar_index_and_empty_indices() {
        assert_eq!(gather(&[1.5, 2.5, 3.5], &[3], 0, &[1]), vec![2.5]);
        assert!(gather(&[1, 2], &[2], 0, &[]).is_empty());
    }
}
