"""Writing bundles so that no reader ever sees half of one.

A bundle is written completely into a temporary sibling directory (`.<version>.*.partial`):
the files, then `SHA256SUMS` over them, then its signature; everything is fsynced and the
directory renamed into place in one step. In a model repository, `<repo>/<name>/LATEST` is then
replaced the same way (temporary file, fsync, rename). An existing non-empty target is never
overwritten.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path

from .errors import RepositoryError

SUMS_FILE = "SHA256SUMS"
SIGNATURE_FILE = "SHA256SUMS.minisig"
LATEST_FILE = "LATEST"

# Signs the SHA256SUMS bytes, returning the text of SHA256SUMS.minisig.
Signer = Callable[[bytes], str]


def sha256sums(files: Mapping[str, bytes]) -> bytes:
    """`<hex>  <name>` lines, sorted by name: the format `sha256sum -c` reads."""
    lines = (
        f"{hashlib.sha256(data).hexdigest()}  {name}\n" for name, data in sorted(files.items())
    )
    return "".join(lines).encode()


def bundle_digest(sums: bytes) -> str:
    """The bundle's identity: the SHA-256 of its SHA256SUMS file."""
    return "sha256:" + hashlib.sha256(sums).hexdigest()


def ensure_free(target: Path) -> None:
    """Refuse a target that exists, unless it is an empty directory (a caller's placeholder)."""
    if target.is_dir() and not any(target.iterdir()):
        return
    if target.exists() or target.is_symlink():
        raise RepositoryError(
            f"{target} already exists; a published bundle is never overwritten",
            hint="pass another --version (the default one is new for every second and checkpoint)",
        )


def write_bundle(target: Path, files: Mapping[str, bytes], signer: Signer | None) -> str:
    """Write `files` + SHA256SUMS (+ signature) to `target` atomically; return the bundle digest."""
    ensure_free(target)
    parent = target.parent
    _make_dirs(parent)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".partial", dir=parent))
    try:
        sums = sha256sums(files)
        for name, data in files.items():
            _write_file(staging / name, data)
        _write_file(staging / SUMS_FILE, sums)
        if signer is not None:
            _write_file(staging / SIGNATURE_FILE, signer(sums).encode())
        staging.chmod(0o755)  # mkdtemp made it 0700
        _fsync_dir(staging)
        _rename_into_place(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    _fsync_dir(parent)
    return bundle_digest(sums)


def write_latest(model_dir: Path, version: str) -> None:
    """Point `model_dir/LATEST` at `version` (one line), replacing it atomically."""
    name = ""
    try:
        fd, name = tempfile.mkstemp(prefix=f".{LATEST_FILE}.", suffix=".tmp", dir=model_dir)
        with os.fdopen(fd, "wb") as file:
            file.write(f"{version}\n".encode())
            file.flush()
            os.fsync(file.fileno())
        os.chmod(name, 0o644)
        os.replace(name, model_dir / LATEST_FILE)
    except OSError as err:
        if name:
            with contextlib.suppress(OSError):
                os.unlink(name)
        raise RepositoryError(f"{model_dir / LATEST_FILE}: cannot write it: {err}") from err
    _fsync_dir(model_dir)


def _rename_into_place(staging: Path, target: Path) -> None:
    ensure_free(target)  # again: another publisher may have been quicker
    try:
        os.rename(staging, target)
    except OSError as err:
        raise RepositoryError(f"{target}: cannot move the bundle into place: {err}") from err


def _make_dirs(path: Path) -> None:
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise RepositoryError(f"{path}: cannot create the directory: {err}") from err


def _write_file(path: Path, data: bytes) -> None:
    try:
        with path.open("wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
    except OSError as err:
        raise RepositoryError(f"{path}: cannot write it: {err}") from err


def _fsync_dir(path: Path) -> None:
    """Make a rename or a new entry durable (a no-op where directories cannot be opened)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
