//! Copying the short runs of small planes (a 7-element row of a 7×7 plane).
//!
//! A `copy_from_slice` whose length is known only at run time is a `memcpy` call, whose fixed
//! cost is most of a 7-element copy; on a 7×7 layer those calls were most of the time. A plain
//! copy loop is turned back into that same call by the compiler, so [`copy_short`] adds `+0.0`
//! to each element, which it cannot remove: exact, except that `-0.0` becomes `+0.0`, which
//! the sums of a convolution do not see.

/// `dst = 0`, for the few padding elements at the ends of a row, without a `memset` call.
#[inline(always)]
pub(crate) fn zero_short(dst: &mut [f32]) {
    const LONG: usize = 64;
    static ZEROS: [f32; LONG] = [0.0; LONG];
    if dst.len() <= LONG {
        // Hidden from the optimiser, which would otherwise see a fill and make it a call.
        copy_short(dst, std::hint::black_box(&ZEROS));
    } else {
        dst.fill(0.0);
    }
}

/// `dst = src + 0.0`, element by element (`src` may be longer than `dst`).
#[inline(always)]
pub(crate) fn copy_short(dst: &mut [f32], src: &[f32]) {
    for (d, &s) in dst.iter_mut().zip(src) {
        *d = s + 0.0;
    }
}
