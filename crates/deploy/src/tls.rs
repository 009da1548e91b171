//! One TLS crypto provider for the whole binary: ring (it builds with only a C compiler;
//! aws-lc-rs would need more). rustls needs it installed once before any client is built.

/// Installs ring as the process's rustls provider; later calls (and a provider installed by
/// someone else first) are fine.
pub fn ensure_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}
