//! Binary arithmetic in the two broadcast forms CNNs use between convolutions: equal shapes
//! (a residual Add that could not be fused) and one value per channel broadcast over a plane
//! (squeeze-and-excitation's `x * scale[N, C, 1, 1]`). Same results as
//! `reference::elementwise::binary_f32`, without its per-element index arithmetic.

use super::dispatch::multiversion;
use crate::FloatBuffer;
use crate::reference::elementwise::BinaryKind;
use crate::reference::window::{ShapeError, shape_bail};

/// `a <op> b[i / inner]` for every element `i` of `a`: each value of `b` applies to `inner`
/// consecutive elements of `a` (`inner == 1` is the equal-shape case).
pub fn binary_blocks(
    kind: BinaryKind,
    a: &[f32],
    b: &[f32],
    inner: usize,
) -> Result<FloatBuffer, ShapeError> {
    if b.len().checked_mul(inner) != Some(a.len()) {
        shape_bail!(
            "binary op: {} values of B do not cover {} of A in blocks of {inner}",
            b.len(),
            a.len()
        );
    }
    let mut out = super::buffers::take(a.len());
    if !out.is_empty() {
        blocks_dispatched(kind, a, b, inner, &mut out);
    }
    Ok(out)
}

multiversion!(fn blocks_dispatched(
    kind: BinaryKind,
    a: &[f32],
    b: &[f32],
    inner: usize,
    out: &mut [f32],
) => blocks_body);

#[inline(always)]
fn blocks_body(kind: BinaryKind, a: &[f32], b: &[f32], inner: usize, out: &mut [f32]) {
    macro_rules! each {
        ($f:expr) => {
            if inner == 1 {
                for ((o, &x), &y) in out.iter_mut().zip(a).zip(b) {
                    *o = $f(x, y);
                }
            } else {
                let blocks = out.chunks_exact_mut(inner).zip(a.chunks_exact(inner));
                for ((o, x), &y) in blocks.zip(b) {
                    for (o, &x) in o.iter_mut().zip(x) {
                        *o = $f(x, y);
                    }
                }
            }
        };
    }
    match kind {
        BinaryKind::Add => each!(|x: f32, y: f32| x + y),
        BinaryKind::Sub => each!(|x: f32, y: f32| x - y),
        BinaryKind::Mul => each!(|x: f32, y: f32| x * y),
        BinaryKind::Div => each!(|x: f32, y: f32| x / y),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_channel_blocks_and_length_errors() {
        let a = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        let got = binary_blocks(BinaryKind::Mul, &a, &[10.0, -1.0], 3).unwrap();
        assert_eq!(got, vec![10.0, 20.0, 30.0, -4.0, -5.0, -6.0]);
        assert!(binary_blocks(BinaryKind::Add, &a, &[1.0, 2.0], 2).is_err());
        assert!(binary_blocks(BinaryKind::Add, &a, &[1.0; 6], 0).is_err());
    }
}
