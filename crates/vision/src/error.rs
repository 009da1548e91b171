//! What can go wrong between an uploaded file and an input tensor, in kinds a server maps to
//! HTTP answers (DESIGN §9: `unsupported_media_type`, `image_too_large`, `image_decode_failed`).

/// An image that could not be turned into a model input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImageError {
    /// The bytes are not a JPEG or PNG file. `found` names what they look like instead.
    #[error("unsupported media type: {found}; only JPEG and PNG images are accepted")]
    UnsupportedMediaType { found: &'static str },
    /// The header declares more pixels than allowed; nothing was decoded.
    #[error("image too large: {width}x{height} is more than {max} pixels")]
    ImageTooLarge { width: u64, height: u64, max: u64 },
    /// A JPEG or PNG file that is truncated or corrupt, with the decoder's message.
    #[error("cannot decode image: {0}")]
    DecodeFailed(String),
    /// The preprocessing description cannot be applied (a bad or unsupported manifest value).
    #[error("cannot preprocess image: {0}")]
    Preprocess(String),
}

impl ImageError {
    /// The stable error code of the HTTP API for this kind. `Preprocess` is a fault of the model's
    /// manifest, not of the request: a server validates the spec when it loads a model
    /// ([`crate::PreprocessSpec::validate`]) so that it never reaches a request.
    pub fn code(&self) -> &'static str {
        match self {
            ImageError::UnsupportedMediaType { .. } => "unsupported_media_type",
            ImageError::ImageTooLarge { .. } => "image_too_large",
            ImageError::DecodeFailed(_) => "image_decode_failed",
            ImageError::Preprocess(_) => "preprocess_failed",
        }
    }
}
