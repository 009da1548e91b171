//! Speed of the NHWC convolutions (1×1 GEMM, depthwise) on MobileNetV3-Small's layer shapes, best of many
//! runs, warm caches (a benchmark for kernel work, never a test):
//!
//!     cargo run --release -p litecnn-kernels --example nhwc_speed [THREADS] [CASE_INDEX]

use litecnn_kernels::ThreadTeam;
use litecnn_kernels::fast::nhwc::conv;
use litecnn_kernels::fast::{self, Activation, Epilogue};
use litecnn_kernels::reference::conv::ConvGeometry;
use litecnn_kernels::reference::window::{AutoPad, WindowParams};
use std::io::Write;
use std::time::Instant;

/// (output channels, input channels, side, kernel, stride, group)
const CASES: [(usize, usize, usize, usize, usize, usize); 18] = [
    (72, 16, 56, 1, 1, 1),
    (64, 16, 56, 1, 1, 1),
    (80, 16, 56, 1, 1, 1),
    (24, 72, 28, 1, 1, 1),
    (88, 24, 28, 1, 1, 1),
    (24, 88, 28, 1, 1, 1),
    (96, 24, 28, 1, 1, 1),
    (240, 40, 14, 1, 1, 1),
    (40, 240, 14, 1, 1, 1),
    (576, 96, 7, 1, 1, 1),
    (96, 576, 7, 1, 1, 1),
    (144, 48, 14, 1, 1, 1),
    (72, 72, 56, 3, 1, 72),
    (48, 48, 112, 3, 2, 48),
    (16, 16, 112, 3, 2, 16),
    (88, 88, 28, 3, 1, 88),
    (240, 240, 14, 5, 1, 240),
    (576, 576, 7, 5, 1, 576),
];

fn main() {
    let mut args = std::env::args().skip(1);
    let threads: usize = args.next().map_or(1, |a| a.parse().unwrap());
    let only: Option<usize> = args.next().map(|a| a.parse().unwrap());
    let team = ThreadTeam::new(threads).unwrap();
    for (i, &(m, c, hw, k, st, grp)) in CASES.iter().enumerate() {
        if only.is_some_and(|o| o != i) {
            continue;
        }
        let window = WindowParams {
            kernel: vec![k, k],
            strides: vec![st, st],
            dilations: vec![1, 1],
            pads: vec![k / 2; 4],
            auto_pad: AutoPad::NotSet,
            ceil_mode: false,
        };
        let g = ConvGeometry::new(&[1, c, hw, hw], &[m, c / grp, k, k], &window, grp).unwrap();
        let x: Vec<f32> = (0..c * hw * hw).map(|i| (i % 7) as f32 * 0.1).collect();
        let w: Vec<f32> = (0..m * c / grp * k * k)
            .map(|i| (i % 5) as f32 * 0.01)
            .collect();
        let packed = conv::pack_weights(&w, &[m, c / grp, k, k], grp).unwrap();
        let b = vec![0.5; m];
        let e = Epilogue {
            bias: Some(&b),
            residual: None,
            activation: Activation::Relu,
        };
        team.run(|| {
            let mut best = f64::MAX;
            let runs = (4e8 / (m * c / grp * k * k * hw * hw) as f64).clamp(50.0, 2000.0) as usize;
            for _ in 0..runs {
                let t = Instant::now();
                let y = conv::conv(&g, &x, &packed, &e).unwrap();
                std::hint::black_box(&y);
                fast::buffers::give(y.into_storage());
                best = best.min(t.elapsed().as_secs_f64() * 1e3);
            }
            let out: usize = g.output_shape().iter().product();
            let gf = 2.0 * (out * c / grp * k * k) as f64 / best / 1e6;
            let line = format!(
                "{i:2} [{m:4},{c:4}] {k}×{k} s{st} g{grp} at {hw:3}²: {best:.4} ms  {gf:5.1} GFLOP/s"
            );
            let _ = writeln!(std::io::stdout(), "{line}");
        });
    }
}
