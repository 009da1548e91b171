//! The one place where SSH and SFTP failures become [`SourceError`]s, in the deployer's terms:
//! network trouble is `Unreachable` (retried), a refusal is `Refused` (not retried), a missing
//! file is `NotFound`.

use std::io;

use russh_sftp::client::error::Error as SftpError;
use russh_sftp::protocol::StatusCode;

use crate::source::{SourceError, SourceErrorKind};

/// A failure of the SSH connection itself (connect, key exchange, authentication, channel).
pub fn ssh(target: &str, doing: &str, e: &russh::Error) -> SourceError {
    use russh::Error as E;
    let kind = match e {
        E::IO(_)
        | E::Disconnect
        | E::HUP
        | E::ConnectionTimeout
        | E::KeepaliveTimeout
        | E::InactivityTimeout
        | E::SendError
        | E::RecvError
        | E::Elapsed(_) => SourceErrorKind::Unreachable,
        E::UnknownKey | E::KeyChanged { .. } | E::WrongServerSig => SourceErrorKind::Refused,
        _ => SourceErrorKind::Other,
    };
    SourceError::new(kind, format!("{target}: {doing}: {e}"))
}

/// A failed SFTP request about `path`.
pub fn sftp(target: &str, path: &str, e: &SftpError) -> SourceError {
    let kind = match e {
        SftpError::Status(status) => match status.status_code {
            StatusCode::NoSuchFile => SourceErrorKind::NotFound,
            StatusCode::PermissionDenied => SourceErrorKind::Refused,
            StatusCode::NoConnection | StatusCode::ConnectionLost => SourceErrorKind::Unreachable,
            _ => SourceErrorKind::Other,
        },
        // The channel under the SFTP session is gone or silent: the connection dropped.
        SftpError::IO(_) | SftpError::Timeout | SftpError::UnexpectedBehavior(_) => {
            SourceErrorKind::Unreachable
        }
        SftpError::Limited(_) | SftpError::UnexpectedPacket => SourceErrorKind::Other,
    };
    SourceError::new(kind, format!("{target}:{path}: {e}"))
}

/// A failed read from an open remote file. The SFTP file reports through `io::Error`; the
/// SFTP error inside (if any) says what happened, anything else is the connection failing.
pub fn read(target: &str, path: &str, offset: u64, e: &io::Error) -> SourceError {
    if let Some(inner) = e.get_ref().and_then(|i| i.downcast_ref::<SftpError>()) {
        let mut err = sftp(target, path, inner);
        err.message = format!("{} (at byte {offset})", err.message);
        return err;
    }
    SourceError::new(
        SourceErrorKind::Unreachable,
        format!("{target}:{path}: transfer interrupted at byte {offset}: {e}"),
    )
}
