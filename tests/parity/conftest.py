"""Collects the parity numbers; writes them to a report file and to the terminal summary."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# One dict per parity test case, filled through the ``parity_results`` fixture.
RESULTS: list[dict] = []


@pytest.fixture(scope="session")
def parity_results() -> list[dict]:
    return RESULTS


def _table(results: list[dict]) -> str:
    head = (
        f"{'model':<20} {'exporter':<9} {'batch':>5} {'max abs err':>12} {'rel err':>10} "
        f"{'row-diff err':>12} {'max |ref|':>9}  status"
    )
    lines = [head, "-" * len(head)]

    def fmt(value: float | None, spec: str) -> str:
        return "-" if value is None else format(value, spec)

    for r in sorted(results, key=lambda r: (r["model"], r["exporter"], r["batch"])):
        lines.append(
            f"{r['model']:<20} {r['exporter']:<9} {r['batch']:>5} "
            f"{fmt(r.get('max_abs_error'), '.3e'):>12} {fmt(r.get('rel_error'), '.2e'):>10} "
            f"{fmt(r.get('row_diff_error'), '.3e'):>12} {fmt(r.get('max_abs_ref'), '.3f'):>9}  "
            f"{r['status']}" + (f"  {r['note']}" if r.get("note") else "")
        )
    return "\n".join(lines) + "\n"


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:  # noqa: ARG001
    results = RESULTS
    if not results:
        return
    table = _table(results)
    root = Path(__file__).resolve().parents[2]
    artifacts = Path(os.environ.get("LITECNN_ARTIFACTS") or root / "test-artifacts")
    artifacts.mkdir(parents=True, exist_ok=True)
    report = artifacts / "parity-report.txt"
    bin_ = os.environ.get("LITECNN_BIN", "?")
    models = os.environ.get("LITECNN_PARITY_MODELS", "?")
    report.write_text(
        "litecnn vs ONNX Runtime (CPUExecutionProvider); tolerance 1e-4 * max(1, max |ref|)\n"
        f"binary: {bin_}\nmodels: {models}\n\n{table}"
    )
    terminalreporter.section("litecnn parity vs ONNX Runtime")
    terminalreporter.write(table)
    terminalreporter.write_line(f"(written to {report})")
