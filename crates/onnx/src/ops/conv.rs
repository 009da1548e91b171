//! Conv: X, W, [B] with the window attributes and `group`.

use litecnn_engine::Op;
use litecnn_engine::ir::ConvAttrs;

use super::window::window;
use super::{Lowered, NodeCtx};
use crate::error::{LoadError, bail};

pub fn conv(ctx: &NodeCtx) -> Result<Lowered, LoadError> {
    ctx.inputs(2, 3)?;
    ctx.outputs(1)?;
    let mut a = ctx.attrs()?;
    let window = window(&mut a, false)?;
    let group = a.int_or("group", 1)?;
    a.finish()?;
    let group = match usize::try_from(group) {
        Ok(g) if g > 0 => g,
        _ => bail!(
            Malformed,
            "attribute \"group\" must be positive, got {group}"
        ),
    };
    Ok(Lowered::same_inputs(
        Op::Conv(ConvAttrs { window, group }),
        ctx,
    ))
}

#[cfg(test)]
mod tests {
    use super::super::testing::{lower, op_of};
    use super::*;
    use crate::builder::{attr_int, attr_ints};
    use crate::error::ErrorKind;

    #[test]
    fn reads_group_and_window() {
        let attrs = vec![attr_int("group", 4), attr_ints("kernel_shape", &[3, 3])];
        let Op::Conv(c) = op_of(lower("Conv", 13, 3, 1, attrs).unwrap()) else {
            panic!("not a conv")
        };
        assert_eq!(c.group, 4);
        assert_eq!(c.window.kernel_shape, Some(vec![3, 3]));
    }

    #[test]
    fn unknown_attribute_is_named() {
        let e = lower("Conv", 13, 2, 1, vec![attr_int("foo", 1)]).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::UnsupportedAttribute);
        assert_eq!(e.message(), "unsupported attribute \"foo\"");
    }

    #[test]
    fn input_count_is_checked() {
        assert!(lower("Conv", 13, 1, 1, vec![]).is_err());
        assert!(lower("Conv", 13, 4, 1, vec![]).is_err());
    }
}
