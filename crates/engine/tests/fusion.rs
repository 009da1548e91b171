//! The fusion passes and the fast kernels on small whole networks: every graph is run
//!
//! - as imported, on the reference kernels (the oracle);
//! - after the passes, on the reference kernels (the passes alone must not change the result);
//! - after the passes, on the fast kernels (what `Model::new` does by default);
//!
//! and the op histogram shows what was fused (and what must not be).

mod common;

use std::collections::BTreeMap;

use common::{Builder, values};
use litecnn_engine::ir::{
    AutoPad, BinaryOp, ConvAttrs, Dim, Graph, NhwcOp, Op, PoolAttrs, UnaryOp, ValueId, Window,
};
use litecnn_engine::{Kernels, Layout, Model, ModelOptions, Tensor, passes, stats};

fn positive(shape: Vec<usize>, seed: u32) -> Tensor {
    let t = values(shape.clone(), seed);
    Tensor::from_f32(
        shape,
        t.as_f32().unwrap().iter().map(|v| v.abs() + 0.5).collect(),
    )
    .unwrap()
}

fn conv_op(kernel: usize, stride: usize, group: usize) -> Op {
    let pad = kernel / 2;
    Op::Conv(ConvAttrs {
        window: Window {
            kernel_shape: Some(vec![kernel, kernel]),
            strides: vec![stride, stride],
            dilations: vec![],
            pads: vec![pad; 4],
            auto_pad: AutoPad::NotSet,
        },
        group,
    })
}

struct Net {
    b: Builder,
    seed: u32,
}

impl Net {
    fn conv(
        &mut self,
        x: ValueId,
        cin: usize,
        cout: usize,
        k: usize,
        stride: usize,
        group: usize,
    ) -> ValueId {
        self.seed += 1;
        let w = self.b.constant(
            &format!("w{}", self.seed),
            values(vec![cout, cin / group, k, k], self.seed),
        );
        let bias = self.b.constant(
            &format!("b{}", self.seed),
            values(vec![cout], self.seed + 100),
        );
        self.b.node(conv_op(k, stride, group), &[x, w, bias])
    }

    fn conv_bn(
        &mut self,
        x: ValueId,
        cin: usize,
        cout: usize,
        k: usize,
        stride: usize,
        group: usize,
    ) -> ValueId {
        let y = self.conv(x, cin, cout, k, stride, group);
        self.seed += 1;
        let s = self.seed;
        let params = [
            self.b
                .constant(&format!("scale{s}"), positive(vec![cout], s)),
            self.b
                .constant(&format!("beta{s}"), values(vec![cout], s + 1)),
            self.b
                .constant(&format!("mean{s}"), values(vec![cout], s + 2)),
            self.b
                .constant(&format!("var{s}"), positive(vec![cout], s + 3)),
        ];
        self.b.node(
            Op::BatchNormalization { epsilon: 1e-5 },
            &[y, params[0], params[1], params[2], params[3]],
        )
    }

    fn unary(&mut self, u: UnaryOp, x: ValueId) -> ValueId {
        self.b.node(Op::Unary(u), &[x])
    }
}

/// A little network with every pattern the passes know, and some they must leave alone.
fn network() -> (Graph, Vec<usize>) {
    let mut net = Net {
        b: Builder::new(),
        seed: 0,
    };
    let x = net.b.input(
        "x",
        vec![Dim::Known(1), Dim::Known(3), Dim::Known(17), Dim::Known(15)],
    );
    // Stem: conv 3x3 s2 + BN + ReLU6 (Clip with constant bounds).
    let stem = net.conv_bn(x, 3, 16, 3, 2, 1);
    let lo = net.b.constant("lo", Tensor::scalar_f32(0.0));
    let hi = net.b.constant("hi", Tensor::scalar_f32(6.0));
    let stem = net.b.node(Op::Clip, &[stem, lo, hi]);
    // Depthwise 3x3 + BN + HardSwish, then pointwise + BN + residual Add + ReLU (ResNet style).
    let dw = net.conv_bn(stem, 16, 16, 3, 1, 16);
    let dw = net.unary(UnaryOp::HardSwish, dw);
    let pw = net.conv_bn(dw, 16, 16, 1, 1, 1);
    let sum = net.b.node(Op::Binary(BinaryOp::Add), &[pw, stem]);
    let block = net.unary(UnaryOp::Relu, sum);
    // Depthwise 5x5 stride 2 + SiLU as PyTorch exports it: Mul(x, Sigmoid(x)).
    let dw5 = net.conv_bn(block, 16, 16, 5, 2, 16);
    let sig = net.unary(UnaryOp::Sigmoid, dw5);
    let silu = net.b.node(Op::Binary(BinaryOp::Mul), &[dw5, sig]);
    // A grouped 3x3 conv whose output is also a graph output: it must not be fused away.
    let grouped = net.conv(silu, 16, 8, 3, 1, 2);
    let grouped_act = net.unary(UnaryOp::Sigmoid, grouped);
    // Head: 1x1 conv + HardSigmoid, global pool, flatten, Gemm.
    let head = net.conv(grouped_act, 8, 24, 1, 1, 1);
    let head = net.unary(
        UnaryOp::HardSigmoid {
            alpha: 0.2,
            beta: 0.5,
        },
        head,
    );
    let pooled = net.b.node(Op::GlobalAveragePool, &[head]);
    let flat = net.b.node(Op::Flatten { axis: 1 }, &[pooled]);
    let fc_w = net.b.constant("fc_w", values(vec![10, 24], 77));
    let fc_b = net.b.constant("fc_b", values(vec![10], 78));
    let gemm = Op::Gemm {
        alpha: 1.0,
        beta: 1.0,
        trans_a: false,
        trans_b: true,
    };
    let logits = net.b.node(gemm, &[flat, fc_w, fc_b]);
    net.b.graph.outputs = vec![logits, grouped];
    (net.b.graph, vec![1, 3, 17, 15])
}

