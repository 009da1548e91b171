//! The resize step of torchvision's `Resize(int)` on a PIL image: the shorter side becomes
//! `resize_shorter`, the longer one `int(resize_shorter * long / short)` (truncated), resampled
//! with PIL's antialiased bilinear filter (fast_image_resize's bilinear convolution, which
//! matches Pillow within ±1 LSB).
//!
//! Only the part of the resized image that the center crop keeps is computed: the resampling
//! filter is evaluated at the same source positions, so the pixels are the same, and a 1×40000
//! strip no longer needs a gigabyte-sized intermediate image.

use fast_image_resize::images::{Image, ImageRef};
use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};

use crate::crop::Span;
use crate::error::ImageError;
use crate::image::RgbImage;
use crate::pixel_buffers;

/// `(width, height)` after torchvision `Resize(shorter)`. Integer product first, then one
/// division, as Python evaluates `size * long / short`; wide enough for any declared image.
pub(crate) fn resized_size(width: u32, height: u32, shorter: u32) -> (u64, u64) {
    let (short, long) = if width <= height {
        (width, height)
    } else {
        (height, width)
    };
    let new_long = (u64::from(shorter) * u64::from(long)) as f64 / f64::from(short);
    let new_long = new_long as u64; // Python's int(): truncation
    if width <= height {
        (u64::from(shorter), new_long)
    } else {
        (new_long, u64::from(shorter))
    }
}

/// The pixels `x` × `y` (spans of the resized image) of `image` resized to `resized`.
pub(crate) fn resize_region(
    image: &RgbImage,
    resized: (u64, u64),
    x: Span,
    y: Span,
) -> Result<RgbImage, ImageError> {
    let fail = |e: &dyn std::fmt::Display| ImageError::Preprocess(format!("resize: {e}"));
    let src = ImageRef::new(
        image.width(),
        image.height(),
        image.pixels(),
        PixelType::U8x3,
    )
    .map_err(|e| fail(&e))?;
    let (left, width) = source_window(image.width(), resized.0, x);
    let (top, height) = source_window(image.height(), resized.1, y);
    let len = x.len as usize * y.len as usize * 3;
    let mut dst = Image::from_vec_u8(x.len, y.len, pixel_buffers::take(len), PixelType::U8x3)
        .map_err(|e| fail(&e))?;
    let options = ResizeOptions::new()
        .resize_alg(ResizeAlg::Convolution(FilterType::Bilinear))
        .crop(left, top, width, height);
    Resizer::new()
        .resize(&src, &mut dst, &options)
        .map_err(|e| fail(&e))?;
    RgbImage::from_raw(x.len, y.len, dst.into_vec())
        .ok_or_else(|| ImageError::Preprocess("resize: wrong output size".into()))
}

/// The source interval that maps onto `span` when `source` pixels are resized to `resized`.
/// Clamped to the image, since float rounding may overshoot its edge by an ulp.
fn source_window(source: u32, resized: u64, span: Span) -> (f64, f64) {
    let scale = f64::from(source) / resized as f64;
    let start = span.start as f64 * scale;
    let len = (f64::from(span.len) * scale).min(f64::from(source) - start);
    (start, len)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shorter_side_becomes_the_size_and_the_longer_truncates() {
        assert_eq!(resized_size(640, 480, 256), (341, 256)); // 341.33
        assert_eq!(resized_size(480, 640, 256), (256, 341));
        assert_eq!(resized_size(500, 500, 73), (73, 73));
        assert_eq!(resized_size(1001, 3, 256), (85418, 256)); // 85418.67
        assert_eq!(resized_size(40, 30, 256), (341, 256)); // upscaling
    }
}
