"""Parity: ONNX Runtime must reproduce PyTorch's outputs on the golden inputs before publishing.

The check is the manifest's: elementwise `|onnx - torch| <= atol + rtol * |torch|`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import onnxruntime as ort

from .errors import ParityError
from .export import INPUT_NAME, OUTPUT_NAME


@dataclass(frozen=True)
class ParityReport:
    rows: int
    max_abs_error: float
    max_abs_reference: float


def check_parity(
    onnx_model: bytes, inputs: np.ndarray, expected: np.ndarray, atol: float, rtol: float
) -> ParityReport:
    """Run the model in ONNX Runtime on `inputs`; raise ParityError unless it matches `expected`."""
    if not np.isfinite(expected).all():
        raise ParityError("PyTorch's output on the golden inputs contains NaN or infinity")
    got = run_onnxruntime(onnx_model, inputs)
    if got.shape != expected.shape:
        raise ParityError(
            f"ONNX Runtime's output has shape {list(got.shape)}, PyTorch's {list(expected.shape)}"
        )
    error = np.abs(got.astype(np.float64) - expected)
    excess = error - (atol + rtol * np.abs(expected))
    if (excess > 0).any() or not np.isfinite(got).all():
        raise ParityError(_mismatch(got, expected, error, excess, atol, rtol))
    return ParityReport(
        rows=int(inputs.shape[0]),
        max_abs_error=float(error.max()),
        max_abs_reference=float(np.abs(expected).max()),
    )


def run_onnxruntime(onnx_model: bytes, inputs: np.ndarray) -> np.ndarray:
    options = ort.SessionOptions()
    options.log_severity_level = 3  # errors only
    try:
        session = ort.InferenceSession(
            onnx_model, sess_options=options, providers=["CPUExecutionProvider"]
        )
        return session.run([OUTPUT_NAME], {INPUT_NAME: inputs})[0]
    except Exception as err:  # onnxruntime raises its own exception types
        raise ParityError(f"ONNX Runtime cannot run the exported model: {err}") from err


def _mismatch(got, expected, error, excess, atol: float, rtol: float) -> str:
    bad = int(np.count_nonzero(~(excess <= 0)))
    row, col = np.unravel_index(
        int(np.nanargmax(np.where(np.isfinite(got), excess, np.inf))), got.shape
    )
    return (
        f"ONNX Runtime's output differs from PyTorch's: max abs error {np.nanmax(error):.3e}; "
        f"{bad} of {error.size} values outside atol {atol:g} + rtol {rtol:g}*|torch| "
        f"(worst: input {row}, class {col}: onnx {got[row, col]:.6g} vs torch "
        f"{expected[row, col]:.6g})"
    )
