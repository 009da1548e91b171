//! `litecnn verify BUNDLE [--pubkey KEY]` — every check of a bundle, one line each; exit 0
//! when all pass, 3 (a rejection) at the first failure (DESIGN §3).

use anyhow::{Context, bail};
use litecnn_bundle::PublicKey;

use super::Rejected;
use crate::cli::VerifyArgs;

pub fn verify(args: &VerifyArgs) -> anyhow::Result<()> {
    let dir = &args.bundle;
    // A path that is not even a directory is a usage mistake, not a rejected candidate.
    if !dir.is_dir() {
        bail!(
            "{} is not a directory; verify takes a bundle directory",
            dir.display()
        );
    }
    let key = match &args.pubkey {
        Some(arg) => Some(PublicKey::from_arg(arg).context("bad --pubkey")?),
        None => None,
    };
    let outcome = litecnn_bundle::verify(dir, key.as_ref());
    print!("{}", outcome.report);
    match outcome.result {
        Ok(v) => {
            let m = v.bundle.manifest();
            println!("verified: {} {} {}", m.name, m.version, v.bundle.digest());
            Ok(())
        }
        Err(e) => Err(Rejected(format!("bundle {} rejected: {e}", dir.display())).into()),
    }
}
