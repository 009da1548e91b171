#!/usr/bin/env python3
"""Build the Fashion-MNIST demo: data, two trained versions, hold-out set, model repository.

Steps (all by default, each skipped when its output already exists unless --force):

  prepare   Fashion-MNIST (Debian package dataset-fashion-mnist) -> ImageFolder PNGs in
            WORK/data/{train,val}/<class>/ (60k train, 10k test as val), the labels file
            WORK/labels.json, and the committed hold-out set examples/fashion-mnist/holdout/
            (the first 30 t10k images of every class, 300 in all).
  train     python/examples/train_imagefolder.py with litecnn.models:lite_cnn_half at 64x64:
            1 epoch -> WORK/runs/v1, then resumed to 5 epochs -> WORK/runs/v2.
  evaluate  top-1 of both best.pth on the 10k test set (from training) and on the hold-out set
            -> WORK/results.json.
  publish   litecnn-publish export of v1 then v2 into examples/models/fashion-mnist/, with
            explicit versions (UTC time of each checkpoint + its SHA-256 prefix, so v1 sorts
            first), golden inputs from the hold-out set and the measured metrics; then ONNX
            Runtime accuracy of each bundle on the hold-out set as a check.

    python examples/fashion-mnist/make_demo.py                  # everything
    python examples/fashion-mnist/make_demo.py publish          # only publish (after training)

Checkpoints and the converted data stay in WORK (default /tmp/litecnn-demo-work), never in the
repository.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import importlib.util
import json
import shutil
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
from PIL import Image

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
TRAIN_SCRIPT = ROOT / "python" / "examples" / "train_imagefolder.py"
HOLDOUT = HERE / "holdout"
LABELS_COMMITTED = HERE / "labels.json"
MODEL_REPO = ROOT / "examples" / "models"
MODEL_NAME = "fashion-mnist"
DATASET_DIR = Path("/usr/share/datasets/fashion-mnist")

# Official class order of Fashion-MNIST (label index in the idx files), the directory name used
# here (a safe file name: "/" replaced by "_"), and a Korean name passed through as a label field.
CLASSES = [
    ("T-shirt/top", "T-shirt_top", "티셔츠/탑"),
    ("Trouser", "Trouser", "바지"),
    ("Pullover", "Pullover", "풀오버"),
    ("Dress", "Dress", "드레스"),
    ("Coat", "Coat", "코트"),
    ("Sandal", "Sandal", "샌들"),
    ("Shirt", "Shirt", "셔츠"),
    ("Sneaker", "Sneaker", "스니커즈"),
    ("Bag", "Bag", "가방"),
    ("Ankle boot", "Ankle boot", "앵클 부츠"),
]
HOLDOUT_PER_CLASS = 30
GOLDEN_COUNT = 4  # golden inputs per bundle (3x64x64 float32 = 48 KiB each)

# Preprocessing: 28x28 grayscale -> RGB -> Resize(64) bilinear antialias -> CenterCrop(64).
# Normalisation with the Fashion-MNIST training-set statistics (mean 0.2860, std 0.3530 of the
# pixel values in [0, 1]; `prepare` prints the recomputed values), the same for R, G and B.
INPUT_SIZE = 64
RESIZE = 64
MEAN = 0.2860
STD = 0.3530
ARCH = "litecnn.models:lite_cnn_half"
BATCH_SIZE = 128
LR = 2e-3
EPOCHS_V1 = 1
EPOCHS_V2 = 5
SEED = 0
DATASET_NAME = "fashion-mnist-t10k"  # the 10k test set, used as the validation set


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


# --- prepare ---------------------------------------------------------------------------------


def read_idx(path: Path) -> np.ndarray:
    """An idx file (gzip) as a uint8 array: images [n, 28, 28] or labels [n]."""
    with gzip.open(path, "rb") as f:
        data = f.read()
    magic = int.from_bytes(data[0:4], "big")
    if magic >> 8 != 0x08:  # 0x08 = unsigned byte
        raise ValueError(f"{path}: not an unsigned-byte idx file (magic {magic:#x})")
    ndim = magic & 0xFF
    dims = [int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    offset = 4 + 4 * ndim
    return np.frombuffer(data, dtype=np.uint8, offset=offset).reshape(dims)


def load_split(split: str) -> tuple[np.ndarray, np.ndarray]:
    images = read_idx(DATASET_DIR / f"{split}-images-idx3-ubyte.gz")
    labels = read_idx(DATASET_DIR / f"{split}-labels-idx1-ubyte.gz")
    if images.shape[0] != labels.shape[0]:
        raise ValueError(f"{split}: {images.shape[0]} images but {labels.shape[0]} labels")
    return images, labels


def write_imagefolder(images: np.ndarray, labels: np.ndarray, out: Path, prefix: str) -> None:
    tmp = out.with_name(out.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    for _, dirname, _ in CLASSES:
        (tmp / dirname).mkdir(parents=True)
    for i, (img, label) in enumerate(zip(images, labels, strict=True)):
        Image.fromarray(img).save(tmp / CLASSES[label][1] / f"{prefix}-{i:05d}.png")
    shutil.rmtree(out, ignore_errors=True)
    tmp.rename(out)


def label_objects() -> list[dict[str, str]]:
    """Labels in the model's class-index order: ImageFolder sorts the class directories."""
    by_dir = {dirname: ko for _, dirname, ko in CLASSES}
    return [{"name": d, "name_ko": by_dir[d]} for d in sorted(by_dir)]


