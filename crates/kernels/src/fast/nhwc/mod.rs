//! Channels-last (NHWC) kernels: the layout the engine runs the body of a network in.
//!
//! In NCHW a 1×1 convolution writes each of its output channels as a separate plane, in runs
//! of one or two kilobytes, and a depthwise convolution reads a whole plane before the next;
//! at 112×112 that traffic, not the arithmetic, set the time. In NHWC every kernel reads and
//! writes one position's channels together, so activations stream through memory in order:
//! a 1×1 convolution is a plain GEMM (positions × input channels times a weight matrix packed
//! at load), a depthwise convolution vectorises over channels, and the bias is a vector added
//! in registers.
//!
//! - [`layout`]: NCHW ↔ NHWC conversions at the edges of the channels-last region.
//! - [`pack`]: convolution weights rearranged once, at load, for these kernels.
//! - [`conv`]: the convolution entry point: [`depthwise`] or the GEMM (`gemm`), on the input
//!   rows themselves (1×1) or on NHWC im2col rows.
//! - [`expand_depthwise`]: a 1×1 convolution and the depthwise convolution reading it, the
//!   expanded tensor computed a band of rows at a time instead of whole.
//! - [`pool`]: MaxPool, AveragePool and the global mean over positions.
//! - [`channels`]: per-channel scaling (squeeze-and-excite) and broadcasts over positions.
//! - [`regroup`]: a position's channels shuffled (ShuffleNet) or a range of them kept.
//!
//! A geometry ([`ConvGeometry`](crate::reference::conv::ConvGeometry),
//! [`PoolGeometry`](crate::reference::pool::PoolGeometry)) describes the same operation as in
//! NCHW: only where the data lives differs.

pub mod channels;
pub mod conv;
pub mod depthwise;
pub mod expand_depthwise;
mod gemm;
pub mod layout;
pub mod pack;
mod padded;
pub mod pool;
pub mod regroup;
mod split;
pub mod winograd;
