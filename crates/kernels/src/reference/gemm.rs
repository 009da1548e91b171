//! Matrix products: ONNX Gemm (`alpha * op(A) op(B) + beta * C`) and numpy-style MatMul
//! (1-D promotion, batched with broadcast batch dimensions). Both run the same plain triple
//! loop, ordered `i, k, j` so that the innermost loop walks a row of the output.

use super::broadcast::{
    broadcast_shapes, broadcast_strides, broadcast_to, element_count, next_index,
};
use super::window::{ShapeError, shape_bail};

/// Gemm's sizes and attributes. `A` is `[m, k]` (`[k, m]` when `trans_a`), `B` is `[k, n]`
/// (`[n, k]` when `trans_b`), the result `[m, n]`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GemmParams {
    pub m: usize,
    pub n: usize,
    pub k: usize,
    pub trans_a: bool,
    pub trans_b: bool,
    pub alpha: f32,
    pub beta: f32,
}

/// A row-major matrix read through arbitrary row and column strides, so a transposed operand
/// is read in place.
#[derive(Clone, Copy)]
struct View<'a> {
    data: &'a [f32],
    row_stride: usize,
    col_stride: usize,
}

impl View<'_> {
    fn at(&self, row: usize, col: usize) -> f32 {
        self.data[row * self.row_stride + col * self.col_stride]
    }
}

/// `out[m, n] += a[m, k] · b[k, n]`. The loop order only decides which operand is walked
/// contiguously: `i, k, j` streams rows of `b` (and `out`); when `b` is stored transposed its
/// columns are contiguous instead, so `i, j, k` takes dot products along them.
fn accumulate_product(out: &mut [f32], a: View<'_>, b: View<'_>, m: usize, n: usize, k: usize) {
    for i in 0..m {
        let row = &mut out[i * n..(i + 1) * n];
        if b.col_stride == 1 {
            for kk in 0..k {
                let a_ik = a.at(i, kk);
                for (j, y) in row.iter_mut().enumerate() {
                    *y += a_ik * b.at(kk, j);
                }
            }
        } else {
            for (j, y) in row.iter_mut().enumerate() {
                *y += (0..k).map(|kk| a.at(i, kk) * b.at(kk, j)).sum::<f32>();
            }
        }
    }
}

/// Gemm. `c` is the optional bias with its shape; it must broadcast to `[m, n]`. As in the ONNX
/// reference, `C` is not read at all when `beta` is 0.
pub fn gemm(
    p: &GemmParams,
    a: &[f32],
    b: &[f32],
    c: Option<(&[f32], &[usize])>,
) -> Result<Vec<f32>, ShapeError> {
    let (m, n, k) = (p.m, p.n, p.k);
    let len = |x: usize, y: usize| {
        x.checked_mul(y)
            .ok_or_else(|| ShapeError::new("Gemm size overflows"))
    };
    if a.len() != len(m, k)? || b.len() != len(k, n)? {
        shape_bail!(
            "Gemm buffers of {} and {} elements do not match m={m}, n={n}, k={k}",
            a.len(),
            b.len()
        );
    }
    let a_view = match p.trans_a {
        false => View {
            data: a,
            row_stride: k,
            col_stride: 1,
        },
        true => View {
            data: a,
            row_stride: 1,
            col_stride: m,
        },
    };
    let b_view = match p.trans_b {
        false => View {
            data: b,
            row_stride: n,
            col_stride: 1,
        },
        true => View {
            data: b,
            row_stride: 1,
            col_stride: k,
        },
    };
    let mut y = vec![0.0; len(m, n)?];
    accumulate_product(&mut y, a_view, b_view, m, n, k);
    for v in &mut y {
        *v *= p.alpha;
    }
    if let (Some((c, c_shape)), true) = (c, p.beta != 0.0) {
        let c = broadcast_to(c, c_shape, &[m, n]).map_err(|_| {
            ShapeError::new(format!(
                "Gemm C of shape {c_shape:?} does not broadcast to [{m}, {n}]"
            ))
        })?;
        for (v, c) in y.iter_mut().zip(c) {
            *v += p.beta * c;
        }
    }
    Ok(y)
}

