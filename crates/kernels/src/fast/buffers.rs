//! Recycled output buffers: the executor hands back each intermediate's buffer after its last
//! reader, and the next kernel that needs an output takes it instead of a fresh zeroed
//! allocation. A warm model then neither zeroes its activations (a zeroing pass cost ~7 % of
//! MobileNetV2) nor faults in new pages for them.
//!
//! An executor that knows its tensors' sizes and lifetimes plans them into [`Slot`]s (values
//! whose lifetimes do not overlap share one): it names the slot of the output a kernel is about
//! to take ([`with_output_slot`]) and hands the buffer back to that slot ([`give_to_slot`]).
//! Each slot then keeps one buffer the size of its largest value, and the activations of a
//! warm model take the planned total, not whatever a best fit over leftovers happens to hold
//! (which, on MobileNetV2, kept 11 MB for a widest point of 6 MB).
//!
//! Buffers are kept per thread: the executor runs a model's nodes on one thread of its team,
//! and kernels take their output on that same thread before splitting the work.

use std::cell::{Cell, RefCell};

use crate::FloatBuffer;

/// Unplanned buffers kept at most: more than a CNN holds live at once (its widest point plus a
/// skip connection), so a warm model finds every output here.
const KEPT: usize = 8;

/// One buffer of an executor's plan: slot `index` of plan `plan`, as large as the largest
/// value assigned to it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Slot {
    /// Tells plans apart (each model has its own).
    pub plan: u64,
    pub index: u32,
    /// Elements.
    pub capacity: usize,
}

impl Slot {
    fn key(self) -> (u64, u32) {
        (self.plan, self.index)
    }
}

struct Kept {
    buf: Vec<f32>,
    /// `None`: unplanned, for any [`take`] without a slot.
    slot: Option<(u64, u32)>,
}

thread_local! {
    static FREE: RefCell<Vec<Kept>> = const { RefCell::new(Vec::new()) };
    /// The spare model-input buffer (`give_input`).
    static INPUT: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
    /// The slot the next [`take`] on this thread is for, until a `take` consumes it.
    static OUTPUT_SLOT: Cell<Option<Slot>> = const { Cell::new(None) };
}

/// Runs `f` with `slot` named as the slot of the next output taken on this thread; returns
/// what `f` returns and whether a [`take`] in `f` took that slot (so that the caller knows
/// which buffer to give back to it).
pub fn with_output_slot<R>(slot: Option<Slot>, f: impl FnOnce() -> R) -> (R, bool) {
    let before = OUTPUT_SLOT.replace(slot);
    let out = f();
    let left = OUTPUT_SLOT.replace(before);
    (out, slot.is_some() && left.is_none())
}

/// A buffer of `len` elements whose contents are unspecified (left from an earlier use): for
/// kernels that write every element of their output.
pub fn take(len: usize) -> FloatBuffer {
    let slot = OUTPUT_SLOT.take();
    let recycled = FREE.with(|free| {
        let mut free = free.try_borrow_mut().ok()?;
        let best = match slot {
            Some(slot) => free
                .iter()
                .position(|k| k.slot == Some(slot.key()) && k.buf.capacity() >= len),
            // The smallest unplanned buffer that holds `len` without reallocating.
            None => free
                .iter()
                .enumerate()
                .filter(|(_, k)| k.slot.is_none() && k.buf.capacity() >= len)
                .min_by_key(|(_, k)| k.buf.capacity())
                .map(|(i, _)| i),
        }?;
        Some(free.swap_remove(best).buf)
    });
    let mut buf = match (recycled, slot) {
        (Some(buf), _) => buf,
        // The slot's first use: room for its largest value, so that it never grows. Capacity
        // not written yet costs no memory.
        (None, Some(slot)) => Vec::with_capacity(slot.capacity.max(len)),
        (None, None) => return FloatBuffer::from(vec![0.0; len]),
    };
    // The storage keeps every element it has held (see `FloatBuffer`): only growth past the
    // most it has ever held is zeroed, once.
    if buf.len() < len {
        buf.resize(len, 0.0);
    }
    FloatBuffer::from_storage(buf, len)
}

/// Keeps `buf` (a buffer's whole storage, [`FloatBuffer::into_storage`]) for a later [`take`]
/// without a slot on this thread; when full, the smallest unplanned buffer is dropped.
pub fn give(buf: Vec<f32>) {
    if buf.capacity() == 0 {
        return;
    }
    with_free(|free| {
        free.push(Kept { buf, slot: None });
        let unplanned = || free.iter().enumerate().filter(|(_, k)| k.slot.is_none());
        if unplanned().count() > KEPT
            && let Some((i, _)) = unplanned().min_by_key(|(_, k)| k.buf.capacity())
        {
            free.swap_remove(i);
        }
    });
}

/// Keeps `buf` (a buffer's whole storage) as `slot`'s buffer on this thread. A thread keeps
/// the slots of one plan: the buffers of any other plan (a model swapped out, say) are
/// dropped.
pub fn give_to_slot(buf: Vec<f32>, slot: Slot) {
    if buf.capacity() == 0 {
        return;
    }
    with_free(|free| {
        free.retain(|k| k.slot.is_none_or(|(plan, _)| plan == slot.plan));
        match free.iter_mut().find(|k| k.slot == Some(slot.key())) {
            // Two buffers for one slot (not expected): the larger one stays.
            Some(kept) if kept.buf.capacity() < buf.capacity() => kept.buf = buf,
            Some(_) => {}
            None => free.push(Kept {
                buf,
                slot: Some(slot.key()),
            }),
        }
    });
}

