//! Recycled output buffers: the executor hands back each intermediate's buffer after its last
//! reader, and the next kernel that needs an output of about that size takes it instead of a
//! fresh zeroed allocation. A warm model then neither zeroes its activations (a zeroing pass
//! cost ~7 % of MobileNetV2) nor faults in new pages for them.
//!
//! Buffers are kept per thread: the executor runs a model's nodes on one thread of its pool,
//! and kernels take their output on that same thread before splitting the work.

use std::cell::RefCell;

/// Buffers kept at most: more than a CNN holds live at once (its widest point plus a skip
/// connection), so a warm model finds every output here.
const KEPT: usize = 8;

thread_local! {
    static FREE: RefCell<Vec<Vec<f32>>> = const { RefCell::new(Vec::new()) };
}

/// A buffer of `len` elements whose contents are unspecified (left from an earlier use): for
/// kernels that write every element of their output.
pub fn take(len: usize) -> Vec<f32> {
    let recycled = FREE.with(|free| {
        let mut free = free.try_borrow_mut().ok()?;
        // The smallest buffer that holds `len` without reallocating. (Growing its length
        // within the capacity zeroes the growth: a safe `Vec` cannot tell that the memory
        // past its length was written before.)
        let best = free
            .iter()
            .enumerate()
            .filter(|(_, b)| b.capacity() >= len)
            .min_by_key(|(_, b)| b.capacity())
            .map(|(i, _)| i)?;
        Some(free.swap_remove(best))
    });
    match recycled {
        Some(mut buf) => {
            // Shrinking keeps the old contents; growing within the capacity zeroes only the
            // new tail.
            buf.resize(len, 0.0);
            buf
        }
        None => vec![0.0; len],
    }
}

/// Keeps `buf` for a later [`take`] on this thread; when full, the smallest buffer is dropped.
pub fn give(buf: Vec<f32>) {
    if buf.capacity() == 0 {
        return;
    }
    FREE.with(|free| {
        let Ok(mut free) = free.try_borrow_mut() else {
            return;
        };
        free.push(buf);
        if free.len() > KEPT {
            let smallest = free
                .iter()
                .enumerate()
                .min_by_key(|(_, b)| b.capacity())
                .map(|(i, _)| i);
            if let Some(i) = smallest {
                free.swap_remove(i);
            }
        }
    });
}

/// Drops every buffer kept for this thread (after a model is done, or in tests).
pub fn clear() {
    FREE.with(|free| {
        if let Ok(mut free) = free.try_borrow_mut() {
            free.clear();
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn takes_the_smallest_buffer_that_fits_and_drops_the_smallest_when_full() {
        clear();
        give(vec![1.0; 100]);
        give(vec![2.0; 10]);
        give(vec![3.0; 50]);
        let b = take(40);
        assert_eq!(
            (b.len(), b[0]),
            (40, 3.0),
            "the 50-element buffer, truncated"
        );
        let b = take(200);
        assert_eq!(
            (b.len(), b[0]),
            (200, 0.0),
            "nothing fits: a fresh zeroed one"
        );
        for i in 0..=KEPT {
            give(vec![i as f32; 1000 + i]);
        }
        // The 10- and 100-element buffers were dropped to make room, not the big ones.
        let b = take(5);
        assert_eq!(b.capacity(), 1001);
        clear();
        assert_eq!(take(3), vec![0.0; 3]);
    }
}
