"""python/examples/train_imagefolder.py on a tiny synthetic ImageFolder dataset."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import torch
from PIL import Image

PYTHON_DIR = Path(__file__).resolve().parents[1]
SCRIPT = PYTHON_DIR / "examples" / "train_imagefolder.py"
CKPT_KEYS = {"epoch", "model_state_dict", "optimizer_state_dict", "val_top1", "val_top5", "classes"}


def _make_images(root: Path, classes: dict[str, tuple[int, int, int]], n: int, seed: int) -> None:
    """``n`` noisy images per class, alternating PNG (RGB) and JPEG (grayscale), mixed sizes."""
    rng = np.random.default_rng(seed)
    for name, color in classes.items():
        (root / name).mkdir(parents=True)
        for i in range(n):
            h, w = (40, 52) if i % 2 else (48, 36)
            pixels = np.clip(np.array(color) + rng.normal(0, 30, (h, w, 3)), 0, 255)
            img = Image.fromarray(pixels.astype(np.uint8))
            if i % 2:
                img.convert("L").save(root / name / f"{i}.jpg", quality=90)
            else:
                img.save(root / name / f"{i}.png")


def _run(args: list[str], tmp_path: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(PYTHON_DIR / "src"), env.get("PYTHONPATH")) if p
    )
    env["OMP_NUM_THREADS"] = "1"
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


COMMON = ["--input-size", "32", "--resize", "36", "--batch-size", "4", "--workers", "0"]
COMMON += ["--threads", "1", "--device", "cpu", "--mean", "0.5", "0.5", "0.5"]


def test_train_one_epoch_writes_checkpoints(tmp_path):
    classes = {"Border Collie": (200, 40, 40), "beagle": (40, 40, 200)}
    _make_images(tmp_path / "data" / "train", classes, 8, seed=0)
    _make_images(tmp_path / "data" / "val", classes, 4, seed=1)
    out = tmp_path / "run"

    proc = _run(["--data", str(tmp_path / "data"), "--epochs", "1", "--out", str(out), *COMMON],
                tmp_path)  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "epoch 1/1" in proc.stdout

    for name in ("last.pth", "best.pth", "labels.json", "metrics.json"):
        assert (out / name).is_file(), name
    assert json.loads((out / "labels.json").read_text()) == ["Border Collie", "beagle"]
    metrics = json.loads((out / "metrics.json").read_text())
    assert set(metrics) == {"val_top1", "val_top5", "dataset"}
    assert 0.0 <= metrics["val_top1"] <= metrics["val_top5"] == 1.0  # 2 classes: top-5 is all

    for name in ("last.pth", "best.pth"):
        ckpt = torch.load(out / name, map_location="cpu", weights_only=True)
        assert set(ckpt) >= CKPT_KEYS, name
        assert ckpt["epoch"] == 1
        assert ckpt["classes"] == ["Border Collie", "beagle"]
        assert ckpt["val_top1"] == metrics["val_top1"]
        assert ckpt["model_state_dict"]["classifier.3.weight"].shape[0] == 2
        assert "state" in ckpt["optimizer_state_dict"]

    # The checkpoint loads into the published model spec.
    sys.path.insert(0, str(PYTHON_DIR / "src"))
    from litecnn.models import lite_cnn_half

    lite_cnn_half(num_classes=2).load_state_dict(ckpt["model_state_dict"])

    # Resuming continues the epoch count.
    proc = _run(["--data", str(tmp_path / "data"), "--epochs", "2", "--out", str(out),
                 "--resume", str(out / "last.pth"), *COMMON], tmp_path)  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "epoch 2/2" in proc.stdout and "epoch 1/2" not in proc.stdout
    assert torch.load(out / "last.pth", weights_only=True)["epoch"] == 2


def test_val_split_and_torchvision_arch(tmp_path):
    _make_images(tmp_path / "flat", {"a": (255, 255, 0), "b": (0, 255, 255), "c": (9, 9, 9)}, 5, 2)
    out = tmp_path / "run"
    proc = _run(["--data", str(tmp_path / "flat"), "--val-split", "0.2", "--epochs", "1",
                 "--arch", "torchvision:squeezenet1_1", "--out", str(out), *COMMON],
                tmp_path)  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "12 train / 3 val images, 3 classes" in proc.stdout
    assert json.loads((out / "labels.json").read_text()) == ["a", "b", "c"]
    metrics = json.loads((out / "metrics.json").read_text())
    assert "val-split" in metrics["dataset"]


def test_missing_val_dir_is_an_error(tmp_path):
    _make_images(tmp_path / "data" / "train", {"a": (1, 2, 3)}, 2, 0)
    proc = _run(["--data", str(tmp_path / "data"), "--out", str(tmp_path / "o"), *COMMON],
                tmp_path)  # fmt: skip
    assert proc.returncode != 0
    assert "no train/ and val/" in proc.stderr
