"""`export` end to end: checkpoint -> bundle, for each checkpoint shape, exporter, golden source,
and the failures that must stop it before anything is written."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch
from litecnn.publish.errors import (
    CheckpointError,
    ExportError,
    LabelsError,
    ModelSpecError,
    OptionsError,
    ParityError,
)
from litecnn.publish.golden import golden_inputs
from litecnn.publish.pipeline import export_bundle
from PIL import Image
from torchvision import transforms

TEST_NETS = '''
"""Factories for the `package.module:Factory` spec tests."""
import torch
from torch import nn


class Small(nn.Module):
    def __init__(self, num_classes):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, stride=2)
        self.fc = nn.Linear(8, num_classes)

    def forward(self, x):
        return self.fc(torch.relu(self.conv(x)).mean(dim=(2, 3)))


class DiffersInOnnx(Small):
    """Exports a graph that does not compute what PyTorch computes."""

    def forward(self, x):
        out = super().forward(x)
        return out + 0.5 if torch.onnx.is_in_onnx_export() else out


class TwoOutputs(Small):
    def forward(self, x):
        return super().forward(x), x.mean()


def not_a_module(num_classes):
    return [num_classes]
'''


@pytest.fixture(scope="module")
def test_nets(tmp_path_factory):
    """Importable module `publish_test_nets` and a checkpoint of its `Small` net (5 classes)."""
    directory = tmp_path_factory.mktemp("nets")
    (directory / "publish_test_nets.py").write_text(TEST_NETS)
    sys.path.insert(0, str(directory))
    import publish_test_nets

    torch.manual_seed(0)
    torch.save(publish_test_nets.Small(5).state_dict(), directory / "small.pth")
    yield directory / "small.pth"
    sys.path.remove(str(directory))
    sys.modules.pop("publish_test_nets", None)


@pytest.mark.parametrize("kind", ["bare", "training", "data_parallel"])
def test_bundle_from_each_checkpoint_shape(ref, make_options, clock, check_bundle, kind):
    checkpoint = getattr(ref, kind)
    sha256 = hashlib.sha256(checkpoint.read_bytes()).hexdigest()
    options = make_options(checkpoint=checkpoint)
    published = export_bundle(options, now=clock())

    version = f"20261126T061200Z-{sha256[:6]}"
    assert published.version == version
    assert published.path == options.repo / "dogs" / version
    assert (options.repo / "dogs" / "LATEST").read_text() == version + "\n"
    bundle = check_bundle(published.path)
    sums = (published.path / "SHA256SUMS").read_bytes()
    assert published.digest == "sha256:" + hashlib.sha256(sums).hexdigest()

    manifest = bundle.manifest
    assert (manifest["name"], manifest["version"]) == ("dogs", version)
    assert manifest["created_at"] == "2026-11-26T06:12:00Z"
    assert manifest["labels"] == [{"name": name} for name in ref.labels]
    assert manifest["preprocess"] == {
        "resize_shorter": 72,
        "center_crop": [64, 64],
        "interpolation": "bilinear",
        "antialias": True,
        "mean": [0.485, 0.456, 0.406],
        "std": [0.229, 0.224, 0.225],
        "color": "RGB",
    }
    assert manifest["golden"] == {"file": "golden.safetensors", "atol": 1e-4, "rtol": 1e-3}
    assert manifest["source"] == {
        "checkpoint": checkpoint.name,
        "checkpoint_sha256": sha256,
        "git_commit": None,
    }
    assert "metrics" not in manifest
    # The golden outputs are the reference model's, and they depend on the input.
    with torch.no_grad():
        expected = ref.model(torch.from_numpy(bundle.golden_input)).numpy()
    np.testing.assert_allclose(bundle.golden_output, expected, rtol=1e-5, atol=1e-5)
    assert np.ptp(bundle.golden_output - bundle.golden_output[0], axis=0).max() > 0.1
    assert bundle.golden_metadata["images"] == ""
    opsets = {
        o.domain: o.version for o in onnx.load(str(published.path / "model.onnx")).opset_import
    }
    assert opsets[""] == 17  # the TorchScript exporter by default


def make_images(directory):
    """9 images in an ImageFolder layout: JPEG, PNG, grayscale, RGBA, and EXIF-rotated."""
    rng = np.random.default_rng(3)
    paths = []
    for index in range(9):
        sub = directory / ("a_class" if index < 5 else "b_class")
        sub.mkdir(parents=True, exist_ok=True)
        pixels = rng.integers(0, 256, size=(60 + 7 * index, 90, 3), dtype=np.uint8)
        pixels[:, :30] //= 3  # a dark left band: rotation shows
        image = Image.fromarray(pixels)
        path = sub / f"img{index}.{'png' if index % 2 else 'jpg'}"
        if index == 2:
            image.convert("L").save(path)
        elif index == 3:
            image.convert("RGBA").save(path)
        elif index == 4:
            exif = Image.Exif()
            exif[0x0112] = 6  # orientation: rotate 90 degrees clockwise to display
            image.save(path, exif=exif)
        else:
            image.save(path)
        paths.append(path)
    (directory / "notes.txt").write_text("not an image")
    return sorted(paths)


def reference_input(path, preprocess) -> torch.Tensor:
    """torchvision's preprocessing of one file, written out independently of the publisher."""
    from PIL import ImageOps

    image = ImageOps.exif_transpose(Image.open(path)).convert("RGB")
    pipeline = transforms.Compose(
        [
            transforms.Resize(
                preprocess.resize, transforms.InterpolationMode.BILINEAR, antialias=True
            ),
            transforms.CenterCrop(preprocess.input_size),
            transforms.ToTensor(),
            transforms.Normalize(preprocess.mean, preprocess.std),
        ]
    )
    return pipeline(image)


