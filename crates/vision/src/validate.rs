//! Which manifest `preprocess` values this crate can honour. Anything else is refused with a
//! message naming the field, never approximated: a model fed differently from how it was
//! trained still answers, just wrongly.

use crate::error::ImageError;
use crate::preprocess_spec::PreprocessSpec;

/// Largest resize target or crop side accepted: far above any classifier's input, small enough
/// that a mistyped manifest cannot ask for gigabytes per request.
pub const MAX_SIDE: u32 = 8192;

impl PreprocessSpec {
    /// Checks that every value is one this crate implements exactly. Call it when a model is
    /// loaded, so that a bad manifest fails the load rather than every request.
    pub fn validate(&self) -> Result<(), ImageError> {
        let bad = |m: String| Err(ImageError::Preprocess(m));
        if self.interpolation != "bilinear" {
            return bad(format!(
                "interpolation {:?} is not supported (only \"bilinear\")",
                self.interpolation
            ));
        }
        if !self.antialias {
            return bad("antialias false is not supported: PIL always antialiases".into());
        }
        if self.color != "RGB" {
            return bad(format!(
                "color {:?} is not supported (only \"RGB\")",
                self.color
            ));
        }
        let sides = [
            self.resize_shorter,
            self.center_crop[0],
            self.center_crop[1],
        ];
        if sides.iter().any(|&s| s == 0 || s > MAX_SIDE) {
            return bad(format!(
                "resize_shorter {} and center_crop {:?} must be within 1..={MAX_SIDE}",
                self.resize_shorter, self.center_crop
            ));
        }
        if self.mean.iter().any(|m| !m.is_finite())
            || self.std.iter().any(|s| !s.is_finite() || *s == 0.0)
        {
            return bad(format!(
                "mean {:?} must be finite and std {:?} finite and non-zero",
                self.mean, self.std
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(spec: &PreprocessSpec) -> String {
        spec.validate().unwrap_err().to_string()
    }

    #[test]
    fn accepts_the_imagenet_transform() {
        PreprocessSpec::imagenet(224).validate().unwrap();
    }

    #[test]
    fn refuses_what_it_would_only_approximate() {
        let base = PreprocessSpec::imagenet(224);
        let with = |f: &dyn Fn(&mut PreprocessSpec)| {
            let mut s = base.clone();
            f(&mut s);
            s
        };
        assert!(message(&with(&|s| s.interpolation = "bicubic".into())).contains("bicubic"));
        assert!(message(&with(&|s| s.color = "BGR".into())).contains("BGR"));
        assert!(message(&with(&|s| s.antialias = false)).contains("antialias"));
        assert!(message(&with(&|s| s.resize_shorter = 0)).contains("resize_shorter"));
        assert!(message(&with(&|s| s.center_crop = [224, 9000])).contains("center_crop"));
        assert!(message(&with(&|s| s.std = [0.2, 0.0, 0.2])).contains("std"));
        assert!(message(&with(&|s| s.mean = [f32::NAN, 0.0, 0.2])).contains("mean"));
    }
}
