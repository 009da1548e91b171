//! Gemm and MatMul.

use litecnn_engine::Op;

use super::{Lowered, NodeCtx};
use crate::error::LoadError;

/// Gemm: A, B, [C]; alpha and beta default to 1.
pub fn gemm(ctx: &NodeCtx) -> Result<Lowered, LoadError> {
    ctx.inputs(2, 3)?;
    ctx.outputs(1)?;
    let mut a = ctx.attrs()?;
    if ctx.opset_below(7) {
        // `broadcast=1` let C broadcast to [M, N]; without it C already is [M, N]. Both are
        // cases of the numpy broadcasting that Gemm uses from opset 7.
        a.bool_or("broadcast", false)?;
    }
    let op = Op::Gemm {
        alpha: a.float_or("alpha", 1.0)?,
        beta: a.float_or("beta", 1.0)?,
        trans_a: a.bool_or("transA", false)?,
        trans_b: a.bool_or("transB", false)?,
    };
    a.finish()?;
    Ok(Lowered::same_inputs(op, ctx))
}

pub fn matmul(ctx: &NodeCtx) -> Result<Lowered, LoadError> {
    ctx.inputs(2, 2)?;
    ctx.outputs(1)?;
    ctx.attrs()?.finish()?;
    Ok(Lowered::same_inputs(Op::MatMul, ctx))
}

#[cfg(test)]
mod tests {
    use super::super::testing::{lower, op_of};
    use super::*;
    use crate::builder::{attr_float, attr_int};

    #[test]
    fn gemm_defaults_and_flags() {
        let op = op_of(
            lower(
                "Gemm",
                13,
                3,
                1,
                vec![attr_int("transB", 1), attr_float("beta", 0.5)],
            )
            .unwrap(),
        );
        let want = Op::Gemm {
            alpha: 1.0,
            beta: 0.5,
            trans_a: false,
            trans_b: true,
        };
        assert_eq!(op, want);
    }

    #[test]
    fn old_gemm_broadcast_flag_changes_nothing() {
        let plain = lower("Gemm", 13, 3, 1, vec![]).unwrap();
        for b in [0, 1] {
            assert_eq!(
                lower("Gemm", 6, 3, 1, vec![attr_int("broadcast", b)]).unwrap(),
                plain
            );
        }
        assert!(lower("Gemm", 7, 3, 1, vec![attr_int("broadcast", 1)]).is_err());
    }

    #[test]
    fn matmul_takes_two_inputs() {
        assert_eq!(
            op_of(lower("MatMul", 13, 2, 1, vec![]).unwrap()),
            Op::MatMul
        );
        assert!(lower("MatMul", 13, 3, 1, vec![]).is_err());
    }
}
