//! Reference kernels: scalar loops over row-major buffers, written to be read, not to be fast.

pub mod batchnorm;
pub mod broadcast;
pub mod concat;
pub mod conv;
pub mod elementwise;
pub mod gather;
pub mod gemm;
pub mod pad;
pub mod pool;
pub mod reduce;
pub mod slice;
pub mod softmax;
pub mod transpose;
pub mod window;
