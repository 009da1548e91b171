//! The remote sources (DESIGN §3 SOURCE) against real servers on 127.0.0.1: OpenSSH's sshd
//! for `ssh://`, SeaweedFS for `s3://`, a small file server thread for `http://`; and whole
//! deploy attempts through SFTP and HTTP.

#[path = "../common/mod.rs"]
mod common;

mod deploy_over_http;
mod deploy_over_ssh;
mod http;
mod s3;
mod ssh;

use litecnn_deploy::source::{self, Source, SourceError, SourceOptions, SourceSpec};

/// Opens SOURCE the way the deployer does.
fn open(source: &str, options: &SourceOptions) -> Box<dyn Source> {
    let spec = SourceSpec::parse(source, false).unwrap();
    source::open(&spec, options).unwrap()
}

/// The whole file from `offset`, and the last progress figure reported.
fn fetch(source: &mut dyn Source, path: &str, offset: u64) -> Result<(Vec<u8>, u64), SourceError> {
    let mut out = Vec::new();
    let mut last = 0;
    let n = source.fetch(path, offset, &mut out, &mut |done| last = done)?;
    assert_eq!(n, out.len() as u64, "fetch must return the bytes it wrote");
    Ok((out, last))
}
