"""litecnn vs ONNX Runtime latency, side by side in one run (a benchmark, never a test).

    python bench/engines/compare.py --bin target/release/litecnn MODEL.onnx [MODEL.onnx ...]
        [--threads 1] [--batch 1] [--iters 20] [--rounds 3]

For each model the two engines run alternately (`rounds` times each, `iters` timed runs per
round after a warm-up), so a noisy neighbour hurts both alike. Prints p50 per engine (the best
round's p50) and the litecnn/ORT ratio. ONNX Runtime gets both its spinning and non-spinning
thread pool; the better one is reported.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort


def litecnn_p50(binary: str, model: Path, threads: int, batch: int, iters: int) -> float:
    cmd = [binary, "bench", str(model), "--threads", str(threads), "--batch", str(batch)]
    cmd += ["--warmup", "2", "--iters", str(iters), "--json"]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return float(json.loads(out)["p50_ms"])


def ort_session(model: Path, threads: int, spin: bool) -> ort.InferenceSession:
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.add_session_config_entry("session.intra_op.allow_spinning", "1" if spin else "0")
    return ort.InferenceSession(str(model), opts, providers=["CPUExecutionProvider"])


def ort_p50(session: ort.InferenceSession, x: np.ndarray, iters: int) -> float:
    feed = {session.get_inputs()[0].name: x}
    for _ in range(2):
        session.run(None, feed)
    times = []
    for _ in range(iters):
        t0 = time.perf_counter()
        session.run(None, feed)
        times.append((time.perf_counter() - t0) * 1e3)
    return float(np.median(times))


def input_for(session: ort.InferenceSession, batch: int) -> np.ndarray:
    shape = [d if isinstance(d, int) else batch for d in session.get_inputs()[0].shape]
    return np.random.default_rng(0).standard_normal(shape, dtype=np.float32)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("models", nargs="+", type=Path)
    ap.add_argument("--bin", default="target/release/litecnn")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--iters", type=int, default=20)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    print(f"threads={args.threads} batch={args.batch} iters={args.iters} rounds={args.rounds}")
    print(f"{'model':<40} {'litecnn p50 ms':>15} {'ORT p50 ms':>11} {'ratio':>7}")
    for model in args.models:
        sessions = [ort_session(model, args.threads, spin) for spin in (True, False)]
        x = input_for(sessions[0], args.batch)
        ours, theirs = [], []
        for _ in range(args.rounds):
            ours.append(litecnn_p50(args.bin, model, args.threads, args.batch, args.iters))
            theirs.extend(ort_p50(s, x, args.iters) for s in sessions)
        a, b = min(ours), min(theirs)
        print(f"{model.name:<40} {a:>15.2f} {b:>11.2f} {a / b:>7.1f}")


if __name__ == "__main__":
    main()
