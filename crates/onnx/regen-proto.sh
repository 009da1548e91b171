#!/usr/bin/env bash
# Regenerates src/proto/onnx.rs from an onnx.proto (proto2) without protoc.
#
# The code is generated once and committed, so building litecnn-onnx needs only `prost`:
# no build.rs, no protoc, no protox in the build graph. This script builds a throwaway crate
# (prost-build + protox, pure Rust) in a temporary directory and runs it.
#
# Usage: crates/onnx/regen-proto.sh [path/to/onnx.proto]
# Default: the onnx.proto shipped in the pinned `onnx` 1.22.0 wheel of the probe venv.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
proto="${1:-/tmp/probe/venv/lib/python3.11/site-packages/onnx/onnx.proto}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

mkdir -p "$work/src" "$work/proto" "$work/out"
cp "$proto" "$work/proto/onnx.proto"
cat >"$work/Cargo.toml" <<'TOML'
[package]
name = "onnxgen"
version = "0.0.0"
edition = "2024"
publish = false

[workspace]

[dependencies]
# cleanup-markdown rewrites indented blocks in the proto comments so rustdoc does not run
# them as doctests.
prost-build = { version = "=0.14.6", features = ["cleanup-markdown"] }
protox = "=0.10.0"
TOML
cat >"$work/src/main.rs" <<'RS'
fn main() {
    let mut args = std::env::args().skip(1);
    let (dir, out) = (args.next().unwrap(), args.next().unwrap());
    let fds = protox::compile(["onnx.proto"], [dir]).expect("protox failed");
    prost_build::Config::new()
        .out_dir(out)
        .compile_fds(fds)
        .expect("prost-build failed");
}
RS
cargo run --quiet --manifest-path "$work/Cargo.toml" -- "$work/proto" "$work/out"

{
    echo "// Generated from onnx.proto (proto2) of the PyPI \`onnx\` 1.22.0 wheel by prost-build 0.14.6"
    echo "// (feature cleanup-markdown) + protox 0.10.0; see crates/onnx/regen-proto.sh. Do not edit."
    echo "// onnx.proto is Apache-2.0, (c) ONNX Project Contributors."
    cat "$work/out/onnx.rs"
} >"$here/src/proto/onnx.rs"
# Formatted as `cargo fmt` would, so regenerating gives no diff.
rustfmt --edition 2024 "$here/src/proto/onnx.rs"
echo "wrote $here/src/proto/onnx.rs"
