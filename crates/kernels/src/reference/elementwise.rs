//! Elementwise operators: activations and other unary maps, the four arithmetic binary ops
//! with numpy broadcasting, PRelu and Clip. Comparisons are written so that NaN propagates
//! as numpy's `maximum`/`minimum`/`clip` do (`f32::max` would silently drop it).

use super::broadcast::{broadcasts_to, zip_broadcast};
use super::window::{ShapeError, shape_bail};

/// A unary elementwise operator.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum UnaryKind {
    Relu,
    LeakyRelu {
        alpha: f32,
    },
    Sigmoid,
    HardSigmoid {
        alpha: f32,
        beta: f32,
    },
    /// `x * max(0, min(1, x / 6 + 0.5))`.
    HardSwish,
    Tanh,
    Neg,
    Abs,
    Exp,
    Sqrt,
    Reciprocal,
    Ceil,
    Floor,
}

/// `max(0, min(1, v))`; NaN stays NaN (as numpy's `maximum`/`minimum` give).
fn clamp01(v: f32) -> f32 {
    v.clamp(0.0, 1.0)
}

/// One element of a unary operator on `f32`.
pub fn unary_f32_scalar(kind: UnaryKind, x: f32) -> f32 {
    match kind {
        UnaryKind::Relu => {
            if x < 0.0 {
                0.0
            } else {
                x
            }
        }
        UnaryKind::LeakyRelu { alpha } => {
            if x < 0.0 {
                alpha * x
            } else {
                x
            }
        }
        UnaryKind::Sigmoid => sigmoid(x),
        UnaryKind::HardSigmoid { alpha, beta } => clamp01(alpha * x + beta),
        UnaryKind::HardSwish => x * clamp01(x / 6.0 + 0.5),
        UnaryKind::Tanh => x.tanh(),
        UnaryKind::Neg => -x,
        UnaryKind::Abs => x.abs(),
        UnaryKind::Exp => x.exp(),
        UnaryKind::Sqrt => x.sqrt(),
        UnaryKind::Reciprocal => 1.0 / x,
        UnaryKind::Ceil => x.ceil(),
        UnaryKind::Floor => x.floor(),
    }
}

/// Logistic function, evaluated so that `exp` never overflows.
fn sigmoid(x: f32) -> f32 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

/// A unary operator over a whole `f32` buffer.
pub fn unary_f32(kind: UnaryKind, x: &[f32]) -> Vec<f32> {
    x.iter().map(|&v| unary_f32_scalar(kind, v)).collect()
}

/// A unary operator over `i64`, for the ops that are defined on integers (Relu, Neg, Abs, and
/// Ceil/Floor, which are the identity); `None` for the others. Overflow wraps, as in numpy.
pub fn unary_i64(kind: UnaryKind, x: &[i64]) -> Option<Vec<i64>> {
    let f: fn(i64) -> i64 = match kind {
        UnaryKind::Relu => |v| v.max(0),
        UnaryKind::Neg => i64::wrapping_neg,
        UnaryKind::Abs => i64::wrapping_abs,
        UnaryKind::Ceil | UnaryKind::Floor => |v| v,
        _ => return None,
    };
    Some(x.iter().map(|&v| f(v)).collect())
}

/// A binary arithmetic operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinaryKind {
    Add,
    Sub,
    Mul,
    Div,
}

/// `a <op> b` on `f32` with numpy broadcasting; returns the output shape and elements.
pub fn binary_f32(
    kind: BinaryKind,
    a: &[f32],
    a_shape: &[usize],
    b: &[f32],
    b_shape: &[usize],
) -> Result<(Vec<usize>, Vec<f32>), ShapeError> {
    let f: fn(f32, f32) -> f32 = match kind {
        BinaryKind::Add => |x, y| x + y,
        BinaryKind::Sub => |x, y| x - y,
        BinaryKind::Mul => |x, y| x * y,
        BinaryKind::Div => |x, y| x / y,
    };
    zip_broadcast(a, a_shape, b, b_shape, f)
}

/// `a <op> b` on `i64` with numpy broadcasting. Add, Sub and Mul wrap on overflow (as numpy
/// does); Div truncates toward zero (as ONNX specifies and C does) and rejects a zero divisor.
pub fn binary_i64(
    kind: BinaryKind,
    a: &[i64],
    a_shape: &[usize],
    b: &[i64],
    b_shape: &[usize],
) -> Result<(Vec<usize>, Vec<i64>), ShapeError> {
    if kind == BinaryKind::Div && b.contains(&0) {
        shape_bail!("integer division by zero");
    }
    let f: fn(i64, i64) -> i64 = match kind {
        BinaryKind::Add => i64::wrapping_add,
        BinaryKind::Sub => i64::wrapping_sub,
        BinaryKind::Mul => i64::wrapping_mul,
        // Only i64::MIN / -1 overflows; it wraps to i64::MIN.
        BinaryKind::Div => i64::wrapping_div,
    };
    zip_broadcast(a, a_shape, b, b_shape, f)
}

/// The numeric element types PRelu and Clip accept.
pub trait Element: Copy + PartialOrd + Default + std::ops::Mul<Output = Self> {}
impl Element for f32 {}
impl Element for i64 {}

