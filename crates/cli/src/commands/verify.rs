//! `litecnn verify BUNDLE [--pubkey KEY]` (being written).

use crate::cli::VerifyArgs;

pub fn verify(_args: &VerifyArgs) -> anyhow::Result<()> {
    anyhow::bail!("verify is not implemented yet")
}