def step_prepare(work: Path, force: bool) -> None:
    data = work / "data"
    for split, sub, prefix in (("train", "train", "train"), ("t10k", "val", "t10k")):
        if (data / sub).is_dir() and not force:
            log(f"prepare: {data / sub} exists")
            continue
        images, labels = load_split(split)
        log(f"prepare: writing {len(images)} PNGs to {data / sub}")
        write_imagefolder(images, labels, data / sub, prefix)
        if split == "train":
            px = images.astype(np.float64) / 255.0
            log(f"prepare: train pixel mean {px.mean():.4f} std {px.std():.4f}")

    labels = label_objects()
    text = json.dumps(labels, indent=2, ensure_ascii=False) + "\n"
    (work / "labels.json").write_text(text, encoding="utf-8")
    LABELS_COMMITTED.write_text(text, encoding="utf-8")

    if HOLDOUT.is_dir() and not force:
        log(f"prepare: {HOLDOUT} exists")
        return
    images, labels_ = load_split("t10k")
    shutil.rmtree(HOLDOUT, ignore_errors=True)
    for label, (_, dirname, _) in enumerate(CLASSES):
        (HOLDOUT / dirname).mkdir(parents=True)
        for i in np.flatnonzero(labels_ == label)[:HOLDOUT_PER_CLASS]:
            Image.fromarray(images[i]).save(HOLDOUT / dirname / f"t10k-{i:05d}.png", optimize=True)
    log(f"prepare: hold-out set of {HOLDOUT_PER_CLASS * len(CLASSES)} images in {HOLDOUT}")


# --- train -----------------------------------------------------------------------------------


def train_command(python: str, out: Path, work: Path, epochs: int, args) -> list[str]:
    return [
        python, str(TRAIN_SCRIPT),
        "--data", str(work / "data"),
        "--arch", ARCH,
        "--input-size", str(INPUT_SIZE), "--resize", str(RESIZE),
        "--mean", str(MEAN), str(MEAN), str(MEAN),
        "--std", str(STD), str(STD), str(STD),
        "--epochs", str(epochs), "--batch-size", str(BATCH_SIZE), "--lr", str(LR),
        "--workers", str(args.workers), "--threads", str(args.threads),
        "--device", "cpu", "--seed", str(SEED), "--dataset-name", DATASET_NAME,
        "--out", str(out),
    ]  # fmt: skip


def run_timed(cmd: list[str], log_file: Path) -> float:
    log("+ " + " ".join(cmd))
    t0 = time.monotonic()
    with open(log_file, "w", encoding="utf-8") as f:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        assert proc.stdout is not None
        for line in proc.stdout:
            sys.stdout.write(line)
            f.write(line)
        rc = proc.wait()
    if rc != 0:
        sys.exit(f"error: training failed (exit {rc}); log in {log_file}")
    return time.monotonic() - t0


