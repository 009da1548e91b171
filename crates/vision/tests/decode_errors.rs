//! `decode` on hostile and broken input: each failure has its kind (the HTTP code depends on
//! it), and the pixel limit holds before any decoding.

mod support;

use litecnn_vision::{DecodeLimits, ImageError, decode};
use support::jpeg::gray_blocks;

fn limits() -> DecodeLimits {
    DecodeLimits::default()
}

/// A PNG that is only a signature and an IHDR: enough to declare any size.
fn png_header(width: u32, height: u32) -> Vec<u8> {
    let mut b = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
    b.extend(width.to_be_bytes());
    b.extend(height.to_be_bytes());
    b.extend([8, 2, 0, 0, 0]); // 8-bit RGB
    b.extend([0; 4]); // CRC: never read, the size is refused first
    b
}

#[test]
fn png_bomb_is_refused_from_its_header() {
    let bomb = png_header(20_000, 20_000);
    assert!(bomb.len() < 40);
    assert_eq!(
        decode(&bomb, limits()),
        Err(ImageError::ImageTooLarge {
            width: 20_000,
            height: 20_000,
            max: 40_000_000
        })
    );
    assert_eq!(
        decode(&bomb, limits()).unwrap_err().code(),
        "image_too_large"
    );
}

#[test]
fn jpeg_bomb_is_refused_from_its_header() {
    let mut bomb = gray_blocks(8, 8, &[128], None);
    let sof = bomb.windows(2).position(|w| w == [0xFF, 0xC0]).unwrap();
    bomb[sof + 5..sof + 9].copy_from_slice(&[0xFF, 0xF0, 0xFF, 0xF0]); // 65520 x 65520
    let small = DecodeLimits { max_pixels: 1000 };
    assert!(matches!(
        decode(&bomb, small),
        Err(ImageError::ImageTooLarge {
            width: 65520,
            height: 65520,
            max: 1000
        })
    ));
}

#[test]
fn text_is_an_unsupported_media_type() {
    let err = decode(b"name,breed\nrex,collie\n", limits()).unwrap_err();
    assert_eq!(err, ImageError::UnsupportedMediaType { found: "text" });
    assert_eq!(err.code(), "unsupported_media_type");
    assert!(err.to_string().contains("only JPEG and PNG"), "{err}");
}

#[test]
fn a_whole_tiny_jpeg_decodes() {
    let image = decode(&gray_blocks(16, 8, &[40, 200], None), limits()).unwrap();
    assert_eq!((image.width(), image.height()), (16, 8));
    let px = image.pixels();
    assert_eq!(&px[..3], &[40, 40, 40]);
    assert_eq!(&px[15 * 3..16 * 3], &[200, 200, 200]);
}

#[test]
fn truncated_jpeg_fails_to_decode() {
    let levels: Vec<u8> = (0..64).map(|i| (i * 4) as u8).collect();
    let whole = gray_blocks(64, 64, &levels, None);
    decode(&whole, limits()).unwrap();
    let cut = &whole[..whole.len() - 40];
    let err = decode(cut, limits()).unwrap_err();
    assert!(matches!(err, ImageError::DecodeFailed(_)), "{err:?}");
    assert_eq!(err.code(), "image_decode_failed");
}

#[test]
fn jpeg_cut_inside_its_headers_fails_to_decode() {
    let whole = gray_blocks(8, 8, &[128], None);
    for len in [2, 5, 30, 100] {
        let err = decode(&whole[..len], limits()).unwrap_err();
        assert!(matches!(err, ImageError::DecodeFailed(_)), "{len}: {err:?}");
    }
}

#[test]
fn corrupt_png_fails_to_decode() {
    let mut png = png_header(4, 4);
    png.extend(b"\0\0\0\x10IDATnot deflate data\0\0\0\0");
    let err = decode(&png, limits()).unwrap_err();
    assert!(matches!(err, ImageError::DecodeFailed(_)), "{err:?}");
}

/// An APP1 EXIF block holding only IFD0 with Orientation = `orientation`, big-endian.
fn exif_orientation_block(orientation: u16) -> Vec<u8> {
    let mut b = b"Exif\0\0MM\0*\0\0\0\x08\0\x01".to_vec();
    b.extend([0x01, 0x12, 0, 3, 0, 0, 0, 1]); // tag 0x0112, SHORT, count 1
    b.extend(orientation.to_be_bytes());
    b.extend([0, 0, 0, 0, 0, 0]); // value padding, no next IFD
    b
}

#[test]
fn exif_orientation_6_turns_the_image_clockwise() {
    // Left block dark, right block bright; turned clockwise, the left side is on top.
    let exif = exif_orientation_block(6);
    let image = decode(&gray_blocks(16, 8, &[40, 200], Some(&exif)), limits()).unwrap();
    assert_eq!((image.width(), image.height()), (8, 16));
    let px = image.pixels();
    assert_eq!(px[0], 40);
    assert_eq!(px[15 * 8 * 3], 200);
}

#[test]
fn exif_orientation_3_turns_the_image_upside_down() {
    let exif = exif_orientation_block(3);
    let image = decode(&gray_blocks(16, 8, &[40, 200], Some(&exif)), limits()).unwrap();
    assert_eq!((image.width(), image.height()), (16, 8));
    assert_eq!(image.pixels()[0], 200);
}
