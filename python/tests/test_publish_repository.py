"""Publishing into a model repository: complete versions only, LATEST after them, no overwrites."""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

import pytest
from litecnn.publish.errors import RepositoryError
from litecnn.publish.manifest import default_version
from litecnn.publish.pipeline import export_bundle
from litecnn.publish.repository import sha256sums, write_bundle

FILES = {"model.onnx": b"onnx", "litecnn.json": b"{}\n", "golden.safetensors": b"st"}


def visible(directory) -> list[str]:
    """Everything under `directory`, as relative paths, temporary entries included."""
    if not directory.exists():
        return []
    return sorted(str(p.relative_to(directory)) for p in directory.rglob("*"))


def test_sha256sums_is_sorted_and_sha256sum_compatible(tmp_path):
    sums = sha256sums(FILES)
    expected = "".join(
        f"{hashlib.sha256(FILES[name]).hexdigest()}  {name}\n" for name in sorted(FILES)
    )
    assert sums.decode() == expected
    write_bundle(tmp_path / "b", FILES, signer=None)
    checked = subprocess.run(["sha256sum", "-c", "SHA256SUMS"], cwd=tmp_path / "b", check=False)
    assert checked.returncode == 0


def test_failed_final_rename_leaves_no_version_and_no_latest(make_options, monkeypatch):
    options = make_options()
    model_dir = options.repo / "dogs"

    def refuse(src, _dst):
        # At the last moment the staging directory is complete, and hidden.
        staged = os.listdir(src)
        assert sorted(staged) == ["SHA256SUMS", "golden.safetensors", "litecnn.json", "model.onnx"]
        assert os.path.basename(src).startswith(".")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "rename", refuse)
    with pytest.raises(RepositoryError, match="cannot move the bundle into place"):
        export_bundle(options)
    assert visible(model_dir) == []  # the staging directory is gone too


def test_latest_is_written_after_the_version_is_complete(make_options, clock, monkeypatch):
    options = make_options()
    model_dir = options.repo / "dogs"
    replace = os.replace
    seen = []

    def spy(src, dst):
        if os.path.basename(dst) == "LATEST":
            version = Path(src).read_text().strip()
            seen.append(version)
            bundle = model_dir / version
            checked = subprocess.run(["sha256sum", "-c", "SHA256SUMS"], cwd=bundle, check=False)
            assert checked.returncode == 0
        replace(src, dst)

    monkeypatch.setattr(os, "replace", spy)
    first = export_bundle(options, now=clock(0))
    second = export_bundle(make_options(checkpoint=options.checkpoint), now=clock(90))

    assert seen == [first.version, second.version]
    assert (model_dir / "LATEST").read_text() == f"{second.version}\n"
    assert visible(model_dir) == sorted(
        [first.version, second.version, "LATEST"]
        + [f"{v}/{f}" for v in (first.version, second.version) for f in FILES]
        + [f"{first.version}/SHA256SUMS", f"{second.version}/SHA256SUMS"]
    )
    assert sorted([second.version, first.version]) == [first.version, second.version]


def test_version_names_sort_by_time(clock):
    sha = "3f9a1c" + "0" * 58
    assert default_version(clock(0), sha) == "20261126T061200Z-3f9a1c"
    times = [clock(minutes) for minutes in (0, 1, 59, 60, 24 * 60, 40 * 24 * 60, 400 * 24 * 60)]
    versions = [default_version(t, f"{i:06x}" + "f" * 58) for i, t in enumerate(reversed(times))]
    assert sorted(versions) == versions[::-1]


def test_an_existing_version_is_never_overwritten(make_options, clock):
    first = export_bundle(make_options(version="v1"), now=clock())
    before = {p.name: p.read_bytes() for p in first.path.iterdir()}
    with pytest.raises(RepositoryError, match="already exists"):
        export_bundle(make_options(version="v1"), now=clock(5))
    assert {p.name: p.read_bytes() for p in first.path.iterdir()} == before


def test_out_accepts_an_empty_directory_but_not_a_full_one(make_options, tmp_path):
    out = tmp_path / "placeholder"
    out.mkdir()
    published = export_bundle(make_options(repo=None, out=out))
    assert published.path == out and (out / "SHA256SUMS").is_file()
    with pytest.raises(RepositoryError, match="already exists"):
        export_bundle(make_options(repo=None, out=out))
