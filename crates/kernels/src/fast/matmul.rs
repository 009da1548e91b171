//! Matrix product on the `gemm` crate, behind a safe slice API: every matrix is a slice with
//! row and column strides, checked once against the slice's length before the raw-pointer call.

use super::parallel::threads_for;
use crate::reference::window::{ShapeError, shape_bail};

/// A read-only strided matrix: element `(i, j)` is `data[i * row_stride + j * col_stride]`.
#[derive(Clone, Copy, Debug)]
pub struct MatRef<'a> {
    pub data: &'a [f32],
    pub rows: usize,
    pub cols: usize,
    pub row_stride: usize,
    pub col_stride: usize,
}

impl<'a> MatRef<'a> {
    /// A dense row-major `rows × cols` matrix.
    pub fn row_major(data: &'a [f32], rows: usize, cols: usize) -> MatRef<'a> {
        MatRef {
            data,
            rows,
            cols,
            row_stride: cols,
            col_stride: 1,
        }
    }

    /// The same elements read as the transposed matrix (no copy).
    pub fn t(self) -> MatRef<'a> {
        MatRef {
            rows: self.cols,
            cols: self.rows,
            row_stride: self.col_stride,
            col_stride: self.row_stride,
            ..self
        }
    }
}

/// Whether every element of a `rows × cols` strided matrix lies inside `len` elements.
fn fits(len: usize, rows: usize, cols: usize, row_stride: usize, col_stride: usize) -> bool {
    if rows == 0 || cols == 0 {
        return true;
    }
    (rows - 1)
        .checked_mul(row_stride)
        .zip((cols - 1).checked_mul(col_stride))
        .and_then(|(a, b)| a.checked_add(b))
        .is_some_and(|last| last < len)
}

/// `out = a · b` (or `out += a · b` when `accumulate`), with `out` dense row-major
/// `a.rows × b.cols`.
pub fn matmul(
    out: &mut [f32],
    a: MatRef<'_>,
    b: MatRef<'_>,
    accumulate: bool,
) -> Result<(), ShapeError> {
    let (m, n, k) = (a.rows, b.cols, a.cols);
    if b.rows != k {
        shape_bail!("matmul of {m}×{k} by {}×{n}: inner sizes differ", b.rows);
    }
    if !fits(a.data.len(), a.rows, a.cols, a.row_stride, a.col_stride)
        || !fits(b.data.len(), b.rows, b.cols, b.row_stride, b.col_stride)
        || m.checked_mul(n) != Some(out.len())
    {
        shape_bail!("matmul buffers do not match {m}×{k} by {k}×{n}");
    }
    if m == 0 || n == 0 {
        return Ok(());
    }
    if k == 0 {
        if !accumulate {
            out.fill(0.0);
        }
        return Ok(());
    }
    // Strides beyond isize cannot index a slice that exists, so `fits` rules them out.
    let s = |v: usize| v as isize;
    let parallelism = match threads_for(m.saturating_mul(n).saturating_mul(k)) {
        1 => gemm::Parallelism::None,
        threads => gemm::Parallelism::Rayon(threads),
    };
    // SAFETY: `fits` proved that every element the strides reach lies inside its slice, the
    // destination is exclusively borrowed and does not alias the (shared) operands, and the
    // element type is f32, which `gemm` supports.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            out.as_mut_ptr(),
            1,
            s(n),
            accumulate,
            a.data.as_ptr(),
            s(a.col_stride),
            s(a.row_stride),
            b.data.as_ptr(),
            s(b.col_stride),
            s(b.row_stride),
            1.0,
            1.0,
            false,
            false,
            false,
            parallelism,
        );
    }
    Ok(())
}
