//! Graph passes, run in this order by [`optimize`]:
//!
//! 1. [`fold_constants`] — infers every value's type and shape, evaluates nodes whose inputs
//!    are all known at load time, and folds the shape arithmetic exporters emit (including
//!    `Reshape` targets that only copy a symbolic batch dimension); then the nodes that
//!    computed it are dropped ([`remove_dead_nodes`]): a `Shape` left reading a value would
//!    block its fusions and, read as NCHW, force `channels_last` to convert it back.
//! 2. [`fold_batch_norm`] — folds BatchNormalization into the Conv before it (fast kernels
//!    only: the reference path runs the graph as imported).
//! 3. [`fuse_conv_epilogue`] — fuses residual Add and activations into the conv before them
//!    (`FusedConv`; fast kernels only).
//! 4. [`channels_last`] — runs the convolutions and what follows them in NHWC, with their
//!    weights packed for the NHWC kernels (fast kernels, unless the options keep NCHW).
//! 5. [`fuse_expand_depthwise`] — joins a channels-last 1×1 convolution and the depthwise
//!    convolution that alone reads it, so the expanded tensor is computed a band at a time.
//! 6. [`read_nchw_input`] — lets the first convolution read the NCHW input image itself,
//!    without the transpose to NHWC before it.
//! 7. [`remove_dead_nodes`] — drops nodes no graph output depends on, and unused constants
//!    (such as the weights BatchNorm folding replaced, and the transposes step 6 bypassed).
//!
//! Every pass keeps nodes in topological order and must not change what the graph computes;
//! their tests run a graph before and after on the same inputs.

mod channel_shuffle;
mod channels_last;
mod fold_batch_norm;
mod fold_constants;
mod fuse_conv_epilogue;
mod fuse_expand_depthwise;
mod read_nchw_input;
mod remove_dead_nodes;
mod symbolic;
mod uses;

pub use channels_last::channels_last;
pub use fold_batch_norm::fold_batch_norm;
pub use fold_constants::fold_constants;
pub use fuse_conv_epilogue::fuse_conv_epilogue;
pub use fuse_expand_depthwise::fuse_expand_depthwise;
pub use read_nchw_input::read_nchw_input;
pub use remove_dead_nodes::remove_dead_nodes;

use crate::error::EngineError;
use crate::ir::Graph;
use crate::model::{Layout, ModelOptions};
use crate::ops::Kernels;

/// Runs every load-time pass in order; the fusions and the layout change only for the kernels
/// that have them.
pub fn optimize(graph: &mut Graph, options: &ModelOptions) -> Result<(), EngineError> {
    fold_constants(graph)?;
    // The shape arithmetic folding replaced (`Shape` and what read it) would otherwise still
    // count as readers of the values the fusions and `channels_last` rewrite.
    remove_dead_nodes(graph);
    if options.kernels == Kernels::Fast {
        fold_batch_norm(graph);
        fuse_conv_epilogue(graph);
        if options.layout == Layout::ChannelsLast {
            channels_last(graph, options.winograd);
            fuse_expand_depthwise(graph);
            read_nchw_input(graph);
        }
    }
    remove_dead_nodes(graph);
    Ok(())
}
