"""Numerical parity of litecnn against ONNX Runtime on the torchvision model suite.

For every model x exporter x batch size, the ``litecnn run`` CLI ($LITECNN_BIN) and ONNX Runtime
(CPUExecutionProvider) run the same input; the test asserts (DESIGN.md sections 6 and 8):

* max abs error <= 1e-4 * max(1, max |reference|),
* the same top-1 class for every row (a reference tie within the tolerance accepts either class),
* for batch 3, the row-to-row differences ``out[i] - out[0]`` match within the same tolerance,
  so an engine that ignores its input cannot pass.

The models and inputs come from $LITECNN_PARITY_MODELS (written by make_models.py; ./scripts/test
sets both variables). Missing variables are a failure, never a skip. A table of the errors goes to
$LITECNN_ARTIFACTS/parity-report.txt (default ./test-artifacts) and to the terminal summary.
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest

MODELS = [
    "mobilenet_v2",
    "mobilenet_v3_small",
    "mobilenet_v3_large",
    "efficientnet_b0",
    "resnet18",
    "shufflenet_v2_x1_0",
    "squeezenet1_1",
    "mnasnet1_0",
    "regnet_y_400mf",
]
EXPORTERS = ["ts17", "dynamo18"]
BATCHES = [1, 3]
RTOL_SCALE = 1e-4  # tolerance = RTOL_SCALE * max(1, max |reference|)
RUN_TIMEOUT_S = 900


def _env_path(var: str) -> Path:
    value = os.environ.get(var)
    if not value:
        pytest.fail(f"${var} is not set: run the parity tests through ./scripts/test", False)
    path = Path(value)
    if not path.exists():
        pytest.fail(f"${var}={value} does not exist", False)
    return path


@pytest.fixture(scope="session")
def litecnn_bin() -> Path:
    path = _env_path("LITECNN_BIN")
    if not os.access(path, os.X_OK):
        pytest.fail(f"$LITECNN_BIN={path} is not executable", False)
    return path


@pytest.fixture(scope="session")
def models_dir() -> Path:
    path = _env_path("LITECNN_PARITY_MODELS")
    if not (path / "manifest.json").is_file():
        pytest.fail(f"{path}/manifest.json missing: the model generation did not finish", False)
    return path


@functools.lru_cache(maxsize=4)
def _session(path: Path) -> ort.InferenceSession:
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def _top1_matches(ref_row: np.ndarray, got_row: np.ndarray, tol: float) -> bool:
    """litecnn's top-1 must be the reference's, or tie with it within the tolerance."""
    best = int(ref_row.argmax())
    pick = int(got_row.argmax())
    return pick == best or ref_row[best] - ref_row[pick] <= tol


def test_manifest_lists_the_suite(models_dir: Path) -> None:
    manifest = json.loads((models_dir / "manifest.json").read_text())
    listed = {m["file"] for m in manifest["models"]}
    wanted = {f"{m}-{e}.onnx" for m in MODELS for e in EXPORTERS}
    assert wanted <= listed, f"missing from the manifest: {sorted(wanted - listed)}"
    for name in wanted:
        assert (models_dir / name).is_file(), f"{name} missing from {models_dir}"


@pytest.mark.parametrize("batch", BATCHES, ids=[f"b{b}" for b in BATCHES])
@pytest.mark.parametrize("exporter", EXPORTERS)
@pytest.mark.parametrize("model", MODELS)
def test_parity(
    model: str,
    exporter: str,
    batch: int,
    litecnn_bin: Path,
    models_dir: Path,
    parity_results: list[dict],
    tmp_path: Path,
) -> None:
    onnx_path = models_dir / f"{model}-{exporter}.onnx"
    input_path = models_dir / f"input-b{batch}.npy"
    assert onnx_path.is_file(), f"{onnx_path} missing"
    x = np.load(input_path)
    ref = _session(onnx_path).run(None, {"input": x})[0]

    out_path = tmp_path / "out.npy"
    cmd = [str(litecnn_bin), "run", str(onnx_path), "--input", str(input_path)]
    cmd += ["--output", str(out_path)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=RUN_TIMEOUT_S)
    row = {"model": model, "exporter": exporter, "batch": batch, "status": "FAIL"}
    parity_results.append(row)
    if proc.returncode != 0:
        row["note"] = f"exit {proc.returncode}: {proc.stderr.strip().splitlines()[-1:]}"
        pytest.fail(
            f"{' '.join(cmd)} exited with {proc.returncode}\n"
            f"--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}",
            False,
        )
    got = np.load(out_path)

    assert got.dtype == np.float32, f"litecnn wrote {got.dtype}, expected float32"
    assert got.shape == ref.shape, f"litecnn output shape {got.shape} != reference {ref.shape}"
    assert np.isfinite(got).all(), "litecnn output has NaN or infinite values"

    scale = max(1.0, float(np.abs(ref).max()))
    tol = RTOL_SCALE * scale
    err = float(np.abs(got - ref).max())
    row.update(max_abs_error=err, rel_error=err / scale, max_abs_ref=float(np.abs(ref).max()))
    top1_ok = [_top1_matches(r, g, tol) for r, g in zip(ref, got, strict=True)]
    diff_err = None
    if batch > 1:
        d_ref = ref[1:] - ref[:1]
        d_got = got[1:] - got[:1]
        diff_err = float(np.abs(d_got - d_ref).max())
        row.update(row_diff_error=diff_err, row_diff_ref=float(np.abs(d_ref).max()))

    summary = (
        f"{model} {exporter} batch {batch}: max abs error {err:.3e} (tolerance {tol:.3e}, "
        f"max |ref| {scale:.3f}), relative {err / scale:.3e}; top-1 ref "
        f"{ref.argmax(1).tolist()} litecnn {got.argmax(1).tolist()}"
        + (f"; row-difference error {diff_err:.3e}" if diff_err is not None else "")
    )
    ok = err <= tol and all(top1_ok) and (diff_err is None or diff_err <= tol)
    row["status"] = "ok" if ok else "FAIL"
    assert err <= tol, summary
    assert all(top1_ok), f"top-1 differs: {summary}"
    assert diff_err is None or diff_err <= tol, f"row differences do not match: {summary}"