def test_golden_inputs_from_images(ref, make_options, tmp_path, check_bundle):
    images = make_images(tmp_path / "images")
    published = export_bundle(make_options(golden_images=tmp_path / "images"))
    bundle = check_bundle(published.path)

    assert bundle.golden_input.shape == (8, 3, 64, 64)  # at most 8 of the 9, in path order
    listed = bundle.golden_metadata["images"].splitlines()
    assert listed == [p.relative_to(tmp_path / "images").as_posix() for p in images[:8]]
    for row, path in enumerate(images[:8]):
        expected = reference_input(path, ref.preprocess).numpy()
        np.testing.assert_allclose(bundle.golden_input[row], expected, atol=1e-6)
    # The EXIF orientation was applied: the same pixels without the tag give another tensor.
    rotated = reference_input(images[4], ref.preprocess)
    Image.open(images[4]).convert("RGB").save(tmp_path / "no-exif.png")
    assert not torch.allclose(rotated, reference_input(tmp_path / "no-exif.png", ref.preprocess))


def test_few_images_are_topped_up_with_noise(ref, tmp_path):
    for index in range(2):
        Image.new("RGB", (80, 70), (40 * index, 90, 200)).save(tmp_path / f"{index}.png")
    golden = golden_inputs(ref.preprocess, tmp_path)
    assert golden.tensor.shape == (4, 3, 64, 64)
    assert golden.images == ["0.png", "1.png"]
    assert not torch.equal(golden.tensor[2], golden.tensor[3])


def test_noise_is_seeded(ref):
    first = golden_inputs(ref.preprocess, None).tensor
    assert first.shape == (4, 3, 64, 64)
    assert torch.equal(first, golden_inputs(ref.preprocess, None).tensor)


def test_dynamo_exporter(make_options, check_bundle):
    published = export_bundle(make_options(exporter="dynamo"))
    check_bundle(published.path)
    model = onnx.load(str(published.path / "model.onnx"))
    assert {o.domain: o.version for o in model.opset_import}[""] == 18


def test_out_dir_with_version_metrics_and_git_commit(ref, make_options, tmp_path, check_bundle):
    if shutil.which("git") is None:
        pytest.fail("git not found (needed for the source.git_commit test)")
    work = tmp_path / "training-repo"
    work.mkdir()
    checkpoint = work / "LiteCNNPro_best.pth"
    shutil.copy(ref.bare, checkpoint)
    git = ["git", "-C", str(work), "-c", "user.name=t", "-c", "user.email=t@example.org"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "commit", "-q", "--allow-empty", "-m", "train"], check=True)
    head = subprocess.run([*git, "rev-parse", "HEAD"], check=True, capture_output=True, text=True)
    metrics = {"val_top1": 0.831, "val_top5": 0.962, "dataset": "thudogs-val"}
    (tmp_path / "metrics.json").write_text(json.dumps(metrics))
    out = tmp_path / "staging" / "candidate"

    published = export_bundle(
        make_options(
            checkpoint=checkpoint,
            repo=None,
            out=out,
            version="v2",
            metrics=tmp_path / "metrics.json",
        )
    )
    assert published.path == out
    manifest = check_bundle(out).manifest
    assert manifest["version"] == "v2"
    assert manifest["metrics"] == metrics
    assert manifest["source"]["checkpoint"] == "LiteCNNPro_best.pth"
    assert manifest["source"]["git_commit"] == head.stdout.strip()
    assert sorted(p.name for p in out.parent.iterdir()) == ["candidate"]  # no LATEST, no temp


