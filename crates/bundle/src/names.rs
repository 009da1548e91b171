//! What a name in a bundle or a repository may look like. These names become path components
//! (`<repo>/<name>/<version>/`, `<bundle>/<file>`), so anything that could climb out of a
//! directory or need quoting is refused here, once, for every reader.

use crate::checksums::{SIGNATURE_FILE, SUMS_FILE};

/// Longest accepted model name or version.
pub const MAX_NAME_LEN: usize = 128;

/// A file name directly inside the bundle directory: no separator, not `.`/`..`, no NUL, and
/// neither `SHA256SUMS` nor its signature (they cannot list or describe themselves).
pub fn is_plain_file_name(name: &str) -> bool {
    !name.is_empty()
        && name != "."
        && name != ".."
        && !name.contains(['/', '\\', '\0'])
        && name != SUMS_FILE
        && name != SIGNATURE_FILE
}

/// A model name or version: 1–128 characters of `[A-Za-z0-9._-]`, starting with a letter or
/// digit (so never `.`, `..` or a hidden file). `YYYYMMDDTHHMMSSZ-3f9a1c` fits.
pub fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && name.len() <= MAX_NAME_LEN
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

/// Drops a leading UTF-8 byte-order mark, which editors on Windows like to add (DESIGN §9).
pub fn strip_bom(bytes: &[u8]) -> &[u8] {
    bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_stay_inside_the_directory() {
        for ok in ["model.onnx", "golden.safetensors", ".hidden", "a..b"] {
            assert!(is_plain_file_name(ok), "{ok}");
        }
        for bad in [
            "",
            ".",
            "..",
            "../x",
            "a/b",
            "/etc/passwd",
            "a\\b",
            "a\0",
            SUMS_FILE,
        ] {
            assert!(!is_plain_file_name(bad), "{bad:?}");
        }
    }

    #[test]
    fn identifiers_are_safe_path_components() {
        for ok in ["dog-breeds", "20261126T061200Z-3f9a1c", "v1.2_rc3", "7"] {
            assert!(is_identifier(ok), "{ok}");
        }
        let long = "a".repeat(MAX_NAME_LEN + 1);
        for bad in ["", ".", "..", ".v1", "-x", "a b", "a/b", "é", long.as_str()] {
            assert!(!is_identifier(bad), "{bad:?}");
        }
    }
}
