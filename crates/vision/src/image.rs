//! The decoded picture every format converges on: 8-bit RGB, interleaved, rows top to bottom,
//! upright (EXIF orientation already applied) — what PIL calls an `"RGB"` image.

/// An upright 8-bit RGB image. Invariant: `pixels.len() == width * height * 3`, both sides ≥ 1.
#[derive(Clone, PartialEq, Eq)]
pub struct RgbImage {
    width: u32,
    height: u32,
    pixels: Vec<u8>,
}

impl RgbImage {
    /// Wraps interleaved RGB bytes; `None` if the size is zero or disagrees with the buffer.
    pub fn from_raw(width: u32, height: u32, pixels: Vec<u8>) -> Option<RgbImage> {
        let expected = (width as usize)
            .checked_mul(height as usize)?
            .checked_mul(3)?;
        (width > 0 && height > 0 && pixels.len() == expected).then_some(RgbImage {
            width,
            height,
            pixels,
        })
    }

    pub fn width(&self) -> u32 {
        self.width
    }

    pub fn height(&self) -> u32 {
        self.height
    }

    /// Interleaved `R, G, B` bytes, row-major.
    pub fn pixels(&self) -> &[u8] {
        &self.pixels
    }

    pub fn into_pixels(self) -> Vec<u8> {
        self.pixels
    }
}

// Printing megabytes of pixels helps nobody; show the shape.
impl std::fmt::Debug for RgbImage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RgbImage({}x{})", self.width, self.height)
    }
}
