//! torchvision `CenterCrop` geometry, one axis at a time: where the crop starts, with its
//! rounding (`int(round((size - crop) / 2.0))`, Python's round-half-to-even), and the zero
//! padding it adds first when the crop is larger than the image.

/// The part of one axis of the resized image that the crop keeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Span {
    /// First kept pixel, in resized-image coordinates.
    pub start: u64,
    /// Number of kept pixels (less than the crop only when padding fills the rest).
    pub len: u32,
    /// Where the kept pixels land in the crop (the width of the leading padding).
    pub offset: u32,
}

/// The span a center crop of `crop` pixels keeps along an axis of `size` pixels.
pub(crate) fn center_span(size: u64, crop: u32) -> Span {
    if u64::from(crop) > size {
        // torchvision pads (crop - size) // 2 before and the rest after; then nothing is cut.
        let len = size as u32; // size < crop, so it fits
        return Span {
            start: 0,
            len,
            offset: (crop - len) / 2,
        };
    }
    Span {
        start: round_half_to_even_half(size - u64::from(crop)),
        len: crop,
        offset: 0,
    }
}

/// `round(d / 2)` with ties to even, in integers: an odd `d` is a tie between `d/2` and `d/2 + 1`.
fn round_half_to_even_half(d: u64) -> u64 {
    let half = d / 2;
    if d % 2 == 1 && half % 2 == 1 {
        half + 1
    } else {
        half
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounds_like_python() {
        // int(round(x / 2.0)) for x = 0..=7 is 0, 0, 1, 2, 2, 2, 3, 4.
        let starts: Vec<u64> = (0..=7).map(|d| center_span(224 + d, 224).start).collect();
        assert_eq!(starts, [0, 0, 1, 2, 2, 2, 3, 4]);
        assert_eq!(center_span(341, 224).start, 58); // round(58.5) = 58
        assert_eq!(center_span(256, 224).start, 16);
    }

    #[test]
    fn a_larger_crop_pads_floor_half_first() {
        assert_eq!(
            center_span(5, 8),
            Span {
                start: 0,
                len: 5,
                offset: 1
            }
        );
        assert_eq!(
            center_span(4, 8),
            Span {
                start: 0,
                len: 4,
                offset: 2
            }
        );
    }
}
