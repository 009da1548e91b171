//! Image decoding and preprocessing as a model's manifest describes it, matching PIL + torchvision.