/// MatMul with numpy semantics; returns the output shape and elements. A 1-D `a` is a row
/// vector and a 1-D `b` a column vector, their added axis removed from the result; leading
/// (batch) axes broadcast.
pub fn matmul(
    a: &[f32],
    a_shape: &[usize],
    b: &[f32],
    b_shape: &[usize],
) -> Result<(Vec<usize>, Vec<f32>), ShapeError> {
    if a_shape.is_empty() || b_shape.is_empty() {
        shape_bail!("MatMul operands must have rank at least 1, got {a_shape:?} and {b_shape:?}");
    }
    let a_mat = promoted(a_shape, true);
    let b_mat = promoted(b_shape, false);
    let (m, k) = (a_mat[a_mat.len() - 2], a_mat[a_mat.len() - 1]);
    let (k2, n) = (b_mat[b_mat.len() - 2], b_mat[b_mat.len() - 1]);
    if k != k2 {
        shape_bail!("MatMul inner dimensions differ: {a_shape:?} × {b_shape:?}");
    }
    if a.len() != element_count(a_shape)? || b.len() != element_count(b_shape)? {
        shape_bail!("MatMul buffers do not match shapes {a_shape:?} and {b_shape:?}");
    }
    let (a_batch, b_batch) = (&a_mat[..a_mat.len() - 2], &b_mat[..b_mat.len() - 2]);
    let batch = broadcast_shapes(a_batch, b_batch)?;
    let (sa, sb) = (
        broadcast_strides(a_batch, &batch),
        broadcast_strides(b_batch, &batch),
    );
    let count = element_count(&batch)?;
    let mut out = vec![0.0; element_count(&[count, m, n])?];
    let mut index = vec![0; batch.len()];
    for item in 0..count {
        // Batch strides count whole matrices.
        let ia: usize = index.iter().zip(&sa).map(|(i, s)| i * s).sum();
        let ib: usize = index.iter().zip(&sb).map(|(i, s)| i * s).sum();
        let a_view = View {
            data: &a[ia * m * k..(ia + 1) * m * k],
            row_stride: k,
            col_stride: 1,
        };
        let b_view = View {
            data: &b[ib * k * n..(ib + 1) * k * n],
            row_stride: n,
            col_stride: 1,
        };
        accumulate_product(
            &mut out[item * m * n..(item + 1) * m * n],
            a_view,
            b_view,
            m,
            n,
            k,
        );
        next_index(&mut index, &batch);
    }
    let mut shape = batch;
    if a_shape.len() > 1 {
        shape.push(m);
    }
    if b_shape.len() > 1 {
        shape.push(n);
    }
    Ok((shape, out))
}

