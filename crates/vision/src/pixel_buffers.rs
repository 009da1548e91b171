//! Pixel buffers recycled per thread. A server decodes, resizes and crops one image after
//! another on the same worker threads; taking the last image's buffers back spares each request
//! a fresh allocation of the decoded photo and of the resized patch, which at these sizes are
//! new memory mappings: zeroed and faulted in page by page, then unmapped again (and, once the
//! allocator raises its mapping threshold, heap fragments that keep the process's memory high).

use std::cell::RefCell;

use crate::image::RgbImage;

/// Buffers kept per thread: the decoded image, the resized patch and one spare.
const KEPT: usize = 3;

/// The largest buffer kept (a 1.4-megapixel image: web and phone uploads); a larger one goes
/// back to the allocator, so that a camera original does not pin its size in every worker.
const MAX_KEPT_BYTES: usize = 4 << 20;

thread_local! {
    static FREE: RefCell<Vec<Vec<u8>>> = const { RefCell::new(Vec::new()) };
}

/// A buffer of `len` bytes; the contents are whatever an earlier image left (zeros where the
/// buffer had to grow), so the caller writes every byte it reads.
pub(crate) fn take(len: usize) -> Vec<u8> {
    let kept = FREE.with(|free| {
        let mut free = free.try_borrow_mut().ok()?;
        // The smallest buffer that holds `len`, else the largest (it grows the least).
        let fits = (0..free.len())
            .filter(|&i| free[i].capacity() >= len)
            .min_by_key(|&i| free[i].capacity());
        let best = fits.or_else(|| (0..free.len()).max_by_key(|&i| free[i].capacity()))?;
        Some(free.swap_remove(best))
    });
    let mut buf = kept.unwrap_or_default();
    // Shrinking keeps the old bytes; growing zeroes only the new tail.
    buf.resize(len, 0);
    buf
}

/// Keeps `buf` for a later [`take`] on this thread (the smallest kept buffer gives way).
pub(crate) fn give(buf: Vec<u8>) {
    if buf.capacity() == 0 || buf.capacity() > MAX_KEPT_BYTES {
        return;
    }
    FREE.with(|free| {
        let Ok(mut free) = free.try_borrow_mut() else {
            return;
        };
        free.push(buf);
        if free.len() > KEPT
            && let Some(smallest) = (0..free.len()).min_by_key(|&i| free[i].capacity())
        {
            free.swap_remove(smallest);
        }
    });
}

/// Hands a decoded image's pixels back for the next image decoded or resized on this thread.
pub fn recycle(image: RgbImage) {
    give(image.into_pixels());
}

/// Bytes of capacity kept on this thread.
#[cfg(test)]
fn kept_bytes() -> usize {
    FREE.with(|free| free.borrow().iter().map(Vec::capacity).sum())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_buffer_given_back_is_taken_again_without_growing() {
        let first = take(1000);
        let at = first.as_ptr();
        give(first);
        let again = take(600);
        assert_eq!((again.as_ptr(), again.len()), (at, 600));
        give(again);
        // Growing past the kept capacity zeroes only the new tail.
        let mut grown = take(900);
        grown.fill(7);
        give(grown);
        let bigger = take(2000);
        assert!(bigger[..900].iter().all(|&b| b == 7));
        assert!(bigger[900..].iter().all(|&b| b == 0));
    }

    #[test]
    fn at_most_a_few_buffers_of_bounded_size_are_kept() {
        for len in [10, 20, 30, 40, 50] {
            give(vec![0; len]);
        }
        assert_eq!(kept_bytes(), 30 + 40 + 50);
        give(vec![0; MAX_KEPT_BYTES + 1]);
        assert_eq!(kept_bytes(), 30 + 40 + 50);
    }
}