/// Keeps `buf` as this thread's spare model-input buffer, apart from the output buffers (an
/// output take would otherwise reuse a large input buffer for a small output and free it).
pub fn give_input(buf: Vec<f32>) {
    INPUT.with(|input| {
        if let Ok(mut input) = input.try_borrow_mut() {
            *input = buf;
        }
    });
}

/// A buffer of `len` elements for a model input: the one [`give_input`] kept when it holds
/// `len` (contents unspecified), else a new zeroed one.
pub fn take_input(len: usize) -> Vec<f32> {
    let kept = INPUT.with(|input| input.try_borrow_mut().map(|mut b| std::mem::take(&mut *b)));
    match kept {
        Ok(mut buf) if buf.capacity() >= len => {
            buf.resize(len, 0.0);
            buf
        }
        _ => vec![0.0; len],
    }
}

/// Elements of capacity this thread keeps, planned or not, inputs included (for tests and
/// memory accounting).
pub fn kept_capacity() -> usize {
    let outputs = FREE.with(|free| {
        free.try_borrow()
            .map_or(0, |free| free.iter().map(|k| k.buf.capacity()).sum())
    });
    outputs + INPUT.with(|input| input.try_borrow().map_or(0, |b| b.capacity()))
}

/// Drops every buffer kept for this thread (after a model is done, or in tests).
pub fn clear() {
    with_free(Vec::clear);
    give_input(Vec::new());
}

fn with_free(f: impl FnOnce(&mut Vec<Kept>)) {
    FREE.with(|free| {
        if let Ok(mut free) = free.try_borrow_mut() {
            f(&mut free);
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

    fn slot(plan: u64, index: u32, capacity: usize) -> Slot {
        Slot {
            plan,
            index,
            capacity,
        }
    }

    #[test]
    fn a_planned_take_gets_its_own_slot_and_leaves_the_others_alone() {
        clear();
        let (a, b) = (slot(1, 0, 100), slot(1, 1, 60));
        give_to_slot(vec![1.0; 100], a);
        give_to_slot(vec![2.0; 60], b);
        give(vec![3.0; 50]);
        // Slot b's buffer, though a's and the unplanned one would fit too.
        let (got, took) = with_output_slot(Some(b), || take(40));
        assert!(took);
        assert_eq!((got.len(), got[0], got.capacity()), (40, 2.0, 60));
        // An unplanned take never takes a slot's buffer.
        let other = take(80);
        assert_eq!((other[0], other.capacity()), (0.0, 80));
        // A first use of a slot reserves the slot's capacity, without writing past `len`.
        let (fresh, took) = with_output_slot(Some(slot(1, 2, 500)), || take(10));
        assert!(took);
        assert_eq!((fresh.len(), fresh.capacity()), (10, 500));
        // No take in `f`: the slot is not consumed, and does not leak into a later take.
        let ((), took) = with_output_slot(Some(a), || ());
        assert!(!took);
        assert_eq!(take(100)[0], 0.0, "a fresh buffer, not slot a's");
        assert_eq!(kept_capacity(), 100 + 50);
        clear();
    }

    #[test]
    fn a_slot_buffer_handed_to_a_larger_value_keeps_what_it_held_instead_of_zeroing() {
        clear();
        let s = slot(3, 0, 100);
        let take_in_slot = |len| with_output_slot(Some(s), || take(len)).0;
        let mut big = take_in_slot(100);
        assert_eq!(big, vec![0.0; 100], "a slot's first buffer is zeroed");
        big.fill(7.0);
        give_to_slot(big.into_storage(), s);
        let mut small = take_in_slot(30);
        small.fill(1.0);
        assert_eq!(small.storage_len(), 100);
        give_to_slot(small.into_storage(), s);
        // Grown back: what the larger value wrote is still there, not zeroes.
        let grown = take_in_slot(100);
        assert_eq!(
            (&grown[..30], &grown[30..]),
            (&[1.0; 30][..], &[7.0; 70][..])
        );
        // Storage that never held more than 20 elements: the growth past them is zeroed.
        let mut other = Vec::with_capacity(100);
        other.resize(20, 5.0);
        give_to_slot(other, s);
        let grown = take_in_slot(100);
        assert_eq!(
            (&grown[..20], &grown[20..]),
            (&[5.0; 20][..], &[0.0; 80][..])
        );
        clear();
    }

    #[test]
    fn a_thread_keeps_one_buffer_per_slot_and_the_slots_of_one_plan() {
        clear();
        let s = slot(7, 0, 100);
        give_to_slot(vec![0.0; 30], s);
        give_to_slot(vec![0.0; 100], s);
        give_to_slot(vec![0.0; 20], s);
        assert_eq!(kept_capacity(), 100, "the larger buffer stays");
        give(vec![0.0; 5]);
        give_to_slot(vec![0.0; 40], slot(8, 0, 40));
        assert_eq!(
            kept_capacity(),
            40 + 5,
            "plan 7's slot went with plan 8's first give"
        );
        clear();
        assert_eq!(kept_capacity(), 0);
    }
}
