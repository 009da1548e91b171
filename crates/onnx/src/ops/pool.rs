//! MaxPool, AveragePool and the global pools.

use litecnn_engine::Op;
use litecnn_engine::ir::PoolAttrs;

use super::window::window;
use super::{Lowered, NodeCtx};
use crate::attrs::Attrs;
use crate::error::{LoadError, bail};

/// MaxPool: only the values (output 0); the Indices output must be unused.
pub fn max_pool(ctx: &NodeCtx) -> Result<Lowered, LoadError> {
    ctx.inputs(1, 1)?;
    ctx.outputs(2)?;
    ctx.unused_from(1, "Indices")?;
    let mut a = ctx.attrs()?;
    let pool = pool_attrs(&mut a)?;
    // storage_order only changes the Indices output, which is never computed; litecnn still
    // rejects the column-major form so that no one relies on it.
    let storage_order = a.int_or("storage_order", 0)?;
    a.finish()?;
    if storage_order != 0 {
        bail!(
            UnsupportedAttribute,
            "unsupported attribute value storage_order={storage_order}"
        );
    }
    Ok(Lowered::same_inputs(Op::MaxPool(pool), ctx))
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

    #[test]
    fn max_pool_needs_kernel_and_rejects_used_indices() {
        assert!(lower("MaxPool", 13, 1, 1, vec![]).is_err());
        let k = || vec![attr_ints("kernel_shape", &[2, 2])];
        let e = lower("MaxPool", 13, 1, 2, k()).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::UnsupportedFeature);
        assert!(e.message().contains("Indices"), "{e}");
        let mut attrs = k();
        attrs.push(attr_int("storage_order", 1));
        let e = lower("MaxPool", 13, 1, 1, attrs).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::UnsupportedAttribute);
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
