#!/usr/bin/env python3
"""Generate the parity-test models: torchvision CNNs exported to ONNX two ways.

For every model of the suite this script

1. builds the torchvision network with ``weights=None`` and a fixed seed, perturbs the BatchNorm
   affine parameters a little (both exporters fold BatchNorm into the convolutions; this keeps the
   folded weights from being trivially scaled copies of the random init),
2. recalibrates every BatchNorm's running statistics on random batches (train mode,
   ``momentum=None`` = cumulative average) so activations stay O(1) through the whole network,
3. centres the final classifier's output on random images and rescales it so the parity inputs'
   logits deviate from the typical logits with a standard deviation of about 3 (random-init
   torchvision logits are ~1e-9 and mostly bias, which an engine that ignores its input would
   reproduce: see DESIGN.md section 6),
4. exports it with the TorchScript exporter (opset 17) and the dynamo exporter (opset 18), both with
   a symbolic batch axis ``N``, as single self-contained ``.onnx`` files,
5. checks with ONNX Runtime that each export matches PyTorch on ``input-b1.npy`` and
   ``input-b3.npy``, and that the three rows of the batch-3 output clearly differ,

and finally writes ``manifest.json`` (files, SHA-256, op histograms, errors, versions).

Usage: ``python make_models.py --out DIR [--models NAME ...]``. The output is deterministic for
a given set of pinned packages; the test runner caches it keyed by the requirements file and this
script. Generation writes into ``DIR.partial`` and renames it to ``DIR`` only when complete.
"""

from __future__ import annotations

import argparse
import collections
import hashlib
import json
import logging
import os
import shutil
import sys
import time
import warnings
import zlib
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import torch
import torchvision
from torch import nn

MODELS = [
    "mobilenet_v2",
    "mobilenet_v3_small",
    "mobilenet_v3_large",
    "efficientnet_b0",
    "resnet18",
    "shufflenet_v2_x1_0",
    "squeezenet1_1",
    "mnasnet1_0",
    "regnet_y_400mf",
]
EXPORTERS = {"ts17": ("torchscript", 17), "dynamo18": ("dynamo", 18)}
SIZE = 224
MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32).reshape(1, 3, 1, 1)
STD = np.array([0.229, 0.224, 0.225], dtype=np.float32).reshape(1, 3, 1, 1)
CALIB_BATCHES = 8
CALIB_BATCH_SIZE = 16
TARGET_LOGIT_STD = 3.0
# Export check: ORT against PyTorch, relative to the output scale. Looser than the engine's
# parity tolerance (1e-4) because it only guards against a broken export, not a broken engine.
EXPORT_TOL = 1e-3
# The rows of the batch-3 output must differ by far more than the parity tolerance.
MIN_ROW_DIFF = 1.0


def seed_of(name: str, salt: int = 0) -> int:
    return (zlib.crc32(name.encode()) + 1_000_003 * salt) % (2**31)


def random_images(rng: np.random.Generator, n: int, size: int = SIZE) -> np.ndarray:
    """Image-like random inputs, ImageNet-normalised (values roughly in [-2.1, 2.6]).

    Smooth random colour fields at several scales plus fine noise and a per-image brightness and
    contrast, so that different images give clearly different global features (iid pixel noise
    would be averaged away by global pooling and make all images look alike to the network).
    """
    img = np.zeros((n, 3, size, size), dtype=np.float32)
    for cells, weight in ((2, 0.35), (7, 0.3), (28, 0.2), (size, 0.15)):
        coarse = torch.from_numpy(rng.random((n, 3, cells, cells), dtype=np.float32))
        fine = nn.functional.interpolate(coarse, size=(size, size), mode="bilinear")
        img += weight * fine.numpy()
    contrast = rng.uniform(0.6, 1.6, size=(n, 1, 1, 1)).astype(np.float32)
    brightness = rng.uniform(-0.2, 0.2, size=(n, 1, 1, 1)).astype(np.float32)
    img = np.clip((img - 0.5) * contrast + 0.5 + brightness, 0.0, 1.0)
    return ((img - MEAN) / STD).astype(np.float32)


def classifier_of(model: nn.Module) -> nn.Module:
    """The last Linear or Conv2d registered in the model: its classifier for every suite model."""
    layers = [m for m in model.modules() if isinstance(m, (nn.Linear, nn.Conv2d))]
    return layers[-1]


