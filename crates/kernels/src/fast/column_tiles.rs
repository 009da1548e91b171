//! Writing column tiles of a row-major matrix from several threads at once: tile `t` owns
//! columns `bounds[t]..bounds[t + 1]` of every row, so tiles never touch the same element,
//! but each tile's elements are spread over all rows, which slices cannot express.

use std::marker::PhantomData;

/// A row-major `rows × row_len` matrix split into column tiles at `bounds`, each written
/// once by whichever thread computes it.
pub(crate) struct ColumnTiles<'a> {
    ptr: *mut f32,
    rows: usize,
    row_len: usize,
    bounds: Vec<usize>,
    _borrow: PhantomData<&'a mut [f32]>,
}

// SAFETY: the only access is `write_tile`, whose contract gives each tile to one caller, so
// concurrent calls write disjoint elements of the exclusively borrowed matrix.
unsafe impl Send for ColumnTiles<'_> {}
unsafe impl Sync for ColumnTiles<'_> {}

impl<'a> ColumnTiles<'a> {
    /// Splits `matrix` (`rows` rows) into tiles at the increasing column `bounds` (first 0,
    /// last the row length).
    pub(crate) fn new(matrix: &'a mut [f32], rows: usize, bounds: Vec<usize>) -> ColumnTiles<'a> {
        let row_len = matrix.len().checked_div(rows).unwrap_or(0);
        assert_eq!(
            rows * row_len,
            matrix.len(),
            "matrix is not {rows} whole rows"
        );
        assert!(
            bounds.first() == Some(&0)
                && bounds.last() == Some(&row_len)
                && bounds.windows(2).all(|b| b[0] <= b[1]),
            "tile bounds {bounds:?} do not partition 0..{row_len}"
        );
        ColumnTiles {
            ptr: matrix.as_mut_ptr(),
            rows,
            row_len,
            bounds,
            _borrow: PhantomData,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.bounds.len() - 1
    }

    /// The columns of tile `t`.
    pub(crate) fn columns(&self, t: usize) -> std::ops::Range<usize> {
        self.bounds[t]..self.bounds[t + 1]
    }

    /// Copies `src` (dense, `rows × columns(t).len()`) into tile `t`.
    ///
    /// # Safety
    /// No other call may write tile `t` at the same time (each tile is written by one caller).
    pub(crate) unsafe fn write_tile(&self, t: usize, src: &[f32]) {
        let cols = self.columns(t);
        let width = cols.len();
        assert_eq!(src.len(), self.rows * width, "tile {t} has the wrong size");
        for (r, run) in src.chunks_exact(width.max(1)).enumerate().take(self.rows) {
            // SAFETY: `r < rows` and `cols.end <= row_len` (checked in `new`), so the run lies
            // inside the borrowed matrix; it belongs to tile `t` alone, which the caller holds.
            unsafe {
                let dst = self.ptr.add(r * self.row_len + cols.start);
                std::ptr::copy_nonoverlapping(run.as_ptr(), dst, width);
            }
        }
    }
}
