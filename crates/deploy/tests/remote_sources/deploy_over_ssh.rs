//! A whole deploy attempt whose SOURCE is the demo repository served over SFTP.

use std::path::Path;
use std::sync::Arc;

use litecnn_deploy::{DeployOptions, Deployer, Ended, LogReporter};

use super::common::sshd::Sshd;

#[test]
fn the_demo_repository_deploys_over_sftp() {
    let sshd = Sshd::start();
    let served = tempfile::tempdir().unwrap();
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/models/fashion-mnist");
    copy_dir(&demo, &served.path().join("fashion-mnist"));
    let store = tempfile::tempdir().unwrap();

    let mut options = DeployOptions::new(sshd.url(&served.path().join("fashion-mnist")));
    options.source_options = sshd.options();
    let mut deployer =
        Deployer::new(store.path(), options, Arc::new(LogReporter::default())).unwrap();
    let ended = deployer.attempt();
    let Ended::Promoted(record) = &ended else {
        panic!("expected a promotion, got {ended:?}");
    };
    let latest = std::fs::read_to_string(demo.join("LATEST")).unwrap();
    assert_eq!(record.version.as_deref(), Some(latest.trim()));
    assert!(deployer.store().current().unwrap().is_some());

    // The same source again: nothing new.
    assert!(matches!(deployer.attempt(), Ended::Nothing(_)));
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}
