//! Run-time instruction-set dispatch for autovectorised loops.
//!
//! A kernel body is written once as an `#[inline(always)]` function over slices;
//! [`multiversion!`] stamps out copies compiled with AVX-512 and AVX2+FMA enabled and calls the
//! best one the CPU supports. Elsewhere (aarch64, where NEON is part of the baseline, or an old
//! x86) the plain body runs, so there is always a portable fallback.

use std::sync::OnceLock;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Level {
    Baseline,
    #[cfg(target_arch = "x86_64")]
    Avx2,
    #[cfg(target_arch = "x86_64")]
    Avx512,
}

/// The best level this CPU supports, detected once.
pub(crate) fn level() -> Level {
    static LEVEL: OnceLock<Level> = OnceLock::new();
    *LEVEL.get_or_init(detect)
}

fn detect() -> Level {
    #[cfg(target_arch = "x86_64")]
    {
        if std::env::var_os("LITECNN_NO_SIMD").is_some() {
            return Level::Baseline;
        }
        if is_x86_feature_detected!("avx512f")
            && is_x86_feature_detected!("avx2")
            && is_x86_feature_detected!("fma")
        {
            return Level::Avx512;
        }
        if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
            return Level::Avx2;
        }
    }
    Level::Baseline
}

/// `multiversion!(pub(crate) fn name(args...) => body_fn);` defines `name`, which runs
/// `body_fn(args...)` compiled for the best instruction set available. `body_fn` must be
/// `#[inline(always)]` so that each copy is vectorised for its own target.
macro_rules! multiversion {
    ($vis:vis fn $name:ident($($arg:ident : $ty:ty),* $(,)?) => $body:path) => {
        #[allow(clippy::too_many_arguments)]
        $vis fn $name($($arg: $ty),*) {
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx512f,avx2,fma")]
                #[allow(clippy::too_many_arguments)]
                fn avx512($($arg: $ty),*) {
                    $body($($arg),*)
                }
                #[target_feature(enable = "avx2,fma")]
                #[allow(clippy::too_many_arguments)]
                fn avx2($($arg: $ty),*) {
                    $body($($arg),*)
                }
                match $crate::fast::dispatch::level() {
                    // SAFETY: `level()` checked that the CPU has these features.
                    $crate::fast::dispatch::Level::Avx512 => return unsafe { avx512($($arg),*) },
                    // SAFETY: as above.
                    $crate::fast::dispatch::Level::Avx2 => return unsafe { avx2($($arg),*) },
                    $crate::fast::dispatch::Level::Baseline => {}
                }
            }
            $body($($arg),*)
        }
    };
}
pub(crate) use multiversion;
