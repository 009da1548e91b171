//! Turning a decoded image upright as its EXIF orientation says, with the same transpositions as
//! Pillow's `ImageOps.exif_transpose` (so 6 is a 90° clockwise turn, 8 counter-clockwise).

use crate::image::RgbImage;

/// Applies EXIF orientation `orientation` (1–8); any other value leaves the image as it is, as
/// Pillow does.
pub fn apply_orientation(image: RgbImage, orientation: u16) -> RgbImage {
    if !(2..=8).contains(&orientation) {
        return image;
    }
    let (w, h) = (image.width() as usize, image.height() as usize);
    // 5–8 swap the axes.
    let (out_w, out_h) = if orientation >= 5 { (h, w) } else { (w, h) };
    let (src, _) = image.pixels().as_chunks::<3>();
    let mut bytes = vec![0u8; image.pixels().len()];
    let (out, _) = bytes.as_chunks_mut::<3>();
    // Tiles keep the source rows that a turned tile reads in cache (a column walk per output
    // row would fetch a new cache line for every pixel of a photo).
    for tile_y in (0..out_h).step_by(TILE) {
        for tile_x in (0..out_w).step_by(TILE) {
            for y in tile_y..(tile_y + TILE).min(out_h) {
                let (base, step) = source_walk(orientation, y, w, h);
                for x in tile_x..(tile_x + TILE).min(out_w) {
                    out[y * out_w + x] = src[base.wrapping_add_signed(x as isize * step)];
                }
            }
        }
    }
    RgbImage::from_raw(out_w as u32, out_h as u32, bytes).expect("same pixel count, sides swapped")
}

/// Side of the square tiles the transposition works in.
const TILE: usize = 64;

/// For output row `y` of a `w`×`h` source turned by `orientation`, the source pixel index of
/// output column 0 and the index step from one column to the next: every EXIF transposition
/// maps an output row onto a straight line of source pixels.
fn source_walk(orientation: u16, y: usize, w: usize, h: usize) -> (usize, isize) {
    let wi = w as isize;
    match orientation {
        2 => (y * w + w - 1, -1),            // FLIP_LEFT_RIGHT: (w-1-x, y)
        3 => ((h - 1 - y) * w + w - 1, -1),  // ROTATE_180: (w-1-x, h-1-y)
        4 => ((h - 1 - y) * w, 1),           // FLIP_TOP_BOTTOM: (x, h-1-y)
        5 => (y, wi),                        // TRANSPOSE: (y, x)
        6 => ((h - 1) * w + y, -wi),         // ROTATE_270, clockwise: (y, h-1-x)
        7 => ((h - 1) * w + w - 1 - y, -wi), // TRANSVERSE: (w-1-y, h-1-x)
        8 => (w - 1 - y, wi),                // ROTATE_90, counter-clockwise: (w-1-y, x)
        _ => (y * w, 1),                     // upright
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 3x2 image whose red channel numbers the pixels 0..6 in reading order.
    fn numbered() -> RgbImage {
        let px = (0..6u8).flat_map(|i| [i, 0, 0]).collect();
        RgbImage::from_raw(3, 2, px).unwrap()
    }

    /// Width, height and red channel.
    type Shown = (u32, u32, Vec<u8>);

    fn reds(img: &RgbImage) -> Shown {
        let r = img.pixels().chunks(3).map(|p| p[0]).collect();
        (img.width(), img.height(), r)
    }

    #[test]
    fn every_orientation_matches_pillows_transpose() {
        // 0 1 2
        // 3 4 5
        let cases: [(u16, Shown); 8] = [
            (1, (3, 2, vec![0, 1, 2, 3, 4, 5])),
            (2, (3, 2, vec![2, 1, 0, 5, 4, 3])),
            (3, (3, 2, vec![5, 4, 3, 2, 1, 0])),
            (4, (3, 2, vec![3, 4, 5, 0, 1, 2])),
            (5, (2, 3, vec![0, 3, 1, 4, 2, 5])),
            (6, (2, 3, vec![3, 0, 4, 1, 5, 2])),
            (7, (2, 3, vec![5, 2, 4, 1, 3, 0])),
            (8, (2, 3, vec![2, 5, 1, 4, 0, 3])),
        ];
        for (o, expected) in cases {
            assert_eq!(
                reds(&apply_orientation(numbered(), o)),
                expected,
                "orientation {o}"
            );
        }
        assert_eq!(reds(&apply_orientation(numbered(), 9)), reds(&numbered()));
    }
}
