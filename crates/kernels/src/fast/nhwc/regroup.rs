//! Rearrangements of each position's channels in an NHWC tensor: ShuffleNet's channel shuffle
//! and the channel split before its blocks.
//!
//! In NCHW both move whole planes (the shuffle is a 5-D transpose between two reshapes); in
//! NHWC they are a permutation within each position's run of channels, so a network built of
//! them stays channels-last instead of converting back and forth around every block.

use std::ops::Range;

use crate::FloatBuffer;
use crate::fast::buffers;

/// The channel shuffle of `groups` groups: `x.view(n, groups, c / groups, h, w)`, transposed to
/// `(n, c / groups, groups, h, w)` and viewed as `(n, c, h, w)`. Output channel `i * groups + j`
/// is input channel `j * (channels / groups) + i`.
pub fn shuffle_channels(x: &[f32], channels: usize, groups: usize) -> FloatBuffer {
    assert!(
        groups > 0 && channels.is_multiple_of(groups) && x.len().is_multiple_of(channels.max(1)),
        "a shuffle of {channels} channels in {groups} groups over {} values",
        x.len()
    );
    let mut out = buffers::take(x.len());
    let per_group = channels / groups;
    if groups == 2 {
        // ShuffleNet's case: the two halves interleaved, a loop the compiler vectorises.
        for (dst, src) in out.chunks_exact_mut(channels).zip(x.chunks_exact(channels)) {
            let (first, second) = src.split_at(per_group);
            for ((pair, &a), &b) in dst.chunks_exact_mut(2).zip(first).zip(second) {
                pair[0] = a;
                pair[1] = b;
            }
        }
        return out;
    }
    for (dst, src) in out.chunks_exact_mut(channels).zip(x.chunks_exact(channels)) {
        for (j, group) in src.chunks_exact(per_group).enumerate() {
            for (i, &v) in group.iter().enumerate() {
                dst[i * groups + j] = v;
            }
        }
    }
    out
}

/// Channels `range` of every position: `x[:, range]` in NCHW terms.
pub fn channel_range(x: &[f32], channels: usize, range: Range<usize>) -> FloatBuffer {
    assert!(
        range.start <= range.end
            && range.end <= channels
            && x.len().is_multiple_of(channels.max(1)),
        "channels {range:?} of {channels} over {} values",
        x.len()
    );
    let positions = x.len().checked_div(channels).unwrap_or(0);
    let mut out = buffers::take(positions * range.len());
    if out.is_empty() {
        return out;
    }
    for (dst, src) in out
        .chunks_exact_mut(range.len())
        .zip(x.chunks_exact(channels))
    {
        dst.copy_from_slice(&src[range.clone()]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_groups_interleave_the_halves() {
        // Two positions of 6 channels: the halves [a b c] [d e f] become [a d b e c f].
        let x: Vec<f32> = (0..12).map(|v| v as f32).collect();
        let y = shuffle_channels(&x, 6, 2);
        assert_eq!(&y[..], &[0., 3., 1., 4., 2., 5., 6., 9., 7., 10., 8., 11.]);
    }

    #[test]
    fn three_groups_take_one_channel_of_each_in_turn() {
        let x: Vec<f32> = (0..6).map(|v| v as f32).collect();
        assert_eq!(&shuffle_channels(&x, 6, 3)[..], &[0., 2., 4., 1., 3., 5.]);
    }

    #[test]
    fn a_range_keeps_those_channels_of_every_position() {
        let x: Vec<f32> = (0..12).map(|v| v as f32).collect();
        assert_eq!(&channel_range(&x, 4, 1..3)[..], &[1., 2., 5., 6., 9., 10.]);
        assert!(channel_range(&x, 4, 2..2).is_empty());
    }
}