@torch.no_grad()
def build(name: str, parity_inputs: np.ndarray) -> nn.Module:
    torch.manual_seed(seed_of(name))
    model = getattr(torchvision.models, name)(weights=None)
    model.eval()

    bns = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    gen = torch.Generator().manual_seed(seed_of(name, 1))
    for bn in bns:
        if bn.affine:
            c = bn.num_features
            bn.weight.mul_(0.75 + 0.5 * torch.rand(c, generator=gen))
            bn.bias.add_(0.1 * torch.randn(c, generator=gen))
        bn.reset_running_stats()
        bn.momentum = None  # cumulative moving average over all calibration batches
        bn.train()  # only the BatchNorms: dropout and stochastic depth stay in eval mode

    rng = np.random.default_rng(seed_of(name, 2))
    for _ in range(CALIB_BATCHES):
        model(torch.from_numpy(random_images(rng, CALIB_BATCH_SIZE)))
    model.eval()

    # Centre the classifier's pre-activation output on random inputs, so that the logits are
    # dominated by the input rather than by a constant part, then scale weight and bias together
    # so that the parity inputs' logits deviate from the typical logits with a standard deviation
    # of about TARGET_LOGIT_STD. Scaling is exact: every suite classifier is a Linear, or
    # (squeezenet) conv -> ReLU -> global pool, which is positively homogeneous. Medians and the
    # parity inputs themselves, not means over random images: some random-init nets respond to a
    # few images with far larger activations than to the rest (efficientnet: squeeze-excitation
    # gates multiply up over many blocks).
    head = classifier_of(model)
    if head.bias is None:
        raise SystemExit(f"{name}: classifier {head} has no bias")
    probe = torch.from_numpy(random_images(rng, 4 * CALIB_BATCH_SIZE))
    captured: list[torch.Tensor] = []
    hook = head.register_forward_hook(lambda _m, _i, out: captured.append(out))
    model(probe)
    hook.remove()
    pre = captured[0].transpose(0, 1).reshape(captured[0].shape[1], -1)  # [C, everything else]
    head.bias.sub_(pre.median(dim=1).values)
    typical = model(probe).median(dim=0).values
    deviation = model(torch.from_numpy(parity_inputs)) - typical
    spread = float(deviation.std(dim=1).mean())
    if not np.isfinite(spread) or spread <= 0:
        raise SystemExit(f"{name}: logits do not depend on the input (spread {spread})")
    scale = TARGET_LOGIT_STD / spread
    head.weight.mul_(scale)
    head.bias.mul_(scale)
    if isinstance(head, nn.Linear):  # small per-class offsets, so the bias is not all zeros
        head.bias.add_(0.5 * torch.randn(head.bias.shape, generator=gen))
    return model


def export_torchscript(model: nn.Module, example: torch.Tensor, path: Path, opset: int) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model,
            (example,),
            str(path),
            dynamo=False,
            opset_version=opset,
            input_names=["input"],
            output_names=["logits"],
            dynamic_axes={"input": {0: "N"}, "logits": {0: "N"}},
        )


def export_dynamo(model: nn.Module, example: torch.Tensor, path: Path, opset: int) -> None:
    # min=2: torch.export specialises sizes 0 and 1, and shufflenet's channel shuffle adds a guard
    # N != 1. The ONNX graph has no such guard; batch 1 is checked with ONNX Runtime below.
    batch = torch.export.Dim("N", min=2, max=4096)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        program = torch.onnx.export(
            model,
            (example,),
            dynamo=True,
            opset_version=opset,
            input_names=["input"],
            output_names=["logits"],
            dynamic_shapes=({0: batch},),
            external_data=False,
            verbose=False,
        )
    program.save(str(path), external_data=False)


def self_contained(path: Path) -> None:
    """Re-save with every tensor inline; fail if anything still points at external data."""
    model = onnx.load(str(path), load_external_data=True)
    onnx.save(model, str(path), save_as_external_data=False)
    model = onnx.load(str(path), load_external_data=False)
    for init in model.graph.initializer:
        if init.data_location == onnx.TensorProto.EXTERNAL:
            raise SystemExit(f"{path.name}: initializer {init.name} still uses external data")
    onnx.checker.check_model(model, full_check=True)
    inp = model.graph.input[0].type.tensor_type.shape.dim
    out = model.graph.output[0].type.tensor_type.shape.dim
    if [d.dim_param for d in inp[:1]] == [""] or [d.dim_param for d in out[:1]] == [""]:
        raise SystemExit(f"{path.name}: batch axis is not symbolic ({inp[0]} / {out[0]})")
    if model.graph.input[0].name != "input" or model.graph.output[0].name != "logits":
        raise SystemExit(f"{path.name}: unexpected input/output names")


