//! A whole deploy attempt whose SOURCE is the demo repository behind plain HTTP (no listing:
//! the deployer finds every file through `LATEST` and `SHA256SUMS`).

use std::path::Path;
use std::sync::Arc;

use litecnn_deploy::{DeployOptions, Deployer, Ended, LogReporter};

use super::common::http_server::HttpServer;

#[test]
fn the_demo_repository_deploys_over_http() {
    let server = HttpServer::start();
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/models/fashion-mnist");
    serve_dir(&server, &demo, "/repo/fashion-mnist");
    let store = tempfile::tempdir().unwrap();

    let options = DeployOptions::new(server.url("/repo/fashion-mnist"));
    let mut deployer =
        Deployer::new(store.path(), options, Arc::new(LogReporter::default())).unwrap();
    let ended = deployer.attempt();
    let Ended::Promoted(record) = &ended else {
        panic!("expected a promotion, got {ended:?}");
    };
    let latest = std::fs::read_to_string(demo.join("LATEST")).unwrap();
    assert_eq!(record.version.as_deref(), Some(latest.trim()));
    assert!(matches!(deployer.attempt(), Ended::Nothing(_)));
}

fn serve_dir(server: &HttpServer, dir: &Path, at: &str) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let url_path = format!("{at}/{}", entry.file_name().to_str().unwrap());
        if entry.file_type().unwrap().is_dir() {
            serve_dir(server, &entry.path(), &url_path);
        } else {
            server.put(&url_path, &std::fs::read(entry.path()).unwrap());
        }
    }
}
