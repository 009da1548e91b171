//! Image dimensions read straight from the file header, before any decoder allocates anything:
//! the pixel limit must hold even for a file crafted to lie to decoders.

use crate::error::ImageError;
use crate::sniff::Format;

/// `(width, height)` as the header declares them.
pub(crate) fn dimensions(format: Format, bytes: &[u8]) -> Result<(u64, u64), ImageError> {
    match format {
        Format::Png => png_dimensions(bytes),
        Format::Jpeg => jpeg_dimensions(bytes),
    }
}

/// PNG puts IHDR first, at a fixed offset: signature (8), length (4), "IHDR" (4), width, height.
fn png_dimensions(bytes: &[u8]) -> Result<(u64, u64), ImageError> {
    if bytes.len() < 24 || &bytes[12..16] != b"IHDR" {
        return Err(fail("PNG file without an IHDR header"));
    }
    Ok((u64::from(be32(bytes, 16)), u64::from(be32(bytes, 20))))
}

/// Walks the JPEG marker segments up to the first start-of-frame (SOFn), which holds the size.
fn jpeg_dimensions(bytes: &[u8]) -> Result<(u64, u64), ImageError> {
    let mut at = 2; // after SOI
    loop {
        let marker;
        (marker, at) = next_marker(bytes, at)?;
        match marker {
            0xD8 | 0x01 | 0xD0..=0xD7 => continue, // stand-alone markers: no length
            0xD9 | 0xDA => return Err(fail("JPEG image data starts before its frame header")),
            _ => {}
        }
        if at + 2 > bytes.len() {
            return Err(fail("JPEG file ends inside a segment header"));
        }
        if is_start_of_frame(marker) {
            if at + 7 > bytes.len() {
                return Err(fail("JPEG file ends inside its frame header"));
            }
            return Ok((
                u64::from(be16(bytes, at + 5)),
                u64::from(be16(bytes, at + 3)),
            ));
        }
        let length = usize::from(be16(bytes, at));
        if length < 2 {
            return Err(fail("corrupt JPEG: segment length below 2"));
        }
        at += length;
    }
}

/// The marker at `at` (skipping 0xFF fill bytes) and the offset just after it.
fn next_marker(bytes: &[u8], mut at: usize) -> Result<(u8, usize), ImageError> {
    if bytes.get(at) != Some(&0xFF) {
        return Err(fail(if at >= bytes.len() {
            "JPEG file ends before its frame header"
        } else {
            "corrupt JPEG: expected a marker"
        }));
    }
    while bytes.get(at) == Some(&0xFF) {
        at += 1; // markers may be preceded by any number of 0xFF fill bytes
    }
    let marker = *bytes
        .get(at)
        .ok_or_else(|| fail("JPEG file ends inside a marker"))?;
    Ok((marker, at + 1))
}

/// SOF0–SOF15, except the three codes in that range that mean something else (DHT, JPG, DAC).
fn is_start_of_frame(marker: u8) -> bool {
    matches!(marker, 0xC0..=0xCF) && !matches!(marker, 0xC4 | 0xC8 | 0xCC)
}

fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn fail(message: &str) -> ImageError {
    ImageError::DecodeFailed(message.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn png_size_comes_from_ihdr() {
        let mut b = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
        b.extend_from_slice(&300u32.to_be_bytes());
        b.extend_from_slice(&200u32.to_be_bytes());
        assert_eq!(dimensions(Format::Png, &b).unwrap(), (300, 200));
        assert!(dimensions(Format::Png, &b[..20]).is_err());
    }

    #[test]
    fn jpeg_size_comes_from_the_first_frame_header() {
        // SOI, APP0 (length 4: two payload bytes), fill byte, SOF2 (progressive) 640x480.
        let b = b"\xff\xd8\xff\xe0\x00\x04ab\xff\xff\xc2\x00\x11\x08\x01\xe0\x02\x80\x03";
        assert_eq!(dimensions(Format::Jpeg, b).unwrap(), (640, 480));
    }

    #[test]
    fn jpeg_without_frame_header_is_corrupt() {
        assert!(dimensions(Format::Jpeg, b"\xff\xd8\xff\xda\x00\x02").is_err());
        assert!(dimensions(Format::Jpeg, b"\xff\xd8\xff\xe0\x00\x10").is_err());
        assert!(dimensions(Format::Jpeg, b"\xff\xd8").is_err());
        assert!(dimensions(Format::Jpeg, b"\xff\xd8\xff\xe0\x00\x00").is_err());
    }
}
