//! Numerical kernels. `reference` holds the plain, obviously-correct versions that every fast
//! kernel is tested against; they stay forever as the oracle. `fast` holds the kernels the
//! engine runs by default: a GEMM-based convolution, dedicated depthwise loops and fused
//! epilogues, with the instruction set chosen at run time. `team` holds the threads one run
//! splits its ops over.

pub mod allocator;
pub mod fast;
pub mod float_buffer;
pub mod reference;
pub mod team;

pub use float_buffer::FloatBuffer;
pub use team::ThreadTeam;
