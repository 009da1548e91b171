"""Shared fixtures of the publisher tests: a small trained-looking model, its checkpoints in the
three accepted shapes, labels, options, and the external tools (minisign, litecnn).

The model is torchvision's mobilenet_v3_small with 5 classes at 64x64 input (fast on a CPU). A
random-init net's logits are ~1e-9 and mostly classifier bias, so parity would hold even for a
graph that ignored its input (DESIGN section 6): the fixture recalibrates the BatchNorm statistics
on image-like noise and scales the classifier so logits are O(1-10) and differ between inputs.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
import torchvision
from litecnn.publish.golden import Preprocess, noise_images
from litecnn.publish.pipeline import ExportOptions
from safetensors import safe_open
from torch import nn

# The test models are tiny: one thread is fastest, and stays fast on a loaded 2-core machine
# (OpenMP threads spin against each other there and make a 30 ms forward pass take seconds).
torch.set_num_threads(1)

SPEC = "torchvision:mobilenet_v3_small"
NUM_CLASSES = 5
INPUT_SIZE = 64
RESIZE = 72
LABELS = ["Border Collie", "Shiba Inu", "Jindo", "Poodle", "Beagle"]
PREPROCESS = Preprocess(resize=RESIZE, input_size=INPUT_SIZE)
# The 130 Tsinghua Dogs breeds as an index-keyed object with a UTF-8 BOM (DESIGN section 9).
THUDOGS_LABELS = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "thudogs-labels.json"
T0 = datetime(2026, 11, 26, 6, 12, 0, tzinfo=timezone.utc)


@dataclass(frozen=True)
class Reference:
    """The reference model and its files; constants for tests that build their own options."""

    model: nn.Module
    state_dict: dict[str, torch.Tensor]
    bare: Path  # a bare state_dict
    training: Path  # {"epoch", "model_state_dict", "optimizer_state_dict", ...}
    data_parallel: Path  # {"state_dict": {"module.<key>": ...}}
    labels_file: Path
    spec: str = SPEC
    labels: tuple[str, ...] = tuple(LABELS)
    preprocess: Preprocess = PREPROCESS


def build_reference_model() -> nn.Module:
    """mobilenet_v3_small, seeded, with calibrated BatchNorm and an O(1-10) classifier."""
    torch.manual_seed(1234)
    model = torchvision.models.mobilenet_v3_small(weights=None, num_classes=NUM_CLASSES)
    with torch.no_grad():
        for bn in (m for m in model.modules() if isinstance(m, nn.BatchNorm2d)):
            bn.reset_running_stats()
            bn.momentum = None  # cumulative average over the calibration batches
            bn.train()
        for _ in range(4):
            model(torch.stack(_noise(16)))
        model.eval()
        head = model.classifier[3]
        probe = torch.stack(_noise(16, seed=7))
        logits = model(probe)
        head.bias.sub_(logits.median(dim=0).values)
        spread = float((model(probe) - head.bias).std())
        head.weight.mul_(3.0 / spread)
        head.bias.copy_(torch.linspace(-1.0, 1.0, NUM_CLASSES))
    return model


def _noise(count: int, seed: int = 0) -> list[torch.Tensor]:
    torch.manual_seed(seed)
    rows = noise_images(PREPROCESS, count)
    return [row + 0.3 * torch.randn_like(row) for row in rows]


@pytest.fixture(scope="session")
def ref(tmp_path_factory) -> Reference:
    model = build_reference_model()
    directory = tmp_path_factory.mktemp("reference")
    state = {key: value.clone() for key, value in model.state_dict().items()}
    torch.save(state, directory / "bare.pth")
    torch.save(_training_checkpoint(model, state), directory / "training.pth")
    data_parallel = {"state_dict": {f"module.{key}": value for key, value in state.items()}}
    torch.save(data_parallel, directory / "data_parallel.pth")
    labels_file = directory / "labels.json"
    labels_file.write_text(json.dumps(LABELS))
    return Reference(
        model=model,
        state_dict=state,
        bare=directory / "bare.pth",
        training=directory / "training.pth",
        data_parallel=directory / "data_parallel.pth",
        labels_file=labels_file,
    )


def _training_checkpoint(model: nn.Module, state: dict[str, torch.Tensor]) -> dict:
    """A checkpoint as training scripts save it, with a real optimizer state."""
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    model.train()
    model(torch.stack(_noise(2))).sum().backward()
    optimizer.step()  # fills the momentum buffers
    model.load_state_dict(state)  # and undo the step
    model.zero_grad(set_to_none=True)
    model.eval()
    return {
        "epoch": 12,
        "model_state_dict": state,
        "optimizer_state_dict": optimizer.state_dict(),
        "best_acc": 0.83,
    }


@pytest.fixture
def make_options(ref, tmp_path) -> Callable[..., ExportOptions]:
    """ExportOptions for the reference model into tmp_path/repo; keywords override."""

    def make(**overrides) -> ExportOptions:
        fields = {
            "model": SPEC,
            "checkpoint": ref.bare,
            "labels": ref.labels_file,
            "name": "dogs",
            "repo": tmp_path / "repo",
            "preprocess": PREPROCESS,
        }
        fields.update(overrides)
        return ExportOptions(**fields)

    return make


@pytest.fixture
def clock() -> Callable[[int], datetime]:
    """clock(n): a fixed UTC time n minutes after T0."""
    return lambda minutes=0: T0 + timedelta(minutes=minutes)


@pytest.fixture(scope="session")
def minisign_bin() -> str:
    path = shutil.which("minisign")
    if path is None:
        pytest.fail("minisign not found; the signature tests need it: apt-get install minisign")
    return path


@pytest.fixture(scope="session")
def litecnn_bin() -> Path:
    value = os.environ.get("LITECNN_BIN")
    if not value:
        pytest.fail(
            "$LITECNN_BIN is not set: build the server with `cargo build` and set "
            "LITECNN_BIN=target/debug/litecnn (./scripts/test does both)",
            pytrace=False,
        )
    path = Path(value)
    if not (path.is_file() and os.access(path, os.X_OK)):
        pytest.fail(f"$LITECNN_BIN={value} is not an executable file", pytrace=False)
    return path


@pytest.fixture(scope="session")
def thudogs_labels() -> Path:
    if not THUDOGS_LABELS.is_file():
        pytest.fail(f"{THUDOGS_LABELS} is missing", pytrace=False)
    return THUDOGS_LABELS


@pytest.fixture(scope="session")
def run_tool() -> Callable[..., subprocess.CompletedProcess]:
    """run_tool(command, **kwargs): capture text output, never raise on a non-zero exit."""

    def run(command: list, **kwargs) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(part) for part in command], capture_output=True, text=True, check=False, **kwargs
        )

    return run


BUNDLE_FILES = {"model.onnx", "litecnn.json", "golden.safetensors", "SHA256SUMS"}
MANIFEST_KEYS = ["format", "name", "version", "created_at", "model", "preprocess", "labels"]


@dataclass(frozen=True)
class Bundle:
    path: Path
    manifest: dict
    golden_input: np.ndarray
    golden_output: np.ndarray
    golden_metadata: dict


@pytest.fixture(scope="session")
def check_bundle(run_tool) -> Callable[..., Bundle]:
    """check_bundle(path): assert the bundle contract (DESIGN section 2) and return its parts."""

    def check(path: Path) -> Bundle:
        names = {entry.name for entry in path.iterdir()}
        assert names - {"SHA256SUMS.minisig"} == BUNDLE_FILES
        sums = (path / "SHA256SUMS").read_text()
        assert [line.split("  ")[1] for line in sums.splitlines()] == sorted(
            BUNDLE_FILES - {"SHA256SUMS"}
        )
        checked = run_tool(["sha256sum", "--strict", "-c", "SHA256SUMS"], cwd=path)
        assert checked.returncode == 0, checked.stdout + checked.stderr
        manifest = json.loads((path / "litecnn.json").read_text(encoding="utf-8"))
        _check_manifest(manifest)
        with safe_open(str(path / "golden.safetensors"), framework="np") as golden:
            metadata = golden.metadata()
            inputs, outputs = golden.get_tensor("input"), golden.get_tensor("output")
        assert inputs.dtype == outputs.dtype == np.float32
        crop = manifest["preprocess"]["center_crop"]
        assert inputs.shape[0] >= 4 and inputs.shape[1:] == (3, *crop)
        assert outputs.shape == (inputs.shape[0], len(manifest["labels"]))
        _check_onnx(path / "model.onnx", inputs, outputs, manifest["golden"])
        return Bundle(path, manifest, inputs, outputs, metadata)

    return check


def _check_manifest(manifest: dict) -> None:
    keys = list(manifest)
    assert keys[: len(MANIFEST_KEYS)] == MANIFEST_KEYS
    assert keys[len(MANIFEST_KEYS) :] in (["golden", "source"], ["golden", "metrics", "source"])
    assert manifest["format"] == "litecnn-bundle/1"
    assert manifest["model"] == {
        "file": "model.onnx",
        "input": "input",
        "output": "logits",
        "output_kind": "logits",
    }
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", manifest["created_at"])
    assert list(manifest["golden"]) == ["file", "atol", "rtol"]
    assert manifest["golden"]["file"] == "golden.safetensors"
    assert all(next(iter(label)) == "name" for label in manifest["labels"])
    assert list(manifest["source"]) == ["checkpoint", "checkpoint_sha256", "git_commit"]


def _check_onnx(path: Path, inputs: np.ndarray, outputs: np.ndarray, golden: dict) -> None:
    model = onnx.load(str(path), load_external_data=False)
    assert all(t.data_location != onnx.TensorProto.EXTERNAL for t in model.graph.initializer)
    (graph_input,) = (
        i for i in model.graph.input if i.name not in {t.name for t in model.graph.initializer}
    )
    assert graph_input.name == "input"
    assert [o.name for o in model.graph.output] == ["logits"]
    for value in (graph_input, model.graph.output[0]):
        assert value.type.tensor_type.elem_type == onnx.TensorProto.FLOAT
        assert value.type.tensor_type.shape.dim[0].dim_param  # symbolic batch
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    got = session.run(["logits"], {"input": inputs})[0]
    assert allclose_golden(got, outputs, golden["atol"], golden["rtol"])
    single = session.run(["logits"], {"input": inputs[1:2]})[0]  # another batch size
    assert allclose_golden(single, outputs[1:2], golden["atol"], golden["rtol"])


def allclose_golden(got: np.ndarray, want: np.ndarray, atol: float, rtol: float) -> bool:
    """The manifest's golden check: |got - want| <= atol + rtol * |want|, elementwise."""
    return got.shape == want.shape and bool(
        np.all(np.abs(got - want) <= atol + rtol * np.abs(want))
    )
