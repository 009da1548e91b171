//! JPEG (baseline and progressive; gray, YCbCr, CMYK, YCCK) to upright RGB with zune-jpeg.
//!
//! CMYK and YCCK files are converted as Pillow does: Adobe-inverted ink values, `R = C·K/255`.
//! The decoder runs in strict mode so that a truncated or corrupt file is an error, as it is
//! for Pillow, instead of an image padded with grey that would still get a confident label.

use zune_core::bytestream::ZCursor;
use zune_core::colorspace::ColorSpace;
use zune_core::options::DecoderOptions;
use zune_jpeg::JpegDecoder;

use crate::error::ImageError;
use crate::exif::{exif_orientation, xmp_orientation};
use crate::image::RgbImage;
use crate::orient::apply_orientation;
use crate::pixel_buffers;

/// Decodes a JPEG whose header was already checked against the pixel limit.
pub(crate) fn decode_jpeg(bytes: &[u8]) -> Result<RgbImage, ImageError> {
    let options = DecoderOptions::default()
        .jpeg_set_out_colorspace(ColorSpace::RGB)
        .set_strict_mode(true)
        // The caller's pixel limit is the one that applies; JPEG sides are 16-bit anyway.
        .set_max_width(usize::from(u16::MAX))
        .set_max_height(usize::from(u16::MAX));
    let mut decoder = JpegDecoder::new_with_options(ZCursor::new(bytes), options);
    decoder.decode_headers().map_err(|e| decode_failed(&e))?;
    let size = decoder
        .output_buffer_size()
        .ok_or_else(|| ImageError::DecodeFailed("JPEG without dimensions".into()))?;
    let mut pixels = pixel_buffers::take(size);
    if let Err(e) = decoder.decode_into(&mut pixels) {
        pixel_buffers::give(pixels);
        return Err(decode_failed(&e));
    }
    let (width, height) = decoder
        .dimensions()
        .ok_or_else(|| ImageError::DecodeFailed("JPEG without dimensions".into()))?;
    let image = RgbImage::from_raw(width as u32, height as u32, pixels).ok_or_else(|| {
        ImageError::DecodeFailed(format!(
            "JPEG decoder returned a wrong-sized {width}x{height} image"
        ))
    })?;
    // Pillow reads the XMP orientation only when EXIF has none.
    let orientation = decoder
        .exif()
        .and_then(|e| exif_orientation(e))
        .or_else(|| decoder.xmp().and_then(|x| xmp_orientation(x)));
    Ok(apply_orientation(image, orientation.unwrap_or(1)))
}

/// zune's errors print as their Debug form, quoted; keep the words.
fn decode_failed(err: &impl std::fmt::Display) -> ImageError {
    ImageError::DecodeFailed(format!("JPEG: {}", err.to_string().trim_matches('"')))
}
