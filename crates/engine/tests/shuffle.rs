//! ShuffleNet's channel split and channel shuffle run channels-last: a block built as
//! torchvision exports it (two Slices of the channel axis, or one Split as the dynamo exporter
//! writes it, then Concat, Reshape → Transpose → Reshape)
//! gives the reference kernels' result on the graph as imported, with no layout conversion
//! inside the network.

mod common;

use common::{Builder, model, values};
use litecnn_engine::ir::{AutoPad, ConvAttrs, Dim, Graph, Node, Op, UnaryOp, ValueId, Window};
use litecnn_engine::{Kernels, Layout, Tensor, stats};

fn ints(b: &mut Builder, name: &str, v: &[i64]) -> ValueId {
    b.constant(name, Tensor::from_i64(vec![v.len()], v.to_vec()).unwrap())
}

fn conv(b: &mut Builder, x: ValueId, cin: usize, cout: usize, k: usize, group: usize) -> ValueId {
    let seed = b.graph.nodes.len() as u32;
    let w = b.constant(
        &format!("w{seed}"),
        values(vec![cout, cin / group, k, k], seed),
    );
    let bias = b.constant(&format!("b{seed}"), values(vec![cout], seed + 50));
    let op = Op::Conv(ConvAttrs {
        window: Window {
            kernel_shape: Some(vec![k, k]),
            strides: vec![1, 1],
            dilations: vec![],
            pads: vec![k / 2; 4],
            auto_pad: AutoPad::NotSet,
        },
        group,
    });
    let y = b.node(op, &[x, w, bias]);
    b.node(Op::Unary(UnaryOp::Relu), &[y])
}

/// `x.view(n, groups, c / groups, h, w).transpose(1, 2).view(n, c, h, w)`, with `0` copying
/// the batch as the exporter's folded targets do.
fn shuffle(b: &mut Builder, x: ValueId, c: i64, groups: i64, side: i64) -> ValueId {
    let split = ints(b, "split", &[0, groups, c / groups, side, side]);
    let back = ints(b, "back", &[0, c, side, side]);
    let y = b.node(Op::Reshape { allowzero: false }, &[x, split]);
    let y = b.node(
        Op::Transpose {
            perm: Some(vec![0, 2, 1, 3, 4]),
        },
        &[y],
    );
    b.node(Op::Reshape { allowzero: false }, &[y, back])
}

/// How a block cuts its input's channels in two.
#[derive(Clone, Copy, Debug)]
enum Cut {
    Slices,
    Split,
}

/// The two halves of `y`'s 16 channels.
fn halves(b: &mut Builder, y: ValueId, cut: Cut) -> (ValueId, ValueId) {
    match cut {
        Cut::Slices => {
            let axes = ints(b, "axes", &[1]);
            let (zero, half, end) = (
                ints(b, "zero", &[0]),
                ints(b, "half", &[8]),
                ints(b, "end", &[i64::MAX]),
            );
            let kept = b.node(Op::Slice, &[y, zero, half, axes]);
            (kept, b.node(Op::Slice, &[y, half, end, axes]))
        }
        Cut::Split => {
            let sizes = ints(b, "sizes", &[8, 8]);
            let parts = [0, 1].map(|i| b.value(&format!("part{i}"), None, None));
            b.graph.nodes.push(Node {
                name: format!("split{}", b.graph.nodes.len()),
                op: Op::Split { axis: 1 },
                inputs: vec![Some(y), Some(sizes)],
                outputs: parts.to_vec(),
            });
            (parts[0], parts[1])
        }
    }
}

