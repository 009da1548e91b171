//! Which decoder a file needs, from its magic bytes alone: a `Content-Type` header or a file
//! extension is a claim, the first bytes are a fact.

use crate::error::ImageError;

/// The formats this crate decodes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Jpeg,
    Png,
}

const PNG_MAGIC: &[u8] = b"\x89PNG\r\n\x1a\n";
// SOI: every JPEG variant starts so. (Two bytes only, so that a file cut right after its start
// is reported as a broken JPEG rather than as an unknown format.)
const JPEG_MAGIC: &[u8] = b"\xff\xd8";

/// Formats that are refused, recognised only to say what was sent instead.
const OTHERS: &[(&[u8], &str)] = &[
    (b"GIF87a", "a GIF image"),
    (b"GIF89a", "a GIF image"),
    (b"BM", "a BMP image"),
    (b"II*\0", "a TIFF image"),
    (b"MM\0*", "a TIFF image"),
    (b"\0\0\0\x0cjP  ", "a JPEG 2000 image"),
    (b"\xff\x0a", "a JPEG XL image"),
    (b"%PDF", "a PDF document"),
];

/// The format of `bytes`, or `UnsupportedMediaType` naming what they look like.
pub fn sniff(bytes: &[u8]) -> Result<Format, ImageError> {
    if bytes.starts_with(PNG_MAGIC) {
        return Ok(Format::Png);
    }
    if bytes.starts_with(JPEG_MAGIC) {
        return Ok(Format::Jpeg);
    }
    Err(ImageError::UnsupportedMediaType {
        found: describe(bytes),
    })
}

fn describe(bytes: &[u8]) -> &'static str {
    if bytes.is_empty() {
        return "an empty file";
    }
    if let Some((_, name)) = OTHERS.iter().find(|(magic, _)| bytes.starts_with(magic)) {
        return name;
    }
    if bytes.len() >= 12 && &bytes[0..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        return "a WebP image";
    }
    if bytes.len() >= 12 && &bytes[4..8] == b"ftyp" {
        return "an ISO media file (HEIC/AVIF/MP4)";
    }
    if looks_like_text(bytes) {
        return "text";
    }
    "unrecognised data"
}

fn looks_like_text(bytes: &[u8]) -> bool {
    let head = &bytes[..bytes.len().min(512)];
    std::str::from_utf8(head).is_ok_and(|s| !s.contains('\0'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_jpeg_and_png() {
        assert_eq!(sniff(b"\xff\xd8\xff\xe0rest").unwrap(), Format::Jpeg);
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\nrest").unwrap(), Format::Png);
    }

    #[test]
    fn names_what_it_refuses() {
        let found = |b: &[u8]| match sniff(b) {
            Err(ImageError::UnsupportedMediaType { found }) => found,
            other => panic!("{other:?}"),
        };
        assert_eq!(found(b"GIF89a...."), "a GIF image");
        assert_eq!(found(b"RIFF\0\0\0\0WEBPVP8 "), "a WebP image");
        assert_eq!(found(b"hello, world\n"), "text");
        assert_eq!(found(b""), "an empty file");
        assert_eq!(found(b"\x89PNG"), "unrecognised data");
    }
}
