//! Padding (and cropping) a row-major tensor along every axis.
//!
//! A negative pad crops. Cropping happens first, then the remaining window is padded, so
//! reflection and edge replication always mirror the elements that survive the crop. Reflection
//! of pads wider than the window keeps bouncing between its ends, as `numpy.pad` does.
//!
//! Callers validate: `shape.len() == pads.len()`, the crops fit in each axis, and reflect/edge
//! padding of an axis has a non-empty window to copy from.

use super::slice::strides;

/// How new elements are filled.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum PadMode<T> {
    Constant(T),
    /// Mirror around the first/last element, which is not repeated: `[1,2,3]` → `3,2 | 1,2,3 | 2,1`.
    Reflect,
    /// Repeat the first/last element.
    Edge,
}

/// Elements added (negative: removed) before and after one axis.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AxisPad {
    pub begin: i64,
    pub end: i64,
}

impl AxisPad {
    /// The axis length after padding, or `None` when the crops do not fit in `dim`.
    pub fn padded_len(&self, dim: usize) -> Option<usize> {
        let (lo, hi) = self.window(dim)?;
        let grow = |p: i64| usize::try_from(p.max(0)).ok();
        (hi - lo)
            .checked_add(grow(self.begin)?)?
            .checked_add(grow(self.end)?)
    }

    /// The surviving input window `[lo, hi)` after cropping.
    fn window(&self, dim: usize) -> Option<(usize, usize)> {
        let crop = |p: i64| usize::try_from(p.min(0).unsigned_abs()).ok();
        let lo = crop(self.begin)?;
        let hi = dim.checked_sub(crop(self.end)?)?;
        (lo <= hi).then_some((lo, hi))
    }
}

/// `data` (of `shape`) padded by `pads` (one per axis), filled according to `mode`.
pub fn pad<T: Copy>(data: &[T], shape: &[usize], pads: &[AxisPad], mode: PadMode<T>) -> Vec<T> {
    assert_eq!(pads.len(), shape.len(), "one pad per axis");
    let strides = strides(shape);
    let sources: Vec<Vec<Option<usize>>> = shape
        .iter()
        .zip(pads)
        .zip(&strides)
        .map(|((&dim, p), &stride)| axis_sources(dim, *p, mode_kind(&mode), stride))
        .collect();
    let count = sources
        .iter()
        .try_fold(1usize, |n, s| n.checked_mul(s.len()));
    let mut out = Vec::with_capacity(count.unwrap_or(0));
    let fill = match mode {
        PadMode::Constant(v) => Some(v),
        _ => None,
    };
    walk(data, &sources, 0, fill, &mut out);
    out
}

#[derive(Clone, Copy)]
enum Kind {
    Constant,
    Reflect,
    Edge,
}

fn mode_kind<T>(mode: &PadMode<T>) -> Kind {
    match mode {
        PadMode::Constant(_) => Kind::Constant,
        PadMode::Reflect => Kind::Reflect,
        PadMode::Edge => Kind::Edge,
    }
}

/// For each output coordinate of one axis, the input offset it copies, or `None` for the
/// constant fill.
fn axis_sources(dim: usize, pad: AxisPad, kind: Kind, stride: usize) -> Vec<Option<usize>> {
    let (lo, hi) = pad.window(dim).expect("crops fit in the axis");
    let out_len = pad.padded_len(dim).expect("padded length fits");
    let before = pad.begin.max(0);
    let width = (hi - lo) as i64;
    (0..out_len)
        .map(|o| {
            // j: position relative to the window's first element.
            let j = o as i64 - before;
            let inside = (0..width).contains(&j).then_some(j);
            let j = match kind {
                Kind::Constant => inside,
                Kind::Edge => Some(inside.unwrap_or(j.clamp(0, width - 1))),
                Kind::Reflect => Some(inside.unwrap_or_else(|| reflect(j, width))),
            };
            j.map(|j| (lo + j as usize) * stride)
        })
        .collect()
}

