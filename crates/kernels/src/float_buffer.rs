//! The elements of a float tensor, in storage that may be longer than they are.
//!
//! A recycled output buffer (`fast::buffers`) keeps all it has ever held: when an executor
//! hands a small value's buffer on to a larger value, the elements past the small one are
//! still the written floats of an earlier run, so no zeroing pass is needed (a `Vec` truncated
//! to the small length would have to write the growth again: 5.7 MB per MobileNetV2 run,
//! 3–5 % of its time). Every element of the storage is initialized; nothing here is `unsafe`.

use std::fmt;
use std::ops::{Deref, DerefMut};

/// The first `len` floats of `storage`.
#[derive(Default)]
pub struct FloatBuffer {
    storage: Vec<f32>,
    len: usize,
}

impl FloatBuffer {
    /// The first `len` floats of `storage` (all of it when `len` is larger).
    pub fn from_storage(storage: Vec<f32>, len: usize) -> FloatBuffer {
        let len = len.min(storage.len());
        FloatBuffer { storage, len }
    }

    /// Exactly the elements, for a caller that keeps them (a model's outputs).
    pub fn into_vec(self) -> Vec<f32> {
        let mut storage = self.storage;
        storage.truncate(self.len);
        storage
    }

    /// All of the storage, elements past `len` included, for recycling.
    pub fn into_storage(self) -> Vec<f32> {
        self.storage
    }

    /// Elements the storage holds (written), at least `len`.
    pub fn storage_len(&self) -> usize {
        self.storage.len()
    }

    /// Elements the storage can hold without reallocating.
    pub fn capacity(&self) -> usize {
        self.storage.capacity()
    }

    pub fn as_slice(&self) -> &[f32] {
        &self.storage[..self.len]
    }

    pub fn as_mut_slice(&mut self) -> &mut [f32] {
        &mut self.storage[..self.len]
    }
}

impl Deref for FloatBuffer {
    type Target = [f32];

    fn deref(&self) -> &[f32] {
        self.as_slice()
    }
}

impl DerefMut for FloatBuffer {
    fn deref_mut(&mut self) -> &mut [f32] {
        self.as_mut_slice()
    }
}

impl From<Vec<f32>> for FloatBuffer {
    fn from(storage: Vec<f32>) -> FloatBuffer {
        let len = storage.len();
        FloatBuffer { storage, len }
    }
}

/// A copy of the elements only.
impl Clone for FloatBuffer {
    fn clone(&self) -> FloatBuffer {
        FloatBuffer::from(self.as_slice().to_vec())
    }
}

impl PartialEq for FloatBuffer {
    fn eq(&self, other: &FloatBuffer) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl PartialEq<Vec<f32>> for FloatBuffer {
    fn eq(&self, other: &Vec<f32>) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl fmt::Debug for FloatBuffer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.as_slice().fmt(f)
    }
}

impl<'a> IntoIterator for &'a FloatBuffer {
    type Item = &'a f32;
    type IntoIter = std::slice::Iter<'a, f32>;

    fn into_iter(self) -> Self::IntoIter {
        self.as_slice().iter()
    }
}
impl FromIterator<f32> for FloatBuffer {
    fn from_iter<I: IntoIterator<Item = f32>>(iter: I) -> FloatBuffer {
        FloatBuffer::from(iter.into_iter().collect::<Vec<f32>>())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_first_len_elements_are_seen_and_the_rest_is_kept_for_recycling() {
        let mut b = FloatBuffer::from_storage(vec![1.0, 2.0, 3.0, 4.0], 2);
        assert_eq!((b.len(), &b[..]), (2, &[1.0, 2.0][..]));
        b[1] = 9.0;
        assert_eq!(b.clone(), vec![1.0, 9.0]);
        assert_eq!(
            b.clone().storage_len(),
            2,
            "a clone copies the elements only"
        );
        assert_eq!(b.clone().into_vec(), vec![1.0, 9.0]);
        assert_eq!(b.into_storage(), vec![1.0, 9.0, 3.0, 4.0]);
        assert_eq!(FloatBuffer::from_storage(vec![1.0], 5).len(), 1);
    }
}
