//! torchvision `ToTensor` + `Normalize` on the cropped pixels: `(v / 255 - mean) / std` in
//! float32, in that order (so the values are the ones PyTorch computes), laid out as planar CHW.

use crate::image::RgbImage;

/// Writes one `[3, crop_h, crop_w]` input into `out`. `patch` lands at `offset` (x, y); any pixel
/// it does not cover is torchvision's black padding, normalised like the rest.
pub(crate) fn write_normalized(
    patch: &RgbImage,
    offset: (usize, usize),
    crop: (usize, usize),
    mean: [f32; 3],
    std: [f32; 3],
    out: &mut [f32],
) {
    let (crop_w, crop_h) = crop;
    let plane = crop_w * crop_h;
    debug_assert_eq!(out.len(), 3 * plane);
    let (patch_w, patch_h) = (patch.width() as usize, patch.height() as usize);
    // 256 possible inputs per channel: a table computed with the exact same f32 operations.
    let lut: [[f32; 256]; 3] =
        std::array::from_fn(|c| std::array::from_fn(|v| (v as f32 / 255.0 - mean[c]) / std[c]));
    if patch_w != crop_w || patch_h != crop_h {
        for (c, channel) in out.chunks_exact_mut(plane).enumerate() {
            channel.fill(lut[c][0]);
        }
    }
    for (py, row) in patch.pixels().chunks_exact(patch_w * 3).enumerate() {
        let base = (offset.1 + py) * crop_w + offset.0;
        for (px, rgb) in row.chunks_exact(3).enumerate() {
            for c in 0..3 {
                out[c * plane + base + px] = lut[c][usize::from(rgb[c])];
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_and_pads_with_black() {
        // One pixel (255, 0, 51) centred in a 3x1 crop.
        let patch = RgbImage::from_raw(1, 1, vec![255, 0, 51]).unwrap();
        let mut out = vec![f32::NAN; 9];
        write_normalized(&patch, (1, 0), (3, 1), [0.5; 3], [0.25; 3], &mut out);
        let black = (0.0 - 0.5) / 0.25;
        assert_eq!(
            out,
            [
                black,
                2.0,
                black,
                black,
                -2.0,
                black,
                black,
                (0.2 - 0.5) / 0.25,
                black
            ]
        );
    }
}
