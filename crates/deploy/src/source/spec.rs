//! Parsing a SOURCE argument (DESIGN §3) into where to connect and which directory is the
//! root, and opening the matching [`Source`].

use std::path::PathBuf;

use super::{HttpSource, LocalSource, S3Source, Source, SourceError, SourceErrorKind, SshSource};

/// A parsed SOURCE.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceSpec {
    pub location: Location,
    /// With `--convert`: the checkpoint file name or glob (last path component); the
    /// location's path is then its directory.
    pub pattern: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Location {
    Local {
        dir: PathBuf,
    },
    Ssh {
        user: Option<String>,
        host: String,
        port: u16,
        dir: String,
    },
    S3 {
        bucket: String,
        prefix: String,
    },
    Http {
        /// The directory URL, ending in `/`.
        base: String,
    },
}

/// How to reach sources that need more than a path.
#[derive(Clone, Debug, Default)]
pub struct SourceOptions {
    pub ssh_key: Option<PathBuf>,
    pub known_hosts: Option<PathBuf>,
    pub accept_new_host_key: bool,
}

impl SourceSpec {
    /// Parses SOURCE; `checkpoint` (set by `--convert`) splits off the last path component as
    /// the checkpoint file name or glob.
    pub fn parse(source: &str, checkpoint: bool) -> Result<SourceSpec, SourceError> {
        let bad = |why: &str| {
            SourceError::new(
                SourceErrorKind::Other,
                format!("bad SOURCE {source:?}: {why}"),
            )
        };
        if source.trim().is_empty() {
            return Err(bad("empty"));
        }
        let (path, rebuild): (String, Box<dyn Fn(String) -> Location>) = if let Some(rest) =
            source.strip_prefix("ssh://")
        {
            let (authority, path) = rest.split_once('/').ok_or_else(|| {
                bad("expected ssh://[user@]host[:port]/path (the path is required)")
            })?;
            let (user, hostport) = match authority.rsplit_once('@') {
                Some((user, hostport)) => (Some(user.to_owned()), hostport),
                None => (None, authority),
            };
            if user.as_deref().is_some_and(|u| u.contains(':')) {
                return Err(bad(
                    "passwords are never accepted in a SOURCE; use a key (--ssh-key or ssh-agent)",
                ));
            }
            let (host, port) = split_port(hostport).ok_or_else(|| bad("bad port"))?;
            if host.is_empty() {
                return Err(bad("no host"));
            }
            let host = host.to_owned();
            (
                format!("/{path}"),
                Box::new(move |dir| Location::Ssh {
                    user: user.clone(),
                    host: host.clone(),
                    port,
                    dir,
                }),
            )
        } else if let Some(rest) = source.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            if bucket.is_empty() {
                return Err(bad("no bucket"));
            }
            let bucket = bucket.to_owned();
            (
                prefix.to_owned(),
                Box::new(move |prefix| Location::S3 {
                    bucket: bucket.clone(),
                    prefix,
                }),
            )
        } else if source.starts_with("http://") || source.starts_with("https://") {
            (
                source.to_owned(),
                Box::new(|base| Location::Http {
                    base: if base.ends_with('/') {
                        base
                    } else {
                        format!("{base}/")
                    },
                }),
            )
        } else if let Some(rest) = source.strip_prefix("file://") {
            if !rest.starts_with('/') {
                return Err(bad("expected file:///absolute/path"));
            }
            (
                rest.to_owned(),
                Box::new(|dir| Location::Local { dir: dir.into() }),
            )
        } else if source.contains("://") {
            return Err(bad(
                "unknown scheme (file://, ssh://, s3://, http(s):// or a path)",
            ));
        } else {
            (
                source.to_owned(),
                Box::new(|dir| Location::Local { dir: dir.into() }),
            )
        };
        if !checkpoint {
            return Ok(SourceSpec {
                location: rebuild(path.trim_end_matches('/').to_owned()),
                pattern: None,
            });
        }
        // A trailing `/` names a directory, never a checkpoint file.
        let (dir, name) = match path.rsplit_once('/') {
            Some((dir, name)) => (dir.to_owned(), name.to_owned()),
            None => (String::new(), path.clone()),
        };
        if name.is_empty() {
            return Err(bad(
                "--convert needs a checkpoint file or glob, not a directory",
            ));
        }
        if dir.contains(['*', '?', '[']) {
            return Err(bad(
                "only the file name of a checkpoint path may hold wildcards",
            ));
        }
        let dir = match (
            &dir[..],
            source.starts_with("ssh://") || source.starts_with('/'),
        ) {
            ("", true) => "/".to_owned(),
            ("", false) => ".".to_owned(),
            _ => dir,
        };
        let location = match rebuild(dir) {
            Location::S3 { bucket, prefix } if prefix == "." => Location::S3 {
                bucket,
                prefix: String::new(),
            },
            other => other,
        };
        Ok(SourceSpec {
            location,
            pattern: Some(name),
        })
    }
}

