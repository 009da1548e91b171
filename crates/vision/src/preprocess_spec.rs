//! The `preprocess` section of a bundle manifest (DESIGN §2, §7): what turns an image file into
//! the model's input tensor. Parsed from JSON by the bundle crate; applied by this crate.

use serde::{Deserialize, Serialize};

/// How an image becomes the model input: resize the shorter side, center-crop, scale to
/// [0, 1], normalise per channel.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PreprocessSpec {
    /// Target length of the shorter side before cropping (torchvision `Resize(int)`).
    pub resize_shorter: u32,
    /// `[height, width]` of the center crop: the model's input size.
    pub center_crop: [u32; 2],
    /// Only `"bilinear"` is supported (what torchvision uses by default).
    #[serde(default = "default_interpolation")]
    pub interpolation: String,
    /// Antialiased downscaling, as PIL and torchvision ≥ 0.17 do it.
    #[serde(default = "default_true")]
    pub antialias: bool,
    pub mean: [f32; 3],
    pub std: [f32; 3],
    /// Channel order of the input tensor; only `"RGB"` is supported.
    #[serde(default = "default_color")]
    pub color: String,
}

fn default_interpolation() -> String {
    "bilinear".into()
}

fn default_true() -> bool {
    true
}

fn default_color() -> String {
    "RGB".into()
}

impl PreprocessSpec {
    /// torchvision's ImageNet evaluation transform for a `size`×`size` model
    /// (`Resize(size * 256 / 224)`, `CenterCrop(size)`, ImageNet mean and std).
    pub fn imagenet(size: u32) -> PreprocessSpec {
        PreprocessSpec {
            resize_shorter: size * 256 / 224,
            center_crop: [size, size],
            interpolation: default_interpolation(),
            antialias: true,
            mean: [0.485, 0.456, 0.406],
            std: [0.229, 0.224, 0.225],
            color: default_color(),
        }
    }
}
