"""litecnn vs ONNX Runtime, tract and PyTorch, side by side in one run (a benchmark, never a test).

    python bench/engines/compare.py --bin target/release/litecnn [MODEL.onnx ...]
        [--suite DIR] [--threads 1 2] [--iters 20] [--rounds 3] [--no-torch] [--no-tract]

Without MODEL arguments, every `*-ts17.onnx` of `--suite` (the parity models cache) is taken.
For each model and thread count the engines run alternately (`rounds` times each, `iters` timed
runs per round after a warm-up), so a noisy neighbour hurts all alike; each engine's best round
p50 is reported. ONNX Runtime runs with both its spinning and its non-spinning thread pool and
the better is kept. tract (PyPI `tract`, see requirements.txt) has no intra-op threads, so it runs
once per model; PyTorch runs the torchvision architecture the file is named after (random
weights: latency does not depend on them).

Printed: p50 latencies, the litecnn/ORT ratio (geometric mean at the end), litecnn's GFLOP/s
as a share of the machine's FP32 peak (`--peak-gflops` per core), and per model the peak RSS
and wall time (process start to result written) of one `litecnn run`.
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort

SUITE = Path.home() / ".cache/litecnn/models-d6b95edab540"


def litecnn_p50(binary: str, model: Path, threads: int, iters: int) -> float:
    cmd = [binary, "bench", str(model), "--threads", str(threads), "--batch", "1"]
    cmd += ["--warmup", "3", "--iters", str(iters), "--json"]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return float(json.loads(out)["p50_ms"])


def litecnn_macs(binary: str, model: Path) -> int | None:
    out = subprocess.run(
        [binary, "inspect", str(model), "--json"], check=True, capture_output=True, text=True
    ).stdout
    return json.loads(out).get("macs")


def litecnn_cold_run(binary: str, model: Path, x: np.ndarray) -> tuple[float, float]:
    """Peak RSS (MB, 10^6 bytes like the weights) and wall time (ms) of one `litecnn run`,
    process start to exit.

    The peak comes from GNU time (Debian package `time`): a process forked from this Python
    process would inherit its resident-size high-water mark across `exec`.
    """
    with tempfile.TemporaryDirectory() as tmp:
        src, dst = Path(tmp, "x.npy"), Path(tmp, "y.npy")
        np.save(src, x)
        cmd = ["/usr/bin/time", "-f", "%M", binary, "run", str(model), "--input", str(src)]
        cmd += ["--output", str(dst)]
        t0 = time.perf_counter()
        done = subprocess.run(cmd, check=True, capture_output=True, text=True)
        wall = (time.perf_counter() - t0) * 1e3
    # GNU time reports KiB.
    return int(done.stderr.strip().splitlines()[-1]) * 1024 / 1e6, wall


def timed_p50(run, iters: int) -> float:
    for _ in range(3):
        run()
    times = []
    for _ in range(iters):
        t0 = time.perf_counter()
        run()
        times.append((time.perf_counter() - t0) * 1e3)
    return float(np.median(times))


def ort_runners(model: Path, threads: int, x: np.ndarray) -> list:
    runners = []
    for spin in (True, False):
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        opts.add_session_config_entry("session.intra_op.allow_spinning", "1" if spin else "0")
        s = ort.InferenceSession(str(model), opts, providers=["CPUExecutionProvider"])
        feed = {s.get_inputs()[0].name: x}
        runners.append(lambda s=s, feed=feed: s.run(None, feed))
    return runners


def tract_runner(model: Path, x: np.ndarray):
    try:
        import tract
    except ImportError:
        return None
    inference = tract.onnx().load(str(model))
    inference.set_input_fact(0, ",".join(map(str, x.shape)) + ",f32")
    runnable = inference.into_model().into_runnable()
    return lambda: runnable.run([x])


def torch_runner(model: Path, threads: int, x: np.ndarray):
    try:
        import torch
        import torchvision
    except ImportError:
        return None
    arch = model.name.split("-")[0]
    if not hasattr(torchvision.models, arch):
        return None
    torch.set_num_threads(threads)
    net = getattr(torchvision.models, arch)(weights=None).eval()
    xt = torch.from_numpy(x)

    def run():
        with torch.inference_mode():
            net(xt)

    return run


def geomean(values: list[float]) -> float:
    return math.exp(sum(math.log(v) for v in values) / len(values)) if values else float("nan")


def bench_model(args, model: Path, threads: int, x: np.ndarray, tract_ms: dict) -> dict:
    ort_runs = ort_runners(model, threads, x)
    torch_run = None if args.no_torch else torch_runner(model, threads, x)
    ours, theirs, torch_ms = [], [], []
    for _ in range(args.rounds):
        ours.append(litecnn_p50(args.bin, model, threads, args.iters))
        theirs.extend(timed_p50(r, args.iters) for r in ort_runs)
        if torch_run:
            torch_ms.append(timed_p50(torch_run, args.iters))
    if model not in tract_ms and not args.no_tract:
        run = tract_runner(model, x)
        best = min(timed_p50(run, args.iters) for _ in range(args.rounds)) if run else None
        tract_ms[model] = best
    return {
        "litecnn": min(ours),
        "ort": min(theirs),
        "torch": min(torch_ms) if torch_ms else None,
        "tract": tract_ms.get(model),
    }


def show(v: float | None, fmt: str = "8.2f") -> str:
    return format(v, fmt) if v is not None else "-".rjust(int(fmt.split(".")[0]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("models", nargs="*", type=Path)
    ap.add_argument("--bin", default="target/release/litecnn")
    ap.add_argument("--suite", type=Path, default=SUITE)
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--iters", type=int, default=20)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--peak-gflops", type=float, default=118.0, help="FP32 peak of one core")
    ap.add_argument("--no-torch", action="store_true")
    ap.add_argument("--no-tract", action="store_true")
    args = ap.parse_args()
    models = args.models or sorted(args.suite.glob("*-ts17.onnx"))
    x = np.random.default_rng(0).standard_normal((1, 3, 224, 224), dtype=np.float32)
    print(f"batch=1 iters={args.iters} rounds={args.rounds} peak={args.peak_gflops} GFLOP/s/core")
    head = f"{'model':<28} {'thr':>3} {'litecnn':>8} {'ORT':>8} {'ratio':>6} {'tract':>8}"
    print(f"{head} {'torch':>8} {'GFLOP/s':>8} {'%peak':>6}   (p50 ms)")
    tract_ms: dict = {}
    ratios: dict[int, list[float]] = {t: [] for t in args.threads}
    for model in models:
        macs = litecnn_macs(args.bin, model)
        for threads in args.threads:
            r = bench_model(args, model, threads, x, tract_ms)
            ratio = r["litecnn"] / r["ort"]
            ratios[threads].append(ratio)
            gflops = 2 * macs / r["litecnn"] / 1e6 if macs else None
            share = 100 * gflops / (args.peak_gflops * threads) if gflops else None
            print(
                f"{model.name:<28} {threads:>3} {r['litecnn']:>8.2f} {r['ort']:>8.2f} {ratio:>6.2f}"
                f" {show(r['tract'])} {show(r['torch'])} {show(gflops, '8.1f')}"
                f" {show(share, '6.1f')}",
                flush=True,
            )
    for threads, values in ratios.items():
        print(f"geometric mean litecnn/ORT at {threads} thread(s): {geomean(values):.2f}")
    # The target is resident memory within weights + 15 MB: the last column is what it uses.
    header = f"{'weights MB':>10} {'peak RSS MB':>11} {'cold run ms':>11} {'RSS - weights':>13}"
    print(f"\n{'model':<28} {header}")
    for model in models:
        rss, wall = litecnn_cold_run(args.bin, model, x)
        weights = model.stat().st_size / 1e6
        print(
            f"{model.name:<28} {weights:>10.1f} {rss:>11.1f} {wall:>11.0f} {rss - weights:>13.1f}"
        )


if __name__ == "__main__":
    main()
