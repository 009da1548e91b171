"""A model repository written the way `litecnn-publish` writes one (the version directory complete
first, `LATEST` last, each by rename), from the two committed demo bundles."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "models" / "fashion-mnist"
V1 = "20261126T093546Z-e025eb"
V2 = "20261126T094737Z-70eb3a"


def publish(repo: Path, bundle: str, version: str) -> None:
    """Publishes committed bundle `bundle` as `version`; a new version name rewrites the
    manifest and so SHA256SUMS (and the bundle's digest)."""
    partial = repo / f".{version}.partial"
    shutil.copytree(EXAMPLES / bundle, partial)
    if version != bundle:
        manifest_path = partial / "litecnn.json"
        manifest = json.loads(manifest_path.read_text())
        manifest["version"] = version
        manifest_path.write_text(json.dumps(manifest, indent=2, ensure_ascii=False))
        files = sorted(p for p in partial.iterdir() if p.name not in ("SHA256SUMS",))
        sums = "".join(f"{hashlib.sha256(p.read_bytes()).hexdigest()}  {p.name}\n" for p in files)
        (partial / "SHA256SUMS").write_text(sums)
    partial.rename(repo / version)
    (repo / ".LATEST.tmp").write_text(f"{version}\n")
    os.replace(repo / ".LATEST.tmp", repo / "LATEST")
