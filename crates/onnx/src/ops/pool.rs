//! MaxPool, AveragePool and the global pools.

use litecnn_engine::Op;
use litecnn_engine::ir::PoolAttrs;

use super::window::window;
use super::{Lowered, NodeCtx, Operand};
use crate::attrs::Attrs;
use crate::error::{LoadError, bail};

/// MaxPool: Y, [Indices]. The engine computes Indices only when something uses them.
pub fn max_pool(ctx: &NodeCtx) -> Result<Lowered, LoadError> {
    ctx.inputs(1, 1)?;
    ctx.outputs(2)?;
    let mut a = ctx.attrs()?;
    let pool = pool_attrs(&mut a)?;
    let column_major = a.bool_or("storage_order", false)?;
    a.finish()?;
    let indices_used = ctx.outputs_used.get(1) == Some(&true);
    // storage_order only changes Indices. The IR has no field for it yet, so the engine's
    // indices are row-major; the column-major ones are refused rather than given wrong.
    if column_major && indices_used {
        bail!(
            UnsupportedAttribute,
            "unsupported attribute value storage_order=1 with the Indices output used \
             (litecnn computes row-major indices only)"
        );
    }
    Ok(Lowered::Node {
        op: Op::MaxPool(pool),
        inputs: vec![Operand::Input(0)],
        outputs: if indices_used { 2 } else { 1 },
    })
}

pub fn average_pool(ctx: &NodeCtx) -> Result<Lowered, LoadError> {
    ctx.inputs(1, 1)?;
    ctx.outputs(1)?;
    let mut a = ctx.attrs()?;
    let pool = pool_attrs(&mut a)?;
    let count_include_pad = a.bool_or("count_include_pad", false)?;
    a.finish()?;
    let op = Op::AveragePool {
        pool,
        count_include_pad,
    };
    Ok(Lowered::same_inputs(op, ctx))
}

/// GlobalAveragePool and GlobalMaxPool: no attributes.
pub fn global_pool(ctx: &NodeCtx) -> Result<Lowered, LoadError> {
    ctx.inputs(1, 1)?;
    ctx.outputs(1)?;
    ctx.attrs()?.finish()?;
    let op = match ctx.op_type {
        "GlobalMaxPool" => Op::GlobalMaxPool,
        _ => Op::GlobalAveragePool,
    };
    Ok(Lowered::same_inputs(op, ctx))
}

fn pool_attrs(a: &mut Attrs) -> Result<PoolAttrs, LoadError> {
    Ok(PoolAttrs {
        window: window(a, true)?,
        ceil_mode: a.bool_or("ceil_mode", false)?,
    })
}

#[cfg(test)]
mod tests {
    use super::super::testing::{lower, op_of};
    use super::*;
    use crate::builder::{attr_int, attr_ints};
    use crate::error::ErrorKind;

    #[test]
    fn average_pool_flags() {
        let attrs = vec![
            attr_ints("kernel_shape", &[2, 2]),
            attr_int("count_include_pad", 1),
            attr_int("ceil_mode", 1),
        ];
        let op = op_of(lower("AveragePool", 19, 1, 1, attrs).unwrap());
        let Op::AveragePool {
            pool,
            count_include_pad,
        } = op
        else {
            panic!("not an average pool")
        };
        assert!(count_include_pad && pool.ceil_mode);
    }

    fn outputs_of(l: Lowered) -> usize {
        match l {
            Lowered::Node { outputs, .. } => outputs,
            Lowered::Constant(_) => panic!("not a node"),
        }
    }

    #[test]
    fn max_pool_needs_kernel_and_computes_used_indices() {
        assert!(lower("MaxPool", 13, 1, 1, vec![]).is_err());
        let k = || vec![attr_ints("kernel_shape", &[2, 2])];
        assert_eq!(outputs_of(lower("MaxPool", 13, 1, 2, k()).unwrap()), 2);
        assert_eq!(outputs_of(lower("MaxPool", 13, 1, 1, k()).unwrap()), 1);
    }

    #[test]
    fn column_major_indices_are_refused_only_when_used() {
        let mut attrs = vec![attr_ints("kernel_shape", &[2, 2])];
        attrs.push(attr_int("storage_order", 1));
        assert_eq!(
            outputs_of(lower("MaxPool", 13, 1, 1, attrs.clone()).unwrap()),
            1
        );
        let e = lower("MaxPool", 13, 1, 2, attrs).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::UnsupportedAttribute);
        assert!(e.message().contains("storage_order"), "{e}");
    }

    #[test]
    fn global_pools() {
        assert_eq!(
            op_of(lower("GlobalMaxPool", 13, 1, 1, vec![]).unwrap()),
            Op::GlobalMaxPool
        );
        assert_eq!(
            op_of(lower("GlobalAveragePool", 13, 1, 1, vec![]).unwrap()),
            Op::GlobalAveragePool
        );
    }
}
