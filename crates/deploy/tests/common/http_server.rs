//! A small HTTP/1.1 file server on a loopback thread: HEAD and GET of in-memory files, with
//! ETag, Last-Modified, `If-None-Match` (304) and `Range: bytes=N-` (206) — or, when told,
//! ignoring ranges the way simple servers do. It counts what it answered, so tests can see
//! that a 304 was used. `/private/…` answers 403, `/broken/…` 500. With `trickle` set, bodies
//! go out a few bytes at a time: a slow link, for tests that kill a deployer mid-fetch.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

#[derive(Default)]
pub struct Shared {
    pub files: Mutex<HashMap<String, Vec<u8>>>,
    pub ignore_ranges: AtomicBool,
    /// Status codes sent, in order.
    pub answered: Mutex<Vec<u16>>,
    /// `Some((bytes, pause))`: send bodies `bytes` at a time with `pause` between.
    pub trickle: Mutex<Option<(usize, Duration)>>,
    stop: AtomicBool,
}

pub struct HttpServer {
    pub port: u16,
    pub shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl HttpServer {
    pub fn start() -> HttpServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let shared = Arc::new(Shared::default());
        let serving = shared.clone();
        let thread = std::thread::spawn(move || {
            for stream in listener.incoming() {
                if serving.stop.load(Ordering::SeqCst) {
                    return;
                }
                if let Ok(stream) = stream {
                    let _ = answer(stream, &serving);
                }
            }
        });
        HttpServer {
            port,
            shared,
            thread: Some(thread),
        }
    }

    pub fn put(&self, path: &str, bytes: &[u8]) {
        self.shared
            .files
            .lock()
            .unwrap()
            .insert(path.to_owned(), bytes.to_vec());
    }

    pub fn url(&self, dir: &str) -> String {
        format!("http://127.0.0.1:{}{dir}", self.port)
    }

    pub fn answered(&self) -> Vec<u16> {
        self.shared.answered.lock().unwrap().clone()
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// One request per connection (`Connection: close`).
fn answer(stream: TcpStream, shared: &Shared) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    let mut headers = HashMap::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 || line.trim().is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            headers.insert(name.trim().to_ascii_lowercase(), value.trim().to_owned());
        }
    }
    let mut parts = request_line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_owned();
    let path = parts.next().unwrap_or_default().to_owned();
    let file = shared.files.lock().unwrap().get(&path).cloned();
    let (status, extra, body) = respond(&path, file, &headers, shared);
    shared.answered.lock().unwrap().push(status);
    let mut out = stream;
    write!(out, "HTTP/1.1 {status} {}\r\n", reason(status))?;
    for (name, value) in &extra {
        write!(out, "{name}: {value}\r\n")?;
    }
    // A HEAD answer carries the length its GET would have.
    write!(
        out,
        "Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )?;
    if method != "HEAD" {
        let trickle = *shared.trickle.lock().unwrap();
        match trickle {
            Some((bytes, pause)) => {
                for chunk in body.chunks(bytes.max(1)) {
                    out.write_all(chunk)?;
                    out.flush()?;
                    std::thread::sleep(pause);
                }
            }
            None => out.write_all(&body)?,
        }
    }
    out.flush()
}

type Response = (u16, Vec<(&'static str, String)>, Vec<u8>);

fn respond(
    path: &str,
    file: Option<Vec<u8>>,
    headers: &HashMap<String, String>,
    shared: &Shared,
) -> Response {
    if path.starts_with("/private/") {
        return (403, vec![], b"forbidden".to_vec());
    }
    if path.starts_with("/broken/") {
        return (500, vec![], b"oops".to_vec());
    }
    let Some(file) = file else {
        return (404, vec![], b"not found".to_vec());
    };
    let etag = format!("\"{}\"", &super::sha256_hex(&file)[..16]);
    let mut extra = vec![
        ("ETag", etag.clone()),
        ("Last-Modified", "Wed, 25 Nov 2026 10:00:00 GMT".to_owned()),
        ("Accept-Ranges", "bytes".to_owned()),
    ];
    if headers.get("if-none-match") == Some(&etag) {
        return (304, extra, Vec::new());
    }
    let range_start = headers
        .get("range")
        .and_then(|r| r.strip_prefix("bytes="))
        .and_then(|r| r.strip_suffix('-'))
        .and_then(|start| start.parse::<usize>().ok());
    match range_start {
        Some(start) if !shared.ignore_ranges.load(Ordering::SeqCst) => {
            if start >= file.len() {
                return (416, vec![], Vec::new());
            }
            let end = file.len() - 1;
            extra.push((
                "Content-Range",
                format!("bytes {start}-{end}/{}", file.len()),
            ));
            (206, extra, file[start..].to_vec())
        }
        _ => (200, extra, file),
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        206 => "Partial Content",
        304 => "Not Modified",
        403 => "Forbidden",
        404 => "Not Found",
        416 => "Range Not Satisfiable",
        _ => "Internal Server Error",
    }
}
