//! NHWC images with a convolution's zero padding written out around them, so that every tap
//! of every window reads memory and the GEMM can read its rows straight from the image (no
//! im2col copy, no per-tap bounds). One copy of the input, against im2col's one copy per tap.

use std::borrow::Cow;

use crate::fast::buffers;
use crate::reference::conv::ConvGeometry;
use crate::reference::window::AxisGeometry;

/// The images of a convolution's input, padded where its windows need it.
pub(crate) struct PaddedImages<'a> {
    pub data: Cow<'a, [f32]>,
    /// Padded rows and columns per image.
    pub height: usize,
    pub width: usize,
}

impl PaddedImages<'_> {
    /// Floats per padded image.
    pub fn image_len(&self, channels: usize) -> usize {
        self.height * self.width * channels
    }

    /// Hands an owned copy back for the next convolution on this thread.
    pub fn recycle(self) {
        if let Cow::Owned(buf) = self.data {
            buffers::give(buf);
        }
    }
}

/// Rows (or columns) the windows of `axis` span, counting the padding before the input: the
/// padded extent, and at least what the last window reaches.
fn padded_extent(axis: &AxisGeometry) -> usize {
    let reach = (axis.output - 1) * axis.stride + (axis.kernel - 1) * axis.dilation + 1;
    (axis.pad_begin + axis.input + axis.pad_end).max(reach)
}

/// `input` (NHWC, `g`'s shape) with `g`'s padding around each image: borrowed when no window
/// reaches outside the input. `g` has two spatial axes and at least one output position.
pub(crate) fn pad_images<'a>(g: &ConvGeometry, input: &'a [f32]) -> PaddedImages<'a> {
    let [h, w] = [&g.axes[0], &g.axes[1]];
    let (height, width) = (padded_extent(h), padded_extent(w));
    if h.pad_begin == 0 && w.pad_begin == 0 && height == h.input && width == w.input {
        return PaddedImages {
            data: Cow::Borrowed(input),
            height,
            width,
        };
    }
    let c = g.in_channels;
    let (line, padded_line) = (w.input * c, width * c);
    let (before, after) = (w.pad_begin * c, padded_line - line - w.pad_begin * c);
    let mut data = buffers::take(g.batch * height * padded_line);
    let images = data.chunks_exact_mut(height * padded_line);
    for (padded, image) in images.zip(input.chunks_exact(h.input * line)) {
        let (top, rest) = padded.split_at_mut(h.pad_begin * padded_line);
        let (middle, bottom) = rest.split_at_mut(h.input * padded_line);
        top.fill(0.0);
        bottom.fill(0.0);
        for (dst, src) in middle
            .chunks_exact_mut(padded_line)
            .zip(image.chunks_exact(line))
        {
            dst[..before].fill(0.0);
            dst[before..before + line].copy_from_slice(src);
            dst[padded_line - after..].fill(0.0);
        }
    }
    PaddedImages {
        data: Cow::Owned(data),
        height,
        width,
    }
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
    fn zeros_surround_each_row_and_image() {
        // A 2x3 single-channel image, padded 1 above and left, 2 below and right.
        let g = geometry([2, 3], 3, 1, [1, 1, 2, 2]);
        let image = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        let padded = pad_images(&g, &image);
        assert_eq!((padded.height, padded.width), (5, 6));
        #[rustfmt::skip]
        assert_eq!(&*padded.data, &[
            0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
            0.0, 1.0, 2.0, 3.0, 0.0, 0.0,
            0.0, 4.0, 5.0, 6.0, 0.0, 0.0,
            0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
            0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
        ]);
    }

    #[test]
    fn an_unpadded_convolution_reads_its_input_in_place() {
        let g = geometry([4, 4], 2, 2, [0; 4]);
        let image = [7.0; 16];
        let padded = pad_images(&g, &image);
        assert!(matches!(padded.data, Cow::Borrowed(_)));
        assert_eq!((padded.height, padded.width), (4, 4));
    }
}
