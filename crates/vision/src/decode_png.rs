//! PNG (gray, gray+alpha, palette, RGB, RGBA; 1–16 bits) to RGB with zune-png.
//!
//! Alpha is dropped, not composited, exactly as PIL's `convert("RGB")` does. 16-bit samples keep
//! their high byte, as Pillow does for 16-bit RGB(A). (Pillow clips 16-bit *grayscale* to 255
//! when converting to RGB, which whitens the picture; that bug is not reproduced.)

use zune_core::bytestream::ZCursor;
use zune_core::colorspace::ColorSpace;
use zune_core::options::DecoderOptions;
use zune_png::PngDecoder;

use crate::error::ImageError;
use crate::exif::{exif_orientation, xmp_orientation};
use crate::image::RgbImage;
use crate::orient::apply_orientation;

/// Decodes a PNG whose header was already checked against the pixel limit.
pub(crate) fn decode_png(bytes: &[u8]) -> Result<RgbImage, ImageError> {
    let options = DecoderOptions::default()
        .png_set_strip_to_8bit(true)
        .png_set_confirm_crc(true)
        .inflate_set_confirm_adler(true)
        // The caller's pixel limit is the one that applies.
        .set_max_width(u32::MAX as usize)
        .set_max_height(u32::MAX as usize);
    let mut decoder = PngDecoder::new_with_options(ZCursor::new(bytes), options);
    let samples = decoder.decode_raw().map_err(|e| decode_failed(&e))?;
    let (width, height) = decoder
        .dimensions()
        .ok_or_else(|| ImageError::DecodeFailed("PNG without dimensions".into()))?;
    let colorspace = decoder
        .colorspace()
        .ok_or_else(|| ImageError::DecodeFailed("PNG without a colour type".into()))?;
    let rgb = to_rgb(samples, colorspace)?;
    let image = RgbImage::from_raw(width as u32, height as u32, rgb).ok_or_else(|| {
        ImageError::DecodeFailed(format!(
            "PNG decoder returned a wrong-sized {width}x{height} image"
        ))
    })?;
    Ok(apply_orientation(image, orientation(&decoder).unwrap_or(1)))
}

/// 8-bit samples in `colorspace` to interleaved RGB.
fn to_rgb(samples: Vec<u8>, colorspace: ColorSpace) -> Result<Vec<u8>, ImageError> {
    let rgb = match colorspace {
        ColorSpace::RGB => samples,
        ColorSpace::RGBA => samples
            .chunks_exact(4)
            .flat_map(|p| [p[0], p[1], p[2]])
            .collect(),
        ColorSpace::Luma => samples.iter().flat_map(|&l| [l, l, l]).collect(),
        ColorSpace::LumaA => samples
            .chunks_exact(2)
            .flat_map(|p| [p[0], p[0], p[0]])
            .collect(),
        other => {
            return Err(ImageError::DecodeFailed(format!(
                "PNG decoded to an unexpected colour space {other:?}"
            )));
        }
    };
    Ok(rgb)
}

/// The `eXIf` chunk's orientation, else the XMP packet's (iTXt `XML:com.adobe.xmp`), as Pillow.
fn orientation(decoder: &PngDecoder<ZCursor<&[u8]>>) -> Option<u16> {
    let info = decoder.info()?;
    info.exif.as_deref().and_then(exif_orientation).or_else(|| {
        info.itxt_chunk
            .iter()
            .find(|c| c.keyword == b"XML:com.adobe.xmp")
            .and_then(|c| xmp_orientation(&c.text))
    })
}

/// zune's errors print as their Debug form, quoted; keep the words.
fn decode_failed(err: &impl std::fmt::Display) -> ImageError {
    ImageError::DecodeFailed(format!("PNG: {}", err.to_string().trim_matches('"')))
}
