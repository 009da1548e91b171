"""The manifest `litecnn.json` (DESIGN section 2), version names, metrics and source provenance."""

from __future__ import annotations

import json
import re
import subprocess
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .errors import MetricsError, OptionsError

FORMAT = "litecnn-bundle/1"
MANIFEST_FILE = "litecnn.json"
MODEL_FILE = "model.onnx"
GOLDEN_FILE = "golden.safetensors"
# A name or version is one path component a shell and a URL take as is; never `.`-led (temporary
# directories are) and never LATEST (the pointer file beside the versions).
_SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
_RESERVED = {"LATEST"}


@dataclass(frozen=True)
class Source:
    checkpoint: str
    checkpoint_sha256: str
    git_commit: str | None

    def manifest(self) -> dict[str, Any]:
        return {
            "checkpoint": self.checkpoint,
            "checkpoint_sha256": self.checkpoint_sha256,
            "git_commit": self.git_commit,
        }


def check_name(value: str, option: str) -> str:
    if not _SAFE_NAME.fullmatch(value) or value in _RESERVED:
        raise OptionsError(
            f"{option} {value!r}: use letters, digits, '.', '_' and '-' (not first), at most 128, "
            "and not LATEST"
        )
    return value


def default_version(now: datetime, checkpoint_sha256: str) -> str:
    """`YYYYMMDDTHHMMSSZ-<first 6 hex of the checkpoint SHA-256>`: sorts by publication time."""
    return f"{utc(now):%Y%m%dT%H%M%SZ}-{checkpoint_sha256[:6]}"


def utc(now: datetime) -> datetime:
    if now.tzinfo is None:
        raise ValueError("a timezone-aware datetime is needed")
    return now.astimezone(timezone.utc).replace(microsecond=0)


def build_manifest(
    *,
    name: str,
    version: str,
    created_at: datetime,
    preprocess: dict[str, Any],
    labels: list[dict[str, Any]],
    atol: float,
    rtol: float,
    metrics: dict[str, Any] | None,
    source: Source,
) -> dict[str, Any]:
    manifest: dict[str, Any] = {
        "format": FORMAT,
        "name": name,
        "version": version,
        "created_at": f"{utc(created_at):%Y-%m-%dT%H:%M:%SZ}",
        "model": {
            "file": MODEL_FILE,
            "input": "input",
            "output": "logits",
            "output_kind": "logits",
        },
        "preprocess": preprocess,
        "labels": labels,
        "golden": {"file": GOLDEN_FILE, "atol": atol, "rtol": rtol},
    }
    if metrics is not None:
        manifest["metrics"] = metrics
    manifest["source"] = source.manifest()
    return manifest


def encode_manifest(manifest: dict[str, Any]) -> bytes:
    return (json.dumps(manifest, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def read_metrics(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except FileNotFoundError as err:
        raise MetricsError(f"metrics file {path} not found") from err
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise MetricsError(f"metrics file {path}: not readable JSON: {err}") from err
    if not isinstance(data, dict):
        raise MetricsError(f"metrics file {path}: expected a JSON object")
    return data


def git_commit(directory: Path) -> str | None:
    """HEAD of the git work tree holding `directory`, or None (no git, not a repository)."""
    try:
        result = subprocess.run(
            ["git", "-C", str(directory), "rev-parse", "--verify", "-q", "HEAD"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    commit = result.stdout.strip()
    return commit if result.returncode == 0 and re.fullmatch(r"[0-9a-f]{40,64}", commit) else None
