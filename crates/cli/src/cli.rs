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
    Serve(ServeArgs),
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
}
