"""Round trip with the Rust side: what the publisher writes, `litecnn verify` accepts and
`litecnn run` reproduces. Needs $LITECNN_BIN (target/debug/litecnn); without it these tests fail.
"""

from __future__ import annotations

import shutil
import sys

import numpy as np
import pytest
import torch
from litecnn.publish import minisign
from litecnn.publish.pipeline import ExportOptions, export_bundle

VERIFY_OK, VERIFY_REJECTED = 0, 3


@pytest.fixture(scope="module")
def signed_bundle(ref, tmp_path_factory):
    """A signed bundle in a repository, and the public key file that verifies it."""
    directory = tmp_path_factory.mktemp("roundtrip")
    key = directory / "publish.key"
    minisign.write_key_pair(key)
    options = ExportOptions(
        model=ref.spec,
        checkpoint=ref.training,
        labels=ref.labels_file,
        name="dogs",
        repo=directory / "repo",
        preprocess=ref.preprocess,
        sign_key=key,
    )
    return export_bundle(options).path, key.with_name(key.name + ".pub")


@pytest.fixture
def bundle_copy(signed_bundle, tmp_path):
    """A private copy (same directory name) that a test may tamper with."""
    source, public_key = signed_bundle
    copy = tmp_path / source.name
    shutil.copytree(source, copy)
    return copy, public_key


def verify(litecnn_bin, run_tool, bundle, *extra):
    result = run_tool([litecnn_bin, "verify", bundle, *extra], timeout=300)
    return result.returncode, result.stdout + result.stderr


def test_published_bundle_verifies(litecnn_bin, run_tool, signed_bundle):
    bundle, public_key = signed_bundle
    code, output = verify(litecnn_bin, run_tool, bundle)
    assert code == VERIFY_OK, output
    code, output = verify(litecnn_bin, run_tool, bundle, "--pubkey", public_key)
    assert code == VERIFY_OK, output


def test_signature_from_another_key_is_rejected(litecnn_bin, run_tool, signed_bundle, tmp_path):
    bundle, _ = signed_bundle
    other = tmp_path / "other.key"
    minisign.write_key_pair(other)
    code, output = verify(litecnn_bin, run_tool, bundle, "--pubkey", f"{other}.pub")
    assert code == VERIFY_REJECTED, output


@pytest.mark.parametrize("victim", ["model.onnx", "litecnn.json", "golden.safetensors"])
def test_tampered_file_is_rejected(litecnn_bin, run_tool, bundle_copy, victim):
    bundle, _ = bundle_copy
    data = bytearray((bundle / victim).read_bytes())
    data[len(data) // 2] ^= 0x01
    (bundle / victim).write_bytes(bytes(data))
    code, output = verify(litecnn_bin, run_tool, bundle)
    assert code == VERIFY_REJECTED, output
    assert victim in output


def test_run_reproduces_the_golden_outputs(
    litecnn_bin, run_tool, signed_bundle, check_bundle, tmp_path
):
    bundle_dir, _ = signed_bundle
    bundle = check_bundle(bundle_dir)
    np.save(tmp_path / "input.npy", bundle.golden_input)
    ran = run_tool(
        [
            litecnn_bin, "run", bundle_dir,
            "--input", tmp_path / "input.npy",
            "--output", tmp_path / "output.npy",
        ],
        timeout=300,
    )  # fmt: skip
    assert ran.returncode == 0, ran.stdout + ran.stderr
    got = np.load(tmp_path / "output.npy")
    want = bundle.golden_output
    assert got.dtype == np.float32 and got.shape == want.shape
    tolerance = bundle.manifest["golden"]
    excess = np.abs(got - want) - (tolerance["atol"] + tolerance["rtol"] * np.abs(want))
    assert excess.max() <= 0, f"max abs error {np.abs(got - want).max():.3e}"
    assert (got.argmax(axis=1) == want.argmax(axis=1)).all()


def test_reference_architecture_publishes_verifies_and_runs(litecnn_bin, run_tool, ref, tmp_path):
    """`litecnn.models:lite_cnn_half` through the console script, then through litecnn."""
    from litecnn.models import lite_cnn_half

    torch.manual_seed(5)
    model = lite_cnn_half(num_classes=len(ref.labels)).eval()
    checkpoint = tmp_path / "best.pth"
    torch.save({"epoch": 3, "model_state_dict": model.state_dict()}, checkpoint)
    published = run_tool(
        [
            sys.executable, "-m", "litecnn.publish", "export",
            "--model", "litecnn.models:lite_cnn_half",
            "--checkpoint", checkpoint, "--labels", ref.labels_file, "--name", "lite",
            "--repo", tmp_path / "repo", "--input-size", "64", "--resize", "72",
        ],
        timeout=300,
    )  # fmt: skip
    assert published.returncode == 0, published.stdout + published.stderr
    model_dir = tmp_path / "repo" / "lite"
    bundle = model_dir / (model_dir / "LATEST").read_text().strip()
    code, output = verify(litecnn_bin, run_tool, bundle)
    assert code == VERIFY_OK, output

    x = torch.randn(3, 3, 64, 64)
    np.save(tmp_path / "x.npy", x.numpy())
    ran = run_tool(
        [litecnn_bin, "run", bundle, "--input", tmp_path / "x.npy", "--output", tmp_path / "y.npy"],
        timeout=300,
    )
    assert ran.returncode == 0, ran.stdout + ran.stderr
    with torch.no_grad():
        want = model(x).numpy()
    got = np.load(tmp_path / "y.npy")
    assert np.abs(got - want).max() <= 1e-4 * max(1.0, np.abs(want).max())
