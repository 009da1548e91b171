//! Reference kernels: scalar loops over row-major buffers, written to be read, not to be fast.
