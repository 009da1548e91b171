//! SHA-256 as litecnn writes it: lowercase hex for files, `sha256:<hex>` for bundle digests
//! (DESIGN §9). Files are hashed in chunks so a large model never sits in memory twice.

use std::fmt;
use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use serde::{Serialize, Serializer};
use sha2::{Digest as _, Sha256};

/// A bundle's identity: the SHA-256 of its `SHA256SUMS` file, shown as `sha256:<hex>`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Digest {
    hex: String,
}

impl Digest {
    /// The digest of `bytes` (for a bundle: the bytes of `SHA256SUMS`).
    pub fn of(bytes: &[u8]) -> Digest {
        Digest {
            hex: to_hex(&sha256(bytes)),
        }
    }

    /// Parses `sha256:<64 lowercase or uppercase hex>`; anything else is `None`.
    pub fn parse(text: &str) -> Option<Digest> {
        let hex = text.strip_prefix("sha256:")?;
        parse_hex32(hex).map(|bytes| Digest {
            hex: to_hex(&bytes),
        })
    }

    /// The 64 lowercase hex digits, without the `sha256:` prefix.
    pub fn hex(&self) -> &str {
        &self.hex
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sha256:{}", self.hex)
    }
}

impl Serialize for Digest {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// Hashes a file without reading it into memory at once.
pub fn sha256_file(path: &Path) -> io::Result<[u8; 32]> {
    let mut file = File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        match file.read(&mut buf) {
            Ok(0) => return Ok(hasher.finalize().into()),
            Ok(n) => hasher.update(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

pub fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Parses exactly 64 hex digits (either case), as `sha256sum -c` accepts them.
pub fn parse_hex32(text: &str) -> Option<[u8; 32]> {
    // `from_str_radix` alone would accept a leading `+`.
    if text.len() != 64 || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let mut out = [0u8; 32];
    for (byte, pair) in out.iter_mut().zip(text.as_bytes().chunks_exact(2)) {
        let pair = std::str::from_utf8(pair).ok()?;
        *byte = u8::from_str_radix(pair, 16).ok()?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_of_known_bytes() {
        // `printf abc | sha256sum`
        let abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
        assert_eq!(Digest::of(b"abc").to_string(), format!("sha256:{abc}"));
        let upper = format!("sha256:{}", abc.to_uppercase());
        assert_eq!(Digest::parse(&upper), Some(Digest::of(b"abc")));
        for bad in ["", "sha256:", "md5:00", &format!("sha256:{abc}0"), abc] {
            assert_eq!(Digest::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn hex_rejects_signs_and_odd_characters() {
        assert!(parse_hex32(&"+1".repeat(32)).is_none());
        assert!(parse_hex32(&"g0".repeat(32)).is_none());
        assert_eq!(parse_hex32(&"ff".repeat(32)), Some([255; 32]));
    }
}
