//! Bytes of an uploaded file to an upright RGB image: sniff the format, read the declared size
//! and check it against the limits, and only then decode pixels.

use crate::decode_jpeg::decode_jpeg;
use crate::decode_png::decode_png;
use crate::error::ImageError;
use crate::header;
use crate::image::RgbImage;
use crate::limits::DecodeLimits;
use crate::sniff::{Format, sniff};

/// Decodes a JPEG or PNG file into upright 8-bit RGB, as PIL's
/// `ImageOps.exif_transpose(Image.open(f)).convert("RGB")` would.
///
/// Errors: [`ImageError::UnsupportedMediaType`] for anything but JPEG/PNG,
/// [`ImageError::ImageTooLarge`] (before any pixel is decoded) when the header declares more than
/// `limits.max_pixels`, and [`ImageError::DecodeFailed`] for truncated or corrupt data.
pub fn decode(bytes: &[u8], limits: DecodeLimits) -> Result<RgbImage, ImageError> {
    let format = sniff(bytes)?;
    let (width, height) = header::dimensions(format, bytes)?;
    limits.check(width, height)?;
    // Hostile bytes must never take the process down: a decoder bug becomes a failed image.
    std::panic::catch_unwind(|| match format {
        Format::Jpeg => decode_jpeg(bytes),
        Format::Png => decode_png(bytes),
    })
    .unwrap_or_else(|_| {
        Err(ImageError::DecodeFailed(
            "the decoder crashed on this file".into(),
        ))
    })
}
