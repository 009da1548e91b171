//! Image decoding and preprocessing as a model's manifest describes it, matching PIL +
//! torchvision on the same file (DESIGN §7).

mod preprocess_spec;

pub use preprocess_spec::PreprocessSpec;
