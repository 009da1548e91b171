//! Data movement by offset lists (Transpose, Slice): the contract of
//! `reference::slice::gather_offsets`, with the trailing axes that read one contiguous run of
//! the input merged into a single copy. A channel shuffle's transpose or a channel split then
//! copies whole planes instead of stepping element by element.

/// The elements of `data` at every combination of `offsets` (one list of input offsets per
/// output axis, summed), in row-major order of the output.
pub fn gather_offsets<T: Copy>(data: &[T], offsets: &[Vec<usize>]) -> Vec<T> {
    // The trailing axes whose offsets step by the length of the run after them form one run.
    let (mut axes, mut run, mut first) = (offsets.len(), 1usize, 0usize);
    while let Some(axis) = axes.checked_sub(1) {
        let o = &offsets[axis];
        let steps_by_run = o
            .iter()
            .enumerate()
            .all(|(i, &v)| Some(v) == o[0].checked_add(i * run));
        if o.is_empty() || !steps_by_run {
            break;
        }
        first += o[0];
        run *= o.len();
        axes = axis;
    }
    let count = offsets[..axes]
        .iter()
        .try_fold(run, |n, o| n.checked_mul(o.len()))
        .unwrap_or(0);
    let mut out = Vec::with_capacity(count);
    walk(data, &offsets[..axes], first, run, &mut out);
    out
}

fn walk<T: Copy>(data: &[T], offsets: &[Vec<usize>], base: usize, run: usize, out: &mut Vec<T>) {
    match offsets {
        [] => out.extend_from_slice(&data[base..][..run]),
        [first, rest @ ..] => {
            for &o in first {
                walk(data, rest, base + o, run, out);
            }
        }
    }
}
