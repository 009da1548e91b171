//! Inference-mode batch normalisation over axis 1 of a tensor of any rank ≥ 2:
//! `y = scale * (x - mean) / sqrt(var + epsilon) + bias`, per channel.

use super::broadcast::element_count;
use super::window::{ShapeError, shape_bail};

/// The per-channel parameters, each with one value per channel.
#[derive(Clone, Copy, Debug)]
pub struct BatchNormParams<'a> {
    pub scale: &'a [f32],
    pub bias: &'a [f32],
    pub mean: &'a [f32],
    pub var: &'a [f32],
    pub epsilon: f32,
}

/// Normalises `x` of `shape` (`[N, C, ...]`).
pub fn batch_norm(
    x: &[f32],
    shape: &[usize],
    p: &BatchNormParams<'_>,
) -> Result<Vec<f32>, ShapeError> {
    if shape.len() < 2 {
        shape_bail!("BatchNormalization input must have rank at least 2, got shape {shape:?}");
    }
    if x.len() != element_count(shape)? {
        shape_bail!(
            "BatchNormalization buffer of {} elements does not match shape {shape:?}",
            x.len()
        );
    }
    let channels = shape[1];
    for (name, v) in [
        ("scale", p.scale),
        ("B", p.bias),
        ("mean", p.mean),
        ("var", p.var),
    ] {
        if v.len() != channels {
            shape_bail!(
                "BatchNormalization {name} has {} elements, expected {channels} (the channels)",
                v.len()
            );
        }
    }
    let inner: usize = shape[2..].iter().product();
    let mut y = Vec::with_capacity(x.len());
    if inner == 0 {
        return Ok(y);
    }
    // Same operation order as the ONNX reference: scale * (x - mean) / sqrt(var + eps) + B.
    for (i, chunk) in x.chunks_exact(inner).enumerate() {
        let c = i % channels;
        let denom = (p.var[c] + p.epsilon).sqrt();
        y.extend(
            chunk
                .iter()
                .map(|&v| p.scale[c] * (v - p.mean[c]) / denom + p.bias[c]),
        );
    }
    Ok(y)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_each_channel() {
        // Channel 0: mean 1, var 4 - eps, scale 2, bias 1 → 2 * (x - 1) / 2 + 1 = x.
        // Channel 1: mean 0, var 1 - eps, scale 1, bias -1 → x - 1.
        let eps = 1e-5;
        let p = BatchNormParams {
            scale: &[2.0, 1.0],
            bias: &[1.0, -1.0],
            mean: &[1.0, 0.0],
            var: &[4.0 - eps, 1.0 - eps],
            epsilon: eps,
        };
        let x = [3.0, 5.0, 3.0, 5.0, 7.0, 9.0, 7.0, 9.0];
        let y = batch_norm(&x, &[2, 2, 2], &p).unwrap();
        let want = [3.0, 5.0, 2.0, 4.0, 7.0, 9.0, 6.0, 8.0];
        for (a, b) in y.iter().zip(want) {
            assert!((a - b).abs() < 1e-5, "{y:?}");
        }
        // Rank 2: [N, C].
        assert_eq!(batch_norm(&[1.0, 1.0], &[1, 2], &p).unwrap().len(), 2);
    }

    #[test]
    fn parameter_lengths_are_checked() {
        let p = BatchNormParams {
            scale: &[1.0],
            bias: &[0.0],
            mean: &[0.0],
            var: &[1.0],
            epsilon: 0.0,
        };
        assert!(batch_norm(&[0.0; 4], &[1, 2, 2], &p).is_err());
        assert!(batch_norm(&[0.0; 4], &[4], &p).is_err());
        assert!(batch_norm(&[0.0; 3], &[1, 1, 2], &p).is_err());
    }
}
