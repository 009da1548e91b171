//! Speed of the fast depthwise convolution on the layer shapes of MobileNetV2/V3, one thread,
//! best of 200 runs (a benchmark for kernel work, never a test):
//!
//!     cargo run --release -p litecnn-kernels --example depthwise_speed [CASE_INDEX]

use litecnn_kernels::fast::{self, Activation, Epilogue};
use litecnn_kernels::reference::conv::ConvGeometry;
use litecnn_kernels::reference::window::{AutoPad, WindowParams};
use std::time::Instant;

fn main() {
    let cases = [
        (32, 112, 3, 1),
        (96, 112, 3, 2),
        (144, 56, 3, 1),
        (192, 28, 3, 1),
        (576, 14, 3, 1),
        (960, 7, 3, 1),
        (240, 28, 5, 1),
        (672, 14, 5, 2),
    ];
    let only: Option<usize> = std::env::args().nth(1).map(|a| a.parse().unwrap());
    for (i, &(c, hw, k, s)) in cases.iter().enumerate() {
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
        let g = ConvGeometry::new(&[1, c, hw, hw], &[c, 1, k, k], &window, c).unwrap();
        let x: Vec<f32> = (0..c * hw * hw).map(|i| (i % 7) as f32 * 0.1).collect();
        let w: Vec<f32> = (0..c * k * k).map(|i| (i % 5) as f32 * 0.1).collect();
        let b = vec![0.5; c];
        let e = Epilogue {
            bias: Some(&b),
            residual: None,
            activation: Activation::Relu,
        };
        {
            let mut best = f64::MAX;
            for _ in 0..200 {
                let t = Instant::now();
                let y = fast::conv::conv(&g, &x, &w, &e).unwrap();
                std::hint::black_box(y);
                best = best.min(t.elapsed().as_secs_f64() * 1e3);
            }
            let out: usize = g.output_shape().iter().product();
            let gf = 2.0 * (out * k * k) as f64 / best / 1e6;
            println!("c{c:4} {hw:3}² k{k} s{s}: {best:.3} ms  {gf:.1} GFLOP/s");
        }
    }
}
