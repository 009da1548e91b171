//! Per-thread scratch buffers (im2col columns, padded depthwise planes), kept between calls so
//! that a warm model allocates nothing for them.

use std::cell::RefCell;

use std::thread::LocalKey;

thread_local! {
    static SCRATCH: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
    static PANELS: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
}

/// Runs `f` with a zero-filled scratch slice of `len` elements owned by this thread.
pub(crate) fn with_zeroed<R>(len: usize, f: impl FnOnce(&mut [f32]) -> R) -> R {
    with_scratch(len, |buf| {
        buf.fill(0.0);
        f(buf)
    })
}

/// Runs `f` with a scratch slice of `len` elements owned by this thread, holding whatever an
/// earlier call left there: for callers that write every element before reading any (im2col),
/// which saves clearing megabytes per convolution.
pub(crate) fn with_scratch<R>(len: usize, f: impl FnOnce(&mut [f32]) -> R) -> R {
    with_slot(&SCRATCH, len, f)
}

/// [`with_scratch`] in a second buffer whose slice starts on a 64-byte boundary (a cache
/// line), for the GEMM's packed panels, which are filled while the first buffer holds that
/// GEMM's im2col columns.
pub(crate) fn with_panels<R>(len: usize, f: impl FnOnce(&mut [f32]) -> R) -> R {
    const LINE_FLOATS: usize = 64 / size_of::<f32>();
    with_slot(&PANELS, len + LINE_FLOATS, |buf| {
        let skip = buf.as_ptr().align_offset(64).min(LINE_FLOATS);
        f(&mut buf[skip..][..len])
    })
}

/// Elements of capacity in this thread's scratch buffers.
pub(crate) fn kept_capacity() -> usize {
    [&SCRATCH, &PANELS]
        .iter()
        .map(|slot| slot.with(|cell| cell.try_borrow().map_or(0, |buf| buf.capacity())))
        .sum()
}

/// Drops this thread's scratch buffers (a thread that ran a model once and will not again).
pub(crate) fn clear() {
    for slot in [&SCRATCH, &PANELS] {
        slot.with(|cell| {
            if let Ok(mut buf) = cell.try_borrow_mut() {
                *buf = Vec::new();
            }
        });
    }
}

fn with_slot<R>(
    slot: &'static LocalKey<RefCell<Vec<f32>>>,
    len: usize,
    f: impl FnOnce(&mut [f32]) -> R,
) -> R {
    slot.with(|cell| {
        // A re-entrant call (not expected) gets its own buffer instead of a panic.
        let Ok(mut buf) = cell.try_borrow_mut() else {
            return f(&mut vec![0.0; len]);
        };
        if buf.len() < len {
            buf.resize(len, 0.0);
        }
        f(&mut buf[..len])
    })
}
