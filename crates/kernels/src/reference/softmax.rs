//! Softmax over one axis of a tensor viewed as `[outer, len, inner]` (`inner` = 1 for the
//! opset < 13 "coerce to 2-D" form). The maximum is subtracted before exponentiating, so large
//! inputs do not overflow.

use super::window::{ShapeError, shape_bail};

/// Softmax along the middle axis of `x` viewed as `[outer, len, inner]`.
pub fn softmax(x: &[f32], outer: usize, len: usize, inner: usize) -> Result<Vec<f32>, ShapeError> {
    let total = outer.checked_mul(len).and_then(|v| v.checked_mul(inner));
    if total != Some(x.len()) {
        shape_bail!(
            "Softmax buffer of {} elements does not match [{outer}, {len}, {inner}]",
            x.len()
        );
    }
    let mut y = vec![0.0; x.len()];
    for o in 0..outer {
        for i in 0..inner {
            // Element j of this softmax group lives at base + j * inner.
            let base = o * len * inner + i;
            let at = |j: usize| base + j * inner;
            let max = (0..len).map(|j| x[at(j)]).fold(f32::NEG_INFINITY, f32::max);
            let mut sum = 0.0;
            for j in 0..len {
                let e = (x[at(j)] - max).exp();
                y[at(j)] = e;
                sum += e;
            }
            for j in 0..len {
                y[at(j)] /= sum;
            }
        }
    }
    Ok(y)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn by_hand_and_large_numbers() {
        let y = softmax(&[0.0, 0.0, 1000.0, 1000.0], 2, 2, 1).unwrap();
        assert_eq!(y, vec![0.5; 4]);
        let y = softmax(&[1.0, 2.0, 3.0], 1, 3, 1).unwrap();
        let e = [1.0f32.exp(), 2.0f32.exp(), 3.0f32.exp()];
        let s: f32 = e.iter().sum();
        for (a, b) in y.iter().zip(e) {
            assert!((a - b / s).abs() < 1e-6);
        }
        // Along axis 0 of [2, 2] (inner 2): columns normalise.
        let y = softmax(&[1.0, 5.0, 1.0, 7.0], 1, 2, 2).unwrap();
        assert_eq!(y[0], 0.5);
        assert_eq!(y[2], 0.5);
        assert!(softmax(&[1.0; 5], 2, 2, 1).is_err());
    }

    proptest! {
        #[test]
        fn groups_sum_to_one(
            outer in 1..4usize, len in 1..6usize, inner in 1..4usize,
            values in proptest::collection::vec(-50.0f32..50.0, 72),
        ) {
            let x = &values[..outer * len * inner];
            let y = softmax(x, outer, len, inner).unwrap();
            for o in 0..outer {
                for i in 0..inner {
                    let s: f32 = (0..len).map(|j| y[o * len * inner + j * inner + i]).sum();
                    prop_assert!((s - 1.0).abs() < 1e-5);
                }
            }
            prop_assert!(y.iter().all(|&v| (0.0..=1.0).contains(&v)));
        }
    }
}
