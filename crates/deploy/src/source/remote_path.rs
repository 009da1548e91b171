//! Root-relative paths for remote sources. The names come from files at the source (`LATEST`,
//! `SHA256SUMS`), so a hostile source could name `../../etc/shadow`: every remote source joins
//! through [`remote_join`], which refuses anything but plain `/`-separated names.

use super::{SourceError, SourceErrorKind};

/// `root` + `/` + `rel`, after checking that `rel` stays under `root`. `root` is kept as given
/// (an SFTP directory, an S3 prefix, a URL ending in `/`); `""` as `rel` is the root itself.
pub fn remote_join(root: &str, rel: &str) -> Result<String, SourceError> {
    if rel
        .split('/')
        .any(|part| part == ".." || part.contains('\\') || part.contains('\0'))
        || rel.starts_with('/')
    {
        return Err(SourceError::new(
            SourceErrorKind::Other,
            format!("{rel}: path leaves the source directory"),
        ));
    }
    let rel = rel.trim_matches('/');
    Ok(match (root.is_empty(), rel.is_empty()) {
        (_, true) => root.to_owned(),
        (true, false) => rel.to_owned(),
        (false, false) => format!("{}/{rel}", root.trim_end_matches('/')),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joins_plain_names_and_refuses_escapes() {
        assert_eq!(
            remote_join("/srv/repo", "v1/model.onnx").unwrap(),
            "/srv/repo/v1/model.onnx"
        );
        assert_eq!(
            remote_join("/srv/repo/", "LATEST").unwrap(),
            "/srv/repo/LATEST"
        );
        assert_eq!(remote_join("/", "x").unwrap(), "/x");
        assert_eq!(remote_join("", "x").unwrap(), "x");
        assert_eq!(remote_join("/srv/repo", "").unwrap(), "/srv/repo");
        for bad in ["../x", "v1/../../x", "/etc/passwd", "a\\..\\b"] {
            let err = remote_join("/srv/repo", bad).unwrap_err();
            assert!(err.message.contains("leaves the source"), "{bad}: {err}");
        }
    }
}
