"""Two litecnn binaries (or one binary under two environments) on the same models, alternated.

A benchmark, never a test. On a shared 2-core VM the same binary's p50 moves by 1.5x from
minute to minute, and whichever configuration runs first after a pause can be slower by 20 %:
comparing two runs made minutes apart, or always alternating in the same order, shows effects
that are not there. This runs `litecnn bench` for A and B in turns, half of the rounds A first
and half B first, and reports each side's best p50 and their ratio.

    python bench/engines/ab.py OLD_BINARY NEW_BINARY MODEL.onnx... [--threads 1,2]
        [--rounds 4] [--iters 20] [--env-a K=V,...] [--env-b K=V,...]

The same binary twice with different `--env-a`/`--env-b` compares a run-time switch.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
from pathlib import Path


def p50_ms(binary: str, model: Path, threads: int, iters: int, env: dict[str, str]) -> float:
    cmd = [binary, "bench", str(model), "--threads", str(threads)]
    cmd += ["--iters", str(iters), "--warmup", "10", "--json"]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env).stdout
    return float(json.loads(out)["p50_ms"])


def parse_env(spec: str) -> dict[str, str]:
    env = dict(os.environ)
    for item in filter(None, spec.split(",")):
        key, sep, value = item.partition("=")
        if not sep:
            raise SystemExit(f"error: --env item {item!r} is not KEY=VALUE")
        env[key] = value
    return env


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("a", help="the baseline binary")
    ap.add_argument("b", help="the binary under test (may be the same as A)")
    ap.add_argument("models", nargs="+", type=Path)
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--rounds", type=int, default=4, help="even: half of them B runs first")
    ap.add_argument("--iters", type=int, default=20)
    ap.add_argument("--env-a", default="", help="KEY=VALUE,... for A's runs")
    ap.add_argument("--env-b", default="", help="KEY=VALUE,... for B's runs")
    args = ap.parse_args()
    sides = {
        "A": (args.a, parse_env(args.env_a)),
        "B": (args.b, parse_env(args.env_b)),
    }
    print("| model | threads | A best p50 ms | B best p50 ms | B / A |")
    print("|---|---:|---:|---:|---:|")
    ratios = []
    for model in args.models:
        for threads in (int(t) for t in args.threads.split(",")):
            best = {"A": float("inf"), "B": float("inf")}
            for round_ in range(args.rounds):
                order = ("A", "B") if round_ % 2 == 0 else ("B", "A")
                for side in order:
                    binary, env = sides[side]
                    ms = p50_ms(binary, model, threads, args.iters, env)
                    best[side] = min(best[side], ms)
            ratio = best["B"] / best["A"]
            ratios.append(ratio)
            print(f"| {model.name} | {threads} | {best['A']:.3f} | {best['B']:.3f} | {ratio:.3f} |")
    geomean = 1.0
    for r in ratios:
        geomean *= r
    print(f"\ngeometric mean B / A: {geomean ** (1 / len(ratios)):.3f}")


if __name__ == "__main__":
    main()
