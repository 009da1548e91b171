//! Stopping the servers we started, by PID, children included (sshd forks one process per
//! connection, and those outlive a killed listener).

use std::collections::HashMap;
use std::fs;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

/// Kills `child` and every process descended from it, then reaps `child`.
pub fn kill_tree(child: &mut Child) {
    let mut pids = descendants(child.id());
    pids.push(child.id());
    let pids: Vec<String> = pids.iter().map(u32::to_string).collect();
    // Short-lived children may be gone already: kill's complaints about them are noise.
    let _ = Command::new("kill")
        .arg("-KILL")
        .args(&pids)
        .stderr(std::process::Stdio::null())
        .status();
    let _ = child.wait();
}

/// The PIDs under `root`, from the parent links in /proc/<pid>/stat.
fn descendants(root: u32) -> Vec<u32> {
    let mut children: HashMap<u32, Vec<u32>> = HashMap::new();
    for entry in fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(stat) = fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // "pid (comm) state ppid …": comm may hold spaces, so split after the last ')'.
        let ppid = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(1))
            .and_then(|p| p.parse::<u32>().ok());
        if let Some(ppid) = ppid {
            children.entry(ppid).or_default().push(pid);
        }
    }
    let mut out = Vec::new();
    let mut todo = vec![root];
    while let Some(pid) = todo.pop() {
        for &child in children.get(&pid).into_iter().flatten() {
            out.push(child);
            todo.push(child);
        }
    }
    out
}

/// Waits until something accepts TCP connections on 127.0.0.1:`port`, or `child` exits.
pub fn wait_for_port(child: &mut Child, port: u16, timeout: Duration, log: &str) {
    let deadline = Instant::now() + timeout;
    loop {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!(
                "server exited with {status} before listening on {port}; log:\n{}",
                read(log)
            );
        }
        assert!(
            Instant::now() < deadline,
            "server not listening on {port} after {timeout:?}; log:\n{}",
            read(log)
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

pub fn read(path: &str) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| format!("({path}: {e})"))
}
