//! Activations a convolution can apply to its output before storing it, as vectorisable
//! loops. They follow the reference operators in `reference::elementwise` (same formulas and
//! NaN behaviour); `Sigmoid` and `Silu` use a polynomial `exp` accurate to a couple of ulps
//! instead of the libm call, which the compiler cannot vectorise.

use super::dispatch::multiversion;

#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub enum Activation {
    #[default]
    Identity,
    Relu,
    LeakyRelu {
        alpha: f32,
    },
    /// Clamp to `[min, max]` (ONNX Clip with constant bounds; ReLU6 is `0..6`).
    Clip {
        min: f32,
        max: f32,
    },
    Sigmoid,
    HardSigmoid {
        alpha: f32,
        beta: f32,
    },
    /// `x * hard_sigmoid(x)` with alpha 1/6, beta 1/2.
    HardSwish,
    /// `x * sigmoid(x)`, which PyTorch exports as a Sigmoid and a Mul.
    Silu,
}

impl Activation {
    /// The activation of one element (the loops below compute exactly this).
    #[inline(always)]
    pub fn apply_scalar(self, x: f32) -> f32 {
        match self {
            Activation::Identity => x,
            Activation::Relu => relu(x),
            Activation::LeakyRelu { alpha } => {
                if x < 0.0 {
                    alpha * x
                } else {
                    x
                }
            }
            Activation::Clip { min, max } => clip(x, min, max),
            Activation::Sigmoid => sigmoid(x),
            Activation::HardSigmoid { alpha, beta } => clip(alpha * x + beta, 0.0, 1.0),
            Activation::HardSwish => x * clip(x / 6.0 + 0.5, 0.0, 1.0),
            Activation::Silu => x * sigmoid(x),
        }
    }

    /// Applies the activation in place.
    pub fn apply(self, data: &mut [f32]) {
        if self != Activation::Identity {
            apply_dispatched(self, data);
        }
    }
}

multiversion!(fn apply_dispatched(act: Activation, data: &mut [f32]) => apply_body);

#[inline(always)]
pub(crate) fn apply_body(act: Activation, data: &mut [f32]) {
    // One loop per kind, so the match is outside the loop the compiler vectorises.
    macro_rules! each {
        ($f:expr) => {
            for v in data.iter_mut() {
                *v = $f(*v);
            }
        };
    }
    // For the selects (ReLU, leaky ReLU, Clip): a select that may keep the loaded value lets
    // the compiler drop that store and vectorise the rest as a masked store, which is
    // microcoded and slow on AMD. Adding +0.0 (exact except that -0.0 becomes +0.0, and NaN
    // stays NaN) makes every lane a new value, so the block is stored whole.
    macro_rules! each_select {
        ($f:expr) => {
            each!(|x: f32| $f(x) + 0.0)
        };
    }
    match act {
        Activation::Identity => {}
        Activation::Relu => each_select!(relu),
        Activation::LeakyRelu { alpha } => {
            each_select!(|x: f32| if x < 0.0 { alpha * x } else { x })
        }
        Activation::Clip { min, max } => each_select!(|x| clip(x, min, max)),
        Activation::Sigmoid => each!(sigmoid),
        Activation::HardSigmoid { alpha, beta } => each!(|x| clip(alpha * x + beta, 0.0, 1.0)),
        Activation::HardSwish => each!(|x: f32| x * clip(x / 6.0 + 0.5, 0.0, 1.0)),
        Activation::Silu => each!(|x: f32| x * sigmoid(x)),
    }
}

#[inline(always)]
fn relu(x: f32) -> f32 {
    // Written as a select (not `max`) so NaN stays NaN, as in the reference.
    if x < 0.0 { 0.0 } else { x }
}

#[inline(always)]
fn clip(x: f32, min: f32, max: f32) -> f32 {
    let x = if x < min { min } else { x };
    if x > max { max } else { x }
}

#[inline(always)]
fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + exp(-x))
}

/// `e^x` by range reduction `x = n ln2 + r`, `|r| <= ln2 / 2`, and a degree-6 Taylor
/// polynomial for `e^r` (truncation error below 2e-7 relative). Inputs beyond the f32 range
/// saturate to 0 or `f32::MAX`-ish; NaN stays NaN.
#[inline(always)]
pub(crate) fn exp(x: f32) -> f32 {
    const LOG2_E: f32 = std::f32::consts::LOG2_E;
    // ln 2 split in two: LN2_HI has 9 significant bits, so `n * LN2_HI` is exact for |n| < 2^15.
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    // Adding and subtracting 1.5 * 2^23 rounds to an integer without a rounding instruction.
    const ROUND: f32 = 12_582_912.0;
    let x = x.clamp(-87.0, 88.0);
    let t = x * LOG2_E + ROUND;
    let n = t - ROUND;
    let r = (x - n * LN2_HI) - n * LN2_LO;
    let mut p = 1.0 / 720.0;
    p = p * r + 1.0 / 120.0;
    p = p * r + 1.0 / 24.0;
    p = p * r + 1.0 / 6.0;
    p = p * r + 0.5;
    p = p * r + 1.0;
    p = p * r + 1.0;
    // 2^n built from its exponent bits; n is in [-126, 127] after the clamp. The integer n
    // is read from t's low mantissa bits rather than by a float-to-int cast, whose saturating
    // semantics the compiler cannot vectorise.
    let n_bits = t.to_bits().wrapping_sub(ROUND.to_bits());
    let scale = f32::from_bits(n_bits.wrapping_add(127) << 23);
    p * scale
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_is_close_to_libm_over_the_range() {
        let mut worst = 0.0f32;
        for i in -8700..8790 {
            let x = i as f32 / 100.0 + 0.003;
            let want = x.exp();
            let got = exp(x);
            let err = ((got - want) / want).abs();
            assert!(err < 1e-6, "exp({x}) = {got}, libm {want}");
            worst = worst.max(err);
        }
        assert!(worst < 1e-6, "worst relative error {worst}");
        assert!(exp(f32::NAN).is_nan());
        assert!((0.0..1e-37).contains(&exp(-1000.0)));
        assert!(exp(1000.0).is_finite() && exp(1000.0) > 1e38);
    }

    #[test]
    fn vector_loop_equals_scalar_form() {
        let data: Vec<f32> = (-500..500).map(|i| i as f32 * 0.037).collect();
        for act in [
            Activation::Relu,
            Activation::LeakyRelu { alpha: 0.1 },
            Activation::Clip { min: 0.0, max: 6.0 },
            Activation::Sigmoid,
            Activation::HardSigmoid {
                alpha: 0.2,
                beta: 0.5,
            },
            Activation::HardSwish,
            Activation::Silu,
        ] {
            let mut got = data.clone();
            act.apply(&mut got);
            let want: Vec<f32> = data.iter().map(|&x| act.apply_scalar(x)).collect();
            assert_eq!(got, want, "{act:?}");
        }
    }
}
