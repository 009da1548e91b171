//! `http(s)://…/dir/`: files under a URL, over reqwest (blocking; rustls on ring). `stat` is a
//! HEAD, `fetch` a GET with `Range: bytes=N-` to resume (a server that ignores ranges answers
//! 200 with the whole file; the first N bytes are then skipped). Validators (ETag,
//! Last-Modified) are remembered per path, so a watcher re-reading an unchanged `LATEST` gets a
//! bodiless 304. Plain HTTP has no directory listing: `list` is unsupported, so a checkpoint
//! glob needs SSH or S3, while one checkpoint file URL works.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::time::{Duration, SystemTime};

use reqwest::StatusCode;
use reqwest::blocking::{Client, RequestBuilder, Response};
use reqwest::header::{self, HeaderMap};

use super::remote_path::remote_join;
use super::{DirEntry, FileMeta, Source, SourceError, SourceErrorKind};

/// A dead host must not hang an attempt.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest wait for the answer or for the next bytes of a body (not for the whole body).
const IDLE_TIMEOUT: Duration = Duration::from_secs(30);
/// Bodies up to this size are kept with their validator, to be re-served on a 304.
const CACHED_BODY_LIMIT: usize = 64 * 1024;

pub struct HttpSource {
    client: Client,
    /// The directory URL, ending in `/`.
    base: String,
    seen: HashMap<String, Seen>,
}

/// What we last saw of one URL.
struct Seen {
    etag: Option<String>,
    last_modified: Option<String>,
    meta: FileMeta,
    body: Option<Vec<u8>>,
}