def step_train(work: Path, args) -> None:
    runs = work / "runs"
    runs.mkdir(parents=True, exist_ok=True)
    times_file = work / "train_times.json"
    times = json.loads(times_file.read_text()) if times_file.exists() else {}
    v1, v2 = runs / "v1", runs / "v2"
    if (v1 / "best.pth").exists() and not args.force:
        log(f"train: {v1} exists")
    else:
        shutil.rmtree(v1, ignore_errors=True)
        cmd = train_command(args.python, v1, work, EPOCHS_V1, args)
        times["v1"] = run_timed(cmd, work / "train-v1.log")
    if (v2 / "best.pth").exists() and not args.force:
        log(f"train: {v2} exists")
    else:
        shutil.rmtree(v2, ignore_errors=True)
        cmd = train_command(args.python, v2, work, EPOCHS_V2, args)
        cmd += ["--resume", str(v1 / "last.pth")]
        times["v2"] = run_timed(cmd, work / "train-v2.log")
    times_file.write_text(json.dumps(times, indent=2) + "\n")
    log(f"train: wall-clock seconds {times}")


# --- evaluate --------------------------------------------------------------------------------


def load_train_module():
    spec = importlib.util.spec_from_file_location("train_imagefolder", TRAIN_SCRIPT)
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    return module


def holdout_batch() -> tuple[list[Path], np.ndarray, np.ndarray]:
    """Hold-out images preprocessed exactly as the manifest says, and their label indices."""
    train = load_train_module()
    ns = argparse.Namespace(resize=RESIZE, input_size=INPUT_SIZE, mean=[MEAN] * 3, std=[STD] * 3)
    transform = train.eval_transform(ns)
    names = [label["name"] for label in label_objects()]
    paths, tensors, targets = [], [], []
    for index, name in enumerate(names):
        for path in sorted((HOLDOUT / name).glob("*.png")):
            paths.append(path)
            tensors.append(transform(train.load_rgb(str(path))).numpy())
            targets.append(index)
    return paths, np.stack(tensors), np.array(targets)


def torch_holdout_top1(checkpoint: Path, x: np.ndarray, y: np.ndarray) -> float:
    import torch

    sys.path.insert(0, str(ROOT / "python" / "src"))
    from litecnn.models import lite_cnn_half

    model = lite_cnn_half(num_classes=len(CLASSES))
    state = torch.load(checkpoint, map_location="cpu", weights_only=True)
    model.load_state_dict(state["model_state_dict"])
    model.eval()
    with torch.no_grad():
        pred = model(torch.from_numpy(x)).argmax(1).numpy()
    return float((pred == y).mean())


