//! OpenSSH's sshd on a free loopback port, with its own host key, an authorized client key
//! and the built-in SFTP server (the DEPENDENCIES.md recipe). `scripts/test` installs
//! `openssh-server`.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use litecnn_deploy::source::SourceOptions;
use tempfile::TempDir;

use super::free_port;
use super::process::{kill_tree, wait_for_port};

const SSHD: &str = "/usr/sbin/sshd";

pub struct Sshd {
    pub dir: TempDir,
    pub port: u16,
    pub user: String,
    /// The authorized client key.
    pub client_key: PathBuf,
    /// A known_hosts file that holds the server's real key.
    pub known_hosts: PathBuf,
    child: Option<Child>,
}

impl Sshd {
    pub fn start() -> Sshd {
        assert!(
            Path::new(SSHD).exists(),
            "{SSHD} is missing: install openssh-server (scripts/test does)"
        );
        // Privilege separation wants this directory; it exists where sshd is set up as a service.
        let _ = fs::create_dir_all("/run/sshd");
        let dir = tempfile::tempdir().unwrap();
        let path = |name: &str| dir.path().join(name);
        keygen(&path("host_ed25519"));
        keygen(&path("client_ed25519"));
        fs::copy(path("client_ed25519.pub"), path("authorized_keys")).unwrap();
        let port = free_port();
        let user = whoami();
        fs::write(path("sshd_config"), config(dir.path(), port)).unwrap();
        let known_hosts = path("known_hosts");
        fs::write(
            &known_hosts,
            format!("{}\n", known_hosts_line(dir.path(), port)),
        )
        .unwrap();
        let mut sshd = Sshd {
            client_key: path("client_ed25519"),
            known_hosts,
            dir,
            port,
            user,
            child: None,
        };
        sshd.restart();
        sshd
    }

    /// Starts (again) on the same port with the same keys.
    pub fn restart(&mut self) {
        self.stop();
        let log = self.dir.path().join("sshd.log");
        let stderr = fs::File::options()
            .create(true)
            .append(true)
            .open(&log)
            .unwrap();
        let mut child = Command::new(SSHD)
            .args(["-D", "-e", "-f"])
            .arg(self.dir.path().join("sshd_config"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .expect("cannot start sshd");
        wait_for_port(
            &mut child,
            self.port,
            Duration::from_secs(20),
            log.to_str().unwrap(),
        );
        self.child = Some(child);
    }

    /// Kills the listener and every connection it forked.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            kill_tree(&mut child);
        }
    }

    /// Serves `dir` (an absolute path) as `ssh://user@127.0.0.1:PORT/dir`.
    pub fn url(&self, dir: &Path) -> String {
        format!(
            "ssh://{}@127.0.0.1:{}{}",
            self.user,
            self.port,
            dir.display()
        )
    }

    /// Our client key and a known_hosts file with the right host key.
    pub fn options(&self) -> SourceOptions {
        SourceOptions {
            ssh_key: Some(self.client_key.clone()),
            known_hosts: Some(self.known_hosts.clone()),
            accept_new_host_key: false,
        }
    }

    /// The known_hosts line for this server, as `ssh-keyscan -p PORT 127.0.0.1` prints it.
    pub fn known_hosts_line(&self) -> String {
        known_hosts_line(self.dir.path(), self.port)
    }

    /// A fresh key pair under the test directory (a key the server does not know).
    pub fn new_key(&self, name: &str) -> PathBuf {
        let key = self.dir.path().join(name);
        keygen(&key);
        key
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        self.stop();
    }
}

fn config(dir: &Path, port: u16) -> String {
    let d = dir.display();
    format!(
        "Port {port}\nListenAddress 127.0.0.1\nHostKey {d}/host_ed25519\nPidFile {d}/sshd.pid\n\
         AuthorizedKeysFile {d}/authorized_keys\nPasswordAuthentication no\n\
         KbdInteractiveAuthentication no\nPubkeyAuthentication yes\n\
         PermitRootLogin prohibit-password\nStrictModes no\nUsePAM no\n\
         Subsystem sftp internal-sftp\n"
    )
}

fn known_hosts_line(dir: &Path, port: u16) -> String {
    let public = fs::read_to_string(dir.join("host_ed25519.pub")).unwrap();
    let key: Vec<&str> = public.split_whitespace().take(2).collect();
    format!("[127.0.0.1]:{port} {}", key.join(" "))
}

fn keygen(path: &Path) {
    let status = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(path)
        .stdin(Stdio::null())
        .status()
        .expect("ssh-keygen (openssh-client) is needed");
    assert!(status.success(), "ssh-keygen failed for {}", path.display());
}

fn whoami() -> String {
    let out = Command::new("id").arg("-un").output().expect("id -un");
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}
