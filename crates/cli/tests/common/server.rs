//! The real `litecnn serve` binary on 127.0.0.1, port 0, for black-box tests: started with a
//! private store and cache, its address read from its first stdout line, killed when dropped.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use super::http::Request;

pub struct Server {
    pub addr: SocketAddr,
    child: Child,
}

impl Server {
    /// `litecnn serve --host 127.0.0.1 --port 0 ARGS`, with `store` as its store and a cache
    /// under it (so tests never touch the user's directories). Waits until it listens.
    pub fn start(store: &Path, args: &[&str]) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_litecnn"))
            .args([
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                "0",
                "--threads",
                "2",
            ])
            .args(args)
            .env("LITECNN_STORE", store)
            .env("XDG_CACHE_HOME", cache_dir(store))
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("litecnn starts");
        let stdout = child.stdout.take().unwrap();
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).unwrap();
        let addr = line
            .trim()
            .strip_prefix("listening on http://")
            .unwrap_or_else(|| {
                let _ = child.kill();
                panic!("the server did not announce its address: {line:?}")
            })
            .parse()
            .unwrap();
        Server { addr, child }
    }

    /// Fails the test if the process has exited (it must survive every hostile request).
    pub fn assert_alive(&mut self) {
        let status = self.child.try_wait().unwrap();
        assert!(status.is_none(), "the server exited: {status:?}");
        let health = Request::get("/health").send(self.addr);
        assert_eq!(health.status, 200);
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits (up to a generous minute) for the process to exit.
    pub fn wait_exit(&mut self) -> ExitStatus {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "the server did not exit");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn cache_dir(store: &Path) -> PathBuf {
    store.with_extension("cache")
}
