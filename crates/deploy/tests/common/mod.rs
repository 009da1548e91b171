//! Real servers for the remote-source tests, on 127.0.0.1 only, started by the tests and
//! stopped by PID: OpenSSH's sshd (SFTP), SeaweedFS (S3) and a small HTTP file server.

#![allow(dead_code)] // each test binary uses its own subset

pub mod http_server;
pub mod process;
pub mod sshd;
pub mod weed;

use std::io::Write;
use std::net::TcpListener;

use litecnn_bundle::digest::{sha256, to_hex};

/// A port nothing listens on right now (the OS picks it; we release it for the server).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("no free loopback port")
}

/// `len` bytes that differ at every position, so an offset mistake changes the digest.
pub fn pattern_bytes(len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u32).wrapping_mul(2_654_435_761).rotate_right(13) as u8)
        .collect()
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    to_hex(&sha256(bytes))
}

/// A `Write` into memory that can run `hook` once, when `trigger_at` bytes have arrived
/// (used to kill a server in the middle of a transfer).
pub struct HookedSink<F: FnMut()> {
    pub bytes: Vec<u8>,
    pub trigger_at: usize,
    pub hook: Option<F>,
}

impl<F: FnMut()> Write for HookedSink<F> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.bytes.extend_from_slice(buf);
        if self.bytes.len() >= self.trigger_at
            && let Some(mut hook) = self.hook.take()
        {
            hook();
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
