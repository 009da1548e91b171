//! Speed of the fast GEMM convolution (1×1 and 3×3) on layer shapes of MobileNetV2, ResNet18
//! and SqueezeNet, best of many runs (a benchmark for kernel work, never a test):
//!
//!     cargo run --release -p litecnn-kernels --example conv_speed [THREADS] [CASE_INDEX]

use litecnn_kernels::ThreadTeam;
use litecnn_kernels::fast::{self, Activation, Epilogue};
use litecnn_kernels::reference::conv::ConvGeometry;
use litecnn_kernels::reference::window::{AutoPad, WindowParams};
use std::io::Write;
use std::time::Instant;

/// (output channels, input channels, input side, kernel, stride)
const CASES: [(usize, usize, usize, usize, usize); 14] = [
    (32, 3, 224, 3, 2),
    (96, 16, 112, 1, 1),
    (144, 24, 56, 1, 1),
    (24, 144, 56, 1, 1),
    (192, 32, 28, 1, 1),
    (32, 192, 28, 1, 1),
    (384, 64, 14, 1, 1),
    (96, 576, 14, 1, 1),
    (960, 160, 7, 1, 1),
    (320, 960, 7, 1, 1),
    (1280, 320, 7, 1, 1),
    (64, 64, 56, 3, 1),
    (512, 512, 7, 3, 1),
    (64, 16, 55, 3, 1),
];

fn main() {
    let mut args = std::env::args().skip(1);
    let threads: usize = args.next().map_or(1, |a| a.parse().unwrap());
    let only: Option<usize> = args.next().map(|a| a.parse().unwrap());
    let team = ThreadTeam::new(threads).unwrap();
    let mut total = 0.0;
    for (i, &(m, c, hw, k, s)) in CASES.iter().enumerate() {
        if only.is_some_and(|o| o != i) {
            continue;
        }
        let window = WindowParams {
            kernel: vec![k, k],
            strides: vec![s, s],
            dilations: vec![1, 1],
            pads: vec![k / 2; 4],
            auto_pad: AutoPad::NotSet,
            ceil_mode: false,
        };
        let g = ConvGeometry::new(&[1, c, hw, hw], &[m, c, k, k], &window, 1).unwrap();
        let x: Vec<f32> = (0..c * hw * hw).map(|i| (i % 7) as f32 * 0.1).collect();
        let w: Vec<f32> = (0..m * c * k * k).map(|i| (i % 5) as f32 * 0.01).collect();
        let b = vec![0.5; m];
        let e = Epilogue {
            bias: Some(&b),
            residual: None,
            activation: Activation::Clip { min: 0.0, max: 6.0 },
        };
        team.run(|| {
            let mut best = f64::MAX;
            let runs = (2e8 / (m * c * k * k * hw * hw) as f64).clamp(20.0, 400.0) as usize;
            for _ in 0..runs {
                let t = Instant::now();
                let y = fast::conv::conv(&g, &x, &w, &e).unwrap();
                std::hint::black_box(&y);
                fast::buffers::give(y.into_storage());
                best = best.min(t.elapsed().as_secs_f64() * 1e3);
            }
            total += best;
            let out: usize = g.output_shape().iter().product();
            let gf = 2.0 * (out * c * k * k) as f64 / best / 1e6;
            let line = format!(
                "{i:2} [{m:4},{c:4},{k}×{k}] s{s} at {hw:3}²: {best:.3} ms  {gf:5.1} GFLOP/s"
            );
            // A closed pipe (`| head`) ends the output, not the process with a panic.
            let _ = writeln!(std::io::stdout(), "{line}");
        });
    }
    let _ = writeln!(std::io::stdout(), "total {total:.3} ms");
}