/// Two ShuffleNet v2 stride-1 blocks of 16 channels on a 10×10 plane, then a 1×1 head.
fn shufflenet_blocks(cut: Cut) -> Graph {
    let mut b = Builder::new();
    let x = b.input(
        "x",
        vec![
            Dim::Symbol("N".into()),
            Dim::Known(16),
            Dim::Known(10),
            Dim::Known(10),
        ],
    );
    let mut y = conv(&mut b, x, 16, 16, 1, 1);
    for _ in 0..2 {
        let (kept, branch) = halves(&mut b, y, cut);
        let branch = conv(&mut b, branch, 8, 8, 1, 1);
        let branch = conv(&mut b, branch, 8, 8, 3, 8);
        let branch = conv(&mut b, branch, 8, 8, 1, 1);
        let joined = b.node(Op::Concat { axis: 1 }, &[kept, branch]);
        y = shuffle(&mut b, joined, 16, 2, 10);
    }
    let head = conv(&mut b, y, 16, 4, 1, 1);
    b.graph.outputs = vec![head];
    b.graph
}

#[test]
fn shufflenet_blocks_run_channels_last_with_the_reference_result() {
    for (cut, threads) in [
        (Cut::Slices, 1),
        (Cut::Slices, 2),
        (Cut::Split, 1),
        (Cut::Split, 2),
    ] {
        let graph = shufflenet_blocks(cut);
        let input = values(vec![2, 16, 10, 10], 3);
        let oracle = model(graph.clone(), Kernels::Reference, Layout::ChannelsFirst, 1);
        let want = oracle.run(vec![input.clone()]).unwrap();
        let fast = model(graph.clone(), Kernels::Fast, Layout::ChannelsLast, threads);
        let hist = stats::op_histogram(fast.graph());
        assert_eq!(hist.get("NhwcChannelShuffle"), Some(&2), "{hist:?}");
        assert_eq!(hist.get("NhwcChannelRange"), Some(&4), "{cut:?}: {hist:?}");
        for gone in ["Reshape", "Transpose", "Slice", "Split"] {
            assert_eq!(hist.get(gone), None, "{gone} left in {hist:?}");
        }
        // The only conversions are at the graph's input (a 1×1 convolution reads NHWC) and
        // its output.
        assert_eq!(hist.get("ToNhwc"), Some(&1), "{hist:?}");
        assert_eq!(hist.get("ToNchw"), Some(&1), "{hist:?}");
        let got = fast.run(vec![input.clone()]).unwrap();
        assert_eq!(got[0].shape(), want[0].shape());
        let (g, w) = (got[0].as_f32().unwrap(), want[0].as_f32().unwrap());
        let scale = w.iter().fold(1.0f32, |m, v| m.max(v.abs()));
        for (a, b) in g.iter().zip(w) {
            assert!((a - b).abs() <= 1e-4 * scale, "{a} vs {b}");
        }
    }
}

#[test]
fn a_shuffle_whose_middle_is_read_elsewhere_is_left_to_the_nchw_ops() {
    let mut graph = shufflenet_blocks(Cut::Slices);
    // Make the first block's transposed value a graph output too: the shuffle can no longer
    // be one op, and the result must not change.
    let transposed = graph
        .nodes
        .iter()
        .find(|n| matches!(n.op, Op::Transpose { .. }))
        .map(|n| n.outputs[0])
        .unwrap();
    graph.outputs.push(transposed);
    let input = values(vec![1, 16, 10, 10], 5);
    let oracle = model(graph.clone(), Kernels::Reference, Layout::ChannelsFirst, 1);
    let want = oracle.run(vec![input.clone()]).unwrap();
    let fast = model(graph, Kernels::Fast, Layout::ChannelsLast, 2);
    let hist = stats::op_histogram(fast.graph());
    // That block's Transpose stays (with so few convolutions the pass may also keep the
    // whole graph NCHW rather than convert around it).
    assert!(
        hist.get("NhwcChannelShuffle").is_none_or(|&n| n < 2),
        "{hist:?}"
    );
    assert!(hist.contains_key("Transpose"), "{hist:?}");
    let got = fast.run(vec![input]).unwrap();
    for (g, w) in got.iter().zip(&want) {
        assert_eq!(g.shape(), w.shape());
        for (a, b) in g.as_f32().unwrap().iter().zip(w.as_f32().unwrap()) {
            assert!((a - b).abs() <= 1e-4, "{a} vs {b}");
        }
    }
}
