//! Concatenation along one axis, and its inverse, splitting.
//!
//! Callers check that the parts agree on every dimension but `axis`.

/// Joins `parts` (each `(data, shape)`, all of one rank) along `axis`.
pub fn concat<T: Copy>(parts: &[(&[T], &[usize])], axis: usize) -> Vec<T> {
    let Some((_, first_shape)) = parts.first() else {
        return Vec::new();
    };
    // Everything before `axis` is an outer loop; each part contributes one contiguous chunk
    // of `shape[axis] * inner` elements per outer step.
    let outer: usize = first_shape[..axis].iter().product();
    let inner: usize = first_shape[axis + 1..].iter().product();
    let total: usize = parts.iter().map(|(d, _)| d.len()).sum();
    let mut out = Vec::with_capacity(total);
    for o in 0..outer {
        for (data, shape) in parts {
            let chunk = shape[axis] * inner;
            out.extend_from_slice(&data[o * chunk..(o + 1) * chunk]);
        }
    }
    out
}

/// Cuts `data` (of `shape`) along `axis` into consecutive pieces of `sizes` elements along that
/// axis; `sizes` must sum to `shape[axis]`.
pub fn split<T: Copy>(data: &[T], shape: &[usize], axis: usize, sizes: &[usize]) -> Vec<Vec<T>> {
    let outer: usize = shape[..axis].iter().product();
    let inner: usize = shape[axis + 1..].iter().product();
    let row = shape[axis] * inner;
    let mut pieces = Vec::with_capacity(sizes.len());
    let mut offset = 0;
    for &size in sizes {
        let chunk = size * inner;
        let mut piece = Vec::with_capacity(outer * chunk);
        for o in 0..outer {
            let start = o * row + offset;
            piece.extend_from_slice(&data[start..start + chunk]);
        }
        pieces.push(piece);
        offset += chunk;
    }
    pieces
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn concat_columns() {
        // [[1,2],[3,4]] ++ [[5],[6]] along axis 1.
        let a = [1, 2, 3, 4];
        let b = [5, 6];
        let out = concat(&[(&a[..], &[2, 2][..]), (&b[..], &[2, 1][..])], 1);
        assert_eq!(out, vec![1, 2, 5, 3, 4, 6]);
    }

    #[test]
    fn concat_rows_with_empty_part() {
        let a = [1.0, 2.0];
        let e: [f32; 0] = [];
        let out = concat(
            &[
                (&a[..], &[1, 2][..]),
                (&e[..], &[0, 2][..]),
                (&a[..], &[1, 2][..]),
            ],
            0,
        );
        assert_eq!(out, vec![1.0, 2.0, 1.0, 2.0]);
    }

    #[test]
    fn split_columns() {
        let data = [1, 2, 3, 4, 5, 6];
        let parts = split(&data, &[2, 3], 1, &[2, 0, 1]);
        assert_eq!(parts, vec![vec![1, 2, 4, 5], vec![], vec![3, 6]]);
    }
}
