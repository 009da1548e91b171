//! `litecnn.toml` and `LITECNN_<FLAG>` for `litecnn serve` (DESIGN §3, §9): the file may set any
//! flag; flags beat the environment, which beats the file. A file that does not parse, names an
//! unknown setting or gives a bad value stops the command with an error naming it.

mod common;

use std::path::Path;
use std::process::Command;

use common::http::Request;
use common::server::Server;
use common::temp_dir;

/// Statuses of raw `/predict` bodies of these sizes: 413 when over `--max-body-bytes`, else
/// whatever a few zero bytes get (they are not an image).
fn statuses(server: &Server, sizes: &[usize]) -> Vec<u16> {
    sizes
        .iter()
        .map(|&n| {
            Request::post("/predict", "image/png", vec![0; n])
                .send(server.addr)
                .status
        })
        .collect()
}

#[test]
fn flags_beat_environment_beat_the_config_file() {
    let store = temp_dir("serve-config");
    // The default location: $XDG_CONFIG_HOME/litecnn/litecnn.toml (the test server's
    // XDG_CONFIG_HOME is <store>.config).
    let dir = store.with_extension("config").join("litecnn");
    std::fs::create_dir_all(&dir).unwrap();
    let file = "[serve]\nmax-body-bytes = \"100B\"\nrate-limit = 1\nhost = \"127.0.0.1\"\n";
    std::fs::write(dir.join("litecnn.toml"), file).unwrap();

    let from_file = Server::start(&store, &[]);
    let got = statuses(&from_file, &[150, 50]);
    // The default limit is 20 MiB, and without the file nothing is rate-limited.
    assert_eq!(
        got,
        [413, 429],
        "max-body-bytes and rate-limit (an integer) from the file"
    );
    drop(from_file);

    let env = [
        ("LITECNN_MAX_BODY_BYTES", "200"),
        ("LITECNN_RATE_LIMIT", "1000"),
    ];
    let from_env = Server::start_with_env(&store, &[], &env);
    let got = statuses(&from_env, &[150, 250]);
    assert!(
        got[0] != 413 && got[1] == 413,
        "environment beats file: {got:?}"
    );
    drop(from_env);

    let from_flag = Server::start_with_env(&store, &["--max-body-bytes", "300"], &env);
    let got = statuses(&from_flag, &[250, 350]);
    assert!(
        got[0] != 413 && got[1] == 413,
        "flag beats environment: {got:?}"
    );
}

#[test]
fn bad_config_files_stop_the_command_naming_the_file_and_setting() {
    let store = temp_dir("serve-config-bad");
    let write = |name: &str, text: &str| {
        let path = store.join(name);
        std::fs::write(&path, text).unwrap();
        path.to_str().unwrap().to_owned()
    };
    let typo = write("typo.toml", "[serve]\nrate-limt = 5\n");
    let bad_value = write("value.toml", "[serve]\nqueue = \"many\"\n");
    let not_toml = write("broken.toml", "[serve\nport = 1\n");
    let missing = store.join("missing.toml").to_str().unwrap().to_owned();
    let cases = [
        (&typo, vec!["rate-limt"]),
        (&bad_value, vec!["--queue", "many"]),
        (&not_toml, vec!["TOML"]),
        (&missing, vec!["cannot read"]),
    ];
    let mut failures = Vec::new();
    for (file, needles) in cases {
        let out = serve(&store, &["--port", "0", "--config", file]);
        let stderr = common::stderr(&out);
        let named = stderr.contains(file.as_str()) && needles.iter().all(|n| stderr.contains(n));
        if out.status.code() != Some(2) || !named {
            failures.push(format!(
                "{file}: exit {:?} (want 2), stderr must name the file and {needles:?}:\n{stderr}",
                out.status.code()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn serve(store: &Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_litecnn"))
        .arg("serve")
        .args(args)
        .env("LITECNN_STORE", store)
        .output()
        .unwrap()
}