fn run(
    graph: Graph,
    kernels: Kernels,
    input: &Tensor,
) -> (Vec<Tensor>, BTreeMap<&'static str, usize>) {
    // Two threads: the run happens on the model's thread team, as in production.
    let options = ModelOptions {
        kernels,
        threads: 2,
        layout: Layout::ChannelsFirst,
        ..ModelOptions::default()
    };
    let model = Model::with_options(graph, options).unwrap();
    let hist = stats::op_histogram(model.graph());
    (model.run(vec![input.clone()]).unwrap(), hist)
}

fn assert_close(got: &[Tensor], want: &[Tensor]) {
    for (g, w) in got.iter().zip(want) {
        assert_eq!(g.shape(), w.shape());
        let (g, w) = (g.as_f32().unwrap(), w.as_f32().unwrap());
        let scale = w.iter().fold(1.0f32, |m, v| m.max(v.abs()));
        for (a, b) in g.iter().zip(w) {
            assert!((a - b).abs() <= 1e-4 * scale, "{a} vs {b}");
        }
    }
}

#[test]
fn passes_and_fast_kernels_keep_the_network_output() {
    let (graph, shape) = network();
    let input = values(shape, 5);
    let (want, imported) = run(graph.clone(), Kernels::Reference, &input);
    assert_eq!(imported.get("BatchNormalization"), Some(&4));

    let mut fused = graph.clone();
    passes::fold_constants(&mut fused).unwrap();
    passes::fold_batch_norm(&mut fused);
    passes::fuse_conv_epilogue(&mut fused);
    let (passes_only, hist) = run(fused, Kernels::Reference, &input);
    assert_close(&passes_only, &want);

    let (fast, fast_hist) = run(graph, Kernels::Fast, &input);
    assert_close(&fast, &want);
    assert_eq!(hist, fast_hist);
    // Five convs fused (stem, dw, pw + residual + relu, dw5 + silu, head); the grouped conv is
    // a graph output, so it and its Sigmoid stay apart.
    assert_eq!(fast_hist.get("FusedConv"), Some(&5), "{fast_hist:?}");
    assert_eq!(fast_hist.get("Conv"), Some(&1), "{fast_hist:?}");
    assert_eq!(fast_hist.get("Sigmoid"), Some(&1), "{fast_hist:?}");
    for gone in [
        "BatchNormalization",
        "Clip",
        "Relu",
        "HardSwish",
        "HardSigmoid",
        "Add",
        "Mul",
    ] {
        assert_eq!(fast_hist.get(gone), None, "{gone} left in {fast_hist:?}");
    }
}

#[test]
fn reference_kernels_run_the_graph_as_imported() {
    let (graph, _) = network();
    let model = Model::with_options(
        graph,
        ModelOptions {
            kernels: Kernels::Reference,
            ..ModelOptions::default()
        },
    )
    .unwrap();
    let hist = stats::op_histogram(model.graph());
    assert_eq!(hist.get("FusedConv"), None);
    assert_eq!(hist.get("BatchNormalization"), Some(&4));
}

