//! Gemm and MatMul.

use litecnn_engine::Op;

use super::{Lowered, NodeCtx};
use crate::error::LoadError;

/// Gemm: A, B, [C]; alpha and beta default to 1.
pub fn gemm(ctx: &NodeCtx) -> Result<Lowered, LoadError> {
    ctx.inputs(2, 3)?;
    ctx.outputs(1)?;
    let mut a = ctx.attrs()?;
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
    fn matmul_takes_two_inputs() {
        assert_eq!(
            op_of(lower("MatMul", 13, 2, 1, vec![]).unwrap()),
            Op::MatMul
        );
        assert!(lower("MatMul", 13, 3, 1, vec![]).is_err());
    }
}