def test_factory_spec(make_options, test_nets, check_bundle):
    published = export_bundle(make_options(model="publish_test_nets:Small", checkpoint=test_nets))
    check_bundle(published.path)


def test_parity_failure_writes_nothing(make_options, test_nets):
    options = make_options(model="publish_test_nets:DiffersInOnnx", checkpoint=test_nets)
    with pytest.raises(ParityError) as caught:
        export_bundle(options)
    message = str(caught.value)
    assert "max abs error 5.000e-01" in message
    assert "outside atol 0.0001 + rtol 0.001" in message
    assert not options.repo.exists()


def test_graph_breaking_the_contract_is_an_export_error(make_options, test_nets):
    options = make_options(model="publish_test_nets:TwoOutputs", checkpoint=test_nets)
    with pytest.raises(ExportError, match="returns a tuple; a bundle needs one tensor of logits"):
        export_bundle(options)
    assert not options.repo.exists()


@pytest.mark.parametrize(
    ("spec", "message", "hint"),
    [
        ("mobilenet_v3_small", "expected torchvision:NAME, timm:NAME or", None),
        ("torchvision:mobilenet_v3_smal", "has no such model", "mobilenet_v3_small"),
        ("no_such_package.nets:Net", "cannot import no_such_package.nets", None),
        ("publish_test_nets:Missing", "has no class or function Missing", None),
        ("publish_test_nets:not_a_module", "returned a list, not a nn.Module", None),
    ],
)
def test_bad_model_specs(make_options, test_nets, spec, message, hint):
    with pytest.raises(ModelSpecError) as caught:
        export_bundle(make_options(model=spec, checkpoint=test_nets))
    assert message in str(caught.value)
    assert hint is None or hint in caught.value.hint


def test_timm_spec_without_timm(make_options, monkeypatch):
    monkeypatch.setitem(sys.modules, "timm", None)  # importing it now raises ImportError
    with pytest.raises(ModelSpecError) as caught:
        export_bundle(make_options(model="timm:mobilenetv3_small_050"))
    assert "needs the timm package" in str(caught.value)
    assert "pip install timm" in caught.value.hint


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (
            lambda s: s.pop("features.3.block.1.0.weight"),
            "missing keys (1): features.3.block.1.0.weight",
        ),
        (
            lambda s: s.update({"features.0.0.weight": torch.zeros(16, 3, 5, 5)}),
            "features.0.0.weight: checkpoint [16,3,5,5] vs model [16,3,3,3]",
        ),
    ],
    ids=["missing-key", "wrong-shape"],
)
def test_misfit_checkpoint_fails_naming_the_key(ref, make_options, tmp_path, damage, message):
    state = dict(ref.state_dict)
    damage(state)
    torch.save({"model_state_dict": state, "epoch": 1}, tmp_path / "damaged.pth")
    options = make_options(checkpoint=tmp_path / "damaged.pth")
    with pytest.raises(CheckpointError) as caught:
        export_bundle(options)
    assert message in str(caught.value)
    assert not options.repo.exists()


def test_labels_and_checkpoint_class_counts_must_agree(make_options, tmp_path):
    with pytest.raises(LabelsError, match="--num-classes 7, but the labels file has 5"):
        export_bundle(make_options(num_classes=7))
    seven = tmp_path / "seven.json"
    seven.write_text(json.dumps([f"c{i}" for i in range(7)]))
    with pytest.raises(CheckpointError, match=r"classifier\.3\.weight: checkpoint \[5,1024\]"):
        export_bundle(make_options(labels=seven))


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"out": Path("x")}, "exactly one of --repo DIR and --out"),
        ({"name": "../escape"}, "--name '../escape'"),
        ({"version": "LATEST"}, "--version 'LATEST'"),
        ({"version": ".hidden"}, "--version '.hidden'"),
    ],
)
def test_bad_options(make_options, overrides, message):
    with pytest.raises(OptionsError) as caught:
        export_bundle(make_options(**overrides))
    assert message in str(caught.value)