def step_evaluate(work: Path) -> dict:
    _, x, y = holdout_batch()
    times_file = work / "train_times.json"
    times = json.loads(times_file.read_text()) if times_file.exists() else {}
    results = {}
    for v in ("v1", "v2"):
        run = work / "runs" / v
        metrics = json.loads((run / "metrics.json").read_text())
        import torch

        ckpt = torch.load(run / "best.pth", map_location="cpu", weights_only=True)
        results[v] = {
            "epoch": ckpt["epoch"],
            "test_top1": metrics["val_top1"],
            "test_top5": metrics["val_top5"],
            "holdout_top1": torch_holdout_top1(run / "best.pth", x, y),
            "train_seconds": round(times[v], 1) if v in times else None,
        }
        log(f"evaluate: {v} {results[v]}")
    (work / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    return results


# --- publish ---------------------------------------------------------------------------------


def find_publisher(python: str) -> str | None:
    beside = Path(python).parent / "litecnn-publish"
    if beside.exists():
        return str(beside)
    return shutil.which("litecnn-publish")


def version_of(checkpoint: Path) -> str:
    """YYYYMMDDTHHMMSSZ (UTC modification time of the checkpoint) + first 6 hex of its SHA-256."""
    stamp = datetime.fromtimestamp(checkpoint.stat().st_mtime, tz=timezone.utc)
    digest = hashlib.sha256(checkpoint.read_bytes()).hexdigest()
    return f"{stamp:%Y%m%dT%H%M%SZ}-{digest[:6]}"


def ort_holdout_top1(bundle: Path, x: np.ndarray, y: np.ndarray) -> float:
    import onnxruntime as ort

    manifest = json.loads((bundle / "litecnn.json").read_text(encoding="utf-8"))
    session = ort.InferenceSession(str(bundle / manifest["model"]["file"]))
    (logits,) = session.run([manifest["model"]["output"]], {manifest["model"]["input"]: x})
    return float((logits.argmax(1) == y).mean())


def step_publish(work: Path, args) -> None:
    exe = find_publisher(args.python)
    if exe is None:
        sys.exit("error: litecnn-publish not found (pip install -e python/ into the venv first)")
    results_file = work / "results.json"
    results = json.loads(results_file.read_text()) if results_file.exists() else {}
    if set(results) != {"v1", "v2"}:
        results = step_evaluate(work)
    paths, x, y = holdout_batch()
    golden = work / "golden"
    shutil.rmtree(golden, ignore_errors=True)
    golden.mkdir()
    # The first hold-out image of GOLDEN_COUNT different classes (every third class).
    names = [label["name"] for label in label_objects()]
    for name in names[::3][:GOLDEN_COUNT]:
        path = next(p for p in paths if p.parent.name == name)
        shutil.copy(path, golden / f"{path.parent.name.replace(' ', '_')}-{path.name}")
    for v in ("v1", "v2"):
        run = work / "runs" / v
        version = version_of(run / "best.pth")
        target = MODEL_REPO / MODEL_NAME / version
        # The measured accuracy: the 10k test set (the validation set of training) and the
        # committed hold-out set.
        r = results[v]
        metrics = {
            "val_top1": r["test_top1"],
            "val_top5": r["test_top5"],
            "dataset": DATASET_NAME,
            "holdout_top1": round(r["holdout_top1"], 4),
            "epochs": r["epoch"],
        }
        metrics_file = work / f"metrics-{v}.json"
        metrics_file.write_text(json.dumps(metrics, indent=2) + "\n")
        if target.exists() and not args.force:
            log(f"publish: {target} exists")
            continue
        cmd = [
            exe, "export",
            "--model", ARCH,
            "--checkpoint", str(run / "best.pth"),
            "--labels", str(work / "labels.json"),
            "--name", MODEL_NAME,
            "--repo", str(MODEL_REPO),
            "--version", version,
            "--input-size", str(INPUT_SIZE), "--resize", str(RESIZE),
            "--mean", str(MEAN), str(MEAN), str(MEAN),
            "--std", str(STD), str(STD), str(STD),
            "--golden-images", str(golden),
            "--metrics", str(metrics_file),
        ]  # fmt: skip
        log("+ " + " ".join(cmd))
        subprocess.run(cmd, check=True)
        log(f"publish: {target}: ONNX Runtime hold-out top-1 {ort_holdout_top1(target, x, y):.4f}")
    latest = (MODEL_REPO / MODEL_NAME / "LATEST").read_text().strip()
    log(f"publish: LATEST = {latest}")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("steps", nargs="*", help="prepare, train, evaluate, publish (default: all)")
    p.add_argument("--work", type=Path, default=Path("/tmp/litecnn-demo-work"))
    p.add_argument("--python", default=sys.executable, help="interpreter for training/publishing")
    p.add_argument("--threads", type=int, default=1, help="torch threads for training")
    p.add_argument("--workers", type=int, default=1, help="data loader workers for training")
    p.add_argument("--force", action="store_true", help="redo steps whose output exists")
    args = p.parse_args()
    all_steps = ["prepare", "train", "evaluate", "publish"]
    steps = args.steps or all_steps
    if unknown := sorted(set(steps) - set(all_steps)):
        p.error(f"unknown step(s) {unknown}; choose from {all_steps}")
    args.work.mkdir(parents=True, exist_ok=True)
    if "prepare" in steps:
        step_prepare(args.work, args.force)
    if "train" in steps:
        step_train(args.work, args)
    if "evaluate" in steps:
        step_evaluate(args.work)
    if "publish" in steps:
        step_publish(args.work, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
