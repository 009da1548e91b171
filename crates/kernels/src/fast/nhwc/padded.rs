//! Bands of an NHWC image's rows with a convolution's zero padding written out around them, so
//! that every tap of every window reads memory and the GEMM can read its rows straight from
//! the band (no im2col copy, no per-tap bounds). A band is a few dozen rows (about 128 KB):
//! it is filled while the GEMM that reads it is about to run, and is still in L2 when it
//! does, and the thread keeps only a band, not a padded copy of the whole image (1.7 MB for
//! RegNet's first stage).

use std::ops::Range;

use super::layout;
use crate::fast::scratch;
use crate::reference::conv::ConvGeometry;
use crate::reference::window::AxisGeometry;

/// How the images a convolution reads are laid out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ImageLayout {
    Nhwc,
    /// Channel planes: a network's input image, which the first convolution can read as it is
    /// (its band of padded rows is written channels-last from the planes).
    Nchw,
}

/// Floats of padded rows a band holds, at least: well inside L2 beside the weights.
const BAND_FLOATS: usize = 32 * 1024;

/// Rows (or columns) the windows of `axis` span, counting the padding before the input: the
/// padded extent, and at least what the last window reaches.
pub(crate) fn padded_extent(axis: &AxisGeometry) -> usize {
    let reach = (axis.output - 1) * axis.stride + (axis.kernel - 1) * axis.dilation + 1;
    (axis.pad_begin + axis.input + axis.pad_end).max(reach)
}

/// Output rows per band of `g`, whose padded rows are `line` floats.
pub(crate) fn band_output_rows(g: &ConvGeometry, line: usize) -> usize {
    let h = &g.axes[0];
    let span = (h.kernel - 1) * h.dilation + 1;
    let rows = (BAND_FLOATS / line.max(1)).max(span);
    (rows - span) / h.stride + 1
}

/// The padded rows output rows `out_rows` of `g` read: padded row `r` is input row
/// `r - pad_begin`.
pub(crate) fn rows_read(g: &ConvGeometry, out_rows: &Range<usize>) -> Range<usize> {
    let h = &g.axes[0];
    let span = (h.kernel - 1) * h.dilation + 1;
    out_rows.start * h.stride..(out_rows.end - 1) * h.stride + span
}

/// Runs `f` on padded rows `rows` of `image` (one image of `g`'s input, laid out as `layout`
/// says), NHWC with `padded_extent` columns each: the image itself when it is NHWC and no
/// window reaches outside it, else a copy in this thread's scratch buffer.
pub(crate) fn with_padded_rows<R>(
    g: &ConvGeometry,
    layout: ImageLayout,
    image: &[f32],
    rows: Range<usize>,
    f: impl FnOnce(&[f32]) -> R,
) -> R {
    let [h, w] = [&g.axes[0], &g.axes[1]];
    let c = g.in_channels;
    let (line, padded_line) = (w.input * c, padded_extent(w) * c);
    if layout == ImageLayout::Nhwc
        && h.pad_begin == 0
        && w.pad_begin == 0
        && padded_extent(h) == h.input
        && padded_extent(w) == w.input
    {
        return f(&image[rows.start * line..rows.end * line]);
    }
    let (before, after) = (w.pad_begin * c, padded_line - line - w.pad_begin * c);
    scratch::with_scratch(rows.len() * padded_line, |band| {
        for (r, dst) in rows.clone().zip(band.chunks_exact_mut(padded_line)) {
            match r.checked_sub(h.pad_begin).filter(|&y| y < h.input) {
                Some(y) => {
                    dst[..before].fill(0.0);
                    let row = &mut dst[before..before + line];
                    match layout {
                        ImageLayout::Nhwc => row.copy_from_slice(&image[y * line..][..line]),
                        ImageLayout::Nchw => layout::positions_to_nhwc(image, c, y * w.input, row),
                    }
                    dst[padded_line - after..].fill(0.0);
                }
                None => dst.fill(0.0),
            }
        }
        f(band)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reference::window::{AutoPad, WindowParams};

    fn geometry(input: [usize; 2], kernel: usize, stride: usize, pads: [usize; 4]) -> ConvGeometry {
        let window = WindowParams {
            kernel: vec![kernel, kernel],
            strides: vec![stride, stride],
            dilations: vec![],
            pads: pads.to_vec(),
            auto_pad: AutoPad::NotSet,
            ceil_mode: false,
        };
        ConvGeometry::new(
            &[1, 1, input[0], input[1]],
            &[1, 1, kernel, kernel],
            &window,
            1,
        )
        .unwrap()
    }

    #[test]
    fn zeros_surround_each_row() {
        // A 2x3 single-channel image, padded 1 above and left, 2 below and right.
        let g = geometry([2, 3], 3, 1, [1, 1, 2, 2]);
        let image = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        assert_eq!(
            (padded_extent(&g.axes[0]), padded_extent(&g.axes[1])),
            (5, 6)
        );
        let all = with_padded_rows(&g, ImageLayout::Nhwc, &image, 0..5, |band| band.to_vec());
        #[rustfmt::skip]
        assert_eq!(all, [
            0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
            0.0, 1.0, 2.0, 3.0, 0.0, 0.0,
            0.0, 4.0, 5.0, 6.0, 0.0, 0.0,
            0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
            0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
        ]);
        let middle = with_padded_rows(&g, ImageLayout::Nhwc, &image, 2..4, |band| band.to_vec());
        assert_eq!(middle, all[12..24]);
    }

    #[test]
    fn channel_planes_are_written_channels_last() {
        // Two 2x2 planes, padded 1 all round (the geometry's one channel stands for two).
        let mut g = geometry([2, 2], 3, 1, [1; 4]);
        g.in_channels = 2;
        let planes = [1.0, 2.0, 3.0, 4.0, 10.0, 20.0, 30.0, 40.0];
        let band = with_padded_rows(&g, ImageLayout::Nchw, &planes, 1..3, |band| band.to_vec());
        #[rustfmt::skip]
        assert_eq!(band, [
            0.0, 0.0, 1.0, 10.0, 2.0, 20.0, 0.0, 0.0,
            0.0, 0.0, 3.0, 30.0, 4.0, 40.0, 0.0, 0.0,
        ]);
    }

    #[test]
    fn an_unpadded_convolution_reads_its_input_in_place() {
        let g = geometry([4, 4], 2, 2, [0; 4]);
        let image = [7.0; 16];
        let band = with_padded_rows(&g, ImageLayout::Nhwc, &image, 1..3, |band| {
            (band.as_ptr(), band.len())
        });
        assert_eq!(band, (image[4..].as_ptr(), 8));
    }

    #[test]
    fn bands_cover_the_rows_their_outputs_read() {
        // 3x3, stride 2, 224 rows of 226 * 3 floats: 48 padded rows, 23 output rows a band.
        let g = geometry([224, 224], 3, 2, [1; 4]);
        let line = padded_extent(&g.axes[1]) * 3;
        assert_eq!(band_output_rows(&g, line), 23);
        assert_eq!(rows_read(&g, &(0..23)), 0..47);
        assert_eq!(rows_read(&g, &(23..46)), 46..93);
    }
}
