"""The `litecnn-publish` command: flags as DESIGN section 2 spells them, output, exit status."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest
from litecnn.publish.cli import main


def export_argv(ref, *extra: str) -> list[str]:
    return [
        "export",
        "--model", ref.spec,
        "--checkpoint", str(ref.training),
        "--labels", str(ref.labels_file),
        "--name", "dogs",
        "--input-size", "64",
        "--resize", "72",
        *extra,
    ]  # fmt: skip


def test_export_with_every_flag(ref, tmp_path, capsys, their_key_pair, check_bundle):
    (tmp_path / "metrics.json").write_text('{"val_top1": 0.5}')
    images = tmp_path / "images"
    images.mkdir()
    from PIL import Image

    Image.new("RGB", (100, 80), (200, 30, 30)).save(images / "red.jpg")
    argv = export_argv(
        ref,
        "--repo", str(tmp_path / "repo"),
        "--version", "v7",
        "--num-classes", "5",
        "--mean", "0.5", "0.5", "0.5",
        "--std", "0.25", "0.25", "0.25",
        "--golden-images", str(images),
        "--metrics", str(tmp_path / "metrics.json"),
        "--sign-key", str(their_key_pair[0]),
        "--exporter", "torchscript",
        "--atol", "2e-4",
        "--rtol", "1e-3",
    )  # fmt: skip
    assert main(argv) == 0
    captured = capsys.readouterr()
    bundle_dir = tmp_path / "repo" / "dogs" / "v7"
    assert captured.out == f"{bundle_dir}\n"
    assert (
        "parity: ONNX Runtime matches PyTorch on 4 golden inputs (1 from images, 3 seeded noise)"
        in captured.err
    )
    assert "published dogs v7 (sha256:" in captured.err
    manifest = check_bundle(bundle_dir).manifest
    assert manifest["preprocess"]["mean"] == [0.5, 0.5, 0.5]
    assert manifest["preprocess"]["std"] == [0.25, 0.25, 0.25]
    assert manifest["golden"]["atol"] == 2e-4
    assert manifest["metrics"] == {"val_top1": 0.5}
    assert (bundle_dir / "SHA256SUMS.minisig").is_file()


@pytest.fixture
def their_key_pair(tmp_path, minisign_bin, run_tool):
    secret, public = tmp_path / "k.key", tmp_path / "k.pub"
    assert run_tool([minisign_bin, "-G", "-W", "-s", secret, "-p", public]).returncode == 0
    return secret, public


def test_errors_are_one_line_without_traceback(ref, tmp_path, capsys):
    argv = export_argv(ref, "--out", str(tmp_path / "b"))
    argv[argv.index("--labels") + 1] = str(tmp_path / "missing.json")
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert err == f"error: labels file {tmp_path / 'missing.json'} not found\n"


def test_debug_shows_the_traceback(ref, tmp_path, capsys):
    argv = export_argv(ref, "--out", str(tmp_path / "b"), "--debug")
    argv[argv.index("--labels") + 1] = str(tmp_path / "missing.json")
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err
    assert err.rstrip().endswith(f"error: labels file {tmp_path / 'missing.json'} not found")


def test_hints_follow_errors(ref, tmp_path, capsys):
    argv = export_argv(ref, "--out", str(tmp_path / "b"))
    argv[argv.index("--model") + 1] = "torchvision:mobilenet_v3_smal"
    assert main(argv) == 1
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith("error: --model torchvision:mobilenet_v3_smal: torchvision")
    assert err[1].startswith("hint: did you mean mobilenet_v3_small, ")


@pytest.mark.parametrize(
    "extra",
    [
        [],  # neither --repo nor --out
        ["--repo", "r", "--out", "o"],  # both
        ["--repo", "r", "--exporter", "tflite"],
        ["--repo", "r", "--mean", "0.5"],
    ],
)
def test_usage_errors_exit_2(ref, extra, capsys):
    with pytest.raises(SystemExit) as caught:
        main(export_argv(ref, *extra))
    assert caught.value.code == 2
    assert "usage: litecnn-publish export" in capsys.readouterr().err


def test_console_script_is_installed(run_tool):
    script = shutil.which("litecnn-publish", path=str(Path(sys.executable).parent))
    if script is None:
        pytest.fail(
            f"litecnn-publish is not installed next to {sys.executable}: pip install ./python",
            pytrace=False,
        )
    shown = run_tool([script, "--help"])
    assert shown.returncode == 0
    assert "export" in shown.stdout and "keygen" in shown.stdout
    module = run_tool([sys.executable, "-m", "litecnn.publish", "keygen", "--help"])
    assert module.returncode == 0 and "--out KEY" in module.stdout


def test_exporter_choices_match_the_exporters():
    from litecnn.publish import cli, export

    assert cli.EXPORTERS == export.EXPORTERS
