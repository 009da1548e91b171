//! `litecnn serve --tls-cert F --tls-key F`: the real binary with a self-signed certificate made
//! by the test, spoken to by a real HTTPS client (reqwest on rustls) that trusts exactly that
//! certificate; plain HTTP on the same port gets nowhere. Bad certificate or key files are
//! start-up errors that name the file.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;

use common::server::Server;
use common::store::{V2, holdout_images};
use common::temp_dir;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

struct Pem {
    cert: PathBuf,
    key: PathBuf,
    cert_text: String,
}

/// A fresh self-signed certificate for 127.0.0.1 and localhost, written as two PEM files.
fn self_signed(dir: &Path, tag: &str) -> Pem {
    let made = rcgen::generate_simple_self_signed(vec!["127.0.0.1".into(), "localhost".into()])
        .expect("a certificate");
    let pem = Pem {
        cert: dir.join(format!("{tag}-cert.pem")),
        key: dir.join(format!("{tag}-key.pem")),
        cert_text: made.cert.pem(),
    };
    std::fs::write(&pem.cert, &pem.cert_text).unwrap();
    std::fs::write(&pem.key, made.signing_key.serialize_pem()).unwrap();
    pem
}

/// A blocking HTTPS client whose only trusted root is `trusted` (none: it trusts nothing).
fn client(trusted: Option<&str>) -> reqwest::blocking::Client {
    let mut roots = rustls::RootCertStore::empty();
    if let Some(pem) = trusted {
        roots
            .add(CertificateDer::from_pem_slice(pem.as_bytes()).unwrap())
            .unwrap();
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    reqwest::blocking::Client::builder()
        .tls_backend_preconfigured(tls)
        .timeout(std::time::Duration::from_secs(120))
        .build()
        .unwrap()
}

fn json(response: reqwest::blocking::Response) -> serde_json::Value {
    serde_json::from_slice(&response.bytes().unwrap()).unwrap()
}

fn tls_args(pem: &Pem) -> Vec<&str> {
    vec![
        "--tls-cert",
        pem.cert.to_str().unwrap(),
        "--tls-key",
        pem.key.to_str().unwrap(),
    ]
}

#[test]
fn https_serves_health_and_predictions_and_plain_http_gets_nowhere() {
    let store = temp_dir("serve-tls");
    let pem = self_signed(&store, "server");
    let mut server = Server::start(&store, &tls_args(&pem));
    assert!(server.tls, "the server announced http://, not https://");
    let base = format!("https://{}", server.addr);
    let https = client(Some(&pem.cert_text));

    let health = https.get(format!("{base}/health")).send().unwrap();
    assert_eq!(health.status(), 200);
    assert_eq!(json(health), serde_json::json!({"status": "ok"}));

    let (class, image) = holdout_images().remove(3);
    let predicted = https
        .post(format!("{base}/predict?top_k=2"))
        .header("Content-Type", "image/png")
        .body(image)
        .send()
        .unwrap();
    assert_eq!(predicted.status(), 200);
    assert_eq!(predicted.headers()["x-model-version"].to_str().unwrap(), V2);
    let body = json(predicted);
    assert_eq!(body["predictions"][0]["label"], class.as_str(), "{body}");

    // A client that does not trust the certificate refuses the server.
    let untrusting = client(None).get(format!("{base}/health")).send();
    assert!(untrusting.is_err(), "{untrusting:?}");
    // Plain HTTP to the TLS port never gets an HTTP answer.
    let plain = client(None)
        .get(format!("http://{}/health", server.addr))
        .send();
    assert!(plain.is_err(), "plain HTTP was answered: {plain:?}");

    assert!(
        server.is_running(),
        "the server exited after a plain-HTTP client"
    );
    let again = https.get(format!("{base}/ready")).send().unwrap();
    assert_eq!(again.status(), 200);
}

/// `litecnn serve --port 0 ARGS` expected to fail before it listens.
fn serve_fails(store: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_litecnn"))
        .args(["serve", "--host", "127.0.0.1", "--port", "0"])
        .args(args)
        .env("LITECNN_STORE", store)
        .output()
        .unwrap()
}

#[test]
fn bad_certificate_or_key_files_are_start_up_errors_naming_the_file() {
    let store = temp_dir("serve-tls-bad");
    let good = self_signed(&store, "good");
    let other = self_signed(&store, "other");
    let garbage = store.join("garbage.pem");
    std::fs::write(&garbage, "this is not PEM\n").unwrap();
    let missing = store.join("missing.pem");
    let (cert, key) = (good.cert.to_str().unwrap(), good.key.to_str().unwrap());
    let (garbage, missing) = (garbage.to_str().unwrap(), missing.to_str().unwrap());
    let other_key = other.key.to_str().unwrap();

    // (flags, exit code, what stderr must name)
    let cases: Vec<(Vec<&str>, i32, Vec<&str>)> = vec![
        (vec!["--tls-cert", cert], 2, vec!["--tls-key"]),
        (vec!["--tls-key", key], 2, vec!["--tls-cert"]),
        (
            vec!["--tls-cert", missing, "--tls-key", key],
            1,
            vec![missing, "cannot read"],
        ),
        (
            vec!["--tls-cert", garbage, "--tls-key", key],
            1,
            vec![garbage, "no certificate"],
        ),
        (
            vec!["--tls-cert", cert, "--tls-key", garbage],
            1,
            vec![garbage, "private key"],
        ),
        (
            vec!["--tls-cert", cert, "--tls-key", cert],
            1,
            vec![cert, "private key"],
        ),
        (
            vec!["--tls-cert", cert, "--tls-key", other_key],
            1,
            vec![cert, other_key],
        ),
    ];
    let mut failures = Vec::new();
    for (args, code, needles) in cases {
        let out = serve_fails(&store, &args);
        let stderr = common::stderr(&out);
        let named = needles.iter().all(|n| stderr.contains(n));
        if out.status.code() != Some(code) || !named || stderr.contains("panicked") {
            failures.push(format!(
                "{args:?}: exit {:?} (want {code}), stderr must name {needles:?}:\n{stderr}",
                out.status.code()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
