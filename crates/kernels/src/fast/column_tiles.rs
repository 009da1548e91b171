//! Writing column tiles of a row-major matrix from several threads at once: tile `t` owns
//! columns `bounds[t]..bounds[t + 1]` of every row, so tiles never touch the same element,
//! but each tile's elements are spread over all rows, which slices cannot express.

use std::marker::PhantomData;

use super::panel_gemm::RowSink;

/// A row-major `rows × row_len` matrix split into column tiles at `bounds`, each written
/// once by whichever thread computes it.
pub(crate) struct ColumnTiles<'a> {
    ptr: *mut f32,
    rows: usize,
    row_len: usize,
    bounds: Vec<usize>,
    _borrow: PhantomData<&'a mut [f32]>,
}

// SAFETY: the only access is through `tile_rows`, whose contract gives each tile to one
// writer, so concurrent writers touch disjoint elements of the exclusively borrowed matrix.
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

    /// Tile `t`'s part of every row, for one writer.
    ///
    /// # Safety
    /// No other `TileRows` of tile `t` may exist at the same time (each tile is handed to one
    /// caller).
    pub(crate) unsafe fn tile_rows(&self, t: usize) -> TileRows<'_> {
        TileRows {
            tiles: self,
            columns: self.columns(t),
        }
    }
}

/// The columns of one tile in every row of a [`ColumnTiles`] matrix, held by one writer.
pub(crate) struct TileRows<'t> {
    tiles: &'t ColumnTiles<'t>,
    columns: std::ops::Range<usize>,
}

impl RowSink for TileRows<'_> {
    fn row(&mut self, r: usize) -> &mut [f32] {
        let tiles = self.tiles;
        assert!(r < tiles.rows, "row {r} of a {}-row matrix", tiles.rows);
        // SAFETY: `r < rows` and `columns.end <= row_len` (checked in `ColumnTiles::new`), so
        // the run lies inside the borrowed matrix. It belongs to this tile, whose only writer
        // holds `self` (the contract of `tile_rows`), and `&mut self` keeps that writer from
        // holding two runs at once.
        unsafe {
            let start = tiles.ptr.add(r * tiles.row_len + self.columns.start);
            std::slice::from_raw_parts_mut(start, self.columns.len())
        }
    }
}
