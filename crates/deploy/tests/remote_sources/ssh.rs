//! `ssh://` against OpenSSH's sshd: reads, host key trust, keys, outages.

use std::fs;

use litecnn_deploy::source::{SourceErrorKind, SourceOptions};

use super::common::sshd::Sshd;
use super::common::{HookedSink, free_port, pattern_bytes, sha256_hex};
use super::{fetch, open};

#[test]
fn stat_list_fetch_with_offset_and_read_small() {
    let sshd = Sshd::start();
    let served = tempfile::tempdir().unwrap();
    let big = pattern_bytes(5 << 20);
    fs::write(served.path().join("big.bin"), &big).unwrap();
    fs::write(served.path().join("LATEST"), "v1\n").unwrap();
    fs::create_dir(served.path().join("v1")).unwrap();
    let mut source = open(&sshd.url(served.path()), &sshd.options());
    assert!(
        source
            .describe()
            .contains(&format!("127.0.0.1:{}", sshd.port))
    );

    let meta = source.stat("big.bin").unwrap().expect("big.bin exists");
    assert_eq!(meta.size, big.len() as u64);
    assert!(meta.modified.is_some());
    assert_eq!(source.stat("missing").unwrap(), None);

    let names: Vec<(String, bool)> = source
        .list("")
        .unwrap()
        .into_iter()
        .map(|e| (e.name, e.is_dir))
        .collect();
    assert_eq!(
        names,
        [
            ("LATEST".into(), false),
            ("big.bin".into(), false),
            ("v1".into(), true)
        ]
    );

    let (whole, last) = fetch(&mut *source, "big.bin", 0).unwrap();
    assert_eq!(sha256_hex(&whole), sha256_hex(&big));
    assert_eq!(last, big.len() as u64);
    let offset = 1_234_567;
    let (tail, last) = fetch(&mut *source, "big.bin", offset).unwrap();
    assert_eq!(sha256_hex(&tail), sha256_hex(&big[offset as usize..]));
    assert_eq!(last, big.len() as u64, "progress counts the offset too");

    assert_eq!(source.read_small("LATEST", 100).unwrap(), b"v1\n");
    let too_large = source.read_small("big.bin", 1000).unwrap_err();
    assert_eq!(too_large.kind, SourceErrorKind::TooLarge, "{too_large}");
    let missing = fetch(&mut *source, "missing", 0).unwrap_err();
    assert_eq!(missing.kind, SourceErrorKind::NotFound, "{missing}");
    let escape = source.stat("../../etc/passwd").unwrap_err();
    assert!(escape.message.contains("leaves the source"), "{escape}");
}

#[test]
fn unknown_host_is_refused_until_accepted() {
    let sshd = Sshd::start();
    let served = tempfile::tempdir().unwrap();
    fs::write(served.path().join("LATEST"), "v1\n").unwrap();
    let known_hosts = sshd.dir.path().join("empty_known_hosts");
    let options = SourceOptions {
        known_hosts: Some(known_hosts.clone()),
        ..sshd.options()
    };
    let err = open(&sshd.url(served.path()), &options)
        .stat("LATEST")
        .unwrap_err();
    assert_eq!(err.kind, SourceErrorKind::Refused, "{err}");
    let fix = format!(
        "ssh-keyscan -p {} 127.0.0.1 >> {}",
        sshd.port,
        known_hosts.display()
    );
    assert!(err.message.contains("unknown host key"), "{err}");
    assert!(err.message.contains(&fix), "{err}");
    assert!(err.message.contains("--accept-new-host-key"), "{err}");
    assert!(!known_hosts.exists(), "a refused key is never recorded");

    let accepting = SourceOptions {
        accept_new_host_key: true,
        ..options.clone()
    };
    let mut source = open(&sshd.url(served.path()), &accepting);
    assert!(source.stat("LATEST").unwrap().is_some());
    let recorded = fs::read_to_string(&known_hosts).unwrap();
    assert_eq!(recorded.trim(), sshd.known_hosts_line());

    // From now on the key is known, without the flag.
    let mut source = open(&sshd.url(served.path()), &options);
    assert!(source.stat("LATEST").unwrap().is_some());
}

