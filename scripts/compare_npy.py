#!/usr/bin/env python3
"""Compare two float32 .npy files of logits: ``compare_npy.py GOT.npy EXPECTED.npy``.

Standard library only (the demo must not need numpy). Prints both, the max abs error and the
top-1 per row; exits 1 unless max abs error <= 1e-4 * max(1, max |expected|) and the top-1 classes
are the same (the DESIGN.md parity contract).
"""

from __future__ import annotations

import ast
import math
import struct
import sys


def load(path: str) -> tuple[tuple[int, ...], list[float]]:
    with open(path, "rb") as f:
        data = f.read()
    if data[:6] != b"\x93NUMPY":
        raise SystemExit(f"{path}: not a .npy file")
    major = data[6]
    if major == 1:
        (hlen,), start = struct.unpack("<H", data[8:10]), 10
    else:
        (hlen,), start = struct.unpack("<I", data[8:12]), 12
    header = ast.literal_eval(data[start : start + hlen].decode("latin1"))
    if header["descr"] != "<f4" or header["fortran_order"]:
        raise SystemExit(f"{path}: expected little-endian float32 in C order, got {header}")
    shape = tuple(header["shape"])
    count = math.prod(shape)
    body = data[start + hlen :]
    return shape, list(struct.unpack(f"<{count}f", body[: 4 * count]))


def rows(shape: tuple[int, ...], values: list[float]) -> list[list[float]]:
    width = shape[-1] if shape else 1
    return [values[i : i + width] for i in range(0, len(values), width)]


def main() -> int:
    got_shape, got = load(sys.argv[1])
    want_shape, want = load(sys.argv[2])
    if got_shape != want_shape:
        print(f"shape {got_shape} != expected {want_shape}")
        return 1
    err = max(abs(a - b) for a, b in zip(got, want, strict=True))
    tol = 1e-4 * max(1.0, max(abs(v) for v in want))
    ok = err <= tol
    for i, (g, w) in enumerate(zip(rows(got_shape, got), rows(want_shape, want), strict=True)):
        top_g, top_w = g.index(max(g)), w.index(max(w))
        ok = ok and top_g == top_w
        print(f"row {i}: litecnn  top-1 {top_g}: " + " ".join(f"{v:8.4f}" for v in g))
        print(f"       expected top-1 {top_w}: " + " ".join(f"{v:8.4f}" for v in w))
    print(f"max abs error {err:.2e} (tolerance {tol:.1e}): {'OK' if ok else 'MISMATCH'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
