//! Strided slicing, and the "pick one offset list per axis" walk that slicing, padding and
//! transposition share: every output element is `data[o_0[i_0] + o_1[i_1] + …]` for per-axis
//! offset lists `o_k`, which covers reversed, stepped and permuted views alike.
//!
//! Callers validate operands; a range that leaves the tensor panics (index out of bounds).

/// Row-major strides of `shape`, in elements.
pub fn strides(shape: &[usize]) -> Vec<usize> {
    let mut strides = vec![1; shape.len()];
    for k in (0..shape.len().saturating_sub(1)).rev() {
        strides[k] = strides[k + 1] * shape[k + 1];
    }
    strides
}

/// One axis of a strided view: input coordinates `start + i * step` for `i in 0..len`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AxisRange {
    pub start: usize,
    pub step: isize,
    pub len: usize,
}

impl AxisRange {
    /// The whole axis, in order.
    pub fn full(dim: usize) -> AxisRange {
        AxisRange {
            start: 0,
            step: 1,
            len: dim,
        }
    }

    /// The input coordinate of output coordinate `i`.
    pub fn coord(&self, i: usize) -> usize {
        // Valid ranges never leave [0, dim), so the signed detour cannot wrap.
        (self.start as isize + i as isize * self.step) as usize
    }
}

/// Copies `data[offsets[0][i_0] + offsets[1][i_1] + …]` for every output coordinate, in
/// row-major output order. No offset lists (rank 0) copies the single element.
pub fn gather_offsets<T: Copy>(data: &[T], offsets: &[Vec<usize>]) -> Vec<T> {
    let count = offsets
        .iter()
        .try_fold(1usize, |n, o| n.checked_mul(o.len()));
    let mut out = Vec::with_capacity(count.unwrap_or(0));
    walk(data, offsets, 0, &mut out);
    out
}

fn walk<T: Copy>(data: &[T], offsets: &[Vec<usize>], base: usize, out: &mut Vec<T>) {
    match offsets {
        [] => out.push(data[base]),
        [last] => out.extend(last.iter().map(|&o| data[base + o])),
        [first, rest @ ..] => {
            for &o in first {
                walk(data, rest, base + o, out);
            }
        }
    }
}

/// The elements of `data` (of `shape`) selected by one range per axis; the output shape is the
/// ranges' lengths.
pub fn slice<T: Copy>(data: &[T], shape: &[usize], ranges: &[AxisRange]) -> Vec<T> {
    gather_offsets(data, &slice_offsets(shape, ranges))
}

/// For each axis of [`slice`]'s output, the input offset of each of its coordinates (the form
/// [`gather_offsets`] walks).
pub fn slice_offsets(shape: &[usize], ranges: &[AxisRange]) -> Vec<Vec<usize>> {
    assert_eq!(ranges.len(), shape.len(), "one range per axis");
    let strides = strides(shape);
    ranges
        .iter()
        .zip(&strides)
        .map(|(r, &s)| (0..r.len).map(|i| r.coord(i) * s).collect())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strides_are_row_major() {
        assert_eq!(strides(&[2, 3, 4]), vec![12, 4, 1]);
        assert_eq!(strides(&[]), Vec::<usize>::new());
        assert_eq!(strides(&[0, 5]), vec![5, 1]);
    }

    #[test]
    fn reversed_stepped_slice() {
        // [[0,1,2,3],[4,5,6,7]] rows reversed, columns 3,1.
        let data: Vec<i64> = (0..8).collect();
        let rows = AxisRange {
            start: 1,
            step: -1,
            len: 2,
        };
        let cols = AxisRange {
            start: 3,
            step: -2,
            len: 2,
        };
        assert_eq!(slice(&data, &[2, 4], &[rows, cols]), vec![7, 5, 3, 1]);
    }

    #[test]
    fn scalar_and_empty() {
        assert_eq!(slice(&[5.0f32], &[], &[]), vec![5.0]);
        let empty = AxisRange {
            start: 0,
            step: 1,
            len: 0,
        };
        assert!(slice(&[1, 2, 3], &[3], &[empty]).is_empty());
    }
}
