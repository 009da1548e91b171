//! Corrupted inputs must give `Ok` or `Err`, never a panic and never a huge allocation:
//! every truncation, thousands of random byte edits, and random edits of the decoded model.

use litecnn_onnx::builder::tensor_f32;
use litecnn_onnx::proto::ModelProto;
use litecnn_onnx::{load_bytes, read_tensor_pb};
use prost::Message;

use crate::fixtures::{bytes, conv_relu, varied};

/// A tiny deterministic generator (xorshift64*), so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    /// Mostly small values, sometimes extreme ones: the edges parsers get wrong.
    fn interesting_i64(&mut self) -> i64 {
        const EDGES: [i64; 8] = [0, 1, -1, 2, i64::MAX, i64::MIN, 1 << 31, 1 << 40];
        match self.below(3) {
            0 => EDGES[self.below(EDGES.len())],
            1 => self.below(8) as i64 - 2,
            _ => self.next() as i64,
        }
    }
}

#[test]
fn every_truncation_is_an_error() {
    for m in [conv_relu(), varied()] {
        let b = bytes(&m);
        assert!(load_bytes(&b).is_ok());
        for len in 0..b.len() {
            assert!(
                load_bytes(&b[..len]).is_err(),
                "truncation to {len} of {} bytes loaded",
                b.len()
            );
        }
    }
}

#[test]
fn truncated_tensor_files_do_not_panic() {
    let b = tensor_f32("t", &[2, 3], &[1.0; 6]).encode_to_vec();
    for len in 0..=b.len() {
        let _ = read_tensor_pb(&b[..len]);
    }
}

/// Applies 1–4 random byte-level edits.
fn mutate_bytes(rng: &mut Rng, b: &mut Vec<u8>) {
    for _ in 0..1 + rng.below(4) {
        let i = rng.below(b.len());
        match rng.below(4) {
            0 => b[i] ^= 1 << rng.below(8),
            1 => b[i] = rng.next() as u8,
            2 => b.insert(i, rng.next() as u8),
            _ => {
                b.remove(i);
            }
        }
        if b.is_empty() {
            return;
        }
    }
}

#[test]
fn random_byte_edits_never_panic() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let originals = [bytes(&conv_relu()), bytes(&varied())];
    let (mut ok, mut err) = (0, 0);
    for round in 0..6000 {
        let mut b = originals[round % 2].clone();
        mutate_bytes(&mut rng, &mut b);
        match load_bytes(&b) {
            Ok(_) => ok += 1,
            Err(_) => err += 1,
        }
        let mut t = tensor_f32("t", &[2, 3], &[1.0; 6]).encode_to_vec();
        mutate_bytes(&mut rng, &mut t);
        let _ = read_tensor_pb(&t);
    }
    // Both outcomes must occur, or the edits are not reaching the loader's logic.
    assert!(ok > 0 && err > 0, "ok={ok} err={err}");
    assert_peak_memory_is_small();
}

/// Names and op types the model edits pick from: existing ones, absent, unknown.
const NAMES: [&str; 9] = ["x", "w", "c", "bn", "mp", "shp", "", "nope", "y"];
const OPS: [&str; 10] = [
    "Conv",
    "Split",
    "Slice",
    "Pad",
    "Clip",
    "Transpose",
    "Squeeze",
    "Constant",
    "Dropout",
    "MaxPool",
];

/// Replaces a random element of `v`, or pushes `x` when `v` is empty.
fn replace_one<T>(rng: &mut Rng, v: &mut Vec<T>, x: T) {
    match v.len() {
        0 => v.push(x),
        n => v[rng.below(n)] = x,
    }
}

/// One random edit of the decoded model: a dimension, an attribute, a wiring, an op type or an
/// element type — changes that decode fine and so reach the translators.
fn mutate_model(rng: &mut Rng, m: &mut ModelProto) {
    let g = m.graph.as_mut().unwrap();
    let n = rng.below(g.node.len());
    let t = rng.below(g.initializer.len());
    let name = NAMES[rng.below(NAMES.len())].to_owned();
    match rng.below(7) {
        0 => {
            let v = rng.interesting_i64();
            replace_one(rng, &mut g.initializer[t].dims, v);
        }
        1 => {
            let a = rng.below(g.node[n].attribute.len());
            if let Some(attr) = g.node[n].attribute.get_mut(a) {
                attr.i = Some(rng.interesting_i64());
                attr.ints = (0..rng.below(5)).map(|_| rng.interesting_i64()).collect();
            }
        }
        2 => replace_one(rng, &mut g.node[n].input, name),
        3 => g.node[n].op_type = Some(OPS[rng.below(OPS.len())].to_owned()),
        4 => g.node[n].output.push(name),
        5 => m.opset_import[0].version = Some(7 + rng.below(21) as i64),
        _ => g.initializer[t].data_type = Some(rng.below(25) as i32),
    }
}

#[test]
fn random_model_edits_never_panic() {
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let original = varied();
    for _ in 0..3000 {
        let mut m = original.clone();
        for _ in 0..1 + rng.below(3) {
            mutate_model(&mut rng, &mut m);
        }
        let _ = load_bytes(&bytes(&m));
    }
    assert_peak_memory_is_small();
}

/// The process's peak resident memory stays far below what one absurd tensor would take.
fn assert_peak_memory_is_small() {
    #[cfg(target_os = "linux")]
    {
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
        let kib: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
        assert!(kib < 512 * 1024, "peak resident memory {kib} KiB");
    }
}
