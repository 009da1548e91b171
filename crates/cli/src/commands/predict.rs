//! `litecnn predict MODEL IMAGE...` (being written).

use crate::cli::PredictArgs;

pub fn predict(_args: &PredictArgs) -> anyhow::Result<()> {
    anyhow::bail!("predict is not implemented yet")
}
