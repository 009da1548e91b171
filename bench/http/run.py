"""HTTP /predict: `litecnn serve` vs FastAPI + ONNX Runtime, side by side in one run.

A benchmark, never a test (DESIGN section 8: "HTTP /predict, JPEG, concurrency 8: >= 3x the
requests/s of FastAPI + ONNX Runtime; p99 <= 2x p50"; "server memory: resident <= 15 MB + the
model's weight bytes").

    python bench/http/run.py [--bin BINARY] [--duration 10] [--rounds 3] [--models demo,mobilenet]
        [--serve-args "--max-batch 4"]

Both servers get the same bundle and the same JPEG (a 451x300 photo from scikit-image), posted
as a raw image/jpeg body by wrk (tests/wrk/predict.lua) at concurrency 1, 8 and 32. The servers
run side by side for the whole run and take turns (the order flips at each concurrency), so a
noisy neighbour hurts both alike; the whole sweep runs `--rounds` times, and each cell reports
the round with the most requests/s (on a shared VM one server's throughput swings by 1.5x
from minute to minute). Both get 2 inference threads. Peak resident memory is VmHWM of
each server process over the whole run of that model; its split at the end of the run (anonymous
memory: heap, weights, buffers; file-backed: the binary's and libraries' mapped code, clean and
shared pages the kernel can drop) is printed under the table.

Models: `demo` (the built-in Fashion-MNIST bundle, 64x64 input) and `mobilenet` (torchvision
mobilenet_v3_small with random weights, published once into $LITECNN_CACHE/bench-http with the
repository's publisher; speed does not depend on the weights' values).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from contextlib import ExitStack
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
WRK_SCRIPT = ROOT / "tests/wrk/predict.lua"
CONCURRENCY = (1, 8, 32)
THREADS = 2


def cache_dir() -> Path:
    base = os.environ.get("LITECNN_CACHE") or Path(
        os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache", "litecnn"
    )
    path = Path(base) / "bench-http"
    path.mkdir(parents=True, exist_ok=True)
    return path


def demo_bundle() -> Path:
    repo = ROOT / "examples/models/fashion-mnist"
    return repo / (repo / "LATEST").read_text().strip()


def mobilenet_bundle(cache: Path) -> Path:
    """torchvision mobilenet_v3_small (random weights) as a bundle, published once."""
    out = cache / "mobilenet-v3-small"
    if (out / "litecnn.json").exists():
        return out
    import torch
    import torchvision

    torch.manual_seed(0)
    checkpoint, labels = cache / "mobilenet_v3_small.pth", cache / "imagenet-labels.json"
    torch.save(torchvision.models.mobilenet_v3_small(weights=None).state_dict(), checkpoint)
    labels.write_text(json.dumps([f"class {i}" for i in range(1000)]))
    publish = [sys.executable, "-m", "litecnn.publish", "export"]
    model = ["--model", "torchvision:mobilenet_v3_small", "--checkpoint", str(checkpoint)]
    where = ["--labels", str(labels), "--name", "mobilenet-v3-small", "--out", str(out)]
    subprocess.run([*publish, *model, *where], check=True)
    return out


def photo_jpeg(cache: Path) -> Path:
    path = cache / "chelsea.jpg"
    if not path.exists():
        from PIL import Image
        from skimage import data

        Image.fromarray(data.chelsea()).save(path, quality=90)
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(port: int, proc: subprocess.Popen, what: str) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"error: {what} exited with {proc.returncode} before it was ready")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                if s.recv(64).startswith(b"HTTP/1.1 200"):
                    return
        except OSError:
            pass
        time.sleep(0.2)
    sys.exit(f"error: {what} did not become healthy on port {port}")


def start(stack: ExitStack, name: str, cmd: list[str], port: int) -> subprocess.Popen:
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    stack.callback(stop, proc)
    wait_healthy(port, proc, name)
    return proc


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            # KiB in /proc; MB of 10^6 bytes, like the model weights the target adds to.
            return int(line.split()[1]) * 1024 / 1e6
    return float("nan")


def rss_split_mb(pid: int) -> tuple[float, float]:
    """(anonymous, file-backed) resident MB of `pid` now."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("RssAnon", "RssFile"):
            fields[key] = int(value.split()[0]) * 1024 / 1e6
    return fields.get("RssAnon", float("nan")), fields.get("RssFile", float("nan"))


