//! NHWC images with a convolution's zero padding written out around them, so that every tap
//! of every window reads memory and the GEMM can read its rows straight from the image (no
//! im2col copy, no per-tap bounds). One copy of the input, against im2col's one copy per tap.

use crate::fast::scratch;
use crate::reference::conv::ConvGeometry;
use crate::reference::window::AxisGeometry;

/// The images of a convolution's input, padded where its windows need it.
pub(crate) struct PaddedImages<'a> {
    pub data: &'a [f32],
    /// Padded rows and columns per image.
    pub height: usize,
    pub width: usize,
}

impl PaddedImages<'_> {
    /// Floats per padded image.
    pub fn image_len(&self, channels: usize) -> usize {
        self.height * self.width * channels
    }
}

/// Rows (or columns) the windows of `axis` span, counting the padding before the input: the
/// padded extent, and at least what the last window reaches.
fn padded_extent(axis: &AxisGeometry) -> usize {
    let reach = (axis.output - 1) * axis.stride + (axis.kernel - 1) * axis.dilation + 1;
    (axis.pad_begin + axis.input + axis.pad_end).max(reach)
}

/// Runs `f` on `input` (NHWC, `g`'s shape) with `g`'s padding around each image: the input
/// itself when no window reaches outside it, else a copy in this thread's scratch buffer (one
/// buffer, as large as the largest padded input, serves every convolution on the thread).
/// `g` has two spatial axes and at least one output position.
pub(crate) fn with_padded_images<R>(
    g: &ConvGeometry,
    input: &[f32],
    f: impl FnOnce(&PaddedImages<'_>) -> R,
) -> R {
    let [h, w] = [&g.axes[0], &g.axes[1]];
    let (height, width) = (padded_extent(h), padded_extent(w));
    if h.pad_begin == 0 && w.pad_begin == 0 && height == h.input && width == w.input {
        return f(&PaddedImages {
            data: input,
            height,
            width,
        });
    }
    let c = g.in_channels;
    let (line, padded_line) = (w.input * c, width * c);
    let (before, after) = (w.pad_begin * c, padded_line - line - w.pad_begin * c);
    scratch::with_scratch(g.batch * height * padded_line, |data| {
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
        f(&PaddedImages {
            data,
            height,
            width,
        })
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
    fn zeros_surround_each_row_and_image() {
        // A 2x3 single-channel image, padded 1 above and left, 2 below and right.
        let g = geometry([2, 3], 3, 1, [1, 1, 2, 2]);
        let image = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        let (dims, data) =
            with_padded_images(&g, &image, |p| ((p.height, p.width), p.data.to_vec()));
        assert_eq!(dims, (5, 6));
        #[rustfmt::skip]
        assert_eq!(data, [
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
        let in_place = with_padded_images(&g, &image, |p| (p.data.as_ptr(), p.height, p.width));
        assert_eq!(in_place, (image.as_ptr(), 4, 4));
    }
}
