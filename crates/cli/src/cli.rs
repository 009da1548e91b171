//! The command-line grammar (DESIGN §3). Flags are data here; behaviour lives in `commands`.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "litecnn",
    version,
    about = "A small native CNN inference engine and server"
)]
pub struct Args {
    /// A config file setting any flag, in a table per subcommand (default:
    /// $XDG_CONFIG_HOME/litecnn/litecnn.toml, if it exists). Flags beat LITECNN_* environment
    /// variables, which beat the file.
    #[arg(long, global = true, value_name = "FILE", env = "LITECNN_CONFIG")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Runs a model on a tensor: float32 .npy in, the first output out as float32 .npy.
    Run(RunArgs),
    /// Shows a model's inputs, outputs, op histogram, parameters and MACs.
    Inspect(InspectArgs),
    /// Measures engine latency on random input.
    Bench(BenchArgs),
    /// Checks a bundle: checksums, signature, manifest, labels, golden outputs (exit 0 or 3).
    Verify(VerifyArgs),
    /// Classifies image files: decode, preprocess, run, top-k labels.
    Predict(PredictArgs),
    /// Serves a model over HTTP (/predict, /ready, /metrics, ...), hot-swapping promotions.
    Serve(Box<ServeArgs>),
    /// One deploy attempt from SOURCE now: detect, fetch, verify, gate, promote (exit 3: rejected).
    Deploy(DeployArgs),
    /// The deployer as its own process: deploy attempts from SOURCE in a loop.
    Watch(WatchArgs),
    /// Back to the previous promoted version (or --to a kept one), instantly.
    Rollback(RollbackArgs),
    /// The deploy record, newest first.
    History(HistoryArgs),
    /// What is serving, what came before, and what the watcher is doing.
    Status(StatusArgs),
    /// Installs `litecnn serve` as a service (systemd unit on Linux, launchd agent on macOS).
    Service(ServiceArgs),
}

#[derive(Debug, clap::Args)]
pub struct ServiceArgs {
    #[command(subcommand)]
    pub command: ServiceCommand,
}