/// The shape of a MatMul operand as a (batch of) matrices: a 1-D `a` becomes `[1, K]`, a 1-D
/// `b` becomes `[K, 1]`.
fn promoted(shape: &[usize], is_left: bool) -> Vec<usize> {
    match (shape, is_left) {
        ([len], true) => vec![1, *len],
        ([len], false) => vec![*len, 1],
        _ => shape.to_vec(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn params(m: usize, n: usize, k: usize, trans_a: bool, trans_b: bool) -> GemmParams {
        GemmParams {
            m,
            n,
            k,
            trans_a,
            trans_b,
            alpha: 1.0,
            beta: 1.0,
        }
    }

    #[test]
    fn gemm_by_hand() {
        // [[1,2],[3,4]] · [[5,6],[7,8]] = [[19,22],[43,50]]; alpha 2, C row [1, 10], beta 0.5.
        let p = GemmParams {
            alpha: 2.0,
            beta: 0.5,
            ..params(2, 2, 2, false, false)
        };
        let y = gemm(
            &p,
            &[1.0, 2.0, 3.0, 4.0],
            &[5.0, 6.0, 7.0, 8.0],
            Some((&[1.0, 10.0], &[2])),
        )
        .unwrap();
        assert_eq!(y, vec![38.5, 49.0, 86.5, 105.0]);
        // C as a column [2, 1] and as a scalar.
        let y = gemm(
            &p,
            &[1.0, 2.0, 3.0, 4.0],
            &[5.0, 6.0, 7.0, 8.0],
            Some((&[2.0, 4.0], &[2, 1])),
        )
        .unwrap();
        assert_eq!(y, vec![39.0, 45.0, 88.0, 102.0]);
        assert!(gemm(&p, &[1.0; 4], &[1.0; 4], Some((&[1.0; 3], &[3]))).is_err());
        assert!(gemm(&p, &[1.0; 3], &[1.0; 4], None).is_err());
    }

    #[test]
    fn matmul_shapes_follow_numpy() {
        let v = [1.0, 2.0, 3.0];
        let (s, y) = matmul(&v, &[3], &v, &[3]).unwrap();
        assert_eq!((s, y), (vec![], vec![14.0]));
        // [2,3] · [3] = [2]
        let (s, y) = matmul(&[1.0, 0.0, 0.0, 0.0, 1.0, 1.0], &[2, 3], &v, &[3]).unwrap();
        assert_eq!((s, y), (vec![2], vec![1.0, 5.0]));
        // [3] · [2,3,1] = [2,1]
        let b: Vec<f32> = (0..6).map(|x| x as f32).collect();
        let (s, y) = matmul(&v, &[3], &b, &[2, 3, 1]).unwrap();
        assert_eq!((s, y), (vec![2, 1], vec![8.0, 26.0]));
        // Batch broadcast: [2,1,2,2] · [3,2,1] → [2,3,2,1]
        let (s, _) = matmul(&[1.0; 8], &[2, 1, 2, 2], &[1.0; 6], &[3, 2, 1]).unwrap();
        assert_eq!(s, vec![2, 3, 2, 1]);
        assert!(matmul(&v, &[3], &[1.0; 4], &[4]).is_err());
        assert!(matmul(&[1.0], &[], &v, &[3]).is_err());
    }

    fn transpose(x: &[f32], rows: usize, cols: usize) -> Vec<f32> {
        let mut t = vec![0.0; x.len()];
        for r in 0..rows {
            for c in 0..cols {
                t[c * rows + r] = x[r * cols + c];
            }
        }
        t
    }

    proptest! {
        #[test]
        fn gemm_transposes_equal_explicit_transposes(
            m in 1..6usize, n in 1..6usize, k in 1..6usize,
            trans_a: bool, trans_b: bool, seed in any::<u64>(),
        ) {
            let fill = |len: usize, salt: u64| -> Vec<f32> {
                (0..len).map(|i| (((i as u64 * 7919 + seed + salt) % 17) as f32) - 8.0).collect()
            };
            let (a, b) = (fill(m * k, 1), fill(k * n, 2));
            let a_stored = if trans_a { transpose(&a, m, k) } else { a.clone() };
            let b_stored = if trans_b { transpose(&b, k, n) } else { b.clone() };
            let c = fill(n, 3);
            let p = GemmParams { alpha: 0.5, beta: 2.0, ..params(m, n, k, trans_a, trans_b) };
            let got = gemm(&p, &a_stored, &b_stored, Some((&c, &[n]))).unwrap();
            let plain = GemmParams { alpha: 0.5, beta: 2.0, ..params(m, n, k, false, false) };
            let want = gemm(&plain, &a, &b, Some((&c, &[n]))).unwrap();
            // Small integers: every product and sum is exact.
            prop_assert_eq!(got, want);
        }

        #[test]
        fn batched_matmul_equals_per_item_matmul(
            batch in 1..4usize, m in 1..4usize, n in 1..4usize, k in 1..4usize,
        ) {
            let a: Vec<f32> = (0..batch * m * k).map(|i| (i % 5) as f32).collect();
            let b: Vec<f32> = (0..k * n).map(|i| (i % 3) as f32 - 1.0).collect();
            let (shape, y) = matmul(&a, &[batch, m, k], &b, &[k, n]).unwrap();
            prop_assert_eq!(shape, vec![batch, m, n]);
            for i in 0..batch {
                let (_, yi) = matmul(&a[i * m * k..(i + 1) * m * k], &[m, k], &b, &[k, n]).unwrap();
                prop_assert_eq!(&y[i * m * n..(i + 1) * m * n], &yi[..]);
            }
        }
    }
}
