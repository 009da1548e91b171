//! Matrix product on the `gemm` crate, behind a safe slice API: every matrix is a slice with
//! row and column strides, checked once against the slice's length before the raw-pointer call.

use super::gemv::{Rows, rows_times_columns_dispatched, rows_times_rows_dispatched};
use super::parallel::threads_for;
use crate::reference::window::{ShapeError, shape_bail};
use crate::team;

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
/// `a.rows × b.cols`, split over the current pool's threads when it is big enough.
pub fn matmul(
    out: &mut [f32],
    a: MatRef<'_>,
    b: MatRef<'_>,
    accumulate: bool,
) -> Result<(), ShapeError> {
    let work = a.rows.saturating_mul(b.cols).saturating_mul(a.cols);
    matmul_on(out, a, b, accumulate, threads_for(work))
}

/// [`matmul`] on `threads` threads (1: on the calling thread only, for callers that already
/// split their work over the pool).
pub fn matmul_on(
    out: &mut [f32],
    a: MatRef<'_>,
    b: MatRef<'_>,
    accumulate: bool,
    threads: usize,
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
    if m <= FEW_ROWS && a.col_stride == 1 && (b.row_stride == 1 || b.col_stride == 1) {
        few_rows(out, a, b, accumulate, threads);
        return Ok(());
    }
    if threads <= 1 || m < 2 {
        gemm_on_this_thread(out, a, b, accumulate);
        return Ok(());
    }
    // Each thread computes a block of whole output rows, from the same rows of `a`.
    let rows_per_thread = m.div_ceil(threads);
    team::for_each_chunk_mut(out, rows_per_thread * n, |i, out| {
        let first = i * rows_per_thread;
        let a = MatRef {
            data: &a.data[first * a.row_stride..],
            rows: out.len() / n,
            ..a
        };
        gemm_on_this_thread(out, a, b, accumulate);
    });
    Ok(())
}

/// Rows up to which [`matmul`] reads the weights once for all of them ([`few_rows`]): a
/// classifier at a small batch. From MobileNetV3-Small's two Gemms at batch 4, the general
/// kernel, which first copies the whole of `b` into its packed layout, took 2.26 ms against
/// 0.64 ms at batch 1.
const FEW_ROWS: usize = 8;

/// `out (+)= a · b` for a few rows of `a`, each contiguous, and `b` contiguous along its rows
/// or its columns: the weights are read once, in storage order, each thread reading its own
/// columns. The shapes are checked by the caller.
fn few_rows(out: &mut [f32], a: MatRef<'_>, b: MatRef<'_>, accumulate: bool, threads: usize) {
    let (m, n, k) = (a.rows, b.cols, a.cols);
    let x = Rows {
        data: a.data,
        count: m,
        stride: a.row_stride,
        len: k,
    };
    let per_thread = n.div_ceil(threads.max(1)).max(1);
    // The columns from `j0` on, into `block`: an m × width matrix of its own.
    let columns = |j0: usize, block: &mut [f32]| match b.row_stride {
        1 => rows_times_columns_dispatched(
            block,
            x,
            &b.data[j0 * b.col_stride..],
            b.col_stride,
            accumulate,
        ),
        _ => rows_times_rows_dispatched(block, x, &b.data[j0..], b.row_stride, accumulate),
    };
    if threads <= 1 || per_thread == n {
        columns(0, out);
        return;
    }
    if m == 1 {
        team::for_each_chunk_mut(out, per_thread, |i, out| columns(i * per_thread, out));
        return;
    }
    // Each thread's columns of every row, as one block of its own: the blocks side by side.
    let mut blocks = vec![0.0; m * n];
    let block_ranges = || {
        (0..n)
            .step_by(per_thread)
            .map(move |j0| (j0, per_thread.min(n - j0)))
    };
    if accumulate {
        for (j0, width) in block_ranges() {
            for r in 0..m {
                blocks[j0 * m + r * width..][..width].copy_from_slice(&out[r * n + j0..][..width]);
            }
        }
    }
    team::for_each_chunk_mut(&mut blocks, per_thread * m, |i, block| {
        columns(i * per_thread, block)
    });
    for (j0, width) in block_ranges() {
        for r in 0..m {
            out[r * n + j0..][..width].copy_from_slice(&blocks[j0 * m + r * width..][..width]);
        }
    }
}

/// `out (+)= a · b` on the `gemm` crate, single-threaded; the shapes are checked by the caller
/// and the bounds again here, as they are what makes the raw-pointer call sound.
fn gemm_on_this_thread(out: &mut [f32], a: MatRef<'_>, b: MatRef<'_>, accumulate: bool) {
    let (m, n, k) = (a.rows, b.cols, a.cols);
    assert!(
        b.rows == k
            && fits(a.data.len(), a.rows, a.cols, a.row_stride, a.col_stride)
            && fits(b.data.len(), b.rows, b.cols, b.row_stride, b.col_stride)
            && m.checked_mul(n) == Some(out.len()),
        "gemm operands out of bounds"
    );
    // Strides beyond isize cannot index a slice that exists, so `fits` rules them out.
    let s = |v: usize| v as isize;
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
            gemm::Parallelism::None,
        );
    }
}
