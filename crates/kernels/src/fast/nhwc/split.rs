//! How the threads of a run share one convolution's GEMM: by blocks of positions when there
//! are enough of them, else (a small plane: 7×7 is 49 positions) by output channels, so that
//! each thread streams only its part of the weights, which at that size are the larger
//! operand.

use std::ops::Range;

use super::gemm::{MR, block_rows};
use super::pack::GemmWeights;
use crate::fast::parallel::threads_for;

/// How the threads share one GEMM of `rows` positions: `parts` ranges of rows, or (for few
/// rows) every row and `parts` ranges of panels.
pub(crate) struct Split {
    pub parts: usize,
    pub by_rows: bool,
    pub rows_per_part: usize,
    pub panels_per_part: usize,
}

impl Split {
    pub(crate) fn new(rows: usize, weights: &GemmWeights, groups: usize) -> Split {
        let work = rows * weights.depth * weights.cout_g * groups;
        let threads = threads_for(work);
        let blocks = rows.div_ceil(block_rows(weights.depth));
        // Panels are split within each group: with fewer panels than threads (RegNet's groups
        // of 8 channels are one panel each), some threads would have none.
        let by_rows = threads == 1 || blocks >= 2 * threads || weights.panels < threads;
        Split {
            parts: threads,
            by_rows,
            rows_per_part: rows.div_ceil(threads).next_multiple_of(MR),
            panels_per_part: weights.panels.div_ceil(threads),
        }
    }

    pub(crate) fn rows(&self, part: usize, rows: usize) -> Range<usize> {
        if self.by_rows {
            (part * self.rows_per_part).min(rows)..((part + 1) * self.rows_per_part).min(rows)
        } else {
            0..rows
        }
    }

    pub(crate) fn panels(&self, part: usize, panels: usize) -> Range<usize> {
        if self.by_rows {
            0..panels
        } else {
            (part * self.panels_per_part).min(panels)
                ..((part + 1) * self.panels_per_part).min(panels)
        }
    }
}