#[derive(Debug, Subcommand)]
pub enum ServiceCommand {
    /// Writes the service definition; the arguments after `--` go to `litecnn serve`.
    Install(ServiceInstallArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ServiceKind {
    Systemd,
    Launchd,
}

#[derive(Debug, clap::Args)]
pub struct ServiceInstallArgs {
    /// systemd or launchd (default: this system's).
    #[arg(long, value_enum)]
    pub kind: Option<ServiceKind>,
    /// Where to write it (default: /etc/systemd/system/litecnn.service, ~/.config/systemd/user/
    /// with --user, ~/Library/LaunchAgents/dev.litecnn.serve.plist).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// A per-user systemd unit instead of a system one.
    #[arg(long)]
    pub user: bool,
    /// Print it instead of writing it.
    #[arg(long)]
    pub print: bool,
    /// Arguments for `litecnn serve`, e.g. -- --watch ssh://gpu/models/dogs --store /var/lib/litecnn
    #[arg(last = true)]
    pub serve_args: Vec<String>,
}

/// Where the store is (DESIGN §3 defaults: $LITECNN_STORE, $XDG_DATA_HOME/litecnn,
/// ~/.local/share/litecnn).
#[derive(Debug, Clone, clap::Args)]
pub struct StoreArg {
    /// The store directory: kept bundles, the `current` pointer, the history.
    #[arg(long, env = "LITECNN_STORE")]
    pub store: Option<PathBuf>,
}

/// The options every deploying command takes (DESIGN §3 "deploy options").
#[derive(Debug, Clone, clap::Args)]
pub struct DeployOptionArgs {
    /// Hold-out images (DIR/<label name>/*.jpg|png): the candidate's top-1 must not fall below the current model's.
    #[arg(long)]
    pub holdout: Option<PathBuf>,
    /// Allowed top-1 drop on the hold-out set, as a fraction (0.01 = one point).
    #[arg(long, default_value_t = 0.0)]
    pub max_accuracy_drop: f64,
    /// Reject a candidate whose median batch-1 inference exceeds this; during --probation, roll
    /// back when the live /predict p99 (as the server measures it) exceeds it.
    #[arg(long)]
    pub max_latency_ms: Option<f64>,
    /// After a promotion, watch the live model's server errors and p99 latency this long (e.g.
    /// 30s); on a breach roll back and reject the digest. `deploy`/`watch` need --server.
    #[arg(long, value_parser = crate::commands::parse_duration)]
    pub probation: Option<std::time::Duration>,
    /// minisign public key (a file or the base64 key): bundles must carry a valid signature.
    #[arg(long)]
    pub pubkey: Option<String>,
    /// With a checkpoint SOURCE: the command that makes a bundle, with {input} and {output}.
    #[arg(long)]
    pub convert: Option<String>,
    /// A checkpoint is taken once unchanged this long.
    #[arg(long, default_value = "2s", value_parser = crate::commands::parse_duration)]
    pub settle: std::time::Duration,
    /// Promoted bundles kept in the store for rollback (the current one included).
    #[arg(long, default_value_t = 5)]
    pub keep: usize,
    /// Webhook for promotions, rejections, rollbacks, failures (repeatable; Slack and Discord URLs get their formats).
    #[arg(long)]
    pub notify: Vec<String>,
    /// SSH private key for ssh:// sources (else ssh-agent, then ~/.ssh/id_ed25519, id_ecdsa, id_rsa).
    #[arg(long)]
    pub ssh_key: Option<PathBuf>,
    /// known_hosts file for ssh:// sources (default ~/.ssh/known_hosts).
    #[arg(long)]
    pub known_hosts: Option<PathBuf>,
    /// Trust and record the host key of an ssh:// host seen for the first time.
    #[arg(long)]
    pub accept_new_host_key: bool,
}

#[derive(Debug, clap::Args)]
pub struct DeployArgs {
    /// A model directory of a repository (follows LATEST), one bundle, or with --convert a
    /// checkpoint file or glob: a path, file://, ssh://[user@]host[:port]/path, s3://bucket/prefix, http(s)://...
    pub source: String,
    #[command(flatten)]
    pub store: StoreArg,
    #[command(flatten)]
    pub options: DeployOptionArgs,
    /// Try again even a digest that was rejected before, or the one already serving.
    #[arg(long)]
    pub force: bool,
    /// The `litecnn serve` serving this store (e.g. http://127.0.0.1:8891): --probation reads
    /// its /metrics.
    #[arg(long)]
    pub server: Option<String>,
}

#[derive(Debug, clap::Args)]
pub struct WatchArgs {
    /// As for `deploy`.
    pub source: String,
    #[command(flatten)]
    pub store: StoreArg,
    #[command(flatten)]
    pub options: DeployOptionArgs,
    /// Poll interval (local directories also wake on change events).
    #[arg(long, default_value = "30s", value_parser = crate::commands::parse_duration)]
    pub every: std::time::Duration,
    /// As for `deploy`.
    #[arg(long)]
    pub server: Option<String>,
}

#[derive(Debug, clap::Args)]
pub struct RollbackArgs {
    #[command(flatten)]
    pub store: StoreArg,
    /// A kept version, digest, or >= 12 hex digits of a digest (default: the previous promotion).
    #[arg(long)]
    pub to: Option<String>,
    /// Webhook to tell (repeatable).
    #[arg(long)]
    pub notify: Vec<String>,
}

#[derive(Debug, clap::Args)]
pub struct HistoryArgs {
    #[command(flatten)]
    pub store: StoreArg,
    /// How many attempts to show.
    #[arg(long, default_value_t = 20)]
    pub limit: usize,
    /// Print JSON (DESIGN §9).
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, clap::Args)]
pub struct StatusArgs {
    #[command(flatten)]
    pub store: StoreArg,
    /// Print JSON (DESIGN §9).
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// A bundle directory to serve. Without it: the store's current model, else the built-in
    /// demo model.
    #[arg(long, env = "LITECNN_MODEL")]
    pub model: Option<PathBuf>,
    /// The store whose `current` model is served and watched for promotions
    /// (default: $XDG_DATA_HOME/litecnn, else ~/.local/share/litecnn).
    #[arg(long, env = "LITECNN_STORE")]
    pub store: Option<PathBuf>,
    /// Admin tokens, one per line: turns on /admin/deploy, /admin/rollback and /admin/watch.
    #[arg(long)]
    pub admin_token_file: Option<PathBuf>,
    /// Also run the deployer on SOURCE in this process (as `litecnn watch`).
    #[arg(long)]
    pub watch: Option<String>,
    /// Poll interval of --watch.
    #[arg(long, default_value = "30s", value_parser = crate::commands::parse_duration)]
    pub every: std::time::Duration,
    #[command(flatten)]
    pub deploy: DeployOptionArgs,
    /// Address to listen on.
    #[arg(long, env = "LITECNN_HOST", default_value = "127.0.0.1")]
    pub host: std::net::IpAddr,
    /// Port to listen on (0: any free port; the address is printed).
    #[arg(long, env = "LITECNN_PORT", default_value_t = 8891)]
    pub port: u16,
    /// Inference worker threads (default: the number of cores).
    #[arg(long, env = "LITECNN_THREADS")]
    pub threads: Option<usize>,
    /// Bearer tokens, one per line (# comments); then every route but /health and /ready needs one.
    #[arg(long, env = "LITECNN_TOKEN_FILE")]
    pub token_file: Option<PathBuf>,
    /// Largest request body: bytes, or with a unit (KiB, MiB, GiB, kB, MB, GB).
    #[arg(long, env = "LITECNN_MAX_BODY_BYTES", default_value = "20MiB", value_parser = crate::commands::parse_bytes)]
    pub max_body_bytes: usize,
    /// Largest image, in pixels (width x height), checked before decoding.
    #[arg(long, env = "LITECNN_MAX_PIXELS", default_value_t = 40_000_000)]
    pub max_pixels: u64,
    /// Requests that may wait for an inference worker; more get 503 overloaded.
    #[arg(long, env = "LITECNN_QUEUE", default_value_t = 64)]
    pub queue: usize,
    /// Images a worker runs together when they are waiting for the same model (1 to 8): more
    /// requests per second under load, for one batch's activations more memory per worker.
    #[arg(long, env = "LITECNN_MAX_BATCH", default_value_t = 1)]
    pub max_batch: usize,
    /// Longest a request may take (e.g. 30s, 500ms, 2m).
    #[arg(long, env = "LITECNN_REQUEST_TIMEOUT", default_value = "30s", value_parser = crate::commands::parse_duration)]
    pub request_timeout: std::time::Duration,
    /// Requests per second per client IP (bursts of up to N); more get 429 rate_limited.
    /// /health and /ready are never limited. Default: no limit.
    #[arg(long, env = "LITECNN_RATE_LIMIT", value_name = "N")]
    pub rate_limit: Option<std::num::NonZeroU32>,
    /// Serve HTTPS with this PEM certificate chain (leaf first); needs --tls-key.
    #[arg(
        long,
        env = "LITECNN_TLS_CERT",
        value_name = "FILE",
        requires = "tls_key"
    )]
    pub tls_cert: Option<PathBuf>,
    /// The PEM private key of --tls-cert (PKCS#8, PKCS#1 or SEC1).
    #[arg(
        long,
        env = "LITECNN_TLS_KEY",
        value_name = "FILE",
        requires = "tls_cert"
    )]
    pub tls_key: Option<PathBuf>,
    /// After SIGTERM or Ctrl-C, how long requests in flight may still run before they are cut
    /// off (e.g. 30s, 500ms).
    #[arg(long, env = "LITECNN_SHUTDOWN_TIMEOUT", default_value = "30s", value_parser = crate::commands::parse_duration)]
    pub shutdown_timeout: std::time::Duration,
}

