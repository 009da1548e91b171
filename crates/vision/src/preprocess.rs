//! An upright RGB image to the model's input tensor, as torchvision's evaluation transform does
//! it on a PIL image: `Resize(resize_shorter)`, `CenterCrop(center_crop)`, `ToTensor()`,
//! `Normalize(mean, std)` (DESIGN §7).

use litecnn_engine::{Tensor, input_buffer};

use crate::crop::center_span;
use crate::error::ImageError;
use crate::image::RgbImage;
use crate::normalize::write_normalized;
use crate::pixel_buffers;
use crate::preprocess_spec::PreprocessSpec;
use crate::resize::{resize_region, resized_size};

/// One image as a `[1, 3, H, W]` float32 tensor, `[H, W]` being `spec.center_crop`.
pub fn preprocess(image: &RgbImage, spec: &PreprocessSpec) -> Result<Tensor, ImageError> {
    preprocess_batch([image], spec)
}

/// Several images as one `[N, 3, H, W]` float32 tensor, in the order given.
pub fn preprocess_batch<'a>(
    images: impl IntoIterator<Item = &'a RgbImage>,
    spec: &PreprocessSpec,
) -> Result<Tensor, ImageError> {
    spec.validate()?;
    let [h, w] = spec.center_crop.map(|s| s as usize);
    let per_image = 3 * h * w;
    let images: Vec<&RgbImage> = images.into_iter().collect();
    let n = images.len();
    // The buffer the last run on this thread handed back, when it fits.
    let mut data = input_buffer(n * per_image);
    for (image, out) in images.into_iter().zip(data.chunks_exact_mut(per_image)) {
        preprocess_into(image, spec, out)?;
    }
    Tensor::from_f32(vec![n, 3, h, w], data)
        .map_err(|e| ImageError::Preprocess(format!("building the input tensor: {e}")))
}

/// Writes one image's `3 × H × W` values into `out` (a validated `spec`): one image of a
/// batch built an image at a time, so that only one decoded image is held at once.
pub fn preprocess_into(
    image: &RgbImage,
    spec: &PreprocessSpec,
    out: &mut [f32],
) -> Result<(), ImageError> {
    let [crop_h, crop_w] = spec.center_crop;
    let resized = resized_size(image.width(), image.height(), spec.resize_shorter);
    let x = center_span(resized.0, crop_w);
    let y = center_span(resized.1, crop_h);
    let patch = resize_region(image, resized, x, y)?;
    write_normalized(
        &patch,
        (x.offset as usize, y.offset as usize),
        (crop_w as usize, crop_h as usize),
        spec.mean,
        spec.std,
        out,
    );
    pixel_buffers::recycle(patch);
    Ok(())
}
