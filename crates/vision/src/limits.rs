//! Limits checked on the header, before any pixel is decoded, so that a small file declaring a
//! huge image (a decompression bomb) costs nothing (DESIGN §5, §9: `--max-pixels`).

use crate::error::ImageError;

/// The server's default `--max-pixels`.
pub const DEFAULT_MAX_PIXELS: u64 = 40_000_000;

/// What a caller is willing to decode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DecodeLimits {
    /// Largest `width × height` accepted.
    pub max_pixels: u64,
}

impl Default for DecodeLimits {
    fn default() -> Self {
        DecodeLimits {
            max_pixels: DEFAULT_MAX_PIXELS,
        }
    }
}

impl DecodeLimits {
    /// Refuses a declared size above the limit, and an empty one (no decoder can produce it).
    pub(crate) fn check(&self, width: u64, height: u64) -> Result<(), ImageError> {
        if width == 0 || height == 0 {
            return Err(ImageError::DecodeFailed(format!(
                "the header declares an empty image ({width}x{height})"
            )));
        }
        if width.saturating_mul(height) > self.max_pixels {
            return Err(ImageError::ImageTooLarge {
                width,
                height,
                max: self.max_pixels,
            });
        }
        Ok(())
    }
}