fn split_port(hostport: &str) -> Option<(&str, u16)> {
    match hostport.rsplit_once(':') {
        Some((host, port)) => port.parse().ok().map(|p| (host, p)),
        None => Some((hostport, 22)),
    }
}

/// Opens the source `spec` names. Remote sources connect lazily, on their first call.
pub fn open(spec: &SourceSpec, options: &SourceOptions) -> Result<Box<dyn Source>, SourceError> {
    Ok(match &spec.location {
        Location::Local { dir } => Box::new(LocalSource::open(dir)?),
        Location::Ssh {
            user,
            host,
            port,
            dir,
        } => Box::new(SshSource::new(user.as_deref(), host, *port, dir, options)?),
        Location::S3 { bucket, prefix } => Box::new(S3Source::from_env(bucket, prefix)?),
        Location::Http { base } => Box::new(HttpSource::new(base)?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_scheme() {
        let ssh = SourceSpec::parse("ssh://gpu@10.0.0.5:2222/srv/models/dogs", false).unwrap();
        assert_eq!(
            ssh.location,
            Location::Ssh {
                user: Some("gpu".into()),
                host: "10.0.0.5".into(),
                port: 2222,
                dir: "/srv/models/dogs".into()
            }
        );
        let s3 = SourceSpec::parse("s3://bucket/models/dogs/", false).unwrap();
        assert_eq!(
            s3.location,
            Location::S3 {
                bucket: "bucket".into(),
                prefix: "models/dogs".into()
            }
        );
        let http = SourceSpec::parse("http://127.0.0.1:9000/models/dogs", false).unwrap();
        assert_eq!(
            http.location,
            Location::Http {
                base: "http://127.0.0.1:9000/models/dogs/".into()
            }
        );
        let file = SourceSpec::parse("file:///srv/models", false).unwrap();
        assert_eq!(
            file.location,
            Location::Local {
                dir: "/srv/models".into()
            }
        );
    }

    #[test]
    fn checkpoint_mode_splits_the_file_name() {
        let spec = SourceSpec::parse("ssh://h/ckpt/*_best.pth", true).unwrap();
        assert_eq!(spec.pattern.as_deref(), Some("*_best.pth"));
        assert!(matches!(spec.location, Location::Ssh { ref dir, port: 22, .. } if dir == "/ckpt"));
        let local = SourceSpec::parse("best.pth", true).unwrap();
        assert_eq!(local.location, Location::Local { dir: ".".into() });
        let s3 = SourceSpec::parse("s3://b/best.pth", true).unwrap();
        assert_eq!(
            s3.location,
            Location::S3 {
                bucket: "b".into(),
                prefix: String::new()
            }
        );
    }

    #[test]
    fn refuses_passwords_and_nonsense() {
        for bad in [
            "ssh://u:pw@h/x",
            "ssh://h",
            "s3:///x",
            "ftp://h/x",
            "file://rel",
            "",
        ] {
            assert!(SourceSpec::parse(bad, false).is_err(), "{bad}");
        }
        assert!(SourceSpec::parse("/ckpt/*/x.pth", true).is_err());
        assert!(SourceSpec::parse("/ckpt/", true).is_err());
    }
}
