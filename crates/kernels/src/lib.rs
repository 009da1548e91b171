//! Numerical kernels. `reference` holds the plain, obviously-correct versions that every fast
//! kernel is tested against; they stay forever as the oracle.

pub mod reference;