def op_histogram(model: onnx.ModelProto) -> dict[str, int]:
    hist: collections.Counter[str] = collections.Counter()

    def walk(graph: onnx.GraphProto) -> None:
        for node in graph.node:
            domain = node.domain if node.domain not in ("", "ai.onnx") else ""
            hist[f"{domain}::{node.op_type}" if domain else node.op_type] += 1
            for attr in node.attribute:
                if attr.type == onnx.AttributeProto.GRAPH:
                    walk(attr.g)
                for g in attr.graphs:
                    walk(g)

    walk(model.graph)
    for fn in model.functions:
        for node in fn.node:
            hist[f"function:{fn.name}/{node.op_type}"] += 1
    return dict(sorted(hist.items()))


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True, type=Path, help="output directory (created)")
    ap.add_argument("--models", nargs="*", default=MODELS, choices=MODELS, metavar="NAME")
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    args = ap.parse_args()

    started = time.monotonic()
    logging.getLogger("torch.onnx").setLevel(logging.ERROR)
    torch.set_num_threads(args.threads)
    out: Path = args.out.resolve()
    tmp = out.with_name(out.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)

    rng = np.random.default_rng(20261126)
    inputs = {"b1": random_images(rng, 1), "b3": random_images(rng, 3)}
    for key, arr in inputs.items():
        np.save(tmp / f"input-{key}.npy", arr)

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = args.threads
    manifest: dict = {
        "format": "litecnn-parity-models/1",
        "generator": "tests/parity/make_models.py",
        "versions": {
            "python": sys.version.split()[0],
            "torch": torch.__version__,
            "torchvision": torchvision.__version__,
            "onnx": onnx.__version__,
            "onnxruntime": ort.__version__,
            "numpy": np.__version__,
        },
        "inputs": {
            key: {"file": f"input-{key}.npy", "shape": list(arr.shape), "dtype": "float32"}
            for key, arr in inputs.items()
        },
        "models": [],
    }
    failures = []
    for name in args.models:
        t0 = time.monotonic()
        model = build(name, np.concatenate([inputs["b1"], inputs["b3"]]))
        with torch.no_grad():
            expected = {k: model(torch.from_numpy(v)).numpy() for k, v in inputs.items()}
        example = torch.from_numpy(random_images(np.random.default_rng(seed_of(name, 3)), 2))
        b3 = expected["b3"]
        row_diff = float(np.abs(b3[1:] - b3[:1]).max())
        both = np.concatenate([expected["b1"], b3])
        top2 = np.sort(both, axis=1)[:, -2:]
        margin = float((top2[:, 1] - top2[:, 0]).min())  # smallest top-1 vs top-2 gap
        print(
            f"{name}: logits max|.| {np.abs(b3).max():.3f}  std {b3.std():.3f}  "
            f"row diff {row_diff:.3f}  top-1 {b3.argmax(1).tolist()}  margin {margin:.3g}  "
            f"({time.monotonic() - t0:.1f}s)",
            flush=True,
        )
        if row_diff < MIN_ROW_DIFF:
            failures.append(f"{name}: batch-3 rows differ by only {row_diff:.3g}")
        for tag, (kind, opset) in EXPORTERS.items():
            t1 = time.monotonic()
            path = tmp / f"{name}-{tag}.onnx"
            if kind == "torchscript":
                export_torchscript(model, example, path, opset)
            else:
                export_dynamo(model, example, path, opset)
            self_contained(path)
            sess = ort.InferenceSession(
                str(path), sess_options=opts, providers=["CPUExecutionProvider"]
            )
            errors = {}
            for key, arr in inputs.items():
                got = sess.run(None, {"input": arr})[0]
                ref = expected[key]
                if got.shape != ref.shape:
                    failures.append(f"{path.name} {key}: shape {got.shape} != {ref.shape}")
                    continue
                err = float(np.abs(got - ref).max())
                tol = EXPORT_TOL * max(1.0, float(np.abs(ref).max()))
                errors[key] = err
                if not err <= tol:
                    failures.append(f"{path.name} {key}: ORT vs PyTorch max error {err:.3g}")
                if not np.array_equal(got.argmax(1), ref.argmax(1)):
                    failures.append(f"{path.name} {key}: ORT and PyTorch top-1 differ")
            proto = onnx.load(str(path))
            hist = op_histogram(proto)
            entry = {
                "model": name,
                "exporter": kind,
                "tag": tag,
                "file": path.name,
                "opset": next(o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")),
                "bytes": path.stat().st_size,
                "sha256": sha256(path),
                "output_shape_b1": list(expected["b1"].shape),
                "ort_vs_torch_max_abs_error": errors,
                "logits_max_abs_b3": float(np.abs(b3).max()),
                "row_diff_b3": row_diff,
                "min_top1_margin": margin,
                "op_histogram": hist,
            }
            manifest["models"].append(entry)
            errs = "  ".join(f"{k} {v:.2e}" for k, v in errors.items())
            print(
                f"  {path.name}: {path.stat().st_size / 1e6:.1f} MB, {sum(hist.values())} nodes, "
                f"ORT vs PyTorch max abs error {errs} ({time.monotonic() - t1:.1f}s)",
                flush=True,
            )

    if failures:
        print("\nFAILED:", *failures, sep="\n  ", file=sys.stderr)
        return 1
    manifest["generation_seconds"] = round(time.monotonic() - started, 1)
    (tmp / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    shutil.rmtree(out, ignore_errors=True)
    tmp.rename(out)
    print(f"wrote {len(manifest['models'])} models to {out} in {time.monotonic() - started:.0f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