/// Folds any position onto `[0, width)` by mirroring at both ends (period `2 * (width - 1)`).
fn reflect(j: i64, width: i64) -> i64 {
    if width == 1 {
        return 0;
    }
    let period = 2 * (width - 1);
    let r = j.rem_euclid(period);
    if r < width { r } else { period - r }
}

fn walk<T: Copy>(
    data: &[T],
    sources: &[Vec<Option<usize>>],
    base: usize,
    fill: Option<T>,
    out: &mut Vec<T>,
) {
    let Some((first, rest)) = sources.split_first() else {
        out.push(data[base]);
        return;
    };
    for src in first {
        match src {
            Some(o) => walk(data, rest, base + o, fill, out),
            None => {
                // A constant cell along this axis fills its whole sub-block.
                let block: usize = rest.iter().map(Vec::len).product();
                let v = fill.expect("only constant mode leaves gaps");
                out.extend(std::iter::repeat_n(v, block));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(begin: i64, end: i64) -> AxisPad {
        AxisPad { begin, end }
    }

    #[test]
    fn spec_examples() {
        // ONNX Pad examples 1-3: data 3x2, pads [0,2,0,0].
        let data = [1.0, 1.2, 2.3, 3.4, 4.5, 5.7];
        let pads = [p(0, 0), p(2, 0)];
        let c = pad(&data, &[3, 2], &pads, PadMode::Constant(0.0));
        assert_eq!(
            c,
            vec![0.0, 0.0, 1.0, 1.2, 0.0, 0.0, 2.3, 3.4, 0.0, 0.0, 4.5, 5.7]
        );
        let r = pad(&data, &[3, 2], &pads, PadMode::Reflect);
        assert_eq!(
            r,
            vec![1.0, 1.2, 1.0, 1.2, 2.3, 3.4, 2.3, 3.4, 4.5, 5.7, 4.5, 5.7]
        );
        let e = pad(&data, &[3, 2], &pads, PadMode::Edge);
        assert_eq!(
            e,
            vec![1.0, 1.0, 1.0, 1.2, 2.3, 2.3, 2.3, 3.4, 4.5, 4.5, 4.5, 5.7]
        );
    }

    #[test]
    fn wide_reflection_bounces_like_numpy() {
        // np.pad([1,2,3,4], (7,9), mode="reflect")
        let got = pad(&[1, 2, 3, 4], &[4], &[p(7, 9)], PadMode::Reflect);
        let want = [2, 1, 2, 3, 4, 3, 2, 1, 2, 3, 4, 3, 2, 1, 2, 3, 4, 3, 2, 1];
        assert_eq!(got, want);
        assert_eq!(pad(&[5], &[1], &[p(2, 3)], PadMode::Reflect), vec![5; 6]);
    }

    #[test]
    fn negative_pads_crop_before_padding() {
        let data = [1, 2, 3, 4];
        assert_eq!(
            pad(&data, &[4], &[p(-1, -2)], PadMode::Constant(0)),
            vec![2]
        );
        // Crop one at the front, then reflect the window [2,3,4] at the back.
        assert_eq!(
            pad(&data, &[4], &[p(-1, 3)], PadMode::Reflect),
            vec![2, 3, 4, 3, 2, 3]
        );
        assert_eq!(
            pad(&data, &[4], &[p(2, -1)], PadMode::Edge),
            vec![1, 1, 1, 2, 3]
        );
    }

    #[test]
    fn padded_len_rejects_oversized_crops() {
        assert_eq!(p(-2, -2).padded_len(4), Some(0));
        assert_eq!(p(-3, -2).padded_len(4), None);
        assert_eq!(p(-5, 9).padded_len(3), None);
        assert_eq!(p(i64::MIN, 0).padded_len(3), None);
        assert_eq!(p(2, 3).padded_len(0), Some(5));
    }

    #[test]
    fn constant_fills_whole_rows() {
        let got = pad(&[1, 2], &[1, 2], &[p(1, 0), p(0, 1)], PadMode::Constant(9));
        assert_eq!(got, vec![9, 9, 9, 1, 2, 9]);
        assert_eq!(pad(&[3], &[], &[], PadMode::Constant(0)), vec![3]);
    }
}