#[test]
fn zero_threads_is_an_error() {
    let (graph, _) = network();
    let options = ModelOptions {
        threads: 0,
        ..ModelOptions::default()
    };
    assert!(Model::with_options(graph.clone(), options).is_err());
    let model = Model::with_options(graph, ModelOptions::default()).unwrap();
    assert!(model.with_threads(0).is_err());
}

#[test]
fn warm_runs_reuse_the_planned_buffers_and_keep_nothing_more_than_the_input() {
    use litecnn_kernels::fast::buffers;
    let (graph, shape) = network();
    let input = values(shape, 5);
    let model = |graph: Graph| {
        let options = ModelOptions {
            kernels: Kernels::Fast,
            threads: 1,
            ..ModelOptions::default()
        };
        Model::with_options(graph, options).unwrap()
    };
    let (a, b) = (model(graph.clone()), model(graph));
    let planned = a.planned_activation_bytes();
    assert!(planned > 0);
    // A run happens on the calling thread, which keeps the buffers.
    buffers::clear();
    let want = a.run(vec![input.clone()]).unwrap();
    // Kept besides the plan: the input's buffer, for the next input made with `input_buffer`.
    let input_bytes = input.len() * size_of::<f32>();
    let kept = buffers::kept_capacity() * size_of::<f32>();
    assert!(
        input_bytes < kept && kept <= planned + input_bytes,
        "kept {kept} of {planned} + {input_bytes} bytes"
    );
    let reused = litecnn_engine::input_buffer(input.len());
    assert_eq!(
        buffers::kept_capacity() * size_of::<f32>(),
        kept - input_bytes,
        "the input buffer is the one the run kept"
    );
    buffers::give_input(reused);
    for round in 0..3 {
        assert_eq!(a.run(vec![input.clone()]).unwrap(), want, "round {round}");
        let now = buffers::kept_capacity() * size_of::<f32>();
        assert_eq!(
            now, kept,
            "round {round}: a warm run keeps what the first kept"
        );
    }
    // Another model on the same thread takes over the thread's buffers; both stay right.
    assert_eq!(b.run(vec![input.clone()]).unwrap(), want);
    assert!(
        buffers::kept_capacity() * size_of::<f32>()
            <= b.planned_activation_bytes() + 2 * input_bytes
    );
    assert_eq!(a.run(vec![input]).unwrap(), want);
    buffers::clear();
}

#[test]
fn releasing_a_threads_buffers_returns_all_it_kept_and_later_runs_stay_right() {
    let (graph, shape) = network();
    let input = values(shape, 6);
    let options = ModelOptions {
        kernels: Kernels::Fast,
        threads: 1,
        ..ModelOptions::default()
    };
    let model = Model::with_options(graph, options).unwrap();
    let want = model.run(vec![input.clone()]).unwrap();
    let kept = litecnn_engine::kept_thread_bytes();
    assert!(
        kept >= model.planned_activation_bytes(),
        "a run keeps at least its plan: {kept} bytes"
    );
    litecnn_engine::release_thread_buffers();
    assert_eq!(litecnn_engine::kept_thread_bytes(), 0);
    assert_eq!(model.run(vec![input]).unwrap(), want);
    assert_eq!(litecnn_engine::kept_thread_bytes(), kept);
    litecnn_engine::release_thread_buffers();
}

