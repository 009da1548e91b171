"""`export`: checkpoint -> checked ONNX -> bundle, in this order (nothing is written before 6):

1. read the inputs that can be wrong cheaply: labels, metrics, signing key, target free;
2. build the model from its spec and load the checkpoint into it (every misfit named);
3. golden inputs (images or seeded noise) and PyTorch's outputs on them;
4. export to ONNX and check the graph's contract;
5. parity: ONNX Runtime must reproduce PyTorch within the manifest tolerances;
6. write the bundle atomically (and, in a repository, LATEST after it).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.numpy import save as save_safetensors

from . import minisign
from .checkpoint import Checkpoint, load_weights, read_checkpoint
from .errors import ExportError, LabelsError, OptionsError
from .export import DEFAULT_OPSET, export_onnx
from .golden import Preprocess, golden_inputs
from .labels import load_labels
from .manifest import (
    GOLDEN_FILE,
    MANIFEST_FILE,
    MODEL_FILE,
    Source,
    build_manifest,
    check_name,
    default_version,
    encode_manifest,
    git_commit,
    read_metrics,
)
from .parity import check_parity
from .repository import SUMS_FILE, Signer, ensure_free, write_bundle, write_latest
from .spec import build_model

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ExportOptions:
    """Everything `litecnn-publish export` takes; exactly one of `repo` and `out` is set."""

    model: str
    checkpoint: Path
    labels: Path
    name: str
    repo: Path | None = None
    out: Path | None = None
    version: str | None = None
    num_classes: int | None = None
    preprocess: Preprocess = field(default_factory=Preprocess)
    golden_images: Path | None = None
    metrics: Path | None = None
    sign_key: Path | None = None
    exporter: str = "torchscript"
    opset: int | None = None
    atol: float = 1e-4
    rtol: float = 1e-3


@dataclass(frozen=True)
class Published:
    path: Path
    name: str
    version: str
    digest: str
    signed: bool


def export_bundle(options: ExportOptions, now: datetime | None = None) -> Published:
    """Run the whole export; raise a PublishError (and write nothing) on any failure."""
    now = now or datetime.now(timezone.utc)
    prepared = _prepare(options, now)
    exported = _export_checked(options, prepared)
    return _publish(options, prepared, exported, now)


@dataclass(frozen=True)
class _Prepared:
    labels: list[dict[str, Any]]
    metrics: dict[str, Any] | None
    signer: Signer | None
    checkpoint: Checkpoint
    version: str
    target: Path


@dataclass(frozen=True)
class _Exported:
    onnx_model: bytes
    inputs: np.ndarray
    outputs: np.ndarray
    images: list[str]


def _prepare(options: ExportOptions, now: datetime) -> _Prepared:
    """Step 1: everything that can fail cheaply, before the model is touched."""
    _check_options(options)
    labels = load_labels(options.labels)
    _check_num_classes(options.num_classes, labels)
    metrics = read_metrics(options.metrics) if options.metrics else None
    signer = _signer(options.sign_key, now) if options.sign_key else None
    if options.version:
        ensure_free(_target(options, options.version))
    checkpoint = read_checkpoint(options.checkpoint)
    version = options.version or default_version(now, checkpoint.sha256)
    target = _target(options, version)
    ensure_free(target)
    return _Prepared(labels, metrics, signer, checkpoint, version, target)


def _export_checked(options: ExportOptions, prepared: _Prepared) -> _Exported:
    """Steps 2-5: model, golden outputs, ONNX, parity."""
    num_classes = len(prepared.labels)
    model = build_model(options.model, num_classes)
    what = f"checkpoint {options.checkpoint.name} ({options.model}, {num_classes} classes)"
    load_weights(model, prepared.checkpoint.state_dict, num_classes, what)
    log.info("loaded %s into %s (%d classes)", options.checkpoint, options.model, num_classes)
    golden = golden_inputs(options.preprocess, options.golden_images)
    outputs = _torch_outputs(model, golden.tensor, num_classes)
    inputs = golden.tensor.numpy()
    onnx_model = export_onnx(model, golden.tensor[:2], num_classes, options.exporter, options.opset)
    parity = check_parity(onnx_model, inputs, outputs, options.atol, options.rtol)
    log.info(
        "parity: ONNX Runtime matches PyTorch on %d golden inputs (%d from images, %d seeded "
        "noise), max abs error %.2e",
        parity.rows,
        len(golden.images),
        parity.rows - len(golden.images),
        parity.max_abs_error,
    )
    return _Exported(onnx_model, inputs, outputs, golden.images)


def _torch_outputs(model: torch.nn.Module, inputs: torch.Tensor, num_classes: int) -> np.ndarray:
    with torch.no_grad():
        outputs = model(inputs)
    if not isinstance(outputs, torch.Tensor):
        raise ExportError(
            f"the model returns a {type(outputs).__name__}; a bundle needs one tensor of logits"
        )
    if tuple(outputs.shape) != (inputs.shape[0], num_classes):
        raise ExportError(
            f"the model's output has shape {list(outputs.shape)}, expected "
            f"[{inputs.shape[0]},{num_classes}] (batch, classes)"
        )
    return outputs.float().contiguous().numpy()


def _publish(
    options: ExportOptions, prepared: _Prepared, exported: _Exported, now: datetime
) -> Published:
    """Step 6: the bundle's files, written atomically; then LATEST in a repository."""
    manifest = build_manifest(
        name=options.name,
        version=prepared.version,
        created_at=now,
        preprocess=options.preprocess.manifest(),
        labels=prepared.labels,
        atol=options.atol,
        rtol=options.rtol,
        metrics=prepared.metrics,
        source=Source(
            checkpoint=options.checkpoint.name,
            checkpoint_sha256=prepared.checkpoint.sha256,
            git_commit=git_commit(options.checkpoint.resolve().parent),
        ),
    )
    files = {
        MODEL_FILE: exported.onnx_model,
        MANIFEST_FILE: encode_manifest(manifest),
        GOLDEN_FILE: _golden_file(exported.inputs, exported.outputs, exported.images),
    }
    digest = write_bundle(prepared.target, files, prepared.signer)
    if options.repo is not None:
        write_latest(prepared.target.parent, prepared.version)
    return Published(
        path=prepared.target,
        name=options.name,
        version=prepared.version,
        digest=digest,
        signed=prepared.signer is not None,
    )