#[test]
fn changed_host_key_is_refused_even_with_accept_new() {
    let sshd = Sshd::start();
    let served = tempfile::tempdir().unwrap();
    let impostor = sshd.new_key("impostor");
    let impostor_public = fs::read_to_string(impostor.with_extension("pub")).unwrap();
    let key: Vec<&str> = impostor_public.split_whitespace().take(2).collect();
    let known_hosts = sshd.dir.path().join("stale_known_hosts");
    let stale = format!("[127.0.0.1]:{} {}\n", sshd.port, key.join(" "));
    fs::write(&known_hosts, &stale).unwrap();
    for accept_new_host_key in [false, true] {
        let options = SourceOptions {
            known_hosts: Some(known_hosts.clone()),
            accept_new_host_key,
            ..sshd.options()
        };
        let err = open(&sshd.url(served.path()), &options)
            .list("")
            .unwrap_err();
        assert_eq!(err.kind, SourceErrorKind::Refused, "{err}");
        assert!(err.message.contains("host key CHANGED"), "{err}");
        assert!(err.message.contains("man-in-the-middle"), "{err}");
        assert_eq!(
            fs::read_to_string(&known_hosts).unwrap(),
            stale,
            "never replaced"
        );
    }
}

#[test]
fn hashed_known_hosts_entries_are_understood() {
    let sshd = Sshd::start();
    let served = tempfile::tempdir().unwrap();
    let status = std::process::Command::new("ssh-keygen")
        .arg("-H")
        .arg("-f")
        .arg(&sshd.known_hosts)
        .output()
        .unwrap();
    assert!(status.status.success());
    let hashed = fs::read_to_string(&sshd.known_hosts).unwrap();
    assert!(hashed.starts_with("|1|"), "{hashed}");
    let mut source = open(&sshd.url(served.path()), &sshd.options());
    assert_eq!(source.list("").unwrap(), []);
}

#[test]
fn a_key_the_server_does_not_know_is_refused() {
    let sshd = Sshd::start();
    let served = tempfile::tempdir().unwrap();
    let stranger = sshd.new_key("stranger");
    let options = SourceOptions {
        ssh_key: Some(stranger.clone()),
        ..sshd.options()
    };
    let err = open(&sshd.url(served.path()), &options)
        .stat("LATEST")
        .unwrap_err();
    assert_eq!(err.kind, SourceErrorKind::Refused, "{err}");
    assert!(
        err.message.contains(&stranger.display().to_string()),
        "{err}"
    );

    let options = SourceOptions {
        ssh_key: Some(sshd.dir.path().join("no_such_key")),
        ..sshd.options()
    };
    let err = open(&sshd.url(served.path()), &options)
        .stat("LATEST")
        .unwrap_err();
    assert_eq!(err.kind, SourceErrorKind::Refused, "{err}");
    assert!(err.message.contains("no_such_key"), "{err}");
}

#[test]
fn nothing_listening_is_unreachable() {
    let sshd = Sshd::start();
    let url = format!("ssh://root@127.0.0.1:{}/srv", free_port());
    let err = open(&url, &sshd.options()).stat("LATEST").unwrap_err();
    assert_eq!(err.kind, SourceErrorKind::Unreachable, "{err}");
    assert!(err.kind.is_transient());
}

#[test]
fn a_restarted_server_is_reconnected_transparently() {
    let mut sshd = Sshd::start();
    let served = tempfile::tempdir().unwrap();
    fs::write(served.path().join("LATEST"), "v1\n").unwrap();
    let mut source = open(&sshd.url(served.path()), &sshd.options());
    assert!(source.stat("LATEST").unwrap().is_some());
    sshd.restart(); // drops our session
    assert_eq!(source.read_small("LATEST", 100).unwrap(), b"v1\n");
}

#[test]
fn a_fetch_cut_by_a_dying_server_resumes_from_its_offset() {
    let mut sshd = Sshd::start();
    let served = tempfile::tempdir().unwrap();
    let big = pattern_bytes(24 << 20);
    fs::write(served.path().join("big.bin"), &big).unwrap();
    let mut source = open(&sshd.url(served.path()), &sshd.options());

    let mut sink = HookedSink {
        bytes: Vec::new(),
        trigger_at: 1 << 20,
        hook: Some(|| sshd.stop()),
    };
    let err = source
        .fetch("big.bin", 0, &mut sink, &mut |_| {})
        .unwrap_err();
    assert_eq!(err.kind, SourceErrorKind::Unreachable, "{err}");
    let mut have = std::mem::take(&mut sink.bytes);
    drop(sink);
    assert!(have.len() < big.len(), "the transfer was cut");
    assert_eq!(have[..], big[..have.len()], "what arrived is a prefix");

    sshd.restart();
    let (rest, _) = fetch(&mut *source, "big.bin", have.len() as u64).unwrap();
    have.extend_from_slice(&rest);
    assert_eq!(sha256_hex(&have), sha256_hex(&big));
}