impl HttpSource {
    pub fn new(base: &str) -> Result<HttpSource, SourceError> {
        crate::tls::ensure_provider();
        let client = Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(IDLE_TIMEOUT)
            .user_agent(concat!("litecnn-deploy/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| other(format!("{base}: cannot build an HTTP client: {e}")))?;
        Ok(HttpSource {
            client,
            base: base.to_owned(),
            seen: HashMap::new(),
        })
    }

    fn url(&self, rel: &str) -> Result<String, SourceError> {
        remote_join(&self.base, rel)
    }

    /// Adds the validators of the last answer for `url`, so an unchanged file costs a 304.
    fn conditional(&self, url: &str, request: RequestBuilder) -> RequestBuilder {
        match self.seen.get(url) {
            Some(Seen {
                etag: Some(etag), ..
            }) => request.header(header::IF_NONE_MATCH, etag),
            Some(Seen {
                last_modified: Some(date),
                ..
            }) => request.header(header::IF_MODIFIED_SINCE, date),
            _ => request,
        }
    }

    fn remember(&mut self, url: &str, headers: &HeaderMap, meta: FileMeta, body: Option<Vec<u8>>) {
        let seen = Seen {
            etag: text(headers, header::ETAG),
            last_modified: text(headers, header::LAST_MODIFIED),
            meta,
            body,
        };
        if seen.etag.is_some() || seen.last_modified.is_some() {
            self.seen.insert(url.to_owned(), seen);
        } else {
            self.seen.remove(url);
        }
    }

    /// Streams the body of `response` (which starts at byte `at`) into `out`.
    fn stream(
        url: &str,
        rel: &str,
        mut response: Response,
        mut at: u64,
        out: &mut dyn Write,
        progress: &mut dyn FnMut(u64),
        mut keep: Option<&mut Vec<u8>>,
    ) -> Result<u64, SourceError> {
        let start = at;
        let mut buf = vec![0u8; 256 * 1024];
        loop {
            let n = response.read(&mut buf).map_err(|e| {
                SourceError::new(
                    SourceErrorKind::Unreachable,
                    format!("{url}: transfer interrupted at byte {at}: {e}"),
                )
            })?;
            if n == 0 {
                return Ok(at - start);
            }
            out.write_all(&buf[..n])
                .map_err(|e| SourceError::local_write(rel, &e))?;
            if let Some(kept) = keep.as_deref_mut() {
                kept.extend_from_slice(&buf[..n]);
            }
            at += n as u64;
            progress(at);
        }
    }
}

impl Source for HttpSource {
    fn describe(&self) -> String {
        self.base.clone()
    }

    fn stat(&mut self, rel: &str) -> Result<Option<FileMeta>, SourceError> {
        let url = self.url(rel)?;
        let request = self.conditional(&url, self.client.head(&url));
        let response = request.send().map_err(|e| transport(&url, &e))?;
        match response.status() {
            StatusCode::NOT_MODIFIED => match self.seen.get(&url) {
                Some(seen) => return Ok(Some(seen.meta.clone())),
                None => return Err(other(format!("{url}: 304 to a request without validators"))),
            },
            StatusCode::NOT_FOUND | StatusCode::GONE => return Ok(None),
            status if !status.is_success() => return Err(status_error(&url, status)),
            _ => {}
        }
        let headers = response.headers();
        let meta = meta_of(&url, headers)?;
        // A changed file invalidates a kept body; an unchanged one keeps it.
        let body = self
            .seen
            .remove(&url)
            .filter(|s| s.etag == text(headers, header::ETAG) && s.meta == meta)
            .and_then(|s| s.body);
        self.remember(&url, &response.headers().clone(), meta.clone(), body);
        Ok(Some(meta))
    }

    fn fetch(
        &mut self,
        rel: &str,
        offset: u64,
        out: &mut dyn Write,
        progress: &mut dyn FnMut(u64),
    ) -> Result<u64, SourceError> {
        let url = self.url(rel)?;
        let mut request = self.client.get(&url);
        let cached_body = offset == 0 && self.seen.get(&url).is_some_and(|s| s.body.is_some());
        if cached_body {
            request = self.conditional(&url, request);
        }
        if offset > 0 {
            request = request.header(header::RANGE, format!("bytes={offset}-"));
        }
        let mut response = request.send().map_err(|e| transport(&url, &e))?;
        match response.status() {
            StatusCode::NOT_MODIFIED if cached_body => {
                let body = self
                    .seen
                    .get(&url)
                    .and_then(|s| s.body.clone())
                    .unwrap_or_default();
                out.write_all(&body)
                    .map_err(|e| SourceError::local_write(rel, &e))?;
                progress(body.len() as u64);
                return Ok(body.len() as u64);
            }
            StatusCode::PARTIAL_CONTENT if offset > 0 => check_range(&url, &response, offset)?,
            StatusCode::OK if offset > 0 => skip(&url, &mut response, offset)?,
            StatusCode::OK => {}
            status => return Err(status_error(&url, status)),
        }
        let headers = response.headers().clone();
        let small = offset == 0
            && meta_of(&url, &headers).is_ok_and(|m| m.size as usize <= CACHED_BODY_LIMIT);
        let mut kept = small.then(Vec::new);
        let n = Self::stream(&url, rel, response, offset, out, progress, kept.as_mut())?;
        if let Some(body) = kept {
            let meta = meta_of(&url, &headers)?;
            self.remember(&url, &headers, meta, Some(body));
        }
        Ok(n)
    }

    fn list(&mut self, _dir: &str) -> Result<Vec<DirEntry>, SourceError> {
        Err(SourceError::new(
            SourceErrorKind::Unsupported,
            format!(
                "{}: plain HTTP has no directory listing, so a checkpoint glob cannot be \
                 matched; name one checkpoint file in the URL, or use an ssh:// or s3:// SOURCE",
                self.base
            ),
        ))
    }
}

/// A 206 must start where we asked, or the bytes would land in the wrong place.
fn check_range(url: &str, response: &Response, offset: u64) -> Result<(), SourceError> {
    let range = text(response.headers(), header::CONTENT_RANGE).unwrap_or_default();
    let start = range
        .strip_prefix("bytes ")
        .and_then(|r| r.split_once('-'))
        .and_then(|(start, _)| start.parse::<u64>().ok());
    if start == Some(offset) {
        Ok(())
    } else {
        Err(other(format!(
            "{url}: asked for bytes from {offset}, got Content-Range {range:?}"
        )))
    }
}

/// The server ignored our range and sends the whole file: drop what we already have.
fn skip(url: &str, response: &mut Response, offset: u64) -> Result<(), SourceError> {
    let skipped = std::io::copy(&mut response.take(offset), &mut std::io::sink()).map_err(|e| {
        SourceError::new(
            SourceErrorKind::Unreachable,
            format!("{url}: transfer interrupted while skipping to byte {offset}: {e}"),
        )
    })?;
    if skipped < offset {
        return Err(other(format!(
            "{url}: the file is now {skipped} bytes, shorter than the {offset} already fetched"
        )));
    }
    Ok(())
}

fn meta_of(url: &str, headers: &HeaderMap) -> Result<FileMeta, SourceError> {
    let size = text(headers, header::CONTENT_LENGTH)
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| other(format!("{url}: the server sent no Content-Length")))?;
    Ok(FileMeta {
        size,
        modified: text(headers, header::LAST_MODIFIED).and_then(|d| http_date(&d)),
        etag: text(headers, header::ETAG),
    })
}

fn http_date(value: &str) -> Option<SystemTime> {
    chrono::DateTime::parse_from_rfc2822(value)
        .ok()
        .map(SystemTime::from)
}

fn text(headers: &HeaderMap, name: header::HeaderName) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// The one table from HTTP statuses to the deployer's kinds.
fn status_error(url: &str, status: StatusCode) -> SourceError {
    let kind = match status.as_u16() {
        404 | 410 => SourceErrorKind::NotFound,
        401 | 403 => SourceErrorKind::Refused,
        408 | 429 | 500..=599 => SourceErrorKind::Unreachable,
        _ => SourceErrorKind::Other,
    };
    SourceError::new(kind, format!("{url}: HTTP {status}"))
}

/// No answer at all: network trouble, except for a request we could not even build.
fn transport(url: &str, e: &reqwest::Error) -> SourceError {
    let kind = if e.is_builder() {
        SourceErrorKind::Other
    } else {
        SourceErrorKind::Unreachable
    };
    let mut message = format!("{url}: {e}");
    let mut cause = std::error::Error::source(e);
    while let Some(c) = cause {
        message = format!("{message}: {c}");
        cause = c.source();
    }
    SourceError::new(kind, message)
}

fn other(message: String) -> SourceError {
    SourceError::new(SourceErrorKind::Other, message)
}