/// PRelu: `x` where `x > 0`, else `slope * x`, with `slope` unidirectionally broadcast to `x`.
pub fn prelu<T: Element>(
    x: &[T],
    x_shape: &[usize],
    slope: &[T],
    slope_shape: &[usize],
) -> Result<Vec<T>, ShapeError> {
    if !broadcasts_to(slope_shape, x_shape) {
        shape_bail!(
            "PRelu slope of shape {slope_shape:?} does not broadcast to input shape {x_shape:?}"
        );
    }
    let zero = T::default();
    let (_, out) = zip_broadcast(x, x_shape, slope, slope_shape, |v, s| {
        if v > zero { v } else { v * s }
    })?;
    Ok(out)
}

/// Clip: `min(max(x, lo), hi)`, an absent bound being no bound. With `lo > hi` every element
/// becomes `hi`, as numpy's `clip` (the ONNX reference) gives.
pub fn clip<T: Element>(x: &[T], lo: Option<T>, hi: Option<T>) -> Vec<T> {
    x.iter()
        .map(|&v| {
            let v = match lo {
                Some(lo) if v < lo => lo,
                _ => v,
            };
            match hi {
                Some(hi) if v > hi => hi,
                _ => v,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_close(actual: &[f32], expected: &[f32]) {
        assert_eq!(actual.len(), expected.len());
        for (a, e) in actual.iter().zip(expected) {
            assert!((a - e).abs() <= 1e-6, "{actual:?} != {expected:?}");
        }
    }

    #[test]
    fn activations_by_hand() {
        let x = [-3.0f32, -0.5, 0.0, 2.0, 4.0];
        assert_eq!(
            unary_f32(UnaryKind::Relu, &x),
            vec![0.0, 0.0, 0.0, 2.0, 4.0]
        );
        let leaky = unary_f32(UnaryKind::LeakyRelu { alpha: 0.1 }, &x);
        assert_close(&leaky, &[-0.3, -0.05, 0.0, 2.0, 4.0]);
        let hswish = unary_f32(UnaryKind::HardSwish, &x);
        assert_close(
            &hswish,
            &[0.0, -0.5 * (5.0 / 12.0), 0.0, 2.0 * (5.0 / 6.0), 4.0],
        );
        let hs = unary_f32(
            UnaryKind::HardSigmoid {
                alpha: 0.2,
                beta: 0.5,
            },
            &x,
        );
        assert_close(&hs, &[0.0, 0.4, 0.5, 0.9, 1.0]);
        assert_eq!(
            unary_f32(UnaryKind::Sigmoid, &[0.0, -200.0, 200.0]),
            vec![0.5, 0.0, 1.0]
        );
        assert_eq!(unary_f32(UnaryKind::Floor, &[-1.5, 1.5]), vec![-2.0, 1.0]);
        assert_eq!(unary_f32(UnaryKind::Ceil, &[-1.5, 1.5]), vec![-1.0, 2.0]);
        assert_eq!(
            unary_f32(UnaryKind::Reciprocal, &[4.0, -0.5]),
            vec![0.25, -2.0]
        );
        assert!(unary_f32(UnaryKind::Relu, &[f32::NAN])[0].is_nan());
    }

    #[test]
    fn integer_unary_ops() {
        assert_eq!(unary_i64(UnaryKind::Neg, &[3, -4]), Some(vec![-3, 4]));
        assert_eq!(unary_i64(UnaryKind::Abs, &[3, -4]), Some(vec![3, 4]));
        assert_eq!(unary_i64(UnaryKind::Floor, &[3, -4]), Some(vec![3, -4]));
        assert_eq!(unary_i64(UnaryKind::Sigmoid, &[1]), None);
    }

    #[test]
    fn integer_division_truncates_and_rejects_zero() {
        let (_, q) = binary_i64(
            BinaryKind::Div,
            &[-3, 3, -3, 3, 7],
            &[5],
            &[2, 2, -2, -2, 7],
            &[5],
        )
        .unwrap();
        assert_eq!(q, vec![-1, 1, 1, -1, 1]);
        assert!(binary_i64(BinaryKind::Div, &[1], &[1], &[0], &[1]).is_err());
    }

    #[test]
    fn binary_broadcasts() {
        let (shape, out) = binary_f32(
            BinaryKind::Sub,
            &[10.0, 20.0],
            &[2, 1],
            &[1.0, 2.0, 3.0],
            &[3],
        )
        .unwrap();
        assert_eq!(shape, vec![2, 3]);
        assert_eq!(out, vec![9.0, 8.0, 7.0, 19.0, 18.0, 17.0]);
    }

    #[test]
    fn prelu_broadcasts_slope_one_way() {
        let x = [-1.0f32, 2.0, -3.0, 4.0];
        // Slope [2] is per column, [2, 1] per row.
        assert_eq!(
            prelu(&x, &[2, 2], &[0.5, 0.25], &[2]).unwrap(),
            vec![-0.5, 2.0, -1.5, 4.0]
        );
        assert_eq!(
            prelu(&x, &[2, 2], &[0.5, 0.25], &[2, 1]).unwrap(),
            vec![-0.5, 2.0, -0.75, 4.0]
        );
        assert!(prelu(&x, &[4], &[0.5, 0.25], &[2, 1]).is_err());
    }

    #[test]
    fn clip_bounds() {
        assert_eq!(
            clip(&[-2.0f32, 0.5, 3.0], Some(-1.0), Some(1.0)),
            vec![-1.0, 0.5, 1.0]
        );
        assert_eq!(clip(&[-2i64, 5], None, Some(1)), vec![-2, 1]);
        assert_eq!(clip(&[-2.0f32, 5.0], Some(2.0), Some(1.0)), vec![1.0, 1.0]);
        assert!(clip(&[f32::NAN], Some(0.0), Some(1.0))[0].is_nan());
    }
}
