//! `s3://bucket/prefix`: objects of an S3-compatible store through `object_store` (SigV4 on
//! ring). Endpoint, credentials, region and `AWS_ALLOW_HTTP` come from the usual `AWS_*`
//! variables (DESIGN §9). "Directories" are key prefixes: `list` is a delimited listing.
//! The client is async; the source owns a current-thread runtime and blocks on it per call.

use std::io::Write;
use std::time::Duration;

use futures_util::StreamExt;
use object_store::aws::{AmazonS3, AmazonS3Builder, AmazonS3ConfigKey};
use object_store::path::Path;
use object_store::{
    ClientConfigKey, GetOptions, GetRange, ObjectMeta, ObjectStore, ObjectStoreExt, RetryConfig,
};

use super::remote_path::remote_join;
use super::{DirEntry, FileMeta, Source, SourceError, SourceErrorKind, absent_as_none};

/// Client timeouts, in object_store's config syntax. A dead endpoint must not hang an attempt
/// (connect), nor a stalled body (read, per chunk); but a large model on a slow link may take
/// long as long as bytes keep coming, so the whole request gets a day.
const TIMEOUTS: [(ClientConfigKey, &str); 3] = [
    (ClientConfigKey::ConnectTimeout, "10s"),
    (ClientConfigKey::ReadTimeout, "30s"),
    (ClientConfigKey::Timeout, "24h"),
];

pub struct S3Source {
    runtime: tokio::runtime::Runtime,
    store: AmazonS3,
    bucket: String,
    prefix: String,
}

impl S3Source {
    /// Configured from the environment (`AWS_ENDPOINT_URL`, `AWS_ACCESS_KEY_ID`, …).
    pub fn from_env(bucket: &str, prefix: &str) -> Result<S3Source, SourceError> {
        S3Source::new(AmazonS3Builder::from_env(), bucket, prefix)
    }

    /// Configured by `builder` (tests set endpoint and keys explicitly: the process
    /// environment is shared between test threads).
    pub fn new(
        builder: AmazonS3Builder,
        bucket: &str,
        prefix: &str,
    ) -> Result<S3Source, SourceError> {
        crate::tls::ensure_provider();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| other(format!("cannot start tokio: {e}")))?;
        // The deployer retries with its own backoff and resumes; object_store's default
        // (10 retries over 3 minutes) would only hide an outage.
        let retry = RetryConfig {
            max_retries: 2,
            retry_timeout: Duration::from_secs(20),
            ..RetryConfig::default()
        };
        // Set key by key: replacing the client options would drop AWS_ALLOW_HTTP and proxies.
        let builder = TIMEOUTS.into_iter().fold(builder, |b, (key, value)| {
            b.with_config(AmazonS3ConfigKey::Client(key), value)
        });
        let store = builder
            .with_bucket_name(bucket)
            .with_retry(retry)
            .build()
            .map_err(|e| other(format!("s3://{bucket}: bad S3 configuration: {e}")))?;
        Ok(S3Source {
            runtime,
            store,
            bucket: bucket.to_owned(),
            prefix: prefix.trim_matches('/').to_owned(),
        })
    }

    fn key(&self, rel: &str) -> Result<String, SourceError> {
        remote_join(&self.prefix, rel)
    }

    fn url(&self, key: &str) -> String {
        format!("s3://{}/{key}", self.bucket)
    }
}

impl Source for S3Source {
    fn describe(&self) -> String {
        self.url(&self.prefix)
    }

    fn stat(&mut self, rel: &str) -> Result<Option<FileMeta>, SourceError> {
        let key = self.key(rel)?;
        let head = self
            .runtime
            .block_on(self.store.head(&Path::from(key.as_str())));
        absent_as_none(
            head.map(|meta| meta_of(&meta))
                .map_err(|e| map_error(&self.url(&key), &e)),
        )
    }

    fn fetch(
        &mut self,
        rel: &str,
        offset: u64,
        out: &mut dyn Write,
        progress: &mut dyn FnMut(u64),
    ) -> Result<u64, SourceError> {
        let key = self.key(rel)?;
        let url = self.url(&key);
        let path = Path::from(key.as_str());
        let options = GetOptions {
            // A range starting at 0 of an empty object would be "unsatisfiable".
            range: (offset > 0).then_some(GetRange::Offset(offset)),
            ..GetOptions::default()
        };
        let store = &self.store;
        self.runtime.block_on(async {
            let result = store
                .get_opts(&path, options)
                .await
                .map_err(|e| map_error(&url, &e))?;
            let mut stream = result.into_stream();
            let mut at = offset;
            while let Some(chunk) = stream.next().await {
                let chunk = chunk.map_err(|e| {
                    let mut e = map_error(&url, &e);
                    e.message = format!("{} (at byte {at})", e.message);
                    e
                })?;
                out.write_all(&chunk)
                    .map_err(|e| SourceError::local_write(rel, &e))?;
                at += chunk.len() as u64;
                progress(at);
            }
            Ok(at - offset)
        })
    }

    fn list(&mut self, dir: &str) -> Result<Vec<DirEntry>, SourceError> {
        let key = self.key(dir)?;
        let prefix = (!key.is_empty()).then(|| Path::from(key.as_str()));
        let listing = self
            .runtime
            .block_on(self.store.list_with_delimiter(prefix.as_ref()))
            .map_err(|e| map_error(&self.url(&key), &e))?;
        let dirs = listing.common_prefixes.iter().map(|p| DirEntry {
            name: p.filename().unwrap_or_default().to_owned(),
            is_dir: true,
            meta: FileMeta {
                size: 0,
                modified: None,
                etag: None,
            },
        });
        let files = listing.objects.iter().map(|o| DirEntry {
            name: o.location.filename().unwrap_or_default().to_owned(),
            is_dir: false,
            meta: meta_of(o),
        });
        let mut entries: Vec<DirEntry> = dirs.chain(files).filter(|e| !e.name.is_empty()).collect();
        entries.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(entries)
    }
}

fn meta_of(meta: &ObjectMeta) -> FileMeta {
    FileMeta {
        size: meta.size,
        modified: Some(meta.last_modified.into()),
        etag: meta.e_tag.clone(),
    }
}

/// The one table from object_store errors to the deployer's kinds.
fn map_error(url: &str, e: &object_store::Error) -> SourceError {
    use object_store::Error as E;
    let kind = match e {
        E::NotFound { .. } => SourceErrorKind::NotFound,
        // 403 covers a wrong secret (SignatureDoesNotMatch) and a missing permission.
        E::PermissionDenied { .. } | E::Unauthenticated { .. } => SourceErrorKind::Refused,
        E::Generic { .. } if is_network(e) => SourceErrorKind::Unreachable,
        _ => SourceErrorKind::Other,
    };
    SourceError::new(kind, format!("{url}: {e}"))
}

/// Connect errors, timeouts, dropped bodies and 5xx answers: things a later retry may fix.
fn is_network(e: &object_store::Error) -> bool {
    use object_store::client::{HttpError, HttpErrorKind};
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(c) = cause {
        if let Some(http) = c.downcast_ref::<HttpError>() {
            // Unknown covers client-side faults such as an https-only client given http.
            return !matches!(http.kind(), HttpErrorKind::Decode | HttpErrorKind::Unknown);
        }
        cause = c.source();
    }
    // object_store keeps its status-code error private; its message is stable.
    e.to_string().contains("status code: 5")
}

fn other(message: String) -> SourceError {
    SourceError::new(SourceErrorKind::Other, message)
}