def wrk(port: int, connections: int, seconds: int, jpeg: Path) -> dict:
    cmd = ["wrk", "-t", str(min(2, connections)), "-c", str(connections), "-d", f"{seconds}s"]
    cmd += ["--timeout", "60s", "-s", str(WRK_SCRIPT), f"http://127.0.0.1:{port}/predict"]
    env = dict(os.environ, WRK_BODY_FILE=str(jpeg), WRK_CONTENT_TYPE="image/jpeg")
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env).stdout
    fields: dict[str, list[str]] = {}
    for line in out.splitlines():
        key, *values = line.split()
        fields.setdefault(key, values)
    requests, duration_s = int(fields["requests"][0]), int(fields["duration_us"][0]) / 1e6
    errors = sum(int(v) for v in fields["errors"])
    return {
        "rps": requests / duration_s,
        "p50": int(fields["latency_p50_us"][0]) / 1e3,
        "p99": int(fields["latency_p99_us"][0]) / 1e3,
        "errors": errors,
    }


def bench_model(
    model: str,
    bundle: Path,
    binary: str,
    jpeg: Path,
    seconds: int,
    rounds: int,
    serve_args: list[str],
) -> list[dict]:
    ports = {"litecnn": free_port(), "fastapi": free_port()}
    litecnn = [binary, "serve", "--model", str(bundle), "--host", "127.0.0.1", *serve_args]
    fastapi = [sys.executable, str(HERE / "fastapi_server.py"), str(bundle)]
    commands = {
        "litecnn": [*litecnn, "--port", str(ports["litecnn"]), "--threads", str(THREADS)],
        "fastapi": [*fastapi, "--port", str(ports["fastapi"]), "--threads", str(THREADS)],
    }
    rows = []
    with ExitStack() as stack:
        procs = {name: start(stack, name, cmd, ports[name]) for name, cmd in commands.items()}
        for name in procs:
            wrk(ports[name], 1, 2, jpeg)  # warm-up
        order = list(procs)
        best: dict[tuple[str, int], dict] = {}
        for _ in range(rounds):
            for connections in CONCURRENCY:
                for name in order:
                    result = wrk(ports[name], connections, seconds, jpeg)
                    print(f"  {model} {name} c={connections}: {result}", file=sys.stderr)
                    key = (name, connections)
                    if key not in best or result["rps"] > best[key]["rps"]:
                        best[key] = result
                order.reverse()
        rss = {name: peak_rss_mb(proc.pid) for name, proc in procs.items()}
        split = {name: rss_split_mb(proc.pid) for name, proc in procs.items()}
    for (name, connections), result in best.items():
        rows.append({"model": model, "server": name, "c": connections, **result})
        rows[-1]["rss"] = rss[name]
        rows[-1]["anon"], rows[-1]["file"] = split[name]
    return rows


def table(rows: list[dict]) -> str:
    lines = [
        "| model | server | concurrency | req/s | p50 ms | p99 ms | errors | peak RSS MB |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['model']} | {r['server']} | {r['c']} | {r['rps']:.1f} | {r['p50']:.1f} "
            f"| {r['p99']:.1f} | {r['errors']} | {r['rss']:.0f} |"
        )
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bin", default=str(ROOT / "target/release/litecnn"))
    ap.add_argument("--duration", type=int, default=10, help="seconds per measurement")
    ap.add_argument("--rounds", type=int, default=3, help="sweeps; each cell keeps its best")
    ap.add_argument("--models", default="demo,mobilenet")
    ap.add_argument(
        "--serve-args", default="", help='more `litecnn serve` flags, e.g. "--max-batch 4"'
    )
    args = ap.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("error: wrk not found (Debian: apt-get install wrk)")
    if args.bin == str(ROOT / "target/release/litecnn"):
        subprocess.run(["cargo", "build", "--release", "-p", "litecnn-cli"], cwd=ROOT, check=True)
    cache = cache_dir()
    bundles = {"demo": demo_bundle, "mobilenet": lambda: mobilenet_bundle(cache)}
    jpeg = photo_jpeg(cache)
    load_before = os.getloadavg()
    rows = []
    for model in args.models.split(","):
        bundle = bundles[model]()
        serve_args = args.serve_args.split()
        rows += bench_model(model, bundle, args.bin, jpeg, args.duration, args.rounds, serve_args)
    print(table(rows))
    for model in args.models.split(","):
        rps = {r["server"]: r["rps"] for r in rows if r["model"] == model and r["c"] == 8}
        ratio = rps["litecnn"] / rps["fastapi"]
        print(f"{model}: litecnn / fastapi req/s at concurrency 8 = {ratio:.2f}")
        for server in ("litecnn", "fastapi"):
            r = next(r for r in rows if r["model"] == model and r["server"] == server)
            print(
                f"{model}: {server} resident at the end: {r['anon']:.1f} MB anonymous, "
                f"{r['file']:.1f} MB file-backed (peak {r['rss']:.1f} MB)"
            )
    print(
        f"\n{os.cpu_count()} CPUs; load average before {load_before[0]:.2f}, "
        f"after {os.getloadavg()[0]:.2f}; {args.duration} s per cell, "
        f"best of {args.rounds} rounds; wrk keep-alive connections; "
        f"litecnn serve flags: {args.serve_args or '(none)'}"
    )


if __name__ == "__main__":
    main()
