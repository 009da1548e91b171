//! HTTPS (DESIGN §5 `--tls-cert/--tls-key`): PEM files read once at start-up into a rustls
//! server configuration on the ring provider. Every way the files can be wrong is an error that
//! names the file, so a typo in a service unit shows up as one clear line, not a panic.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::ServerConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// The two PEM files: a certificate chain (leaf first) and its private key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("{}: cannot read: {cause}", path.display())]
    Read {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("{}: not a PEM certificate chain: {cause}", path.display())]
    BadCertificate {
        path: PathBuf,
        cause: rustls::pki_types::pem::Error,
    },
    #[error("{}: holds no certificate (expected -----BEGIN CERTIFICATE-----)", path.display())]
    NoCertificate { path: PathBuf },
    #[error(
        "{}: holds no usable private key (expected a PEM PKCS#8, PKCS#1 or SEC1 key): {cause}",
        path.display()
    )]
    BadKey {
        path: PathBuf,
        cause: rustls::pki_types::pem::Error,
    },
    #[error("{} and {} do not make a usable pair: {cause}", cert.display(), key.display())]
    Rejected {
        cert: PathBuf,
        key: PathBuf,
        cause: rustls::Error,
    },
}

/// Reads and checks both files (the key must match the certificate) and builds the server
/// configuration, offering HTTP/2 and HTTP/1.1 through ALPN.
pub fn server_config(files: &TlsFiles) -> Result<Arc<ServerConfig>, TlsError> {
    let certs = read_certs(&files.cert)?;
    let key = read_key(&files.key)?;
    let rejected = |cause| TlsError::Rejected {
        cert: files.cert.clone(),
        key: files.key.clone(),
        cause,
    };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(rejected)?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(rejected)?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

fn read(path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|cause| TlsError::Read {
        path: path.to_owned(),
        cause,
    })
}

fn read_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let certs = CertificateDer::pem_slice_iter(&read(path)?)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|cause| TlsError::BadCertificate {
            path: path.to_owned(),
            cause,
        })?;
    if certs.is_empty() {
        return Err(TlsError::NoCertificate {
            path: path.to_owned(),
        });
    }
    Ok(certs)
}

fn read_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    PrivateKeyDer::from_pem_slice(&read(path)?).map_err(|cause| TlsError::BadKey {
        path: path.to_owned(),
        cause,
    })
}