/// A network with everything the channels-last pass moves to NHWC (convolutions, max pool,
/// squeeze-and-excite, residual, concatenation, the mean over positions), on two images, and
/// one reader it must give NCHW back to (a Transpose).
fn channels_last_network() -> (Graph, Vec<usize>) {
    let mut net = Net {
        b: Builder::new(),
        seed: 40,
    };
    let x = net.b.input(
        "x",
        vec![Dim::Known(2), Dim::Known(3), Dim::Known(20), Dim::Known(18)],
    );
    let stem = net.conv_bn(x, 3, 16, 3, 2, 1);
    let lo = net.b.constant("lo", Tensor::scalar_f32(0.0));
    let hi = net.b.constant("hi", Tensor::scalar_f32(6.0));
    let stem = net.b.node(Op::Clip, &[stem, lo, hi]);
    let pool = PoolAttrs {
        window: Window {
            kernel_shape: Some(vec![3, 3]),
            strides: vec![1, 1],
            dilations: vec![],
            pads: vec![1; 4],
            auto_pad: AutoPad::NotSet,
        },
        ceil_mode: false,
    };
    let pooled = net.b.node(Op::MaxPool(pool), &[stem]);
    let dw = net.conv_bn(pooled, 16, 16, 3, 1, 16);
    let dw = net.unary(UnaryOp::HardSwish, dw);
    let pw = net.conv_bn(dw, 16, 24, 1, 1, 1);
    // Squeeze-and-excite, scale first as torchvision writes it.
    let squeezed = net.b.node(Op::GlobalAveragePool, &[pw]);
    let reduced = net.conv(squeezed, 24, 8, 1, 1, 1);
    let reduced = net.unary(UnaryOp::Relu, reduced);
    let expanded = net.conv(reduced, 8, 24, 1, 1, 1);
    let scale = net.unary(
        UnaryOp::HardSigmoid {
            alpha: 0.2,
            beta: 0.5,
        },
        expanded,
    );
    let excited = net.b.node(Op::Binary(BinaryOp::Mul), &[scale, pw]);
    // Back to 16 channels with the pooled stem as residual, then a channel concatenation.
    let project = net.conv(excited, 24, 16, 1, 1, 1);
    let block = net.b.node(Op::Binary(BinaryOp::Add), &[project, pooled]);
    let joined = net.b.node(Op::Concat { axis: 1 }, &[block, dw]);
    let axes = net
        .b
        .constant("axes", Tensor::from_i64(vec![2], vec![2, 3]).unwrap());
    let mean = net.b.node(
        Op::ReduceMean {
            keepdims: false,
            noop_with_empty_axes: false,
        },
        &[joined, axes],
    );
    let fc_w = net.b.constant("fc_w", values(vec![5, 32], 79));
    let gemm = Op::Gemm {
        alpha: 1.0,
        beta: 1.0,
        trans_a: false,
        trans_b: true,
    };
    let logits = net.b.node(gemm, &[mean, fc_w]);
    let transposed = net.b.node(
        Op::Transpose {
            perm: Some(vec![0, 1, 3, 2]),
        },
        &[block],
    );
    net.b.graph.outputs = vec![logits, transposed];
    (net.b.graph, vec![2, 3, 20, 18])
}

fn channels_last_model(graph: Graph, layout: Layout, threads: usize) -> Model {
    common::model(graph, Kernels::Fast, layout, threads)
}

#[test]
fn channels_last_keeps_the_network_output_and_converts_only_at_the_edges() {
    let (graph, shape) = channels_last_network();
    let input = values(shape, 6);
    let (want, _) = run(graph.clone(), Kernels::Reference, &input);
    for threads in [1, 2] {
        let model = channels_last_model(graph.clone(), Layout::ChannelsLast, threads);
        assert_close(&model.run(vec![input.clone()]).unwrap(), &want);
        let hist = stats::op_histogram(model.graph());
        assert_eq!(hist.get("NhwcConv"), Some(&6), "{hist:?}");
        assert_eq!(hist.get("NhwcMaxPool"), Some(&1), "{hist:?}");
        assert_eq!(hist.get("NhwcChannelBroadcast"), Some(&1), "{hist:?}");
        // The stem reads the NCHW input itself, and only the Transpose's operand goes back to
        // NCHW: squeeze-and-excite stays NHWC.
        assert_eq!(hist.get("ToNhwc"), None, "{hist:?}");
        assert_eq!(hist.get("ToNchw"), Some(&1), "{hist:?}");
        let stem = &model.graph().nodes[0];
        assert!(
            matches!(
                stem.op,
                Op::Nhwc(NhwcOp::Conv {
                    input_nchw: true,
                    ..
                })
            ) && stem.inputs[0] == Some(model.graph().inputs[0]),
            "{stem:?}"
        );
        for gone in [
            "Conv",
            "FusedConv",
            "MaxPool",
            "Add",
            "Mul",
            "GlobalAveragePool",
            "ReduceMean",
        ] {
            assert_eq!(hist.get(gone), None, "{gone} left in {hist:?}");
        }
    }
    let nchw = channels_last_model(graph, Layout::ChannelsFirst, 1);
    assert_eq!(stats::op_histogram(nchw.graph()).get("NhwcConv"), None);
    assert_close(&nchw.run(vec![input]).unwrap(), &want);
}

