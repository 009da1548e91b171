//! Image decoding and preprocessing as a model's manifest describes it, matching PIL +
//! torchvision on the same file (DESIGN §7).
//!
//! ```text
//! bytes ─► sniff ─► header size vs. limits ─► decode (JPEG | PNG) ─► EXIF orientation ─► RgbImage
//! RgbImage ─► resize shorter side ─► center crop ─► /255, normalise ─► Tensor [N,3,H,W]
//! ```
//!
//! [`decode`] answers with typed [`ImageError`]s that a server maps to HTTP codes;
//! [`preprocess`] / [`preprocess_batch`] apply a [`PreprocessSpec`].

mod crop;
mod decode;
mod decode_jpeg;
mod decode_png;
mod error;
mod exif;
mod header;
mod image;
mod limits;
mod normalize;
mod orient;
mod pixel_buffers;
mod preprocess;
mod preprocess_spec;
mod resize;
mod sniff;
mod validate;

pub use decode::decode;
pub use error::ImageError;
pub use exif::{exif_orientation, xmp_orientation};
pub use image::RgbImage;
pub use limits::{DEFAULT_MAX_PIXELS, DecodeLimits};
pub use orient::apply_orientation;
pub use pixel_buffers::recycle;
pub use preprocess::{preprocess, preprocess_batch, preprocess_into};
pub use preprocess_spec::PreprocessSpec;
pub use sniff::{Format, sniff};
pub use validate::MAX_SIDE;