def _check_options(options: ExportOptions) -> None:
    if (options.repo is None) == (options.out is None):
        raise OptionsError("give exactly one of --repo DIR and --out BUNDLE_DIR")
    check_name(options.name, "--name")
    if options.version is not None:
        check_name(options.version, "--version")
    if options.exporter not in DEFAULT_OPSET:
        raise OptionsError(f"--exporter {options.exporter}: choose {' or '.join(DEFAULT_OPSET)}")
    if not (options.atol >= 0 and options.rtol >= 0):
        raise OptionsError("--atol and --rtol must be >= 0")


def _check_num_classes(requested: int | None, labels: list[dict[str, Any]]) -> None:
    if requested is not None and requested != len(labels):
        raise LabelsError(
            f"--num-classes {requested}, but the labels file has {len(labels)} labels; every "
            "output class needs exactly one label",
            hint="--num-classes defaults to the number of labels",
        )


def _target(options: ExportOptions, version: str) -> Path:
    if options.out is not None:
        return options.out
    assert options.repo is not None
    return options.repo / options.name / version


def _signer(key_path: Path, now: datetime) -> Signer:
    key = minisign.read_secret_key(key_path)
    comment = f"timestamp:{int(now.timestamp())}\tfile:{SUMS_FILE}\thashed"

    def sign(sums: bytes) -> str:
        text = minisign.sign(sums, key, comment, "signature from litecnn-publish secret key")
        minisign.verify(sums, text, key.public_key())
        return text

    return sign


def _golden_file(inputs: np.ndarray, outputs: np.ndarray, images: list[str]) -> bytes:
    metadata = {"format": "litecnn-golden/1", "images": "\n".join(images)}
    tensors = {
        "input": np.ascontiguousarray(inputs, dtype=np.float32),
        "output": np.ascontiguousarray(outputs, dtype=np.float32),
    }
    return save_safetensors(tensors, metadata=metadata)