#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    /// A bundle directory (`litecnn-bundle/1`).
    pub bundle: PathBuf,
    /// minisign public key: a file, or the base64 key itself. Makes the signature required.
    #[arg(long)]
    pub pubkey: Option<String>,
}

#[derive(Debug, clap::Args)]
pub struct PredictArgs {
    /// A bundle directory (preprocessing and labels from its manifest) or an .onnx file.
    pub model: PathBuf,
    /// JPEG or PNG files.
    #[arg(required = true)]
    pub images: Vec<PathBuf>,
    /// How many classes to show per image.
    #[arg(long, default_value_t = 5)]
    pub top_k: usize,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// An .onnx file or a bundle directory.
    pub model: PathBuf,
    /// Input tensor (.npy, float32).
    #[arg(long)]
    pub input: PathBuf,
    /// Where to write the first output (.npy, float32).
    #[arg(long)]
    pub output: PathBuf,
    /// Worker threads (default: the number of cores).
    #[arg(long)]
    pub threads: Option<usize>,
}

#[derive(Debug, clap::Args)]
pub struct InspectArgs {
    /// An .onnx file or a bundle directory.
    pub model: PathBuf,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// An .onnx file or a bundle directory.
    pub model: PathBuf,
    /// Worker threads (default: the number of cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Batch size used for a symbolic batch dimension.
    #[arg(long, default_value_t = 1)]
    pub batch: usize,
    /// Untimed runs before measuring.
    #[arg(long, default_value_t = 10)]
    pub warmup: usize,
    /// Timed runs.
    #[arg(long, default_value_t = 50)]
    pub iters: usize,
    /// Print one JSON object: {"model","threads","batch","iters","p50_ms","p90_ms","mean_ms","min_ms"}.
    #[arg(long)]
    pub json: bool,
    /// After the timed runs, run `--iters` more timing every node, and print where the time
    /// goes: by op kind and the slowest nodes, with their weight and output shapes.
    #[arg(long, conflicts_with = "json")]
    pub profile: bool,
}
