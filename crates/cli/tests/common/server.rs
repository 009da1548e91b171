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
    /// Whether it announced `https://`.
    pub tls: bool,
    child: Child,
}

impl Server {
    /// `litecnn serve --host 127.0.0.1 --port 0 ARGS`, with `store` as its store and a cache
    /// under it (so tests never touch the user's directories). Waits until it listens.
    pub fn start(store: &Path, args: &[&str]) -> Server {
        Server::start_with_env(store, args, &[])
    }

    /// [`Server::start`] with extra environment variables. `XDG_CONFIG_HOME` is
    /// `<store>.config` unless `env` sets it, so the user's own `litecnn.toml` never applies.
    pub fn start_with_env(store: &Path, args: &[&str], env: &[(&str, &str)]) -> Server {
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
            .env("XDG_CONFIG_HOME", store.with_extension("config"))
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("litecnn starts");
        let stdout = child.stdout.take().unwrap();
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).unwrap();
        let announced = line.trim().strip_prefix("listening on ");
        let (tls, addr) = match announced.and_then(|a| a.split_once("://")) {
            Some(("http", addr)) => (false, addr),
            Some(("https", addr)) => (true, addr),
            _ => {
                let _ = child.kill();
                panic!("the server did not announce its address: {line:?}")
            }
        };
        let addr = addr.parse().unwrap();
        Server { addr, tls, child }
    }

    /// Fails the test if the process has exited (it must survive every hostile request).
    pub fn assert_alive(&mut self) {
        let status = self.child.try_wait().unwrap();
        assert!(status.is_none(), "the server exited: {status:?}");
        let health = Request::get("/health").send(self.addr);
        assert_eq!(health.status, 200);
    }

    pub fn is_running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    /// Sends SIGTERM, as a service manager stopping it would.
    pub fn terminate(&self) {
        let kill = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(kill.success());
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

/// Waits (up to a generous 90 s) until `/ready` names `version`.
pub fn wait_for_version(addr: SocketAddr, version: &str) {
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let ready = Request::get("/ready").send(addr);
        if ready.status == 200 && ready.json()["version"] == version {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "never served {version}: {}",
            ready.text()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}