#[test]
fn a_graph_that_would_flip_layouts_at_every_conv_stays_nchw() {
    let mut net = Net {
        b: Builder::new(),
        seed: 60,
    };
    let mut x = net.b.input(
        "x",
        vec![Dim::Known(1), Dim::Known(8), Dim::Known(9), Dim::Known(9)],
    );
    for _ in 0..6 {
        let y = net.conv(x, 8, 8, 3, 1, 1);
        x = net.b.node(
            Op::Transpose {
                perm: Some(vec![0, 1, 3, 2]),
            },
            &[y],
        );
    }
    net.b.graph.outputs = vec![x];
    let input = values(vec![1, 8, 9, 9], 7);
    let (want, _) = run(net.b.graph.clone(), Kernels::Reference, &input);
    let model = channels_last_model(net.b.graph, Layout::ChannelsLast, 1);
    let hist = stats::op_histogram(model.graph());
    assert_eq!(hist.get("NhwcConv"), None, "{hist:?}");
    assert_eq!(hist.get("Conv"), Some(&6), "{hist:?}");
    assert_close(&model.run(vec![input]).unwrap(), &want);
}

#[test]
fn an_expansion_fuses_into_the_depthwise_that_alone_reads_it() {
    let mut net = Net {
        b: Builder::new(),
        seed: 80,
    };
    let x = net.b.input(
        "x",
        vec![Dim::Known(2), Dim::Known(8), Dim::Known(13), Dim::Known(11)],
    );
    // Fused: 1x1 + ReLU, then a stride-2 depthwise + ReLU, then a projection.
    let expanded = net.conv_bn(x, 8, 24, 1, 1, 1);
    let expanded = net.unary(UnaryOp::Relu, expanded);
    let dw = net.conv_bn(expanded, 24, 24, 3, 2, 24);
    let dw = net.unary(UnaryOp::Relu, dw);
    let projected = net.conv(dw, 24, 8, 1, 1, 1);
    // Not fused: this expansion is also a graph output.
    let wide = net.conv(projected, 8, 16, 1, 1, 1);
    let wide_dw = net.conv(wide, 16, 16, 5, 1, 16);
    // Not fused: a 1→1 convolution's weights are packed as a depthwise one's.
    let one = net.conv(x, 8, 1, 3, 1, 1);
    let one = net.conv(one, 1, 1, 1, 1, 1);
    let one_dw = net.conv(one, 1, 1, 3, 2, 1);
    net.b.graph.outputs = vec![wide_dw, wide, one_dw];
    let input = values(vec![2, 8, 13, 11], 9);
    let (want, _) = run(net.b.graph.clone(), Kernels::Reference, &input);
    for threads in [1, 2] {
        let model = channels_last_model(net.b.graph.clone(), Layout::ChannelsLast, threads);
        let hist = stats::op_histogram(model.graph());
        assert_eq!(hist.get("NhwcExpandDepthwise"), Some(&1), "{hist:?}");
        assert_eq!(hist.get("NhwcConv"), Some(&6), "{hist:?}");
        assert_close(&model.run(vec![input.clone()]).unwrap(), &want);
    }
}

/// A ResNet basic block on a symbolic batch of two 28×28 images of 64 channels, then a 3×3
/// convolution of stride 2 and one of 8 input channels: Winograd must take exactly the
/// block's two 3×3 stride-1 convolutions (with bias, ReLU and the residual fused in), and
/// keep the output, on one thread and two, and not at all when the options turn it off.
#[test]
fn the_three_by_three_stride_one_convolutions_run_on_winograd() {
    let mut net = Net {
        b: Builder::new(),
        seed: 80,
    };
    let batch = Dim::Symbol(std::sync::Arc::from("N"));
    let x = net.b.input(
        "x",
        vec![batch, Dim::Known(64), Dim::Known(28), Dim::Known(28)],
    );
    let a = net.conv_bn(x, 64, 64, 3, 1, 1);
    let a = net.unary(UnaryOp::Relu, a);
    let b = net.conv_bn(a, 64, 64, 3, 1, 1);
    let sum = net.b.node(Op::Binary(BinaryOp::Add), &[b, x]);
    let block = net.unary(UnaryOp::Relu, sum);
    let down = net.conv(block, 64, 8, 3, 2, 1);
    let narrow = net.conv(down, 8, 16, 3, 1, 1);
    net.b.graph.outputs = vec![narrow];
    let graph = net.b.graph;
    let input = values(vec![2, 64, 28, 28], 9);
    let (want, _) = run(graph.clone(), Kernels::Reference, &input);
    for (winograd, threads) in [(true, 1), (true, 2), (false, 1)] {
        let options = ModelOptions {
            kernels: Kernels::Fast,
            threads,
            winograd,
            ..ModelOptions::default()
        };
        let model = Model::with_options(graph.clone(), options).unwrap();
        assert_close(&model.run(vec![input.clone()]).unwrap(), &want);
        let hist = stats::op_histogram(model.graph());
        let expected = winograd.then_some(&2);
        assert_eq!(hist.get("NhwcWinogradConv"), expected, "{hist:?}");
    }
}
